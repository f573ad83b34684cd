"""Deletion safety when the world changes between request and execution, and when
execution is interrupted: against the real registry (through a fault-injecting proxy),
on SQLite and PostgreSQL. Each test names the fault; docs/reliability.md lists them."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot.deletions import ExecutionInterrupted, Fact, Finding, Refusal, State
from bot.events import EventFeed, EventStore
from bot.policies import PolicyService, PolicyStore
from bot.registry import RegistryError, parse_reference
from bot.slack import deleting
from bot.slack.context import BotContext
from bot.slack.messages import SlackMessages
from bot.storage import StorageHistory
from testkit.deletions import APPROVER, REQUESTER, Clock, deletes, open_request, outcome_of
from testkit.images import manifest_exists, push_image

MANIFEST_HEAD = "/manifests/sha256:"
_names = {"suffix": ""}


@pytest.fixture(autouse=True)
def _fresh_repositories():
    """Each test (and each database it runs on) gets repositories of its own: the
    registry is shared by the session."""
    _names["suffix"] = uuid.uuid4().hex[:8]


def SUFFIX() -> str:
    return _names["suffix"]


def repush(client, repository, pushed, tag):
    """Point ``tag`` at an image already pushed (same bytes, same digest)."""
    client.put_manifest(repository, tag, pushed.body, pushed.media_type)


# -- the world changed since the request -------------------------------------------------
def test_a_tag_added_to_the_digest_after_the_request_aborts(make_service, client, counting):
    pushed = push_image(client, f"flt1/app{SUFFIX()}", ["old"])
    service = make_service(protected="^prod$")
    request = open_request(service, f"flt1/app{SUFFIX()}:old")
    repush(client, f"flt1/app{SUFFIX()}", pushed, "prod")  # a protected tag, after the request
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "failed"
    assert outcome_of(result).fact == Fact(Finding.TAGS_ADDED, tags=("prod",))
    assert deletes(counting) == 0 and client.resolve(f"flt1/app{SUFFIX()}", "prod") == pushed.digest
    assert service.recent_audit(1)[0].event == "failed"
    assert service.recent_audit(1)[0].outcome == outcome_of(result)


def test_a_tag_added_after_a_request_by_digest_aborts(make_service, client, counting):
    pushed = push_image(client, f"flt2/app{SUFFIX()}", ["a"])
    service = make_service()
    request = open_request(service, f"flt2/app{SUFFIX()}@{pushed.digest}")
    assert request.tags_removed == ("a",)
    repush(client, f"flt2/app{SUFFIX()}", pushed, "b")
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "failed"
    assert outcome_of(result).fact == Fact(Finding.TAGS_ADDED, tags=("b",))
    assert deletes(counting) == 0


def test_a_blob_used_again_after_the_request_is_kept(make_service, client, counting):
    layer = b"an orphaned layer, soon used again" * 40
    orphan = client.upload_blob(f"flt3/app{SUFFIX()}", layer)
    push_image(client, f"flt3/app{SUFFIX()}", ["v1"])
    service = make_service()
    preview = service.preview_blob(
        parse_reference(f"flt3/app{SUFFIX()}@{orphan}"), "", REQUESTER, "C1"
    )
    service.claim_submit(preview.request.id, REQUESTER)
    service.submitted(preview.request.id)
    push_image(client, f"flt3/app{SUFFIX()}", ["v2"], layers=[layer])  # now it is used
    result = service.vote(preview.request.id, APPROVER, True)
    assert result.effect == "failed"
    assert outcome_of(result).fact == Fact(Finding.BLOBS_IN_USE, tags=(orphan,))
    assert deletes(counting) == 0 and client.blob_exists(f"flt3/app{SUFFIX()}", orphan)


# -- the DELETE's answer is not the whole story --------------------------------------------
def test_a_delete_that_answers_500_after_deleting_is_reported_deleted(
    make_service, client, counting
):
    pushed = push_image(client, f"flt4/app{SUFFIX()}", ["v1"])
    service = make_service()
    request = open_request(service, f"flt4/app{SUFFIX()}:v1")
    counting.after = lambda m, p, status: (500, {}, b"") if m == "DELETE" else None
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "done"
    assert outcome_of(result).finding == Finding.DELETED_DESPITE_ERROR
    assert "500" in outcome_of(result).fact.answer
    assert service.store.get(request.id).state == State.DONE
    assert service.recent_audit(1)[0].outcome == outcome_of(result)
    with pytest.raises(Exception, match="not found"):
        client.head_manifest(f"flt4/app{SUFFIX()}", pushed.digest)


def test_a_delete_refused_with_500_reports_nothing_deleted(make_service, client, counting):
    push_image(client, f"flt5/app{SUFFIX()}", ["v1"])
    service = make_service()
    request = open_request(service, f"flt5/app{SUFFIX()}:v1")
    counting.intercept = lambda m, p: (500, {}, b"") if m == "DELETE" else None
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "failed" and outcome_of(result).finding == Finding.DELETE_FAILED
    assert client.resolve(f"flt5/app{SUFFIX()}", "v1")


def test_a_202_that_left_the_manifest_is_not_deleted(make_service, client, counting):
    push_image(client, f"flt6/app{SUFFIX()}", ["v1"])
    service = make_service()
    request = open_request(service, f"flt6/app{SUFFIX()}:v1")
    counting.intercept = lambda m, p: (202, {}, b"") if m == "DELETE" else None
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "failed" and outcome_of(result).finding == Finding.STILL_SERVED
    assert service.store.get(request.id).state == State.FAILED


def test_an_unknown_outcome_is_settled_once_the_registry_answers(make_service, client, counting):
    pushed = push_image(client, f"flt7/app{SUFFIX()}", ["v1"])
    clock = Clock()
    service = make_service(clock=clock)
    request = open_request(service, f"flt7/app{SUFFIX()}:v1")
    counting.after = lambda m, p, status: (500, {}, b"") if m == "DELETE" else None
    counting.intercept = lambda m, p: (503, {}, b"") if m == "HEAD" and MANIFEST_HEAD in p else None
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "unknown" and outcome_of(result).finding == Finding.NOT_KNOWN
    stored = service.store.get(request.id)
    assert stored.state == State.EXECUTING and outcome_of(stored).finding == Finding.NOT_KNOWN
    assert service.recover() == []  # still can't tell: nothing settled, nothing audited
    counting.after = counting.intercept = None
    settled = service.recover()
    assert [r.effect for r in settled] == ["done"]
    assert service.store.get(request.id).state == State.DONE
    assert [e.event for e in service.recent_audit(2)] == ["executed", "unknown"]
    assert deletes(counting) == 1
    with pytest.raises(Exception, match="not found"):
        client.head_manifest(f"flt7/app{SUFFIX()}", pushed.digest)


# -- interrupted executions ----------------------------------------------------------------
def _interrupt(service, request, clock):
    """What a process killed during the DELETE leaves: executing, with its last claim."""
    assert service.store.claim(request.id, clock.now) is not None


def test_an_execution_killed_after_the_delete_is_recovered_as_deleted(
    make_service, client, counting
):
    pushed = push_image(client, f"flt8/app{SUFFIX()}", ["v1"])
    clock = Clock()
    service = make_service(clock=clock)
    request = open_request(service, f"flt8/app{SUFFIX()}:v1")
    _interrupt(service, request, clock)
    client.delete_manifest(f"flt8/app{SUFFIX()}", pushed.digest)  # the DELETE went through
    assert service.recover() == []  # the claim is fresh: maybe a replica is working
    assert service.vote(request.id, APPROVER, True).effect == "closed"
    clock.now += timedelta(seconds=61)
    settled = service.recover()
    assert [(r.request.id, r.effect) for r in settled] == [(request.id, "done")]
    event = service.recent_audit(1)[0]
    assert event.event == "executed" and event.outcome is not None and event.outcome.checked
    assert event.outcome.finding == Finding.GONE_ON_CHECK
    assert service.recover() == []


def test_an_execution_killed_before_the_delete_is_recovered_as_failed(make_service, client):
    push_image(client, f"flt9/app{SUFFIX()}", ["v1"])
    clock = Clock()
    service = make_service(clock=clock)
    request = open_request(service, f"flt9/app{SUFFIX()}:v1")
    _interrupt(service, request, clock)
    clock.now += timedelta(seconds=61)
    assert [r.effect for r in service.recover()] == ["failed"]
    stored = service.store.get(request.id)
    assert stored.state == State.FAILED
    assert outcome_of(stored).finding == Finding.STILL_THERE_ON_CHECK and outcome_of(stored).checked


def test_a_database_failure_after_the_delete_is_recovered(make_service, client, counting):
    push_image(client, f"flt10/app{SUFFIX()}", ["v1"])
    clock = Clock()
    service = make_service(clock=clock)
    request = open_request(service, f"flt10/app{SUFFIX()}:v1")
    real = service.store.settle

    def failing(request_id, token, to, **values):
        if to == State.DONE:
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return real(request_id, token, to, **values)

    service.store.settle = failing
    with pytest.raises(ExecutionInterrupted) as raised:
        service.vote(request.id, APPROVER, True)
    assert isinstance(raised.value.__cause__, OperationalError)
    service.store.settle = real
    assert service.store.get(request.id).state == State.EXECUTING
    clock.now += timedelta(seconds=61)
    assert [r.effect for r in service.recover()] == ["done"]
    assert deletes(counting) == 1  # recovery asked; it did not delete again


def test_a_long_execution_keeps_its_claim(make_service, client, counting):
    push_image(client, f"flt11/app{SUFFIX()}", ["v1"])
    real_clock = lambda: datetime.now(UTC)  # noqa: E731
    lease = timedelta(seconds=0.3)
    worker = make_service(clock=real_clock, lease=lease)
    other = make_service(clock=real_clock, lease=lease)  # a second replica, sweeping
    request = open_request(worker, f"flt11/app{SUFFIX()}:v1")
    hold = threading.Event()
    counting.intercept = lambda m, p: (hold.wait(5) and None) if m == "DELETE" else None
    outcome = []
    thread = threading.Thread(
        target=lambda: outcome.append(worker.vote(request.id, APPROVER, True).effect)
    )
    thread.start()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        assert other.recover() == []  # the heartbeat keeps the claim fresh
        time.sleep(0.1)
    hold.set()
    thread.join(10)
    assert outcome == ["done"] and deletes(counting) == 1


def test_a_submit_left_half_done_is_given_back(make_service, client):
    push_image(client, f"flt12/app{SUFFIX()}", ["v1"])
    clock = Clock()
    service = make_service(clock=clock)
    preview = service.preview_manifest(
        parse_reference(f"flt12/app{SUFFIX()}:v1"), "", REQUESTER, "C1"
    )
    assert service.claim_submit(preview.request.id, REQUESTER) is not None  # then it dies
    clock.now += timedelta(seconds=61)
    service.recover()
    assert service.store.get(preview.request.id).state == State.DRAFT
    assert service.claim_submit(preview.request.id, REQUESTER) is not None


def test_a_nul_byte_in_a_reason_is_stored_without_it(make_service, client):
    push_image(client, f"flt13/app{SUFFIX()}", ["v1"])
    service = make_service()
    request = open_request(service, f"flt13/app{SUFFIX()}:v1", reason="old\x00build")
    assert service.store.get(request.id).reason == "oldbuild"
    assert "reason: oldbuild" in service.recent_audit(1)[0].detail


# -- Slack: a submit that Slack never answers ----------------------------------------------
class _HangingWeb:
    def chat_postMessage(self, **kwargs):
        raise TimeoutError("The read operation timed out")


class _Replies:
    def __init__(self) -> None:
        self.sent = []

    def send(self, url, message, *, replace_original=False) -> bool:
        self.sent.append(message.text)
        return True


def test_a_submit_that_times_out_on_slack_goes_back_to_draft(make_service, client):
    push_image(client, f"flt14/app{SUFFIX()}", ["v1"])
    service = make_service()
    preview = service.preview_manifest(
        parse_reference(f"flt14/app{SUFFIX()}:v1"), "", REQUESTER, "C1"
    )
    replies = _Replies()
    messages = SlackMessages(service.store.engine)
    messages.ensure_schema()
    events = EventStore(service.store.engine)
    events.ensure_schema()
    ctx = BotContext(
        registry=service.registry,
        web=_HangingWeb(),  # type: ignore[arg-type]
        deletions=service,
        messages=messages,
        events=EventFeed(events, is_own=lambda e: False, own_agent="registry-bot/"),
        policies=PolicyService(PolicyStore(service.store.engine), service),
        history=StorageHistory(service.store.engine),
    )
    ctx.responder = replies  # type: ignore[assignment]
    deleting.submit(ctx, preview.request.id, REQUESTER, "http://127.0.0.1:9/response")
    assert service.store.get(preview.request.id).state == State.DRAFT
    assert replies.sent and "nothing was requested" in replies.sent[0]


# -- a database the bot can't write ----------------------------------------------------------
def test_a_read_only_database_is_found_at_start(database_url):
    from bot.deletions.store import DatabaseUnavailable, check_database

    check_database(database_url)  # creates the schema; writable
    if database_url.startswith("sqlite:///"):
        path = database_url.removeprefix("sqlite:///")
        read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    else:
        read_only = database_url + "%20-cdefault_transaction_read_only%3Don"
    with pytest.raises(DatabaseUnavailable) as info:
        check_database(read_only)
    assert info.value.read_only and "read" in info.value.reason
    from bot.__main__ import database_problem

    assert "is read-only" in database_problem(info.value)
    assert "must be able to write" in database_problem(info.value)


def test_a_vote_refused_by_the_front_end_is_audited(make_service, client, counting):
    push_image(client, f"flt15/app{SUFFIX()}", ["v1"])
    service = make_service()
    request = open_request(service, f"flt15/app{SUFFIX()}:v1", channel="C0CHAN01")
    why = Refusal.NOT_THE_REQUEST_MESSAGE
    result = service.refuse(request.id, APPROVER, "approve", why)
    assert result.effect == "refused" and result.refusal == why
    assert [e.event for e in result.events] == ["refused"]
    assert service.recent_audit(1)[0].detail == f"approve: {why.value}"
    assert service.store.get(request.id).state == State.PENDING and deletes(counting) == 0


def test_blob_deletes_that_answer_500_after_deleting_count_as_deleted(
    make_service, client, counting
):
    push_image(client, f"flt16/app{SUFFIX()}", ["v1"])
    orphan = client.upload_blob(f"flt16/app{SUFFIX()}", b"an orphan answered with 500" * 30)
    service = make_service()
    preview = service.preview_blob(
        parse_reference(f"flt16/app{SUFFIX()}@{orphan}"), "", REQUESTER, "C1"
    )
    service.claim_submit(preview.request.id, REQUESTER)
    service.submitted(preview.request.id)
    counting.after = lambda m, p, status: (500, {}, b"") if m == "DELETE" else None
    result = service.vote(preview.request.id, APPROVER, True)
    assert result.effect == "done" and outcome_of(result).finding == Finding.BLOBS_DELETED
    assert (outcome_of(result).done, outcome_of(result).failed) == (1, 0)
    assert not client.blob_exists(f"flt16/app{SUFFIX()}", orphan)


def test_a_digest_header_that_lies_is_never_pinned(make_service, client, counting):
    push_image(client, f"flt17/app{SUFFIX()}", ["v1"])
    lie = "sha256:" + "9" * 64

    def lying(method, path, headers):
        if "/manifests/v1" in path:
            headers = {k: v for k, v in headers.items() if k.lower() != "docker-content-digest"}
            headers["Docker-Content-Digest"] = lie
        return headers

    counting.headers = lying
    service = make_service()
    with pytest.raises(RegistryError, match="refusing to trust"):
        service.preview_manifest(
            parse_reference(f"flt17/app{SUFFIX()}:v1"), "", REQUESTER, "C0CHAN01"
        )
    assert deletes(counting) == 0


# -- a state change and its audit event are one transaction --------------------------------
@contextlib.contextmanager
def _audit_writes_fail(engine):
    """Every INSERT into the audit table fails (a trigger), as a database that breaks
    between two statements would make it."""
    from sqlalchemy import text

    sqlite = engine.dialect.name == "sqlite"
    with engine.begin() as conn:
        if sqlite:
            conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON deletion_audit "
                    "BEGIN SELECT RAISE(ABORT, 'audit down'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION audit_down() RETURNS trigger AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit down'; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER audit_down BEFORE INSERT ON deletion_audit "
                    "FOR EACH ROW EXECUTE FUNCTION audit_down()"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if sqlite:
                conn.execute(text("DROP TRIGGER audit_down"))
            else:
                conn.execute(text("DROP TRIGGER audit_down ON deletion_audit"))
                conn.execute(text("DROP FUNCTION audit_down()"))


def test_a_state_change_whose_audit_fails_is_not_made(make_service, client, counting):
    push_image(client, f"flt20/app{SUFFIX()}", ["v1", "v2", "v3"])
    clock = Clock()
    service = make_service(clock=clock)
    rejected = open_request(service, f"flt20/app{SUFFIX()}:v1")
    approved = open_request(service, f"flt20/app{SUFFIX()}:v2")
    expiring = open_request(service, f"flt20/app{SUFFIX()}:v3")
    audited = len(service.recent_audit(50))
    with _audit_writes_fail(service.store.engine):
        with pytest.raises(Exception, match="audit down"):
            service.vote(rejected.id, APPROVER, False)  # reject: state and audit, or neither
        with pytest.raises(Exception, match="audit down"):
            service.vote(approved.id, APPROVER, True)  # the approval's vote and its audit
        clock.now += timedelta(days=2)
        with pytest.raises(Exception, match="audit down"):
            service.expire_due()
    assert service.store.get(rejected.id).state == State.PENDING
    assert service.store.get(approved.id).state == State.PENDING
    assert service.store.approvals(approved.id) == []  # the vote went with its audit
    assert service.store.get(expiring.id).state == State.PENDING
    assert len(service.recent_audit(50)) == audited
    assert deletes(counting) == 0
    # Once the database takes writes again, the same steps go through, audited.
    assert [e.event for _, events in service.expire_due() for e in events] == ["expired"] * 3


def test_a_settlement_whose_audit_fails_leaves_the_request_to_recovery(
    make_service, client, counting
):
    pushed = push_image(client, f"flt21/app{SUFFIX()}", ["v1"])
    clock = Clock()
    service = make_service(clock=clock)
    request = open_request(service, f"flt21/app{SUFFIX()}:v1")
    real = service.store.settle

    def failing_on_settle(request_id, token, to, **values):
        if to == State.DONE:
            with _audit_writes_fail(service.store.engine):
                return real(request_id, token, to, **values)
        return real(request_id, token, to, **values)

    service.store.settle = failing_on_settle
    with pytest.raises(ExecutionInterrupted) as raised:
        service.vote(request.id, APPROVER, True)
    assert "audit down" in str(raised.value.__cause__)
    service.store.settle = real
    assert service.store.get(request.id).state == State.EXECUTING  # not deleted unaudited
    assert not manifest_exists(client, f"flt21/app{SUFFIX()}", pushed.digest)
    clock.now += timedelta(seconds=61)
    assert [r.effect for r in service.recover()] == ["done"]
    assert service.recent_audit(1)[0].event == "executed"
    assert deletes(counting) == 1
