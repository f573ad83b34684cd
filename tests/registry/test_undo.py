"""Undo until garbage collection: every executed deletion keeps its manifests byte for
byte, and a restore request (approved like a deletion) puts them back, re-points the
tags, and names what can't come back. Against the real registry, on SQLite and
PostgreSQL; garbage collection is the registry's own (``docker-registry
garbage-collect``)."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest

from bot.deletions import Fact, Finding, Kind, Refusal, State
from bot.registry import ManifestNotFoundError, RegistryClient, RegistrySettings, parse_reference
from testkit.deletions import (
    REQUESTER,
    approve,
    open_request,
    outcome_of,
    refused,
    service_factory,
)
from testkit.images import push_image, push_index


def _repo(name: str) -> str:
    return f"undo/{name}{uuid.uuid4().hex[:8]}"


def _layers() -> list[bytes]:
    return [os.urandom(1500), os.urandom(2500)]


def restore_via_approval(service, deleted_id: str):
    preview = service.preview_restore(deleted_id, REQUESTER, "C0CHAN01")
    assert preview.request.kind == Kind.RESTORE and preview.request.restores == deleted_id
    assert service.claim_submit(preview.request.id, REQUESTER) is not None
    service.submitted(preview.request.id)
    return approve(service, preview.request.id)


def test_a_deleted_image_is_restored_byte_for_byte_with_its_tags(make_service, client):
    repo = _repo("app")
    layers = _layers()
    pushed = push_image(client, repo, ["v1", "v1-alias"], layers=layers)
    service = make_service()
    deleted = approve(service, open_request(service, f"{repo}:v1").id)
    assert deleted.effect == "done"
    with pytest.raises(ManifestNotFoundError):
        client.head_manifest(repo, pushed.digest)
    assert service.undo_until(deleted.request) is not None

    result = restore_via_approval(service, deleted.request.id)

    assert result.effect == "done", result.request.outcome  # carried out
    restored = outcome_of(result)
    assert restored.finding == Finding.RESTORED and (restored.done, restored.of) == (1, 1)
    assert restored.items[0].fact == Fact(Finding.IMAGE_RESTORED, tags=("v1", "v1-alias"))
    fresh = RegistryClient(RegistrySettings(url=client.settings.url))
    try:
        for tag in ("v1", "v1-alias"):
            fetched = fresh.get_manifest(repo, tag)
            assert fetched.digest == pushed.digest and fetched.body == pushed.body
        for (digest, _), data in zip(pushed.layers, layers, strict=True):
            assert fresh.get_blob(repo, digest, max_bytes=10_000) == data
    finally:
        fresh.close()
    events = [e.event for e in service.recent_audit(3)]
    assert events[0] == "executed" and service.recent_audit(1)[0].outcome == restored


def test_a_multi_arch_image_is_restored_platforms_first(make_service, client):
    repo = _repo("multi")
    index = push_index(client, repo, ["latest"])
    service = make_service()
    deleted = approve(service, open_request(service, f"{repo}:latest").id)
    assert deleted.effect == "done"
    result = restore_via_approval(service, deleted.request.id)
    assert result.effect == "done", result.request.outcome
    assert client.get_manifest(repo, "latest").body == index.body
    for child in index.children:
        assert client.head_manifest(repo, child.digest).digest == child.digest


def test_an_untagged_tag_is_pointed_back(make_service, client):
    repo = _repo("untag")
    pushed = push_image(client, repo, ["keep", "rc"])
    service = make_service()
    preview = service.preview_manifest(parse_reference(f"{repo}:rc"), "", REQUESTER, "C1")
    service.claim_submit(preview.request.id, REQUESTER, as_untag=True)
    service.submitted(preview.request.id)
    removed = approve(service, preview.request.id)
    assert removed.effect == "done" and removed.request.kind == Kind.TAG
    with pytest.raises(ManifestNotFoundError):
        client.resolve(repo, "rc")
    result = restore_via_approval(service, removed.request.id)
    assert result.effect == "done", result.request.outcome
    assert client.resolve(repo, "rc") == pushed.digest == client.resolve(repo, "keep")


def test_a_tag_pushed_since_is_left_alone(make_service, client):
    repo = _repo("moved")
    old = push_image(client, repo, ["stable"])
    service = make_service()
    deleted = approve(service, open_request(service, f"{repo}:stable").id)
    newer = push_image(client, repo, ["stable"])  # someone pushed a new stable since
    result = restore_via_approval(service, deleted.request.id)
    assert result.effect == "done"
    left = [i.fact for i in outcome_of(result).items if i.tags == ("stable",)]
    assert left == [Fact(Finding.TAG_LEFT, digest=newer.digest)]
    assert client.resolve(repo, "stable") == newer.digest  # not moved back
    assert client.head_manifest(repo, old.digest).digest == old.digest  # the image is back


def test_nothing_to_restore_is_refused(make_service, client):
    repo = _repo("none")
    push_image(client, repo, ["a"])
    service = make_service()
    pending = open_request(service, f"{repo}:a")
    with refused(Refusal.NOT_UNDOABLE):
        service.preview_restore(pending.id, REQUESTER, "C1")
    with refused(Refusal.REQUEST_GONE):
        service.preview_restore("0123456789abcdef", REQUESTER, "C1")


def test_undo_copies_expire_after_the_retention(make_service, client):
    repo = _repo("expire")
    push_image(client, repo, ["a"])
    service = make_service()
    service.undo_retention = timedelta(days=2)
    deleted = approve(service, open_request(service, f"{repo}:a").id)
    assert service.undo_until(deleted.request) == service.clock() + timedelta(days=2)
    service.clock.now += timedelta(days=3)
    assert service.undo_until(deleted.request) is None
    with refused(Refusal.NOTHING_KEPT) as info:
        service.preview_restore(deleted.request.id, REQUESTER, "C1")
    assert info.value.retention == timedelta(days=2)
    service.expire_due()  # purges
    assert service.undo.load(deleted.request.id, service.clock() - timedelta(days=30)) == []


def test_a_deletion_that_cannot_keep_its_copy_deletes_nothing(make_service, client, counting):
    repo = _repo("nocopy")
    pushed = push_image(client, repo, ["a"])
    service = make_service()
    request = open_request(service, f"{repo}:a")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    service.undo.save = broken
    result = approve(service, request.id)
    assert result.effect == "failed"
    assert outcome_of(result).fact == Fact(Finding.UNDO_COPY_FAILED, answer="OSError")
    assert counting.counts.get("DELETE", 0) == 0
    assert client.head_manifest(repo, pushed.digest).digest == pushed.digest


def test_an_image_whose_blobs_were_garbage_collected_is_named(own_registry, database_url):
    make, close = service_factory(database_url, own_registry.url)
    try:
        service = make()
        client = service.registry
        gone = push_image(client, "gc/app", ["old"])
        kept = push_image(client, "gc/app", ["new", "other"])
        first = approve(service, open_request(service, "gc/app:old").id)
        second = approve(service, open_request(service, "gc/app:new").id)
        assert first.effect == second.effect == "done"
        push_image(client, "gc/app", ["still-here"])  # the repository isn't emptied
        own_registry.garbage_collect()  # the registry's own; nothing writes to it now
        result = restore_via_approval(service, first.request.id)
        assert result.effect == "failed"
        assert outcome_of(result).finding == Finding.NOTHING_RESTORED
        assert [(i.digest, i.fact.finding) for i in outcome_of(result).items] == [
            (gone.digest, Finding.BLOBS_GONE)
        ]
        with pytest.raises(ManifestNotFoundError):
            client.resolve("gc/app", "old")
        # The second deletion's blobs went the same way.
        second_restore = restore_via_approval(service, second.request.id)
        assert second_restore.effect == "failed"
        assert [(i.digest, i.fact.finding) for i in outcome_of(second_restore).items] == [
            (kept.digest, Finding.BLOBS_GONE)
        ]
        with pytest.raises(ManifestNotFoundError):
            client.resolve("gc/app", "other")
        assert restore_via_approval(service, second.request.id).effect == "failed"
    finally:
        close()


def test_restores_count_as_requests_in_their_own_right(make_service, client):
    """A restore needs an approver other than its requester, and is audited."""
    repo = _repo("vote")
    push_image(client, repo, ["a"])
    service = make_service()
    deleted = approve(service, open_request(service, f"{repo}:a").id)
    preview = service.preview_restore(deleted.request.id, REQUESTER, "C1")
    service.claim_submit(preview.request.id, REQUESTER)
    request, events = service.submitted(preview.request.id)
    assert request.state == State.PENDING and events[0].event == "requested"
    refused = service.vote(preview.request.id, REQUESTER, True)
    assert refused.effect == "refused"
