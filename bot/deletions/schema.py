"""The SQL schema (SQLAlchemy Core) and its migrations.

``migrate`` brings a database to the newest version: each migration runs once, in
order, recorded in ``schema_version``. To change the schema, append a migration; never
edit one that has shipped.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError


class JSONText(TypeDecorator[Any]):
    """A JSON value kept in a TEXT column (as every version of the schema has them):
    encoded and decoded here, never by hand at the call sites."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return json.loads(value) if value else []


metadata = MetaData()

schema_version = Table(
    "registry_bot_schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
)

requests = Table(
    "deletion_requests",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("repository", String(255), nullable=False),
    Column("tag", String(128)),
    Column("digest", String(160), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("requester", String(32), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("approvals_required", Integer, nullable=False),
    Column("siblings", JSONText, nullable=False, default=list),
    Column("size", BigInteger),
    Column("platforms", JSONText, nullable=False, default=list),
    # Unused since the front end keeps where a request shows (its own table); kept
    # because shipped databases have them (the front end carries their values over).
    Column("message_channel", String(32)),
    Column("message_ts", String(32)),
    Column("audit_channel", String(32)),
    Column("audit_ts", String(32)),
    Column("closed_by", String(32)),
    Column("closed_at", DateTime(timezone=True)),
    # What carrying it out found: typed facts (``Outcome.as_data``); {} until then.
    Column("outcome", JSONText, nullable=False, default=dict),
    # The blast radius, computed at preview time.
    Column("children", JSONText, nullable=False, default=list),
    Column("referrers", JSONText, nullable=False, default=list),
    Column("reclaimable", BigInteger),
    Column("blobs", JSONText, nullable=False, default=list),
    # When a process last claimed the request for submitting or executing (renewed
    # while it works): a claim older than the lease belongs to a process that died.
    Column("claimed_at", DateTime(timezone=True)),
    # A restore request: the executed request whose deletion it undoes (itself, for a
    # tag put back where it was), and for that, the digest the tag may be moved from.
    Column("restores", String(32)),
    Column("moved_to", String(160)),
    # The fencing token of the claim on an executing request: every claim and takeover
    # increments it, and a holder's every write is a compare-and-set on its own.
    Column("claim_token", Integer, nullable=False, default=0),
    # How far a run has got (a cleanup's counts), written with its heartbeat: what the
    # front ends draw while it runs, from any process.
    Column("progress", JSONText),
    # A cleanup's repository name or glob and its retention rules; a restore's tags
    # ([repository, tag] pairs). Each kind's own data in fields of its own.
    Column("pattern", String(255)),
    Column("rules", JSONText),
    Column("restore_tags", JSONText),
    Index("ix_deletion_requests_state", "state"),
)

votes = Table(
    "deletion_votes",
    metadata,
    Column("request_id", String(32), ForeignKey("deletion_requests.id"), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    Column("approve", Boolean, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

audit_events = Table(
    "deletion_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(32)),
    Column("event", String(32), nullable=False),
    Column("detail", Text, nullable=False, default=""),
    # An execution's event: what it found (``Outcome.as_data``).
    Column("outcome", JSONText),
)


undo_manifests = Table(
    "undo_manifests",
    metadata,
    # What a deletion took, kept so it can be put back until garbage collection runs:
    # each manifest's exact bytes and media type, the tags that pointed at its image,
    # and its place in the order of a restore (an index's platforms before the index).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), nullable=False, index=True),
    Column("repository", String(255), nullable=False),
    Column("image", String(160), nullable=False),  # the digest that was deleted
    Column("digest", String(160), nullable=False),
    Column("media_type", String(255), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("tags", JSONText, nullable=False, default=list),
    Column("position", Integer, nullable=False),
    Column("stored_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)

cleanup_items = Table(
    "cleanup_items",
    metadata,
    # One image of a cleanup plan, pinned at preview time: the digest and the tags that
    # pointed at it then. ``state``: planned -> deleting -> deleted, skipped or failed.
    Column("request_id", String(32), nullable=False),
    Column("repository", String(255), nullable=False),
    Column("digest", String(160), nullable=False),
    Column("tags", JSONText, nullable=False, default=list),
    Column("size", BigInteger),
    Column("state", String(16), nullable=False),
    # Typed facts: what its DELETE answered or why it was skipped or failed ("fact"),
    # and for a kept image each tag with why ("kept").
    Column("detail", JSONText, nullable=False, default=dict),
    PrimaryKeyConstraint("request_id", "repository", "digest"),
)


own_writes = Table(
    "own_writes",
    metadata,
    # Every write a request of the bot makes to the registry (a manifest or blob DELETE,
    # a manifest PUT by digest or tag), recorded before it is sent: the registry's
    # events are matched against it to tell the bot's own writes from anyone else's.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(32), nullable=False),
    Column("repository", String(255), nullable=False),
    Column("digest", String(160), nullable=False),
    Column("action", String(16), nullable=False),  # push, delete
    Column("tag", String(128)),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Index("ix_own_writes_target", "repository", "digest"),
)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[requests, votes, audit_events])


def _add_column(conn: Connection, table: Table, name: str) -> None:
    """``ALTER TABLE ... ADD COLUMN`` unless the column is there (a database created
    by ``_v1`` from the current tables already has it)."""
    if name in {c["name"] for c in inspect(conn).get_columns(table.name)}:
        return
    column = table.c[name]
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


def _v2(conn: Connection) -> None:
    _add_column(conn, requests, "claimed_at")


def _v3(conn: Connection) -> None:
    _add_column(conn, requests, "restores")
    _add_column(conn, requests, "moved_to")
    metadata.create_all(conn, tables=[undo_manifests, cleanup_items])


def _v4(conn: Connection) -> None:
    metadata.create_all(conn, tables=[own_writes])


def _v6(conn: Connection) -> None:
    _add_column(conn, requests, "progress")


def _v7(conn: Connection) -> None:
    """Each kind's own data in fields of its own: a cleanup's glob moves out of
    ``repository`` (its rules stay in the reason of requests made before), a restore's
    ``repo:tag`` strings out of ``siblings``."""
    for name in ("pattern", "rules", "restore_tags"):
        _add_column(conn, requests, name)
    conn.execute(
        text(
            "UPDATE deletion_requests SET pattern = repository, repository = '' "
            "WHERE kind = 'prune' AND pattern IS NULL"
        )
    )
    rows = conn.execute(
        text("SELECT id, siblings FROM deletion_requests WHERE kind = 'restore'")
    ).all()
    for request_id, siblings in rows:
        pairs = [list(s.rsplit(":", 1)) for s in json.loads(siblings or "[]") if ":" in s]
        conn.execute(
            text("UPDATE deletion_requests SET restore_tags = :t, siblings = '[]' WHERE id = :i"),
            {"t": json.dumps(pairs), "i": request_id},
        )


def _v5(conn: Connection) -> None:
    _add_column(conn, requests, "claim_token")
    conn.execute(text("UPDATE deletion_requests SET claim_token = 0 WHERE claim_token IS NULL"))


def _v8(conn: Connection) -> None:
    """Outcomes as facts: a request's outcome and a cleanup item's detail, written as
    sentences before, are kept as recorded text (shown as they were); an execution's
    audit event gets its outcome; the success state is ``done`` (a restore deletes
    nothing)."""
    _add_column(conn, audit_events, "outcome")
    conn.execute(text("UPDATE deletion_requests SET state = 'done' WHERE state = 'deleted'"))
    rows = conn.execute(text("SELECT id, state, outcome FROM deletion_requests")).all()
    verdicts = {"done": "done", "failed": "not done"}
    for request_id, state, outcome in rows:
        value: dict[str, object] = {}
        if outcome and state in verdicts | {"executing": ""}:
            value = {
                "verdict": verdicts.get(state, "unknown"),
                "fact": {"finding": "recorded"},
                "text": outcome,
            }
        conn.execute(
            text("UPDATE deletion_requests SET outcome = :o WHERE id = :i"),
            {"o": json.dumps(value), "i": request_id},
        )
    items = conn.execute(
        text("SELECT request_id, repository, digest, detail FROM cleanup_items")
    ).all()
    for request_id, repository, digest, detail in items:
        value = {"fact": {"finding": "recorded", "answer": detail}} if detail else {}
        conn.execute(
            text(
                "UPDATE cleanup_items SET detail = :d WHERE request_id = :r "
                "AND repository = :p AND digest = :g"
            ),
            {"d": json.dumps(value), "r": request_id, "p": repository, "g": digest},
        )


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _v1),
    (2, _v2),
    (3, _v3),
    (4, _v4),
    (5, _v5),
    (6, _v6),
    (7, _v7),
    (8, _v8),
]


def current_version(conn: Connection) -> int:
    return (
        conn.execute(
            select(schema_version.c.version).order_by(schema_version.c.version.desc()).limit(1)
        ).scalar()
        or 0
    )


def migrate(engine: Engine) -> int:
    """Apply every migration the database lacks; returns the resulting version.

    Safe when several replicas start at once: a migration that another process applied
    first is skipped.
    """
    # Another replica may create it at the same moment.
    with contextlib.suppress(IntegrityError, OperationalError, ProgrammingError):
        metadata.create_all(engine, tables=[schema_version])
    for version, apply in MIGRATIONS:
        try:
            with engine.begin() as conn:
                if current_version(conn) >= version:
                    continue
                apply(conn)
                conn.execute(schema_version.insert().values(version=version))
        except (IntegrityError, OperationalError, ProgrammingError):
            with engine.connect() as conn:
                if current_version(conn) < version:
                    raise
    with engine.connect() as conn:
        return current_version(conn)
