"""Buttons. Prev/Next on listings edit the listing message in place; the deletion
buttons (request, cancel, approve, reject) carry only a request ID. ``ack()`` first; the
work runs in the background. Who clicked comes from the verified request only."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from .. import deleting
from ..browse_replies import run_page
from ..context import BotContext
from ..page_buttons import ACTION_NEXT, ACTION_PREV, PageRef
from ..render.deletions import (
    ACTION_APPROVE,
    ACTION_CANCEL,
    ACTION_CLEANUP,
    ACTION_REJECT,
    ACTION_SUBMIT,
    ACTION_SUBMIT_UNTAG,
    ACTION_UNDO,
)
from ..render.events import ACTION_PUT_BACK

log = logging.getLogger(__name__)


def _replace(ctx: BotContext, ref: PageRef, response_url: str) -> None:
    ctx.responder.send(response_url, run_page(ctx, ref), replace_original=True)


def register(app: App, ctx: BotContext) -> None:
    @app.action(ACTION_PREV)
    @app.action(ACTION_NEXT)
    def on_page(ack: Ack, body: dict, action: dict) -> None:
        ack()
        try:
            ref = PageRef.decode(action.get("value") or "")
        except ValueError:
            log.warning("ignored a page button with a malformed value")
            return
        response_url = body["response_url"]
        ctx.background(
            lambda: _replace(ctx, ref, response_url),
            f"paging {ref.kind}",
            response_url=response_url,
        )

    def deletion_button(work, name: str):
        def listener(ack: Ack, body: dict, action: dict) -> None:
            ack()
            request_id = (action.get("value") or "")[:64]
            user = body["user"]["id"]
            response_url = body["response_url"]
            ctx.background(
                lambda: work(ctx, request_id, user, response_url),
                f"{name} {request_id}",
                response_url=response_url,
            )

        return listener

    app.action(ACTION_SUBMIT)(deletion_button(deleting.submit, "submit"))
    app.action(ACTION_SUBMIT_UNTAG)(
        deletion_button(
            lambda c, r, u, url: deleting.submit(c, r, u, url, as_untag=True), "submit untag"
        )
    )

    def follow_up_button(work, name: str, limit: int = 64):
        """A button that opens a new request (from an executed deletion, or an alert);
        its value is at most ``limit`` characters (Slack's own cap is 2,000)."""

        def listener(ack: Ack, body: dict, action: dict) -> None:
            ack()
            value = (action.get("value") or "")[:limit]
            user, response_url = body["user"]["id"], body["response_url"]
            channel = (body.get("channel") or {}).get("id") or ""
            ctx.background(
                lambda: work(ctx, value, user, response_url, channel),
                f"{name} {value[:64]}",
                response_url=response_url,
            )

        return listener

    app.action(ACTION_CLEANUP)(follow_up_button(deleting.cleanup, "cleanup after"))
    app.action(ACTION_UNDO)(follow_up_button(deleting.undo, "undo"))
    app.action(ACTION_PUT_BACK)(follow_up_button(deleting.put_back, "restore previous", limit=2000))

    app.action(ACTION_CANCEL)(deletion_button(deleting.cancel_preview, "cancel"))

    def vote_button(approve: bool):
        def listener(ack: Ack, body: dict, action: dict) -> None:
            ack()
            request_id = (action.get("value") or "")[:64]
            user, response_url = body["user"]["id"], body["response_url"]
            container = body.get("container") or {}
            clicked = (str(container.get("channel_id")), str(container.get("message_ts")))
            ctx.background(
                lambda: deleting.vote(ctx, request_id, user, approve, response_url, clicked),
                f"{'approve' if approve else 'reject'} {request_id}",
                response_url=response_url,
            )

        return listener

    app.action(ACTION_APPROVE)(vote_button(True))
    app.action(ACTION_REJECT)(vote_button(False))
