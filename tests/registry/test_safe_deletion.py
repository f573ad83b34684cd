"""Safe deletion against real registries: tag-only removal, the blast radius, blobs in
use, cleanup of unused layers, protected tags, and garbage-collection advice."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.deletions import ApproverPolicy, DeletionService, Finding, Kind, Refusal, State, open_store
from bot.patterns import compile_regex
from bot.registry import ManifestNotFoundError, RegistryClient, RegistrySettings, parse_reference
from bot.registry.manifest import sha256_digest
from testkit.deletions import outcome_of, refused, submit_and_approve
from testkit.images import push_image, push_index
from testkit.proxy import RegistryProxy

REQUESTER, APPROVER = "UREQUEST1", "UAPPROVE1"


@pytest.fixture
def service_for(tmp_path):
    made = []

    def make(url: str, protected: str | None = None) -> DeletionService:
        service = DeletionService(
            open_store(f"sqlite:///{tmp_path / 'bot.db'}"),
            RegistryClient(RegistrySettings(url=url)),
            ApproverPolicy([APPROVER]),
            clock=lambda: datetime.now(UTC),
            protected=compile_regex(protected) if protected else None,
        )
        made.append(service)
        return service

    yield make
    for service in made:
        service.registry.close()


def preview(service, ref, **kw):
    return service.preview_manifest(parse_reference(ref), "", REQUESTER, "C1", **kw).request


def test_remove_only_the_tag_keeps_its_siblings(service_for, registry, client):
    pushed = push_image(client, "safe/app", ["1.0", "1.0.1", "stable"])
    service = service_for(registry.url)
    request = preview(service, "safe/app:1.0")
    assert request.kind == Kind.MANIFEST and request.siblings == ("1.0.1", "stable")
    result = submit_and_approve(service, request.id, untag=True)
    assert result.effect == "done", result.request.outcome
    stored = service.store.get(request.id)
    assert stored.kind == Kind.TAG and outcome_of(stored).finding == Finding.TAG_REMOVED
    assert outcome_of(stored).fact.tags == ("1.0.1", "stable")  # still on the image
    with pytest.raises(ManifestNotFoundError):
        client.resolve("safe/app", "1.0")
    assert client.resolve("safe/app", "1.0.1") == pushed.digest
    assert client.resolve("safe/app", "stable") == pushed.digest


def test_untag_command_path_and_delete_disabled_leaves_nothing(
    service_for, registry_nodelete, make_client
):
    c = make_client(registry_nodelete.url)
    pushed = push_image(c, "safe/nodel", ["1.0", "stable"])
    with RegistryProxy(registry_nodelete.url) as proxy:
        service = service_for(proxy.url)
        request = preview(service, "safe/nodel:1.0", untag=True)
        assert request.kind == Kind.TAG and request.reclaimable == 0
        result = submit_and_approve(service, request.id)
        assert result.effect == "failed"
        assert outcome_of(result).finding == Finding.DELETE_DISABLED
        assert "nothing was changed" in outcome_of(result).fact.answer
        assert proxy.counts.get("PUT", 0) == 0 and proxy.counts.get("POST", 0) == 0
    assert c.resolve("safe/nodel", "1.0") == pushed.digest
    assert sorted(c.tags("safe/nodel")) == ["1.0", "stable"]


def test_referenced_layer_is_refused_naming_the_tags(service_for, registry, client):
    pushed = push_image(client, "safe/blob", ["v1", "v1.0"])
    service = service_for(registry.url)
    for blob in (pushed.layers[0][0], pushed.config[0]):
        with refused(Refusal.BLOB_IN_USE) as info:
            service.preview_blob(parse_reference(f"safe/blob@{blob}"), "", REQUESTER, "C1")
        assert info.value.names == ("v1", "v1.0") and info.value.digest == blob


def test_layer_of_a_platform_of_an_index_is_refused(service_for, registry, client):
    multi = push_index(client, "safe/multiblob", ["latest"])
    layer = multi.children[1].layers[0][0]
    with refused(Refusal.BLOB_IN_USE) as info:
        service_for(registry.url).preview_blob(
            parse_reference(f"safe/multiblob@{layer}"), "", REQUESTER, "C1"
        )
    assert info.value.names == ("latest",)


def test_multi_arch_children_are_listed_and_a_child_is_protected(service_for, registry, client):
    multi = push_index(client, "safe/multi", ["2.0"], attestation=True)
    service = service_for(registry.url)
    request = preview(service, "safe/multi:2.0")
    assert [c.digest for c in request.children] == [c.digest for c in multi.children]
    assert request.children[1].platform == "linux/arm64/v8"
    child = multi.children[0].digest
    with refused(Refusal.PLATFORM_OF_INDEX) as info:
        preview(service, f"safe/multi@{child}")
    assert info.value.names == ("2.0",) and info.value.digest == child


def test_protected_tags_are_refused_directly_and_as_siblings(service_for, registry, client):
    push_image(client, "safe/prot", ["latest", "1.2.3", "build-77"])
    service = service_for(registry.url, protected=r"^(latest|stable|v?\d+\.\d+\.\d+)$")
    for ref in ("safe/prot:latest", "safe/prot:build-77"):
        with refused(Refusal.PROTECTED) as info:
            preview(service, ref)
        assert sorted(info.value.names) == ["1.2.3", "latest"]
    with refused(Refusal.PROTECTED) as info:
        preview(service, "safe/prot:latest", untag=True)
    assert info.value.names == ("latest",)
    # Removing only the unprotected tag is fine.
    assert preview(service, "safe/prot:build-77", untag=True).kind == Kind.TAG


def test_reclaimable_size_and_cleanup_of_unused_layers(service_for, registry, client):
    shared = b"shared base layer" * 400
    old = push_image(client, "safe/gc", ["1.0", "1.0-alias"], layers=[shared, b"x" * 3000])
    new = push_image(client, "safe/gc", ["2.0"], layers=[shared, b"y" * 4000])
    service = service_for(registry.url)
    request = preview(service, "safe/gc:1.0")
    # Computed independently: the blobs of the old image that the new one does not use,
    # and the manifest's own bytes (a blob too). The shared registry has repositories
    # this service has not read: the figure is an upper bound, and says so.
    unused = {d: s for d, s in old.blob_sizes.items() if d not in new.blob_sizes}
    freed = sum(unused.values()) + len(old.body)
    assert request.reclaimable == freed == 3000 + old.config[1] + len(old.body)
    assert request.reclaim_basis is not None and request.reclaim_basis.unread > 0
    assert dict(request.blobs) == unused  # the layers "delete the unused layers" offers
    result = submit_and_approve(service, request.id)
    assert result.effect == "done"
    assert outcome_of(result).reclaimable == freed

    cleanup = service.preview_unused_layers(request.id, REQUESTER, "C1").request
    assert cleanup.kind == Kind.BLOBS and dict(cleanup.blobs) == unused
    assert submit_and_approve(service, cleanup.id).effect == "done"
    for blob in unused:
        assert not client.blob_exists("safe/gc", blob)
    for blob in new.blob_sizes:  # the remaining image is intact
        assert client.blob_exists("safe/gc", blob)
    assert client.resolve("safe/gc", "2.0") == new.digest


def test_cleanup_skips_layers_used_again(service_for, registry, client):
    layer = b"reused later" * 300
    push_image(client, "safe/reuse", ["1.0"], layers=[layer])
    service = service_for(registry.url)
    request = preview(service, "safe/reuse:1.0")
    assert submit_and_approve(service, request.id).effect == "done"
    push_image(client, "safe/reuse", ["1.1"], layers=[layer])  # the layer is used again
    cleanup = service.preview_unused_layers(request.id, REQUESTER, "C1").request
    assert sha256_digest(layer) not in dict(cleanup.blobs)
    assert cleanup.blobs  # the old config is still unused


def test_emptied_repository_and_untagged_platforms_are_explained(service_for, registry, client):
    push_index(client, "safe/last", ["only"])
    service = service_for(registry.url)
    result = submit_and_approve(service, preview(service, "safe/last:only").id)
    assert result.effect == "done"
    assert outcome_of(result).untagged_children == 2 and outcome_of(result).emptied
    assert result.request.state == State.DONE


def test_signature_tags_are_in_the_blast_radius_and_the_audit(service_for, registry, client):
    pushed = push_image(client, "safe/signed", ["1.0"])
    sig_tag = "sha256-" + pushed.digest.split(":")[1] + ".sig"
    push_image(client, "safe/signed", [sig_tag], oci=True, layer_sizes=(100,))
    service = service_for(registry.url)
    request = preview(service, "safe/signed:1.0")
    assert request.referrers == (f"tag {sig_tag}",)
    service.claim_submit(request.id, REQUESTER)
    _, events = service.submitted(request.id)
    assert f"referred to by tag {sig_tag}" in events[0].detail
    assert "frees about" in events[0].detail and "manifest safe/signed:1.0" in events[0].detail


def test_tag_delete_is_used_where_the_registry_has_it(service_for, registry, client):
    """A registry with OCI 1.1 tag deletion, played by a proxy that removes the tag's
    folder from the real registry's storage (what distribution 3 does)."""
    import shutil

    pushed = push_image(client, "safe/ocitag", ["1.0", "stable"])
    tags_dir = registry.storage / "docker/registry/v2/repositories/safe/ocitag/_manifests/tags"

    def tag_delete(method: str, path: str):
        prefix = "/v2/safe/ocitag/manifests/"
        if method == "DELETE" and path.startswith(prefix) and ":" not in path[len(prefix) :]:
            shutil.rmtree(tags_dir / path[len(prefix) :])
            return 202, {}, b""
        return None

    with RegistryProxy(registry.url) as proxy:
        proxy.intercept = tag_delete
        service = service_for(proxy.url)
        request = preview(service, "safe/ocitag:1.0", untag=True)
        result = submit_and_approve(service, request.id)
        assert result.effect == "done", result.request.outcome
        assert outcome_of(result).method == "tag-delete"
        assert proxy.counts.get("PUT", 0) == 0  # no placeholder needed
    assert client.tags("safe/ocitag") == ["stable"]
    assert client.resolve("safe/ocitag", "stable") == pushed.digest


def test_referrers_api_artifacts_are_in_the_blast_radius(service_for, registry, client):
    """A registry with the OCI 1.1 referrers API, played by a proxy answering it."""
    import json

    pushed = push_image(client, "safe/refs", ["1.0"])
    sbom = "sha256:" + "5" * 64
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": sbom,
                "size": 500,
                "artifactType": "application/spdx+json",
                "annotations": {"org.opencontainers.image.title": "SBOM"},
            }
        ],
    }

    def referrers(method: str, path: str):
        if method == "GET" and path == f"/v2/safe/refs/referrers/{pushed.digest}":
            return (
                200,
                {"Content-Type": "application/vnd.oci.image.index.v1+json"},
                json.dumps(index).encode(),
            )
        return None

    with RegistryProxy(registry.url) as proxy:
        proxy.intercept = referrers
        request = preview(service_for(proxy.url), "safe/refs:1.0")
    assert request.referrers == (f"{sbom} (SBOM)",)
