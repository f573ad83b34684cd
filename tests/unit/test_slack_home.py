"""The Home tab, unit tier: the workflow functions called directly with a fake Web
client over real stores and the in-memory registry. An approver's Home shows the
request waiting on them with Approve and Reject; a vote from it is a vote from the
channel (the request carried out once, its channel message redrawn); the requester's
Home shows their request and no Approve; a long list stays within Slack's limits; the
publishing is debounced and carries the hash of the view last published."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.deletions import DeletionRequest, Kind, State
from bot.slack import home, home_clicks
from bot.slack.buttons import (
    ACTION_HOME_APPROVE,
    ACTION_HOME_REJECT,
    ACTION_HOME_UNDO,
)
from bot.slack.home_views import HomeViews
from bot.slack.jobs import HomeClick, JobKind
from bot.slack.listeners import home as home_listeners
from bot.slack.messages import MessageRole
from bot.slack.render.home import HomeFacts, render_home
from bot.slack.render.limits import MAX_VIEW_BLOCKS, view_problems
from testkit.deletions import APPROVER, APPROVER2, REQUESTER
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import Ack, bot_context, close, requested_on

CHANNEL = "C0CHAN01"
URL = "https://hooks.example/response/1"


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def ctx(tmp_path, fake) -> Iterator:
    made = bot_context(f"sqlite:///{tmp_path / 'home.db'}", fake.client(), required=1)
    yield made
    close(made)


def _buttons(view: dict, action_id: str) -> list[dict]:
    return [
        e
        for b in view["blocks"]
        for e in b.get("elements") or []
        if isinstance(e, dict) and e.get("action_id") == action_id
    ]


def _requested(ctx, fake, ref: str = "team/app:1.0") -> str:
    return requested_on(ctx, fake, ref, "old <!channel> build", channel=CHANNEL, url=URL)


def test_a_vote_from_the_home_is_a_vote_from_the_channel(ctx, fake):
    request_id = _requested(ctx, fake)
    digest = fake.repositories["team/app"].tags["1.0"]
    home.home_opened(ctx, APPROVER, None)
    (first,) = ctx.web.homes(APPROVER)
    view = first.args["view"]
    assert view["type"] == "home" and not view_problems(view)
    (approve,) = _buttons(view, ACTION_HOME_APPROVE)
    assert approve["value"] == request_id and _buttons(view, ACTION_HOME_REJECT)
    said = str(view["blocks"])
    assert "team/app:1.0" in said and "&lt;!channel&gt;" in said and "<!channel>" not in said
    assert "1 tags, 1 images" in said  # the blast radius summary
    # The requester's Home: their request, waiting, and nothing to approve.
    home.home_opened(ctx, REQUESTER, None)
    (mine,) = ctx.web.homes(REQUESTER)
    assert not _buttons(mine.args["view"], ACTION_HOME_APPROVE)
    assert "waiting for approval" in str(mine.args["view"]["blocks"])

    where = ctx.messages.get(request_id, MessageRole.REQUEST)
    home_clicks.vote(ctx, request_id, APPROVER, approve=True)
    assert ctx.deletions.request(request_id).state == State.DONE
    assert digest not in fake.repositories["team/app"].manifests
    assert ctx.web.updates(where.ts)  # the channel message is redrawn
    # Both Homes published again: the approver's says what came of the click, and
    # nothing waits on them any more; the requester's says done.
    after = ctx.web.homes(APPROVER)[-1].args
    assert not _buttons(after["view"], ACTION_HOME_APPROVE)
    assert "Approved request" in str(after["view"]["blocks"])
    assert "*done*" in str(ctx.web.homes(REQUESTER)[-1].args["view"]["blocks"])
    # A second click (a stale Home elsewhere) deletes nothing more, and says so.
    deletes = fake.deletes
    home_clicks.vote(ctx, request_id, APPROVER2, approve=True)
    assert fake.deletes == deletes
    notice = str(ctx.web.homes(APPROVER2)[-1].args["view"]["blocks"])
    assert "Approved request" not in notice and ":information_source:" in notice


def test_each_publish_carries_the_hash_of_the_last_view(ctx, fake):
    home.home_opened(ctx, APPROVER, "hash-shown")
    home.publish_home(ctx, APPROVER)
    first, second = ctx.web.homes(APPROVER)
    assert first.args["hash"] == "hash-shown"  # the view Slack said it shows
    assert second.args["hash"].startswith("hash-")  # what Slack answered to the first


def test_the_home_listeners_acknowledge_and_hand_over_typed_work(ctx):
    context = {"bot": ctx}
    event = {"type": "app_home_opened", "user": APPROVER, "tab": "home", "view": {"hash": "h1"}}
    home_listeners.on_home_opened(event, context)
    home_listeners.on_home_opened({**event, "tab": "messages"}, context)  # not the Home
    ack = Ack()
    body = {"user": {"id": APPROVER}, "container": {"type": "view", "view_id": "V1"}}
    home_listeners.on_home_approve(ack, body, {"value": "r" * 500}, context)
    assert ack.calls == [{}]
    opened, vote = ctx.runner.jobs
    assert (opened.kind, opened.work) == (JobKind.HOME_OPENED, HomeClick("h1", APPROVER))
    assert vote.kind == JobKind.HOME_APPROVE and vote.work == HomeClick("r" * 64, APPROVER)


def _waiting(n: int) -> list[DeletionRequest]:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    return [
        DeletionRequest(
            id=f"req{i:04d}",
            kind=Kind.MANIFEST,
            repository=f"team/<!here>{i}",
            digest="sha256:" + "a" * 64,
            requester=REQUESTER,
            channel=CHANNEL,
            state=State.PENDING,
            created_at=now - timedelta(hours=i),
            expires_at=now + timedelta(hours=1),
            approvals_required=2,
            tag="1.0",
            reason="x" * 2000,
        )
        for i in range(n)
    ]


def test_a_long_home_stays_within_slacks_limits():
    waiting = _waiting(150)
    facts = HomeFacts(
        user=APPROVER,
        now=datetime(2026, 12, 1, 12, tzinfo=UTC),
        zone=ZoneInfo("UTC"),
        approver=True,
        waiting=waiting,
        mine=waiting[:40],
        notice="<@U1> &",
    )
    view = render_home(facts)
    assert len(view["blocks"]) <= MAX_VIEW_BLOCKS and not view_problems(view)
    said = str(view["blocks"])
    assert "140 more" in said and "/registry pending" in said
    assert "<!here>" not in said and "&lt;@U1&gt; &amp;" in said
    assert len(_buttons(view, ACTION_HOME_APPROVE)) == 10


def test_publishing_is_debounced_and_coalesced():
    clock = [100.0]
    views = HomeViews(debounce=3.0, clock=lambda: clock[0])
    published: list[str] = []
    views.schedule("U1", published.append)  # the first goes at once
    assert published == ["U1"]
    views.schedule("U1", published.append, notice="one")  # too soon: waits
    views.schedule("U1", published.append, notice="two")  # joins the one waiting
    assert published == ["U1"]
    views.schedule("U2", published.append)  # another person's is not held up
    assert published == ["U1", "U2"]
    assert views.take_notice("U1") == "two"


def test_undo_from_the_home_asks_for_the_restore_where_the_deletion_was(ctx, fake):
    request_id = _requested(ctx, fake)
    home_clicks.vote(ctx, request_id, APPROVER, approve=True)
    assert ctx.deletions.request(request_id).state == State.DONE
    home.home_opened(ctx, REQUESTER, None)
    view = ctx.web.homes(REQUESTER)[-1].args["view"]
    (undo,) = _buttons_anywhere(view, ACTION_HOME_UNDO)
    assert undo["value"] == request_id
    posted = len(ctx.web.posts(CHANNEL))
    home_clicks.undo(ctx, request_id, REQUESTER)
    restore = ctx.web.posts(CHANNEL)[posted]
    assert "restore" in restore.text.lower() and "deletion_approve" in restore.text
    assert "Requested." in str(ctx.web.homes(REQUESTER)[-1].args["view"]["blocks"])
    # Someone else's Undo from a forged click: refused, nothing posted.
    before = len(ctx.web.posts(CHANNEL))
    home_clicks.undo(ctx, "no-such-request", REQUESTER)
    assert len(ctx.web.posts(CHANNEL)) == before
    assert ":information_source:" in str(ctx.web.homes(REQUESTER)[-1].args["view"]["blocks"])


def _buttons_anywhere(view: dict, action_id: str) -> list[dict]:
    """Buttons of ``action_id`` in actions blocks and as section accessories."""
    found = _buttons(view, action_id)
    return found + [
        b["accessory"]
        for b in view["blocks"]
        if (b.get("accessory") or {}).get("action_id") == action_id
    ]


def test_a_new_request_is_published_to_the_approvers_who_keep_a_home(ctx, fake):
    """An approver who opened their Home before a request was made sees it there once
    it is posted, without opening the Home again; one who never opened it gets none."""
    home.home_opened(ctx, APPROVER, None)
    assert not _buttons(ctx.web.homes(APPROVER)[-1].args["view"], ACTION_HOME_APPROVE)
    request_id = _requested(ctx, fake)
    (approve,) = _buttons(ctx.web.homes(APPROVER)[-1].args["view"], ACTION_HOME_APPROVE)
    assert approve["value"] == request_id
    assert ctx.web.homes(APPROVER2) == []
