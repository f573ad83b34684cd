"""The event feed's tables (its own, in the bot's database): event IDs seen (delivery
is at least once), each tag's latest push, pulls per digest, and the activity log.

``ensure_schema`` creates them at start (safe when several replicas start at once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    delete,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from ..database import CleanString, Migration, UTCDateTime, migrate
from .models import Activity, ActivityKind, PullStats, TagRecord

metadata = MetaData()
seen = Table(
    "registry_events_seen",
    metadata,
    Column("id", CleanString(128), primary_key=True),
    Column("received_at", UTCDateTime(), nullable=False, index=True),
)
tags = Table(
    "registry_tags",
    metadata,
    Column("repository", CleanString(255), primary_key=True),
    Column("tag", CleanString(128), primary_key=True),
    Column("digest", CleanString(160), nullable=False),
    Column("pushed_at", UTCDateTime(), nullable=False),
    Column("actor", CleanString(128)),
    Column("user_agent", CleanString(300), nullable=False, default=""),
    # False when the event's time could not be believed (dated before 2000, or far from
    # when it arrived): pushed_at is then a placeholder, never shown. NULL: written
    # before this column existed, and believed as then.
    Column("push_time_known", Boolean),
)
pulls = Table(
    "registry_pulls",
    metadata,
    Column("repository", CleanString(255), primary_key=True),
    Column("digest", CleanString(160), primary_key=True),
    Column("last_pulled_at", UTCDateTime(), nullable=False),
    Column("pull_count", BigInteger, nullable=False),
)
activity = Table(
    "registry_activity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("kind", CleanString(16), nullable=False),
    Column("repository", CleanString(255), nullable=False),
    Column("digest", CleanString(160), nullable=False),
    Column("tag", CleanString(128)),
    Column("previous", CleanString(160)),
    Column("actor", CleanString(128)),
    Column("user_agent", CleanString(300), nullable=False, default=""),
    Column("size", BigInteger),
    Index("ix_registry_activity_repository", "repository", "id"),
)


_UNKNOWN_TIME = datetime(1970, 1, 1, tzinfo=UTC)  # stored where a push's time is unknown


def _tag_record(row: Any) -> TagRecord:
    known = row.push_time_known is not False
    return TagRecord(
        row.repository,
        row.tag,
        row.digest,
        row.pushed_at if known else None,
        row.actor,
        row.user_agent,
    )


ROOM = "events"


def _v1(conn: Connection) -> None:
    """The tables (databases made before rooms kept versions have them already)."""
    metadata.create_all(conn, tables=[seen, tags, pulls, activity])


def _v2(conn: Connection) -> None:
    """Whether a push's time could be believed."""
    if "push_time_known" not in {c["name"] for c in inspect(conn).get_columns(tags.name)}:
        kind = tags.c.push_time_known.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE {tags.name} ADD COLUMN push_time_known {kind}"))


MIGRATIONS: list[Migration] = [(1, _v1), (2, _v2)]


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        """Bring the event room's tables up to date (while another process may be doing
        the same: see ``database.migrate``)."""
        migrate(self.engine, ROOM, MIGRATIONS)

    def _insert_new(self, conn: Connection, ids: list[str], at: datetime) -> set[str]:
        """Insert the IDs not seen before; returns those (one statement, replica-safe)."""
        dialect = conn.dialect.name
        rows = [{"id": i, "received_at": at} for i in dict.fromkeys(ids)]
        if not rows:
            return set()
        factory: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = factory(seen).on_conflict_do_nothing().returning(seen.c.id)
        return {row[0] for row in conn.execute(statement, rows)}

    def record(
        self,
        ids: list[str],
        received_at: datetime,
        write: Callable[[Connection, set[str]], None],
    ) -> set[str]:
        """In one transaction: mark ``ids`` seen, then ``write(conn, new_ids)`` the
        records of the events that are new (called even when none is). Returns the new
        IDs."""
        with self.engine.begin() as conn:
            new = self._insert_new(conn, ids, received_at)
            write(conn, new)
        return new

    # -- writers, used inside ``record`` ---------------------------------------------------
    @staticmethod
    def tags_of(conn: Connection, keys: set[tuple[str, str]]) -> dict[tuple[str, str], TagRecord]:
        """The records of several (repository, tag) pairs, in one query per repository."""
        found: dict[tuple[str, str], TagRecord] = {}
        by_repo: dict[str, list[str]] = {}
        for repository, tag in keys:
            by_repo.setdefault(repository, []).append(tag)
        for repository, names in by_repo.items():
            rows = conn.execute(
                select(tags).where(tags.c.repository == repository, tags.c.tag.in_(names))
            ).all()
            for r in rows:
                found[(r.repository, r.tag)] = _tag_record(r)
        return found

    @staticmethod
    def put_tags(conn: Connection, records: list[TagRecord]) -> None:
        """Insert or replace several tag records in one statement."""
        if not records:
            return
        factory: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = factory(tags)
        statement = statement.on_conflict_do_update(
            index_elements=[tags.c.repository, tags.c.tag],
            set_={
                "digest": statement.excluded.digest,
                "pushed_at": statement.excluded.pushed_at,
                "push_time_known": statement.excluded.push_time_known,
                "actor": statement.excluded.actor,
                "user_agent": statement.excluded.user_agent,
            },
        )
        conn.execute(
            statement,
            [
                {
                    "repository": r.repository,
                    "tag": r.tag,
                    "digest": r.digest,
                    "pushed_at": r.pushed_at or _UNKNOWN_TIME,
                    "push_time_known": r.pushed_at is not None,
                    "actor": r.actor,
                    "user_agent": r.user_agent or "",
                }
                for r in records
            ],
        )

    @staticmethod
    def drop_tags(
        conn: Connection, repository: str, *, digest: str | None = None, tag: str | None = None
    ) -> list[TagRecord]:
        """Forget the tags of ``digest`` (or one ``tag``); returns what was forgotten."""
        where = [tags.c.repository == repository]
        where.append(tags.c.digest == digest if digest is not None else tags.c.tag == tag)
        rows = conn.execute(select(tags).where(*where)).all()
        conn.execute(delete(tags).where(*where))
        return [_tag_record(r) for r in rows]

    @staticmethod
    def add_pulls(conn: Connection, counts: dict[tuple[str, str], tuple[int, datetime]]) -> None:
        for (repository, digest), (count, last) in counts.items():
            where = (pulls.c.repository == repository, pulls.c.digest == digest)
            row = conn.execute(select(pulls).where(*where)).first()
            if row is None:
                conn.execute(
                    insert(pulls).values(
                        repository=repository, digest=digest, last_pulled_at=last, pull_count=count
                    )
                )
            else:
                conn.execute(
                    update(pulls)
                    .where(*where)
                    .values(
                        pull_count=row.pull_count + count,
                        last_pulled_at=max(row.last_pulled_at, last),
                    )
                )

    @staticmethod
    def add_activity(conn: Connection, entries: Iterable[Activity]) -> None:
        rows = [
            {
                "at": a.at,
                "kind": a.kind.value,
                "repository": a.repository,
                "digest": a.digest,
                "tag": a.tag,
                "previous": a.previous,
                "actor": a.actor,
                "user_agent": a.user_agent or "",
                "size": a.size,
            }
            for a in entries
        ]
        if rows:
            conn.execute(insert(activity), rows)

    # -- reading ------------------------------------------------------------------------
    def recent_activity(self, repository: str | None = None, limit: int = 20) -> list[Activity]:
        """The latest tag pushes and deletions, newest first (pushes by digest are left
        out: a multi-arch push's platforms would crowd out the tags)."""
        pushed_by_digest = (activity.c.kind == ActivityKind.PUSH.value) & activity.c.tag.is_(None)
        query = (
            select(activity).where(~pushed_by_digest).order_by(activity.c.id.desc()).limit(limit)
        )
        if repository:
            query = query.where(activity.c.repository == repository)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Activity(
                r.at,
                ActivityKind(r.kind),
                r.repository,
                r.digest,
                r.tag,
                r.previous,
                r.actor,
                r.user_agent,
                r.size,
            )
            for r in rows
        ]

    def last_changes(self) -> dict[str, datetime]:
        """When each repository last changed (a tag pushed or moved, a manifest
        deleted), as the events told."""
        query = select(activity.c.repository, func.max(activity.c.at)).group_by(
            activity.c.repository
        )
        with self.engine.connect() as conn:
            return {repository: at for repository, at in conn.execute(query)}

    def moved_away(self, repository: str | None = None, limit: int = 100_000) -> list[Activity]:
        """Every recorded push that may have left an image without a tag, oldest first
        (of ``repository`` only, when given): a tag moved off an image (``previous``), or
        a manifest pushed by digest (``Activity.may_leave_untagged`` says which)."""
        query = (
            select(activity)
            .where(
                activity.c.kind == ActivityKind.PUSH.value,
                activity.c.previous.is_not(None) | activity.c.tag.is_(None),
            )
            .order_by(activity.c.id)
            .limit(limit)
        )
        if repository is not None:
            query = query.where(activity.c.repository == repository)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Activity(r.at, ActivityKind(r.kind), r.repository, r.digest, r.tag, r.previous)
            for r in rows
        ]

    def tag_records(self, repository: str) -> dict[str, TagRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(tags).where(tags.c.repository == repository)).all()
        return {r.tag: _tag_record(r) for r in rows}

    def last_pushes(self) -> dict[str, datetime]:
        """Each repository's latest tag push whose time could be believed."""
        query = (
            select(tags.c.repository, func.max(tags.c.pushed_at))
            .where(tags.c.pushed_at.is_not(None))
            .group_by(tags.c.repository)
        )
        with self.engine.connect() as conn:
            return {repository: at for repository, at in conn.execute(query)}

    def pull_stats(self, repository: str) -> dict[str, PullStats]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(pulls).where(pulls.c.repository == repository)).all()
        return {
            r.digest: PullStats(r.repository, r.digest, r.last_pulled_at, r.pull_count)
            for r in rows
        }

    def forget_seen_before(self, before: datetime) -> int:
        """Drop event IDs older than ``before`` (redeliveries come within minutes)."""
        with self.engine.begin() as conn:
            return conn.execute(delete(seen).where(seen.c.received_at < before)).rowcount
