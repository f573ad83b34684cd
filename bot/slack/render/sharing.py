"""Share in channel, as pure functions: the button a private reply offers (a listing,
``show``, ``activity``), and the copy posted to the channel (naming who shared it,
without the buttons that only work in the private reply)."""

from __future__ import annotations

import re
from dataclasses import replace

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
)

from ..buttons import ACTION_SHARE, ShareRef
from .common import Message, mention, section
from .limits import MAX_BLOCKS


def with_share(message: Message, ref: ShareRef) -> Message:
    """``message`` with Share in channel (when a block is left for it)."""
    if len(message.blocks) >= MAX_BLOCKS:
        return message
    button = ButtonElement(text="Share in channel", action_id=ACTION_SHARE, value=ref.encode())
    blocks = list(message.blocks)
    for i in range(len(blocks) - 1, -1, -1):  # beside Prev/Next, when the reply has them
        last = blocks[i]
        if isinstance(last, ActionsBlock) and len(last.elements) < 25:
            elements: list = [*last.elements, button]
            blocks[i] = ActionsBlock(block_id=last.block_id, elements=elements)
            return replace(message, blocks=blocks)
    return replace(message, blocks=[*blocks, ActionsBlock(elements=[button])])


def shared_copy(message: Message, user: str) -> Message:
    """What the channel sees: the reply, naming who shared it, without its buttons."""
    kept: list[Block] = [b for b in message.blocks if not isinstance(b, ActionsBlock)]
    note = ContextBlock(elements=[MarkdownTextObject(text=f"Shared by {mention(user)}.")])
    return replace(message, blocks=[note, *kept][:MAX_BLOCKS])


def _channel(channel: str) -> str:
    """A channel mention for an ID Slack sent (anything else: said without a link)."""
    return f"<#{channel}>" if re.fullmatch(r"[CGD][A-Z0-9]{2,30}", channel) else "the channel"


def render_shared(channel: str, what: str = "it") -> Message:
    """The note that replaces a private reply once it is shared."""
    text = f"Shared {what} in {_channel(channel)}."
    return Message(text=f"Shared {what} in the channel.", blocks=[section(text)])
