"""The deletion state machine alone (unit tier): a fake registry behind
httpx.MockTransport and a SQLite file, no process. The same workflow runs against the
real registry and PostgreSQL in test_deletions.py and test_deletion_faults.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.deletions import (
    ApproverPolicy,
    DeletionService,
    Effect,
    Finding,
    State,
    open_store,
)
from bot.registry import parse_reference
from testkit.deletions import APPROVER, APPROVER2, OUTSIDER, REQUESTER, Clock
from testkit.fake_registry import FakeRegistry


@pytest.fixture
def fake() -> FakeRegistry:
    return FakeRegistry()


@pytest.fixture
def service(tmp_path, fake) -> Iterator[DeletionService]:
    made = DeletionService(
        open_store(f"sqlite:///{tmp_path / 'states.db'}"),
        fake.client(),
        ApproverPolicy([APPROVER, APPROVER2]),
        approvals_required=2,
        ttl=timedelta(minutes=10),
        clock=Clock(),
    )
    yield made
    made.registry.close()
    made.store.engine.dispose()


def _pending(service: DeletionService, ref: str) -> str:
    preview = service.preview_manifest(parse_reference(ref), "old", REQUESTER, "C1")
    assert preview.request.state == State.DRAFT
    assert service.claim_submit(preview.request.id, REQUESTER) is not None
    request, _ = service.submitted(preview.request.id)
    assert request.state == State.PENDING
    return request.id


def test_quorum_of_two_distinct_approvers_deletes_once(service, fake):
    digest = fake.push("app", ["v1", "v1.0"], "a")
    fake.push("app", ["v2"], "b")
    request_id = _pending(service, "app:v1")
    assert service.store.get(request_id).siblings == ("v1.0",)
    outcomes = [
        service.vote(request_id, OUTSIDER, True).effect,
        service.vote(request_id, REQUESTER, True).effect,
        service.vote(request_id, APPROVER, True).effect,
        service.vote(request_id, APPROVER, True).effect,
        service.vote(request_id, APPROVER2, True).effect,
        service.vote(request_id, APPROVER2, True).effect,
    ]
    assert outcomes == [
        Effect.REFUSED,  # not an approver
        Effect.REFUSED,  # the requester never counts
        Effect.APPROVED,
        Effect.DUPLICATE,
        Effect.DONE,
        Effect.CLOSED,
    ]
    assert fake.deletes == [f"/v2/app/manifests/{digest}"]
    assert set(fake.repositories["app"].tags) == {"v2"}


def test_one_rejection_closes_and_nothing_is_deleted(service, fake):
    fake.push("app", ["v1"], "a")
    request_id = _pending(service, "app:v1")
    assert service.vote(request_id, APPROVER, False).effect == Effect.REJECTED
    assert service.vote(request_id, APPROVER2, True).effect == Effect.CLOSED
    assert fake.deletes == [] and service.store.get(request_id).state == State.REJECTED


def test_expiry_closes_open_requests_and_votes_after_it_are_refused(service, fake):
    fake.push("app", ["v1"], "a")
    request_id = _pending(service, "app:v1")
    service.clock.now += timedelta(minutes=11)
    assert service.vote(request_id, APPROVER, True).effect == Effect.EXPIRED
    assert service.store.get(request_id).state == State.EXPIRED
    assert service.expire_due() == [] and fake.deletes == []


def test_the_requester_withdraws_by_rejecting(service, fake):
    fake.push("app", ["v1"], "a")
    request_id = _pending(service, "app:v1")
    assert service.vote(request_id, REQUESTER, False).effect == Effect.CANCELLED
    assert service.store.get(request_id).state == State.CANCELLED


def test_a_moved_tag_stops_the_deletion(service, fake):
    fake.push("app", ["v1"], "a")
    request_id = _pending(service, "app:v1")
    fake.push("app", ["v1"], "b")  # v1 now points at another image
    service.vote(request_id, APPROVER, True)
    result = service.vote(request_id, APPROVER2, True)
    assert result.effect == Effect.FAILED
    assert result.request.outcome is not None
    assert result.request.outcome.finding == Finding.TAG_MOVED
    assert fake.deletes == []
