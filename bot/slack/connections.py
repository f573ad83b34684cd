"""Limits on the HTTP connections the bot serves, for anyone who can reach its port:
how long a request's head and body may take to arrive, how large a head may be, how many
connections are served at once, and the open-file limit that bounds them all.

Without them (uvicorn with httptools has none of its own for a new connection), 2,000
idle connections and 500 unfinished heads stayed open indefinitely, a 64 MB head cost
122 MB of memory, and with the usual soft limit of 1,024 open files, 1,100 idle
connections made Slack's signed commands time out.

``GuardedProtocol`` is uvicorn's own httptools protocol with those limits added:
- a head must be complete ``HEAD_SECONDS`` after the connection opens (or after the
  previous response on it), and its body ``BODY_SECONDS`` after the head: else 408;
- a head over ``MAX_HEAD_BYTES`` is answered 431, and read no further;
- past ``max_connections``, a new connection takes the place of the one that has waited
  longest for its head (idle, slow or hostile: Slack sends each request at once), so
  room is kept for Slack's requests; only when every connection has a request under way
  is the newcomer answered 503.
The body limits (``MAX_BODY_BYTES``) are the server's, checked before Bolt reads a byte.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)
HEAD_SECONDS = 5.0  # Slack sends a request's head at once; 5 s covers a slow network
BODY_SECONDS = 10.0  # Slack's bodies are tens of kB
MAX_HEAD_BYTES = 64 * 1024  # Slack's heads are well under 2 kB
MAX_CONNECTIONS = 4096  # at most; fewer when the open-file limit is lower
RESERVED_FILES = 256  # for the database, the registry and Slack clients, logs, the loop


def _status(code: int, reason: str) -> bytes:
    body = f"{reason}\n".encode()
    return (
        f"HTTP/1.1 {code} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


REQUEST_TIMEOUT = _status(408, "Request Timeout")
HEAD_TOO_LARGE = _status(431, "Request Header Fields Too Large")
TOO_MANY_CONNECTIONS = _status(503, "Service Unavailable")


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (logged), and
    return how many connections may be served at once with what that leaves."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            log.info("open files: soft limit raised from %d to %d (the hard limit)", soft, target)
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("open files: could not raise the soft limit of %d: %s", soft, exc)
    else:
        log.info("open files: limit %d (soft and hard)", soft)
    connections = max(16, min(MAX_CONNECTIONS, soft - RESERVED_FILES))
    log.info("HTTP: at most %d connections at once", connections)
    return connections


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with the limits the module names."""

    max_connections: ClassVar[int] = MAX_CONNECTIONS
    head_seconds: ClassVar[float] = HEAD_SECONDS
    body_seconds: ClassVar[float] = BODY_SECONDS
    max_head_bytes: ClassVar[int] = MAX_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._awaiting_head = True
        self._head_bytes = 0
        self._waiting_since = time.monotonic()  # for the head of the next request
        self._deadline: asyncio.TimerHandle | None = None

    # -- the life of a connection -------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections and not self._evict_one():
            self._refuse(TOO_MANY_CONNECTIONS)
            return
        self._arm(self.head_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if (
            self._awaiting_head
            and self._head_bytes > self.max_head_bytes
            and not self.transport.is_closing()
        ):
            self._refuse(HEAD_TOO_LARGE)

    # -- the parser's callbacks ---------------------------------------------------------
    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._arm(self.body_seconds)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._awaiting_head, self._head_bytes = True, 0
            self._waiting_since = time.monotonic()
            self._arm(self.head_seconds)

    # -- limits -------------------------------------------------------------------------
    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if cycle.response_started:
                self.transport.close()  # too late for a status: just hang up
                return
            # The application, waiting for the rest of the body, is told the client
            # went away; nothing it sends after that is written.
            cycle.disconnected = True
            cycle.message_event.set()
        self._refuse(REQUEST_TIMEOUT)

    def _refuse(self, status: bytes) -> None:
        self._disarm()
        self.transport.write(status)
        self.transport.close()

    def _evict_one(self) -> bool:
        """Close the connection that has waited longest for a request head (not this
        one); False when every other connection has a request under way."""
        waiting = [
            c
            for c in self.connections
            if isinstance(c, GuardedProtocol)
            and c is not self
            and c._awaiting_head
            and not c.transport.is_closing()
        ]
        if not waiting:
            return False
        oldest = min(waiting, key=lambda c: c._waiting_since)
        oldest._refuse(REQUEST_TIMEOUT)
        return True


def guarded_protocol(max_connections: int) -> type[GuardedProtocol]:
    """The protocol class uvicorn is given, serving at most ``max_connections``."""
    return type("GuardedProtocol", (GuardedProtocol,), {"max_connections": max_connections})
