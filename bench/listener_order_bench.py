"""What one acknowledgement costs the acknowledging process, by kind, with the bot's
listeners registered in the order it ships (``bot.slack.listeners.register``) against
the order they were registered in before (commands, buttons, Home, modals, shortcuts,
options): Bolt tries each listener's matchers in turn until one matches, so a kind
registered late pays for every one before it. Each request is dispatched in process
(signed, parsed, matched, answered; no HTTP), interleaved over five rounds; the median
round is printed, side by side.

Run: .venv/bin/python -m bench.listener_order_bench
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable

from slack_bolt import App, BoltRequest
from slack_bolt import BoltContext as BoltRequestContext
from slack_sdk import WebClient

from bot.registry import NameIndex
from bot.slack import listeners
from bot.slack.context import BotContext
from bot.slack.listeners import actions, commands, home, options, shortcuts, views
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import bot_context
from testkit.slack_requests import (
    SIGNING_SECRET,
    action_body,
    command_body,
    message_shortcut_body,
    options_body,
    sign,
)
from testkit.slack_standin import SlackStandIn

BEFORE = (commands, actions, home, views, shortcuts, options)
ROUNDS = 5


def _app(api_url: str, register: Callable[[App, BotContext], None]) -> App:
    fake = FakeRegistry()
    ctx = bot_context(f"sqlite:///{tempfile.mkdtemp()}/bench.db", fake.client())
    names = [f"team{i // 100:03d}/app-{i:05d}" for i in range(10_000)]
    ctx.names = NameIndex(lambda: names)
    ctx.names.refresh()
    app = App(
        client=WebClient(token="xoxb-test-token", base_url=api_url + "/api/"),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
        process_before_response=True,
    )

    register(app, ctx)
    return app


def _request(body: str) -> BoltRequest:
    ts = int(time.time())
    headers = {
        "content-type": ["application/x-www-form-urlencoded"],
        "x-slack-request-timestamp": [str(ts)],
        "x-slack-signature": [sign(body, ts, SIGNING_SECRET)],
    }
    return BoltRequest(body=body, headers=headers)


def main() -> int:
    standin = SlackStandIn().start()
    try:
        queries = ["team0", "app-0042", "a", "", "nope"]
        kinds = {
            "options": [options_body("pick_repository", q) for q in queries] * 40,
            "Inspect images": [
                message_shortcut_body("inspect_images", {"text": "x team/app:1"}, "https://h/r")
            ]
            * 200,
            "/registry help": [command_body("help", "https://h/r")] * 200,
            "Next (a button)": [
                action_body("registry_page_next", '{"k":"repos","p":1}', "https://h/r")
            ]
            * 200,
        }

        def before(app: App, ctx: BotContext) -> None:
            def with_bot(context: BoltRequestContext, next: Callable[[], None]) -> None:
                context["bot"] = ctx
                next()

            app.use(with_bot)
            for module in BEFORE:
                module.register(app)

        apps = {
            "before": _app(standin.api_url, before),
            "now": _app(standin.api_url, listeners.register),
        }
        for app in apps.values():
            app.dispatch(_request(kinds["/registry help"][0]))  # auth.test, once
        took: dict[str, dict[str, list[float]]] = {k: {n: [] for n in apps} for k in kinds}
        for _ in range(ROUNDS):
            for name, app in apps.items():
                for kind, bodies in kinds.items():
                    requests = [_request(b) for b in bodies]
                    started = time.perf_counter()
                    for request in requests:
                        app.dispatch(request)
                    took[kind][name].append((time.perf_counter() - started) / len(requests))
    finally:
        standin.stop()
    print("one acknowledgement, in process (median of 5 rounds):")
    for kind, by in took.items():
        old, now = statistics.median(by["before"]), statistics.median(by["now"])
        print(f"  {kind}: before {old * 1000:.3f} ms, now {now * 1000:.3f} ms, {now / old:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
