"""Formatting shared by every renderer: mrkdwn escaping, truncation, sizes, dates, and
the ``Message`` type every renderer returns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from ...blobindex import Basis
from ...deletions import DeletionRequest, Kind
from ...events import PullStats, TagRecord
from ...registry import human_size
from .limits import MAX_BLOCKS, MAX_SECTION_TEXT, BlockKitLimitError, own_problems

ELLIPSIS = "…"


def escape(text: object) -> str:
    """Escape untrusted text for mrkdwn: ``&``, ``<`` and ``>`` (so ``<!channel>`` or a
    disguised link stays plain text)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def section(text: str) -> SectionBlock:
    """A mrkdwn section of ``text`` (already escaped), cut to the section limit."""
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, MAX_SECTION_TEXT)))


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis."""
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def fit_lines(head: str, lines: list[str], limit: int, *, max_lines: int | None = None) -> str:
    """``head`` then as many ``lines`` as fit in ``limit`` characters (and at most
    ``max_lines``), ending with "… and N more" when some were left out."""
    text = head
    budget = limit - 40  # room for the "… and N more" line
    shown = 0
    for line in lines:
        if max_lines is not None and shown >= max_lines:
            break
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) > budget:
            break
        text = candidate
        shown += 1
    if shown < len(lines):
        text += f"\n… and {len(lines) - shown} more"
    return text


def code(text: object, limit: int = 200) -> str:
    """Untrusted text as inline code: escaped, backticks neutralised, truncated."""
    raw = truncate(str(text).replace("`", "'").replace("\n", " "), limit)
    return f"`{escape(raw)}`"


_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_GROUP_RE = re.compile(r"^S[A-Z0-9]{2,}$")


def mention(slack_id: str | None) -> str:
    """``<@U…>`` for a user ID, ``<!subteam^S…>`` for a user group; anything that is not
    a well-formed ID is shown escaped, never as markup."""
    if not slack_id:
        return "someone"
    if _USER_RE.match(slack_id):
        return f"<@{slack_id}>"
    if _GROUP_RE.match(slack_id):
        return f"<!subteam^{slack_id}>"
    return escape(slack_id)


def slack_date(when: datetime) -> str:
    """A date Slack shows in the reader's time zone, with a UTC fallback."""
    fallback = f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def short_digest(digest: str) -> str:
    """The first 12 hex digits of a digest; anything else in it is dropped, so the result
    is safe in mrkdwn whatever the registry sent."""
    hexpart = digest.partition(":")[2] or digest
    return "".join(ch for ch in hexpart[:64] if ch in "0123456789abcdef")[:12] or "?"


def age(when: datetime, now: datetime) -> str:
    """``3 days ago``, ``just now``, ``in the future``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (now - when).total_seconds()
    if seconds < -60:
        return "in the future"
    if seconds < 60:
        return "just now"
    for unit, length in (
        ("year", 365 * 86400),
        ("month", 30 * 86400),
        ("day", 86400),
        ("hour", 3600),
        ("minute", 60),
    ):
        if seconds >= length:
            n = int(seconds // length)
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"


def date_with_age(when: datetime | None, now: datetime) -> str:
    """``2024-05-01 (3 days ago)``, or ``created unknown``."""
    if when is None:
        return "created unknown"
    return f"{when.astimezone(UTC):%Y-%m-%d} ({age(when, now)})"


@dataclass
class Message:
    """A Slack message: plain ``text`` fallback (notifications, screen readers) and blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The payload, validated by slack_sdk (``block.to_dict()``) and by the checks it
        lacks.

        ``text`` is raw text; Slack parses the fallback too (a ``<!channel>`` there would
        notify), so it is escaped here.
        """
        payload = {
            "text": escape(truncate(self.text, 3000)),
            "blocks": [block.to_dict() for block in self.blocks],
        }
        problems = own_problems(payload)
        if problems:
            raise BlockKitLimitError(problems)
        return payload


@dataclass(frozen=True)
class Usage:
    """What the registry's events told of a repository, for listings: each tag's last
    push and each image's last pull (empty when the bot records no events)."""

    pushes: dict[str, TagRecord] = field(default_factory=dict)
    pulls: dict[str, PullStats] = field(default_factory=dict)
    unavailable: bool = False  # the records could not be read (the database is down)

    @property
    def note(self) -> str | None:
        """What a listing says when the records could not be read."""
        if not self.unavailable:
            return None
        return "push and pull times not shown: the bot's database can't be read right now"

    def pushed(self, tag: str | None, digest: str, now: datetime) -> str | None:
        """``pushed 3 days ago by ci-bot``, when this tag's push of this image is known."""
        record = self.pushes.get(tag or "")
        if record is None or record.digest != digest or record.pushed_at is None:
            return None
        who = f" by {code(record.actor, 60)}" if record.actor else ""
        return f"pushed {age(record.pushed_at, now)}{who}"

    def pulled(self, digest: str, now: datetime) -> str | None:
        stats = self.pulls.get(digest)
        if stats is None:
            return None
        return f"last pulled {age(stats.last_pulled_at, now)} ({stats.count} pulls recorded)"


def target_text(request: DeletionRequest) -> str:
    """What a request acts on, as people read it: ``repo:tag`` or ``repo@digest``; a
    cleanup of a pattern; N unused blobs; what a restore puts back."""
    if request.kind == Kind.RESTORE and request.tag:
        return f"{request.repository}:{request.tag} back to {request.digest}"
    if request.kind == Kind.RESTORE:
        where = f" from {request.repository}" if request.repository else ""
        return f"what request {request.restores} deleted{where}"
    if request.kind == Kind.PRUNE:
        return f"a cleanup of {request.pattern}"
    if request.kind == Kind.BLOBS:
        return f"{request.repository}: {len(request.blobs)} unused blobs"
    return request.reference


def freed_text(amount: int | None, basis: Basis | None) -> str:
    """How much garbage collection gives back ("" for nothing), with what the figure
    rests on: certain, as of when the other repositories were read, or at most (part of
    the registry not read). Plain text: no mrkdwn of its own beyond backticks."""
    if not amount:
        return ""
    size = human_size(amount)
    if basis is None:  # counted within its repository (requests made before the index)
        return f"about {size} (blobs no other tag of its repository uses)"
    if basis.catalog_unread:
        return (
            f"at most {size} (the registry's list of repositories could not all be read, "
            "and a repository not read may use some of these blobs)"
        )
    if basis.unread:
        n = basis.unread
        which = "repository" if n == 1 else "repositories"
        return (
            f"at most {size} ({n} {which} not read since {'its' if n == 1 else 'their'} last "
            "change may use some of these blobs; `/registry storage` reads every repository)"
        )
    if basis.as_of is not None:
        read = f"{basis.as_of:%Y-%m-%d %H:%M} UTC"
        return f"{size} (blobs no image in any repository uses, as read by {read})"
    return f"{size} (blobs no image in any repository uses)"


def on_registry(registry: str | None) -> str:
    """ " on *NAME*", when more than one registry is served (``registry`` given)."""
    return f" on *{escape(registry)}*" if registry else ""


def naming_registry(message: Message, registry: str | None) -> Message:
    """``message`` naming the registry it is about, when more than one is served
    (``registry`` given): in its text, and in a line after its first block (unless the
    message has no room left for one)."""
    if not registry:
        return message
    blocks = message.blocks
    if len(blocks) < MAX_BLOCKS:
        blocks = [*blocks[:1], *registry_note(registry), *blocks[1:]]
    return Message(text=f"[{registry}] {message.text}", blocks=blocks)


def registry_note(registry: str | None) -> list[Block]:
    """A line naming the registry (of a message, a modal), when more than one is served."""
    if not registry:
        return []
    return [ContextBlock(elements=[MarkdownTextObject(text=f"Registry *{escape(registry)}*")])]
