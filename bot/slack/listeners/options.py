"""Options for the pickers (``external_select``), answered in the acknowledgement from
the names the bot keeps in memory (``ctx.names``): never a request to the registry
while Slack waits (about 3 s), at most 100 options."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from ...registry import Found
from ..buttons import ACTION_PICK_REPOSITORY
from ..render.pickers import name_options
from .actions import bot_of

Body = dict[str, Any]
MAX_QUERY = 200


def on_repository_options(ack: Ack, payload: Body, context: BoltContext) -> None:
    """The repository picker: the names matching what was typed (a glob offered too)."""
    query = str(payload.get("value") or "")[:MAX_QUERY]
    names = bot_of(context).names
    found = names.repositories(query) if names is not None else Found([], loading=True)
    ack(options=name_options(found, query))


def register(app: App) -> None:
    app.options(ACTION_PICK_REPOSITORY)(on_repository_options)
