"""Registry core benchmark: prints ratios measured side by side in one run.

1. Listing every tag of a 2,000-tag repository: registry-bot's client against
   ``skopeo list-tags`` (Debian's skopeo) on the same registry.
2. Describing 25 tags (digest, size, created, platforms) through a relay that adds
   60 ms to every registry request, against a one-at-a-time client (concurrency 1)
   measured in the same run, and against 60 ms x the number of requests made.
3. Registry requests per described tag, cold and with the cache warm.

Run: .venv/bin/python -m bench.registry_bench   (needs docker-registry; skopeo optional)
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time

from bot.registry import RegistryClient, RegistrySettings, describe_tags
from testkit.delay_relay import DelayRelay
from testkit.images import add_tags_on_disk, push_image, push_index
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer

DELAY = 0.060
ROUNDS = 5


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_listing(server: RegistryServer) -> None:
    client = RegistryClient(RegistrySettings(url=server.url))
    pushed = push_image(client, "bench/tags", ["seed"])
    add_tags_on_disk(server.storage, "bench/tags", pushed.digest, [f"1.{i}" for i in range(1999)])
    assert len(client.tags("bench/tags")) == 2000
    skopeo = shutil.which("skopeo")
    ours = [timed(lambda: client.tags("bench/tags")) for _ in range(ROUNDS)]
    print(f"list 2,000 tags: registry-bot median {statistics.median(ours) * 1000:.1f} ms")
    if skopeo is None:
        print("  skopeo not installed (apt-get install skopeo): comparison skipped")
        return
    host = server.url.removeprefix("http://")
    cmd = [skopeo, "list-tags", "--tls-verify=false", f"docker://{host}/bench/tags"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert out.count('"1.') == 1999, "skopeo did not list every tag"
    theirs = [
        timed(lambda: subprocess.run(cmd, capture_output=True, check=True)) for _ in range(ROUNDS)
    ]
    print(
        f"  skopeo list-tags median {statistics.median(theirs) * 1000:.1f} ms"
        f"  -> registry-bot is {statistics.median(theirs) / statistics.median(ours):.1f}x faster"
        " (skopeo's time includes starting its process)"
    )


def bench_describe(server: RegistryServer) -> None:
    seed = RegistryClient(RegistrySettings(url=server.url))
    tags = [f"d{i}" for i in range(25)]
    for tag in tags:
        push_image(seed, "bench/describe", [tag])
    with DelayRelay(server.url, delay=DELAY) as proxy:
        results = {}
        for concurrency in (1, 8, 16, 24, 32):
            client = RegistryClient(RegistrySettings(url=proxy.url, concurrency=concurrency))
            proxy.reset()
            elapsed = timed(lambda c=client: describe_tags(c, "bench/describe", tags))
            results[concurrency] = (elapsed, proxy.total)
            client.close()
        serial_elapsed, _ = results[1]
        print(f"describe 25 tags through a relay adding {DELAY * 1000:.0f} ms per request:")
        for concurrency, (elapsed, requests) in results.items():
            print(
                f"  concurrency {concurrency:>2}: {elapsed:.2f} s, {requests} requests;"
                f" {serial_elapsed / elapsed:4.1f}x the measured one-at-a-time client,"
                f" {DELAY * requests / elapsed:4.1f}x 60 ms x requests"
            )


def bench_requests_per_tag(server: RegistryServer) -> None:
    seed = RegistryClient(RegistrySettings(url=server.url))
    for i in range(10):
        push_image(seed, "bench/count", [f"s{i}"])
    push_index(seed, "bench/count", ["multi"])
    with RegistryProxy(server.url) as proxy:
        client = RegistryClient(RegistrySettings(url=proxy.url))
        for label, tags in (
            ("single-platform", [f"s{i}" for i in range(10)]),
            ("2-platform index", ["multi"]),
        ):
            proxy.reset()
            describe_tags(client, "bench/count", tags)
            cold = dict(proxy.counts)
            proxy.reset()
            describe_tags(client, "bench/count", tags)
            warm = dict(proxy.counts)
            n = len(tags)
            print(
                f"requests per {label} tag: cold {sum(cold.values()) / n:.1f} {cold},"
                f" warm {sum(warm.values()) / n:.1f} {warm}"
            )


def main() -> int:
    server = RegistryServer().start()
    try:
        bench_listing(server)
        bench_describe(server)
        bench_requests_per_tag(server)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
