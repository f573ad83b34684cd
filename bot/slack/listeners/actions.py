"""Buttons: Prev/Next on listings edit the listing message in place. ``ack()`` first;
the page is fetched in the background."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from ..browsing import run_page
from ..context import BotContext
from ..paging import ACTION_NEXT, ACTION_PREV, PageRef
from ..render.errors import render_internal_error

log = logging.getLogger(__name__)


def _replace(ctx: BotContext, ref: PageRef, response_url: str) -> None:
    try:
        message = run_page(ctx, ref)
    except Exception:
        log.exception("paging %s failed", ref.kind)
        message = render_internal_error()
    ctx.responder.send(response_url, message, replace_original=True)


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
        ctx.background(lambda: _replace(ctx, ref, response_url), f"paging {ref.kind}")
