"""Shortcuts, acknowledged first: the message shortcut **Inspect images** (the message's
text, and the text of its blocks, handed over as a job answered privately at the
shortcut's ``response_url``), and the global shortcut **Clean up images** (the cleanup
builder opens on its trigger)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from slack_bolt import Ack, App, BoltContext

from ..jobs import BuilderOpen, Inspect, Job, JobKind
from .actions import bot_of

log = logging.getLogger(__name__)
Body = dict[str, Any]
CALLBACK_INSPECT = "inspect_images"
CALLBACK_CLEANUP = "cleanup_images"
MAX_TEXT = 40_000  # characters of a message handed over (the rest is not looked through)


def _texts(node: object, depth: int = 0) -> Iterator[str]:
    """Every ``text`` string in a message's blocks and attachments (bounded depth)."""
    if depth > 12:
        return
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item, depth + 1)


def message_text(message: Body) -> str:
    """All the text a message shows: its ``text``, then its blocks' and attachments'."""
    parts = [str(message.get("text") or "")]
    parts += _texts([message.get("blocks") or [], message.get("attachments") or []])
    return "\n".join(parts)[:MAX_TEXT]


def on_inspect_images(ack: Ack, shortcut: Body, context: BoltContext) -> None:
    """Inspect images, on a message."""
    ack()
    response_url = str(shortcut.get("response_url") or "")
    user = str((shortcut.get("user") or {}).get("id") or "")
    if not response_url:
        log.warning("ignored an Inspect images shortcut without a response_url")
        return
    text = message_text(shortcut.get("message") or {})
    job = Job(JobKind.INSPECT, Inspect(text, user, response_url), "inspect images", response_url)
    bot_of(context).background(job)


def on_cleanup_images(ack: Ack, shortcut: Body, context: BoltContext) -> None:
    """Clean up images (a global shortcut): the cleanup builder opens."""
    ack()
    trigger_id = str(shortcut.get("trigger_id") or "")[:200]
    user = str((shortcut.get("user") or {}).get("id") or "")
    if not trigger_id or not user:
        log.warning("ignored a Clean up images shortcut without a trigger or a user")
        return
    job = Job(JobKind.OPEN_BUILDER, BuilderOpen(trigger_id, user), "cleanup builder")
    bot_of(context).background(job)


def register(app: App) -> None:
    app.shortcut(CALLBACK_INSPECT)(on_inspect_images)
    app.shortcut(CALLBACK_CLEANUP)(on_cleanup_images)
