"""Replies for failures: a registry error (what failed, where, what to do) or a usage
error (what was wrong with the command, and the usage line)."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from ...registry import RegistryError
from .common import Message, escape, truncate
from .help import usage_lines
from .hints import explain


def render_error(error: RegistryError, doing: str) -> Message:
    """``doing`` is what the bot was doing ("listing tags of busybox"), already plain."""
    detail = truncate(explain(error), 2500)
    return Message(
        text=f"Could not finish {doing}: {detail}",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f":warning: *Could not finish {escape(truncate(doing, 300))}.*\n"
                    f"{escape(detail)}"
                )
            )
        ],
    )


def render_usage_error(message: str, usage: str | None) -> Message:
    """A bad command: say what is wrong and how to type it."""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":warning: {escape(truncate(message, 1500))}"
                + (f"\nUsage: `{escape(usage)}`" if usage else "")
            )
        )
    ]
    if not usage:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=usage_lines())))
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text="`/registry help` shows every command.")])
    )
    return Message(text=f"{message} Try /registry help.", blocks=blocks)


def render_database_unreachable() -> Message:
    """The bot's own database failed while answering: nothing was decided."""
    text = (
        ":warning: registry-bot's database can't be reached right now, so nothing was "
        "done or recorded. Try again in a moment; if it keeps happening, tell the bot's "
        "operators (DATABASE_URL)."
    )
    return Message(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))])


def render_internal_error() -> Message:
    """A bug on our side: no traceback in Slack, just what happened and what to do."""
    return Message(
        text="registry-bot hit an internal error; it is in the bot's log.",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=":warning: registry-bot hit an internal error while answering. "
                    "It is written to the bot's log; please try again, and tell the bot's "
                    "operators if it keeps happening."
                )
            )
        ],
    )
