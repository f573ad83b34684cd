"""The typed records of the deletion workflow: requests, their states, audit events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..blobindex import Basis
from .outcomes import Fact, Outcome
from .owners import Approval
from .retention import KeptTag, RetentionRules


class Kind(StrEnum):
    MANIFEST = "manifest"  # the image: its digest, and every tag on it
    TAG = "tag"  # one tag only; the other tags on the image stay
    BLOB = "blob"  # one blob
    BLOBS = "blobs"  # the layers a deleted image left unused, as one request
    PRUNE = "prune"  # a cleanup by retention rules: many images, one approval
    RESTORE = "restore"  # put back what an executed request deleted


class State(StrEnum):
    """A request's life: ``draft`` (previewed, digest pinned) -> ``submitting`` (its
    message being posted) -> ``pending`` (open for votes) -> ``executing`` -> ``done``
    (what it asked for was carried out: deleted, or put back) or ``failed`` (nothing
    was); or ``rejected``, ``expired``, ``cancelled``, ``superseded`` (a newer run of
    its policy asks instead)."""

    DRAFT = "draft"
    SUBMITTING = "submitting"
    PENDING = "pending"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # a newer run of its policy asks instead

    @property
    def is_closed(self) -> bool:
        return self in CLOSED


class AuditAction(StrEnum):
    """What an audit event records."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REFUSED = "refused"  # a vote that did not count
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    EXECUTED = "executed"
    FAILED = "failed"
    UNKNOWN = "unknown"  # the deletion's outcome could not be known yet
    OUTSIDE_DELETION = "outside deletion"  # the registry deleted a manifest the bot did not
    POLICY_CHANGED = "policy changed"  # a cleanup policy added, paused, resumed, removed
    SUPERSEDED = "superseded"  # closed: a newer run of its policy asks instead
    REGISTRY_CHOSEN = "registry chosen"  # a channel's default registry set (/registry use)


# Named sets of states: open for a decision; decided by a person or by time; carried
# out (whatever its outcome); closed.
OPEN = frozenset({State.DRAFT, State.SUBMITTING, State.PENDING})
DECIDED = frozenset({State.REJECTED, State.EXPIRED, State.CANCELLED, State.SUPERSEDED})
CARRIED_OUT = frozenset({State.DONE, State.FAILED})
CLOSED = DECIDED | CARRIED_OUT
# Kinds whose executed deletion can be undone (what they took is kept for UNDO_RETENTION).
UNDOABLE = frozenset({Kind.MANIFEST, Kind.TAG, Kind.PRUNE})


@dataclass(frozen=True, order=True)
class TagRef:
    """A tag of a repository (what a restore points back spans repositories)."""

    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class PlatformChild:
    """A platform manifest of a multi-arch image: it becomes untagged with the image."""

    digest: str
    platform: str  # "linux/arm64/v8", or "platform unknown"


@dataclass(frozen=True)
class DeletionRequest:
    """One request to delete a manifest or a blob, pinned to a digest at preview time."""

    id: str
    kind: Kind
    repository: str
    digest: str
    requester: str
    channel: str
    state: State
    created_at: datetime
    expires_at: datetime
    approvals_required: int
    tag: str | None = None
    reason: str = ""
    siblings: tuple[str, ...] = ()
    size: int | None = None
    platforms: tuple[str, ...] = ()
    closed_by: str | None = None
    closed_at: datetime | None = None
    outcome: Outcome | None = None  # what carrying it out found (so far, while UNKNOWN)
    approvals: tuple[str, ...] = field(default=())
    # The blast radius: an index's platform manifests, signatures and other artifacts
    # referring to the digest, the bytes garbage collection can reclaim, and the blobs
    # concerned (digest, size).
    children: tuple[PlatformChild, ...] = ()
    referrers: tuple[str, ...] = ()
    reclaimable: int | None = None
    blobs: tuple[tuple[str, int | None], ...] = ()
    # What ``reclaimable`` rests on, for a figure drawn from the registry-wide index
    # (None: counted within the repository, as requests made before the index were).
    reclaim_basis: Basis | None = None
    claimed_at: datetime | None = None
    restores: str | None = None  # for a restore: the request whose deletion it undoes
    moved_to: str | None = None  # for a tag put back: where it points now (pinned)
    claim_token: int = 0  # how many times it has been claimed for execution (fencing)
    # A cleanup (PRUNE): the repositories it covers (a name or a glob; ``repository`` is
    # empty: it spans several) and its retention rules (None: stored before they were).
    pattern: str | None = None
    rules: RetentionRules | None = None
    # A restore: the tags it points back at what it puts back.
    restore_tags: tuple[TagRef, ...] = ()
    # What approving it takes, pinned when it was made (its owner's, or the global
    # settings'; None: made before owners, the global approvers and approvals_required).
    approval: Approval | None = None
    # A cleanup over repositories of several owners is one draft per owner, all with
    # the same ``batch`` (requested together, each approved by its own owner).
    batch: str | None = None

    @property
    def undoable(self) -> bool:
        """An executed deletion whose take can be put back (while it is kept)."""
        return self.kind in UNDOABLE and self.state == State.DONE

    @property
    def resumed(self) -> bool:
        """Carried out by a holder that took over from another (which stopped)."""
        return self.claim_token > 1

    @property
    def reference(self) -> str:
        """What it names: ``repo:tag`` when a tag was named, else ``repo@digest`` (a
        cleanup: its pattern). Front ends say what the request does with it."""
        if self.kind == Kind.PRUNE:
            return self.pattern or ""
        if self.tag:
            return f"{self.repository}:{self.tag}"
        return f"{self.repository}@{self.digest}"

    @property
    def tags_removed(self) -> tuple[str, ...]:
        """Every tag the request takes away: the named one, and for a whole image the
        tags sharing its digest."""
        named = (self.tag,) if self.tag else ()
        if self.kind == Kind.TAG:
            return named
        if self.kind != Kind.MANIFEST:
            return ()
        return named + tuple(t for t in self.siblings if t != self.tag)


@dataclass(frozen=True)
class AuditEvent:
    """An append-only record: who did what to which request, and when."""

    id: int
    request_id: str | None
    at: datetime
    actor: str | None
    event: AuditAction
    detail: str = ""
    outcome: Outcome | None = None  # what execution found (executed, failed, unknown)


@dataclass(frozen=True)
class AuditEntry:
    """An audit event to be written in the same transaction as the state change it
    records (the store gives back the ``AuditEvent`` it became)."""

    action: AuditAction
    at: datetime
    actor: str | None = None
    detail: str = ""
    outcome: Outcome | None = None


@dataclass(frozen=True)
class SavedManifest:
    """A manifest kept before its deletion, byte for byte, so it can be put back while
    the registry still has its blobs. ``image`` is the deleted digest it belongs to (an
    index's platforms belong to the index); ``tags`` are the tags that pointed at the
    image; restores go in ``position`` order, platforms before their index."""

    repository: str
    image: str
    digest: str
    media_type: str
    body: bytes
    tags: tuple[str, ...]
    position: int


class ItemState(StrEnum):
    """One image of a cleanup plan: ``planned`` -> ``deleting`` -> ``deleted``,
    ``skipped`` (a check at execution kept it) or ``failed``; ``kept`` images are the
    plan's record of what the rules kept, and are never touched."""

    PLANNED = "planned"
    KEPT = "kept"
    DELETING = "deleting"
    DELETED = "deleted"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class CleanupItem:
    """One image of a cleanup, pinned at preview time: its digest and the tags that
    pointed at it then (to delete; or kept, each with why in ``kept``). ``fact``: what
    its DELETE answered, or why it was skipped or failed."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    state: ItemState
    size: int | None = None
    fact: Fact | None = None
    kept: tuple[KeptTag, ...] = ()


@dataclass(frozen=True)
class CleanupProgress:
    """How far a cleanup has got (for a progress message). ``checking``: the
    repositories whose every tag is being looked up again before anything of them is
    deleted (``tags`` in all)."""

    total: int
    deleted: int = 0
    skipped: int = 0
    failed: int = 0
    elapsed: float = 0.0
    checking: tuple[str, ...] = ()
    tags: int = 0

    @property
    def done(self) -> int:
        return self.deleted + self.skipped + self.failed

    def as_data(self) -> dict[str, object]:
        """The snapshot as JSON-ready data (kept with the request's heartbeat)."""
        return {
            "total": self.total,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "failed": self.failed,
            "elapsed": self.elapsed,
            "checking": list(self.checking),
            "tags": self.tags,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> CleanupProgress:
        return cls(
            int(data["total"]),
            int(data.get("deleted", 0)),
            int(data.get("skipped", 0)),
            int(data.get("failed", 0)),
            float(data.get("elapsed", 0.0)),
            tuple(str(r) for r in data.get("checking", ())),
            int(data.get("tags", 0)),
        )
