"""A scripted HTTP server that plays a broken or hostile registry (or a storage host it
redirects to): each request is answered by a Python function, and the answer can be
streamed slowly, cut short, or larger than it claims. Every request is recorded with
its headers, so tests can check what the bot sent where."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .http import QuietHandler, Server


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    chunk_delay: float = 0.0  # seconds between chunks of an iterable body
    length: int | None = None  # Content-Length to announce (default: the real length)
    cut: bool = False  # close the connection after the body (or the chunks sent)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


Script = Callable[[str, str, dict[str, str]], Reply]


class HostileServer:
    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with server._lock:
                    server.seen.append(Seen(self.command, self.path, headers))
                reply = server.script(self.command, self.path, headers)
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if isinstance(reply.body, bytes):
                    size = reply.length if reply.length is not None else len(reply.body)
                    self.send_header("Content-Length", str(size))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(reply.body)
                else:
                    if reply.length is not None:
                        self.send_header("Content-Length", str(reply.length))
                    else:
                        self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    try:
                        for chunk in reply.body:
                            if reply.length is not None:
                                self.wfile.write(chunk)
                            else:
                                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                            if reply.chunk_delay:
                                time.sleep(reply.chunk_delay)
                        if reply.length is None and not reply.cut:
                            self.wfile.write(b"0\r\n\r\n")
                    except OSError:
                        return
                if reply.cut:
                    self.close_connection = True

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _handle

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def requests(self, path_part: str = "") -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if path_part in s.path]

    def start(self) -> HostileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
