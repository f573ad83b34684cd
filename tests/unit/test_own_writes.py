"""Which of the registry's events were the bot's own writes: matched against the record
of its requests' writes, by digest, action, tag and time, never by a User-Agent (SQLite
and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.deletions import open_store
from bot.deletions.own_writes import KEPT_FOR, WINDOW, OwnWrites, Write, WriteAction

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
D, P = "sha256:" + "d" * 64, "sha256:" + "e" * 64
DELETE, PUSH = WriteAction.DELETE, WriteAction.PUSH


@pytest.fixture
def writes(database_url):
    store = open_store(database_url)
    yield OwnWrites(store.engine)
    store.engine.dispose()


def test_a_deletion_is_the_bots_own_only_shortly_after_it_made_exactly_that(writes):
    writes.record("r1", [Write("app", D, DELETE)], AT)
    assert writes.explains("app", D, DELETE, None, AT + timedelta(seconds=3))
    assert writes.explains("app", D, DELETE, None, AT - timedelta(seconds=30))  # clocks differ
    assert not writes.explains("app", D, DELETE, None, AT + WINDOW + timedelta(minutes=5))
    assert not writes.explains("other", D, DELETE, None, AT)  # another repository
    assert not writes.explains("app", P, DELETE, None, AT)  # another digest
    assert not writes.explains("app", D, PUSH, None, AT)  # it pushed nothing


def test_a_deletion_after_the_bot_put_the_digest_back_is_someone_elses(writes):
    writes.record("r1", [Write("app", D, DELETE)], AT)
    writes.record(
        "r2", [Write("app", D, PUSH), Write("app", D, PUSH, "v1")], AT + timedelta(seconds=1)
    )
    assert not writes.explains("app", D, DELETE, None, AT + timedelta(seconds=5))


def test_a_tag_removal_owns_its_placeholder_not_the_image(writes):
    # What a tag removal on distribution 2.x records: the tag delete it tried first,
    # the placeholder's push to the tag and the placeholder's deletion by digest.
    writes.record(
        "r1",
        [Write("app", D, DELETE, "rc-1"), Write("app", P, PUSH, "rc-1"), Write("app", P, DELETE)],
        AT,
    )
    assert writes.explains("app", P, DELETE, None, AT)
    assert writes.explains("app", P, PUSH, "rc-1", AT)
    assert not writes.explains("app", D, DELETE, None, AT)  # the image was never deleted
    assert not writes.explains("app", P, PUSH, "prod", AT)  # nor pushed to another tag


def test_old_records_are_purged(writes):
    writes.record("r1", [Write("app", D, DELETE)], AT)
    assert writes.purge(AT + KEPT_FOR - timedelta(seconds=1)) == 0
    assert writes.purge(AT + KEPT_FOR + timedelta(seconds=1)) == 1
    assert not writes.explains("app", D, DELETE, None, AT)
