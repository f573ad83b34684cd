"""Buttons. Prev/Next on listings edit the listing message in place; the deletion
buttons (request, cancel, approve, reject) carry only a request ID. ``ack()`` first; the
work is handed over as a job. Who clicked comes from the verified request only."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from ..context import BotContext
from ..jobs import Job, JobKind
from ..page_buttons import ACTION_NEXT, ACTION_PREV, PageRef
from ..render.deletions import (
    ACTION_APPROVE,
    ACTION_CANCEL,
    ACTION_REJECT,
    ACTION_SUBMIT,
    ACTION_SUBMIT_UNTAG,
    ACTION_UNDO,
    ACTION_UNUSED_LAYERS,
)
from ..render.events import ACTION_PUT_BACK

log = logging.getLogger(__name__)


def register(app: App, ctx: BotContext) -> None:
    @app.action(ACTION_PREV)
    @app.action(ACTION_NEXT)
    def on_page(ack: Ack, body: dict, action: dict) -> None:
        ack()
        value = action.get("value") or ""
        try:
            ref = PageRef.decode(value)
        except ValueError:
            log.warning("ignored a page button with a malformed value")
            return
        response_url = body["response_url"]
        ctx.background(Job(JobKind.PAGE, (value, response_url), f"paging {ref.kind}", response_url))

    def deletion_button(kind: JobKind, **extra: bool):
        def listener(ack: Ack, body: dict, action: dict) -> None:
            ack()
            request_id = (action.get("value") or "")[:64]
            user, response_url = body["user"]["id"], body["response_url"]
            args = (request_id, user, response_url, *extra.values())
            ctx.background(Job(kind, args, f"{kind} {request_id}", response_url))

        return listener

    app.action(ACTION_SUBMIT)(deletion_button(JobKind.SUBMIT, as_untag=False))
    app.action(ACTION_SUBMIT_UNTAG)(deletion_button(JobKind.SUBMIT, as_untag=True))
    app.action(ACTION_CANCEL)(deletion_button(JobKind.CANCEL))

    def follow_up_button(kind: JobKind, limit: int = 64):
        """A button that opens a new request (from an executed deletion, or an alert);
        its value is at most ``limit`` characters (Slack's own cap is 2,000)."""

        def listener(ack: Ack, body: dict, action: dict) -> None:
            ack()
            value = (action.get("value") or "")[:limit]
            user, response_url = body["user"]["id"], body["response_url"]
            channel = (body.get("channel") or {}).get("id") or ""
            ctx.background(
                Job(
                    kind, (value, user, response_url, channel), f"{kind} {value[:64]}", response_url
                )
            )

        return listener

    app.action(ACTION_UNUSED_LAYERS)(follow_up_button(JobKind.UNUSED_LAYERS))
    app.action(ACTION_UNDO)(follow_up_button(JobKind.UNDO))
    app.action(ACTION_PUT_BACK)(follow_up_button(JobKind.PUT_BACK, limit=2000))

    def vote_button(approve: bool):
        def listener(ack: Ack, body: dict, action: dict) -> None:
            ack()
            request_id = (action.get("value") or "")[:64]
            user, response_url = body["user"]["id"], body["response_url"]
            container = body.get("container") or {}
            clicked = (str(container.get("channel_id")), str(container.get("message_ts")))
            ctx.background(
                Job(
                    JobKind.VOTE,
                    (request_id, user, approve, response_url, clicked),
                    f"{'approve' if approve else 'reject'} {request_id}",
                    response_url,
                )
            )

        return listener

    app.action(ACTION_APPROVE)(vote_button(True))
    app.action(ACTION_REJECT)(vote_button(False))
