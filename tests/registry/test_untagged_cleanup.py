"""A cleanup of untagged manifests (``prune --untagged``) below Slack, against the real
registry and both databases: it plans the manifests the events say a push left without
a tag and keeps those pulled lately or left too recently; what it frees counts only what
no tagged image uses; a manifest tagged again before the approval is skipped; with no
record of untagged manifests it is refused rather than answered "none"."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from bot.deletions import Finding, ItemState, Kept, Refusal, RepoUsage, RetentionRules
from testkit.deletions import (
    REQUESTER,
    outcome_of,
    refused,
    service_factory,
    submit_and_approve,
)
from testkit.images import manifest_exists, push_image

UNTAGGED = RetentionRules(untagged=True)


@pytest.fixture
def world(database_url, registry):
    """A repository with one tagged image and three untagged ones (as the events would
    tell: when each was left, and one pulled an hour ago), and a service that knows."""
    make, close = service_factory(database_url, registry.url)
    probe = make()
    client = probe.registry
    repo = f"unt/{uuid.uuid4().hex[:8]}"
    base = b"a base layer the tagged image shares" * 100
    tagged = push_image(client, repo, ["v2"], layers=[base, b"v2" * 1000])
    old = push_image(client, repo, [], layers=[base, b"old" * 1000])
    pulled = push_image(client, repo, [])
    fresh = push_image(client, repo, [])
    now = probe.clock()
    usage = RepoUsage(
        pulls={pulled.digest: now - timedelta(hours=1)},
        left_untagged={
            old.digest: now - timedelta(days=30),
            pulled.digest: now - timedelta(days=30),
            fresh.digest: now - timedelta(hours=2),
            tagged.digest: now - timedelta(days=40),  # tagged again since: not untagged
        },
    )
    service = make(usage=lambda r: usage if r == repo else RepoUsage())
    yield service, repo, base, tagged, old, pulled, fresh
    close()


def test_the_plan_keeps_what_is_in_use_or_too_recent_and_counts_unique_bytes(world):
    service, repo, base, _, old, pulled, fresh = world
    dry = service.preview_prune(
        repo, RetentionRules(untagged=True, older_than=timedelta(days=1)), "", REQUESTER, "C1"
    )
    (plan,) = dry.plans
    assert plan.untagged and list(plan.delete) == [old.digest]
    assert plan.untagged_kept == {pulled.digest: Kept.IN_USE, fresh.digest: Kept.NEWER}
    # The base layer stays with the tagged image: only the old image's own bytes go.
    assert dry.request.reclaimable == sum(old.blob_sizes.values()) + len(old.body) - len(base)
    assert [i.digest for i in service.cleanup.items(dry.request.id)] == [old.digest]
    # Without --older-than, the recently left one goes too; the pulled one is in use.
    everything = service.preview_prune(repo, UNTAGGED, "", REQUESTER, "C1")
    assert set(everything.plans[0].delete) == {old.digest, fresh.digest}


def test_a_manifest_tagged_again_before_the_approval_is_skipped(world):
    service, repo, _, tagged, old, _, fresh = world
    dry = service.preview_prune(repo, UNTAGGED, "", REQUESTER, "C1")
    service.registry.put_manifest(repo, "again", fresh.body, fresh.media_type)  # tagged again
    result = submit_and_approve(service, dry.request.id)
    outcome = outcome_of(result)
    assert (outcome.done, outcome.skipped) == (1, 1)
    (skipped,) = outcome.items
    assert skipped.digest == fresh.digest and skipped.fact.finding == Finding.TAGS_ADDED
    assert not manifest_exists(service.registry, repo, old.digest)
    assert manifest_exists(service.registry, repo, fresh.digest)
    assert manifest_exists(service.registry, repo, tagged.digest)
    states = {i.digest: i.state for i in service.cleanup.items(dry.request.id)}
    assert states == {old.digest: ItemState.DELETED, fresh.digest: ItemState.SKIPPED}


def test_nothing_untagged_and_nothing_known_are_refused_apart(database_url, registry):
    make, close = service_factory(database_url, registry.url)
    try:
        service = make(usage=lambda r: RepoUsage())
        repo = f"unt/{uuid.uuid4().hex[:8]}"
        push_image(service.registry, repo, ["v1"])
        with refused(Refusal.NO_UNTAGGED) as info:
            service.preview_prune(repo, UNTAGGED, "", REQUESTER, "C1")
        assert (info.value.count, info.value.total) == (0, 1)
        blind = make()  # no record of the registry's events at all
        with refused(Refusal.UNTAGGED_UNKNOWN):
            blind.preview_prune(repo, UNTAGGED, "", REQUESTER, "C1")
    finally:
        close()


def test_a_signature_a_re_signing_left_untagged_goes_with_its_image(database_url, registry):
    """cosign re-signing moves the sha256-<hex>.sig tag: the old signature is untagged
    but still belongs to a tagged image, so neither the listing nor an untagged cleanup
    takes it apart from its image; an untagged image of its own is listed and planned."""
    from datetime import UTC, datetime

    from bot.events import Activity, ActivityKind
    from bot.storage import find_untagged

    make, close = service_factory(database_url, registry.url)
    try:
        probe = make()
        client = probe.registry
        repo = f"unt/{uuid.uuid4().hex[:8]}"
        image = push_image(client, repo, ["v1"])
        sig_tag = f"sha256-{image.digest.split(':')[1]}.sig"
        old_sig = push_image(client, repo, [sig_tag])
        push_image(client, repo, [sig_tag])  # signed again: the tag moves
        old_build = push_image(client, repo, ["v0"])
        push_image(client, repo, ["v0"])  # pushed again: an untagged image of its own
        now = datetime.now(UTC)
        moves = [
            Activity(now, ActivityKind.PUSH, repo, "sha256:" + "1" * 64, sig_tag, old_sig.digest),
            Activity(now, ActivityKind.PUSH, repo, "sha256:" + "2" * 64, "v0", old_build.digest),
        ]

        class Feed:
            def moved_away(self, repository=None):
                return moves

            def pull_stats(self, repository):
                return {}

        listed = find_untagged(client, Feed(), repo, now)
        assert [u.digest for u in listed.items] == [old_build.digest]
        usage = RepoUsage(
            left_untagged={m.previous: now - timedelta(days=30) for m in moves},
            left_by={m.previous: m.tag for m in moves},
        )
        service = make(usage=lambda r: usage)
        dry = service.preview_prune(repo, UNTAGGED, "", REQUESTER, "C1")
        assert list(dry.plans[0].delete) == [old_build.digest]
    finally:
        close()
