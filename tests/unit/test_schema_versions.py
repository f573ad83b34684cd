"""One schema-version table keyed by room: each room (deletions, events, Slack) keeps
its own migrations and version; a database whose versions were kept the old way starts
from there; processes starting together apply each migration once; and the column
types keep NUL characters out and give times back in UTC. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import Column, Integer, MetaData, Table, select, text

from bot.database import (
    CleanText,
    UTCDateTime,
    make_engine,
    migrate,
    room_version,
    schema_versions,
)
from bot.deletions import schema
from bot.events.store import MIGRATIONS as EVENT_MIGRATIONS
from bot.events.store import EventStore
from bot.slack.messages import MIGRATIONS as SLACK_MIGRATIONS
from bot.slack.messages import SlackMessages


def test_each_room_has_its_own_version(database_url):
    engine = make_engine(database_url)
    try:
        assert schema.migrate(engine) == len(schema.MIGRATIONS)
        EventStore(engine).ensure_schema()
        SlackMessages(engine).ensure_schema()
        with engine.connect() as conn:
            found = conn.execute(select(schema_versions.c.room, schema_versions.c.version))
            rows = {room: version for room, version in found}
        assert rows == {
            "deletions": len(schema.MIGRATIONS),
            "events": len(EVENT_MIGRATIONS),
            "slack": len(SLACK_MIGRATIONS),
        }
        # A room's new migration runs once, and only its own.
        ran: list[str] = []
        later = [*SLACK_MIGRATIONS, (len(SLACK_MIGRATIONS) + 1, lambda conn: ran.append("x"))]
        assert migrate(engine, "slack", later) == len(later)
        assert migrate(engine, "slack", later) == len(later) and ran == ["x"]
        assert room_version(engine, "deletions") == len(schema.MIGRATIONS)
    finally:
        engine.dispose()


def test_versions_kept_the_old_way_are_the_start(database_url, monkeypatch):
    """Before rooms, the deletion room's versions were rows of their own table: a
    database at version 7 then runs migration 8 only."""
    engine = make_engine(database_url)
    try:
        monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        assert schema.migrate(engine) == 7
        monkeypatch.undo()
        legacy = Table("registry_bot_schema_version", MetaData(), Column("version", Integer))
        with engine.begin() as conn:
            conn.execute(schema_versions.delete())  # as a database of the old way has none
            legacy.create(conn)
            conn.execute(legacy.insert(), [{"version": v} for v in range(1, 8)])
            conn.execute(
                text(
                    "INSERT INTO deletion_requests (id, kind, repository, digest, reason, "
                    "requester, channel, state, created_at, expires_at, approvals_required, "
                    "siblings, platforms, outcome, children, referrers, blobs, claim_token) "
                    "VALUES ('old', 'manifest', 'app', 'sha256:a', '', 'U1', 'C1', 'deleted', "
                    "'2026-01-01 00:00:00', '2026-01-02 00:00:00', 1, '[]', '[]', 'Deleted.', "
                    "'[]', '[]', '[]', 1)"
                )
            )
        assert schema.migrate(engine) == len(schema.MIGRATIONS)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT state FROM deletion_requests")).scalar() == "done"
    finally:
        engine.dispose()


def test_processes_starting_together_migrate_once(database_url):
    engine = make_engine(database_url)
    runs: list[int] = []
    lock = threading.Lock()

    def counted(conn) -> None:
        with lock:
            runs.append(1)
        conn.execute(text("INSERT INTO once_only (id) VALUES (1)"))

    migrations = [(1, counted)]
    results: list[int] = []
    errors: list[BaseException] = []

    def start() -> None:
        mine = make_engine(database_url)
        try:
            results.append(migrate(mine, "together", migrations))
        except BaseException as exc:
            errors.append(exc)
        finally:
            mine.dispose()

    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE once_only (id INTEGER)"))
        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and results == [1, 1, 1, 1]
        with engine.connect() as conn:
            # Run by one, or by several with all but one rolled back: in once.
            assert conn.execute(text("SELECT count(*) FROM once_only")).scalar() == 1
        assert room_version(engine, "together") == 1
    finally:
        engine.dispose()


def test_text_loses_nul_characters_and_times_come_back_in_utc(database_url):
    engine = make_engine(database_url)
    table = Table(
        "typed_columns",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("said", CleanText),
        Column("at", UTCDateTime()),
    )
    try:
        table.create(engine)
        east = timezone(timedelta(hours=5))
        with engine.begin() as conn:
            conn.execute(
                table.insert().values(id=1, said="a\x00b", at=datetime(2026, 1, 1, 5, tzinfo=east))
            )
        with engine.connect() as conn:
            row = conn.execute(select(table)).one()
        assert row.said == "ab"
        assert row.at == datetime(2026, 1, 1, 0, tzinfo=UTC) and row.at.tzinfo == UTC
    finally:
        engine.dispose()
