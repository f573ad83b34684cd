"""Databases for tests: a PostgreSQL schema of a test's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


def postgres_schema() -> Iterator[str]:
    """A schema of its own in the PostgreSQL named by TEST_DATABASE_URL, dropped after
    (the test is skipped, saying why, when that is unset)."""
    import os
    import uuid

    from sqlalchemy import create_engine, text

    from bot.database import normalize_url

    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (CI sets it; e.g. "
            "postgresql://postgres@127.0.0.1:5432/test)"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(base))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:  # with those of other registries (``schema_NAME``)
            owned = conn.execute(
                text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :like"),
                {"like": f"{schema}%"},
            ).scalars()
            for name in list(owned):
                conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()
