"""What the deletion workflow answers: refusals (a request that can't be made or voted
on: a typed reason with its facts), an execution the database interrupted, the
previews a request starts from, and what a click (or a recovery) did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from ..registry import Image
from .models import AuditEvent, CleanupProgress, DeletionRequest, Kind
from .retention import RepoPlan, RetentionRules


class Refusal(StrEnum):
    """Why a deletion can't be requested, or a vote can't count. The facts each one
    carries are on ``DeletionRefused``."""

    # The request, and who may act on it.
    REQUEST_GONE = "request gone"  # request_id: no such request (any more)
    NOT_PREVIEWER = "not the previewer"  # only the person who previewed may request it
    PREVIEW_EXPIRED = "preview expired"
    NOT_A_TAG_PREVIEW = "not a tag preview"  # "remove the tag only" on what named no tag
    NOT_REQUESTER = "not the requester"  # only the requester may cancel
    OWN_REQUEST = "own request"  # the requester's vote does not count
    NOT_APPROVER = "not an approver"
    NOT_THE_REQUEST_MESSAGE = "not the request message"  # a vote on a copy of it
    NO_APPROVERS = "no approvers"  # none configured: nothing can be deleted
    # What was named.
    TAG_NEEDED = "tag needed"  # repository: a tag removal names REPO:TAG
    TARGET_NEEDED = "target needed"  # repository: name a tag or a digest
    BLOB_DIGEST_NEEDED = "blob digest needed"  # a blob is named by digest
    DIGEST_MISMATCH = "digest mismatch"  # repository:tag points at digest, not other
    # What it would take with it.
    PLATFORM_OF_INDEX = "platform of an index"  # digest: the index tagged ``names`` uses it
    BLOB_IN_USE = "blob in use"  # digest: used by the images tagged ``names`` (count)
    PROTECTED = "protected"  # names: protected tags (pattern: PROTECTED_TAGS)
    INCOMPLETE_VIEW = "incomplete view"  # repository could not all be read (answer)
    # Follow-ups.
    NOT_AN_IMAGE_DELETION = "not an image deletion"  # only those leave unused layers
    NO_UNUSED_LAYERS = "no unused layers"
    NOT_UNDOABLE = "not undoable"  # request_id: not an executed deletion of images or tags
    NOTHING_KEPT = "nothing kept"  # request_id: its copies are gone (retention)
    MOVED_AGAIN = "moved again"  # repository:tag points at digest now (or nothing)
    NO_COPY = "no copy"  # repository@digest is gone, and no copy was kept
    # A cleanup.
    KEEPS_NOTHING = "keeps nothing"  # rules with neither a keep nor an age
    NO_MATCH = "no match"  # pattern names no repository
    TOO_MANY_REPOSITORIES = "too many repositories"  # pattern names count, limit
    DRY_RUN_TOO_LONG = "dry run too long"  # stopped at limit_seconds, count of total read
    WOULD_EMPTY = "would empty"  # names: repositories left with no tag
    NOTHING_TO_CLEAN = "nothing to clean"  # the rules keep all count tags of total
    # An untagged cleanup: the manifests pushes left untagged are known only from the
    # registry's events; none to delete (count kept: in use or newer) in total.
    UNTAGGED_UNKNOWN = "untagged unknown"
    NO_UNTAGGED = "no untagged"


class DeletionRefused(Exception):
    """A deletion that cannot be requested or voted on: why (``reason``), and the facts
    a front end needs to say so and what to do."""

    def __init__(
        self,
        reason: Refusal,
        *,
        request_id: str = "",
        repository: str = "",
        tag: str = "",
        digest: str = "",
        other: str = "",
        names: tuple[str, ...] = (),
        pattern: str = "",
        count: int = 0,
        total: int = 0,
        limit: int = 0,
        limit_seconds: float = 0.0,
        retention: timedelta | None = None,
        answer: str = "",
    ) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.request_id = request_id
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.other = other
        self.names = names
        self.pattern = pattern
        self.count = count
        self.total = total
        self.limit = limit
        self.limit_seconds = limit_seconds
        self.retention = retention
        self.answer = answer


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
        super().__init__(Refusal.NO_APPROVERS)


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
    # A cleanup over repositories of several owners is one draft per owner (``request``
    # the first), each approved by its owner; ``part_of``: each repository's draft ID.
    parts: tuple[DeletionRequest, ...] = ()
    part_of: dict[str, str] = field(default_factory=dict)

    @property
    def requests(self) -> tuple[DeletionRequest, ...]:
        """Every draft the cleanup is (one, unless it spans owners)."""
        return self.parts or (self.request,)

    def images_of(self, request_id: str) -> int:
        """How many images the draft ``request_id`` deletes."""
        return sum(
            len(p.delete)
            for p in self.plans
            if self.part_of.get(p.repository, self.request.id) == request_id
        )

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


class Effect(StrEnum):
    """What a click (a vote, a cancel) or a recovery did to a request."""

    REFUSED = "refused"  # the vote does not count (``Result.refusal`` says why)
    DUPLICATE = "duplicate"  # this person already approved
    APPROVED = "approved"  # counted; the quorum is not reached yet
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    CLOSED = "closed"  # the request was already closed (or settled)
    DONE = "done"  # carried out (the request's outcome says what it found)
    FAILED = "failed"  # carried out, and nothing was changed
    UNKNOWN = "unknown"  # carried out, and the registry could not say what happened
    BUSY = "busy"  # another approval is carrying it out now
    TAKEN_OVER = "taken over"  # this holder stalled; another carries it out and reports


@dataclass(frozen=True)
class Result:
    """What a click (or a recovery) did, the request as it is now, why a vote was
    refused, and the audit events written."""

    effect: Effect
    request: DeletionRequest
    refusal: Refusal | None = None
    events: list[AuditEvent] = field(default_factory=list)
