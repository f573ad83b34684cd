"""The database everything persistent shares: which URL, an engine for it (SQLite with
WAL and a busy timeout, or PostgreSQL through psycopg 3), the column types every room's
tables use (text without NUL characters, times in UTC, JSON in text), and the
migrations of each room, recorded in one table keyed by room. The tables belong to the
rooms that use them; this module knows none of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.exc import IntegrityError, NoSuchTableError, OperationalError, ProgrammingError

DEFAULT_DATABASE_URL = "sqlite:///registry-bot.db"


def normalize_url(url: str) -> str:
    """``postgres://`` (Heroku) and ``postgresql://`` use psycopg 3; others unchanged."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


# -- one registry's tables --------------------------------------------------------------
# Each registry the bot serves after the first keeps its own tables (requests, events,
# index, policies, storage history) beside the first's: on PostgreSQL in a schema of
# the same database, ``registry_NAME`` (``SCHEMA_NAME`` when DATABASE_URL's own
# ``search_path`` names one); on SQLite in a file beside the first's,
# ``STEM.NAME.db``. No query has to say which registry it is about, a repository named
# alike on two registries can never be confused, and the first registry's tables stay
# where a bot serving one registry always kept them.
SCHEMA_PREFIX = "registry_"


def registry_database_url(url: str, registry: str) -> str:
    """The database URL of the tables of ``registry`` (a name ``[a-z0-9-]``), a registry
    served after the first, given the first's ``url``."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:"):
            return parsed.render_as_string(hide_password=False)
        stem, dot, suffix = path.rpartition(".")
        named = f"{stem}.{registry}.{suffix}" if dot and "/" not in suffix else f"{path}.{registry}"
        return parsed.set(database=named).render_as_string(hide_password=False)
    own = _own_schema(parsed)
    suffix = registry.replace("-", "_")  # names hold no "_": one schema each
    schema = f"{own}_{suffix}" if own else SCHEMA_PREFIX + suffix
    given = parsed.query.get("options")
    kept = [o for o in (given if isinstance(given, str) else "").split() if not _is_path(o)]
    options = " ".join([*kept, _SEARCH_PATH + schema])
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


_SEARCH_PATH = "-csearch_path="


def registry_database_urls(url: str, registries: list[str]) -> list[str]:
    """The database URL of each of ``registries`` served, in order: the first's is
    ``url`` itself (where a bot serving one registry keeps its tables)."""
    return [url if i == 0 else registry_database_url(url, r) for i, r in enumerate(registries)]


def _is_path(option: str) -> bool:
    return option.startswith(_SEARCH_PATH)


def _own_schema(url: URL) -> str | None:
    """The schema a PostgreSQL URL's ``options`` put first on the search path (the
    last such option: PostgreSQL takes the last), None when they set none."""
    given = url.query.get("options")
    paths = [o for o in (given if isinstance(given, str) else "").split() if _is_path(o)]
    return paths[-1][len(_SEARCH_PATH) :].split(",")[0] if paths else None


def _create_schema(engine: Engine, schema: str, attempts: int = 10) -> None:
    """``CREATE SCHEMA IF NOT EXISTS``, while another process may do the same."""
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            return
        except (IntegrityError, ProgrammingError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite with WAL and a busy timeout, or PostgreSQL (in
    the schema a registry's URL names, created when missing)."""
    url = normalize_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=20)
    schema = _own_schema(make_url(url))
    if schema is not None:
        _create_schema(engine, schema)
    return engine


def create_tables(
    engine: Engine,
    metadata: MetaData,
    tables: list[Table] | None = None,
    then: Callable[[], None] | None = None,
    attempts: int = 10,
) -> None:
    """Create the ``tables`` that don't exist yet, then run ``then`` (adding columns,
    say), while another process may be doing the same at the same moment (the bot's
    two processes at start, replicas starting together): a step that collides with the
    other's is tried again once that one has finished."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine, tables=tables)
            if then is not None:
                then()
            return
        except (IntegrityError, OperationalError, ProgrammingError, NoSuchTableError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


# -- column types ---------------------------------------------------------------------
def _no_nul(value: str | None) -> str | None:
    """PostgreSQL refuses NUL characters in text; they are dropped on every write."""
    return None if value is None else value.replace("\x00", "")


class CleanText(TypeDecorator[str]):
    """Text from anywhere (a registry, a person), stored without NUL characters."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _no_nul(value)


class CleanString(TypeDecorator[str]):
    """A bounded string (a name, a tag), stored without NUL characters."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _no_nul(value)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, stored and given back in UTC whatever the backend (SQLite keeps no
    zone: a time in another one would come back shifted)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JSONText(TypeDecorator[Any]):
    """A JSON value kept in a TEXT column: encoded and decoded here, never by hand at
    the call sites (an empty column reads as an empty list)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return json.loads(value) if value else []


# -- migrations, per room ---------------------------------------------------------------
# A migration: its version (1, 2, ...; never renumbered) and what it does, on the
# connection of the transaction that records it.
Migration = tuple[int, Callable[[Connection], None]]


def insert_once(conn: Connection, table: Table, row: Mapping[str, object]) -> bool:
    """Insert ``row`` into ``table`` unless a row with its key is there, on SQLite and
    PostgreSQL alike: True for the one caller whose row went in (told by the row coming
    back, as a rowcount isn't on every driver). What a claim made once across processes
    is built on."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = next(iter(table.primary_key.columns))
    statement = dialect.insert(table).values(**row).on_conflict_do_nothing().returning(key)
    return conn.execute(statement).first() is not None


def upsert(conn: Connection, table: Table, row: Mapping[str, object]) -> None:
    """Insert ``row`` into ``table``, or replace the other columns of the row with its
    key, on SQLite and PostgreSQL alike (one statement: two writers at once don't
    collide)."""
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    keys = [c.name for c in table.primary_key.columns]
    statement = (
        dialect.insert(table)
        .values(**row)
        .on_conflict_do_update(
            index_elements=keys, set_={k: v for k, v in row.items() if k not in keys}
        )
    )
    conn.execute(statement)


def add_column(conn: Connection, table: Table, name: str) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for ``table``'s column ``name``, unless the column
    is there (a database created from the current tables already has it): what a
    migration adding a column calls."""
    if name in {c["name"] for c in inspect(conn).get_columns(table.name)}:
        return
    column = table.c[name]
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))


_versions_metadata = MetaData()
schema_versions = Table(
    "registry_bot_schema",
    _versions_metadata,
    Column("room", String(32), primary_key=True),  # "deletions", "events", "slack"
    Column("version", Integer, nullable=False),
)


class _Raced(Exception):
    """Another process recorded the same migration first."""


def room_version(engine: Engine, room: str) -> int:
    """The newest migration of ``room`` this database has (0: none)."""
    with engine.connect() as conn:
        return _version(conn, room)


def _version(conn: Connection, room: str, *, lock: bool = False) -> int:
    query = select(schema_versions.c.version).where(schema_versions.c.room == room)
    value = conn.execute(query.with_for_update() if lock else query).scalar()
    return int(value or 0)


def _seed(engine: Engine, room: str, start: Callable[[Connection], int] | None) -> None:
    """The room's row, once: at ``start(conn)`` (a version recorded before this table
    existed), else 0."""
    with engine.connect() as conn:
        if conn.execute(
            select(schema_versions.c.room).where(schema_versions.c.room == room)
        ).first():
            return
    try:
        with engine.begin() as conn:
            version = start(conn) if start else 0
            conn.execute(insert(schema_versions).values(room=room, version=version))
    except IntegrityError:
        pass  # another process seeded it


def migrate(
    engine: Engine,
    room: str,
    migrations: list[Migration],
    *,
    start: Callable[[Connection], int] | None = None,
    attempts: int = 10,
) -> int:
    """Apply every migration of ``room`` the database lacks, each in a transaction that
    also records it; returns the room's version. Several processes may start at once:
    on PostgreSQL the room's row is locked while a migration runs, and a migration
    another process recorded first (seen by the compare-and-set on the version) is
    rolled back and skipped."""
    create_tables(engine, _versions_metadata, [schema_versions])
    _seed(engine, room, start)
    for version, apply in migrations:
        if room_version(engine, room) >= version:
            continue  # nothing to write (a read-only database that is up to date opens)
        for attempt in range(attempts):
            try:
                with engine.begin() as conn:
                    current = _version(conn, room, lock=True)
                    if current >= version:
                        break
                    apply(conn)
                    moved = conn.execute(
                        update(schema_versions)
                        .where(schema_versions.c.room == room, schema_versions.c.version == current)
                        .values(version=version)
                    ).rowcount
                    if moved != 1:
                        raise _Raced(room)
                break
            except (_Raced, IntegrityError, OperationalError, ProgrammingError, NoSuchTableError):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
    return room_version(engine, room)
