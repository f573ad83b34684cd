"""The deletion store's JSON columns: typed values in, typed values out, and rows
written by earlier versions still read (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from bot.deletions import PlatformChild, open_store
from tests.test_slack_messages import _request


def test_json_columns_round_trip_and_old_children_are_read(database_url):
    store = open_store(database_url)
    try:
        request = replace(
            _request("typed1"),
            siblings=("a", "b"),
            children=(PlatformChild("sha256:" + "c" * 64, "linux/arm64/v8"),),
            blobs=(("sha256:" + "d" * 64, 12), ("sha256:" + "e" * 64, None)),
        )
        store.insert(request)
        stored = store.get("typed1")
        assert stored is not None
        assert stored.siblings == ("a", "b") and stored.children == request.children
        assert stored.blobs == request.blobs
        store.insert(_request("old1"))
        with store.engine.begin() as conn:  # "digest platform", as earlier versions wrote
            conn.execute(
                text("UPDATE deletion_requests SET children = :c WHERE id = 'old1'"),
                {"c": '["sha256:ffff linux/amd64"]'},
            )
        old = store.get("old1")
        assert old is not None and old.children == (PlatformChild("sha256:ffff", "linux/amd64"),)
    finally:
        store.engine.dispose()
