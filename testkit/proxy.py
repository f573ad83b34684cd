"""A forwarding HTTP proxy in front of a real registry, for tests and benchmarks.

It can add a fixed delay to every request (a slow or distant registry), answer the
first N requests with an injected status (429 with Retry-After, 503...), answer instead
of the registry (``intercept``) or after it acted (``after``), rewrite Link headers, and
it counts requests by method and path.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx

from .http import QuietHandler, Server

HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "trailer",
    "host",
}


class RegistryProxy:
    def __init__(self, upstream: str, *, delay: float = 0.0) -> None:
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, str]] = []
        self.inject: list[tuple[int, dict[str, str]]] = []  # answered before forwarding
        self.rewrite_link: Callable[[str], str] | None = None
        self.hang = False
        self.hold: threading.Event | None = None  # when set, requests wait for it
        # intercept(method, path) -> (status, headers, body) answers instead of the registry
        self.intercept: Callable[[str, str], tuple[int, dict, bytes] | None] | None = None
        # after(method, path, status) -> (status, headers, body) replaces the registry's
        # answer once it has acted (a DELETE that succeeded but answers 500)
        self.after: Callable[[str, str, int], tuple[int, dict, bytes] | None] | None = None
        # headers(method, path, headers) -> headers: change the registry's headers
        self.headers: Callable[[str, str, dict[str, str]], dict[str, str]] | None = None
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64))
        proxy = self

        class Handler(QuietHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy.counts[self.command] += 1
                    proxy.log.append((self.command, self.path))
                    injected = proxy.inject.pop(0) if proxy.inject else None
                if proxy.hang:
                    time.sleep(3600)
                hold = proxy.hold
                if hold is not None:
                    hold.wait(60)
                if proxy.delay:
                    time.sleep(proxy.delay)
                if injected:
                    status, headers = injected
                    self.reply(status, b"", headers)
                    return
                answer = proxy.intercept(self.command, self.path) if proxy.intercept else None
                if answer is not None:
                    status, headers, body = answer
                    self.reply(status, body, headers)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                upstream = proxy._client.request(
                    self.command, proxy.upstream + self.path, headers=headers, content=body
                )
                replaced = (
                    proxy.after(self.command, self.path, upstream.status_code)
                    if proxy.after
                    else None
                )
                if replaced is not None:
                    status, headers, body = replaced
                    self.reply(status, body, headers)
                    return
                self.send_response(upstream.status_code)
                answer_headers = list(upstream.headers.multi_items())
                if proxy.headers is not None:
                    answer_headers = list(
                        proxy.headers(self.command, self.path, dict(answer_headers)).items()
                    )
                for k, v in answer_headers:
                    if k.lower() in HOP_HEADERS or k.lower() == "content-length":
                        continue
                    if k.lower() == "link" and proxy.rewrite_link:
                        v = proxy.rewrite_link(v)
                    if k.lower() == "location" and v.startswith(proxy.upstream):
                        v = v[len(proxy.upstream) :]
                    self.send_header(k, v)
                payload = b"" if self.command == "HEAD" else upstream.content
                if self.command == "HEAD":
                    self.send_header("Content-Length", upstream.headers.get("Content-Length", "0"))
                else:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = _handle

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.log.clear()

    def start(self) -> RegistryProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._client.close()

    def __enter__(self) -> RegistryProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def deletes_by_digest(*proxies: RegistryProxy) -> dict[str, int]:
    """How many manifest DELETEs each digest got, through all of ``proxies``."""
    found: dict[str, int] = {}
    for proxy in proxies:
        for method, path in list(proxy.log):
            if method == "DELETE" and "/manifests/" in path:
                digest = path.rsplit("/", 1)[1]
                found[digest] = found.get(digest, 0) + 1
    return found
