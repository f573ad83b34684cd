"""The deletion store's JSON columns: typed values in, typed values out, and rows
written by earlier versions still read (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from bot.deletions import PlatformChild, open_store
from bot.deletions.cleanup_store import CleanupStore
from bot.deletions.models import CleanupItem, ItemState
from testkit.deletions import sample_request


def test_json_columns_round_trip_and_old_children_are_read(database_url):
    store = open_store(database_url)
    try:
        request = replace(
            sample_request("typed1"),
            siblings=("a", "b"),
            children=(PlatformChild("sha256:" + "c" * 64, "linux/arm64/v8"),),
            blobs=(("sha256:" + "d" * 64, 12), ("sha256:" + "e" * 64, None)),
        )
        store.insert(request)
        stored = store.get("typed1")
        assert stored is not None
        assert stored.siblings == ("a", "b") and stored.children == request.children
        assert stored.blobs == request.blobs
        store.insert(sample_request("old1"))
        with store.engine.begin() as conn:  # "digest platform", as earlier versions wrote
            conn.execute(
                text("UPDATE deletion_requests SET children = :c WHERE id = 'old1'"),
                {"c": '["sha256:ffff linux/amd64"]'},
            )
        old = store.get("old1")
        assert old is not None and old.children == (PlatformChild("sha256:ffff", "linux/amd64"),)
    finally:
        store.engine.dispose()


def test_cleanup_items_move_by_compare_and_set_in_groups(database_url):
    """Each change is made only from the states given, once, whatever the group's size
    (more digests than one statement takes), the repository or the detail."""
    store = open_store(database_url)
    try:
        cleanup = CleanupStore(store.engine)
        items = [
            CleanupItem(repo, f"sha256:{i:064x}", (f"t{i}",), ItemState.PLANNED)
            for repo in ("a", "b")
            for i in range(700)
        ]
        cleanup.add("c1", items)
        cleanup.add("c2", items[:3])  # another cleanup's rows are never touched
        claims = [(i, ItemState.DELETING, "") for i in items[:650]]
        assert cleanup.move_many("c1", claims, [ItemState.PLANNED]) == [True] * 650
        # Again from "planned": none is made a second time; the rest are.
        again = cleanup.move_many(
            "c1", [(i, ItemState.DELETING, "") for i in items[640:660]], [ItemState.PLANNED]
        )
        assert again == [False] * 10 + [True] * 10
        done = [
            (items[0], ItemState.DELETED, "deleted (202)"),
            (items[1], ItemState.FAILED, "the DELETE failed (500); it is still there"),
            (items[700], ItemState.DELETED, "deleted (202)"),  # repository b, still planned
            (items[2], ItemState.DELETED, "deleted (202)"),
            (items[2], ItemState.DELETED, "deleted (202)"),  # listed twice: counted once
        ]
        assert cleanup.move_many("c1", done, [ItemState.DELETING]) == [
            True,
            True,
            False,
            True,
            False,
        ]
        states = {(i.repository, i.digest): i for i in cleanup.items("c1")}
        assert states[("a", items[1].digest)].state == ItemState.FAILED
        assert states[("a", items[1].digest)].detail.startswith("the DELETE failed")
        assert states[("b", items[700].digest)].state == ItemState.PLANNED
        counted = {s: 0 for s in ItemState}
        for i in states.values():
            counted[i.state] += 1
        assert counted[ItemState.DELETING] == 657 and counted[ItemState.DELETED] == 2
        assert {i.state for i in cleanup.items("c2")} == {ItemState.PLANNED}
    finally:
        store.engine.dispose()
