"""The deletion workflow: preview (pin the digest), submit, vote, execute, expire.

Every step is a compare-and-set in the store and leaves an audit event; each method
returns the events it wrote, so a front end can mirror them (a chat thread, a log).
What is deleted always comes from the stored request, never from what a caller passes.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..patterns import Pattern
from ..registry import (
    Image,
    ManifestNotFoundError,
    Reference,
    RegistryClient,
    RegistryError,
    describe_digests,
)
from ..registry.scan import RepoScan, artifact_tags_for, scan_repository
from . import cleanup
from .claims import Claim, ClaimLost
from .cleanup_store import CleanupStore
from .execution import Abort, Outcome, Save, Verdict, carry_out, verify
from .models import (
    AuditAction,
    AuditEntry,
    AuditEvent,
    CleanupItem,
    CleanupProgress,
    DeletionRequest,
    ItemState,
    Kind,
    PlatformChild,
    SavedManifest,
    State,
)
from .own_writes import BeforeWrite, OwnWrites, Write, WriteAction
from .policy import ApproverPolicy
from .reports import blast_radius, gc_advice
from .restore import ImageRestore, collect, restore
from .retention import RepoPlan, RepoUsage, RetentionRules
from .store import DeletionStore
from .undo_store import UndoStore

log = logging.getLogger(__name__)
# States that expiry closes. A request left "submitting" by a crash expires too.
OPEN_STATES = (State.DRAFT, State.SUBMITTING, State.PENDING)
# A process working on a request renews its claim every third of the lease; a claim
# older than the lease belongs to a process that died (killed, crashed, lost its
# database), and the request is recovered by whoever notices.
DEFAULT_LEASE = timedelta(seconds=60)
# How long what a deletion took is kept for undo (UNDO_RETENTION).
DEFAULT_UNDO_RETENTION = timedelta(days=30)
# A cleanup is made ready (checked, claimed, kept for undo: a few transactions) in
# batches of this many rounds of REGISTRY_CONCURRENCY, the next while the last is deleted.
BATCH_ROUNDS = 10
# How many repositories of a cleanup are worked on at once (each scan must be complete
# before its first DELETE, so one repository's lookups wait on round trips while
# another's DELETEs keep the registry busy); REGISTRY_CONCURRENCY bounds the requests.
REPOSITORIES_AT_ONCE = 8
# How old the bot's own lookup of a tag may be for a cleanup's dry run to reuse it (as
# after a listing or an earlier dry run) instead of asking again.
DRY_RUN_REUSES_LOOKUPS = timedelta(minutes=10)
# A dry run ends within this time whatever it is given (a scan sends nothing after it),
# and names at most this many repositories: past either, it is refused, saying so.
DRY_RUN_LIMIT = timedelta(minutes=5)
MAX_CLEANUP_REPOSITORIES = 200
# Deletions whose outcome can be undone.
UNDOABLE = (Kind.MANIFEST, Kind.TAG, Kind.PRUNE)


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


Progress = Callable[[CleanupProgress], None]


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


def _now() -> datetime:
    return datetime.now(UTC)


class DeletionService:
    def __init__(
        self,
        store: DeletionStore,
        registry: RegistryClient,
        policy: ApproverPolicy,
        *,
        approvals_required: int = 1,
        ttl: timedelta = timedelta(hours=24),
        clock: Callable[[], datetime] = _now,
        protected: Pattern | None = None,
        lease: timedelta = DEFAULT_LEASE,
        undo_retention: timedelta = DEFAULT_UNDO_RETENTION,
        usage: Callable[[str], RepoUsage] | None = None,
        dry_run_limit: timedelta = DRY_RUN_LIMIT,
    ) -> None:
        self.dry_run_limit = dry_run_limit
        self._running: set[str] = set()  # requests this process is carrying out now
        self._running_lock = threading.Lock()
        # What the registry's events told of a repository (push and pull times), when
        # the front end records them.
        self.usage = usage
        self.protected = protected
        self.lease = lease
        self.undo_retention = undo_retention
        self.store = store
        self.undo = UndoStore(store.engine)
        self.cleanup = CleanupStore(store.engine)
        self.writes = OwnWrites(store.engine)
        self.registry = registry
        self.policy = policy
        self.approvals_required = approvals_required
        self.ttl = ttl
        self.clock = clock

    # -- preview -----------------------------------------------------------------------
    def _new_request(self, **fields) -> DeletionRequest:
        now = self.clock()
        request = DeletionRequest(
            id=secrets.token_hex(8),
            state=State.DRAFT,
            created_at=now,
            expires_at=now + self.ttl,
            approvals_required=self.approvals_required,
            **fields,
        )
        self.store.insert(request)
        return request

    def _check_configured(self) -> None:
        if not self.policy.configured:
            raise NoApprovers()

    def _check_protected(self, tags: list[str] | tuple[str, ...]) -> None:
        if self.protected is None:
            return
        hit = [t for t in tags if self.protected.search(t)]
        if hit:
            raise DeletionRefused(
                f"Refused: this would remove the protected tag{'s' if len(hit) > 1 else ''} "
                f"{', '.join(hit[:10])} (PROTECTED_TAGS is {self.protected.pattern}). "
                "Move the tag to another image first, or ask the bot's operators."
            )

    def _scan(self, repository: str, progress: Callable[[int], None] | None = None) -> RepoScan:
        """Every tag and manifest of the repository, or a refusal: a blast radius drawn
        from part of the repository could hide what a deletion takes with it."""
        return self._check_complete(scan_repository(self.registry, repository, progress))

    @staticmethod
    def _check_complete(scan: RepoScan) -> RepoScan:
        if not scan.complete:
            raise DeletionRefused(
                f"Could not see all of {scan.repository} ({scan.problems()}), so what a "
                "deletion would take with it can't be known. Nothing was requested; try again."
            )
        return scan

    @staticmethod
    def _check_not_a_platform(scan: RepoScan, digest: str) -> None:
        holders = scan.indexes_containing(digest)
        if holders:
            raise DeletionRefused(
                f"Refused: {digest} is a platform of the multi-arch image tagged "
                f"{', '.join(holders[:10])}; deleting it would break that image. Delete "
                "or untag the multi-arch image instead."
            )

    def _referrers(self, scan: RepoScan, digest: str) -> tuple[str, ...]:
        found = [f"tag {t}" for t in artifact_tags_for(digest, list(scan.tags))]
        for descriptor in self.registry.referrers(scan.repository, digest) or []:
            kind = (
                descriptor.annotations.get("org.opencontainers.image.title")
                or descriptor.media_type
            )
            found.append(f"{descriptor.digest} ({kind})")
        return tuple(found)

    def _resolve(self, ref: Reference) -> str:
        if not ref.tag and not ref.digest:
            raise DeletionRefused(
                f"Name what to delete: {ref.repository}:TAG or {ref.repository}@sha256:…"
            )
        # GET, not HEAD: the digest pinned for deletion is checked against the content
        # (a registry whose Docker-Content-Digest doesn't match the body is refused).
        digest = self.registry.get_manifest(ref.repository, ref.identifier).digest
        if ref.digest and digest != ref.digest:
            raise DeletionRefused(
                f"{ref.repository}:{ref.tag} points at {digest}, not {ref.digest}: "
                "check which image you mean."
            )
        if ref.digest and ref.tag:
            self.registry.get_manifest(ref.repository, ref.digest)  # exists, and is that?
        return digest

    def preview_manifest(
        self,
        ref: Reference,
        reason: str,
        requester: str,
        channel: str,
        *,
        untag: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> Preview:
        """Resolve and pin the digest and measure the blast radius: every tag on the
        digest, an index's platform manifests, signatures and other referrers, and the
        space garbage collection could reclaim. Changes nothing in the registry."""
        self._check_configured()
        if untag and not ref.tag:
            raise DeletionRefused("Name the tag to remove: REPO:TAG.")
        digest = self._resolve(ref)
        scan = self._scan(ref.repository, progress)
        tags = scan.tags_on(digest)
        if ref.tag and ref.tag not in tags:
            tags.append(ref.tag)  # moved between the HEAD and the scan: keep what we saw
        siblings = tuple(t for t in tags if t != ref.tag)
        self._check_protected([ref.tag] if untag and ref.tag else tags)
        if not untag:
            self._check_not_a_platform(scan, digest)
        freed = {} if untag else scan.freed_blobs(digest)
        described = describe_digests(self.registry, ref.repository, [(ref.tag, digest)])[0]
        image = described if isinstance(described, Image) else None
        children = tuple(
            PlatformChild(c.digest, str(c.platform) if c.platform else "platform unknown")
            for c in scan.children(digest)
        )
        request = self._new_request(
            kind=Kind.TAG if untag else Kind.MANIFEST,
            repository=ref.repository,
            tag=ref.tag,
            digest=digest,
            reason=reason,
            requester=requester,
            channel=channel,
            siblings=siblings,
            size=image.size if image else None,
            platforms=tuple(image.platform_names) if image and image.is_index else (),
            children=children,
            referrers=self._referrers(scan, digest),
            reclaimable=sum(s for s in freed.values() if s) if not untag else 0,
            blobs=tuple(sorted(freed.items())),
        )
        return Preview(request, image)

    def preview_blob(
        self,
        ref: Reference,
        reason: str,
        requester: str,
        channel: str,
        progress: Callable[[int], None] | None = None,
    ) -> Preview:
        """A blob may be requested only when no manifest reachable from a tag uses it."""
        self._check_configured()
        if not ref.digest or ref.tag:
            raise DeletionRefused("Name the blob by digest: REPO@sha256:…")
        size = self.registry.blob_size(ref.repository, ref.digest)
        scan = self._scan(ref.repository, progress)
        users = scan.tags_using_blob(ref.digest)
        if users:
            more = f" and {len(users) - 10} more" if len(users) > 10 else ""
            raise DeletionRefused(
                f"Refused: {ref.digest} is still used by the image tagged "
                f"{', '.join(users[:10])}{more}. Deleting it would break "
                f"{'those images' if len(users) > 1 else 'that image'}; delete the image "
                "instead, and its unused layers after."
            )
        request = self._new_request(
            kind=Kind.BLOB,
            repository=ref.repository,
            digest=ref.digest,
            reason=reason,
            requester=requester,
            channel=channel,
            size=size,
            reclaimable=size,
            blobs=((ref.digest, size),),
        )
        return Preview(request)

    def preview_cleanup(self, deleted_id: str, requester: str, channel: str) -> Preview:
        """After an image deletion: one request for the layers it left that no remaining
        tag uses (checked again now)."""
        self._check_configured()
        done = self._get(deleted_id)
        if done.kind != Kind.MANIFEST or done.state != State.DELETED:
            raise DeletionRefused("Only a completed image deletion leaves layers to clean up.")
        scan = self._scan(done.repository)
        kept = scan.blobs_kept(set())
        present = self.registry.map(
            lambda b: self.registry.blob_exists(done.repository, b[0]), done.blobs
        )
        blobs = tuple(
            b
            for b, there in zip(done.blobs, present, strict=True)
            if there is True and b[0] not in kept
        )
        if not blobs:
            raise DeletionRefused("No unused layers of that image are left to delete.")
        size = sum(s for _, s in blobs if s)
        request = self._new_request(
            kind=Kind.BLOBS,
            repository=done.repository,
            digest=done.digest,
            reason=f"unused layers of the deleted {done.target} (request {done.id})",
            requester=requester,
            channel=channel,
            size=size,
            reclaimable=size,
            blobs=blobs,
        )
        return Preview(request)

    def preview_restore(self, deleted_id: str, requester: str, channel: str) -> Preview:
        """Undo: a request to put back what an executed deletion took (its manifests,
        byte for byte, and its tags), through the same approval."""
        self._check_configured()
        done = self.store.get(deleted_id)
        if done is None:
            raise DeletionRefused(f"There is no request {deleted_id}; see /registry audit.")
        if done.kind not in UNDOABLE or done.state != State.DELETED:
            raise DeletionRefused(
                f"Request {deleted_id} is not an executed deletion of images or tags, so "
                "there is nothing to put back."
            )
        saved = self.undo.load(deleted_id, self.clock())
        if not saved:
            raise DeletionRefused(
                f"Nothing of request {deleted_id} is kept any more: what a deletion takes is "
                f"kept for {self.undo_retention.days} days (UNDO_RETENTION)."
            )
        roots = [m for m in saved if m.digest == m.image]
        tags = tuple(sorted({f"{m.repository}:{t}" for m in roots for t in m.tags}))
        request = self._new_request(
            kind=Kind.RESTORE,
            repository=done.repository,
            digest=done.digest,
            tag=None,
            reason=f"undo request {deleted_id} ({done.target})",
            requester=requester,
            channel=channel,
            siblings=tags,
            size=None,
            restores=deleted_id,
        )
        return Preview(request)

    def preview_prune(
        self,
        pattern: str,
        rules: RetentionRules,
        reason: str,
        requester: str,
        channel: str,
        progress: Callable[[int], None] | None = None,
    ) -> CleanupPreview:
        """The dry run: scan every repository ``pattern`` names, apply ``rules``, and
        pin the plan (each image to delete with the tags it had) as a draft request.
        Changes nothing in the registry."""
        self._check_configured()
        if rules.keeps_nothing:
            raise DeletionRefused(
                "Refused: these rules keep nothing, so this would delete every tag. Give "
                "--keep N (N > 0) or --older-than DURATION."
            )
        deadline = time.monotonic() + self.dry_run_limit.total_seconds()
        repositories = cleanup.find_repositories(self.registry, pattern)
        if not repositories:
            raise DeletionRefused(f"No repository matches {pattern}.")
        if len(repositories) > MAX_CLEANUP_REPOSITORIES:
            raise DeletionRefused(
                f"{pattern} names {len(repositories):,} repositories; a cleanup covers at most "
                f"{MAX_CLEANUP_REPOSITORIES}. Narrow the pattern (team/app-*), or clean up "
                "in several parts."
            )
        now = self.clock()
        plans, items, reclaimable, unverified = [], [], {}, 0
        for done, repository in enumerate(repositories):
            usage = self.usage(repository) if self.usage is not None else None
            # Where the registry's push events, or the bot's own lookups of the last few
            # minutes, say a tag points, the dry run takes their word instead of a HEAD
            # per tag; execution looks every tag up again.
            known = {t: d for t, (d, _) in usage.pushes.items()} if usage else None
            scan = scan_repository(
                self.registry,
                repository,
                progress,
                known,
                DRY_RUN_REUSES_LOOKUPS.total_seconds(),
                deadline,
            )
            if scan.unread or time.monotonic() > deadline:
                minutes = self.dry_run_limit.total_seconds() / 60
                raise DeletionRefused(
                    f"The dry run of {pattern} was stopped after {minutes:g} minutes, with "
                    f"{done} of {len(repositories)} repositories read: it is too large to "
                    "plan at once. Narrow the pattern, or clean up in several parts. "
                    "Nothing was requested."
                )
            self._check_complete(scan)
            unverified += len(scan.unverified)
            plan = cleanup.plan_scan(self.registry, scan, rules, now, self.protected, usage)
            plans.append(plan)
            items += cleanup.plan_items(scan, plan)
            reclaimable[repository] = sum(s for s in cleanup.freed(scan, plan).values() if s)
        emptied = [p.repository for p in plans if p.empties]
        if emptied and not rules.allow_empty:
            raise DeletionRefused(
                f"Refused: this would leave {', '.join(emptied[:5])} with no tags at all. "
                "Add --allow-empty if that is what you want."
            )
        if not any(p.delete for p in plans):
            kept = sum(len(p.kept) for p in plans)
            raise DeletionRefused(
                f"Nothing to clean up: the rules keep all {kept} tags of "
                f"{len(plans)} repositor{'y' if len(plans) == 1 else 'ies'}."
            )
        request = self._new_request(
            kind=Kind.PRUNE,
            repository=pattern,
            digest="",
            reason=f"{rules.describe()}" + (f" · {reason}" if reason else ""),
            requester=requester,
            channel=channel,
            size=sum(i.size or 0 for i in items if i.state == ItemState.PLANNED),
            reclaimable=sum(reclaimable.values()),
        )
        self.cleanup.add(request.id, items)
        return CleanupPreview(request, rules, plans, reclaimable, unverified)

    def cleanup_items(self, request_id: str) -> list[CleanupItem]:
        """The stored plan of a cleanup request, and where each image is."""
        return self.cleanup.items(request_id)

    def preview_put_back(
        self,
        repository: str,
        tag: str,
        previous: str,
        current: str,
        requester: str,
        channel: str,
    ) -> Preview:
        """After a protected tag was moved (from ``previous`` to ``current``) outside
        the bot: a restore request that points it back, through the same approval. The
        previous image must still be in the registry or in the undo store; the tag is
        moved back only from ``current`` (pinned now)."""
        self._check_configured()
        try:
            now_at: str | None = self.registry.resolve(repository, tag)
        except ManifestNotFoundError:
            now_at = None
        if now_at != current:
            raise DeletionRefused(
                f"{repository}:{tag} has moved again since the alert (it points at "
                f"{now_at or 'nothing'}); look at /registry activity {repository} first."
            )
        try:
            saved = collect(self.registry, repository, previous, (tag,))
        except ManifestNotFoundError:
            saved = [
                replace(m, tags=(tag,) if m.digest == previous else ())
                for m in self.undo.copies_of(repository, previous, self.clock())
            ]
        if not saved:
            raise DeletionRefused(
                f"{repository}@{previous} is no longer in the registry, and the bot kept no "
                "copy of it: it can't be put back."
            )
        request = self._new_request(
            kind=Kind.RESTORE,
            repository=repository,
            digest=previous,
            tag=tag,
            reason=f"put {repository}:{tag} back from {current} to {previous}",
            requester=requester,
            channel=channel,
            siblings=(f"{repository}:{tag}",),
            moved_to=current,
        )
        self.store.set_fields(request.id, restores=request.id)
        now = self.clock()
        self.undo.save(request.id, saved, now, now + self.undo_retention)
        return Preview(self._get(request.id))

    def undo_until(self, request: DeletionRequest) -> datetime | None:
        """Until when ``request`` can be undone (None: it can't)."""
        if request.kind not in UNDOABLE or request.state != State.DELETED:
            return None
        return self.undo.kept_until(request.id, self.clock())

    def _before_write(self, request: DeletionRequest, claim: Claim) -> BeforeWrite:
        """What a request's execution calls before each write to the registry: the
        claim is checked (ClaimLost stops the write), and the write recorded as the
        bot's own."""

        def before(writes: list[Write]) -> None:
            claim.check()
            self.writes.record(request.id, writes, self.clock())

        return before

    def _saver(self, request: DeletionRequest) -> Save:
        def save(manifests: list[SavedManifest]) -> None:
            now = self.clock()
            self.undo.save(request.id, manifests, now, now + self.undo_retention)

        return save

    # -- submit / cancel ---------------------------------------------------------------
    def _get(self, request_id: str) -> DeletionRequest:
        request = self.store.get(request_id)
        if request is None:
            raise DeletionRefused("This deletion request no longer exists.")
        return request

    def _entry(self, action: AuditAction, actor: str | None = None, detail: str = "") -> AuditEntry:
        """An audit event stamped now, to be written with the change it records."""
        return AuditEntry(action, self.clock(), actor, detail)

    def _audit(
        self, request: DeletionRequest, actor: str | None, action: AuditAction, detail: str = ""
    ) -> AuditEvent:
        """An audit event that records no state change (a refused vote)."""
        return self.store.audit(request.id, self._entry(action, actor, detail))

    def claim_submit(
        self, request_id: str, user: str, as_untag: bool = False
    ) -> DeletionRequest | None:
        """The requester confirmed: claim the draft for posting (None when another click
        already did, or it was closed). ``as_untag`` turns an image preview into the
        removal of its named tag only."""
        request = self._get(request_id)
        if user != request.requester:
            raise DeletionRefused("Only the person who previewed this deletion can request it.")
        if request.state == State.DRAFT and request.expires_at <= self.clock():
            self.expire(request)
            raise DeletionRefused("This preview has expired; run the delete command again.")
        extra: dict[str, Any] = {}
        if as_untag:
            if request.kind != Kind.MANIFEST or not request.tag:
                raise DeletionRefused("Only a previewed tag can be removed on its own.")
            extra = {"kind": Kind.TAG.value, "reclaimable": 0, "blobs": []}
        moved = self.store.transition(
            request_id, [State.DRAFT], State.SUBMITTING, claimed_at=self.clock(), **extra
        )
        return moved.request if moved else None

    def release_submit(self, request_id: str) -> None:
        """Posting the request failed: back to draft, so it can be tried again."""
        self.store.transition(request_id, [State.SUBMITTING], State.DRAFT, claimed_at=None)

    def submitted(self, request_id: str) -> tuple[DeletionRequest, list[AuditEvent]]:
        """The request is in front of the approvers: open it for votes (and audit it,
        in the same transaction). Nothing is audited when the request was given back or
        closed meanwhile."""
        request = self._get(request_id)
        moved = self.store.transition(
            request_id,
            [State.SUBMITTING],
            State.PENDING,
            audit=self._entry(AuditAction.REQUESTED, request.requester, blast_radius(request)),
            claimed_at=None,
        )
        if moved is None or moved.event is None:
            return self._get(request_id), []
        return moved.request, [moved.event]

    def cancel(self, request_id: str, user: str) -> VoteResult:
        """The requester withdraws a draft or a pending request."""
        request = self._get(request_id)
        if user != request.requester:
            raise DeletionRefused("Only the requester can cancel this request.")
        return self._close(
            request_id,
            [State.DRAFT, State.PENDING],
            State.CANCELLED,
            user,
            "cancelled by the requester",
        )

    def _close(
        self, request_id: str, from_states: list[State], to: State, user: str, outcome: str
    ) -> VoteResult:
        """Close a request by a person's decision (compare-and-set), and audit it."""
        moved = self.store.transition(
            request_id,
            from_states,
            to,
            audit=self._entry(AuditAction(to.value), user),
            closed_by=user,
            closed_at=self.clock(),
            outcome=outcome,
        )
        if moved is None or moved.event is None:
            return VoteResult(
                VoteOutcome.CLOSED, self._get(request_id), "This request is already closed."
            )
        return VoteResult(VoteOutcome(to.value), moved.request, events=[moved.event])

    # -- votes -------------------------------------------------------------------------
    def refuse(self, request_id: str, user: str, attempt: str, why: str) -> VoteResult:
        """A vote the front end refused before counting it (a click on a copy of the
        request, say): the refusal is audited like any other."""
        request = self._get(request_id)
        event = self._audit(request, user, AuditAction.REFUSED, f"{attempt}: {why}")
        return VoteResult(VoteOutcome.REFUSED, request, why, [event])

    def vote(
        self, request_id: str, user: str, approve: bool, progress: Progress | None = None
    ) -> VoteResult:
        """A click on Approve or Reject, by ``user`` (from the verified request)."""
        request = self._get(request_id)
        attempt = "approve" if approve else "reject"
        if request.state != State.PENDING:
            return VoteResult(
                VoteOutcome.CLOSED, request, f"This request is already {request.state}."
            )
        if request.expires_at <= self.clock():
            events = self.expire(request)
            return VoteResult(
                VoteOutcome.EXPIRED,
                self._get(request_id),
                "This request has expired; it can't be approved any more.",
                events,
            )
        if not approve and user == request.requester:
            return self.cancel(request_id, user)
        decision = self.policy.check(user, request)
        if not decision.allowed:
            event = self._audit(request, user, AuditAction.REFUSED, f"{attempt}: {decision.reason}")
            return VoteResult(VoteOutcome.REFUSED, request, decision.reason, [event])
        if not approve:
            return self._close(request_id, [State.PENDING], State.REJECTED, user, "rejected")
        approved = self.store.approve(request_id, user, self._entry(AuditAction.APPROVED, user))
        if approved is None:
            return VoteResult(
                VoteOutcome.DUPLICATE, request, "You have already approved this request."
            )
        events = [approved]
        approvals = [u for u in self.store.approvals(request_id) if u != request.requester]
        if len(approvals) < request.approvals_required:
            return VoteResult(VoteOutcome.APPROVED, self._get(request_id), events=events)
        result = self.execute(request_id, progress)
        return replace(result, events=events + result.events)

    # -- execution ---------------------------------------------------------------------
    def execute(self, request_id: str, progress: Progress | None = None) -> VoteResult:
        """At quorum: claim the request (one caller wins), check again, then carry it
        out on the pinned digest, renewing the claim while the work goes on."""
        request = self.store.claim(request_id, self.clock())
        if request is None:
            return VoteResult(
                VoteOutcome.BUSY,
                self._get(request_id),
                "Another approval is already carrying out this request.",
            )
        claim = self._claim_for(request)
        with self._running_here(request.id), claim:
            try:
                try:
                    outcome = self._carry_out(request, claim, progress)
                    return self._settle(request, outcome, claim)
                except ClaimLost as exc:
                    if claim.lost:
                        return self._taken_over(request_id)
                    raise ExecutionInterrupted(request_id, request.kind) from exc
            except SQLAlchemyError as exc:
                log.error("request %s interrupted: the database failed (%s)", request_id, exc)
                raise ExecutionInterrupted(request_id, request.kind) from exc

    def _carry_out(
        self, request: DeletionRequest, claim: Claim, progress: Progress | None
    ) -> Outcome:
        """Do what a claimed request asks. Raises ClaimLost when the claim was lost
        (nothing more was written to the registry from then on)."""
        if request.kind == Kind.RESTORE:
            return self._restore(request, claim)
        if request.kind == Kind.PRUNE:
            return self._prune(request, claim, progress)
        before = self._before_write(request, claim)
        try:
            return carry_out(self.registry, request, self.protected, self._saver(request), before)
        except Abort as exc:
            return Outcome(Verdict.NOT_DELETED, str(exc), str(exc))
        except RegistryError as exc:
            # Part of the work may have been done (a tag removal): ask the registry.
            outcome = verify(self.registry, request, before)
            if outcome.verdict == Verdict.NOT_DELETED:
                text = f"{exc} Nothing was deleted."
                outcome = Outcome(Verdict.NOT_DELETED, text, text)
            return outcome

    def _taken_over(self, request_id: str) -> VoteResult:
        return VoteResult(
            VoteOutcome.TAKEN_OVER,
            self._get(request_id),
            "This request was taken over by another holder of the bot (this one stalled "
            "or lost its database for longer than EXECUTION_LEASE); that one carries it "
            "out and reports the outcome.",
        )

    def _claim_for(self, request: DeletionRequest) -> Claim:
        def renew(request_id: str, token: int, at: datetime) -> bool:
            return self.store.renew_claim(request_id, token, at)

        return Claim(request.id, request.claim_token, self.lease, renew, self.clock)

    @contextmanager
    def _running_here(self, request_id: str) -> Iterator[None]:
        """Mark a request as being carried out by this process: its own sweeper never
        takes over a run that is alive here, however late its heartbeat is."""
        with self._running_lock:
            self._running.add(request_id)
        try:
            yield
        finally:
            with self._running_lock:
                self._running.discard(request_id)

    def _restore(self, request: DeletionRequest, claim: Claim) -> Outcome:
        """Put back what ``request.restores`` deleted; done when at least one image came
        back (the text names those that could not)."""
        assert request.restores is not None
        saved = self.undo.load(request.restores, self.clock())
        if not saved:
            text = (
                f"Nothing of request {request.restores} is kept any more "
                "(UNDO_RETENTION); nothing was restored."
            )
            return Outcome(Verdict.NOT_DELETED, text, text)
        results = restore(
            self.registry, saved, request.moved_to, self._before_write(request, claim)
        )
        return restore_outcome(results)

    def _prune(self, request: DeletionRequest, claim: Claim, progress: Progress | None) -> Outcome:
        """Carry out (or resume) a cleanup, several repositories at once: each planned
        image checked against a fresh scan of its repository, marked ``deleting`` and
        kept for undo before its DELETE, then recorded; one tag list per repository at
        the end confirms the deletions. Each item moves by compare-and-set, fenced by
        the claim's token, so no digest is deleted twice and a stale holder writes
        nothing; ClaimLost is raised once the work under way has stopped."""
        started = time.monotonic()
        items = self.cleanup.items(request.id)
        counts = {state: 0 for state in ItemState}
        for item in items:
            counts[item.state] += 1
        total = len(items) - counts[ItemState.KEPT]
        writing = threading.Lock()  # repositories, preparers and deleting workers record
        checking: dict[str, int] = {}  # repositories being looked up again -> their tags

        def report(snapshot: CleanupProgress) -> None:
            if progress is None or claim.lost:
                return  # a holder that lost its claim draws nothing over its successor
            try:
                progress(snapshot)
            except Exception:
                log.exception("progress report of cleanup %s failed", request.id)

        def now_done() -> CleanupProgress:
            return CleanupProgress(
                total,
                counts[ItemState.DELETED],
                counts[ItemState.SKIPPED],
                counts[ItemState.FAILED],
                time.monotonic() - started,
                tuple(sorted(checking)),
                sum(checking.values()),
            )

        def record(changes: list[tuple[CleanupItem, ItemState, str]], sources: list[ItemState]):
            with writing:
                made = self.cleanup.move_many(request.id, changes, sources, token=claim.token)
                for (item, state, _), ok in zip(changes, made, strict=True):
                    if ok:
                        counts[state] += 1
                        counts[item.state] -= 1  # where it was (settled, when confirming)
                snapshot = now_done()
            report(snapshot)  # a redraw in chat holds up no other writer
            return made

        def check(repository: str, tags: int | None) -> None:
            """A repository's check begins (its tag list read, before the lookups: the
            long part for a big one) or, with ``tags`` None, ends."""
            with writing:
                if tags is None:
                    checking.pop(repository, None)
                    return
                checking[repository] = tags
                snapshot = now_done()
            report(snapshot)

        todo = [i for i in items if i.state in (ItemState.PLANNED, ItemState.DELETING)]
        stopped = threading.Event()  # a failure (the database) stops repositories not begun

        def one_repository(repository: str) -> None:
            if stopped.is_set() or claim.lost:
                return
            try:
                self._prune_repository(
                    request,
                    claim,
                    repository,
                    [i for i in todo if i.repository == repository],
                    record,
                    lambda tags: check(repository, tags),
                )
            except BaseException:
                stopped.set()
                raise
            finally:
                check(repository, None)

        report(now_done())
        repositories = sorted({i.repository for i in todo})
        at_once = max(1, min(REPOSITORIES_AT_ONCE, len(repositories)))
        with ThreadPoolExecutor(at_once, thread_name_prefix="cleanup-repository") as pool:
            runs = [pool.submit(one_repository, r) for r in repositories]
        for run in runs:
            run.result()  # a failure is raised once every repository under way is done
        if claim.lost:
            raise ClaimLost(request.id, "was taken over")
        return cleanup_outcome(request, self.cleanup.items(request.id))

    def _prune_repository(
        self,
        request: DeletionRequest,
        claim: Claim,
        repository: str,
        mine: list[CleanupItem],
        record,
        check: Callable[[int | None], None],
    ) -> None:
        """One repository of a cleanup: settle what an interrupted run left, scan it
        again, delete what is still safe, and confirm with one tag list. ``check`` is
        told how many tags the scan looks up, and None when it is done."""
        mine = self._settle_resumed(mine, record)
        scan = scan_repository(self.registry, repository, check)
        check(None)
        if not scan.complete:
            why = f"could not see all of {repository} ({scan.problems()})"
            record(
                [(i, ItemState.SKIPPED, why) for i in mine],
                [ItemState.PLANNED, ItemState.DELETING],
            )
            return
        deleted = self._delete_planned(request, claim, scan, mine, record)
        still = cleanup.unconfirmed(self.registry, repository, deleted)
        record(
            [
                (
                    replace(i, state=ItemState.DELETED),
                    ItemState.FAILED,
                    "the registry answered the DELETE but still serves it (a cache in "
                    "front of it?)",
                )
                for i in deleted
                if i.digest in still
            ],
            [ItemState.DELETED],
        )

    def _settle_resumed(self, items: list[CleanupItem], record) -> list[CleanupItem]:
        """Items left ``deleting`` by an interrupted run: those the registry no longer
        has were deleted; the rest are done again."""
        resumed = [i for i in items if i.state == ItemState.DELETING]
        if not resumed:
            return items
        there = self.registry.map(lambda i: cleanup.still_there(self.registry, i), resumed)
        gone = {i.digest for i, t in zip(resumed, there, strict=True) if t is False}
        record(
            [
                (i, ItemState.DELETED, "deleted (found gone after a restart)")
                for i in resumed
                if i.digest in gone
            ],
            [ItemState.DELETING],
        )
        return [i for i in items if i.digest not in gone]

    def _delete_planned(
        self,
        request: DeletionRequest,
        claim: Claim,
        scan: RepoScan,
        items: list[CleanupItem],
        record,
    ) -> list[CleanupItem]:
        """Delete a repository's planned images with every slot busy from the first
        DELETE to the last: a preparer checks, claims and keeps for undo one batch after
        another (a transaction each) while the workers delete what is ready, recording
        results in groups. Every DELETE is preceded by a check of the claim: once it is
        lost, nothing more is sent, and what was made ready stays ``deleting`` for the
        new holder to check with the registry. Returns what was deleted."""
        size = max(1, self.registry.settings.concurrency * BATCH_ROUNDS)
        workers = max(1, min(self.registry.settings.concurrency, len(items)))
        ready: queue.SimpleQueue[tuple[CleanupItem, tuple[str, ...]] | None] = queue.SimpleQueue()
        results = _Recorder(record, flush_every=max(8, self.registry.settings.concurrency * 2))

        lost: list[ClaimLost] = []

        def prepare() -> None:
            try:
                for at in range(0, len(items), size):
                    batch = items[at : at + size]
                    for pair in self._prepare_batch(request, claim, scan, batch, record):
                        ready.put(pair)
            finally:
                for _ in range(workers):
                    ready.put(None)  # each worker stops at one of these

        def one(pair: tuple[CleanupItem, tuple[str, ...]]) -> None:
            item, moved = pair
            try:
                state, detail = cleanup.delete_unconfirmed(self.registry, item)
            except RegistryError as exc:
                state, detail = ItemState.FAILED, exc.message
            if state == ItemState.DELETED and moved:
                detail += f"; {', '.join(moved)} had moved elsewhere and were left alone"
            results.add(item, state, detail)

        def work(_: int) -> None:
            while (pair := ready.get()) is not None:
                try:
                    claim.check()
                except ClaimLost as exc:
                    lost.append(exc)
                    return
                one(pair)

        # Results not yet written when something fails stay "deleting": recovery asks
        # the registry about them, as after a crash. A failure to prepare (the database)
        # is raised once the DELETEs already under way are done and recorded.
        with ThreadPoolExecutor(1, thread_name_prefix="cleanup-prepare") as preparer:
            prepared = preparer.submit(prepare)
            self.registry.map(work, range(workers))
        results.flush()
        prepared.result()
        if lost:
            raise lost[0]
        return results.deleted

    def _prepare_batch(
        self,
        request: DeletionRequest,
        claim: Claim,
        scan: RepoScan,
        batch: list[CleanupItem],
        record,
    ) -> list[tuple[CleanupItem, tuple[str, ...]]]:
        """Check a batch against the scan, claim what is still safe and keep it for
        undo; returns what may be deleted, with the planned tags that moved elsewhere."""
        claim.check()
        checked = [(i, *cleanup.why_not_now(scan, i, self.protected)) for i in batch]
        sources = [ItemState.PLANNED, ItemState.DELETING]
        record([(i, ItemState.SKIPPED, why) for i, why, _ in checked if why], sources)
        candidates = [(i, moved) for i, why, moved in checked if why is None]
        claimed = self.cleanup.move_many(
            request.id,
            [(i, ItemState.DELETING, "") for i, _ in candidates],
            sources,
            token=claim.token,
            at=self.clock(),  # recorded as the bot's own DELETEs, in the same transaction
        )
        go = [c for c, ok in zip(candidates, claimed, strict=True) if ok]
        saved, problems = cleanup.copies_for_undo(self.registry, scan, [i for i, _ in go])
        try:
            now = self.clock()
            self.undo.save(request.id, saved, now, now + self.undo_retention)
        except Exception as exc:
            log.exception("could not keep cleanup %s for undo", request.id)
            problems = {
                i.digest: f"could not store a copy for undo ({type(exc).__name__}); not deleted"
                for i, _ in go
            }
        record(
            [(i, ItemState.FAILED, problems[i.digest]) for i, _ in go if i.digest in problems],
            [ItemState.DELETING],
        )
        return [(i, moved) for i, moved in go if i.digest not in problems]

    def _settle(self, request: DeletionRequest, outcome: Outcome, claim: Claim) -> VoteResult:
        """Record what execution (or recovery) found: deleted, failed, or not known yet
        (the claim is dropped, so the next sweep asks the registry again). Only the
        claim's holder may: a stale one's settlement is refused (TAKEN_OVER)."""
        if outcome.verdict == Verdict.UNKNOWN:
            to, action, result = State.EXECUTING, AuditAction.UNKNOWN, VoteOutcome.UNKNOWN
            closed: dict[str, object] = {}
        elif outcome.verdict == Verdict.DELETED:
            to, action, result = State.DELETED, AuditAction.EXECUTED, VoteOutcome.DELETED
            closed = {"closed_at": self.clock()}
        else:
            to, action, result = State.FAILED, AuditAction.FAILED, VoteOutcome.FAILED
            closed = {"closed_at": self.clock()}
        moved = self.store.transition(
            request.id,
            [State.EXECUTING],
            to,
            audit=self._entry(action, None, outcome.detail),
            token=claim.token,
            outcome=outcome.text,
            claimed_at=None,
            **closed,
        )
        if moved is None or moved.event is None:
            now = self._get(request.id)
            if now.claim_token != claim.token:
                return self._taken_over(request.id)
            return VoteResult(VoteOutcome.CLOSED, now, "This request is already settled.")
        return VoteResult(result, moved.request, outcome.text, [moved.event])

    def recover(self) -> list[VoteResult]:
        """Settle the requests whose execution was interrupted (the process died, or its
        database failed) by asking the registry what became of them, and give back the
        previews whose posting never finished. Run at start and by the sweeper; several
        replicas may run it at once (each stale claim is taken over by one)."""
        now = self.clock()
        settled = []
        for stale in self.store.stale_claims([State.EXECUTING], now - self.lease):
            with self._running_lock:
                if stale.id in self._running:
                    continue  # alive here, only late: its own heartbeat renews it
            token = self.store.take_over(stale.id, stale.claim_token, now - self.lease, now)
            if token is None:
                continue  # another replica took it over, or its holder renewed it
            request = replace(stale, claim_token=token)
            claim = self._claim_for(request)
            with self._running_here(request.id), claim:
                try:
                    result = self._recover_one(request, claim)
                except ClaimLost:
                    continue
            if result is not None:
                settled.append(result)
        for request in self.store.stale_claims([State.SUBMITTING], now - self.lease):
            self.store.transition(request.id, [State.SUBMITTING], State.DRAFT, claimed_at=None)
        return settled

    def _recover_one(self, request: DeletionRequest, claim: Claim) -> VoteResult | None:
        """Carry a taken-over request to its end: a restore again (putting back is
        idempotent), a cleanup from where the database says it is, a single deletion
        by asking the registry. None when the registry can't say yet."""
        if request.kind in (Kind.RESTORE, Kind.PRUNE):
            return self._settle(request, self._carry_out(request, claim, None), claim)
        outcome = verify(self.registry, request, self._before_write(request, claim))
        if outcome.verdict == Verdict.UNKNOWN:
            # Still can't tell: leave it for the next sweep, without a new event.
            self.store.renew_claim(request.id, claim.token, None)
            return None
        log.warning("recovered request %s: %s", request.id, outcome.text)
        return self._settle(request, outcome, claim)

    # -- expiry ------------------------------------------------------------------------
    def expire(self, request: DeletionRequest) -> list[AuditEvent]:
        """Close one request as expired (when still open)."""
        detail = f"not approved within {self.ttl} of {request.created_at:%Y-%m-%d %H:%M} UTC"
        moved = self.store.transition(
            request.id,
            OPEN_STATES,
            State.EXPIRED,
            audit=self._entry(AuditAction.EXPIRED, None, detail),
            closed_at=self.clock(),
            outcome="expired",
        )
        return [moved.event] if moved and moved.event else []

    def expire_due(self) -> list[tuple[DeletionRequest, list[AuditEvent]]]:
        """Expire every open request past its time, and drop undo copies past
        UNDO_RETENTION; returns the requests this call closed."""
        purged = self.undo.purge(self.clock())
        if purged:
            log.info("dropped %d manifests kept for undo past UNDO_RETENTION", purged)
        self.writes.purge(self.clock())
        closed = []
        for request in self.store.due_for_expiry(self.clock(), OPEN_STATES):
            events = self.expire(request)
            if events:
                closed.append((self._get(request.id), events))
        return closed

    # -- deletions made elsewhere -------------------------------------------------------
    def is_own_write(
        self, repository: str, digest: str, action: WriteAction, tag: str | None, at: datetime
    ) -> bool:
        """Whether the registry's ``action`` on ``repository@digest`` (to ``tag``) at
        ``at`` was made by a request of the bot (see ``own_writes``)."""
        return self.writes.explains(repository, digest, action, tag, at)

    def audit_outside_deletion(self, detail: str, actor: str | None = None) -> AuditEvent:
        """Put a deletion that did not go through approval in the audit log."""
        return self.store.audit(None, self._entry(AuditAction.OUTSIDE_DELETION, actor, detail))

    # -- reading -----------------------------------------------------------------------
    def pending(self) -> list[DeletionRequest]:
        return self.store.in_states([State.PENDING])

    def recent_audit(self, limit: int = 20) -> list[AuditEvent]:
        return self.store.recent_audit(limit)


def cleanup_outcome(request: DeletionRequest, items: list[CleanupItem]) -> Outcome:
    """The report of a cleanup: deleted, skipped (why), failed (why), and the space
    garbage collection can reclaim."""
    by_state: dict[ItemState, list[CleanupItem]] = {s: [] for s in ItemState}
    for item in items:
        by_state[item.state].append(item)
    deleted, skipped, failed = (
        by_state[ItemState.DELETED],
        by_state[ItemState.SKIPPED],
        by_state[ItemState.FAILED],
    )
    tags = sum(len(i.tags) for i in deleted)
    total = len(items) - len(by_state[ItemState.KEPT])
    text = (
        f"Cleanup of {request.repository}: deleted {len(deleted)} of {total} images "
        f"({tags} tags)"
        + (f", skipped {len(skipped)}" if skipped else "")
        + (f", {len(failed)} failed" if failed else "")
        + "."
    )
    for label, group in (("Skipped", skipped), ("Failed", failed)):
        if group:
            text += f" {label}: " + "; ".join(
                f"{i.repository}@{i.digest[:19]}… ({', '.join(i.tags[:3])}): {i.detail}"
                for i in group[:5]
            )
            text += f" and {len(group) - 5} more." if len(group) > 5 else "."
    if deleted:
        text += " " + gc_advice(request.reclaimable)
    if request.resumed:
        text += (
            " Resumed after an interruption: the holder that began it stopped or stalled "
            "past EXECUTION_LEASE, and another carried it on from the database, checking "
            "with the registry what the first had left under way."
        )
    detail = (
        f"cleanup of {request.repository}: {len(deleted)} images ({tags} tags) deleted, "
        f"{len(skipped)} skipped, {len(failed)} failed, of {total}"
        + ("; resumed after an interruption" if request.resumed else "")
    )
    return Outcome(Verdict.DELETED if deleted else Verdict.NOT_DELETED, text, detail)


def restore_outcome(results: list[ImageRestore]) -> Outcome:
    """The outcome of a restore, for people and for the audit."""
    back = [r for r in results if r.restored]
    lost = [r for r in results if not r.restored]
    lines = []
    for r in back[:20]:
        tags = f" (tags {', '.join(r.tags)})" if r.tags else " (no tag pointed at it again)"
        lines.append(f"restored {r.repository}@{r.image}{tags}")
        lines += [f"tag {r.repository}:{t} {why}" for t, why in r.tags_left]
    lines += [f"could not restore {r.repository}@{r.image}: {r.problem}" for r in lost[:20]]
    head = f"Restored {len(back)} of {len(results)} image{'s' if len(results) != 1 else ''}."
    text = head + (" " + "; ".join(lines) + "." if lines else "")
    detail = f"restored {len(back)} of {len(results)} images; {len(lost)} could not be restored"
    verdict = Verdict.DELETED if back else Verdict.NOT_DELETED
    return Outcome(verdict, text, detail)


class _Recorder:
    """Collects the results of a repository's DELETEs from the workers and writes them
    in groups (one transaction per ``flush_every`` results), so the database isn't
    committed to once per image while the registry waits. The worker that fills a
    group writes it; the others go on adding to the next one meanwhile."""

    def __init__(self, record, flush_every: int) -> None:
        self.record = record
        self.flush_every = flush_every
        self.pending: list[tuple[CleanupItem, ItemState, str]] = []
        self.deleted: list[CleanupItem] = []
        self.lock = threading.Lock()

    def add(self, item: CleanupItem, state: ItemState, detail: str) -> None:
        with self.lock:
            self.pending.append((item, state, detail))
            if state == ItemState.DELETED:
                self.deleted.append(item)
            full = len(self.pending) >= self.flush_every
        if full:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            changes, self.pending = self.pending, []
        if changes:
            self.record(changes, [ItemState.DELETING])
