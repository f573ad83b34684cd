"""A TCP relay in front of a registry that holds every HTTP request for a fixed delay
before passing it on: the latency of a distant registry, for benchmarks.

It runs in a process of its own and does not parse HTTP. A request starts when the
client sends bytes while no answer is awaited on that connection (clients here never
pipeline); the relay waits ``delay`` then forwards bytes both ways as they come. That
costs a fraction of a millisecond of CPU per request, where ``RegistryProxy`` parses and
re-sends each request through an HTTP client (about 1.5 ms each): on a two-core machine
that work competes with what is being measured, which a remote registry's latency does
not.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.sharedctypes import Synchronized
from urllib.parse import urlsplit


async def _relay(
    client_r: asyncio.StreamReader,
    client_w: asyncio.StreamWriter,
    upstream: tuple[str, int],
    delay: Synchronized,
    count: Synchronized,
) -> None:
    try:
        up_r, up_w = await asyncio.open_connection(*upstream)
    except OSError:
        client_w.close()
        return
    awaiting = False

    async def forward() -> None:
        nonlocal awaiting
        while data := await client_r.read(65536):
            if not awaiting:  # the first bytes of a new request
                awaiting = True
                with count.get_lock():
                    count.value += 1
                if delay.value:
                    await asyncio.sleep(delay.value)
            up_w.write(data)
            await up_w.drain()
        up_w.close()

    async def back() -> None:
        nonlocal awaiting
        while data := await up_r.read(65536):
            awaiting = False
            client_w.write(data)
            await client_w.drain()
        client_w.close()

    try:
        await asyncio.gather(forward(), back())
    except (ConnectionError, OSError, asyncio.CancelledError):
        pass  # a side closed, or the relay is stopping
    finally:
        up_w.close()
        client_w.close()


def _serve(
    upstream: tuple[str, int], delay: Synchronized, count: Synchronized, pipe, port: int
) -> None:
    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _relay(r, w, upstream, delay, count),
            "127.0.0.1",
            port,
            backlog=512,
            reuse_address=True,
        )
        pipe.send(server.sockets[0].getsockname()[1])
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, pipe.recv)  # until told to stop
        server.close()

    asyncio.run(main())


class DelayRelay:
    """``with DelayRelay(registry_url, 0.06) as relay:`` then point clients at
    ``relay.url``. ``delay`` can be changed while it runs; ``total`` counts requests
    since the last ``reset()``. Any TCP service can be relayed (a database, to cut it
    off: ``stop()`` drops every connection); ``port`` fixes the relay's own port, so a
    relay started again is found where the last one was."""

    def __init__(self, upstream_url: str, delay: float = 0.0, port: int = 0) -> None:
        parts = urlsplit(upstream_url)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        context = multiprocessing.get_context("spawn")
        self._delay = context.Value("d", delay)
        self._count = context.Value("l", 0)
        self._pipe, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(self._upstream, self._delay, self._count, theirs, port),
            daemon=True,
        )
        self.url = ""

    @property
    def delay(self) -> float:
        return float(self._delay.value)

    @delay.setter
    def delay(self, value: float) -> None:
        self._delay.value = value

    @property
    def total(self) -> int:
        return int(self._count.value)

    def reset(self) -> None:
        with self._count.get_lock():
            self._count.value = 0

    def start(self) -> DelayRelay:
        self._process.start()
        self.port = int(self._pipe.recv())
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        if not self._process.is_alive():
            return  # stopped already (a database cut off, say)
        self._pipe.send("stop")
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()

    def __enter__(self) -> DelayRelay:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
