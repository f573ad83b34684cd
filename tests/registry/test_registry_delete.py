"""Deleting manifests and blobs on a real registry, with delete enabled and disabled."""

import pytest

from bot.registry import (
    BlobNotFoundError,
    DeleteByTagError,
    DeleteDisabledError,
    ManifestNotFoundError,
)
from testkit.images import push_image
from testkit.proxy import RegistryProxy


def test_delete_manifest_by_digest_removes_every_tag_on_it(client):
    pushed = push_image(client, "del/app", ["1.0", "stable"])
    keep = push_image(client, "del/app", ["2.0"])
    client.delete_manifest("del/app", pushed.digest)
    with pytest.raises(ManifestNotFoundError):
        client.resolve("del/app", "1.0")
    assert sorted(client.tags("del/app")) == ["2.0"]
    assert client.resolve("del/app", "2.0") == keep.digest


def test_delete_by_tag_is_refused_before_any_request(registry, make_client):
    with RegistryProxy(registry.url) as proxy:
        c = make_client(proxy.url)
        with pytest.raises(DeleteByTagError) as info:
            c.delete_manifest("del/app", "latest")
        assert proxy.total == 0 and c.requests_sent == 0
    assert "by digest" in str(info.value)


def test_delete_blob(client):
    pushed = push_image(client, "del/blob", ["v1"])
    layer = pushed.layers[0][0]
    client.delete_blob("del/blob", layer)
    assert not client.blob_exists("del/blob", layer)
    with pytest.raises(BlobNotFoundError, match="del/blob@sha256:"):
        client.delete_blob("del/blob", layer)


def test_delete_unknown_manifest(client):
    push_image(client, "del/unknown", ["v1"])
    with pytest.raises(ManifestNotFoundError):
        client.delete_manifest("del/unknown", "sha256:" + "0" * 64)


def test_deletion_disabled_says_how_to_enable_it(registry_nodelete, make_client):
    c = make_client(registry_nodelete.url)
    pushed = push_image(c, "nodel/app", ["v1"])
    with pytest.raises(DeleteDisabledError) as info:
        c.delete_manifest("nodel/app", pushed.digest)
    assert info.value.status == 405
    assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in str(info.value)
    assert registry_nodelete.url in str(info.value)
    with pytest.raises(DeleteDisabledError):
        c.delete_blob("nodel/app", pushed.layers[0][0])
    assert c.resolve("nodel/app", "v1") == pushed.digest
