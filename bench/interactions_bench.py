"""Benchmark of the real registry-bot process on Slack's newer surfaces.

1. **Options.** A registry of 10,000 repositories (made straight in its storage); once
   the bot has read the catalog into the pickers' names, 500 options requests of the
   repository picker (typed queries of every kind: a prefix, a substring, a glob, one
   letter, nothing) one after another over one connection: the answer time of each
   (goal: p99 under 100 ms), side by side with the same number of Help commands (the
   cheapest answer the bot gives: its acknowledgement alone).
2. **Tag options.** A repository of 100,000 tags in the same registry; once the tag
   picker has them (read in the background when first asked), 500 options requests of
   the tag picker (that repository picked in the view; prefix, substring, nothing, a
   miss) one after another: p99 beside Help's, interleaved the same way.
3. **A flood of the new kinds.** 200 interactions at once, mixed: options requests,
   view submissions of the cleanup builder (a bad regex: answered in the
   acknowledgement), Inspect images and Clean up images shortcuts; each one's
   acknowledgement time (goal: p99 under 100 ms).

Run: .venv/bin/python -m bench.interactions_bench
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import uuid

import httpx

from bench.floods import at_once, raw_request
from bot.registry import RegistryClient, RegistrySettings
from testkit.bot_process import BotProcess
from testkit.images import add_repositories_on_disk, add_tags_on_disk, push_image
from testkit.registry_server import RegistryServer
from testkit.slack_requests import (
    SIGNING_SECRET,
    command_body,
    message_shortcut_body,
    options_body,
    sign,
    view_submission_body,
)
from testkit.slack_standin import SlackStandIn

REPOSITORIES = 10_000
SEQUENTIAL = 500
FLOOD = 200
QUERIES = ["team0", "app-0042", "team00*/app-0001?", "a", "", "team099/app-09999", "nope"]
TAGS = 100_000
TAG_QUERIES = ["build-0424", "99", "", "build-099999", "nope", "1"]
BIG = "big/app"


def _headers(body: str) -> dict[str, str]:
    ts = int(time.time())
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(body, ts, SIGNING_SECRET),
    }


def _timed(client: httpx.Client, url: str, bodies: list[str]) -> list[float]:
    times = []
    for body in bodies:
        headers = _headers(body)
        t0 = time.monotonic()
        response = client.post(url, content=body.encode(), headers=headers)
        times.append(time.monotonic() - t0)
        assert response.status_code == 200, response.text
    return sorted(times)


def _p99(times: list[float]) -> float:
    return times[int(len(times) * 0.99) - 1]


def _builder_view() -> dict:
    return {
        "id": "V0BENCH1",
        "type": "modal",
        "callback_id": "cleanup_builder_modal",
        "private_metadata": json.dumps({"ch": "C0CHAN01", "url": ""}),
        "blocks": [],
    }


def _flood_bodies(standin: SlackStandIn) -> list[str]:
    bad = {
        "pattern": {"pick_repository": {"selected_option": {"value": "team000/app-00001"}}},
        "keep": {"keep": {"type": "plain_text_input", "value": "1"}},
        "match": {"match": {"type": "plain_text_input", "value": "(a)\\1"}},
    }
    bodies = []
    for i in range(FLOOD):
        match i % 4:
            case 0:
                bodies.append(options_body("pick_repository", QUERIES[i % len(QUERIES)]))
            case 1:
                bodies.append(view_submission_body(_builder_view(), user="U1", state=bad))
            case 2:
                message = {"text": "pushed team000/app-00001:1.0"}
                url = standin.response_url(uuid.uuid4().hex)
                bodies.append(message_shortcut_body("inspect_images", message, url))
            case _:
                payload = {
                    "type": "shortcut",
                    "callback_id": "cleanup_images",
                    "trigger_id": f"{i}.1.bench",
                    "user": {"id": "U1", "username": "someone", "team_id": "T0001"},
                    "team": {"id": "T0001", "domain": "example"},
                    "token": "legacy-unused",
                    "action_ts": "1700000001.000400",
                }
                from urllib.parse import urlencode

                bodies.append(urlencode({"payload": json.dumps(payload)}))
    return bodies


def _tag_options(query: str) -> str:
    """The tag picker's options request, with ``BIG`` picked in the same view."""
    picked = {"form_repository": {"pick_image_repository": {"selected_option": {"value": BIG}}}}
    view = {"id": "V0BENCH2", "type": "modal", "state": {"values": picked}}
    return options_body("pick_tag", query, block_id="form_tag", view=view)


def _interleaved(
    client: httpx.Client, url: str, bodies: list[str], helps: list[str]
) -> tuple[list[float], list[float]]:
    """``bodies`` and ``helps`` timed in rounds of 50 each (both see the same machine)."""
    times: list[float] = []
    help_times: list[float] = []
    for at in range(0, len(bodies), 50):
        times += _timed(client, url, bodies[at : at + 50])
        help_times += _timed(client, url, helps[at : at + 50])
    return sorted(times), sorted(help_times)


def _until_answered(client: httpx.Client, url: str, body: str, wanted: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # read into memory, in the background
        if wanted in client.post(url, content=body, headers=_headers(body)).text:
            return
        time.sleep(0.2)
    raise SystemExit(f"never answered with {wanted!r}")


def _flood(bot: BotProcess, bodies: list[str]) -> list[float]:
    return at_once(bot, [raw_request(bot, b) for b in bodies])


def main() -> int:
    server = RegistryServer().start()
    standin = SlackStandIn().start()
    try:
        names = [f"team{i // 100:03d}/app-{i:05d}" for i in range(REPOSITORIES)]
        add_repositories_on_disk(server.storage, names)
        pusher = RegistryClient(RegistrySettings(url=server.url))
        base = push_image(pusher, BIG, ["0"])
        pusher.close()
        add_tags_on_disk(server.storage, BIG, base.digest, [f"build-{i:06d}" for i in range(TAGS)])
        bot = BotProcess(registry_url=server.url, slack_api_url=standin.api_url).start()
        try:
            with httpx.Client(timeout=10) as client:
                url = bot.events_url
                wanted = options_body("pick_repository", "team099/app-09999")
                _until_answered(client, url, wanted, "team099/app-09999")
                _until_answered(client, url, _tag_options("build-099999"), "build-099999")

                def helps() -> list[str]:
                    return [
                        command_body("help", standin.response_url(uuid.uuid4().hex))
                        for _ in range(SEQUENTIAL)
                    ]

                options = [
                    options_body("pick_repository", QUERIES[i % len(QUERIES)])
                    for i in range(SEQUENTIAL)
                ]
                opt_times, help_times = _interleaved(client, url, options, helps())
                tags = [_tag_options(TAG_QUERIES[i % len(TAG_QUERIES)]) for i in range(SEQUENTIAL)]
                tag_times, tag_help_times = _interleaved(client, url, tags, helps())
            bodies = _flood_bodies(standin)
            flood = _flood(bot, bodies)
            helps_at_once = [
                command_body("help", standin.response_url(uuid.uuid4().hex)) for _ in range(FLOOD)
            ]
            help_flood = _flood(bot, helps_at_once)
            kinds = ("options", "view submissions", "Inspect images", "Clean up images")
            by_kind = {
                kind: _flood(bot, [b for _ in range(4) for b in bodies[i::4]])
                for i, kind in enumerate(kinds)
            }
        finally:
            bot.stop()
    finally:
        standin.stop()
        server.stop()
    print(f"options over {REPOSITORIES:,} repositories, {SEQUENTIAL} one after another:")
    print(
        f"  options: median {statistics.median(opt_times) * 1000:.1f} ms, p99 "
        f"{_p99(opt_times) * 1000:.1f} ms (goal p99 under 100 ms)"
    )
    print(
        f"  help (the acknowledgement alone): median {statistics.median(help_times) * 1000:.1f}"
        f" ms, p99 {_p99(help_times) * 1000:.1f} ms; options / help at p99 = "
        f"{_p99(opt_times) / _p99(help_times):.2f}x"
    )
    print(f"tag options over a repository of {TAGS:,} tags, {SEQUENTIAL} one after another:")
    print(
        f"  tag options: median {statistics.median(tag_times) * 1000:.1f} ms, p99 "
        f"{_p99(tag_times) * 1000:.1f} ms; help p99 {_p99(tag_help_times) * 1000:.1f} ms; "
        f"tag options / help at p99 = {_p99(tag_times) / _p99(tag_help_times):.2f}x"
    )
    print(f"{FLOOD} interactions at once (options, view submissions, shortcuts):")
    print(
        f"  acknowledgement: median {statistics.median(flood) * 1000:.1f} ms, p99 "
        f"{_p99(flood) * 1000:.1f} ms, max {flood[-1] * 1000:.1f} ms of {len(flood)} "
        "(goal p99 under 100 ms)"
    )
    print(
        f"  {FLOOD} help commands at once, the same way: median "
        f"{statistics.median(help_flood) * 1000:.1f} ms, p99 {_p99(help_flood) * 1000:.1f} ms; "
        f"new kinds / help at p99 = {_p99(flood) / _p99(help_flood):.2f}x"
    )
    for kind, times in by_kind.items():
        print(
            f"  {len(times)} {kind} alone at once: median {statistics.median(times) * 1000:.1f} ms,"
            f" p99 {_p99(times) * 1000:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
