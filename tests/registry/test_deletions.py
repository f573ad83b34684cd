"""The deletion workflow against a real registry (DELETEs counted by a proxy), with
SQLite and with PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot.deletions import Fact, Finding, Refusal, State
from bot.registry import ManifestNotFoundError, RegistryClient, RegistrySettings, parse_reference
from testkit.deletions import (
    APPROVER,
    APPROVER2,
    GROUP_MEMBER,
    OUTSIDER,
    REQUESTER,
    Clock,
    deletes,
    open_request,
    outcome_of,
    refused,
)
from testkit.images import push_image, push_index


def test_preview_pins_digest_and_lists_every_sibling(make_service, client):
    pushed = push_image(client, "del1/app", ["1.0", "1.0.3", "stable"])
    push_image(client, "del1/app", ["2.0"])
    service = make_service()
    preview = service.preview_manifest(parse_reference("del1/app:stable"), "old", REQUESTER, "C1")
    request = preview.request
    assert request.state == State.DRAFT and request.digest == pushed.digest
    assert request.siblings == ("1.0", "1.0.3")
    assert request.tags_removed == ("stable", "1.0", "1.0.3")
    assert request.size == pushed.size
    assert service.store.get(request.id).digest == pushed.digest


def test_multi_arch_preview_pins_the_index(make_service, client):
    pushed = push_index(client, "del1/multi", ["v1", "latest"])
    request = (
        make_service()
        .preview_manifest(parse_reference("del1/multi:v1"), "", REQUESTER, "C1")
        .request
    )
    assert request.digest == pushed.digest and request.siblings == ("latest",)
    assert request.platforms == ("linux/amd64", "linux/arm64/v8")


def test_no_approvers_refuses_at_preview(make_service, client, counting):
    push_image(client, "del1/noappr", ["v1"])
    with refused(Refusal.NO_APPROVERS):
        make_service(approvers=(), groups=()).preview_manifest(
            parse_reference("del1/noappr:v1"), "", REQUESTER, "C1"
        )
    assert counting.total == 0


def test_self_approval_refused_even_when_listed(make_service, client, counting):
    push_image(client, "del2/app", ["v1"])
    service = make_service()
    request = open_request(service, "del2/app:v1")
    result = service.vote(request.id, REQUESTER, approve=True)
    assert result.effect == "refused" and result.refusal == Refusal.OWN_REQUEST
    assert [e.event for e in result.events] == ["refused"]
    assert deletes(counting) == 0 and service.store.get(request.id).state == State.PENDING


def test_non_approver_refused_and_audited(make_service, client, counting):
    push_image(client, "del2/other", ["v1"])
    service = make_service()
    request = open_request(service, "del2/other:v1")
    result = service.vote(request.id, OUTSIDER, approve=True)
    assert result.effect == "refused" and result.refusal == Refusal.NOT_APPROVER
    assert service.recent_audit(1)[0].actor == OUTSIDER
    assert deletes(counting) == 0


def test_group_approver_accepted_and_deletion_executes(make_service, client, counting):
    pushed = push_image(client, "del3/app", ["v1", "alias"])
    service = make_service()
    request = open_request(service, "del3/app:v1")
    result = service.vote(request.id, GROUP_MEMBER, approve=True)
    assert result.effect == "done"
    assert outcome_of(result).finding == Finding.DELETED and outcome_of(result).reclaimable
    assert deletes(counting) == 1
    assert [entry for entry in counting.log if entry[0] == "DELETE"] == [
        ("DELETE", f"/v2/del3/app/manifests/{pushed.digest}")
    ]
    with pytest.raises(ManifestNotFoundError):
        client.resolve("del3/app", "alias")
    events = [e for e in reversed(service.recent_audit(10)) if e.request_id == request.id]
    assert [e.event for e in events] == ["requested", "approved", "executed"]
    assert events[-1].outcome == outcome_of(result)  # the audit records the same facts
    assert outcome_of(result).fact.answer == "HTTP 202"
    assert [e.actor for e in events] == [REQUESTER, GROUP_MEMBER, None]


def test_quorum_of_two_needs_two_people(make_service, client, counting):
    push_image(client, "del4/app", ["v1"])
    service = make_service(required=2)
    request = open_request(service, "del4/app:v1")
    assert service.vote(request.id, APPROVER, True).effect == "approved"
    assert service.vote(request.id, APPROVER, True).effect == "duplicate"
    assert deletes(counting) == 0
    assert service.store.get(request.id).approvals == (APPROVER,)
    assert service.vote(request.id, APPROVER2, True).effect == "done"
    assert deletes(counting) == 1


def test_rejection_then_approval_deletes_nothing(make_service, client, counting):
    pushed = push_image(client, "del5/app", ["v1"])
    service = make_service()
    request = open_request(service, "del5/app:v1")
    assert service.vote(request.id, APPROVER, False).effect == "rejected"
    assert service.vote(request.id, APPROVER2, True).effect == "closed"
    assert deletes(counting) == 0 and client.resolve("del5/app", "v1") == pushed.digest
    assert service.store.get(request.id).closed_by == APPROVER


def test_requester_can_withdraw(make_service, client, counting):
    push_image(client, "del5/withdraw", ["v1"])
    service = make_service()
    request = open_request(service, "del5/withdraw:v1")
    with refused(Refusal.NOT_REQUESTER):
        service.cancel(request.id, APPROVER)
    assert service.vote(request.id, REQUESTER, False).effect == "cancelled"
    assert service.vote(request.id, APPROVER, True).effect == "closed"
    assert deletes(counting) == 0


def test_expiry(make_service, client, counting):
    push_image(client, "del6/app", ["v1", "v2"])
    clock = Clock()
    service = make_service(clock=clock, ttl=timedelta(minutes=15))
    late = open_request(service, "del6/app:v1")
    swept = open_request(service, "del6/app:v2")
    clock.now += timedelta(minutes=15, seconds=1)
    result = service.vote(late.id, APPROVER, True)
    assert result.effect == "expired" and [e.event for e in result.events] == ["expired"]
    closed = service.expire_due()
    assert [r.id for r, _ in closed] == [swept.id]
    assert service.expire_due() == []
    assert deletes(counting) == 0
    assert service.store.get(swept.id).state == State.EXPIRED


def test_request_stuck_while_being_posted_still_expires(make_service, client):
    push_image(client, "del6/stuck", ["v1"])
    clock = Clock()
    service = make_service(clock=clock, ttl=timedelta(minutes=5))
    preview = service.preview_manifest(parse_reference("del6/stuck:v1"), "", REQUESTER, "C1")
    service.claim_submit(preview.request.id, REQUESTER)  # then the process dies
    clock.now += timedelta(minutes=6)
    assert [r.id for r, _ in service.expire_due()] == [preview.request.id]


def test_moved_tag_aborts(make_service, client, counting):
    old = push_image(client, "del7/app", ["latest"])
    service = make_service()
    request = open_request(service, "del7/app:latest")
    new = push_image(client, "del7/app", ["latest"])  # the tag moves to a new image
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "failed"
    assert outcome_of(result).fact == Fact(Finding.TAG_MOVED, tags=("latest",), digest=new.digest)
    assert deletes(counting) == 0
    assert client.resolve("del7/app", "latest") == new.digest
    assert client.get_manifest("del7/app", old.digest).digest == old.digest


def test_deletion_disabled_fails_with_the_reason(make_service, registry_nodelete):
    c = RegistryClient(RegistrySettings(url=registry_nodelete.url))
    push_image(c, "del8/app", ["v1"])
    service = make_service(registry_url=registry_nodelete.url)
    request = open_request(service, "del8/app:v1")
    result = service.vote(request.id, APPROVER, True)
    assert result.effect == "failed"
    stored = service.store.get(request.id)
    assert stored.state == State.FAILED
    assert outcome_of(stored).finding == Finding.DELETE_DISABLED
    assert "deletion is disabled" in outcome_of(stored).fact.answer
    assert service.recent_audit(1)[0].event == "failed"
    c.close()


def test_request_survives_a_restart(make_service, client, counting):
    push_image(client, "del9/app", ["v1"])
    first = make_service()
    request = open_request(first, "del9/app:v1")
    first.store.engine.dispose()
    second = make_service()  # a new process: new engine, store and service
    assert second.pending()[0].id == request.id
    assert second.vote(request.id, APPROVER, True).effect == "done"
    assert deletes(counting) == 1


def test_eight_concurrent_clicks_from_two_approvers_delete_once(make_service, client, counting):
    push_image(client, "del10/app", ["v1"])
    replicas = [make_service(required=2), make_service(required=2)]  # two bots, one DB
    request = open_request(replicas[0], "del10/app:v1")
    barrier = threading.Barrier(8)
    outcomes = []

    def click(i: int) -> None:
        barrier.wait()
        user = APPROVER if i % 2 else APPROVER2
        outcomes.append(replicas[i % 2].vote(request.id, user, True).effect)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert deletes(counting) == 1
    assert outcomes.count("done") == 1
    assert replicas[0].store.get(request.id).state == State.DONE
    assert sorted(replicas[0].store.get(request.id).approvals) == [APPROVER, APPROVER2]


def test_blob_request(make_service, client, counting):
    push_image(client, "del11/app", ["v1"])
    orphan = client.upload_blob("del11/app", b"an orphaned layer" * 50)
    service = make_service()
    preview = service.preview_blob(parse_reference(f"del11/app@{orphan}"), "", REQUESTER, "C1")
    assert preview.request.size == 850
    service.claim_submit(preview.request.id, REQUESTER)
    service.submitted(preview.request.id)
    assert service.vote(preview.request.id, APPROVER, True).effect == "done"
    assert ("DELETE", f"/v2/del11/app/blobs/{orphan}") in counting.log
    assert not client.blob_exists("del11/app", orphan)


def test_only_the_requester_submits_and_only_once(make_service, client):
    push_image(client, "del12/app", ["v1"])
    service = make_service()
    preview = service.preview_manifest(parse_reference("del12/app:v1"), "", REQUESTER, "C1")
    with refused(Refusal.NOT_PREVIEWER):
        service.claim_submit(preview.request.id, APPROVER)
    assert service.claim_submit(preview.request.id, REQUESTER) is not None
    assert service.claim_submit(preview.request.id, REQUESTER) is None  # a double click
    service.release_submit(preview.request.id)  # posting failed: it can be retried
    assert service.claim_submit(preview.request.id, REQUESTER) is not None
