"""Policy slot benchmark: how long after its due time a slot's plan is posted (goal:
within 60 s), through the real bot process, the Slack stand-in and a real registry.

Four policies (every hour) are saved in the bot's database so that their next slots
fall due 5, 20, 35 and 50 seconds after the bot starts (as if added an hour before);
the time from each due time to its request message in the policy's channel is
measured, beside the scheduler's interval (how often a process looks for due slots:
the most a slot waits before it is seen) and the goal.

Run: .venv/bin/python -m bench.policy_bench
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bot.database import make_engine
from bot.deletions import RetentionRules, open_store
from bot.policies import Policy, PolicyStore, every
from bot.registry import RegistryClient, RegistrySettings
from bot.slack.policy_runs import SCHEDULER_SECONDS
from testkit.bot_process import BotLauncher
from testkit.images import push_image
from testkit.registry_server import RegistryServer
from testkit.slack_standin import SlackStandIn

GOAL = 60.0
OFFSETS = (5, 20, 35, 50)  # seconds after the start that each slot falls due
CHANNEL = "C0PLANS01"


def main() -> int:
    server = RegistryServer(delete_enabled=True).start()
    standin = SlackStandIn().start()
    folder = tempfile.mkdtemp(prefix="policy-bench-")
    url = f"sqlite:///{folder}/bot.db"
    client = RegistryClient(RegistrySettings(url=server.url))
    try:
        open_store(url).engine.dispose()
        engine = make_engine(url)
        store = PolicyStore(engine)
        store.ensure_schema()
        start = datetime.now(UTC)
        due: dict[str, datetime] = {}
        for offset in OFFSETS:
            repository = f"bench/p{offset}"
            for i in range(3):
                push_image(client, repository, [f"ci-{i}"], created=f"2026-0{i + 1}-01T00:00:00Z")
            name = f"p{offset}"
            slot = start + timedelta(seconds=offset)
            due[name] = slot
            store.add(
                Policy(
                    name,
                    repository,
                    RetentionRules(keep=1),
                    every(timedelta(hours=1)),
                    CHANNEL,
                    "UAUTHOR01",
                    slot - timedelta(hours=1),
                )
            )
        engine.dispose()
        bots = BotLauncher(standin.api_url, APPROVERS="UAUTHOR01,UAPPROVE2", DATABASE_URL=url)
        bots.start(server.url)
        seen: dict[str, float] = {}
        deadline = time.monotonic() + max(OFFSETS) + GOAL + 30
        while len(seen) < len(due) and time.monotonic() < deadline:
            for message in standin.messages(CHANNEL):
                body = str(message.body)
                for name, slot in due.items():
                    if name not in seen and f"policy {name}," in body:
                        seen[name] = (datetime.now(UTC) - slot).total_seconds()
            time.sleep(0.2)
        bots.stop_all()
        print(
            f"policy slots through the real bot (scheduler looks every {SCHEDULER_SECONDS:g} s; "
            f"goal: a plan within {GOAL:g} s of its due time):"
        )
        for name in due:
            late = seen.get(name)
            said = f"{late:.1f} s after its due time" if late is not None else "not posted"
            ratio = f", {late / GOAL:.2f}x the goal" if late is not None else ""
            print(f"  {name}: posted {said}{ratio}")
        worst = max(seen.values(), default=float("inf"))
        print(f"  worst {worst:.1f} s: {worst / GOAL:.2f}x the goal, {len(seen)} of {len(due)}")
    finally:
        client.close()
        standin.stop()
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
