"""Policies and their runs in SQL (the ``policies`` room's tables and migrations). A run
is a row per policy and slot, inserted by whichever process gets there first (a
primary key, and an insert that does nothing on conflict, on SQLite and PostgreSQL
alike): so a slot runs exactly once whatever the number of replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    delete,
    func,
    select,
    update,
)

from ..database import (
    CleanString,
    CleanText,
    JSONText,
    Migration,
    UTCDateTime,
    add_column,
    insert_once,
    migrate,
)
from ..deletions import RetentionRules
from .models import Policy, PolicyRun, RunState, Schedule

metadata = MetaData()
policies = Table(
    "cleanup_policies",
    metadata,
    Column("name", CleanString(64), primary_key=True),
    Column("pattern", CleanString(255), nullable=False),
    Column("rules", JSONText, nullable=False),
    Column("schedule", JSONText, nullable=False),
    Column("channel", CleanString(32), nullable=False),
    Column("author", CleanString(32), nullable=False),
    Column("reason", CleanText, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("paused", Boolean, nullable=False, default=False),
)
runs = Table(
    "cleanup_policy_runs",
    metadata,
    Column("policy", CleanString(64), primary_key=True),
    Column("slot", UTCDateTime(), primary_key=True),
    Column("state", CleanString(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
    Column("request_id", CleanString(32)),
    Column("detail", CleanText, nullable=False, default=""),
    Column("late_since", UTCDateTime()),
    Column("manual", Boolean, nullable=False, default=False),
    # Renewed while the claimed run plans: a run not renewed within the lease belongs
    # to a process that died, and another settles it.
    Column("renewed_at", UTCDateTime()),
)

alerts = Table(
    "cleanup_policy_alerts",
    metadata,
    # A policy found overdue for its slot: one row, so it is said once by one process.
    Column("policy", CleanString(64), primary_key=True),
    Column("slot", UTCDateTime(), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
)

ROOM = "policies"


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[policies, runs])


def _v2(conn: Connection) -> None:
    metadata.create_all(conn, tables=[alerts])


def _v3(conn: Connection) -> None:
    add_column(conn, runs, "renewed_at")


MIGRATIONS: list[Migration] = [(1, _v1), (2, _v2), (3, _v3)]


def _policy(row: Any) -> Policy:
    return Policy(
        row.name,
        row.pattern,
        RetentionRules.from_data(row.rules),
        Schedule.from_data(row.schedule),
        row.channel,
        row.author,
        row.created_at,
        row.reason,
        bool(row.paused),
    )


def _run(row: Any) -> PolicyRun:
    return PolicyRun(
        row.policy,
        row.slot,
        RunState(row.state),
        row.started_at,
        row.finished_at,
        row.request_id,
        row.detail,
        row.late_since,
        bool(row.manual),
    )


class PolicyStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        migrate(self.engine, ROOM, MIGRATIONS)

    # -- policies ----------------------------------------------------------------------
    def add(self, policy: Policy) -> bool:
        """Store a new policy; False when one of that name exists."""
        row = {
            "name": policy.name,
            "pattern": policy.pattern,
            "rules": policy.rules.as_data(),
            "schedule": policy.schedule.as_data(),
            "channel": policy.channel,
            "author": policy.author,
            "reason": policy.reason,
            "created_at": policy.created_at,
            "paused": policy.paused,
        }
        with self.engine.begin() as conn:
            return insert_once(conn, policies, row)

    def get(self, name: str) -> Policy | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(policies).where(policies.c.name == name)).first()
        return _policy(row) if row else None

    def all(self) -> list[Policy]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(policies).order_by(policies.c.name)).all()
        return [_policy(r) for r in rows]

    def change(self, policy: Policy) -> bool:
        """Store what ``policy`` now says (its pattern, rules, schedule, channel and
        reason); False when there is no policy of that name."""
        values = {
            "pattern": policy.pattern,
            "rules": policy.rules.as_data(),
            "schedule": policy.schedule.as_data(),
            "channel": policy.channel,
            "reason": policy.reason,
        }
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(policies).where(policies.c.name == policy.name).values(**values)
            ).rowcount
        return bool(moved)

    def set_paused(self, name: str, paused: bool) -> bool:
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(policies).where(policies.c.name == name).values(paused=paused)
            ).rowcount
        return bool(moved)

    def remove(self, name: str) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(delete(policies).where(policies.c.name == name)).rowcount)

    # -- runs --------------------------------------------------------------------------
    def claim(self, run: PolicyRun) -> bool:
        """Insert the run's row unless its slot is claimed already: True for the one
        caller that inserted it."""
        row = {
            "policy": run.policy,
            "slot": run.slot,
            "state": run.state.value,
            "started_at": run.started_at,
            "late_since": run.late_since,
            "manual": run.manual,
            "detail": run.detail,
            "finished_at": run.finished_at,
        }
        with self.engine.begin() as conn:
            return insert_once(conn, runs, row)

    def finish(
        self,
        policy: str,
        slot: datetime,
        state: RunState,
        at: datetime,
        *,
        request_id: str | None = None,
        detail: str = "",
    ) -> bool:
        """A claimed run's end (compare-and-set from ``claimed``)."""
        return self._update_claimed(
            policy, slot, state=state.value, finished_at=at, request_id=request_id, detail=detail
        )

    def runs(self, policy: str, limit: int = 10, manual: bool | None = None) -> list[PolicyRun]:
        """The newest runs of ``policy`` first (scheduled ones only: ``manual=False``)."""
        query = select(runs).where(runs.c.policy == policy)
        if manual is not None:
            query = query.where(runs.c.manual == manual)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(runs.c.slot.desc()).limit(limit)).all()
        return [_run(r) for r in rows]

    def renew(self, policy: str, slot: datetime, at: datetime) -> bool:
        """A planning run's lease renewed (while it is still claimed)."""
        return self._update_claimed(policy, slot, renewed_at=at)

    def _update_claimed(self, policy: str, slot: datetime, **values: object) -> bool:
        """Set ``values`` on the run of ``policy`` at ``slot`` if it is still claimed
        (compare-and-set): True when it was."""
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(runs)
                .where(
                    runs.c.policy == policy,
                    runs.c.slot == slot,
                    runs.c.state == RunState.CLAIMED.value,
                )
                .values(**values)
            ).rowcount
        return bool(moved)

    def stale(self, before: datetime) -> list[PolicyRun]:
        """Claimed runs last renewed (or claimed) before ``before`` and never finished:
        their process died."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(runs).where(
                    runs.c.state == RunState.CLAIMED.value,
                    func.coalesce(runs.c.renewed_at, runs.c.started_at) < before,
                )
            ).all()
        return [_run(r) for r in rows]

    def alert_once(self, policy: str, slot: datetime, at: datetime) -> bool:
        """Record that ``policy`` is overdue for ``slot``: True for the one caller that
        recorded it (the one to say so)."""
        row = {"policy": policy, "slot": slot, "at": at}
        with self.engine.begin() as conn:
            return insert_once(conn, alerts, row)
