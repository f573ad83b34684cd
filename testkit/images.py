"""Build and push test images through the registry API (blob upload, mount, manifest PUT).

Everything is computed locally too, so tests can compare what the bot reports with
what was pushed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from bot.registry import RegistryClient
from bot.registry import mediatypes as mt
from bot.registry.manifest import sha256_digest


def canonical(data: dict) -> bytes:
    return json.dumps(data, indent=3, sort_keys=False).encode()


@dataclass
class Pushed:
    """A pushed manifest: its digest, media type, body and the blobs it uses."""

    digest: str
    media_type: str
    body: bytes
    config: tuple[str, int] | None = None
    layers: list[tuple[str, int]] = field(default_factory=list)
    children: list[Pushed] = field(default_factory=list)

    @property
    def blob_sizes(self) -> dict[str, int]:
        sizes = dict(self.layers)
        if self.config:
            sizes[self.config[0]] = self.config[1]
        for child in self.children:
            sizes.update(child.blob_sizes)
        return sizes

    @property
    def size(self) -> int:
        return sum(self.blob_sizes.values())


def push_image(
    client: RegistryClient,
    repository: str,
    tags: list[str] | tuple[str, ...] = (),
    *,
    oci: bool = False,
    os_name: str = "linux",
    arch: str = "amd64",
    variant: str | None = None,
    layer_sizes: tuple[int, ...] = (1200, 3400),
    created: str = "2024-05-01T12:00:00Z",
    labels: dict[str, str] | None = None,
    layers: list[bytes] | None = None,
    annotations: dict[str, str] | None = None,
    salt: str | None = None,
) -> Pushed:
    """Push a single-platform image (Docker v2, or OCI with ``oci=True``) under ``tags``."""
    salt = salt or os.urandom(8).hex()
    config = {
        "architecture": arch,
        "os": os_name,
        "created": created,
        "config": {"Labels": labels or {}, "Env": [f"SALT={salt}"]},
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    if variant:
        config["variant"] = variant
    config_bytes = json.dumps(config).encode()
    blobs = layers if layers is not None else [os.urandom(n) for n in layer_sizes]
    config_digest = client.upload_blob(repository, config_bytes)
    layer_entries = []
    for blob in blobs:
        digest = sha256_digest(blob)
        if not client.blob_exists(repository, digest):
            client.upload_blob(repository, blob)
        layer_entries.append((digest, len(blob)))
    media_type = mt.OCI_MANIFEST if oci else mt.DOCKER_V2
    manifest = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": mt.OCI_CONFIG if oci else mt.DOCKER_CONFIG,
            "size": len(config_bytes),
            "digest": config_digest,
        },
        "layers": [
            {"mediaType": mt.OCI_LAYER if oci else mt.DOCKER_LAYER, "size": n, "digest": d}
            for d, n in layer_entries
        ],
    }
    if annotations:
        manifest["annotations"] = annotations
    body = canonical(manifest)
    digest = sha256_digest(body)
    client.put_manifest(repository, digest, body, media_type)
    for tag in tags:
        client.put_manifest(repository, tag, body, media_type)
    return Pushed(digest, media_type, body, (config_digest, len(config_bytes)), layer_entries)


def push_index(
    client: RegistryClient,
    repository: str,
    tags: list[str] | tuple[str, ...] = (),
    *,
    oci: bool = True,
    platforms: tuple[tuple[str, str, str | None], ...] = (
        ("linux", "amd64", None),
        ("linux", "arm64", "v8"),
    ),
    attestation: bool = False,
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> Pushed:
    """Push a multi-arch OCI index (or Docker manifest list with ``oci=False``)."""
    children = [
        push_image(client, repository, oci=oci, os_name=o, arch=a, variant=v, labels=labels)
        for o, a, v in platforms
    ]
    entries = []
    for child, (o, a, v) in zip(children, platforms, strict=True):
        platform = {"architecture": a, "os": o}
        if v:
            platform["variant"] = v
        entries.append(
            {
                "mediaType": child.media_type,
                "size": len(child.body),
                "digest": child.digest,
                "platform": platform,
            }
        )
    if attestation:
        att = push_image(
            client, repository, oci=True, os_name="unknown", arch="unknown", layer_sizes=(300,)
        )
        children.append(att)
        entries.append(
            {
                "mediaType": att.media_type,
                "size": len(att.body),
                "digest": att.digest,
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {
                    "vnd.docker.reference.digest": children[0].digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            }
        )
    media_type = mt.OCI_INDEX if oci else mt.DOCKER_LIST
    index = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    if annotations:
        index["annotations"] = annotations
    body = canonical(index)
    digest = sha256_digest(body)
    client.put_manifest(repository, digest, body, media_type)
    for tag in tags:
        client.put_manifest(repository, tag, body, media_type)
    return Pushed(digest, media_type, body, None, [], children)


def add_tags_on_disk(storage_root, repository: str, digest: str, tags) -> None:
    """Create many tags pointing at an already pushed manifest straight in the registry's
    filesystem storage (the layout distribution reads), for 10,000-tag listings."""
    from pathlib import Path

    base = Path(storage_root) / "docker/registry/v2/repositories" / repository / "_manifests"
    algorithm, hexpart = digest.split(":")
    for tag in tags:
        current = base / "tags" / tag / "current"
        index = base / "tags" / tag / "index" / algorithm / hexpart
        current.mkdir(parents=True, exist_ok=True)
        index.mkdir(parents=True, exist_ok=True)
        (current / "link").write_text(digest)
        (index / "link").write_text(digest)


def add_repositories_on_disk(storage_root, names) -> None:
    """Create empty repositories in the registry's storage, as the catalog walk sees them."""
    from pathlib import Path

    base = Path(storage_root) / "docker/registry/v2/repositories"
    for name in names:
        (base / name / "_manifests" / "tags").mkdir(parents=True, exist_ok=True)
        (base / name / "_layers").mkdir(parents=True, exist_ok=True)


def mount_blob(client: RegistryClient, repository: str, digest: str, from_repository: str) -> bool:
    """Cross-repository mount; True when mounted (201), False when the registry started
    an upload instead (202)."""
    response = client.request(
        "POST",
        f"v2/{repository}/blobs/uploads/",
        action="mount blob into",
        target=f"{repository}@{digest}",
        ok=(201, 202),
        params={"mount": digest, "from": from_repository},
    )
    return response.status_code == 201


def oci_layout(folder, tag: str, created: str = "2026-11-27T09:00:00Z") -> str:
    """Write a one-layer image as an OCI image layout (what ``skopeo copy oci:DIR:TAG``
    reads); returns the manifest's digest."""
    import io
    import tarfile
    from pathlib import Path

    root = Path(folder)
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def blob(data: bytes) -> tuple[str, int]:
        digest = sha256_digest(data)
        (blobs / digest.split(":")[1]).write_bytes(data)
        return digest, len(data)

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        content = os.urandom(64)
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    layer = buffer.getvalue()
    layer_digest, layer_size = blob(layer)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": created,
            "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
            "config": {},
        }
    ).encode()
    config_digest, config_size = blob(config)
    manifest = canonical(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest,
                    "size": layer_size,
                }
            ],
        }
    )
    digest, size = blob(manifest)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": mt.OCI_MANIFEST,
                "digest": digest,
                "size": size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (root / "index.json").write_text(json.dumps(index))
    return digest


def manifest_exists(client: RegistryClient, repository: str, digest: str) -> bool:
    """Whether the registry still serves ``repository@digest`` (any other registry
    error is raised: a failing registry is not a deleted manifest)."""
    from bot.registry import ManifestNotFoundError

    try:
        client.head_manifest(repository, digest)
    except ManifestNotFoundError:
        return False
    return True
