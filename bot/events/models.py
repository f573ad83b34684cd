"""The typed records of the event feed: one event as the registry sent it, and what the
bot keeps from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventAction(StrEnum):
    PUSH = "push"
    PULL = "pull"
    MOUNT = "mount"
    DELETE = "delete"


@dataclass(frozen=True)
class RegistryEvent:
    """One event: what happened to which manifest or blob, when, by whom, from where."""

    id: str
    at: datetime
    action: EventAction
    repository: str
    digest: str | None = None
    tag: str | None = None
    media_type: str = ""
    size: int | None = None
    actor: str | None = None
    user_agent: str = ""

    @property
    def is_blob(self) -> bool:
        """Blob pushes and pulls come as events of their own; a manifest's media type
        is a manifest's."""
        return (
            self.media_type in ("application/octet-stream", "")
            and self.tag is None
            and (self.action != EventAction.DELETE)
        )


class ActivityKind(StrEnum):
    PUSH = "push"  # a tag pushed (new, or moved to another digest), or a manifest by digest
    DELETE = "delete"  # a manifest deleted through the bot
    OUTSIDE_DELETE = "outside delete"  # a manifest deleted that no request of the bot explains


@dataclass(frozen=True)
class Activity:
    """One line of the activity log."""

    at: datetime
    kind: ActivityKind
    repository: str
    digest: str
    tag: str | None = None
    previous: str | None = None  # the digest a pushed tag pointed at before
    actor: str | None = None
    user_agent: str = ""
    size: int | None = None

    @property
    def may_leave_untagged(self) -> str | None:
        """The manifest this push may have left without a tag: the one its tag moved off,
        or, pushed by digest, the manifest itself (None: it left none)."""
        if self.kind != ActivityKind.PUSH:
            return None
        return self.previous if self.tag else self.digest


@dataclass(frozen=True)
class TagRecord:
    """What the feed knows of a tag: where it points, and who pushed it when (None: the
    event's time could not be believed)."""

    repository: str
    tag: str
    digest: str
    pushed_at: datetime | None
    actor: str | None = None
    user_agent: str = ""


@dataclass(frozen=True)
class PullStats:
    """A digest's pulls, the bot's own excluded."""

    repository: str
    digest: str
    last_pulled_at: datetime
    count: int
