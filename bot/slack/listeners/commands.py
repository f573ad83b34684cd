"""The ``/registry`` slash command. ``ack()`` comes first, always: a usage error or the
help is the acknowledgement itself; ``prune`` or ``policy add`` alone opens the builder
and ``delete`` or ``untag`` alone the deletion form (modals, on the command's trigger,
opened by a job of their own); anything else is acknowledged at once and handed over as a
job (``command_replies`` does it, and answers at the command's ``response_url``)."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from ..command_table import Help, UsageError, parse_command
from ..jobs import BuilderOpen, Command, FormOpen, Job, JobKind
from ..registry_choice import named_in
from ..render import Message, render_help, render_usage_error
from .actions import bot_of

COMMAND = "/registry"
# The commands that, alone, open the builder: for a cleanup (None), or a new policy ("").
BUILDERS: dict[str, str | None] = {"prune": None, "policy add": ""}
# The commands that, alone, open the deletion form (True: only the tag goes, ticked).
FORMS = {"delete": False, "untag": True}


def _ack_with(ack: Ack, message: Message) -> None:
    ack(response_type="ephemeral", **message.to_dict())


def _form_opening(words: str, command: dict[str, str], registry: str | None) -> Job | None:
    """The job opening the builder or the deletion form, when ``words`` alone ask for
    one (None: a command to parse), for ``registry`` (None: the channel's)."""
    trigger = str(command.get("trigger_id") or "")[:200]
    if not trigger or (words not in BUILDERS and words not in FORMS):
        return None
    user, channel = command.get("user_id", ""), command.get("channel_id", "")
    url = command.get("response_url", "")
    if words in FORMS:
        form = FormOpen(trigger, user, channel, url, untag=FORMS[words])
        return Job(JobKind.OPEN_FORM, form, "deletion form", url, registry)
    builder = BuilderOpen(trigger, user, channel, url, policy=BUILDERS[words])
    return Job(JobKind.OPEN_BUILDER, builder, "cleanup builder", url, registry)


def on_registry(ack: Ack, command: dict[str, str], context: BoltContext) -> None:
    """``/registry ...``: usage errors and the help at once; the rest as a job."""
    ctx = bot_of(context)
    text = command.get("text") or ""
    try:
        alone, named = named_in(text, ctx.registries)
        registry = named.name if named is not None else None
        opening = _form_opening(" ".join(alone.lower().split()), command, registry)
        if opening is not None:  # a modal: opened by a job of its own, on the trigger
            ack()
            ctx.background(opening)
            return
        parsed = parse_command(alone)
    except UsageError as exc:
        _ack_with(ack, render_usage_error(exc.message, exc.usage))
        return
    if isinstance(parsed, Help):
        _ack_with(ack, render_help(ctx.registry_url, ctx.served))
        return
    ack()
    fields = {k: v for k, v in command.items() if isinstance(v, str)}
    job = Job(JobKind.COMMAND, Command(fields), f"/registry {text!r}", command["response_url"])
    ctx.background(job)


def register(app: App) -> None:
    app.command(COMMAND)(on_registry)
