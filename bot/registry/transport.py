"""The HTTP transport under the registry client: deadlines, body caps, fair concurrency
and retries.

``RegistryTransport`` wraps httpx's transport:

- **Deadline.** Every request, body included and retries included, ends within its
  deadline (the client's timeout setting). httpx's timeouts bound each
  socket operation, so a registry that trickles a body one byte at a time would defeat
  them; here a watchdog shuts the socket down when the deadline passes, and the
  request fails with ``DeadlineExceeded``.
- **Body cap.** A body longer than the request's cap (``max_body_extension``) is
  refused, by its ``Content-Length`` before reading or as soon as the bytes read pass
  the cap, with ``BodyTooLarge``. Nothing large is ever held in memory.
- **Fair slots.** At most ``concurrency`` requests are in flight for one repository,
  and a quarter more (at least 2) in all: those are always left to other repositories,
  so one slow repository can't starve the rest.
- **Retries.** GET and HEAD (never writes) are retried with exponential backoff on
  connection errors, 429 (honouring ``Retry-After``) and 502/503/504, never after part
  of a body was read, and never past the deadline. Timeouts are not retried.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import random
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable

import httpx

from .http import redact_url, retry_after_seconds

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD"})
MAX_RETRY_AFTER = 30.0
# What any response may weigh unless the request says otherwise (a page of 1000 tags is
# about 50 kB; an error body a few hundred bytes).
DEFAULT_MAX_BODY = 8 * 1024 * 1024
MAX_BODY_EXTENSION = "registry_bot.max_body"

_REPOSITORY_RE = re.compile(r"^/v2/(.+?)/(?:manifests|blobs|tags|referrers)/")


class BodyTooLarge(httpx.TransportError):
    """The response body is larger than the request allows; nothing more was read."""

    def __init__(self, url: httpx.URL, limit: int, size: int | None) -> None:
        super().__init__(f"body over {limit} bytes")
        self.url = url
        self.limit = limit
        self.size = size


class DeadlineExceeded(httpx.TimeoutException):
    """The whole exchange (retries and body included) outlived its deadline."""


class PartialRead(httpx.TransportError):
    """The connection failed after part of the body was read: not retried."""


def reserved_slots(concurrency: int) -> int:
    """Slots beyond ``concurrency`` that only other repositories may use."""
    return max(2, concurrency // 4)


def _is_tls_failure(exc: Exception) -> bool:
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text


def repository_of(url: httpx.URL) -> str:
    """The repository a request concerns ("" for the catalog, token servers, ``/v2/``)."""
    match = _REPOSITORY_RE.match(url.path)
    return match.group(1) if match else ""


class _Watchdog:
    """One thread that runs callbacks at their deadlines (cancellable), instead of a
    timer thread per request. A cancelled callback is dropped at once, so nothing it
    refers to outlives its request."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def schedule(self, at: float, callback: Callable[[], None]) -> int:
        with self._cond:
            ident = next(self._ids)
            # Wake the thread only when this deadline comes before the one it waits for
            # (deadlines mostly arrive in order: one wake-up per request is avoidable).
            sooner = not self._heap or at < self._heap[0][0]
            heapq.heappush(self._heap, (at, ident))
            self._callbacks[ident] = callback
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="registry-deadlines", daemon=True
                )
                self._thread.start()
            if sooner:
                self._cond.notify()
            return ident

    def cancel(self, ident: int) -> None:
        with self._cond:
            self._callbacks.pop(ident, None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                at, ident = self._heap[0]
                if ident not in self._callbacks:
                    heapq.heappop(self._heap)
                    continue
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                callback = self._callbacks.pop(ident)
            try:
                callback()
            except Exception:  # pragma: no cover - a closed socket, say
                log.debug("deadline callback failed", exc_info=True)


_WATCHDOG = _Watchdog()


def _shutdown(response: httpx.Response) -> Callable[[], None]:
    """A callback that breaks the response's connection (wakes a blocked read)."""

    def kill() -> None:
        stream = response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    return kill


class _Waiter:
    """One request waiting for a slot; granted by the releasing thread."""

    __slots__ = ("event", "granted", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self.granted = False
        self.event = threading.Event()


class _FairSlots:
    """At most ``cap`` holders per key (repository) and ``limit`` in all: with
    ``limit > cap``, the slots above ``cap`` are always left to other keys, so one busy
    or slow repository can't hold every slot against the rest. A released slot goes
    straight to the longest-waiting request that may take it, and only that one is
    woken (waking every waiter on each release cost more CPU than the requests did when
    a hundred threads waited)."""

    def __init__(self, cap: int, limit: int) -> None:
        self.cap = cap
        self.limit = limit
        self._held: Counter[str] = Counter()
        self._total = 0
        self._lock = threading.Lock()
        self._waiting: deque[_Waiter] = deque()  # in the order they came

    def _fits(self, key: str) -> bool:
        return self._total < self.limit and self._held[key] < self.cap

    def _take(self, key: str) -> None:
        self._held[key] += 1
        self._total += 1

    def acquire(self, key: str, timeout: float | None) -> bool:
        with self._lock:
            if self._fits(key):
                self._take(key)
                return True
            waiter = _Waiter(key)
            self._waiting.append(waiter)
        if waiter.event.wait(timeout):
            return True
        with self._lock:
            if waiter.granted:  # granted as the wait ran out
                return True
            self._waiting.remove(waiter)
            return False

    def release(self, key: str) -> None:
        with self._lock:
            self._held[key] -= 1
            if not self._held[key]:
                del self._held[key]
            self._total -= 1
            if self._waiting:
                self._grant()

    def _grant(self) -> None:
        """Hand free slots to waiters, oldest first, skipping those whose repository
        is at its cap (under the lock)."""
        still: deque[_Waiter] = deque()
        for waiter in self._waiting:
            if self._fits(waiter.key):
                self._take(waiter.key)
                waiter.granted = True
                waiter.event.set()
            else:
                still.append(waiter)
        self._waiting = still


class RegistryTransport(httpx.BaseTransport):
    """Deadline, body cap, fair concurrency bound and retry-with-backoff around another
    transport."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        concurrency: int = 8,
        retries: int = 3,
        backoff: float = 0.2,
        deadline: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline
        self._sleep = sleep
        self._slots = _FairSlots(concurrency, concurrency + reserved_slots(concurrency))
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    def _delay(self, attempt: int) -> float:
        return self.backoff * (2.0**attempt) * (0.5 + random.random() / 2)

    def _read(self, response: httpx.Response, request: httpx.Request, until: float | None) -> bytes:
        limit = int(request.extensions.get(MAX_BODY_EXTENSION, DEFAULT_MAX_BODY))
        length = response.headers.get("Content-Length", "")
        if (
            request.method != "HEAD"
            and length.isascii()
            and length.isdigit()
            and int(length) > limit
        ):
            raise BodyTooLarge(request.url, limit, int(length))
        if response.is_stream_consumed:  # built in memory (a MockTransport in tests)
            if len(response.content) > limit:
                raise BodyTooLarge(request.url, limit, len(response.content))
            return response.content
        chunks: list[bytes] = []
        total = 0
        watch = _WATCHDOG.schedule(until, _shutdown(response)) if until is not None else None
        try:
            for chunk in response.iter_raw():
                total += len(chunk)
                if total > limit:
                    raise BodyTooLarge(request.url, limit, None)
                if until is not None and time.monotonic() > until:
                    raise DeadlineExceeded("deadline passed while reading the body")
                chunks.append(chunk)
        except (httpx.TransportError, httpx.StreamError) as exc:
            if isinstance(exc, BodyTooLarge | DeadlineExceeded):
                raise
            if until is not None and time.monotonic() >= until:
                raise DeadlineExceeded("deadline passed while reading the body") from None
            if total:
                raise PartialRead(f"connection failed after {total} bytes: {exc}") from None
            raise
        finally:
            if watch is not None:
                _WATCHDOG.cancel(watch)
            response.close()
        return b"".join(chunks)

    def _send_once(self, request: httpx.Request, until: float | None) -> httpx.Response:
        key = repository_of(request.url)
        wait = None if until is None else max(0.0, until - time.monotonic())
        if not self._slots.acquire(key, wait):
            raise DeadlineExceeded("deadline passed while waiting for a free connection slot")
        try:
            if until is not None:
                left = max(0.001, until - time.monotonic())
                timeout = dict(request.extensions.get("timeout") or {})
                for phase in ("connect", "read", "write", "pool"):
                    current = timeout.get(phase)
                    timeout[phase] = left if current is None else min(current, left)
                request.extensions["timeout"] = timeout
            with self._count_lock:
                self.requests_sent += 1
            response = self.inner.handle_request(request)
            body = self._read(response, request, until)
        finally:
            self._slots.release(key)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(body),
            extensions={k: v for k, v in response.extensions.items() if k != "network_stream"},
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retryable = request.method in IDEMPOTENT
        until = None if self.deadline is None else time.monotonic() + self.deadline
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._send_once(request, until)
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                # Timeouts are not retried: the deadline is the caller's to set.
                # Neither are certificate failures: they do not fix themselves.
                if not retryable or attempt >= self.retries or _is_tls_failure(exc):
                    raise
                delay = self._delay(attempt)
                reason = type(exc).__name__
            else:
                if not retryable or response.status_code not in RETRY_STATUSES:
                    return response
                if attempt >= self.retries:
                    return response
                delay = self._delay(attempt)
                if response.status_code == 429:
                    after = retry_after_seconds(response)
                    if after is not None:
                        if after > MAX_RETRY_AFTER:
                            return response
                        delay = after
                reason = f"HTTP {response.status_code}"
            if until is not None and time.monotonic() + delay >= until:
                if response is not None:
                    return response
                raise DeadlineExceeded("no time left to retry")
            log.info(
                "registry %s %s: %s; retry %d in %.1fs",
                request.method,
                redact_url(request.url),
                reason,
                attempt + 1,
                delay,
            )
            attempt += 1
            self._sleep(delay)

    def close(self) -> None:
        self.inner.close()
