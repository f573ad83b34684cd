"""The ``/registry`` slash command. ``ack()`` comes first, always: a usage error or the
help is the acknowledgement itself; ``prune`` or ``policy add`` alone opens the builder
(a modal, on the command's trigger); anything else is acknowledged at once and handed over as a
job (``command_replies`` does it, and answers at the command's ``response_url``)."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from ..command_table import Help, UsageError, parse_command
from ..jobs import BuilderOpen, Command, Job, JobKind
from ..render import Message, render_help, render_usage_error
from .actions import bot_of

COMMAND = "/registry"
# The commands that, alone, open the builder: for a cleanup (None), or a new policy ("").
BUILDERS: dict[str, str | None] = {"prune": None, "policy add": ""}


def _ack_with(ack: Ack, message: Message) -> None:
    ack(response_type="ephemeral", **message.to_dict())


def on_registry(ack: Ack, command: dict[str, str], context: BoltContext) -> None:
    """``/registry ...``: usage errors and the help at once; the rest as a job."""
    ctx = bot_of(context)
    text = command.get("text") or ""
    words = " ".join(text.lower().split())
    if words in BUILDERS and command.get("trigger_id"):  # the builder: a cleanup or a policy
        ack()
        opening = BuilderOpen(
            str(command["trigger_id"])[:200],
            command.get("user_id", ""),
            command.get("channel_id", ""),
            command.get("response_url", ""),
            policy=BUILDERS[words],
        )
        ctx.background(Job(JobKind.OPEN_BUILDER, opening, "cleanup builder", opening.response_url))
        return
    try:
        parsed = parse_command(text)
    except UsageError as exc:
        _ack_with(ack, render_usage_error(exc.message, exc.usage))
        return
    if isinstance(parsed, Help):
        _ack_with(ack, render_help(ctx.registry_url))
        return
    ack()
    fields = {k: v for k, v in command.items() if isinstance(v, str)}
    job = Job(JobKind.COMMAND, Command(fields), f"/registry {text!r}", command["response_url"])
    ctx.background(job)


def register(app: App) -> None:
    app.command(COMMAND)(on_registry)
