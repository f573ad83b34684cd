"""The database everything persistent shares: which URL, and an engine for it (SQLite with
WAL and a busy timeout, or PostgreSQL through psycopg 3). The tables belong to the
layers that use them; this module knows none of them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, NoSuchTableError, OperationalError, ProgrammingError

DEFAULT_DATABASE_URL = "sqlite:///registry-bot.db"


def normalize_url(url: str) -> str:
    """``postgres://`` (Heroku) and ``postgresql://`` use psycopg 3; others unchanged."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite with WAL and a busy timeout, or PostgreSQL."""
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
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=20)


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
