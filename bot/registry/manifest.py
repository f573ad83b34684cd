"""Parsing manifest documents of every media type into typed dataclasses.

Pure functions over bytes: no HTTP here. ``parse_manifest`` handles OCI index, OCI
manifest, Docker manifest list, Docker v2 and Docker v1 (schema 1, signed or not);
``parse_config`` reads the ``created`` date, platform and labels of an image config.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import mediatypes as mt
from .errors import RegistryResponseError
from .http import load_json
from .reference import is_digest

_FRACTION_RE = re.compile(r"\.(\d+)")
MAX_SANE_SIZE = 2**50
# An index lists one manifest per platform and attestation: dozens. More than this is
# not read (each would cost requests of its own).
MAX_INDEX_ENTRIES = 512


@dataclass(frozen=True)
class Platform:
    """os/architecture/variant. ``unknown/unknown`` marks attestations (buildkit)."""

    os: str = ""
    architecture: str = ""
    variant: str = ""

    @property
    def is_unknown(self) -> bool:
        return self.os == "unknown" and self.architecture == "unknown"

    def __str__(self) -> str:
        parts = [self.os or "?", self.architecture or "?"]
        if self.variant:
            parts.append(self.variant)
        return "/".join(parts)


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: media type, digest and size (None when unknown, schema 1)."""

    media_type: str
    digest: str
    size: int | None = None
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class IndexManifest:
    """An OCI index or Docker manifest list: one child manifest per platform."""

    media_type: str
    manifests: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ImageManifest:
    """A single-platform manifest. Schema 1 has no config: its facts come from history."""

    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    subject: Descriptor | None = None
    artifact_type: str | None = None
    # Schema 1 only: what the first history entry says.
    v1_created: datetime | None = None
    v1_platform: Platform | None = None
    v1_labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


Manifest = IndexManifest | ImageManifest


@dataclass(frozen=True)
class ImageConfig:
    """What the bot reads from an image config blob."""

    created: datetime | None
    platform: Platform | None
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


def sha256_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp (nanoseconds allowed, as Go writes them), or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("z", "Z").replace("Z", "+00:00")
    # Python accepts at most 6 fractional digits; Go writes up to 9.
    text = _FRACTION_RE.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        # In UTC from here on: 9999-12-31T23:59-14:00 is past the last representable
        # date, and such a value must not break a listing later.
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    if parsed.year <= 1:  # Go's zero time, written by reproducible builds.
        return None
    return parsed


def _object(value: object) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _str_dict(value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}


def _platform(value: object) -> Platform | None:
    if not isinstance(value, dict):
        return None
    return Platform(
        os=str(value.get("os") or ""),
        architecture=str(value.get("architecture") or ""),
        variant=str(value.get("variant") or ""),
    )


def _size(value: object) -> int | None:
    """A byte count, or None when it is missing, negative or absurd (over 1 PiB)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 0 <= value <= MAX_SANE_SIZE else None


def _descriptor(value: object, default_type: str = "") -> Descriptor:
    if not isinstance(value, dict) or not isinstance(value.get("digest"), str):
        raise ValueError("descriptor without a digest")
    if not is_digest(value["digest"]):
        raise ValueError("descriptor with a malformed digest")
    return Descriptor(
        media_type=str(value.get("mediaType") or default_type),
        digest=value["digest"],
        size=_size(value.get("size")),
        platform=_platform(value.get("platform")),
        annotations=_str_dict(value.get("annotations")),
    )


def detect_media_type(data: dict[str, Any], header_type: str | None) -> str:
    """The manifest's media type: the body's ``mediaType``, else the header, else a guess."""
    declared = data.get("mediaType")
    if isinstance(declared, str) and declared in mt.MANIFEST_TYPES:
        return declared
    if header_type:
        base = header_type.split(";")[0].strip()
        if base in mt.MANIFEST_TYPES:
            return base
    if data.get("schemaVersion") == 1:
        return mt.DOCKER_V1_SIGNED if "signatures" in data else mt.DOCKER_V1
    if "manifests" in data:
        return mt.OCI_INDEX
    if "layers" in data:
        return mt.OCI_MANIFEST
    raise ValueError("not a manifest: no mediaType, manifests or layers")


def _parse_schema1(data: dict[str, Any], media_type: str) -> ImageManifest:
    fs_layers = data.get("fsLayers") or []
    # Schema 1 lists layers top-most first; distribution also lists repeats (empty layers).
    layers = tuple(
        Descriptor(media_type=mt.DOCKER_LAYER, digest=entry["blobSum"])
        for entry in reversed(fs_layers)
        if isinstance(entry, dict) and is_digest(str(entry.get("blobSum")))
    )
    created = None
    labels: dict[str, str] = {}
    history = data.get("history") or []
    if history and isinstance(history[0], dict):
        try:
            v1 = load_json(history[0].get("v1Compatibility") or "{}")
        except (ValueError, TypeError):
            v1 = {}
        v1 = v1 if isinstance(v1, dict) else {}
        v1_config = _object(v1.get("config"))
        created = parse_time(v1.get("created"))
        labels = _str_dict(v1_config.get("Labels"))
    platform = Platform(os="linux", architecture=str(data.get("architecture") or ""))
    return ImageManifest(
        media_type=media_type,
        config=None,
        layers=layers,
        v1_created=created,
        v1_platform=platform,
        v1_labels=labels,
    )


def parse_manifest(body: bytes, header_type: str | None = None) -> Manifest:
    """Parse a manifest body of any supported media type.

    Raises RegistryResponseError when the body is not a manifest we understand.
    """
    try:
        data = load_json(body)
        if not isinstance(data, dict):
            raise ValueError("manifest is not a JSON object")
        media_type = detect_media_type(data, header_type)
        if media_type in mt.SCHEMA1_TYPES:
            return _parse_schema1(data, media_type)
        annotations = _str_dict(data.get("annotations"))
        if media_type in mt.INDEX_TYPES:
            entries = data.get("manifests") or []
            if isinstance(entries, list) and len(entries) > MAX_INDEX_ENTRIES:
                raise ValueError(
                    f"an index of {len(entries):,} manifests, over the {MAX_INDEX_ENTRIES} read"
                )
            return IndexManifest(
                media_type=media_type,
                manifests=tuple(_descriptor(d) for d in entries),
                annotations=annotations,
            )
        config = data.get("config")
        subject = data.get("subject")
        return ImageManifest(
            media_type=media_type,
            config=_descriptor(config) if config else None,
            layers=tuple(_descriptor(d) for d in data.get("layers") or []),
            annotations=annotations,
            subject=_descriptor(subject) if subject else None,
            artifact_type=_text(data.get("artifactType")),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RegistryResponseError(
            f"The registry returned a manifest we cannot read: {exc}."
        ) from None


def parse_config(body: bytes) -> ImageConfig:
    """Read ``created``, the platform and the labels of an image config blob."""
    try:
        data = load_json(body)
    except ValueError:
        return ImageConfig(created=None, platform=None)
    if not isinstance(data, dict):
        return ImageConfig(created=None, platform=None)
    platform = None
    if data.get("os") or data.get("architecture"):
        platform = _platform(data)
    config = _object(data.get("config"))
    return ImageConfig(
        created=parse_time(data.get("created")),
        platform=platform,
        labels=_str_dict(config.get("Labels")),
    )
