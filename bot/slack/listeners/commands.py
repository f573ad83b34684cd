"""The ``/registry`` slash command. ``ack()`` comes first, always; registry work runs in
the background afterwards, and its result goes to the command's ``response_url``."""

from __future__ import annotations

from slack_bolt import Ack, App

from ..browse_replies import run_browse
from ..command_table import (
    Audit,
    Delete,
    Help,
    ListRepos,
    ListTags,
    Pending,
    Prune,
    Restore,
    Show,
    ShowActivity,
    UsageError,
    parse_command,
)
from ..context import BotContext
from ..deleting import run_delete_command
from ..render import Message, render_help, render_usage_error
from ..render.events import render_activity

COMMAND = "/registry"


def _ack_with(ack: Ack, message: Message) -> None:
    ack(response_type="ephemeral", **message.to_dict())


def run_activity(ctx: BotContext, command: ShowActivity) -> Message:
    entries = ctx.events.store.recent_activity(command.repository) if ctx.events else []
    return render_activity(entries, command.repository, ctx.now())


def _reply(
    ctx: BotContext,
    parsed: ListRepos | ListTags | Show | Delete | Prune | Restore | ShowActivity | Pending | Audit,
    command: dict[str, str],
) -> None:
    if isinstance(parsed, ShowActivity):
        message = run_activity(ctx, parsed)
    elif isinstance(parsed, Delete | Prune | Restore | Pending | Audit):
        message = run_delete_command(
            ctx, parsed, command["user_id"], command["channel_id"], command["response_url"]
        )
    else:
        message = run_browse(ctx, parsed)
    ctx.responder.send(command["response_url"], message)


def register(app: App, ctx: BotContext) -> None:
    @app.command(COMMAND)
    def on_registry(ack: Ack, command: dict[str, str]) -> None:
        text = command.get("text") or ""
        try:
            parsed = parse_command(text)
        except UsageError as exc:
            _ack_with(ack, render_usage_error(exc.message, exc.usage))
            return
        if isinstance(parsed, Help):
            _ack_with(ack, render_help(ctx.registry_url))
            return
        ack()
        work = parsed  # narrowed: no Help from here on
        ctx.background(
            lambda: _reply(ctx, work, command),
            f"/registry {text!r}",
            response_url=command["response_url"],
        )
