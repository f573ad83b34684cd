"""Reclaim figures from the registry-wide index, against a registry of the test's own:
a base layer another repository uses is not counted as freed once that repository has
been read, and is counted (as at most) while it hasn't; after the deletion, the
registry's own garbage collection shrinks the blob files by what the preview said; a
cleanup's dry run draws on the same index."""

from __future__ import annotations

import pytest

from bot.blobindex import Basis
from bot.deletions import RetentionRules
from bot.registry import parse_reference
from bot.storage import storage_report
from testkit.deletions import REQUESTER, approve, open_request, service_factory
from testkit.images import push_image


@pytest.fixture
def service(own_registry, database_url):
    """A deletion service on a registry of the test's own (every repository in it is
    the test's)."""
    make, close = service_factory(database_url, own_registry.url)
    yield make()
    close()


def test_garbage_collection_gives_back_what_the_preview_said(service, own_registry):
    client = service.registry
    base = b"a base layer both repositories use" * 300
    a = push_image(client, "team/a", ["v1"], layers=[base, b"a" * 4000])
    push_image(client, "team/b", ["v1"], layers=[base, b"b" * 6000])
    own = sum(a.blob_sizes.values()) + len(a.body)  # layers, config, manifest
    # team/b not read yet: the base layer may be free, and the figure says so.
    unsure = service.preview_manifest(parse_reference("team/a:v1"), "r", REQUESTER, "C1")
    assert unsure.request.reclaimable == own
    assert unsure.request.reclaim_basis == Basis(unread=1)
    storage_report(client, index=service.index)  # reads every repository
    request = open_request(service, "team/a:v1")
    assert request.reclaimable == own - len(base)
    basis = request.reclaim_basis
    assert basis is not None and basis.certain and basis.unread == 0
    assert approve(service, request.id).effect == "done"
    before = own_registry.blob_bytes()
    own_registry.garbage_collect()
    assert before - own_registry.blob_bytes() == request.reclaimable
    assert client.blob_exists("team/b", a.layers[0][0])  # the shared base stays


def test_a_cleanup_dry_run_counts_registry_wide(service):
    client = service.registry
    base = b"shared by an old image and another repository" * 200
    old = push_image(
        client, "app/web", ["1"], layers=[base, b"1" * 3000], created="2024-01-01T00:00:00Z"
    )
    push_image(client, "app/web", ["2"], layers=[b"2" * 2000], created="2024-06-01T00:00:00Z")
    push_image(client, "other", ["v1"], layers=[base])
    dry = service.preview_prune("app/web", RetentionRules(keep=1), "r", REQUESTER, "C1")
    assert dry.request.reclaim_basis == Basis(unread=1)  # "other" not read
    storage_report(client, index=service.index)
    dry = service.preview_prune("app/web", RetentionRules(keep=1), "r", REQUESTER, "C1")
    freed = sum(old.blob_sizes.values()) + len(old.body) - len(base)
    assert dry.request.reclaimable == freed and dry.reclaimable == {"app/web": freed}
    assert dry.request.reclaim_basis is not None and dry.request.reclaim_basis.certain
