"""A request's life, as a state machine: a draft made (its digest pinned by a preview),
claimed for posting, opened for votes, closed by a person's decision, counted to its
quorum, settled with what its execution found, or expired.

Every step is a compare-and-set in the store, written with its audit event in one
transaction. Nothing here calls the registry: what happens to images is the work's
(``work``), which reports it here as an ``Outcome`` to settle.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .claims import Claim
from .models import OPEN, AuditAction, AuditEntry, AuditEvent, DeletionRequest, Kind, State
from .outcomes import Outcome, Verdict
from .owners import Approval, ApprovalPart, Owners, Standing, standing
from .policy import ApproverPolicy
from .reports import blast_radius
from .results import DeletionRefused, Effect, NoApprovers, Refusal, Result
from .store import DeletionStore

# States that expiry closes (OPEN). A request left "submitting" by a crash expires too.
OPEN_STATES = sorted(OPEN)


def _repositories(request: DeletionRequest) -> list[str]:
    """The repositories a request deletes from, as far as the request itself says."""
    if request.restore_tags:
        return sorted({t.repository for t in request.restore_tags})
    return [request.repository]


@dataclass(frozen=True)
class Counted:
    """A vote counted: what it did, and whether it brought the request to its quorum
    (the request is then to be carried out)."""

    result: Result
    quorum: bool = False
    events: list[AuditEvent] = field(default_factory=list)


class Lifecycle:
    def __init__(
        self,
        store: DeletionStore,
        policy: ApproverPolicy,
        *,
        approvals_required: int,
        ttl: timedelta,
        clock: Callable[[], datetime],
        owners: Owners,
    ) -> None:
        self.store = store
        self.policy = policy
        self.approvals_required = approvals_required
        self.ttl = ttl
        self.clock = clock
        self.owners = owners
        # The repositories a request deletes from (the service knows a cleanup's).
        self.repositories_of: Callable[[DeletionRequest], list[str]] = _repositories

    # -- what approving takes ----------------------------------------------------------
    def approval_for(self, repositories: list[str]) -> Approval:
        """What approving a deletion from ``repositories`` takes now: what each of their
        owners asks (one owner, as a request is made; more, when rules changed since)."""
        approval: Approval | None = None
        for repository in dict.fromkeys(repositories) or [""]:
            terms = self.owners.terms_for(repository).approval
            approval = terms if approval is None else approval.with_(terms)
        assert approval is not None
        return approval

    def pinned(self, request: DeletionRequest) -> Approval:
        """What approving ``request`` took when it was made (made before owners: the
        global approvers, and its own quorum)."""
        if request.approval is not None:
            return request.approval
        default = self.owners.default.approval.parts[0]
        return Approval((ApprovalPart(default.users, default.groups, request.approvals_required),))

    def standing(self, request: DeletionRequest) -> Standing:
        """Where ``request`` stands: its approvals against what it was pinned to, and
        what its owner asks now when that is more (a rule made stricter since)."""
        pinned = self.pinned(request)
        # With no owner rules, what it deletes from changes nothing: it isn't read.
        now = self.approval_for(self.repositories_of(request) if self.owners.rules else [])
        effective = pinned.with_(now)
        raised = effective.parts != pinned.parts
        return standing(
            effective, request.approvals, request.requester, self.policy.is_member, raised
        )

    def may_vote(self, user: str, request: DeletionRequest) -> Refusal | None:
        """Why ``user`` may not vote on ``request`` (None: they may)."""
        if user == request.requester:
            return Refusal.OWN_REQUEST
        parts = self.standing(request).approval.parts
        if not any(self.policy.is_member(user, part) for part in parts):
            return Refusal.NOT_APPROVER
        return None

    # -- reading and auditing ----------------------------------------------------------
    def get(self, request_id: str) -> DeletionRequest:
        request = self.store.get(request_id)
        if request is None:
            raise DeletionRefused(Refusal.REQUEST_GONE, request_id=request_id)
        return request

    def entry(self, action: AuditAction, actor: str | None = None, detail: str = "") -> AuditEntry:
        """An audit event stamped now, to be written with the change it records."""
        return AuditEntry(action, self.clock(), actor, detail)

    def audit(
        self, request: DeletionRequest, actor: str | None, action: AuditAction, detail: str = ""
    ) -> AuditEvent:
        """An audit event that records no state change (a refused vote)."""
        return self.store.audit(request.id, self.entry(action, actor, detail))

    # -- drafts and posting ------------------------------------------------------------
    def check_configured(self) -> None:
        if not self.policy.configured:
            raise NoApprovers()

    def new_draft(self, *, restores_itself: bool = False, **fields: Any) -> DeletionRequest:
        """Store a new draft request (a preview's), open until the approval TTL; with
        ``restores_itself``, a restore of what it keeps itself (a tag pointed back)."""
        now = self.clock()
        request_id = secrets.token_hex(8)
        if restores_itself:
            fields["restores"] = request_id
        tags = fields.get("restore_tags") or ()
        repositories = sorted({t.repository for t in tags}) or [fields["repository"]]
        approval = fields.pop("approval", None) or self.approval_for(repositories)
        request = DeletionRequest(
            id=request_id,
            state=State.DRAFT,
            created_at=now,
            expires_at=now + self.ttl,
            approvals_required=sum(p.approvals for p in approval.parts),
            approval=approval,
            **fields,
        )
        self.store.insert(request)
        return request

    def claim_submit(
        self, request_id: str, user: str, as_untag: bool = False, reason: str | None = None
    ) -> DeletionRequest | None:
        """The requester confirmed: claim the draft for posting (None when another click
        already did, or it was closed). ``as_untag`` turns an image preview into the
        removal of its named tag only; ``reason`` (given when they confirmed) replaces
        the one typed with the command."""
        request = self.get(request_id)
        if user != request.requester:
            raise DeletionRefused(Refusal.NOT_PREVIEWER)
        if request.state == State.DRAFT and request.expires_at <= self.clock():
            self.expire(request)
            raise DeletionRefused(Refusal.PREVIEW_EXPIRED)
        if as_untag and (request.kind != Kind.MANIFEST or not request.tag):
            raise DeletionRefused(Refusal.NOT_A_TAG_PREVIEW)
        return self.store.claim_for_posting(
            request_id, self.clock(), tag_only=as_untag, reason=reason
        )

    def release_submit(self, request_id: str) -> None:
        """Posting the request failed: back to draft, so it can be tried again."""
        self.store.give_back(request_id)

    def submitted(self, request_id: str) -> tuple[DeletionRequest, list[AuditEvent]]:
        """The request is in front of the approvers: open it for votes (and audit it,
        in the same transaction). Nothing is audited when the request was given back or
        closed meanwhile."""
        request = self.get(request_id)
        moved = self.store.open_for_votes(
            request_id, self.entry(AuditAction.REQUESTED, request.requester, blast_radius(request))
        )
        if moved is None or moved.event is None:
            return self.get(request_id), []
        return moved.request, [moved.event]

    def give_back_stale_submits(self, stale_before: datetime) -> None:
        """Drafts whose posting never finished (a process died midway) go back to draft."""
        for request in self.store.stale_claims([State.SUBMITTING], stale_before):
            self.store.give_back(request.id)

    # -- a person's decision -----------------------------------------------------------
    def cancel(self, request_id: str, user: str) -> Result:
        """The requester withdraws a draft or a pending request."""
        request = self.get(request_id)
        if user != request.requester:
            raise DeletionRefused(Refusal.NOT_REQUESTER)
        return self._close(
            request_id,
            [State.DRAFT, State.PENDING],
            State.CANCELLED,
            user,
        )

    def _close(self, request_id: str, from_states: list[State], to: State, user: str) -> Result:
        """Close a request by a person's decision (compare-and-set), and audit it."""
        moved = self.store.close(
            request_id,
            from_states,
            to,
            by=user,
            at=self.clock(),
            audit=self.entry(AuditAction(to.value), user),
        )
        if moved is None or moved.event is None:
            return Result(Effect.CLOSED, self.get(request_id))
        return Result(Effect(to.value), moved.request, events=[moved.event])

    def supersede(self, request_id: str, newer: str) -> Result:
        """Close a request still waiting for votes because ``newer`` (a later run of the
        same policy) asks instead; a late click on it is then refused."""
        moved = self.store.close(
            request_id,
            OPEN_STATES,
            State.SUPERSEDED,
            by=None,
            at=self.clock(),
            audit=self.entry(AuditAction.SUPERSEDED, None, f"by request {newer}"),
        )
        if moved is None or moved.event is None:
            return Result(Effect.CLOSED, self.get(request_id))
        return Result(Effect.CLOSED, moved.request, events=[moved.event])

    def refuse(self, request_id: str, user: str, attempt: str, why: Refusal) -> Result:
        """A vote the front end refused before counting it (a click on a copy of the
        request, say): the refusal is audited like any other."""
        request = self.get(request_id)
        event = self.audit(request, user, AuditAction.REFUSED, f"{attempt}: {why.value}")
        return Result(Effect.REFUSED, request, why, [event])

    def vote(self, request_id: str, user: str, approve: bool) -> Counted:
        """A click on Approve or Reject, by ``user`` (from the verified request)."""
        request = self.get(request_id)
        attempt = "approve" if approve else "reject"
        if request.state != State.PENDING:
            return Counted(Result(Effect.CLOSED, request))
        if request.expires_at <= self.clock():
            events = self.expire(request)
            return Counted(Result(Effect.EXPIRED, self.get(request_id), events=events))
        if not approve and user == request.requester:
            return Counted(self.cancel(request_id, user))
        refusal = self.may_vote(user, request)
        if refusal is not None:
            return Counted(self.refuse(request_id, user, attempt, refusal))
        if not approve:
            return Counted(self._close(request_id, [State.PENDING], State.REJECTED, user))
        approved = self.store.approve(request_id, user, self.entry(AuditAction.APPROVED, user))
        if approved is None:
            return Counted(Result(Effect.DUPLICATE, request))
        now = self.get(request_id)
        counted = Result(Effect.APPROVED, now, events=[approved])
        return Counted(counted, self.standing(now).met, [approved])

    # -- execution's beginning and end -------------------------------------------------
    def claim(self, request_id: str) -> DeletionRequest | None:
        """At quorum: claim the request for execution (one caller wins)."""
        return self.store.claim(request_id, self.clock())

    def busy(self, request_id: str) -> Result:
        return Result(Effect.BUSY, self.get(request_id))

    def taken_over(self, request_id: str) -> Result:
        """This holder stalled or lost its database past the lease; another holder
        carries the request out and reports."""
        return Result(Effect.TAKEN_OVER, self.get(request_id))

    def settle(self, request: DeletionRequest, outcome: Outcome, claim: Claim) -> Result:
        """Record what execution (or recovery) found: deleted, failed, or not known yet
        (the claim is dropped, so the next sweep asks the registry again). Only the
        claim's holder may: a stale one's settlement is refused (TAKEN_OVER)."""
        to, action, result = {
            Verdict.UNKNOWN: (State.EXECUTING, AuditAction.UNKNOWN, Effect.UNKNOWN),
            Verdict.DONE: (State.DONE, AuditAction.EXECUTED, Effect.DONE),
            Verdict.NOT_DONE: (State.FAILED, AuditAction.FAILED, Effect.FAILED),
        }[outcome.verdict]
        moved = self.store.settle(
            request.id,
            claim.token,
            to,
            outcome=outcome,
            at=self.clock(),
            audit=AuditEntry(action, self.clock(), outcome=outcome),
        )
        if moved is None or moved.event is None:
            now = self.get(request.id)
            if now.claim_token != claim.token:
                return self.taken_over(request.id)
            return Result(Effect.CLOSED, now)
        return Result(result, moved.request, events=[moved.event])

    # -- expiry ------------------------------------------------------------------------
    def expire(self, request: DeletionRequest) -> list[AuditEvent]:
        """Close one request as expired (when still open)."""
        detail = f"not approved within {self.ttl} of {request.created_at:%Y-%m-%d %H:%M} UTC"
        moved = self.store.close(
            request.id,
            OPEN_STATES,
            State.EXPIRED,
            by=None,
            at=self.clock(),
            audit=self.entry(AuditAction.EXPIRED, None, detail),
        )
        return [moved.event] if moved and moved.event else []

    def expire_due(self) -> list[tuple[DeletionRequest, list[AuditEvent]]]:
        """Expire every open request past its time; returns the requests closed now."""
        closed = []
        for request in self.store.due_for_expiry(self.clock(), OPEN_STATES):
            events = self.expire(request)
            if events:
                closed.append((self.get(request.id), events))
        return closed
