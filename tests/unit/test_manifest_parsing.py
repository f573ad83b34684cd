"""Parsing every manifest media type, configs and dates (pure functions, no HTTP)."""

import json
from datetime import UTC, datetime

import pytest

from bot.registry import RegistryResponseError
from bot.registry import mediatypes as mt
from bot.registry.manifest import (
    ImageManifest,
    IndexManifest,
    parse_config,
    parse_manifest,
    parse_time,
)

D = "sha256:" + "1" * 64
E = "sha256:" + "2" * 64
F = "sha256:" + "3" * 64

# The schema 1 example of the registry 2.5-era documentation (docs/spec/manifest-v2-1.md),
# shortened to two layers; the first history entry carries the image's config.
SCHEMA1_SIGNED = {
    "name": "hello-world",
    "tag": "latest",
    "architecture": "amd64",
    "fsLayers": [
        {"blobSum": D},
        {"blobSum": E},
    ],
    "history": [
        {
            "v1Compatibility": json.dumps(
                {
                    "id": "e45a5af57b00862e5ef5782a9925979a02ba2b12dff832fd0991335f4a11e5c5",
                    "created": "2014-12-31T22:57:59.178729048Z",
                    "config": {"Labels": {"maintainer": "docker"}},
                }
            )
        },
        {"v1Compatibility": json.dumps({"id": "x", "created": "2014-10-01T00:00:00Z"})},
    ],
    "schemaVersion": 1,
    "signatures": [
        {
            "header": {"jwk": {"crv": "P-256", "kty": "EC"}, "alg": "ES256"},
            "signature": "XREm0L8WNn27Ga_iE_vRnTxVMhhYY0Zst_FfkKopg6gWSoTOZTuW4rK0fg_IqnKkEKl"
            "bD83tD46LKEGi5aIVFg",
            "protected": "eyJmb3JtYXRMZW5ndGgiOjY2MjgsImZvcm1hdFRhaWwiOiJDbjAiLCJ0aW1l"
            "IjoiMjAxNS0wNC0wOFQxODo1Mjo1OVoifQ",
        }
    ],
}


def _b(data: dict) -> bytes:
    return json.dumps(data).encode()


def test_schema1_signed():
    m = parse_manifest(_b(SCHEMA1_SIGNED), mt.DOCKER_V1_SIGNED)
    assert isinstance(m, ImageManifest)
    assert m.media_type == mt.DOCKER_V1_SIGNED
    assert m.config is None
    # fsLayers are listed top-most first; the model lists them base first.
    assert [layer.digest for layer in m.layers] == [E, D]
    assert all(layer.size is None for layer in m.layers)
    assert m.v1_created == datetime(2014, 12, 31, 22, 57, 59, 178729, tzinfo=UTC)
    assert m.v1_labels == {"maintainer": "docker"}
    assert str(m.v1_platform) == "linux/amd64"


def test_schema1_unsigned_detected_without_header():
    data = dict(SCHEMA1_SIGNED)
    del data["signatures"]
    m = parse_manifest(_b(data))
    assert m.media_type == mt.DOCKER_V1


@pytest.mark.parametrize("media_type", [mt.DOCKER_V2, mt.OCI_MANIFEST])
def test_single_platform(media_type):
    body = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": mt.OCI_CONFIG, "size": 7, "digest": D},
        "layers": [{"mediaType": mt.OCI_LAYER, "size": 100, "digest": E}],
        "annotations": {"org.opencontainers.image.source": "https://example.com/x"},
    }
    m = parse_manifest(_b(body), "text/plain")
    assert isinstance(m, ImageManifest)
    assert m.media_type == media_type
    assert m.config.digest == D and m.config.size == 7
    assert [(x.digest, x.size) for x in m.layers] == [(E, 100)]
    assert m.annotations == {"org.opencontainers.image.source": "https://example.com/x"}


def test_oci_manifest_without_media_type_uses_header():
    body = {
        "schemaVersion": 2,
        "config": {"mediaType": mt.OCI_CONFIG, "size": 1, "digest": D},
        "layers": [],
    }
    assert (
        parse_manifest(_b(body), mt.OCI_MANIFEST + "; charset=utf-8").media_type == mt.OCI_MANIFEST
    )


@pytest.mark.parametrize("media_type", [mt.OCI_INDEX, mt.DOCKER_LIST])
def test_index_with_attestation(media_type):
    body = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": mt.OCI_MANIFEST,
                "size": 10,
                "digest": D,
                "platform": {"os": "linux", "architecture": "arm", "variant": "v7"},
            },
            {
                "mediaType": mt.OCI_MANIFEST,
                "size": 11,
                "digest": E,
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
        ],
    }
    m = parse_manifest(_b(body))
    assert isinstance(m, IndexManifest)
    assert m.media_type == media_type
    assert str(m.manifests[0].platform) == "linux/arm/v7"
    assert m.manifests[1].platform.is_unknown
    assert not m.manifests[0].platform.is_unknown


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"schemaVersion": 2}', b'{"layers": [{"size": 1}]}']
)
def test_unreadable_manifest_is_a_typed_error(body):
    with pytest.raises(RegistryResponseError, match="cannot read"):
        parse_manifest(body)


def test_config():
    body = {
        "architecture": "arm64",
        "os": "linux",
        "variant": "v8",
        "created": "2024-01-02T03:04:05.123456789Z",
        "config": {"Labels": {"a": "b"}},
    }
    c = parse_config(_b(body))
    assert c.created == datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    assert str(c.platform) == "linux/arm64/v8"
    assert c.labels == {"a": "b"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05.5+02:00", datetime(2024, 1, 2, 1, 4, 5, 500000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_an_index_of_more_entries_than_any_image_needs_is_not_read():
    from bot.registry.manifest import MAX_INDEX_ENTRIES, IndexManifest, parse_manifest

    def index(n: int) -> bytes:
        entry = {"mediaType": mt.OCI_MANIFEST, "digest": "sha256:" + "a" * 64, "size": 1}
        return json.dumps({"mediaType": mt.OCI_INDEX, "manifests": [entry] * n}).encode()

    assert isinstance(parse_manifest(index(MAX_INDEX_ENTRIES)), IndexManifest)
    with pytest.raises(RegistryResponseError, match="over the 512 read"):
        parse_manifest(index(MAX_INDEX_ENTRIES + 1))
