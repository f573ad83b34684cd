"""Bolt listeners, grouped by kind (slash commands, block actions), and the one error
handler for what a listener raises: it is logged, and the person who asked is told,
never left without an answer (work after ``ack()`` has the same in ``ctx.background``).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from ..context import BotContext
from ..render.failures import render_internal_error
from . import actions, commands

log = logging.getLogger(__name__)


def register(app: App, ctx: BotContext) -> None:
    commands.register(app, ctx)
    actions.register(app, ctx)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("a listener failed", exc_info=error)
        response_url = body.get("response_url") if isinstance(body, dict) else None
        if isinstance(response_url, str) and response_url:
            ctx.responder.send(response_url, render_internal_error())
