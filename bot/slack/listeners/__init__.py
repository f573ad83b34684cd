"""Bolt listeners, grouped by kind (slash commands, block actions, the Home tab, view
submissions, shortcuts, options), and the one error handler for what a listener
raises: it is logged, and the person who asked is told, never left without an answer
(work after ``ack()`` has the same in ``ctx.background``).

Every request's Bolt context carries the bot's (``context["bot"]``): the listeners are
named functions of what Bolt passes, callable directly in tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext

from ..context import BotContext
from ..render.failures import render_internal_error
from . import actions, commands, home, options, shortcuts, views

log = logging.getLogger(__name__)


def register(app: App, ctx: BotContext) -> None:
    def with_bot(context: BoltContext, next: Callable[[], None]) -> None:
        context["bot"] = ctx
        next()

    app.use(with_bot)
    # Bolt tries each listener's matchers in this order until one matches (each try
    # costs): the slash command, then the options a picker asks for at each keystroke,
    # what modals send and the shortcuts, then the buttons (bench: docs/performance.md).
    commands.register(app)
    options.register(app)
    views.register(app)
    shortcuts.register(app)
    actions.register(app)
    home.register(app)

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("a listener failed", exc_info=error)
        response_url = body.get("response_url") if isinstance(body, dict) else None
        if isinstance(response_url, str) and response_url:
            ctx.responder.send(response_url, render_internal_error())
