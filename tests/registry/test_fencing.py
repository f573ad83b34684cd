"""Fencing: a holder that stalls after claiming part of a cleanup (cut off from its
database, paused) and is taken over never sends another DELETE, its database writes
are refused, and the holder that took over checks what was left under way with the
registry and a fresh scan. A process never takes over its own live run. Against the
real registry, two services on one database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot.deletions import (
    AuditAction,
    ExecutionInterrupted,
    Fact,
    Finding,
    ItemState,
    Outcome,
    State,
    Verdict,
)
from bot.deletions.models import AuditEntry
from bot.deletions.retention import RetentionRules
from testkit.deletions import APPROVER, REQUESTER, outcome_of
from testkit.images import manifest_exists, push_image
from testkit.proxy import RegistryProxy, deletes_by_digest

LEASE = timedelta(seconds=1)


def real_clock() -> datetime:
    return datetime.now(UTC)


def requested_cleanup(service, repo):
    preview = service.preview_prune(repo, RetentionRules(keep=1), "ci", REQUESTER, "C1")
    assert service.claim_submit(preview.request.id, REQUESTER) is not None
    service.submitted(preview.request.id)
    return preview.request


def old_images(client, repo, count):
    images = [
        push_image(client, repo, [f"pr-{i}"], created=f"2024-01-{i + 1:02d}T00:00:00Z")
        for i in range(count)
    ]
    push_image(client, repo, ["main"], created="2026-11-01T00:00:00Z")
    return images


class Stall:
    """Holds a service's cleanup right after it claimed a batch (before any of the
    batch's DELETEs is sent), as a pause or a lost database connection would."""

    def __init__(self, service) -> None:
        self.service = service
        self.reached = threading.Event()
        self.release = threading.Event()
        real = service.undo.save

        def save(*args, **kwargs):
            self.reached.set()
            assert self.release.wait(30)
            return real(*args, **kwargs)

        service.undo.save = save

    def cut_off_from_the_database(self) -> None:
        def unreachable(*args, **kwargs):
            raise OperationalError("UPDATE", {}, Exception("connection refused"))

        self._renew = self.service.store.renew_claim
        self.service.store.renew_claim = unreachable

    def reconnect(self) -> None:
        self.service.store.renew_claim = self._renew


@pytest.mark.parametrize("database_back", [False, True], ids=["still_cut_off", "back"])
def test_a_holder_taken_over_while_stalled_sends_no_delete_and_writes_nothing(
    make_service, client, counting, database_url, database_back
):
    repo = f"fence/app{uuid.uuid4().hex[:8]}"
    images = old_images(client, repo, 12)
    with RegistryProxy(counting.upstream) as other:
        stalled = make_service(clock=real_clock, lease=LEASE)
        taker = make_service(clock=real_clock, lease=LEASE, registry_url=other.url)
        request = requested_cleanup(stalled, repo)
        stall = Stall(stalled)
        outcome: list = []

        def vote() -> None:
            try:
                outcome.append(stalled.vote(request.id, APPROVER, True))
            except ExecutionInterrupted as exc:
                outcome.append(exc)

        voting = threading.Thread(target=vote)
        voting.start()
        try:
            assert stall.reached.wait(20)  # the batch is claimed, nothing deleted yet
            stall.cut_off_from_the_database()
            items = stalled.cleanup_items(request.id)
            claimed = [i for i in items if i.state == ItemState.DELETING]
            assert len(claimed) == 12
            # While it stalls, a hotfix tag goes onto one of the images it claimed.
            hotfix = claimed[0]
            pushed = next(i for i in images if i.digest == hotfix.digest)
            client.put_manifest(repo, "hotfix", pushed.body, pushed.media_type)
            time.sleep(LEASE.total_seconds() * 1.3)
            (settled,) = taker.recover()  # the other replica takes over
            assert settled.effect == "done" and settled.request.claim_token == 2
            report = outcome_of(settled)
            assert [i.fact for i in report.items if i.skipped] == [
                Fact(Finding.TAGS_ADDED, tags=("hotfix",))
            ]
            assert report.resumed
            if database_back:
                stall.reconnect()
        finally:
            stall.release.set()  # the stalled holder wakes up
            voting.join(30)
        if database_back:
            # Its renewal finds another holder's token: it stops, and says so privately.
            assert outcome[0].effect == "taken over", outcome
        else:
            # Still cut off from its database, it can't tell it was taken over: it
            # stops, and says the request is to be resumed (the other holder has).
            assert isinstance(outcome[0], ExecutionInterrupted), outcome
    assert deletes_by_digest(counting) == {}  # the stale holder sent nothing
    assert deletes_by_digest(other) == {i.digest: 1 for i in images if i.digest != hotfix.digest}
    assert client.resolve(repo, "hotfix") == hotfix.digest
    items = {i.digest: i for i in taker.cleanup_items(request.id)}
    assert items[hotfix.digest].state == ItemState.SKIPPED  # not overwritten by the stale one
    for image in images:
        deleted = items[image.digest].state == ItemState.DELETED
        assert deleted is not manifest_exists(client, repo, image.digest)  # the report is the truth
    final = taker.store.get(request.id)
    assert final.state == State.DONE
    assert [e.event for e in taker.recent_audit(3)].count("executed") == 1


def test_a_holder_that_stalled_but_was_not_taken_over_carries_on(make_service, client, counting):
    repo = f"fence/own{uuid.uuid4().hex[:8]}"
    images = old_images(client, repo, 6)
    service = make_service(clock=real_clock, lease=LEASE)
    request = requested_cleanup(service, repo)
    stall = Stall(service)
    outcome = []
    voting = threading.Thread(
        target=lambda: outcome.append(service.vote(request.id, APPROVER, True))
    )
    voting.start()
    try:
        assert stall.reached.wait(20)
        stall.cut_off_from_the_database()
        time.sleep(LEASE.total_seconds() * 1.3)  # the claim is stale in the database now
        assert service.recover() == []  # its own sweeper never takes over its own live run
        stall.reconnect()  # the database is back
    finally:
        stall.release.set()
        voting.join(30)
    assert outcome[0].effect == "done" and outcome_of(outcome[0]).done == 6
    assert deletes_by_digest(counting) == {i.digest: 1 for i in images}
    assert service.store.get(request.id).claim_token == 1  # never taken over


def test_a_stale_holders_settlement_is_refused(make_service, client):
    repo = f"fence/one{uuid.uuid4().hex[:8]}"
    push_image(client, repo, ["v1"])
    service = make_service(clock=real_clock, lease=LEASE)
    from testkit.deletions import open_request

    request = open_request(service, f"{repo}:v1")
    claimed = service.store.claim(request.id, real_clock())
    assert claimed is not None and claimed.claim_token == 1
    # Another holder takes over once the claim is stale...
    later = real_clock() + timedelta(seconds=5)
    assert service.store.take_over(request.id, 1, later - LEASE, later) == 2
    # ...and the first holder's renewal and settlement are both refused.
    assert not service.store.renew_claim(request.id, 1, later)
    outcome = Outcome(Verdict.NOT_DONE, Fact(Finding.DELETE_FAILED))
    entry = AuditEntry(AuditAction.FAILED, later, outcome=outcome)
    settled = service.store.settle(
        request.id, 1, State.FAILED, outcome=outcome, at=later, audit=entry
    )
    assert settled is None
    assert service.store.get(request.id).state == State.EXECUTING
    # Two takeovers of the same stale claim: one wins.
    assert service.store.take_over(request.id, 1, later, later) is None
