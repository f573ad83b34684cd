"""Cleanup benchmark: planning and executing ``/registry prune`` against a real
registry, measured side by side in one run.

1. **Planning** a repository of 5,000 tags (100 images, made straight in the registry's
   storage) through a proxy adding 60 ms per request (goal: within 10 s), cold and
   again with the digest cache warm (as after listings), against the floor of its
   requests at the configured concurrency.
2. **Executing** 500 deletions: the bot's cleanup (a fresh scan to re-check every
   image, a copy kept for undo, the DELETE, and the check that the images are gone)
   against a script issuing the same 500 DELETEs at the same concurrency, on two
   identical repositories (goal: within 1.5x of the script). Measured on loopback and
   through the 60 ms proxy.

Run: .venv/bin/python -m bench.cleanup_bench
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from bot.deletions import RetentionRules
from bot.registry import RegistryClient, RegistrySettings
from testkit.deletions import APPROVER, REQUESTER, service_factory
from testkit.images import add_tags_on_disk, push_image
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer

DELAY = 0.060
PLAN_TAGS = 5000
PLAN_IMAGES = 100
EXEC_IMAGES = 500
LAYER = b"shared layer " * 100


def _serve_proxy(upstream: str, delay: float, pipe) -> None:
    proxy = RegistryProxy(upstream, delay=delay).start()
    pipe.send(proxy.url)
    pipe.recv()  # until told to stop
    proxy.stop()


class ProxyProcess:
    """The delaying proxy in a process of its own, so that its work doesn't share the
    measured client's interpreter (requests are counted by the clients instead)."""

    def __init__(self, upstream: str, delay: float) -> None:
        ours, theirs = multiprocessing.Pipe()
        self.pipe = ours
        self.process = multiprocessing.get_context("fork").Process(
            target=_serve_proxy, args=(upstream, delay, theirs), daemon=True
        )

    def __enter__(self) -> str:
        self.process.start()
        return str(self.pipe.recv())

    def __exit__(self, *exc: object) -> None:
        self.pipe.send("stop")
        self.process.join(5)


def created(days_ago: float) -> str:
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC) - timedelta(days=days_ago)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_plan(server: RegistryServer) -> None:
    client = RegistryClient(RegistrySettings(url=server.url))
    pushed = [
        push_image(client, "bench/plan", [f"b{i}"], created=created(i), layers=[LAYER])
        for i in range(PLAN_IMAGES)
    ]
    per = (PLAN_TAGS - PLAN_IMAGES) // PLAN_IMAGES
    for i, image in enumerate(pushed):
        add_tags_on_disk(
            server.storage, "bench/plan", image.digest, [f"ci-{i}-{j}" for j in range(per)]
        )
    client.close()


def seed_exec(server: RegistryServer, repository: str) -> list[str]:
    client = RegistryClient(RegistrySettings(url=server.url, concurrency=24))
    push_image(client, repository, ["newest"], created=created(0), layers=[LAYER])
    digests = client.map(
        lambda i: (
            push_image(
                client, repository, [f"old-{i}"], created=created(10 + i), layers=[LAYER]
            ).digest
        ),
        range(EXEC_IMAGES),
    )
    client.close()
    return [d for d in digests if isinstance(d, str)]


def bench_plan(server: RegistryServer, database: str) -> None:
    with ProxyProcess(server.url, DELAY) as url:
        make, close = service_factory(database, url)
        try:
            service = make()
            concurrency = service.registry.settings.concurrency
            rules = RetentionRules(keep=10)
            times, counts = [], []
            for _ in range(2):  # cold, then with the manifests and configs cached
                before = service.registry.requests_sent
                started = time.monotonic()
                preview = service.preview_prune("bench/plan", rules, "", REQUESTER, "C1")
                times.append(time.monotonic() - started)
                counts.append(service.registry.requests_sent - before)
        finally:
            close()
    floor = counts[1] / concurrency * DELAY
    print(f"plan a {PLAN_TAGS:,}-tag repository ({PLAN_IMAGES} images), +{DELAY * 1000:.0f} ms:")
    print(
        f"  cold {times[0]:.2f} s ({counts[0]} requests), warm {times[1]:.2f} s "
        f"({counts[1]} requests); goal 10 s; plan: {preview.images} images to delete"
    )
    print(
        f"  floor at concurrency {concurrency}: {floor:.2f} s "
        f"(warm = {times[1] / floor:.2f}x the floor)"
    )


def script_deletes(url: str, repository: str, digests: list[str], concurrency: int) -> float:
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            statuses = list(
                pool.map(
                    lambda d: http.delete(f"{url}/v2/{repository}/manifests/{d}").status_code,
                    digests,
                )
            )
        elapsed = time.monotonic() - started
    assert all(s == 202 for s in statuses), set(statuses)
    return elapsed


def bot_cleanup(url: str, repository: str, database: str) -> tuple[float, int, str]:
    """The approval's execution alone (the dry run before it is not timed)."""
    make, close = service_factory(database, url)
    try:
        service = make()
        preview = service.preview_prune(repository, RetentionRules(keep=1), "", REQUESTER, "C1")
        service.claim_submit(preview.request.id, REQUESTER)
        service.submitted(preview.request.id)
        before = service.registry.requests_sent
        started = time.monotonic()
        result = service.vote(preview.request.id, APPROVER, True)
        elapsed = time.monotonic() - started
        return elapsed, service.registry.requests_sent - before, result.message[:90]
    finally:
        close()


def bench_exec(server: RegistryServer, folder: str) -> None:
    for delay in (0.0, DELAY):
        with ProxyProcess(server.url, delay) as url:
            tag = f"{int(delay * 1000)}ms"
            digests = seed_exec(server, f"bench/script{tag}")
            seed_exec(server, f"bench/bot{tag}")
            concurrency = RegistrySettings().concurrency
            script = script_deletes(url, f"bench/script{tag}", digests, concurrency)
            script_requests = len(digests)
            ours, requests, said = bot_cleanup(
                url, f"bench/bot{tag}", f"sqlite:///{folder}/{tag}.db"
            )
            print(
                f"execute {EXEC_IMAGES} deletions, registry +{delay * 1000:.0f} ms, "
                f"concurrency {concurrency}:"
            )
            print(
                f"  script {script:.2f} s ({script_requests} requests), registry-bot "
                f"{ours:.2f} s ({requests} requests): {ours / script:.2f}x the script "
                "(goal 1.5x)"
            )
            print(f"  {said}")


def main() -> int:
    server = RegistryServer().start()
    folder = tempfile.mkdtemp(prefix="cleanup-bench-")
    try:
        seed_plan(server)
        bench_plan(server, f"sqlite:///{folder}/plan.db")
        bench_exec(server, folder)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
