"""Event ingest benchmark: how many registry events per second the real bot process
takes at ``POST /registry/events`` (goal: at least 500 per second), measured side by
side with the same process answering an empty request (what HTTP alone costs).

Distribution sends one event per request, so that is measured: a burst of pushes
(each a new tag) and a burst of pulls of one hot image, each from 8 client threads.

Run: .venv/bin/python -m bench.events_bench
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx

from testkit.bot_process import BotProcess
from testkit.registry_server import RegistryServer
from testkit.slack_standin import SlackStandIn

TOKEN = "bench-events-token-0123456789"
EVENTS = 3000
THREADS = 8
ENVELOPE = "application/vnd.docker.distribution.events.v1+json"


def envelope(action: str, n: int) -> bytes:
    digest = "sha256:" + f"{n:064x}" if action == "push" else "sha256:" + "a" * 64
    target = {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "digest": digest,
        "repository": "bench/events",
        "size": 500,
    }
    if action == "push":
        target["tag"] = f"ci-{n}"
    event = {
        "id": str(uuid.uuid4()),
        "timestamp": datetime.now(UTC).isoformat(),
        "action": action,
        "target": target,
        "request": {"useragent": "docker/27.0", "method": "PUT"},
        "actor": {},
    }
    return json.dumps({"events": [event]}).encode()


def blast(url: str, bodies: list[bytes], headers: dict[str, str]) -> float:
    """Send every body from THREADS threads; returns events per second."""
    chunks = [bodies[i::THREADS] for i in range(THREADS)]
    failures: list[int] = []

    def run(chunk: list[bytes]) -> None:
        with httpx.Client(timeout=30) as http:
            for body in chunk:
                status = http.post(url, content=body, headers=headers).status_code
                if status != 200:
                    failures.append(status)

    threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert not failures, failures[:5]
    return len(bodies) / elapsed


def main() -> int:
    server = RegistryServer().start()
    standin = SlackStandIn().start()
    bot = BotProcess(
        registry_url=server.url,
        slack_api_url=standin.api_url,
        extra_env={"REGISTRY_EVENTS_TOKEN": TOKEN, "EVENTS_CHANNEL": "C0BENCH01"},
    ).start()
    try:
        url = f"{bot.url}/registry/events"
        headers = {"Content-Type": ENVELOPE, "Authorization": f"Bearer {TOKEN}"}
        pushes = blast(url, [envelope("push", i) for i in range(EVENTS)], headers)
        pulls = blast(url, [envelope("pull", i) for i in range(EVENTS)], headers)
        # What HTTP and the server cost alone: a request answered before any parsing.
        wrong = {"Content-Type": ENVELOPE, "Authorization": "Bearer not-the-token-0000000"}

        def unauthorized() -> float:
            chunks = [[b"{}"] * (EVENTS // THREADS) for _ in range(THREADS)]

            def run(chunk: list[bytes]) -> None:
                with httpx.Client(timeout=30) as http:
                    for body in chunk:
                        assert http.post(url, content=body, headers=wrong).status_code == 401

            threads = [threading.Thread(target=run, args=(c,)) for c in chunks]
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return EVENTS / (time.monotonic() - started)

        floor = unauthorized()
    finally:
        bot.stop()
        standin.stop()
        server.stop()
    print(f"ingest at POST /registry/events, one event per request, {THREADS} client threads:")
    print(f"  {EVENTS} pushes (new tags): {pushes:,.0f} events/s (goal 500)")
    print(f"  {EVENTS} pulls of one image: {pulls:,.0f} events/s (goal 500)")
    print(
        f"  the same process refusing a request before parsing it: {floor:,.0f} requests/s "
        f"(pushes at {pushes / floor:.2f}x, pulls at {pulls / floor:.2f}x of that)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
