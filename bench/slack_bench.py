"""Slack front end benchmark, measured side by side in one run, with the real
registry-bot process, a real registry behind a delaying relay, and the Slack stand-in.

1. ``/registry tags REPO`` on a 2,000-tag repository through a relay adding 60 ms to
   every registry request (``testkit/delay_relay.py``, in a process of its own): time
   from the command to the complete first page arriving at response_url
   (goal: within 0.6 s, and within 1.5x of the floor), cold (no digest seen
   before) and warm. The floor is the chain of round trips it cannot beat: tag list,
   manifests by tag, configs. Side by side: the same at the old default concurrency
   (16); with no added delay (the work the floor leaves out: the bot's, the relay's
   and the registry's own, on the same two cores); and through testkit's parsing proxy
   in this process instead of the relay (what this bench measured before: the proxy's
   own work, about 1.5 ms of CPU per request, competing for the same two cores).
2. The acknowledgement's latency with a registry taking 5 s per request, against the
   same with an instant registry (goal: within 100 ms either way).

Run: .venv/bin/python -m bench.slack_bench
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

import httpx

from bot.registry import RegistryClient, RegistrySettings
from testkit.bot_process import BotProcess
from testkit.delay_relay import DelayRelay
from testkit.images import add_tags_on_disk, push_image
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer
from testkit.slack_requests import command_body, post_signed
from testkit.slack_standin import SlackStandIn

DELAY = 0.060
REPOS = 8
TAGS = 2000


def seed(server: RegistryServer) -> None:
    client = RegistryClient(RegistrySettings(url=server.url))
    for r in range(REPOS):
        repo = f"bench/app{r}"
        # 25 distinct images with the highest versions (the first page), the other
        # 1,975 tags on one older image.
        for i in range(25):
            push_image(client, repo, [f"9.{i}.0"])
        base = push_image(client, repo, ["0.0.1"])
        add_tags_on_disk(
            server.storage, repo, base.digest, [f"1.{i // 100}.{i % 100}" for i in range(TAGS - 26)]
        )
        assert len(client.tags(repo)) == TAGS
    client.close()


def first_page(bot: BotProcess, standin: SlackStandIn, repo: str, http: httpx.Client) -> float:
    key = uuid.uuid4().hex
    body = command_body(f"tags {repo}", standin.response_url(key))
    start = time.monotonic()
    post_signed(bot.events_url, body, client=http)
    call = standin.wait_response(key, timeout=30)
    elapsed = call.at - start  # when the stand-in received the reply
    blocks = str(call.body["blocks"])
    assert f"*{TAGS}* tags" in blocks and "9.24.0" in blocks and "page 1 of 100" in blocks
    return elapsed


def page_times(
    proxy: DelayRelay | RegistryProxy,
    standin: SlackStandIn,
    http: httpx.Client,
    env: dict | None = None,
) -> tuple[list[float], int, list[float], float]:
    """First pages of every seeded repository from a new bot process (cold), then again
    (warm); with the registry requests of the last cold page and per warm page."""
    bot = BotProcess(registry_url=proxy.url, slack_api_url=standin.api_url, extra_env=env)
    bot.start()
    try:
        cold = []
        for r in range(REPOS):
            proxy.reset()
            cold.append(first_page(bot, standin, f"bench/app{r}", http))
        requests = proxy.total
        proxy.reset()
        warm = [first_page(bot, standin, f"bench/app{r}", http) for r in range(REPOS)]
        return cold, requests, warm, proxy.total / REPOS
    finally:
        bot.stop()


def ack_latency(
    bot: BotProcess, standin: SlackStandIn, http: httpx.Client, rounds: int = 7
) -> float:
    samples = []
    for _ in range(rounds):
        key = uuid.uuid4().hex
        body = command_body("tags bench/app0", standin.response_url(key))
        start = time.perf_counter()
        response = post_signed(bot.events_url, body, client=http)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (len(samples), response.status_code, response.text)
    return statistics.median(samples)


def main() -> int:
    server = RegistryServer().start()
    standin = SlackStandIn().start()
    # One client for every request, made before any clock starts: a new httpx client
    # (its TLS context) costs 20-40 ms of the load generator's own time.
    http = httpx.Client()
    try:
        seed(server)
        with DelayRelay(server.url, delay=DELAY) as relay:
            cold, requests, warm, warm_requests = page_times(relay, standin, http)
            cold16, _, _, _ = page_times(relay, standin, http, {"REGISTRY_CONCURRENCY": "16"})
            relay.delay = 0.0
            own, _, _, _ = page_times(relay, standin, http)
        with RegistryProxy(server.url, delay=DELAY) as proxy:
            parsed, _, _, _ = page_times(proxy, standin, http)
        floor = 3 * DELAY  # tag list -> manifests by tag -> configs, each at least 60 ms
        print(
            f"/registry tags on a {TAGS}-tag repository, registry +{DELAY * 1000:.0f} ms "
            "per request:"
        )
        print(
            f"  cold: median {statistics.median(cold):.3f} s (max {max(cold):.3f} s), "
            f"{requests} registry requests; goal 0.6 s; "
            f"{statistics.median(cold) / floor:.2f}x the 3-round-trip floor ({floor:.2f} s)"
        )
        print(
            f"  the same at REGISTRY_CONCURRENCY=16: median {statistics.median(cold16):.3f} s "
            f"({statistics.median(cold16) / floor:.2f}x the floor)"
        )
        print(
            f"  the same with no added delay (the bot's, the relay's and the registry's own "
            f"work): median {statistics.median(own):.3f} s; floor + that: "
            f"{floor + statistics.median(own):.3f} s"
        )
        print(
            f"  the same through the parsing proxy in the load generator's process: median "
            f"{statistics.median(parsed):.3f} s ({statistics.median(parsed) / floor:.2f}x)"
        )
        print(
            f"  warm: median {statistics.median(warm):.3f} s, {warm_requests:.0f} registry "
            "requests (tag list + HEADs; manifests and configs cached)"
        )

        with RegistryProxy(server.url, delay=5.0) as slow, RegistryProxy(server.url) as fast:
            results = {}
            for label, p in (("instant registry", fast), ("registry taking 5 s", slow)):
                bot = BotProcess(registry_url=p.url, slack_api_url=standin.api_url).start()
                try:
                    print("measuring", label, flush=True)
                    results[label] = ack_latency(bot, standin, http)
                finally:
                    bot.stop()
        print("acknowledgement latency (median of 7), goal 100 ms:")
        for label, value in results.items():
            print(f"  {label}: {value * 1000:.1f} ms")
        ratio = results["registry taking 5 s"] / results["instant registry"]
        print(f"  ratio slow/instant: {ratio:.2f}")
    finally:
        http.close()
        standin.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
