"""The deletion room's SQL schema (SQLAlchemy Core) and its migrations.

``migrate`` brings a database to the newest version: each migration runs once, in
order, recorded as the ``deletions`` room's version (``database.migrate``). To change
the schema, append a migration; never edit one that has shipped.
"""

from __future__ import annotations

import json

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

from ..database import CleanString, CleanText, JSONText, Migration, UTCDateTime, add_column
from ..database import migrate as migrate_room

metadata = MetaData()

# Where versions were recorded before each room had its row in ``registry_bot_schema``:
# read once, to start the room from there.
legacy_version = Table(
    "registry_bot_schema_version",
    MetaData(),
    Column("version", Integer, primary_key=True),
)

requests = Table(
    "deletion_requests",
    metadata,
    Column("id", CleanString(32), primary_key=True),
    Column("kind", CleanString(16), nullable=False),
    Column("repository", CleanString(255), nullable=False),
    Column("tag", CleanString(128)),
    Column("digest", CleanString(160), nullable=False),
    Column("reason", CleanText, nullable=False, default=""),
    Column("requester", CleanString(32), nullable=False),
    Column("channel", CleanString(32), nullable=False),
    Column("state", CleanString(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("approvals_required", Integer, nullable=False),
    Column("siblings", JSONText, nullable=False, default=list),
    Column("size", BigInteger),
    Column("platforms", JSONText, nullable=False, default=list),
    # Unused since the front end keeps where a request shows (its own table); kept
    # because shipped databases have them (the front end carries their values over).
    Column("message_channel", CleanString(32)),
    Column("message_ts", CleanString(32)),
    Column("audit_channel", CleanString(32)),
    Column("audit_ts", CleanString(32)),
    Column("closed_by", CleanString(32)),
    Column("closed_at", UTCDateTime()),
    # What carrying it out found: typed facts (``Outcome.as_data``); {} until then.
    Column("outcome", JSONText, nullable=False, default=dict),
    # The blast radius, computed at preview time.
    Column("children", JSONText, nullable=False, default=list),
    Column("referrers", JSONText, nullable=False, default=list),
    Column("reclaimable", BigInteger),
    Column("blobs", JSONText, nullable=False, default=list),
    # When a process last claimed the request for submitting or executing (renewed
    # while it works): a claim older than the lease belongs to a process that died.
    Column("claimed_at", UTCDateTime()),
    # A restore request: the executed request whose deletion it undoes (itself, for a
    # tag put back where it was), and for that, the digest the tag may be moved from.
    Column("restores", CleanString(32)),
    Column("moved_to", CleanString(160)),
    # The fencing token of the claim on an executing request: every claim and takeover
    # increments it, and a holder's every write is a compare-and-set on its own.
    Column("claim_token", Integer, nullable=False, default=0),
    # How far a run has got (a cleanup's counts), written with its heartbeat: what the
    # front ends draw while it runs, from any process.
    Column("progress", JSONText),
    # A cleanup's repository name or glob and its retention rules; a restore's tags
    # ([repository, tag] pairs). Each kind's own data in fields of its own.
    Column("pattern", CleanString(255)),
    Column("rules", JSONText),
    Column("restore_tags", JSONText),
    # What ``reclaimable`` rests on when drawn from the registry-wide index (how much of
    # the registry was known); null for figures counted within the repository.
    Column("reclaim_basis", JSONText),
    # What approving it takes, pinned at preview (``Approval.as_data``: its owner's
    # approvers and quorum, or the global ones); null for requests made before owners.
    Column("approval", JSONText),
    # The drafts of one cleanup split among owners share it (null: not split).
    Column("batch", CleanString(32)),
    Index("ix_deletion_requests_state", "state"),
)

votes = Table(
    "deletion_votes",
    metadata,
    Column("request_id", CleanString(32), ForeignKey("deletion_requests.id"), primary_key=True),
    Column("user_id", CleanString(32), primary_key=True),
    Column("approve", Boolean, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
)

audit_events = Table(
    "deletion_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", CleanString(32), index=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", CleanString(32)),
    Column("event", CleanString(32), nullable=False),
    Column("detail", CleanText, nullable=False, default=""),
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
    Column("request_id", CleanString(32), nullable=False, index=True),
    Column("repository", CleanString(255), nullable=False),
    Column("image", CleanString(160), nullable=False),  # the digest that was deleted
    Column("digest", CleanString(160), nullable=False),
    Column("media_type", CleanString(255), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("tags", JSONText, nullable=False, default=list),
    Column("position", Integer, nullable=False),
    Column("stored_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
)

cleanup_items = Table(
    "cleanup_items",
    metadata,
    # One image of a cleanup plan, pinned at preview time: the digest and the tags that
    # pointed at it then. ``state``: planned -> deleting -> deleted, skipped or failed.
    Column("request_id", CleanString(32), nullable=False),
    Column("repository", CleanString(255), nullable=False),
    Column("digest", CleanString(160), nullable=False),
    Column("tags", JSONText, nullable=False, default=list),
    Column("size", BigInteger),
    Column("state", CleanString(16), nullable=False),
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
    Column("request_id", CleanString(32), nullable=False),
    Column("repository", CleanString(255), nullable=False),
    Column("digest", CleanString(160), nullable=False),
    Column("action", CleanString(16), nullable=False),  # push, delete
    Column("tag", CleanString(128)),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Index("ix_own_writes_target", "repository", "digest"),
)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[requests, votes, audit_events])


def _v2(conn: Connection) -> None:
    add_column(conn, requests, "claimed_at")


def _v3(conn: Connection) -> None:
    add_column(conn, requests, "restores")
    add_column(conn, requests, "moved_to")
    metadata.create_all(conn, tables=[undo_manifests, cleanup_items])


def _v4(conn: Connection) -> None:
    metadata.create_all(conn, tables=[own_writes])


def _v6(conn: Connection) -> None:
    add_column(conn, requests, "progress")


def _v7(conn: Connection) -> None:
    """Each kind's own data in fields of its own: a cleanup's glob moves out of
    ``repository`` (its rules stay in the reason of requests made before), a restore's
    ``repo:tag`` strings out of ``siblings``."""
    for name in ("pattern", "rules", "restore_tags"):
        add_column(conn, requests, name)
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
    add_column(conn, requests, "claim_token")
    conn.execute(text("UPDATE deletion_requests SET claim_token = 0 WHERE claim_token IS NULL"))


def _v8(conn: Connection) -> None:
    """Outcomes as facts: a request's outcome and a cleanup item's detail, written as
    sentences before, are kept as recorded text (shown as they were); an execution's
    audit event gets its outcome; the success state is ``done`` (a restore deletes
    nothing)."""
    add_column(conn, audit_events, "outcome")
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


def _v9(conn: Connection) -> None:
    add_column(conn, requests, "reclaim_basis")


def _v10(conn: Connection) -> None:
    add_column(conn, requests, "approval")
    add_column(conn, requests, "batch")


MIGRATIONS: list[Migration] = [
    (1, _v1),
    (2, _v2),
    (3, _v3),
    (4, _v4),
    (5, _v5),
    (6, _v6),
    (7, _v7),
    (8, _v8),
    (9, _v9),
    (10, _v10),
]


ROOM = "deletions"


def _recorded_before(conn: Connection) -> int:
    """The version a database recorded before versions were kept per room (in a table
    of its own, ``registry_bot_schema_version``), or 0."""
    if not inspect(conn).has_table(legacy_version.name):
        return 0
    return int(conn.execute(select(func.max(legacy_version.c.version))).scalar() or 0)


def migrate(engine: Engine) -> int:
    """Apply every migration the database lacks; returns the resulting version. Safe
    when several replicas start at once (see ``database.migrate``)."""
    return migrate_room(engine, ROOM, MIGRATIONS, start=_recorded_before)
