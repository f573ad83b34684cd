"""Resolving and describing images on a real registry: every pushed media type."""

import hashlib

import httpx
import pytest

from bot.registry import ManifestNotFoundError, describe, describe_tags
from bot.registry import mediatypes as mt
from testkit.images import mount_blob, push_image, push_index
from testkit.proxy import RegistryProxy


@pytest.mark.parametrize("oci", [False, True])
def test_single_platform_image(client, oci):
    repo = f"single/{'oci' if oci else 'docker'}"
    pushed = push_image(
        client,
        repo,
        ["v1"],
        oci=oci,
        arch="arm64",
        variant="v8",
        labels={"org.opencontainers.image.version": "1.0"},
        created="2024-03-04T05:06:07.123456789Z",
        annotations={"org.example.note": "hi"},
    )
    image = describe(client, repo, "v1")
    assert image.digest == pushed.digest
    assert image.media_type == (mt.OCI_MANIFEST if oci else mt.DOCKER_V2)
    assert not image.is_index
    assert image.size == pushed.size
    assert image.created.isoformat() == "2024-03-04T05:06:07.123456+00:00"
    assert image.labels == {"org.opencontainers.image.version": "1.0"}
    assert image.annotations == {"org.example.note": "hi"}
    (platform,) = image.platforms
    assert str(platform.platform) == "linux/arm64/v8"
    assert [(layer.digest, layer.size) for layer in platform.layers] == pushed.layers
    assert platform.config.digest == pushed.config[0]


@pytest.mark.parametrize("oci", [True, False])
def test_multi_arch_index_resolves_to_the_index_not_a_child(client, registry, oci):
    repo = f"multi/{'oci' if oci else 'list'}"
    pushed = push_index(
        client,
        repo,
        ["latest"],
        oci=oci,
        attestation=oci,
        annotations={"org.opencontainers.image.created": "2024"} if oci else None,
    )
    expected = "sha256:" + hashlib.sha256(pushed.body).hexdigest()
    assert pushed.digest == expected
    assert client.resolve(repo, "latest") == expected
    assert client.get_manifest(repo, "latest").digest == expected

    image = describe(client, repo, "latest")
    assert image.is_index
    assert image.digest == expected
    assert image.platform_names == ["linux/amd64", "linux/arm64/v8"]
    assert [p.digest for p in image.platforms] == [c.digest for c in pushed.children[:2]]
    if oci:
        assert len(image.attestations) == 1
        assert image.attestations[0].platform.is_unknown
        assert image.annotations == {"org.opencontainers.image.created": "2024"}
    # Size counts every platform's blobs, not the attestation's.
    assert image.size == sum(c.size for c in pushed.children[:2])


def test_incomplete_accept_list_gives_wrong_answers_that_we_avoid(client, registry):
    """Shows why the full Accept list matters: with only Docker v2 in Accept, distribution
    answers an OCI index tag with 404 and a manifest list tag with one child's digest."""
    oci = push_index(client, "accept/oci", ["t"], oci=True)
    lst = push_index(client, "accept/list", ["t"], oci=False)
    only_v2 = {"Accept": mt.DOCKER_V2}
    r = httpx.head(f"{registry.url}/v2/accept/oci/manifests/t", headers=only_v2)
    assert r.status_code == 404
    r = httpx.head(f"{registry.url}/v2/accept/list/manifests/t", headers=only_v2)
    assert r.headers["Docker-Content-Digest"] in [c.digest for c in lst.children]
    # The client gets the index digests, both by HEAD and GET.
    assert client.head_manifest("accept/oci", "t").digest == oci.digest
    assert client.head_manifest("accept/list", "t").digest == lst.digest
    assert client.get_manifest("accept/list", "t").media_type == mt.DOCKER_LIST


def test_tags_sharing_a_digest(client):
    pushed = push_image(client, "shared/app", ["1.0", "1.0.3", "stable"])
    other = push_image(client, "shared/app", ["2.0"])
    images = describe_tags(client, "shared/app", ["1.0", "1.0.3", "stable", "2.0"])
    assert [i.digest for i in images] == [pushed.digest] * 3 + [other.digest]


def test_describe_tags_keeps_going_past_a_missing_tag(client):
    push_image(client, "partial/app", ["ok"])
    results = describe_tags(client, "partial/app", ["ok", "missing", "ok"])
    assert results[0].tag == "ok" and results[2].tag == "ok"
    assert isinstance(results[1], ManifestNotFoundError)
    assert "partial/app:missing not found" in str(results[1])


def test_missing_docker_content_digest_falls_back_to_body_hash(client, registry, make_client):
    pushed = push_image(client, "nodigest/app", ["v1"])
    with RegistryProxy(registry.url) as proxy:
        original = proxy._client.request

        def strip(*args, **kwargs):
            response = original(*args, **kwargs)
            del response.headers["Docker-Content-Digest"]
            return response

        proxy._client.request = strip
        c = make_client(proxy.url)
        assert c.resolve("nodigest/app", "v1") == pushed.digest
        assert c.get_manifest("nodigest/app", "v1").digest == pushed.digest


def test_request_counts_and_cache(client, registry, make_client):
    """A single-platform tag costs 2 requests cold (manifest by tag, config) and 1 warm
    (a HEAD)."""
    for i in range(5):
        push_image(client, "counted/app", [f"v{i}"])
    tags = [f"v{i}" for i in range(5)]
    with RegistryProxy(registry.url) as proxy:
        c = make_client(proxy.url)
        describe_tags(c, "counted/app", tags)
        assert proxy.counts == {"GET": 10}
        proxy.reset()
        describe_tags(c, "counted/app", tags)
        assert proxy.counts == {"HEAD": 5}


def test_index_children_fetched_once_even_when_shared(client, registry, make_client):
    pushed = push_index(client, "counted/multi", ["a", "b"])
    with RegistryProxy(registry.url) as proxy:
        c = make_client(proxy.url)
        images = describe_tags(c, "counted/multi", ["a", "b"])
        # The index by each tag, 2 children and 2 configs, each once.
        assert proxy.counts == {"GET": 6}
    assert [image.digest for image in images] == [pushed.digest, pushed.digest]
    assert [len(image.platforms) for image in images] == [2, 2]


def test_digest_reference_needs_no_head(client, registry, make_client):
    pushed = push_image(client, "bydigest/app", ["v1"])
    with RegistryProxy(registry.url) as proxy:
        image = describe(make_client(proxy.url), "bydigest/app", pushed.digest)
        assert proxy.counts == {"GET": 2}
    assert image.tag is None and image.digest == pushed.digest


def test_manifest_content_is_verified_against_its_digest(client, registry, make_client):
    pushed = push_image(client, "verify/app", ["v1"])
    other = push_image(client, "verify/app", ["v2"])
    with RegistryProxy(registry.url) as proxy:
        original = proxy._client.request

        def swap(method, url, **kwargs):
            return original(method, url.replace(pushed.digest, other.digest), **kwargs)

        proxy._client.request = swap
        from bot.registry import RegistryResponseError

        with pytest.raises(RegistryResponseError, match="whose digest is"):
            make_client(proxy.url).get_manifest("verify/app", pushed.digest)


def test_cross_repository_mount_and_push(client):
    source = push_image(client, "mount/source", ["v1"])
    for digest, _ in [*source.layers, source.config]:
        assert mount_blob(client, "mount/target", digest, "mount/source") is True
        assert client.blob_exists("mount/target", digest)
    client.put_manifest("mount/target", "v1", source.body, source.media_type)
    image = describe(client, "mount/target", "v1")
    assert image.digest == source.digest and image.size == source.size
    # A blob the source does not have is not mounted: the registry starts an upload instead.
    assert mount_blob(client, "mount/target", "sha256:" + "e" * 64, "mount/source") is False
