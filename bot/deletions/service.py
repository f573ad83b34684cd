"""The deletion workflow's face: preview (pin the digest), submit, vote, execute,
recover, expire, and what the front ends read.

It holds no workflow of its own. A request's life is the ``lifecycle``'s (no registry
calls); its claim while carried out is ``claims``'s; what it does to the registry is its
kind's ``work``, chosen from a table. Every step is a compare-and-set in the store with
its audit event; each method returns the events it wrote, so a front end can mirror
them (a chat thread, a log). What is deleted always comes from the stored request,
never from what a caller passes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from ..blobindex import BlobIndex
from ..patterns import Pattern
from ..registry import Reference, RegistryClient
from .claims import Claim, ClaimLost, Claims
from .cleanup_store import CleanupStore
from .lifecycle import Lifecycle
from .models import (
    AuditAction,
    AuditEvent,
    CleanupItem,
    CleanupProgress,
    DeletionRequest,
    ItemState,
    Kind,
    State,
)
from .outcomes import Verdict
from .own_writes import OwnWrites, WriteAction
from .owners import ApprovalPart, Owners, Standing, Terms, global_terms
from .policy import ApproverPolicy
from .results import CleanupPreview, ExecutionInterrupted, Preview, Refusal, Result, Running
from .retention import RepoUsage, RetentionRules
from .store import DeletionStore
from .undo_store import UndoStore
from .work import WorkContext, blobs, image, prune, restore, table

log = logging.getLogger(__name__)
# The defaults of APPROVAL_TTL, EXECUTION_LEASE and UNDO_RETENTION (the settings take
# them from here). How long a request stays open for votes. A process working on a
# request renews its claim every third of the lease; a claim older than the lease
# belongs to a process that died (killed, crashed, lost its database), and the request
# is recovered by whoever notices. How long what a deletion took is kept for undo.
DEFAULT_TTL = timedelta(hours=24)
DEFAULT_LEASE = timedelta(seconds=60)
DEFAULT_UNDO_RETENTION = timedelta(days=30)


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
        ttl: timedelta = DEFAULT_TTL,
        clock: Callable[[], datetime] = _now,
        protected: Pattern | None = None,
        lease: timedelta = DEFAULT_LEASE,
        undo_retention: timedelta = DEFAULT_UNDO_RETENTION,
        usage: Callable[[str], RepoUsage] | None = None,
        dry_run_limit: timedelta = prune.DRY_RUN_LIMIT,
        index: BlobIndex | None = None,
        owners: Owners | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock
        self.lease = lease
        self.undo = UndoStore(store.engine)
        self.cleanup = CleanupStore(store.engine)
        self.writes = OwnWrites(store.engine)
        default = global_terms(policy.users, policy.groups, approvals_required, protected)
        self.lifecycle = Lifecycle(
            store,
            policy,
            approvals_required=approvals_required,
            ttl=ttl,
            clock=clock,
            owners=owners or Owners(default=default),
        )
        self.lifecycle.repositories_of = self._repositories_of
        self.claims = Claims(store, lease, clock)
        # The registry-wide index reclaim figures come from (without the registry's
        # events to tell what changed, its figures say when the other repositories were
        # read).
        self.index = index or BlobIndex(store.engine, clock=clock)
        self.index.ensure_schema()
        self.ctx = WorkContext(
            registry=registry,
            index=self.index,
            lifecycle=self.lifecycle,
            store=store,
            undo=self.undo,
            cleanup=self.cleanup,
            writes=self.writes,
            clock=clock,
            owners=self.lifecycle.owners,
            undo_retention=undo_retention,
            dry_run_limit=dry_run_limit,
            usage=usage,
        )
        self.work = table(self.ctx)

    @property
    def undo_retention(self) -> timedelta:
        return self.ctx.undo_retention

    @undo_retention.setter
    def undo_retention(self, value: timedelta) -> None:
        self.ctx.undo_retention = value

    @property
    def dry_run_limit(self) -> timedelta:
        return self.ctx.dry_run_limit

    @dry_run_limit.setter
    def dry_run_limit(self, value: timedelta) -> None:
        self.ctx.dry_run_limit = value

    # -- previews: a draft request, its digest pinned ---------------------------------
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
        """An image's deletion (or, with ``untag``, its tag's removal on its own)."""
        return image.preview(
            self.ctx, ref, reason, requester, channel, untag=untag, progress=progress
        )

    def preview_blob(
        self,
        ref: Reference,
        reason: str,
        requester: str,
        channel: str,
        progress: Callable[[int], None] | None = None,
    ) -> Preview:
        """One blob's deletion, when no tag uses it."""
        return blobs.preview_blob(self.ctx, ref, reason, requester, channel, progress)

    def preview_unused_layers(self, deleted_id: str, requester: str, channel: str) -> Preview:
        """After an image deletion: the layers it left that no remaining tag uses."""
        return blobs.preview_unused_layers(self.ctx, deleted_id, requester, channel)

    def preview_restore(self, deleted_id: str, requester: str, channel: str) -> Preview:
        """Undo: what an executed deletion took, put back."""
        return restore.preview_restore(self.ctx, deleted_id, requester, channel)

    def preview_put_back(
        self,
        repository: str,
        tag: str,
        previous: str,
        current: str,
        requester: str,
        channel: str,
    ) -> Preview:
        """A protected tag moved outside the bot, pointed back at ``previous``."""
        return restore.preview_put_back(
            self.ctx, repository, tag, previous, current, requester, channel
        )

    def preview_prune(
        self,
        pattern: str,
        rules: RetentionRules,
        reason: str,
        requester: str,
        channel: str,
        progress: Callable[[int], None] | None = None,
    ) -> CleanupPreview:
        """The dry run of a cleanup: its plan pinned as a draft request."""
        return prune.preview(self.ctx, pattern, rules, reason, requester, channel, progress)

    # -- submit, cancel, vote ----------------------------------------------------------
    def claim_submit(
        self, request_id: str, user: str, as_untag: bool = False, reason: str | None = None
    ) -> DeletionRequest | None:
        return self.lifecycle.claim_submit(request_id, user, as_untag, reason)

    def release_submit(self, request_id: str) -> None:
        self.lifecycle.release_submit(request_id)

    def submitted(self, request_id: str) -> tuple[DeletionRequest, list[AuditEvent]]:
        return self.lifecycle.submitted(request_id)

    def cancel(self, request_id: str, user: str) -> Result:
        return self.lifecycle.cancel(request_id, user)

    def supersede(self, request_id: str, newer: str) -> Result:
        return self.lifecycle.supersede(request_id, newer)

    def refuse(self, request_id: str, user: str, attempt: str, why: Refusal) -> Result:
        return self.lifecycle.refuse(request_id, user, attempt, why)

    def vote(self, request_id: str, user: str, approve: bool) -> Result:
        """A click on Approve or Reject, by ``user`` (from the verified request); at
        quorum, the request is carried out."""
        counted = self.lifecycle.vote(request_id, user, approve)
        if not counted.quorum:
            return counted.result
        result = self.execute(request_id)
        return replace(result, events=counted.events + result.events)

    # -- execution and recovery --------------------------------------------------------
    def execute(self, request_id: str) -> Result:
        """At quorum: claim the request (one caller wins), then carry it out on the
        pinned digest, renewing the claim while the work goes on (and with it, how far
        the work has got: see ``progress``)."""
        request = self.lifecycle.claim(request_id)
        if request is None:
            return self.lifecycle.busy(request_id)
        claim = self.claims.claim_for(request)
        with self.claims.running_here(request.id), claim:
            try:
                try:
                    outcome = self.work[request.kind].carry_out(request, claim)
                    return self.lifecycle.settle(request, outcome, claim)
                except ClaimLost as exc:
                    if claim.lost:
                        return self.lifecycle.taken_over(request_id)
                    raise ExecutionInterrupted(request_id, request.kind) from exc
            except SQLAlchemyError as exc:
                log.error("request %s interrupted: the database failed (%s)", request_id, exc)
                raise ExecutionInterrupted(request_id, request.kind) from exc

    def recover(self) -> list[Result]:
        """Settle the requests whose execution was interrupted (the process died, or its
        database failed) by asking the registry what became of them, or carry them on;
        and give back the previews whose posting never finished. Run at start and by the
        sweeper; several replicas may run it at once (each stale claim is taken over by
        one, and a process never takes over its own live run)."""
        settled = []
        for request, claim in self.claims.take_over_stale():
            with self.claims.running_here(request.id), claim:
                try:
                    result = self._recover_one(request, claim)
                except ClaimLost:
                    continue
            if result is not None:
                settled.append(result)
        self.lifecycle.give_back_stale_submits(self.clock() - self.lease)
        return settled

    def _recover_one(self, request: DeletionRequest, claim: Claim) -> Result | None:
        outcome = self.work[request.kind].recover(request, claim)
        if outcome.verdict == Verdict.UNKNOWN:
            # Still can't tell: leave it for the next sweep, without a new event.
            self.claims.drop(claim)
            return None
        log.warning("recovered request %s: %s", request.id, outcome.finding)
        return self.lifecycle.settle(request, outcome, claim)

    # -- expiry ------------------------------------------------------------------------
    def expire(self, request: DeletionRequest) -> list[AuditEvent]:
        return self.lifecycle.expire(request)

    def expire_due(self) -> list[tuple[DeletionRequest, list[AuditEvent]]]:
        """Expire every open request past its time, and drop undo copies past
        UNDO_RETENTION (and old records of the bot's writes); returns the requests this
        call closed."""
        purged = self.undo.purge(self.clock())
        if purged:
            log.info("dropped %d manifests kept for undo past UNDO_RETENTION", purged)
        self.writes.purge(self.clock())
        return self.lifecycle.expire_due()

    # -- deletions made elsewhere -------------------------------------------------------
    def is_own_write(
        self, repository: str, digest: str, action: WriteAction, tag: str | None, at: datetime
    ) -> bool:
        """Whether the registry's ``action`` on ``repository@digest`` (to ``tag``) at
        ``at`` was made by a request of the bot (see ``own_writes``)."""
        return self.writes.explains(repository, digest, action, tag, at)

    def record_outside_deletion(
        self,
        conn: Connection,
        repository: str,
        digest: str,
        tags: str | None,
        actor: str | None,
        user_agent: str | None,
    ) -> AuditEvent:
        """Put a deletion that went through no approval in the audit trail, on ``conn``:
        in the transaction of whoever learnt of it (the event feed's, which stores the
        deletion), so the two are written together or not at all. The detail is facts:
        what, its tags, who and with what client, as the registry said."""
        detail = "; ".join(
            (
                f"{repository}@{digest}",
                f"tags {tags}" if tags else "no tags",
                f"actor {actor}" if actor else "actor unknown",
                f"user agent {user_agent}" if user_agent else "no user agent",
            )
        )
        entry = self.lifecycle.entry(AuditAction.OUTSIDE_DELETION, None, detail)
        return self.store.audit(None, entry, conn)

    def is_approver(self, user: str) -> bool:
        """Whether ``user`` is one of the global approvers (who may change what runs
        on its own: policies)."""
        return self.lifecycle.policy.is_approver(user)

    # -- owners ------------------------------------------------------------------------
    @property
    def owners(self) -> Owners:
        return self.lifecycle.owners

    def terms_for(self, repository: str) -> Terms:
        """What deleting from ``repository`` takes: its owner's terms, or the global."""
        return self.owners.terms_for(repository)

    def standing(self, request: DeletionRequest) -> Standing:
        """Where ``request`` stands against what approving it takes (its owner's, and
        more when the owner's rule became stricter since it was made)."""
        return self.lifecycle.standing(request)

    def terms_of(self, request: DeletionRequest) -> Terms:
        """The terms of the repositories ``request`` deletes from (one owner's: a
        request never spans owners), as they are now."""
        repositories = self._repositories_of(request)
        return self.owners.terms_for(repositories[0] if repositories else "")

    def may_manage_policy(self, user: str, pattern: str) -> bool:
        """Whether ``user`` may add or change a cleanup policy of ``pattern``: a global
        approver, or an approver of an owner rule that holds every repository the
        pattern can match (``OwnerRule.holds``). Each run still asks the owners of what
        it would delete."""
        if self.is_approver(user):
            return True
        return any(
            terms.owner is not None
            and terms.owner.rule.holds(pattern)
            and self.may_approve_for(user, terms)
            for terms in self.owners.every_rule()
        )

    def approves_anywhere(self, user: str) -> bool:
        """Whether ``user`` may approve some deletions: a global approver, or one of an
        owner rule's."""
        if self.is_approver(user):
            return True
        return any(self.may_approve_for(user, terms) for terms in self.owners.every_rule())

    def may_vote(self, user: str, request: DeletionRequest) -> bool:
        return self.lifecycle.may_vote(user, request) is None

    def may_approve_for(self, user: str, terms: Terms) -> list[ApprovalPart]:
        """The parts of ``terms``' approval ``user`` counts for."""
        policy = self.lifecycle.policy
        return [p for p in terms.approval.parts if policy.is_member(user, p)]

    def _repositories_of(self, request: DeletionRequest) -> list[str]:
        """The repositories a request deletes from (a cleanup: its plan's)."""
        if request.kind == Kind.PRUNE:  # what it deletes from (kept images: no approval)
            return self.cleanup.repositories(request.id, without=ItemState.KEPT)
        if request.restore_tags:
            return sorted({t.repository for t in request.restore_tags})
        return [request.repository]

    def audit_policy_change(self, actor: str, detail: str) -> AuditEvent:
        """A cleanup policy changed (``detail``: the facts of the change)."""
        return self.store.audit(
            None, self.lifecycle.entry(AuditAction.POLICY_CHANGED, actor, detail)
        )

    def audit_registry_chosen(
        self, conn: Connection, actor: str, channel: str, registry: str
    ) -> AuditEvent:
        """A channel's default registry set, on ``conn`` (the change's transaction)."""
        detail = f"channel {channel}; registry {registry}"
        entry = self.lifecycle.entry(AuditAction.REGISTRY_CHOSEN, actor, detail)
        return self.store.audit(None, entry, conn)

    # -- reading -----------------------------------------------------------------------
    def request(self, request_id: str) -> DeletionRequest | None:
        """A request as it is now (None: there is no such request)."""
        return self.store.get(request_id)

    def freed_since(self, since: datetime) -> tuple[int, int]:
        """What the deletions carried out since ``since`` said garbage collection would
        reclaim (bytes), and how many: at most what it gives back now, as a collection
        since may have given some back already."""
        return self.store.freed_since(since)

    def batch_of(self, request: DeletionRequest) -> list[DeletionRequest]:
        """The requests made with ``request`` (a cleanup split among owners: one per
        owner, in order); just ``request`` when it stands alone."""
        if request.batch is None:
            return [request]
        return self.store.in_batch(request.batch) or [request]

    def pending(self) -> list[DeletionRequest]:
        return self.store.in_states([State.PENDING])

    def waiting_on(self, user: str, limit: int = 200) -> list[DeletionRequest]:
        """The requests waiting for approval that ``user`` may vote on and hasn't (an
        approver, not the requester), oldest first."""
        return [
            r
            for r in self.store.in_states([State.PENDING], limit)
            if user not in r.approvals and self.may_vote(user, r)
        ]

    def requested_by(self, user: str, limit: int = 20) -> list[DeletionRequest]:
        """What ``user`` asked for lately, newest first."""
        return self.store.requested_by(user, limit)

    def recent_audit(self, limit: int = 20) -> list[AuditEvent]:
        return self.store.recent_audit(limit)

    def progress(self, request_id: str) -> Running | None:
        """A request being carried out (by any process), and how far it has got as of
        its last heartbeat; None when it isn't running or has reported nothing yet."""
        data = self.store.progress(request_id)
        request = self.store.get(request_id) if data is not None else None
        if data is None or request is None or request.state != State.EXECUTING:
            return None
        return Running(request, CleanupProgress.from_data(data))

    def cleanup_items(self, request_id: str) -> list[CleanupItem]:
        """The stored plan of a cleanup request, and where each image is."""
        return self.cleanup.items(request_id)

    def undo_until(self, request: DeletionRequest) -> datetime | None:
        """Until when ``request`` can be undone (None: it can't)."""
        if not request.undoable:
            return None
        return self.undo.kept_until(request.id, self.clock())
