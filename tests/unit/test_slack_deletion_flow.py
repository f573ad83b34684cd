"""The Slack deletion flow, unit tier: the named listeners and the workflow functions
called directly, with a fake Web client, responder and runner, over real stores and the
in-memory registry. Submit posts the request and opens its audit thread; each vote is
audited in the thread and redraws the request message; the quorum carries it out; a
vote on a copy of the message, or by the requester, is refused privately. The same flow
runs through the real bot process over signed HTTP in tests/bot/test_slack_deletions.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.deletions import State
from bot.registry import human_size, parse_reference
from bot.slack import deleting
from bot.slack.buttons import ACTION_APPROVE, ACTION_SUBMIT
from bot.slack.command_table import Delete
from bot.slack.jobs import Click, JobKind, Vote
from bot.slack.listeners import actions, commands
from bot.slack.messages import MessageRole
from testkit.deletions import APPROVER, APPROVER2, OUTSIDER, REQUESTER
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import Ack, bot_context, close

CHANNEL = "C0CHAN01"
URL = "https://hooks.example/response/1"


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def ctx(tmp_path, fake) -> Iterator:
    made = bot_context(f"sqlite:///{tmp_path / 'flow.db'}", fake.client(), required=2)
    yield made
    close(made)


def _preview(ctx, ref: str) -> str:
    message = deleting.delete_reply(
        ctx, Delete(parse_reference(ref), "old build"), REQUESTER, CHANNEL
    )
    (button,) = [
        e
        for b in message.blocks
        for e in getattr(b, "elements", None) or []
        if getattr(e, "action_id", None) == ACTION_SUBMIT
    ]
    return str(button.value)


def _submitted(ctx, ref: str) -> tuple[str, str]:
    """A request submitted: its ID and the ts of its message."""
    request_id = _preview(ctx, ref)
    deleting.submit(ctx, request_id, REQUESTER, URL)
    where = ctx.messages.get(request_id, MessageRole.REQUEST)
    assert where is not None and where.channel == CHANNEL
    return request_id, where.ts


def _thread(ctx, ts: str) -> list[str]:
    return [c.text for c in ctx.web.posts(CHANNEL, thread_ts=ts)]


def test_submit_posts_the_request_and_opens_its_audit_thread(ctx, fake):
    fake.push("app", ["v1", "v1-alias"], "a")
    request_id, ts = _submitted(ctx, "app:v1")
    (posted,) = [
        c for c in ctx.web.posts(CHANNEL) if "thread_ts" not in c.args or not c.args["thread_ts"]
    ]
    assert posted.args["ts"] == ts and "app:v1" in posted.text and "v1-alias" in posted.text
    assert ACTION_APPROVE in posted.text  # the votes are on it
    (requested,) = _thread(ctx, ts)
    assert "*requested*" in requested and "reason: old build" in requested
    assert ctx.deletions.store.get(request_id).state == State.PENDING
    (reply,) = ctx.responder.sent
    assert reply.replace_original and "Requested" in reply.message.text
    assert fake.deletes == []


def test_votes_are_audited_redrawn_and_the_quorum_carries_it_out(ctx, fake):
    fake.push("app", ["v1"], "a")
    request_id, ts = _submitted(ctx, "app:v1")
    deleting.vote(ctx, request_id, APPROVER, True, URL, (CHANNEL, ts))
    assert ctx.deletions.store.get(request_id).state == State.PENDING
    assert "1/2" in ctx.web.updates(ts)[-1].text  # one approval of two, drawn
    assert fake.deletes == []
    deleting.vote(ctx, request_id, APPROVER2, True, URL, (CHANNEL, ts))
    assert ctx.deletions.store.get(request_id).state == State.DONE
    assert len(fake.deletes) == 1
    last = ctx.web.updates(ts)[-1].text
    assert "*Deleted*" in last and "registry garbage-collect" in last
    thread = _thread(ctx, ts)
    assert [t.split("*")[1] for t in thread] == ["requested", "approved", "approved", "executed"]
    assert "done: deleted" in thread[-1]
    assert ctx.responder.sent[1:] == []  # nothing said privately: the message shows it


def test_a_vote_on_a_copy_or_by_the_requester_is_refused_privately(ctx, fake):
    fake.push("app", ["v1"], "a")
    request_id, ts = _submitted(ctx, "app:v1")
    updates = len(ctx.web.updates(ts))
    deleting.vote(ctx, request_id, APPROVER, True, URL, (CHANNEL, "1699999999.000001"))
    deleting.vote(ctx, request_id, REQUESTER, True, URL, (CHANNEL, ts))
    deleting.vote(ctx, request_id, OUTSIDER, True, URL, (CHANNEL, ts))
    said = ctx.responder.texts(URL)[1:]
    assert "Votes count only on the request's own message" in said[0]
    assert "your vote does not count" in said[1] and "Only approvers" in said[2]
    assert len(ctx.web.updates(ts)) == updates  # the message stays as it was
    thread = _thread(ctx, ts)
    assert [t.split("*")[1] for t in thread] == ["requested", "refused", "refused", "refused"]
    assert "approve: not the request message" in thread[1]
    assert ctx.deletions.store.get(request_id).state == State.PENDING and fake.deletes == []


def test_a_request_message_slack_refuses_leaves_the_draft_to_try_again(ctx, fake):
    from slack_sdk.errors import SlackApiError

    fake.push("app", ["v1"], "a")
    request_id = _preview(ctx, "app:v1")
    ctx.web.fail["chat.postMessage"] = SlackApiError("no", {"ok": False, "error": "not_in_channel"})
    deleting.submit(ctx, request_id, REQUESTER, URL)
    assert ctx.deletions.store.get(request_id).state == State.DRAFT
    assert "/invite @registry-bot" in ctx.responder.texts(URL)[-1]
    del ctx.web.fail["chat.postMessage"]
    deleting.submit(ctx, request_id, REQUESTER, URL)  # tried again: posted
    assert ctx.deletions.store.get(request_id).state == State.PENDING


def _button_body(user: str, value: str, ts: str = "1700000000.000009") -> tuple[dict, dict]:
    body = {
        "user": {"id": user},
        "response_url": URL,
        "channel": {"id": CHANNEL},
        "container": {"channel_id": CHANNEL, "message_ts": ts},
    }
    return body, {"value": value}


def test_the_listeners_acknowledge_then_hand_over_typed_work(ctx):
    ack = Ack()
    body, action = _button_body(APPROVER, "0123abcd0123abcd")
    actions.on_approve(ack, body, action, {"bot": ctx})
    actions.on_submit(ack, body, {"value": "x" * 500}, {"bot": ctx})
    assert ack.calls == [{}, {}]
    vote, submit = ctx.runner.jobs
    assert vote.kind == JobKind.VOTE and vote.response_url == URL
    assert vote.work == Vote(
        "0123abcd0123abcd", APPROVER, True, URL, (CHANNEL, body["container"]["message_ts"])
    )
    assert submit.kind == JobKind.SUBMIT and submit.work == Click("x" * 64, APPROVER, URL)


def test_the_command_listener_answers_usage_errors_in_its_acknowledgement(ctx):
    ack = Ack()
    command = {"text": "delete", "response_url": URL, "user_id": REQUESTER, "channel_id": CHANNEL}
    commands.on_registry(ack, command, {"bot": ctx})
    (answered,) = ack.calls
    assert answered["response_type"] == "ephemeral" and "delete" in answered["text"].lower()
    assert ctx.runner.jobs == []  # nothing else to do
    commands.on_registry(ack, dict(command, text="tags app"), {"bot": ctx})
    assert ack.calls[-1] == {} and ctx.runner.jobs[-1].kind == JobKind.COMMAND


def test_every_command_of_the_table_has_a_reply():
    from typing import get_args

    from bot.slack.command_replies import answer
    from bot.slack.command_table import Command

    assert set(get_args(Command)) <= set(answer.registry)


def test_untagged_images_are_unknown_without_the_registrys_events(ctx):
    from bot.slack.command_replies import Asker, answer
    from bot.slack.command_table import parse_command

    said = answer(parse_command("untagged"), ctx, Asker(REQUESTER, CHANNEL, URL))
    assert "not known" in said.text and "0 untagged" not in str(said.blocks)
    assert "REGISTRY_EVENTS_TOKEN" in str(said.blocks[0].text.text)
    # A cleanup of them, or a policy of one, says the same, and saves nothing.
    for text in ("prune team/* --untagged", "policy add tidy team/* --untagged --every 1d"):
        said = answer(parse_command(text), ctx, Asker(REQUESTER, CHANNEL, URL))
        assert "not known" in said.text and "REGISTRY_EVENTS_TOKEN" in str(said.blocks)
    assert ctx.policies.all() == []


def test_a_long_storage_report_says_it_is_under_way_then_answers(ctx, fake):
    from bot.slack.command_replies import STORAGE_NOTE_AFTER, reply

    for i in range(STORAGE_NOTE_AFTER + 2):
        fake.push(f"team/r{i:02d}", ["v1"], f"image {i}")
    reply(
        ctx,
        {
            "text": "storage team/*",
            "response_url": URL,
            "user_id": REQUESTER,
            "channel_id": CHANNEL,
        },
    )
    note, report = ctx.responder.texts(URL)
    assert f"{STORAGE_NOTE_AFTER} repositories read so far" in note
    assert report.startswith("Storage: ")
    reply(
        ctx,
        {
            "text": "storage team/r00",
            "response_url": URL,
            "user_id": REQUESTER,
            "channel_id": CHANNEL,
        },
    )
    assert len(ctx.responder.texts(URL)) == 3  # a short one: no note


def test_untagged_takes_a_pattern_and_how_recent_a_pull_keeps_an_image_in_use():
    from datetime import timedelta

    from bot.slack.command_table import ListUntagged, UsageError, parse_command

    assert parse_command("untagged") == ListUntagged(None, timedelta(days=7))
    assert parse_command("untagged ci/* --keep-pulled-within 30d") == ListUntagged(
        "ci/*", timedelta(days=30)
    )
    assert parse_command("untagged --keep-pulled-within=12h app") == ListUntagged(
        "app", timedelta(hours=12)
    )
    for text in ("untagged a b", "untagged --older-than 3d", "untagged --keep-pulled-within soon"):
        with pytest.raises(UsageError):
            parse_command(text)


def test_the_daily_snapshot_is_taken_once_and_the_report_shows_the_trend(ctx, fake):
    from bot.slack.command_replies import Asker, answer
    from bot.slack.command_table import parse_command
    from bot.slack.storage_snapshots import take_snapshot

    fake.push("team/a", ["v1"], "first")
    take_snapshot(ctx)
    (today,) = ctx.history.snapshots()
    assert today.total > 0 and set(today.repositories) == {"team/a"}
    fake.push("team/b", ["v1"], "second")
    take_snapshot(ctx)  # the day is done: not read again
    assert ctx.history.snapshots() == [today]
    said = str(answer(parse_command("storage"), ctx, Asker(REQUESTER, CHANNEL, URL)).blocks)
    assert "history starts today" in said
    assert "Trend" not in str(
        answer(parse_command("storage team/*"), ctx, Asker(REQUESTER, CHANNEL, URL)).blocks
    )


def test_the_weekly_report_goes_out_with_mondays_snapshot_once(tmp_path, fake):
    from datetime import UTC, datetime, timedelta

    from bot.slack.storage_snapshots import take_snapshot
    from testkit.deletions import Clock

    clock = Clock()
    clock.now = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)  # a Sunday
    ctx = bot_context(f"sqlite:///{tmp_path / 'weekly.db'}", fake.client(), clock=clock)
    ctx.storage_report_channel = "C0REPORTS"
    try:
        fake.push("team/a", ["v1"], "first")

        def posted() -> list:
            return [c for c in ctx.web.calls if c.args.get("channel") == "C0REPORTS"]

        take_snapshot(ctx)
        assert posted() == []  # Sunday: kept, not posted
        clock.now += timedelta(days=1)  # Monday
        take_snapshot(ctx)
        take_snapshot(ctx)  # the day is done
        (report,) = posted()
        assert "Storage" in report.args["text"] and "daily since 2026-11-29" in str(
            report.args["blocks"]
        )
    finally:
        close(ctx)


def test_share_in_channel_posts_the_report_read_again_and_naming_who_shared(ctx, fake):
    from bot.slack.buttons import ACTION_SHARE_STORAGE, StorageShare
    from bot.slack.command_replies import Asker, answer
    from bot.slack.command_table import parse_command
    from bot.slack.render import check_message
    from bot.slack.storage_replies import share_storage

    fake.push("team/a", ["v1"], "first")
    reply = answer(parse_command("storage team/*"), ctx, Asker(REQUESTER, CHANNEL, URL))
    check_message(reply.to_dict())
    (button,) = [e for b in reply.blocks if b.type == "actions" for e in b.elements]
    assert button.action_id == ACTION_SHARE_STORAGE and button.text.text == "Share in channel"
    assert StorageShare.decode(button.value) == StorageShare("team/*")
    fake.push("team/b", ["v1"], "pushed since")  # the shared report is read at the click
    share_storage(ctx, button.value, APPROVER, URL, CHANNEL)
    (posted,) = [c for c in ctx.web.calls if c.method == "chat.postMessage"]
    check_message(posted.args)
    said = str(posted.args["blocks"])
    assert posted.args["channel"] == CHANNEL and f"Shared by <@{APPROVER}>" in said
    assert "team/b" in said and "Share in channel" not in said
    assert "Shared the storage report" in ctx.responder.texts(URL)[-1]
    for tampered in ('{"f": "../etc"}', "not json", '{"f": 3}', '{"f": ""}'):
        with pytest.raises(ValueError):
            StorageShare.decode(tampered)
    share_storage(ctx, "not json", APPROVER, URL, CHANNEL)  # ignored, nothing posted
    assert len([c for c in ctx.web.calls if c.method == "chat.postMessage"]) == 1


def test_the_storage_report_pages_through_its_repositories(ctx, fake):
    from bot.slack.browse_replies import run_page
    from bot.slack.buttons import ACTION_NEXT, ACTION_PREV, PageKind, PageRef
    from bot.slack.command_replies import Asker, answer
    from bot.slack.command_table import parse_command
    from bot.slack.render import check_message
    from bot.slack.render.storage import TOP

    for i in range(TOP + 5):
        fake.push(f"team/r{i:02d}", ["v1"], f"image {i}")

    def buttons(message) -> dict:
        return {e.action_id: e for b in message.blocks if b.type == "actions" for e in b.elements}

    first = answer(parse_command("storage team/*"), ctx, Asker(REQUESTER, CHANNEL, URL))
    check_message(first.to_dict())
    said = str(first.blocks[1].text.text)  # the figures first, then the page
    assert f"Repositories 1-{TOP} of {TOP + 5}" in said and said.count("its own, ") == TOP
    assert ACTION_PREV not in buttons(first)
    ref = PageRef.decode(buttons(first)[ACTION_NEXT].value)
    assert ref == PageRef(PageKind.STORAGE, 1, "team/*")
    second = run_page(ctx, ref)
    check_message(second.to_dict())
    said = str(second.blocks[1].text.text)
    assert f"Repositories {TOP + 1}-{TOP + 5} of {TOP + 5}" in said
    assert said.count("its own, ") == 5 and ACTION_NEXT not in buttons(second)
    assert PageRef.decode(buttons(second)[ACTION_PREV].value).page == 0
    # A page past the end (a value made by hand) shows the last page.
    assert "page 2 of 2" in str(run_page(ctx, PageRef(PageKind.STORAGE, 9, "team/*")).blocks)


def test_the_storage_report_says_what_garbage_collection_would_give_back(ctx, fake):
    from bot.slack.command_replies import Asker, answer
    from bot.slack.command_table import parse_command

    fake.push("team/a", ["v1"], "first")
    fake.push("team/a", ["v2"], "second")
    said = str(answer(parse_command("storage"), ctx, Asker(REQUESTER, CHANNEL, URL)).blocks)
    assert "no deletion through registry-bot since" in said
    request_id, ts = _submitted(ctx, "team/a:v1")
    deleting.vote(ctx, request_id, APPROVER, True, URL, (CHANNEL, ts))
    deleting.vote(ctx, request_id, APPROVER2, True, URL, (CHANNEL, ts))
    freed = ctx.deletions.request(request_id).reclaimable
    assert freed
    said = str(answer(parse_command("storage"), ctx, Asker(REQUESTER, CHANNEL, URL)).blocks)
    assert f"at most {human_size(freed)} from 1 deletion through registry-bot" in said
    assert "registry garbage-collect" in said
    # A report of part of the registry doesn't say it (garbage collection is registry-wide).
    part = str(answer(parse_command("storage team/*"), ctx, Asker(REQUESTER, CHANNEL, URL)).blocks)
    assert "Garbage collection" not in part
