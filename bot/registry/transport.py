"""The HTTP transport under the registry client: bounded concurrency and retries.

``RegistryTransport`` wraps httpx's transport. It lets at most ``concurrency`` requests
be in flight at once, and retries GET and HEAD (never writes) with exponential backoff
on connection errors, 429 (honouring ``Retry-After``) and 502/503/504. Bodies are read
here, so the bound covers the whole exchange.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

import httpx

from .errors import redact_url, retry_after_seconds

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD"})
MAX_RETRY_AFTER = 30.0


def _is_tls_failure(exc: Exception) -> bool:
    text = str(exc)
    return "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text


class RegistryTransport(httpx.BaseTransport):
    """Concurrency bound plus retry-with-backoff around another transport."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        concurrency: int = 8,
        retries: int = 3,
        backoff: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(concurrency)
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    def _delay(self, attempt: int) -> float:
        return self.backoff * (2**attempt) * (0.5 + random.random() / 2)

    def _send_once(self, request: httpx.Request) -> httpx.Response:
        with self._slots:
            with self._count_lock:
                self.requests_sent += 1
            response = self.inner.handle_request(request)
            try:
                response.read()
            finally:
                response.close()
            return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retryable = request.method in IDEMPOTENT
        attempt = 0
        while True:
            try:
                response = self._send_once(request)
            except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
                # Timeouts are not retried: the caller's deadline is REGISTRY_TIMEOUT.
                # Neither are certificate failures: they do not fix themselves.
                if not retryable or attempt >= self.retries or _is_tls_failure(exc):
                    raise
                delay = self._delay(attempt)
                log.info(
                    "registry %s %s: %s; retry %d in %.1fs",
                    request.method,
                    redact_url(request.url),
                    type(exc).__name__,
                    attempt + 1,
                    delay,
                )
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
                log.info(
                    "registry %s %s: HTTP %d; retry %d in %.1fs",
                    request.method,
                    redact_url(request.url),
                    response.status_code,
                    attempt + 1,
                    delay,
                )
            attempt += 1
            self._sleep(delay)

    def close(self) -> None:
        self.inner.close()
