"""What a ``/registry`` command answers after its acknowledgement: the command is parsed
again from its fields (parsing is cheap, and the acknowledging process already refused
what doesn't parse), its work done, and the reply sent to its ``response_url``."""

from __future__ import annotations

from .browse_replies import run_browse
from .command_table import (
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
from .context import BotContext
from .deleting import run_delete_command
from .render import Message, render_help, render_usage_error
from .render.events import render_activity


def run_activity(ctx: BotContext, command: ShowActivity) -> Message:
    entries = ctx.events.store.recent_activity(command.repository) if ctx.events else []
    return render_activity(entries, command.repository, ctx.now())


def reply(ctx: BotContext, command: dict[str, str]) -> None:
    """Do the work of the command in ``command`` (Slack's fields) and send the reply."""
    try:
        parsed = parse_command(command.get("text") or "")
    except UsageError as exc:  # refused with the acknowledgement already; said again
        message = render_usage_error(exc.message, exc.usage)
    else:
        message = _answer(ctx, parsed, command)
    ctx.responder.send(command["response_url"], message)


def _answer(
    ctx: BotContext,
    parsed: Help
    | ListRepos
    | ListTags
    | Show
    | Delete
    | Prune
    | Restore
    | ShowActivity
    | Pending
    | Audit,
    command: dict[str, str],
) -> Message:
    if isinstance(parsed, Help):
        return render_help(ctx.registry_url)
    if isinstance(parsed, ShowActivity):
        return run_activity(ctx, parsed)
    if isinstance(parsed, Delete | Prune | Restore | Pending | Audit):
        return run_delete_command(
            ctx, parsed, command["user_id"], command["channel_id"], command["response_url"]
        )
    return run_browse(ctx, parsed)
