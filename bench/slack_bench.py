"""Slack front end benchmark, measured side by side in one run, with the real
registry-bot process, a real registry behind a delaying proxy, and the Slack stand-in.

1. ``/registry tags REPO`` on a 2,000-tag repository through a proxy adding 60 ms to
   every registry request: time from the command to the complete first page arriving at
   response_url (goal: within 0.6 s), cold (no digest seen before) and warm; compared
   with the chain of round trips it cannot beat (tag list, HEADs, manifests, configs).
2. The acknowledgement's latency with a registry taking 5 s per request, against the
   same with an instant registry (goal: within 100 ms either way).

Run: .venv/bin/python -m bench.slack_bench
"""

from __future__ import annotations

import statistics
import sys
import time
import uuid

from bot.registry import RegistryClient, RegistrySettings
from testkit.bot_process import BotProcess
from testkit.images import add_tags_on_disk, push_image
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer
from testkit.slack_requests import command_body, post_signed
from testkit.slack_standin import SlackStandIn

DELAY = 0.060
REPOS = 4
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


def first_page(bot: BotProcess, standin: SlackStandIn, repo: str) -> float:
    key = uuid.uuid4().hex
    start = time.monotonic()
    post_signed(bot.events_url, command_body(f"tags {repo}", standin.response_url(key)))
    call = standin.wait_response(key, timeout=30)
    elapsed = call.at - start  # when the stand-in received the reply
    blocks = str(call.body["blocks"])
    assert f"*{TAGS}* tags" in blocks and "9.24.0" in blocks and "page 1 of 100" in blocks
    return elapsed


def ack_latency(bot: BotProcess, standin: SlackStandIn, rounds: int = 7) -> float:
    samples = []
    for _ in range(rounds):
        key = uuid.uuid4().hex
        start = time.perf_counter()
        response = post_signed(
            bot.events_url, command_body("tags bench/app0", standin.response_url(key))
        )
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (len(samples), response.status_code, response.text)
    return statistics.median(samples)


def main() -> int:
    server = RegistryServer().start()
    standin = SlackStandIn().start()
    try:
        seed(server)
        with RegistryProxy(server.url, delay=DELAY) as proxy:
            bot = BotProcess(registry_url=proxy.url, slack_api_url=standin.api_url).start()
            try:
                cold = []
                for r in range(REPOS):
                    proxy.reset()
                    cold.append(first_page(bot, standin, f"bench/app{r}"))
                requests = proxy.total
                proxy.reset()
                warm = [first_page(bot, standin, f"bench/app{r}") for r in range(REPOS)]
                warm_requests = proxy.total / REPOS
            finally:
                bot.stop()
        chain = 4 * DELAY  # tag list -> HEADs -> manifests -> configs, each at least 60 ms
        print(
            f"/registry tags on a {TAGS}-tag repository, registry +{DELAY * 1000:.0f} ms "
            "per request:"
        )
        print(
            f"  cold: median {statistics.median(cold):.3f} s (max {max(cold):.3f} s), "
            f"{requests} registry requests; goal 0.6 s; "
            f"{statistics.median(cold) / chain:.2f}x the 4-round-trip floor ({chain:.2f} s)"
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
                    results[label] = ack_latency(bot, standin)
                finally:
                    bot.stop()
        print("acknowledgement latency (median of 7), goal 100 ms:")
        for label, value in results.items():
            print(f"  {label}: {value * 1000:.1f} ms")
        ratio = results["registry taking 5 s"] / results["instant registry"]
        print(f"  ratio slow/instant: {ratio:.2f}")
    finally:
        standin.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
