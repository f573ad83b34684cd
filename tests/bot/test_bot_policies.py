"""Cleanup policies through the real bot process, the Slack stand-in and a real
registry: an approver adds one (with its dry run), a non-approver can't, ``policy run``
posts its plan to the policy's channel as a cleanup request, approved it deletes, and
``policy list`` shows what the run came to. The scheduler's slots (once per slot across
processes, late runs, overdue) are tested with a clock in tests/unit/test_policies.py."""

from __future__ import annotations

import time
import uuid

import pytest

from bot.slack.render import check_message
from testkit.bot_process import BotLauncher
from testkit.images import manifest_exists, push_image
from testkit.slack_flow import approve
from testkit.slack_requests import command_body, post_signed
from testkit.slack_standin import SlackStandIn

AUTHOR, APPROVER, OUTSIDER = "UAPPROVE1", "UAPPROVE2", "UOUTSIDE1"
CHANNEL, PLANS = "C0CHAN01", "C0PLANS01"


@pytest.fixture
def standin():
    s = SlackStandIn().start()
    yield s
    for call in s.calls:
        if call.path.startswith("/response/") or call.method in ("chat.postMessage", "chat.update"):
            check_message(call.body)
    s.stop()


@pytest.fixture
def bot(standin, registry, tmp_path):
    bots = BotLauncher(
        standin.api_url,
        APPROVERS=f"{AUTHOR},{APPROVER}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        POLICY_TIMEZONE="Europe/Berlin",
    )
    yield bots.start(registry.url)
    bots.stop_all()


def slash(bot, standin, text: str, user: str = AUTHOR) -> dict:
    key = uuid.uuid4().hex
    response = post_signed(
        bot.events_url, command_body(text, standin.response_url(key), user=user, channel=CHANNEL)
    )
    assert response.status_code == 200
    return standin.wait_response(key).body


def test_a_policy_run_posts_its_plan_for_approval_and_approved_it_deletes(bot, standin, client):
    repo = f"pol/app{uuid.uuid4().hex[:6]}"
    old = [
        push_image(client, repo, [f"ci-{i}"], created=f"2026-0{i + 1}-01T00:00:00Z")
        for i in range(3)
    ]
    add = f"policy add nightly {repo} --keep 1 --cron '30 2 * * *' --channel {PLANS} old ci"
    refused = slash(bot, standin, add, user=OUTSIDER)
    assert "Only approvers" in str(refused)
    added = str(slash(bot, standin, add))
    assert "Saved the cleanup policy *nightly*" in added and "Europe/Berlin" in added
    assert "delete 2 images (2 tags)" in added and "Nothing has been requested" in added
    assert standin.messages(PLANS) == []  # a dry run posts nothing

    ran = str(slash(bot, standin, "policy run nightly"))
    assert "asked for approval" in ran and PLANS in ran
    (plan,) = standin.wait_for(
        lambda: [m for m in standin.messages(PLANS) if "deletion_approve" in str(m.body)]
    )
    assert "policy nightly, run on request: old ci" in str(plan.body)
    approve(bot, standin, plan, APPROVER)
    standin.wait_for(lambda: not manifest_exists(client, repo, old[0].digest))
    assert not manifest_exists(client, repo, old[1].digest)
    assert manifest_exists(client, repo, old[2].digest)  # kept: the newest
    listed = str(slash(bot, standin, "policy list"))
    assert "nightly" in listed and "asked for approval" in listed and "02:30" in listed
    shown = str(slash(bot, standin, "policy show nightly"))
    assert "(on request)" in shown
    assert "Removed the policy nightly" in str(slash(bot, standin, "policy remove nightly"))
    assert "There is no policy named nightly" in str(slash(bot, standin, "policy run nightly"))


@pytest.fixture
def replicas(standin, database_url):
    bots = BotLauncher(standin.api_url, APPROVERS=f"{AUTHOR},{APPROVER}", DATABASE_URL=database_url)
    yield bots
    bots.stop_all()


def test_two_bot_processes_post_one_request_per_slot(
    replicas, standin, registry, client, database_url
):
    """A policy whose slot fell due while no bot ran (added two hours ago, every hour):
    both processes start at once, each scheduler looks at start, and one request is
    posted, late, for the latest slot only (SQLite and PostgreSQL). The two claiming the
    same slot at the same instant is forced with a barrier in
    tests/unit/test_policies.py (the insert's conflict decides)."""
    from datetime import UTC, datetime, timedelta

    from bot.database import make_engine
    from bot.deletions import RetentionRules, open_store
    from bot.policies import Policy, PolicyStore, every

    repo = f"pol/twice{uuid.uuid4().hex[:6]}"
    for i in range(3):
        push_image(client, repo, [f"ci-{i}"], created=f"2026-0{i + 1}-01T00:00:00Z")
    open_store(database_url).engine.dispose()  # the schema, as a bot makes it
    engine = make_engine(database_url)
    store = PolicyStore(engine)
    store.ensure_schema()
    added = datetime.now(UTC) - timedelta(hours=2, minutes=30)
    store.add(
        Policy(
            "hourly", repo, RetentionRules(keep=1), every(timedelta(hours=1)), PLANS, AUTHOR, added
        )
    )
    engine.dispose()
    bots = replicas.start_together(registry.url, 2)
    assert all(b.process is not None and b.process.poll() is None for b in bots)
    (plan,) = standin.wait_for(
        lambda: [m for m in standin.messages(PLANS) if "deletion_approve" in str(m.body)]
    )
    assert "late since" in str(plan.body)
    time.sleep(3)  # a second request would have come by now (each looks at start)
    plans = [m for m in standin.messages(PLANS) if "deletion_approve" in str(m.body)]
    assert len(plans) == 1
