"""The model of an image as the bot shows it: one entry per platform, sizes and dates.

Built by ``describe`` from a manifest (and, for an index, its children) plus config
blobs. Attestation manifests (platform ``unknown/unknown``) are kept apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import mediatypes as mt
from .manifest import Descriptor, Platform


@dataclass(frozen=True)
class PlatformImage:
    """One single-platform manifest: its layers, config and what the config says."""

    digest: str
    media_type: str
    platform: Platform | None
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    created: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    manifest_size: int | None = None

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Config (when there is one) then layers."""
        return ((self.config,) if self.config else ()) + self.layers

    @property
    def size(self) -> int | None:
        """Compressed size: config + layers. None when a size is unknown (schema 1)."""
        sizes = [b.size for b in self.blobs]
        if any(s is None for s in sizes):
            return None
        return sum(sizes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Image:
    """What a reference points at: a single-platform image or a multi-arch index."""

    repository: str
    digest: str
    media_type: str
    platforms: tuple[PlatformImage, ...]
    attestations: tuple[PlatformImage, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    tag: str | None = None
    manifest_size: int | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEX_TYPES

    @property
    def size(self) -> int | None:
        """Compressed size of every distinct blob of every platform (attestations excluded)."""
        seen: dict[str, int | None] = {}
        for image in self.platforms:
            for blob in image.blobs:
                seen[blob.digest] = blob.size
        if not seen:
            return 0 if self.platforms else None
        if any(s is None for s in seen.values()):
            return None
        return sum(seen.values())  # type: ignore[arg-type]

    @property
    def created(self) -> datetime | None:
        """The newest ``created`` of its platforms."""
        dates = [p.created for p in self.platforms if p.created]
        return max(dates) if dates else None

    @property
    def labels(self) -> dict[str, str]:
        """Labels shared by every platform (all of them for a single-platform image)."""
        if not self.platforms:
            return {}
        common = dict(self.platforms[0].labels)
        for image in self.platforms[1:]:
            common = {k: v for k, v in common.items() if image.labels.get(k) == v}
        return common

    @property
    def platform_names(self) -> list[str]:
        return [str(p.platform) for p in self.platforms if p.platform]
