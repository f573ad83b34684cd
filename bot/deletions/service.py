"""The deletion workflow: preview (pin the digest), submit, vote, execute, expire.

Every step is a compare-and-set in the store and leaves an audit event; each method
returns the events it wrote, so a front end can mirror them (a Slack thread, a log).
What is deleted always comes from the stored request, never from what a caller passes.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from ..registry import (
    Image,
    ManifestNotFoundError,
    Reference,
    RegistryClient,
    RegistryError,
    describe_digests,
)
from .models import AuditEvent, DeletionRequest, Kind, State
from .policy import ApproverPolicy
from .store import DeletionStore

log = logging.getLogger(__name__)
# States that expiry closes. A request left "submitting" by a crash expires too.
OPEN_STATES = (State.DRAFT, State.SUBMITTING, State.PENDING)

GC_REMINDER = (
    "Disk space comes back only after the registry's garbage collection: run "
    "`registry garbage-collect /etc/docker/registry/config.yml` while the registry is "
    "read-only or stopped."
)


class DeletionRefused(Exception):
    """A deletion that cannot be requested or voted on; the message says why and what
    to do."""


NO_APPROVERS = (
    "Deletions need approvers, and none are configured, so nothing can be deleted. Set "
    "APPROVERS to the Slack user IDs (U...) and user group IDs (S...) allowed to approve, "
    "then restart the bot."
)


@dataclass(frozen=True)
class Preview:
    """A draft request with its pinned digest, and the image it would delete."""

    request: DeletionRequest
    image: Image | None = None


@dataclass(frozen=True)
class VoteResult:
    """What a click did. ``outcome`` is one of: refused, duplicate, approved, rejected,
    cancelled, expired, closed, deleted, failed, busy."""

    outcome: str
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
    ) -> None:
        self.store = store
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

    def _tags_on(self, repository: str, digest: str) -> list[str]:
        """Every tag of ``repository`` that points at ``digest`` now."""
        tags = self.registry.tags(repository)
        heads = self.registry.map(lambda t: self.registry.head_manifest(repository, t), tags)
        return sorted(
            t
            for t, h in zip(tags, heads, strict=True)
            if not isinstance(h, RegistryError) and h.digest == digest
        )

    def preview_manifest(
        self, ref: Reference, reason: str, requester: str, channel: str
    ) -> Preview:
        """Resolve and pin the digest, find every tag on it; no registry change."""
        if not self.policy.configured:
            raise DeletionRefused(NO_APPROVERS)
        if not ref.tag and not ref.digest:
            raise DeletionRefused(
                f"Name what to delete: {ref.repository}:TAG or {ref.repository}@sha256:…"
            )
        digest = self.registry.head_manifest(ref.repository, ref.tag or ref.digest).digest
        if ref.digest and digest != ref.digest:
            raise DeletionRefused(
                f"{ref.repository}:{ref.tag} points at {digest}, not {ref.digest}: "
                "check which image you mean."
            )
        if ref.digest and not ref.tag:
            self.registry.head_manifest(ref.repository, ref.digest)  # exists?
        tags = self._tags_on(ref.repository, digest)
        image = describe_digests(self.registry, ref.repository, [(ref.tag, digest)])[0]
        image = image if isinstance(image, Image) else None
        request = self._new_request(
            kind=Kind.MANIFEST,
            repository=ref.repository,
            tag=ref.tag,
            digest=digest,
            reason=reason,
            requester=requester,
            channel=channel,
            siblings=tuple(t for t in tags if t != ref.tag),
            size=image.size if image else None,
            platforms=tuple(image.platform_names) if image and image.is_index else (),
        )
        return Preview(request, image)

    def preview_blob(self, ref: Reference, reason: str, requester: str, channel: str) -> Preview:
        if not self.policy.configured:
            raise DeletionRefused(NO_APPROVERS)
        if not ref.digest or ref.tag:
            raise DeletionRefused("Name the blob by digest: REPO@sha256:…")
        size = self.registry.blob_size(ref.repository, ref.digest)
        request = self._new_request(
            kind=Kind.BLOB,
            repository=ref.repository,
            digest=ref.digest,
            reason=reason,
            requester=requester,
            channel=channel,
            size=size,
        )
        return Preview(request)

    # -- submit / cancel ---------------------------------------------------------------
    def _get(self, request_id: str) -> DeletionRequest:
        request = self.store.get(request_id)
        if request is None:
            raise DeletionRefused("This deletion request no longer exists.")
        return request

    def _audit(
        self, request: DeletionRequest, actor: str | None, event: str, detail: str = ""
    ) -> AuditEvent:
        return self.store.audit(request.id, actor, event, detail, self.clock())

    def claim_submit(self, request_id: str, user: str) -> DeletionRequest | None:
        """The requester confirmed: claim the draft for posting (None when another click
        already did, or it was closed)."""
        request = self._get(request_id)
        if user != request.requester:
            raise DeletionRefused("Only the person who previewed this deletion can request it.")
        if request.state == State.DRAFT and request.expires_at <= self.clock():
            self.expire(request)
            raise DeletionRefused("This preview has expired; run the delete command again.")
        if not self.store.transition(request_id, [State.DRAFT], State.SUBMITTING):
            return None
        return self._get(request_id)

    def release_submit(self, request_id: str) -> None:
        """Posting the request failed: back to draft, so it can be tried again."""
        self.store.transition(request_id, [State.SUBMITTING], State.DRAFT)

    def submitted(
        self, request_id: str, channel: str, ts: str
    ) -> tuple[DeletionRequest, list[AuditEvent]]:
        """The request message is posted: open it for votes."""
        self.store.transition(
            request_id, [State.SUBMITTING], State.PENDING, message_channel=channel, message_ts=ts
        )
        request = self._get(request_id)
        detail = f"target {request.target}, digest {request.digest}"
        if request.siblings:
            detail += f", also removes tags {', '.join(request.siblings)}"
        if request.reason:
            detail += f", reason: {request.reason}"
        return request, [self._audit(request, request.requester, "requested", detail)]

    def cancel(self, request_id: str, user: str) -> VoteResult:
        """The requester withdraws a draft or a pending request."""
        request = self._get(request_id)
        if user != request.requester:
            raise DeletionRefused("Only the requester can cancel this request.")
        if not self.store.transition(
            request_id,
            [State.DRAFT, State.PENDING],
            State.CANCELLED,
            closed_by=user,
            closed_at=self.clock(),
            outcome="cancelled by the requester",
        ):
            return VoteResult("closed", self._get(request_id), "This request is already closed.")
        request = self._get(request_id)
        return VoteResult("cancelled", request, events=[self._audit(request, user, "cancelled")])

    # -- votes -------------------------------------------------------------------------
    def vote(self, request_id: str, user: str, approve: bool) -> VoteResult:
        """A click on Approve or Reject, by ``user`` (from the verified request)."""
        request = self._get(request_id)
        if request.state != State.PENDING:
            return VoteResult("closed", request, f"This request is already {request.state}.")
        if request.expires_at <= self.clock():
            events = self.expire(request)
            return VoteResult(
                "expired",
                self._get(request_id),
                "This request has expired; it can't be approved any more.",
                events,
            )
        if not approve and user == request.requester:
            return self.cancel(request_id, user)
        decision = self.policy.check(user, request)
        if not decision.allowed:
            event = self._audit(
                request, user, "refused", f"{'approve' if approve else 'reject'}: {decision.reason}"
            )
            return VoteResult("refused", request, decision.reason, [event])
        if not approve:
            self.store.add_vote(request_id, user, False, self.clock())
            if not self.store.transition(
                request_id,
                [State.PENDING],
                State.REJECTED,
                closed_by=user,
                closed_at=self.clock(),
                outcome="rejected",
            ):
                return VoteResult("closed", self._get(request_id), "This request is closed.")
            request = self._get(request_id)
            return VoteResult("rejected", request, events=[self._audit(request, user, "rejected")])
        if not self.store.add_vote(request_id, user, True, self.clock()):
            return VoteResult("duplicate", request, "You have already approved this request.")
        events = [self._audit(request, user, "approved")]
        approvals = [u for u in self.store.approvals(request_id) if u != request.requester]
        if len(approvals) < request.approvals_required:
            return VoteResult("approved", self._get(request_id), events=events)
        result = self.execute(request_id)
        return replace(result, events=events + result.events)

    # -- execution ---------------------------------------------------------------------
    def execute(self, request_id: str) -> VoteResult:
        """At quorum: claim the request (one caller wins), check again, then DELETE the
        pinned digest."""
        if not self.store.transition(request_id, [State.PENDING], State.EXECUTING):
            return VoteResult(
                "busy",
                self._get(request_id),
                "Another approval is already carrying out this request.",
            )
        request = self._get(request_id)
        try:
            if request.kind == Kind.MANIFEST:
                if request.tag:
                    try:
                        now_at = self.registry.resolve(request.repository, request.tag)
                    except ManifestNotFoundError:
                        now_at = None  # the tag is gone; the pinned digest is what was approved
                    if now_at is not None and now_at != request.digest:
                        return self._fail(
                            request,
                            (
                                f"Tag moved: {request.target} now points at {now_at}, not the "
                                f"approved {request.digest}. Nothing was deleted; request the "
                                "deletion again if the new image should go too."
                            ),
                        )
                status = self.registry.delete_manifest(request.repository, request.digest)
            else:
                status = self.registry.delete_blob(request.repository, request.digest)
        except RegistryError as exc:
            return self._fail(request, str(exc))
        outcome = f"Deleted {request.repository}@{request.digest}. {GC_REMINDER}"
        self.store.transition(
            request_id, [State.EXECUTING], State.DELETED, closed_at=self.clock(), outcome=outcome
        )
        request = self._get(request_id)
        detail = f"DELETE {request.repository}@{request.digest}: registry answered HTTP {status}"
        event = self._audit(request, None, "executed", detail)
        return VoteResult("deleted", request, outcome, [event])

    def _fail(self, request: DeletionRequest, why: str) -> VoteResult:
        self.store.transition(
            request.id, [State.EXECUTING], State.FAILED, closed_at=self.clock(), outcome=why
        )
        request = self._get(request.id)
        return VoteResult("failed", request, why, [self._audit(request, None, "failed", why)])

    # -- expiry ------------------------------------------------------------------------
    def expire(self, request: DeletionRequest) -> list[AuditEvent]:
        """Close one request as expired (when still open)."""
        if not self.store.transition(
            request.id,
            OPEN_STATES,
            State.EXPIRED,
            closed_at=self.clock(),
            outcome="expired",
        ):
            return []
        return [
            self._audit(
                request,
                None,
                "expired",
                f"not approved within {self.ttl} of {request.created_at:%Y-%m-%d %H:%M} UTC",
            )
        ]

    def expire_due(self) -> list[tuple[DeletionRequest, list[AuditEvent]]]:
        """Expire every open request past its time; returns those this call closed."""
        closed = []
        for request in self.store.due_for_expiry(self.clock(), OPEN_STATES):
            events = self.expire(request)
            if events:
                closed.append((self._get(request.id), events))
        return closed

    # -- reading -----------------------------------------------------------------------
    def pending(self) -> list[DeletionRequest]:
        return self.store.list([State.PENDING])

    def recent_audit(self, limit: int = 20) -> list[AuditEvent]:
        return self.store.recent_audit(limit)
