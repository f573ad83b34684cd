"""The event feed below Slack: envelopes parsed (v1 and v2), events stored once by ID,
blob events folded, pulls aggregated (the bot's own ignored), tag pushes recorded with
what they moved, deletions matched against the bot's own. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.database import make_engine
from bot.events import ActivityKind, EnvelopeError, EventFeed, parse_envelope
from bot.events.store import EventStore
from bot.patterns import compile_regex

V1 = "application/vnd.docker.distribution.events.v1+json"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def event(action, repo="app", digest=D1, tag=None, media=MANIFEST, agent="docker/27", at=0, **kw):
    target = {"mediaType": media, "digest": digest, "repository": repo, "size": 500}
    if tag:
        target["tag"] = tag
    return {
        "id": kw.get("id") or str(uuid.uuid4()),
        "timestamp": (NOW + timedelta(seconds=at)).isoformat().replace("+00:00", "Z"),
        "action": action,
        "target": target,
        "request": {"useragent": agent, "method": "PUT", "addr": "10.0.0.1:5555"},
        "actor": {"name": kw.get("actor", "")},
        "source": {"addr": "registry:5000"},
    }


def envelope(*events) -> bytes:
    return json.dumps({"events": list(events)}).encode()


@pytest.fixture
def feed(database_url):
    engine = make_engine(database_url)
    store = EventStore(engine)
    store.ensure_schema()
    explained: set[tuple[str, str]] = set()
    made = EventFeed(
        store,
        is_own=lambda e: (e.repository, e.digest) in explained,
        own_agent="registry-bot/",
        protected=compile_regex(r"^prod$"),
    )
    made.explained = explained  # type: ignore[attr-defined]
    yield made
    engine.dispose()


def ingest(feed, *events):
    return feed.ingest(parse_envelope(envelope(*events), V1), NOW)


def test_envelopes_v1_v2_and_refusals():
    one = event("push", tag="v1")
    assert len(parse_envelope(envelope(one, event("pull")), V1)) == 2
    single = parse_envelope(
        json.dumps(one).encode(), "application/vnd.docker.distribution.events.v2+json"
    )
    assert single[0].tag == "v1" and single[0].at == NOW
    nanos = dict(one, timestamp="2026-11-27T12:00:00.123456789-08:00")
    assert parse_envelope(envelope(nanos), V1)[0].at == NOW + timedelta(
        hours=8, microseconds=123456
    )
    for body, media, why in [
        (b"{}", V1, "not an envelope"),
        (b"not json", V1, "not JSON"),
        (envelope(one), "text/plain", "media type"),
        (envelope(dict(one, action="explode")), V1, "unknown action"),
        (envelope(dict(one, target={"repository": "Bad Name"})), V1, "repository"),
        (envelope(dict(one, target={"repository": "a", "digest": "<b>"})), V1, "digest"),
        (envelope(dict(one, timestamp="yesterday")), V1, "timestamp"),
    ]:
        with pytest.raises(EnvelopeError, match=why):
            parse_envelope(body, media)


def test_a_replayed_event_is_stored_once(feed):
    push = event("push", tag="v1", id="evt-1")
    first = ingest(feed, push)
    again = ingest(feed, push)
    assert (first.new, again.new) == (1, 0)
    assert len(first.pushes) == 1 and again.pushes == []
    assert len(feed.store.recent_activity("app")) == 1


def test_pushes_record_who_and_what_moved_and_blobs_fold(feed):
    result = ingest(
        feed,
        event("push", digest="sha256:" + "a" * 64, media="application/octet-stream"),
        event("push", tag="v1", actor="ci-bot", agent="skopeo/1.13"),
    )
    assert [p.tag for p in result.pushes] == ["v1"] and result.pushes[0].previous is None
    record = feed.store.tag_records("app")["v1"]
    assert record.digest == D1 and record.actor == "ci-bot" and record.user_agent == "skopeo/1.13"
    moved = ingest(feed, event("push", digest=D2, tag="v1", at=5))
    assert moved.pushes[0].previous == D1 and moved.protected_alerts == []
    assert feed.store.tag_records("app")["v1"].pushed_at == NOW + timedelta(seconds=5)
    assert ingest(feed, event("push", digest=D2, tag="v1", at=9)).pushes == []  # same image


def test_a_protected_tag_moved_or_deleted_outside_raises_an_alert(feed):
    ingest(feed, event("push", tag="prod"))
    moved = ingest(feed, event("push", digest=D2, tag="prod"))
    assert [a.tag for a in moved.protected_alerts] == ["prod"]
    deleted = ingest(feed, event("delete", digest=D2, media=""))
    assert deleted.outside_deletions[0].tag == "prod" and deleted.protected_alerts


def test_pulls_are_aggregated_and_the_bots_own_ignored(feed):
    pulls = [event("pull", at=i) for i in range(50)]
    pulls += [event("pull", agent="registry-bot/0.1") for _ in range(5)]
    pulls += [event("pull", media="application/octet-stream", digest=D2, tag=None)]
    result = ingest(feed, *pulls)
    assert result.pushes == [] and result.outside_deletions == []
    stats = feed.store.pull_stats("app")
    assert list(stats) == [D1] and stats[D1].count == 50
    assert stats[D1].last_pulled_at == NOW + timedelta(seconds=49)
    assert feed.store.recent_activity() == []  # nothing logged for pulls


def test_deletions_are_matched_against_the_bots_own(feed):
    ingest(feed, event("push", tag="a"), event("push", digest=D2, tag="b"))
    feed.explained.add(("app", D1))
    result = ingest(
        feed,
        event("delete", digest=D1, media=""),
        event("delete", digest=D1, tag="a", media=""),
        event("delete", digest=D2, media="", agent="curl/8.5"),
    )
    assert [(d.digest, d.tag) for d in result.outside_deletions] == [(D2, "b")]
    kinds = {a.digest: a.kind for a in feed.store.recent_activity("app") if a.kind != "push"}
    assert kinds == {D1: ActivityKind.DELETE, D2: ActivityKind.OUTSIDE_DELETE}
    assert feed.store.tag_records("app") == {}


def test_pulls_leave_no_row_per_pull_and_count_a_redelivery_once(feed):
    from sqlalchemy import func, select

    from bot.events.store import seen

    pull = event("pull", id="pull-1")
    ingest(feed, pull, *[event("pull") for _ in range(99)])
    ingest(feed, pull)  # redelivered
    assert feed.store.pull_stats("app")[D1].count == 100
    with feed.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(seen)).scalar() == 0


def test_a_push_and_its_deletion_in_one_delivery(feed):
    result = ingest(
        feed,
        event("push", tag="tmp", at=0),
        event("delete", media="", agent="curl/8", at=1),
        event("push", digest=D2, tag="kept", at=2),
    )
    assert [d.tag for d in result.outside_deletions] == ["tmp"]
    assert set(feed.store.tag_records("app")) == {"kept"}


def test_pulls_lost_to_a_database_failure_count_when_redelivered(feed, monkeypatch):
    pull = event("pull", id="pull-x")

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(feed.store, "record", broken)
    with pytest.raises(RuntimeError):
        ingest(feed, pull)
    monkeypatch.undo()
    ingest(feed, pull)  # the registry delivers it again
    assert feed.store.pull_stats("app")[D1].count == 1


def test_a_push_time_that_cant_be_believed_is_unknown_not_trusted(feed):
    """A forged push dated year 1 would make a day-old image look ancient to a cleanup;
    one from the future, or long before its delivery, is not believed either."""
    forged = event("push", tag="forged")
    forged["timestamp"] = "0001-01-01T00:00:00Z"
    ingest(
        feed,
        forged,
        event("push", repo="app", tag="ahead", at=3600),  # an hour after it arrived
        event("push", repo="app", tag="stale", at=-8 * 86400),  # eight days before
        event("push", repo="app", tag="fine", at=-60),
    )
    records = feed.store.tag_records("app")
    assert records["forged"].digest == D1 and records["forged"].pushed_at is None
    assert records["ahead"].pushed_at is None and records["stale"].pushed_at is None
    assert records["fine"].pushed_at == NOW - timedelta(seconds=60)
    # The activity log shows when the doubtful ones arrived, not what they claimed.
    shown = {a.tag: a.at for a in feed.store.recent_activity("app")}
    assert shown["forged"] == NOW and shown["fine"] == NOW - timedelta(seconds=60)


def test_a_database_from_before_push_times_could_be_doubted_gets_the_column(database_url):
    from sqlalchemy import text

    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # registry_tags as the first version created it
            conn.execute(
                text(
                    "CREATE TABLE registry_tags (repository VARCHAR(255), tag VARCHAR(128), "
                    "digest VARCHAR(160) NOT NULL, pushed_at TIMESTAMP NOT NULL, "
                    "actor VARCHAR(128), user_agent VARCHAR(300) NOT NULL, "
                    "PRIMARY KEY (repository, tag))"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO registry_tags VALUES "
                    "('old', 'v1', :d, '2026-11-01 10:00:00', 'ci', 'docker/27')"
                ),
                {"d": D1},
            )
        store = EventStore(engine)
        store.ensure_schema()
        store.ensure_schema()  # again, as a second replica would
        (record,) = store.tag_records("old").values()
        assert record.pushed_at == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    finally:
        engine.dispose()


def test_processes_creating_the_tables_at_once_all_succeed(database_url):
    """The bot's two processes, and replicas, create the tables at the same moment at
    start (a process once died of NoSuchTableError: another's CREATE won the race)."""
    import threading

    from sqlalchemy import inspect

    engines = [make_engine(database_url) for _ in range(8)]
    failures: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def create(engine) -> None:
        start.wait()
        try:
            EventStore(engine).ensure_schema()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=create, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert failures == []
        columns = {c["name"] for c in inspect(engines[0]).get_columns("registry_tags")}
        assert "push_time_known" in columns
    finally:
        for engine in engines:
            engine.dispose()


def test_an_outside_deletion_is_audited_in_the_events_own_transaction(database_url):
    """The deletion room's hook writes the audit entry on the feed's connection: it is
    there as soon as the event is, and when the hook fails, neither is (a redelivery of
    the event then tries both again)."""
    from bot.deletions import ApproverPolicy, AuditAction, DeletionService, open_store
    from bot.registry import RegistryClient, RegistrySettings

    deletions = open_store(database_url)
    service = DeletionService(
        deletions,
        RegistryClient(RegistrySettings(url="http://127.0.0.1:9")),
        ApproverPolicy(["U1"]),
        approvals_required=1,
    )
    store = EventStore(deletions.engine)
    store.ensure_schema()
    failing = {"on": True}

    def hook(conn, deletion):
        service.record_outside_deletion(
            conn, deletion.repository, deletion.digest, deletion.tag, deletion.actor, None
        )
        if failing["on"]:
            raise RuntimeError("the audit could not be written")

    feed = EventFeed(
        store, is_own=lambda e: False, own_agent="registry-bot/", on_outside_deletion=hook
    )
    try:
        gone = event("delete", digest=D2, id="outside-1", actor="mallory")
        with pytest.raises(RuntimeError):
            ingest(feed, gone)
        assert service.recent_audit(5) == []  # neither the audit...
        assert feed.recent_activity("app") == []  # ...nor the event
        failing["on"] = False
        result = ingest(feed, gone)  # redelivered
        assert [a.digest for a in result.outside_deletions] == [D2]
        (audited,) = service.recent_audit(5)
        assert audited.event == AuditAction.OUTSIDE_DELETION and audited.request_id is None
        assert audited.detail == f"app@{D2}; no tags; actor mallory; no user agent"
        assert [a.kind for a in feed.recent_activity("app")] == [ActivityKind.OUTSIDE_DELETE]
    finally:
        service.registry.close()
        deletions.engine.dispose()


def test_what_the_index_and_the_storage_report_read_of_the_feed(feed):
    """When each repository last changed (a push or a deletion), its latest push, and
    the pushes that moved a tag, one repository's only when asked."""
    ingest(
        feed,
        event("push", tag="v1", at=0),
        event("push", digest=D2, tag="v1", at=5),  # v1 moves: D1 is left
        event("push", repo="other", tag="x", at=2),
        event("delete", repo="other", digest=D1, at=30),
    )
    # The deletion took "other"'s only tag with it: no push of it is left to tell.
    assert feed.last_pushes() == {"app": NOW + timedelta(seconds=5)}
    changes = feed.last_changes()
    assert changes["app"] == NOW + timedelta(seconds=5)
    assert changes["other"] == NOW + timedelta(seconds=30)  # the deletion
    assert [(m.repository, m.previous) for m in feed.moved_away("app")] == [("app", D1)]
    assert feed.moved_away("other") == []


def test_a_manifest_pushed_by_digest_is_recorded_but_never_announced(feed):
    result = ingest(feed, event("push", digest=D2, at=3, agent="crane/0.20"))
    assert result.pushes == [] and result.new == 1  # nothing for the channel
    (pushed,) = feed.moved_away("app")
    assert pushed.tag is None and pushed.may_leave_untagged == D2
    assert feed.recent_activity("app") == []  # the activity view shows tags and deletions
    assert feed.last_changes()["app"] == NOW + timedelta(seconds=3)
    # A tag moved off an image leaves that image; a new tag leaves none.
    ingest(feed, event("push", digest=D1, tag="v1", at=4), event("push", digest=D2, tag="v1", at=5))
    assert [m.may_leave_untagged for m in feed.moved_away("app")] == [D2, D1]
    assert [a.tag for a in feed.recent_activity("app")] == ["v1", "v1"]
