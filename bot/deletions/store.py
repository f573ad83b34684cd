"""The deletion store: requests, votes and the append-only audit log, in SQL.

Every state change is a compare-and-set (``UPDATE ... WHERE id = ? AND state IN (...)
RETURNING ...``), so concurrent clicks, retried deliveries and several replicas sharing
one database agree on a single outcome; the change and the audit event that records it
are one transaction, so neither is ever written without the other. A vote is a row
keyed by (request, user): one person counts once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from ..blobindex import Basis
from ..database import DEFAULT_DATABASE_URL, make_engine, normalize_url, schema_versions
from .models import (
    AuditAction,
    AuditEntry,
    AuditEvent,
    DeletionRequest,
    Kind,
    PlatformChild,
    State,
    TagRef,
)
from .outcomes import Outcome
from .owners import Approval
from .retention import RetentionRules
from .schema import ROOM, audit_events, migrate, requests, votes


def _row_to_request(row: Any, approvals: Iterable[str] = ()) -> DeletionRequest:
    return DeletionRequest(
        id=row.id,
        kind=Kind(row.kind),
        repository=row.repository,
        tag=row.tag,
        digest=row.digest,
        reason=row.reason,
        requester=row.requester,
        channel=row.channel,
        state=State(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
        approvals_required=row.approvals_required,
        siblings=tuple(row.siblings),
        size=row.size,
        platforms=tuple(row.platforms),
        closed_by=row.closed_by,
        closed_at=row.closed_at,
        outcome=_outcome(row.outcome),
        approvals=tuple(approvals),
        children=tuple(_child(c) for c in row.children),
        referrers=tuple(row.referrers),
        reclaimable=row.reclaimable,
        blobs=tuple((d, s) for d, s in row.blobs),
        reclaim_basis=Basis.from_data(row.reclaim_basis) if row.reclaim_basis else None,
        claimed_at=row.claimed_at,
        restores=row.restores,
        moved_to=row.moved_to,
        pattern=row.pattern,
        rules=RetentionRules.from_data(row.rules) if isinstance(row.rules, dict) else None,
        restore_tags=tuple(TagRef(r, t) for r, t in row.restore_tags),
        claim_token=row.claim_token or 0,
        approval=Approval.from_data(row.approval) if isinstance(row.approval, dict) else None,
        batch=row.batch,
    )


def _outcome(stored: object) -> Outcome | None:
    """A stored outcome (an empty object when there is none yet)."""
    return Outcome.from_data(stored) if isinstance(stored, dict) and stored else None


def _outcome_data(outcome: Outcome | None) -> dict[str, object]:
    return outcome.as_data() if outcome is not None else {}


def _child(stored: str | list[str]) -> PlatformChild:
    """A stored platform child: [digest, platform], or "digest platform" as versions
    before typed children wrote it."""
    if isinstance(stored, str):
        digest, _, platform = stored.partition(" ")
        return PlatformChild(digest, platform)
    return PlatformChild(stored[0], stored[1])


def _row_to_event(row: Any) -> AuditEvent:
    return AuditEvent(
        row.id,
        row.request_id,
        row.at,
        row.actor,
        AuditAction(row.event),
        row.detail,
        _outcome(row.outcome),
    )


@dataclass(frozen=True)
class LegacyPost:
    """Where a version before the front ends kept their own tables said a request was
    shown (columns kept because shipped databases have them): ``audit`` for its audit
    thread's parent, else its request message."""

    request_id: str
    audit: bool
    channel: str
    ts: str


def legacy_posts(conn: Connection) -> list[LegacyPost]:
    """Every such place, on ``conn`` (a front end's migration carries them over)."""
    found = []
    for audit, (channel, ts) in (
        (False, ("message_channel", "message_ts")),
        (True, ("audit_channel", "audit_ts")),
    ):
        rows = conn.execute(
            select(requests.c.id, requests.c[channel], requests.c[ts]).where(
                requests.c[channel].is_not(None), requests.c[ts].is_not(None)
            )
        )
        found += [LegacyPost(r[0], audit, r[1], r[2]) for r in rows]
    return found


@dataclass(frozen=True)
class Moved:
    """A state change this call made: the request as it is now, and the audit event
    written with it (None when none was asked for)."""

    request: DeletionRequest
    event: AuditEvent | None = None


def _write_audit(conn: Connection, request_id: str | None, entry: AuditEntry) -> AuditEvent:
    detail = entry.detail
    result = conn.execute(
        insert(audit_events).values(
            request_id=request_id,
            at=entry.at,
            actor=entry.actor,
            event=entry.action.value,
            detail=detail,
            outcome=entry.outcome.as_data() if entry.outcome is not None else None,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return AuditEvent(
        int(key[0]), request_id, entry.at, entry.actor, entry.action, detail, entry.outcome
    )


class DeletionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- requests ----------------------------------------------------------------------
    def insert(self, request: DeletionRequest) -> None:
        row = {
            "id": request.id,
            "kind": request.kind.value,
            "repository": request.repository,
            "tag": request.tag,
            "digest": request.digest,
            "reason": request.reason,
            "requester": request.requester,
            "channel": request.channel,
            "state": request.state.value,
            "created_at": request.created_at,
            "expires_at": request.expires_at,
            "approvals_required": request.approvals_required,
            "siblings": list(request.siblings),
            "size": request.size,
            "platforms": list(request.platforms),
            "outcome": _outcome_data(request.outcome),
            "children": [[c.digest, c.platform] for c in request.children],
            "referrers": list(request.referrers),
            "reclaimable": request.reclaimable,
            "blobs": [list(b) for b in request.blobs],
            "reclaim_basis": request.reclaim_basis.as_data() if request.reclaim_basis else None,
            "restores": request.restores,
            "moved_to": request.moved_to,
            "pattern": request.pattern,
            "rules": request.rules.as_data() if request.rules else None,
            "restore_tags": [[t.repository, t.tag] for t in request.restore_tags],
            "approval": request.approval.as_data() if request.approval else None,
            "batch": request.batch,
        }
        with self.engine.begin() as conn:
            conn.execute(insert(requests).values(**row))

    def get(self, request_id: str) -> DeletionRequest | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(requests).where(requests.c.id == request_id)).first()
            if row is None:
                return None
            return _row_to_request(row, self._approvals(conn, request_id))

    def freed_since(self, since: datetime) -> tuple[int, int]:
        """The bytes the deletions carried out since ``since`` said garbage collection
        would reclaim, and how many deletions said so."""
        query = select(func.coalesce(func.sum(requests.c.reclaimable), 0), func.count()).where(
            requests.c.state == State.DONE.value,
            requests.c.closed_at >= since,
            requests.c.reclaimable > 0,
        )
        with self.engine.connect() as conn:
            total, count = conn.execute(query).one()
        return int(total), int(count)

    def in_states(self, states: Iterable[State], limit: int = 50) -> list[DeletionRequest]:
        """Requests in ``states``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(requests)
                .where(requests.c.state.in_([s.value for s in states]))
                .order_by(requests.c.created_at)
                .limit(limit)
            ).all()
            return [_row_to_request(r, self._approvals(conn, r.id)) for r in rows]

    def in_batch(self, batch: str) -> list[DeletionRequest]:
        """The drafts of one cleanup split among owners, in the order they were made."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(requests).where(requests.c.batch == batch).order_by(requests.c.created_at)
            ).all()
            return [_row_to_request(r, self._approvals(conn, r.id)) for r in rows]

    def requested_by(self, user: str, limit: int = 20) -> list[DeletionRequest]:
        """The newest requests ``user`` made, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(requests)
                .where(requests.c.requester == user)
                .order_by(requests.c.created_at.desc())
                .limit(limit)
            ).all()
            return [_row_to_request(r, self._approvals(conn, r.id)) for r in rows]

    def due_for_expiry(self, now: datetime, states: Iterable[State]) -> list[DeletionRequest]:
        """Requests in ``states`` past their expiry."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(requests).where(
                    requests.c.state.in_([s.value for s in states]),
                    requests.c.expires_at <= now,
                )
            ).all()
            return [_row_to_request(r) for r in rows]

    # -- a request's steps, each a compare-and-set with its audit event ------------------
    def claim_for_posting(
        self, request_id: str, at: datetime, *, tag_only: bool = False, reason: str | None = None
    ) -> DeletionRequest | None:
        """A draft claimed for its message to be posted (one click wins); ``tag_only``
        turns an image's deletion into its named tag's removal alone; ``reason``, when
        given, replaces the one typed with the command."""
        extra: dict[str, Any] = {}
        if tag_only:
            extra = {"kind": Kind.TAG.value, "reclaimable": 0, "blobs": [], "reclaim_basis": None}
        if reason is not None:
            extra["reason"] = reason
        moved = self._move(request_id, [State.DRAFT], State.SUBMITTING, claimed_at=at, **extra)
        return moved.request if moved else None

    def give_back(self, request_id: str) -> bool:
        """A request whose posting failed (or never finished) goes back to draft."""
        return self._move(request_id, [State.SUBMITTING], State.DRAFT, claimed_at=None) is not None

    def open_for_votes(self, request_id: str, audit: AuditEntry) -> Moved | None:
        """The request is in front of the approvers."""
        return self._move(
            request_id, [State.SUBMITTING], State.PENDING, audit=audit, claimed_at=None
        )

    def close(
        self,
        request_id: str,
        from_states: Iterable[State],
        to: State,
        *,
        by: str | None,
        at: datetime,
        audit: AuditEntry,
    ) -> Moved | None:
        """Closed by a person's decision (rejected, cancelled) or by time (expired)."""
        return self._move(request_id, from_states, to, audit=audit, closed_by=by, closed_at=at)

    def settle(
        self,
        request_id: str,
        token: int,
        to: State,
        *,
        outcome: Outcome,
        at: datetime,
        audit: AuditEntry,
    ) -> Moved | None:
        """What an execution found, by the claim ``token`` holds: deleted or failed
        (closed), or still executing with its claim dropped (not known yet: the next
        sweep asks again)."""
        closing = {} if to == State.EXECUTING else {"closed_at": at}
        return self._move(
            request_id,
            [State.EXECUTING],
            to,
            audit=audit,
            token=token,
            outcome=outcome.as_data(),
            claimed_at=None,
            **closing,
        )

    def _move(
        self,
        request_id: str,
        from_states: Iterable[State],
        to: State,
        *,
        audit: AuditEntry | None = None,
        token: int | None = None,
        **values: Any,
    ) -> Moved | None:
        """Compare-and-set: move to ``to`` only from one of ``from_states`` (and, given
        a ``token``, only while the claim is that one), writing ``audit`` in the same
        transaction. The change when this call made it (exactly one concurrent caller
        does), else None and nothing is written."""
        fence = [requests.c.claim_token == token] if token is not None else []
        with self.engine.begin() as conn:
            row = conn.execute(
                update(requests)
                .where(
                    requests.c.id == request_id,
                    requests.c.state.in_([s.value for s in from_states]),
                    *fence,
                )
                .values(state=to.value, **values)
                .returning(*requests.c)
            ).first()
            if row is None:
                return None
            event = _write_audit(conn, request_id, audit) if audit is not None else None
            return Moved(_row_to_request(row, self._approvals(conn, request_id)), event)

    # -- votes -------------------------------------------------------------------------
    @staticmethod
    def _approvals(conn: Connection, request_id: str) -> list[str]:
        return list(
            conn.execute(
                select(votes.c.user_id)
                .where(votes.c.request_id == request_id, votes.c.approve.is_(True))
                .order_by(votes.c.at)
            ).scalars()
        )

    def approve(self, request_id: str, user: str, audit: AuditEntry) -> AuditEvent | None:
        """Record ``user``'s approval and its audit event, in one transaction; None
        (and nothing written) when this user has already approved this request."""
        factory = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            added = conn.execute(
                factory(votes)
                .values(request_id=request_id, user_id=user, approve=True, at=audit.at)
                .on_conflict_do_nothing()
                .returning(votes.c.user_id)
            ).first()
            if added is None:
                return None
            return _write_audit(conn, request_id, audit)

    def approvals(self, request_id: str) -> list[str]:
        with self.engine.connect() as conn:
            return self._approvals(conn, request_id)

    # -- audit -------------------------------------------------------------------------
    def audit(
        self, request_id: str | None, entry: AuditEntry, conn: Connection | None = None
    ) -> AuditEvent:
        """Append one audit event that records no state change (a refused vote, an
        outside deletion); on ``conn``, within the caller's transaction. The table is
        only ever inserted into."""
        if conn is not None:
            return _write_audit(conn, request_id, entry)
        with self.engine.begin() as own:
            return _write_audit(own, request_id, entry)

    def recent_audit(self, limit: int = 20) -> list[AuditEvent]:
        """The newest ``limit`` events, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
            ).all()
        return [_row_to_event(r) for r in rows]

    def stale_claims(self, states: Iterable[State], before: datetime) -> list[DeletionRequest]:
        """Requests in ``states`` whose claim is older than ``before`` (or was dropped):
        the process that held them died, or gave them up to be checked again."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(requests).where(
                    requests.c.state.in_([s.value for s in states]),
                    (requests.c.claimed_at.is_(None)) | (requests.c.claimed_at < before),
                )
            ).all()
            return [_row_to_request(r) for r in rows]

    def claim(self, request_id: str, at: datetime) -> DeletionRequest | None:
        """Claim a pending request for execution (compare-and-set): the request, with
        its new token, when this call won; None when another did."""
        moved = self._move(
            request_id,
            [State.PENDING],
            State.EXECUTING,
            claimed_at=at,
            claim_token=requests.c.claim_token + 1,
        )
        return moved.request if moved else None

    def take_over(
        self, request_id: str, token: int, stale_before: datetime, at: datetime
    ) -> int | None:
        """Take over an executing request whose claim (``token``) was not renewed since
        ``stale_before`` (compare-and-set: one caller wins, and a renewal meanwhile
        wins over it); the new token, or None."""
        claimed = requests.c.claimed_at
        with self.engine.begin() as conn:
            row = conn.execute(
                update(requests)
                .where(
                    requests.c.id == request_id,
                    requests.c.state == State.EXECUTING.value,
                    requests.c.claim_token == token,
                    claimed.is_(None) | (claimed < stale_before),
                )
                .values(claim_token=requests.c.claim_token + 1, claimed_at=at)
                .returning(requests.c.claim_token)
            ).first()
            return None if row is None else int(row[0])

    def renew_claim(
        self,
        request_id: str,
        token: int,
        at: datetime | None,
        progress: dict[str, object] | None = None,
    ) -> bool:
        """Renew the claim ``token`` holds (``at`` None drops it, to be taken up again
        by the next sweep), with the run's latest ``progress`` when given; False when
        the claim is no longer that token's."""
        values: dict[str, Any] = {"claimed_at": at}
        if progress is not None:
            values["progress"] = progress
        with self.engine.begin() as conn:
            result = conn.execute(
                update(requests)
                .where(
                    requests.c.id == request_id,
                    requests.c.state == State.EXECUTING.value,
                    requests.c.claim_token == token,
                )
                .values(**values)
            )
            return result.rowcount == 1

    def progress(self, request_id: str) -> dict[str, Any] | None:
        """The last progress a run of the request wrote, while it is executing."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(requests.c.progress).where(
                    requests.c.id == request_id, requests.c.state == State.EXECUTING.value
                )
            ).first()
        if row is None or not isinstance(row.progress, dict):
            return None
        return row.progress


class DatabaseUnavailable(RuntimeError):
    """The database can't be opened, migrated or written: where (``shown``: its URL
    without the password), why (``reason``: the driver's first line), and whether it
    is because it is read-only."""

    def __init__(self, shown: str, reason: str, *, read_only: bool) -> None:
        super().__init__(f"{shown}: {reason}")
        self.shown = shown
        self.reason = reason
        self.read_only = read_only


def check_database(url: str) -> None:
    """Open the database and bring its schema up to date, or raise DatabaseUnavailable."""
    shown = make_url(normalize_url(url)).render_as_string(hide_password=True)
    try:
        engine = make_engine(url)
        try:
            migrate(engine)
            # A read-only database (file permissions, a replica, a read-only role) is
            # found now rather than at the first deletion: write a row that changes
            # nothing, and commit.
            with engine.begin() as conn:
                conn.execute(
                    update(schema_versions)
                    .where(schema_versions.c.room == ROOM)
                    .values(version=schema_versions.c.version)
                )
        finally:
            engine.dispose()
    except Exception as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        read_only = "read-only" in reason or "readonly" in reason
        raise DatabaseUnavailable(shown, reason, read_only=read_only) from None


def open_store(url: str = DEFAULT_DATABASE_URL) -> DeletionStore:
    """Connect to ``url``, create or migrate the schema, and return the store."""
    engine = make_engine(url)
    migrate(engine)
    return DeletionStore(engine)
