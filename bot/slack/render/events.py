"""What the channel sees of the registry's own events: pushes (a burst as one message),
outside deletions, alerts for protected tags, and ``/registry activity``."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
)

from ...events import Activity, ActivityKind
from ...registry import human_size
from ..buttons import ACTION_PUT_BACK, PutBack
from .common import (
    Message,
    age,
    code,
    escape,
    fit_lines,
    on_registry,
    section,
    short_digest,
    truncate,
)
from .limits import MAX_SECTION_TEXT


def _who(a: Activity) -> str:
    parts = []
    if a.actor:
        parts.append(f"by {code(a.actor, 60)}")
    if a.user_agent:
        parts.append(f"with {code(a.user_agent.split(' ')[0], 60)}")
    return " ".join(parts)


def push_line(a: Activity) -> str:
    line = f"{code(f'{a.repository}:{a.tag}', 200)} → `{escape(short_digest(a.digest))}`"
    if a.size:
        line += f" ({human_size(a.size)} manifest)"
    if a.previous:
        line += f", *moved* from `{escape(short_digest(a.previous))}`"
    else:
        line += ", new tag"
    who = _who(a)
    return f"{line} {who}".rstrip()


def render_pushes(pushes: list[Activity], registry: str | None = None) -> Message:
    """One message for a burst of pushes (``registry``: its name, when there are more)."""
    repos = sorted({a.repository for a in pushes})
    head = (
        f":package: {len(pushes)} tag{'s' if len(pushes) != 1 else ''} pushed to "
        + ", ".join(code(r, 100) for r in repos[:5])
        + (f" and {len(repos) - 5} more" if len(repos) > 5 else "")
        + on_registry(registry)
    )
    return Message(
        text=f"{len(pushes)} tag(s) pushed: "
        + ", ".join(f"{a.repository}:{a.tag}" for a in pushes[:10]),
        blocks=[section(fit_lines(head, [push_line(a) for a in pushes], MAX_SECTION_TEXT))],
    )


def outside_text(a: Activity) -> str:
    tags = f" (tags {escape(a.tag)})" if a.tag else " (no tag pointed at it)"
    return (
        f"{code(f'{a.repository}@{a.digest}', 300)}{tags} was deleted in the registry, "
        f"not through registry-bot {_who(a)}".rstrip()
        + ". It went through no approval."
    )


def render_outside_deletion(a: Activity, registry: str | None = None) -> Message:
    return Message(
        text=f"Outside deletion: {a.repository}@{a.digest}",
        blocks=[
            section(f":rotating_light: *Outside deletion*{on_registry(registry)} {outside_text(a)}")
        ],
    )


def put_back_value(a: Activity, registry: str | None = None) -> str:
    """What "Restore previous" carries."""
    return PutBack(a.repository, a.tag or "", a.previous or "", a.digest, registry).encode()


def _put_back_button(a: Activity, registry: str | None) -> ButtonElement:
    return ButtonElement(
        text="Restore previous",
        action_id=ACTION_PUT_BACK,
        value=put_back_value(a, registry),
        confirm=ConfirmObject(
            title="Request putting it back?",
            text=truncate(
                f"This asks the approvers to point {a.repository}:{a.tag} back at {a.previous}.",
                300,
            ),
            confirm="Request",
            deny="Back",
        ),
    )


def render_protected_alert(a: Activity, registry: str | None = None) -> Message:
    """A protected tag moved to a new image (with "Restore previous"), or deleted from
    outside (``registry``: its name, when there are more)."""
    if a.kind == ActivityKind.PUSH:
        what = (
            f"The protected tag {code(f'{a.repository}:{a.tag}', 200)} was moved from "
            f"`{escape(a.previous or '')}` to `{escape(a.digest)}` {_who(a)}."
        )
    else:
        what = (
            f"The protected tag(s) {escape(a.tag or '')} of {code(a.repository, 200)} were "
            f"deleted with `{escape(a.digest)}`, outside registry-bot {_who(a)}."
        )
    changed = f":warning: *Protected tag changed{on_registry(registry)}.* {what}"
    blocks: list[Block] = [section(changed)]
    if a.kind == ActivityKind.PUSH and a.previous and a.tag:
        blocks.append(ActionsBlock(elements=[_put_back_button(a, registry)]))
    return Message(
        text=f"Protected tag changed in {a.repository}",
        blocks=[
            *blocks,
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="PROTECTED_TAGS names tags that may not be deleted through the bot; "
                        "this change was made directly in the registry. Use /registry restore "
                        "with a deletion's ID to put an image back while its blobs remain."
                    )
                ]
            ),
        ],
    )


def render_activity(entries: list[Activity], repository: str | None, now: datetime) -> Message:
    where = f" in {repository}" if repository else ""
    if not entries:
        text = (
            f"No activity recorded{where}. The bot records the registry's events once the "
            "registry posts them to /registry/events (see the README)."
        )
        return Message(text=text, blocks=[section(escape(text))])
    lines = []
    for a in entries:
        when = age(a.at, now)
        if a.kind == ActivityKind.PUSH:
            lines.append(f"{when}: pushed {push_line(a)}")
        elif a.kind == ActivityKind.OUTSIDE_DELETE:
            lines.append(f"{when}: :rotating_light: outside deletion: {outside_text(a)}")
        else:
            tags = f" (tags {escape(a.tag)})" if a.tag else ""
            lines.append(
                f"{when}: deleted through registry-bot: {code(f'{a.repository}@{a.digest}', 200)}"
                f"{tags}"
            )
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"Registry activity{where}", 150)),
        section(fit_lines("", lines, MAX_SECTION_TEXT)),
    ]
    return Message(text=f"Latest registry activity{where}", blocks=blocks)
