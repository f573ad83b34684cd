"""The registry-wide index below Slack (SQLite and PostgreSQL, over the in-memory
registry): a blob another repository's image uses is never counted as freed; a
repository never read, or changed since it was read, makes the figure an upper bound
and says how many; a list of repositories that can't be read says so; an incomplete
scan is not recorded; a manifest forgotten holds nothing back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine

from bot.blobindex import Basis, BlobIndex
from bot.database import make_engine
from bot.registry import RegistryUnreachableError, scan_repository
from testkit.deletions import Clock
from testkit.fake_registry import FakeRegistry

BASE = b"a base layer both images use" * 100

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _clock() -> Clock:
    clock = Clock()
    clock.now = T0
    return clock


@pytest.fixture
def setup(database_url):
    fake = FakeRegistry()
    a = fake.push("team/a", ["v1"], "a", base=BASE)
    fake.push("team/b", ["v1"], "b", base=BASE)
    client = fake.client()
    engine = make_engine(database_url)
    clock = _clock()
    changes: dict[str, datetime] = {}
    index = BlobIndex(engine, clock=clock, changes=lambda: changes)
    index.ensure_schema()
    yield fake, client, index, a, clock, changes
    client.close()
    engine.dispose()


def _sizes(fake: FakeRegistry, repository: str, digest: str) -> dict[str, int]:
    """What the registry stores for one image: its manifest, config and layers."""
    repo = fake.repositories[repository]
    scan = scan_repository(fake.client(), repository)
    return {b: len(repo.blobs.get(b, repo.manifests.get(b, b""))) for b in scan.stored_by(digest)}


def test_a_layer_another_repository_uses_is_not_freed(setup):
    fake, client, index, a, _, _ = setup
    for repository in ("team/a", "team/b"):
        assert index.record(scan_repository(client, repository))
    reclaim = index.reclaim({"team/a": {a}}, client.catalog)
    stored = _sizes(fake, "team/a", a)
    assert reclaim.basis == Basis() and reclaim.basis.certain
    assert reclaim.bytes == sum(stored.values()) - len(BASE)
    assert reclaim.held_elsewhere == len(BASE)
    assert reclaim.by_repository == {"team/a": reclaim.bytes}
    # Both images removed in one cleanup: the base layer goes too.
    b = fake.repositories["team/b"].tags["v1"]
    both = index.reclaim({"team/a": {a}, "team/b": {b}}, client.catalog)
    assert both.held_elsewhere == 0
    assert both.bytes == sum(stored.values()) + sum(_sizes(fake, "team/b", b).values()) - len(BASE)


def test_a_repository_not_read_makes_the_figure_an_upper_bound(setup):
    fake, client, index, a, _, _ = setup
    index.record(scan_repository(client, "team/a"))
    reclaim = index.reclaim({"team/a": {a}}, client.catalog)
    assert reclaim.basis == Basis(unread=1) and not reclaim.basis.certain
    assert reclaim.bytes == sum(_sizes(fake, "team/a", a).values())  # the base included


def test_a_repository_changed_since_it_was_read_counts_as_unread(setup):
    _, client, index, a, clock, changes = setup
    for repository in ("team/a", "team/b"):
        index.record(scan_repository(client, repository))
    changes["team/b"] = T0 - timedelta(minutes=1)  # before the read: it saw that
    assert index.reclaim({"team/a": {a}}, client.catalog).basis.certain
    changes["team/b"] = T0 + timedelta(minutes=1)  # a push since
    clock.now = T0 + timedelta(minutes=2)
    assert index.reclaim({"team/a": {a}}, client.catalog).basis == Basis(unread=1)


def test_without_events_the_figure_says_when_the_others_were_read(database_url):
    fake = FakeRegistry()
    a = fake.push("team/a", ["v1"], "a", base=BASE)
    fake.push("team/b", ["v1"], "b")
    client = fake.client()
    engine = make_engine(database_url)
    clock = _clock()
    index = BlobIndex(engine, clock=clock)
    index.ensure_schema()
    try:
        index.record(scan_repository(client, "team/b"))
        clock.now = T0 + timedelta(hours=1)
        index.record(scan_repository(client, "team/a"))
        reclaim = index.reclaim({"team/a": {a}}, client.catalog)
        assert reclaim.basis == Basis(as_of=T0) and reclaim.basis.certain
    finally:
        client.close()
        engine.dispose()


def test_a_catalog_that_cannot_be_read_is_said(setup):
    _, client, index, a, _, _ = setup
    for repository in ("team/a", "team/b"):
        index.record(scan_repository(client, repository))

    def down():
        raise RegistryUnreachableError("connection refused")

    reclaim = index.reclaim({"team/a": {a}}, down)
    assert reclaim.basis.catalog_unread and not reclaim.basis.certain
    assert reclaim.held_elsewhere == len(BASE)  # what is known still holds


def test_an_incomplete_scan_is_not_recorded_and_a_forgotten_manifest_holds_nothing(setup):
    fake, client, index, a, _, _ = setup
    scan = scan_repository(client, "team/b")
    scan.cut = "a cap was reached"
    assert not index.record(scan)
    assert "team/b" not in index.read_at()
    scan.cut = None
    index.record(scan)
    index.record(scan_repository(client, "team/a"))
    b = fake.repositories["team/b"].tags["v1"]
    index.forget("team/b", [b])
    reclaim = index.reclaim({"team/a": {a}}, client.catalog)
    assert reclaim.held_elsewhere == 0 and reclaim.bytes == sum(_sizes(fake, "team/a", a).values())


def test_a_repository_gone_from_the_catalog_holds_nothing(setup):
    fake, client, index, a, _, _ = setup
    for repository in ("team/a", "team/b"):
        index.record(scan_repository(client, repository))
    del fake.repositories["team/b"]
    reclaim = index.reclaim({"team/a": {a}}, client.catalog)
    assert reclaim.held_elsewhere == 0 and reclaim.basis.certain


def test_nothing_freed_is_certain_whatever_was_read():
    engine = create_engine("sqlite://")
    index = BlobIndex(engine)
    index.ensure_schema()
    fake = FakeRegistry()
    digest = fake.push("solo", ["v1", "v2"], "s")
    client = fake.client()
    try:
        index.record(scan_repository(client, "solo"))
        # A manifest the index holds nothing of frees nothing, for certain.
        reclaim = index.reclaim({"solo": {"sha256:" + "0" * 64}}, client.catalog)
        assert reclaim.bytes == 0 and reclaim.basis.certain
        assert index.reclaim({"solo": {digest}}, client.catalog).bytes > 0
    finally:
        client.close()


def test_the_storage_report_takes_unchanged_repositories_from_the_index(setup):
    from bot.storage import REUSE_WITHIN, storage_report

    fake, client, index, _, clock, changes = setup
    cold = storage_report(client, index=index, reuse_within=REUSE_WITHIN)
    assert cold.from_index == 0 and len(cold.repositories) == 2
    sent = client.requests_sent
    again = storage_report(client, index=index, reuse_within=REUSE_WITHIN)
    assert client.requests_sent == sent + 1  # the catalog only
    assert again.from_index == 2 and again.oldest_read == T0
    assert (again.total, again.naive, again.repositories) == (
        cold.total,
        cold.naive,
        cold.repositories,
    )
    # A push to team/b since (the events say so): team/b is read again, team/a isn't.
    fake.push("team/b", ["v2"], "b2")
    clock.now = T0 + timedelta(minutes=1)
    changes["team/b"] = clock.now
    clock.now = T0 + timedelta(minutes=2)
    pushed = storage_report(client, index=index, reuse_within=REUSE_WITHIN)
    assert pushed.from_index == 1
    from bot.slack.render.storage import render_storage

    said = str(render_storage(pushed, None).blocks)
    assert "1 repositories as read by 12:00 UTC or later" in said
    assert "the other 1 read now" in said
    assert "read now" not in str(render_storage(again, None).blocks)  # all from the index
    by_name = {r.repository: r for r in pushed.repositories}
    assert by_name["team/b"].tags == 2 and by_name["team/a"].tags == 1
    # Past REUSE_WITHIN, team/a (read at T0) is read again, team/b (just read) is not;
    # without the events, everything is.
    clock.now = T0 + REUSE_WITHIN + timedelta(minutes=1)
    assert storage_report(client, index=index, reuse_within=REUSE_WITHIN).from_index == 1
    blind = BlobIndex(index.engine, clock=clock)
    assert storage_report(client, index=blind, reuse_within=REUSE_WITHIN).from_index == 0


class _Feed:
    """What ``find_untagged`` reads of the event feed: the pushes that moved a tag."""

    def __init__(self, moves):
        self.moves = moves

    def moved_away(self, repository=None):
        return [m for m in self.moves if repository in (None, m.repository)]

    def pull_stats(self, repository):
        return {}


def test_an_untagged_image_counts_only_the_bytes_no_other_image_uses(setup):
    from bot.events import Activity, ActivityKind
    from bot.storage import find_untagged

    fake, client, index, a, _, _ = setup
    newer = fake.push("team/a", ["v1"], "a again", base=BASE)  # v1 moves: a is untagged
    feed = _Feed([Activity(T0, ActivityKind.PUSH, "team/a", newer, "v1", a)])
    report = find_untagged(client, feed, "team/*", T0, index=index)
    (item,) = report.items
    assert item.digest == a and item.unique_basis == Basis(unread=1)  # team/b unread
    # The base layer is the tagged image's too: never its own, whatever is unread.
    assert item.unique == sum(_sizes_of(fake, "team/a", a).values()) - len(BASE)
    index.record(scan_repository(client, "team/b"))
    (item,) = find_untagged(client, feed, "team/*", T0, index=index).items
    assert item.unique_basis is not None and item.unique_basis.certain
    # Its manifest, config and own layer; the base stays with the tagged images.
    assert item.unique == sum(_sizes_of(fake, "team/a", a).values()) - len(BASE)


def _sizes_of(fake: FakeRegistry, repository: str, digest: str) -> dict[str, int]:
    """What the registry stores for one manifest, read from the fake's own records."""
    import json

    repo = fake.repositories[repository]
    body = repo.manifests[digest]
    document = json.loads(body)
    blobs = {digest: len(body), document["config"]["digest"]: document["config"]["size"]}
    blobs.update({layer["digest"]: layer["size"] for layer in document["layers"]})
    return blobs


def test_the_storage_report_says_each_repositorys_last_push_when_the_events_told(setup):
    from bot.slack.render.storage import render_storage
    from bot.storage import storage_report

    _, client, _, _, _, _ = setup
    pushed = T0 - timedelta(days=2)
    report = storage_report(client, last_pushes={"team/a": pushed})
    by_name = {r.repository: r for r in report.repositories}
    assert by_name["team/a"].last_push == pushed and by_name["team/b"].last_push is None
    said = str(render_storage(report, None).blocks)
    assert said.count("last push") == 1 and "last push 2026-11-29 12:00 UTC" in said


def test_processes_recording_one_repository_at_once_take_turns(setup):
    """Two processes (threads on one database, SQLite or PostgreSQL) replacing the same
    repository's rows at the same moment, many times: none fails on the other's rows,
    and the index holds one copy of what the scan saw."""
    import threading

    _, client, index, a, _, _ = setup
    scan = scan_repository(client, "team/a")
    other = BlobIndex(index.engine, clock=index.clock)
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def work(which: BlobIndex) -> None:
        start.wait()
        try:
            for _ in range(25):
                which.record(scan)
        except BaseException as exc:  # the test reports any failure
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in (index, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    current = index.current(["team/a"], timedelta(hours=1))
    assert current["team/a"].manifests == {a: scan.stored_by(a)}


def test_a_changed_repository_is_read_again_once_its_pushes_settle(setup):
    """The background refresh: a repository the events say changed since it was read
    is read again after SETTLED, and the figure is certain again with what it holds now;
    one changed a moment ago waits; a repository gone records empty."""
    from bot.storage import refresh_index
    from bot.storage.refresh import SETTLED

    fake, client, index, a, clock, changes = setup
    for repository in ("team/a", "team/b"):
        index.record(scan_repository(client, repository))
    assert index.reclaim({"team/a": {a}}, client.catalog).held_elsewhere == len(BASE)
    # team/b's image is replaced by one without the base layer: a push since the read.
    del fake.repositories["team/b"].tags["v1"]
    fake.push("team/b", ["v2"], "b without the base")
    clock.now = T0 + timedelta(minutes=1)
    changes["team/b"] = clock.now
    assert index.reclaim({"team/a": {a}}, client.catalog).basis == Basis(unread=1)
    assert refresh_index(client, index).read == []  # not settled yet
    clock.now += SETTLED
    refreshed = refresh_index(client, index)
    assert refreshed.read == ["team/b"] and refreshed.failed == {}
    reclaim = index.reclaim({"team/a": {a}}, client.catalog)
    assert reclaim.basis.certain and reclaim.held_elsewhere == 0
    assert reclaim.bytes == sum(_sizes(fake, "team/a", a).values())
    assert refresh_index(client, index).read == []  # read since: nothing to do
    # A repository deleted whole: recorded empty, holding nothing.
    del fake.repositories["team/a"]
    clock.now += timedelta(minutes=1)
    changes["team/a"] = clock.now
    clock.now += SETTLED
    assert refresh_index(client, index).read == ["team/a"]
    assert index.current(["team/a"], timedelta(hours=1))["team/a"].manifests == {}


def test_a_read_of_the_tags_alone_keeps_the_untagged_manifests_known(setup):
    """An untagged manifest recorded by an untagged listing still holds its blobs after
    a read of the tagged images alone (a report, a refresh), until it is tagged again or
    an untagged listing no longer finds it."""
    from bot.registry import census_repository

    fake, client, index, a, _, _ = setup
    index.record(scan_repository(client, "team/b"))
    del fake.repositories["team/a"].tags["v1"]  # a is now untagged
    fake.push("team/a", ["v1"], "a again")
    untagged_read = scan_repository(client, "team/a")
    untagged_read.manifests[a] = client.get_manifest("team/a", a)
    assert index.record(untagged_read, untagged={a})
    b = fake.repositories["team/b"].tags["v1"]
    assert index.reclaim({"team/b": {b}}, client.catalog).held_elsewhere == len(BASE)
    assert index.record(census_repository(client, "team/a"))  # tags only: a still held
    assert index.reclaim({"team/b": {b}}, client.catalog).held_elsewhere == len(BASE)
    assert index.record(untagged_read, untagged=set())  # a listing without it: gone
    assert index.reclaim({"team/b": {b}}, client.catalog).held_elsewhere == 0
