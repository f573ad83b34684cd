"""The ``/registry`` slash command. ``ack()`` comes first, always: a usage error or the
help is the acknowledgement itself; anything else is acknowledged at once and handed
over as a job (``command_replies`` does it, and answers at the command's
``response_url``)."""

from __future__ import annotations

from slack_bolt import Ack, App

from ..command_table import Help, UsageError, parse_command
from ..context import BotContext
from ..jobs import Job, JobKind
from ..render import Message, render_help, render_usage_error

COMMAND = "/registry"


def _ack_with(ack: Ack, message: Message) -> None:
    ack(response_type="ephemeral", **message.to_dict())


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
        fields = {k: v for k, v in command.items() if isinstance(v, str)}
        ctx.background(
            Job(JobKind.COMMAND, (fields,), f"/registry {text!r}", command["response_url"])
        )
