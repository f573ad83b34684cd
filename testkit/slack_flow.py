"""Driving the real bot through Slack's requests, as people would: a command, a button
on a message, a cleanup requested and approved; and waiting for what it posts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from .slack_requests import action_body, command_body, post_signed, view_submission_body

REQUESTER, APPROVER = "UREQUEST1", "UAPPROVE1"


def until(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Wait until ``predicate()`` is truthy; return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    raise AssertionError("timed out")


def button(body: dict, action_id: str) -> dict:
    return next(
        e
        for b in body.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


def command(bot, standin, text: str, user: str = REQUESTER) -> str:
    """Send ``/registry text``; returns the response_url key its reply goes to."""
    key = uuid.uuid4().hex
    response = post_signed(
        bot.events_url, command_body(text, standin.response_url(key), user=user), timeout=3
    )
    assert response.status_code == 200, response.text
    return key


REQUEST_BUTTONS = ("deletion_submit", "deletion_submit_untag")


def confirm_in_modal(bot, standin, trigger_id: str, user: str, reason: str | None = None) -> dict:
    """Wait for the request modal opened on ``trigger_id`` and submit it, with
    ``reason`` (None: the reason it offers, or one made up when it asks for one); the
    modal as it was opened."""
    (modal,) = until(lambda: standin.modals(trigger_id))
    offered = next(
        (
            b["element"].get("initial_value")
            for b in modal["blocks"]
            if b.get("block_id") == "reason"
        ),
        None,
    )
    typed = reason if reason is not None else (offered or "no longer needed")
    body = view_submission_body(modal, user=user, values={"reason": {"reason_input": typed}})
    response = post_signed(bot.events_url, body, timeout=3)
    assert response.status_code == 200, response.text
    return modal


def click(bot, standin, action_id: str, value: str, user: str, message=None) -> str:
    """Click a button (on the posted ``message``, for votes); the response_url key. A
    request button's modal is submitted too (with the reason it offers)."""
    key = uuid.uuid4().hex
    where = {"channel": message.body["channel"], "message_ts": message.ts} if message else {}
    trigger = f"{uuid.uuid4().int % 10**12}.1.trigger"
    response = post_signed(
        bot.events_url,
        action_body(
            action_id, value, standin.response_url(key), user=user, trigger_id=trigger, **where
        ),
        timeout=3,
    )
    assert response.status_code == 200, response.text
    if action_id in REQUEST_BUTTONS:
        confirm_in_modal(bot, standin, trigger, user)
    return key


def request_message(bot, standin, text: str):
    """Run a deletion command on ``bot`` and request it: the request message posted."""
    preview = standin.wait_response(command(bot, standin, text)).body
    submit = button(preview, "deletion_submit")["value"]
    before = len(standin.messages())
    standin.wait_response(click(bot, standin, "deletion_submit", submit, REQUESTER))
    return until(
        lambda: [
            m
            for m in standin.messages()[before:]
            if "deletion_approve" in str(m.body) and not m.body.get("thread_ts")
        ]
    )[0]


def approve(bot, standin, message, user: str = APPROVER) -> str:
    value = button(message.body, "deletion_approve")["value"]
    return click(bot, standin, "deletion_approve", value, user, message=message)


def updates_of(standin, message) -> list:
    """The chat.update calls that redrew ``message``, oldest first."""
    return [c for c in standin.api_calls("chat.update") if c.body.get("ts") == message.ts]
