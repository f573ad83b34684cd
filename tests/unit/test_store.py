"""The deletion store's JSON columns: typed values in, typed values out, and rows
written by earlier versions still read (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from bot.deletions import Fact, Finding, PlatformChild, open_store
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
        claims = [(i, ItemState.DELETING, None) for i in items[:650]]
        assert cleanup.move_many("c1", claims, [ItemState.PLANNED]) == [True] * 650
        # Again from "planned": none is made a second time; the rest are.
        again = cleanup.move_many(
            "c1", [(i, ItemState.DELETING, None) for i in items[640:660]], [ItemState.PLANNED]
        )
        assert again == [False] * 10 + [True] * 10
        accepted = Fact(Finding.DELETED, answer="HTTP 202")
        failed = Fact(Finding.DELETE_FAILED, answer="HTTP 500")
        done = [
            (items[0], ItemState.DELETED, accepted),
            (items[1], ItemState.FAILED, failed),
            (items[700], ItemState.DELETED, accepted),  # repository b, still planned
            (items[2], ItemState.DELETED, accepted),
            (items[2], ItemState.DELETED, accepted),  # listed twice: counted once
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
        assert states[("a", items[1].digest)].fact == failed  # the facts come back as they went
        assert states[("a", items[0].digest)].fact == accepted
        assert states[("b", items[700].digest)].state == ItemState.PLANNED
        counted = {s: 0 for s in ItemState}
        for i in states.values():
            counted[i.state] += 1
        assert counted[ItemState.DELETING] == 657 and counted[ItemState.DELETED] == 2
        assert {i.state for i in cleanup.items("c2")} == {ItemState.PLANNED}
    finally:
        store.engine.dispose()


def test_kind_data_written_in_shared_columns_moves_to_fields_of_its_own(database_url, monkeypatch):
    """Before version 7 a cleanup kept its glob in ``repository`` and a restore its
    tags as ``repo:tag`` strings in ``siblings``; the migration moves them."""
    from bot.database import make_engine
    from bot.deletions import Kind, schema
    from bot.deletions.models import TagRef

    engine = make_engine(database_url)
    try:
        monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:6])
        assert schema.migrate(engine) == 6
        store = open_store(database_url)
        store.insert(replace(sample_request("old-prune"), kind=Kind.PRUNE, repository="ci/*"))
        store.insert(replace(sample_request("old-restore"), kind=Kind.RESTORE))
        with store.engine.begin() as conn:
            conn.execute(
                text("UPDATE deletion_requests SET siblings = :s WHERE id = 'old-restore'"),
                {"s": '["team/a:v1", "team/b:latest"]'},
            )
        store.engine.dispose()
        monkeypatch.undo()
        assert schema.migrate(engine) == len(schema.MIGRATIONS)
        store = open_store(database_url)
        cleanup, restore = store.get("old-prune"), store.get("old-restore")
        assert cleanup is not None and restore is not None
        assert (cleanup.repository, cleanup.pattern, cleanup.rules) == ("", "ci/*", None)
        assert cleanup.reference == "ci/*"
        assert restore.restore_tags == (TagRef("team/a", "v1"), TagRef("team/b", "latest"))
        assert restore.siblings == ()
        store.engine.dispose()
    finally:
        engine.dispose()


def test_a_cleanups_rules_come_back_as_they_went_in(database_url):
    from datetime import timedelta

    from bot.deletions import Kind, RetentionRules
    from bot.patterns import compile_regex

    store = open_store(database_url)
    try:
        rules = RetentionRules(
            keep=3,
            older_than=timedelta(days=30),
            match=compile_regex("pr-.*"),
            exclude=compile_regex(".*keep"),
            allow_empty=True,
            keep_pulled_within=timedelta(hours=6),
        )
        request = replace(
            sample_request("rules1"), kind=Kind.PRUNE, repository="", pattern="ci/**", rules=rules
        )
        store.insert(request)
        stored = store.get("rules1")
        assert stored is not None and stored.rules is not None
        assert stored.rules.as_data() == rules.as_data() and stored.pattern == "ci/**"
        assert stored.rules.match is not None and stored.rules.match.fullmatch("pr-41")
    finally:
        store.engine.dispose()


def test_outcomes_written_as_sentences_are_kept_as_recorded_text(database_url, monkeypatch):
    """Before version 8 a request's outcome and a cleanup item's detail were sentences,
    and the success state was ``deleted``; the migration keeps the sentences as
    recorded text, renames the state, and leaves decided requests without an outcome."""
    from bot.database import make_engine
    from bot.deletions import Kind, Outcome, State, Verdict, schema
    from bot.slack.render.outcomes import outcome_text

    engine = make_engine(database_url)
    try:
        monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:7])
        assert schema.migrate(engine) == 7
        store = open_store(database_url)
        for name in ("old-done", "old-rejected", "old-prune"):
            store.insert(sample_request(name))
        CleanupStore(store.engine).add(
            "old-prune", [CleanupItem("r", "sha256:" + "a" * 64, ("t",), ItemState.SKIPPED)]
        )
        with store.engine.begin() as conn:
            for sql in (
                "UPDATE deletion_requests SET state = 'deleted', outcome = 'Deleted r@x.' "
                "WHERE id = 'old-done'",
                "UPDATE deletion_requests SET state = 'rejected', outcome = 'rejected' "
                "WHERE id = 'old-rejected'",
                "UPDATE deletion_requests SET kind = 'prune', state = 'failed', "
                "outcome = 'Cleanup of r: deleted 0 of 1.' WHERE id = 'old-prune'",
                "UPDATE cleanup_items SET detail = 't now points at it'",
            ):
                conn.execute(text(sql))
        store.engine.dispose()
        monkeypatch.undo()
        assert schema.migrate(engine) == len(schema.MIGRATIONS)
        store = open_store(database_url)
        done, rejected, pruned = (store.get(n) for n in ("old-done", "old-rejected", "old-prune"))
        assert done is not None and rejected is not None and pruned is not None
        assert done.state == State.DONE and done.undoable
        assert done.outcome == Outcome(Verdict.DONE, Fact(Finding.RECORDED), text="Deleted r@x.")
        assert outcome_text(done, done.outcome) == "Deleted r@x."
        assert rejected.state == State.REJECTED and rejected.outcome is None
        assert pruned.kind == Kind.PRUNE and pruned.outcome is not None
        assert pruned.outcome.verdict == Verdict.NOT_DONE
        (item,) = CleanupStore(store.engine).items("old-prune")
        assert item.fact == Fact(Finding.RECORDED, answer="t now points at it")
        store.engine.dispose()
    finally:
        engine.dispose()


def test_what_deletions_done_since_a_time_said_garbage_collection_frees(database_url):
    from datetime import UTC, datetime, timedelta

    from bot.blobindex import Basis
    from bot.deletions import State

    store = open_store(database_url)
    t = datetime(2026, 11, 20, tzinfo=UTC)
    try:
        for name, state, closed, freed in (
            ("old", State.DONE, t - timedelta(days=1), 5000),  # before the time asked
            ("a", State.DONE, t + timedelta(days=1), 1000),
            ("b", State.DONE, t + timedelta(days=2), 2500),
            ("failed", State.FAILED, t + timedelta(days=2), 9000),  # nothing deleted
            ("untag", State.DONE, t + timedelta(days=3), 0),  # frees nothing
            ("open", State.PENDING, None, 7000),
        ):
            store.insert(
                replace(
                    sample_request(name),
                    state=state,
                    reclaimable=freed,
                    reclaim_basis=Basis(unread=1),
                )
            )
            with store.engine.begin() as conn:  # closed as an execution closes it
                conn.execute(
                    text("UPDATE deletion_requests SET closed_at = :at WHERE id = :id"),
                    {"at": closed, "id": name},
                )
        assert store.freed_since(t) == (3500, 2)
        assert store.get("a").reclaim_basis == Basis(unread=1)  # stored with the request
    finally:
        store.engine.dispose()
