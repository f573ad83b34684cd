"""Cleanup benchmark: planning and executing ``/registry prune`` against a real
registry, measured side by side in one run.

1. **Planning** a repository of 5,000 tags (100 images, made straight in the registry's
   storage) through a relay adding 60 ms per request (goal: within 10 s): cold; again
   right after (the dry run reuses the digest cache that listings and dry runs fill,
   for lookups of the last 10 minutes); and with a cold cache but the registry's push
   events recorded (notifications configured: a recorded tag's digest is taken instead
   of a HEAD). Each against the floor of its requests at the configured concurrency.
2. **Executing** 500 deletions: the bot's cleanup (a fresh scan to re-check every
   image, a copy kept for undo, the DELETE, and the check that the images are gone)
   against a script issuing the same 500 DELETEs at the same concurrency, on identical
   repositories (goal: within 1.5x of the script). Side by side, a script that first
   looks every tag up, as the bot's re-check does: no DELETE may start before every
   tag is seen (a tag moved onto a planned image since the approval must save it), so
   that is the floor of any cleanup that re-checks. Measured on loopback and through
   the 60 ms relay (``testkit/delay_relay.py``, in a process of its own). And the same
   500 deletions spread over 20 repositories of 25 images, as a cleanup of ``ci/*``.

Run: .venv/bin/python -m bench.cleanup_bench
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from bot.deletions import RetentionRules
from bot.deletions.retention import RepoUsage
from bot.registry import RegistryClient, RegistrySettings
from bot.registry.mediatypes import ACCEPT_MANIFESTS
from bot.registry.transport import reserved_slots
from bot.slack.render.outcomes import outcome_text
from testkit.delay_relay import DelayRelay
from testkit.deletions import APPROVER, REQUESTER, service_factory
from testkit.images import add_tags_on_disk, push_image
from testkit.registry_server import RegistryServer

DELAY = 0.060
PLAN_TAGS = 5000
PLAN_IMAGES = 100
EXEC_IMAGES = 500
SPREAD_REPOS = 20
SPREAD_IMAGES = 25
LAYER = b"shared layer " * 100


def created(days_ago: float) -> str:
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC) - timedelta(days=days_ago)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def seed_plan(server: RegistryServer) -> RepoUsage:
    """The repository, and what the registry's push events would have recorded of it."""
    client = RegistryClient(RegistrySettings(url=server.url))
    pushed = [
        push_image(client, "bench/plan", [f"b{i}"], created=created(i), layers=[LAYER])
        for i in range(PLAN_IMAGES)
    ]
    per = (PLAN_TAGS - PLAN_IMAGES) // PLAN_IMAGES
    records: dict[str, tuple[str, datetime]] = {}
    for i, image in enumerate(pushed):
        tags = [f"ci-{i}-{j}" for j in range(per)]
        add_tags_on_disk(server.storage, "bench/plan", image.digest, tags)
        at = datetime.fromisoformat(created(i))
        records.update({t: (image.digest, at) for t in [f"b{i}", *tags]})
    client.close()
    return RepoUsage(records)


def seed_exec(server: RegistryServer, repository: str, images: int = EXEC_IMAGES) -> list[str]:
    client = RegistryClient(RegistrySettings(url=server.url, concurrency=24))
    push_image(client, repository, ["newest"], created=created(0), layers=[LAYER])
    digests = client.map(
        lambda i: (
            push_image(
                client, repository, [f"old-{i}"], created=created(10 + i), layers=[LAYER]
            ).digest
        ),
        range(images),
    )
    client.close()
    return [d for d in digests if isinstance(d, str)]


def bench_plan(server: RegistryServer, database: str, records: RepoUsage) -> None:
    rules = RetentionRules(keep=10)
    with DelayRelay(server.url, DELAY) as relay:
        make, close = service_factory(database, relay.url)
        try:
            service = make()
            runs = {
                "cold": service,
                "again (digests as the bot's lookups found them seconds ago)": service,
                "with the registry's push events recorded, cold cache": make(
                    usage=lambda repository: records
                ),
            }
            concurrency = service.registry.settings.concurrency
            results = {}
            for label, runner in runs.items():
                before = runner.registry.requests_sent
                started = time.monotonic()
                preview = runner.preview_prune("bench/plan", rules, "", REQUESTER, "C1")
                elapsed = time.monotonic() - started
                results[label] = (elapsed, runner.registry.requests_sent - before, preview)
        finally:
            close()
    print(f"plan a {PLAN_TAGS:,}-tag repository ({PLAN_IMAGES} images), +{DELAY * 1000:.0f} ms:")
    for label, (elapsed, requests, preview) in results.items():
        floor = max(requests / concurrency, 1) * DELAY
        print(
            f"  {label}: {elapsed:.2f} s, {requests} requests (goal 10 s; the floor of "
            f"those requests at concurrency {concurrency} is {floor:.2f} s, "
            f"{elapsed / floor:.2f}x); {preview.images} images to delete, "
            f"{preview.unverified} tags not looked up"
        )


def script_deletes(url: str, repository: str, digests: list[str], concurrency: int) -> float:
    return script_deletes_anywhere(url, [(repository, d) for d in digests], concurrency)


def script_deletes_anywhere(url: str, targets: list[tuple[str, str]], concurrency: int) -> float:
    """A script's DELETEs of (repository, digest) pairs at ``concurrency``: the time."""
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        started = time.monotonic()
        with ThreadPoolExecutor(concurrency) as pool:
            statuses = list(
                pool.map(
                    lambda t: http.delete(f"{url}/v2/{t[0]}/manifests/{t[1]}").status_code,
                    targets,
                )
            )
        elapsed = time.monotonic() - started
    assert all(s == 202 for s in statuses), set(statuses)
    return elapsed


def script_rechecks(url: str, repository: str, concurrency: int) -> tuple[float, int]:
    """What a careful script does: list the tags, look each one up (HEAD), and only
    then DELETE the digests of the old ones, at the same concurrency. The same order
    as the bot's re-check; the floor of a cleanup that looks before it deletes."""
    with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as http:
        started = time.monotonic()
        tags = http.get(f"{url}/v2/{repository}/tags/list").json()["tags"]
        with ThreadPoolExecutor(concurrency) as pool:
            digests = list(
                pool.map(
                    lambda t: http.head(
                        f"{url}/v2/{repository}/manifests/{t}", headers={"Accept": ACCEPT_MANIFESTS}
                    ).headers["Docker-Content-Digest"],
                    tags,
                )
            )
            old = sorted({d for t, d in zip(tags, digests, strict=True) if t != "newest"})
            statuses = list(
                pool.map(
                    lambda d: http.delete(f"{url}/v2/{repository}/manifests/{d}").status_code,
                    old,
                )
            )
        elapsed = time.monotonic() - started
    assert len(old) == EXEC_IMAGES and all(s == 202 for s in statuses), set(statuses)
    return elapsed, 1 + len(tags) + len(old)


def bot_cleanup(url: str, pattern: str, database: str) -> tuple[float, int, str]:
    """The approval's execution alone (the dry run before it is not timed)."""
    make, close = service_factory(database, url)
    try:
        service = make()
        preview = service.preview_prune(pattern, RetentionRules(keep=1), "", REQUESTER, "C1")
        service.claim_submit(preview.request.id, REQUESTER)
        service.submitted(preview.request.id)
        before = service.registry.requests_sent
        started = time.monotonic()
        result = service.vote(preview.request.id, APPROVER, True)
        elapsed = time.monotonic() - started
        outcome = result.request.outcome
        said = outcome_text(result.request, outcome)[:90] if outcome else result.effect.value
        return elapsed, service.registry.requests_sent - before, said
    finally:
        close()


def bench_exec(server: RegistryServer, folder: str) -> None:
    for delay in (0.0, DELAY):
        with DelayRelay(server.url, delay) as relay:
            url = relay.url
            tag = f"{int(delay * 1000)}ms"
            digests = seed_exec(server, f"bench/script{tag}")
            seed_exec(server, f"bench/careful{tag}")
            seed_exec(server, f"bench/bot{tag}")
            concurrency = RegistrySettings().concurrency
            script = script_deletes(url, f"bench/script{tag}", digests, concurrency)
            script_requests = len(digests)
            careful, careful_requests = script_rechecks(url, f"bench/careful{tag}", concurrency)
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
            print(
                f"  a script that looks every tag up before it deletes, as the bot does: "
                f"{careful:.2f} s ({careful_requests} requests); registry-bot "
                f"{ours / careful:.2f}x that"
            )
            print(f"  {said}")


def bench_exec_spread(server: RegistryServer, folder: str) -> None:
    """The same 500 deletions spread over 20 repositories of 25 images (a cleanup of
    ``ci/*``): each repository's scan must finish before its own DELETEs, not before
    the other repositories' ones."""
    for delay in (0.0, DELAY):
        with DelayRelay(server.url, delay) as relay:
            tag = f"{int(delay * 1000)}ms"
            targets = [
                (f"bench/spread-script{tag}/r{r}", d)
                for r in range(SPREAD_REPOS)
                for d in seed_exec(server, f"bench/spread-script{tag}/r{r}", SPREAD_IMAGES)
            ]
            for r in range(SPREAD_REPOS):
                seed_exec(server, f"bench/spread-bot{tag}/r{r}", SPREAD_IMAGES)
            concurrency = RegistrySettings().concurrency
            script = script_deletes_anywhere(relay.url, targets, concurrency)
            ours, requests, said = bot_cleanup(
                relay.url, f"bench/spread-bot{tag}/*", f"sqlite:///{folder}/spread{tag}.db"
            )
            print(
                f"execute {len(targets)} deletions over {SPREAD_REPOS} repositories, registry "
                f"+{delay * 1000:.0f} ms, concurrency {concurrency} (the bot: per repository; "
                f"{concurrency + reserved_slots(concurrency)} in all):"
            )
            print(
                f"  script {script:.2f} s ({len(targets)} requests), registry-bot {ours:.2f} s "
                f"({requests} requests): {ours / script:.2f}x the script"
            )
            print(f"  {said}")


def main() -> int:
    server = RegistryServer().start()
    folder = tempfile.mkdtemp(prefix="cleanup-bench-")
    try:
        records = seed_plan(server)
        bench_plan(server, f"sqlite:///{folder}/plan.db", records)
        bench_exec(server, folder)
        bench_exec_spread(server, folder)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
