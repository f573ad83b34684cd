"""The request modal, unit tier: the listeners and the opening called directly, with
a fake Web client over real stores and the in-memory registry. Request deletion opens a
modal drawn from the stored draft (what it deletes, the reason typed, required when
none was); a click that can't become a request gets no modal but a private answer; the
submission answers a missing reason on the field, and hands over the reason typed;
metadata the bot didn't write is ignored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.deletions import State
from bot.registry import parse_reference
from bot.slack import deleting, modals
from bot.slack.buttons import ACTION_SUBMIT
from bot.slack.command_table import Delete
from bot.slack.jobs import Click, JobKind, ModalOpen
from bot.slack.listeners import actions, views
from bot.slack.render.limits import view_problems
from bot.slack.render.modals import REASON_BLOCK, RequestModal, submitted_reason
from testkit.deletions import APPROVER, REQUESTER
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import Ack, bot_context, close

CHANNEL = "C0CHAN01"
URL = "https://hooks.example/response/1"


@pytest.fixture
def fake() -> FakeRegistry:
    fake = FakeRegistry()
    fake.push("team/app", ["1.0", "latest"], "an image")
    return fake


@pytest.fixture
def ctx(tmp_path, fake) -> Iterator:
    made = bot_context(f"sqlite:///{tmp_path / 'modal.db'}", fake.client())
    yield made
    close(made)


def _draft(ctx, reason: str) -> str:
    message = deleting.delete_reply(
        ctx, Delete(parse_reference("team/app:1.0"), reason), REQUESTER, CHANNEL
    )
    return next(
        str(e.value)
        for b in message.blocks
        for e in getattr(b, "elements", None) or []
        if getattr(e, "action_id", None) == ACTION_SUBMIT
    )


def _submission(modal: dict, typed: str, user: str = REQUESTER) -> tuple[dict, dict]:
    view = {
        **modal,
        "state": {"values": {REASON_BLOCK: {"reason_input": {"value": typed}}}},
    }
    return {"user": {"id": user}, "view": view}, view


def test_request_deletion_opens_the_modal_and_its_submission_carries_the_reason(ctx):
    request_id = _draft(ctx, "")
    ack = Ack()
    body = {
        "user": {"id": REQUESTER},
        "response_url": URL,
        "trigger_id": "123.456.abc",
        "container": {"type": "message"},
    }
    actions.on_submit(ack, body, {"value": request_id}, {"bot": ctx})
    (opening,) = ctx.runner.jobs
    assert ack.calls == [{}] and opening.kind == JobKind.OPEN_REQUEST
    assert opening.work == ModalOpen(request_id, REQUESTER, URL, "123.456.abc", False)
    modals.open_request_modal(ctx, opening.work)
    (opened,) = ctx.web.modals()
    modal = opened.args["view"]
    assert opened.args["trigger_id"] == "123.456.abc" and not view_problems(modal)
    assert "team/app:1.0" in str(modal["blocks"]) and "2 tags will be deleted" in str(modal)
    (reason,) = [b for b in modal["blocks"] if b.get("block_id") == REASON_BLOCK]
    assert not reason.get("optional")  # nothing typed with the command: required
    assert RequestModal.decode(modal["private_metadata"]) == RequestModal(request_id, False, URL)

    ack = Ack()
    views.on_request_submitted(ack, *_submission(modal, "   "), {"bot": ctx})
    assert ack.calls == [
        {"response_action": "errors", "errors": {REASON_BLOCK: views.REASON_NEEDED}}
    ]
    ack = Ack()
    views.on_request_submitted(ack, *_submission(modal, " superseded by 2.0 "), {"bot": ctx})
    assert ack.calls == [{}]
    submit = ctx.runner.jobs[-1]
    assert submit.kind == JobKind.SUBMIT
    assert submit.work == Click(request_id, REQUESTER, URL, "superseded by 2.0")
    deleting.submit(ctx, request_id, REQUESTER, URL, reason=submit.work.reason)
    request = ctx.deletions.request(request_id)
    assert request.state == State.PENDING and request.reason == "superseded by 2.0"


def test_a_typed_reason_is_offered_and_optional(ctx):
    request_id = _draft(ctx, "old <!channel> build")
    modals.open_request_modal(ctx, ModalOpen(request_id, REQUESTER, URL, "t1", True))
    modal = ctx.web.modals()[-1].args["view"]
    (reason,) = [b for b in modal["blocks"] if b.get("block_id") == REASON_BLOCK]
    assert reason["optional"] is True
    assert reason["element"]["initial_value"] == "old <!channel> build"  # plain text
    assert modal["title"]["text"] == "Request tag removal"
    assert "(this tag only)" in str(modal["blocks"])
    ack = Ack()
    views.on_request_submitted(ack, *_submission(modal, ""), {"bot": ctx})
    assert ack.calls == [{}]
    job = ctx.runner.jobs[-1]
    assert job.kind == JobKind.SUBMIT_UNTAG and job.work.reason is None  # the typed one


def test_a_click_that_cant_become_a_request_gets_no_modal(ctx):
    request_id = _draft(ctx, "why")
    modals.open_request_modal(ctx, ModalOpen(request_id, APPROVER, URL, "t1", False))
    modals.open_request_modal(ctx, ModalOpen("0" * 16, REQUESTER, URL, "t2", False))
    assert ctx.web.modals() == []
    said = ctx.responder.texts(URL)
    assert len(said) == 2 and "Only the person who previewed" in said[0]


def test_metadata_the_bot_did_not_write_is_ignored(ctx):
    ack = Ack()
    body = {"user": {"id": REQUESTER}, "view": {"private_metadata": "{not json", "blocks": []}}
    views.on_request_submitted(ack, body, body["view"], {"bot": ctx})
    assert ack.calls == [{}] and ctx.runner.jobs == []
    for bad in ("[]", '{"r": 1, "u": false, "url": ""}', "x" * 5000):
        with pytest.raises(ValueError):
            RequestModal.decode(bad)
    assert submitted_reason({}) == ""
