"""What the deletion workflow answers: refusals (a request that can't be made or voted
on), an execution the database interrupted, the previews a request starts from, and
what a click (or a recovery) did."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..registry import Image
from .models import AuditEvent, CleanupProgress, DeletionRequest, Kind
from .retention import RepoPlan, RetentionRules


class DeletionRefused(Exception):
    """A deletion that cannot be requested or voted on; the message says why and what
    to do."""


class ExecutionInterrupted(Exception):
    """The database failed while a request was being carried out: the work stopped
    where it was (nothing more is sent to the registry), and the request stays claimed
    until the lease runs out; then it is resumed from the database, once that answers."""

    def __init__(self, request_id: str, kind: Kind) -> None:
        super().__init__(f"the database failed while request {request_id} was carried out")
        self.request_id = request_id
        self.kind = kind


class NoApprovers(DeletionRefused):
    """No approver is configured, so nothing can be deleted."""

    def __init__(self) -> None:
        super().__init__(
            "Deletions need approvers, and none are configured, so nothing can be deleted."
        )


@dataclass(frozen=True)
class Preview:
    """A draft request with its pinned digest, and the image it would delete."""

    request: DeletionRequest
    image: Image | None = None


@dataclass(frozen=True)
class CleanupPreview:
    """A draft cleanup request, the plan of each repository, and what garbage
    collection would reclaim after it (per repository)."""

    request: DeletionRequest
    rules: RetentionRules
    plans: list[RepoPlan]
    reclaimable: dict[str, int]
    unverified: int = 0  # tags not looked up: push events or recent lookups said where

    @property
    def images(self) -> int:
        return sum(len(p.delete) for p in self.plans)

    @property
    def tags(self) -> int:
        return sum(p.tags_deleted for p in self.plans)


@dataclass(frozen=True)
class Running:
    """A request being carried out, and how far it has got (its last heartbeat's)."""

    request: DeletionRequest
    progress: CleanupProgress


class VoteOutcome(StrEnum):
    """What a click (or a recovery) did."""

    REFUSED = "refused"  # the vote does not count (not an approver, the requester...)
    DUPLICATE = "duplicate"  # this person already approved
    APPROVED = "approved"  # counted; the quorum is not reached yet
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    CLOSED = "closed"  # the request was already closed
    DELETED = "deleted"
    FAILED = "failed"  # carried out, and nothing was deleted
    UNKNOWN = "unknown"  # carried out, and the registry could not say what happened
    BUSY = "busy"  # another approval is carrying it out now
    TAKEN_OVER = "taken over"  # this holder stalled; another carries it out and reports


@dataclass(frozen=True)
class VoteResult:
    """What a click did, the request as it is now, a message for the person who
    clicked, and the audit events written."""

    outcome: VoteOutcome
    request: DeletionRequest
    message: str = ""
    events: list[AuditEvent] = field(default_factory=list)
