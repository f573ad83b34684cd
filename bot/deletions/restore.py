"""Undo: what a deletion takes is saved first (``collect``), and put back on request
(``restore``): each manifest PUT by digest, an index's platforms before the index, then
each tag pointed at it again, and every digest checked.

Functions of the registry client and saved manifests only; no database here. A tag
that points at another image by the time of the restore is left alone and reported:
a restore never moves a tag someone has pushed since.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby

from ..registry import (
    FetchedManifest,
    IndexManifest,
    ManifestNotFoundError,
    RegistryClient,
    RegistryError,
)
from .models import SavedManifest
from .outcomes import Fact, Finding
from .own_writes import BeforeWrite, Write, WriteAction

# The codes distribution answers a manifest PUT with when a blob or platform manifest
# it names is not in the repository (garbage collection removed it).
_GONE_CODES = {"MANIFEST_BLOB_UNKNOWN", "BLOB_UNKNOWN", "MANIFEST_UNKNOWN"}


def collect(
    registry: RegistryClient,
    repository: str,
    digest: str,
    tags: Iterable[str],
    known: Mapping[str, FetchedManifest] | None = None,
) -> list[SavedManifest]:
    """The manifest at ``digest`` and every manifest under it, exactly as the registry
    serves them, platforms first; ``known`` are manifests already read (by a scan), by
    digest. A platform the registry doesn't have is skipped (the index is then only
    partly restorable, as it was only partly there)."""
    fetched = []
    seen: set[str] = set()
    known = known or {}

    def visit(current: str) -> None:
        if current in seen:
            return
        seen.add(current)
        manifest = known.get(current) or registry.get_manifest(repository, current)
        if isinstance(manifest.manifest, IndexManifest):
            for child in manifest.manifest.manifests:
                try:
                    visit(child.digest)
                except ManifestNotFoundError:
                    continue
        fetched.append(manifest)

    visit(digest)
    tags = tuple(tags)
    return [
        SavedManifest(
            repository,
            digest,
            m.digest,
            m.media_type,
            m.body,
            tags if m.digest == digest else (),
            position,
        )
        for position, m in enumerate(fetched)
    ]


@dataclass(frozen=True)
class ImageRestore:
    """What became of one image: the tags pointed at it again, the tags left alone
    (and why), or why the image itself could not be put back."""

    repository: str
    image: str
    tags: tuple[str, ...] = ()
    tags_left: tuple[tuple[str, Fact], ...] = ()
    problem: Fact | None = None

    @property
    def restored(self) -> bool:
        return self.problem is None


def _why_not(exc: RegistryError, manifest: SavedManifest) -> Fact:
    if set(exc.codes) & _GONE_CODES:
        return Fact(Finding.BLOBS_GONE, answer=exc.message)
    return Fact(Finding.REFUSED_BY_REGISTRY, digest=manifest.digest, answer=exc.message)


def _nothing(writes: list[Write]) -> None:
    return None


def _point_tag(
    registry: RegistryClient,
    root: SavedManifest,
    tag: str,
    may_move: str | None = None,
    before_write: BeforeWrite = _nothing,
) -> Fact | None:
    """Point ``tag`` at the restored image unless it now points elsewhere (other than
    at ``may_move``, the digest the approvers agreed to move it from); returns why it
    was left alone, or None when it points at the image now."""
    try:
        now_at: str | None = registry.resolve(root.repository, tag)
    except ManifestNotFoundError:
        now_at = None
    if now_at == root.digest:
        return None
    if now_at is not None and now_at != may_move:
        return Fact(Finding.TAG_LEFT, digest=now_at)
    before_write([Write(root.repository, root.digest, WriteAction.PUSH, tag)])
    registry.put_manifest(root.repository, tag, root.body, root.media_type)
    after = registry.resolve(root.repository, tag)
    if after != root.digest:
        return Fact(Finding.TAG_ELSEWHERE, digest=after)
    return None


def restore_image(
    registry: RegistryClient,
    saved: list[SavedManifest],
    may_move: str | None = None,
    before_write: BeforeWrite = _nothing,
) -> ImageRestore:
    """Put one image back: its manifests in order, then its tags (a tag pointing at
    ``may_move`` is moved back too). ``before_write`` is told of each PUT first."""
    root = next(m for m in saved if m.digest == m.image)
    for manifest in saved:
        try:
            before_write([Write(manifest.repository, manifest.digest, WriteAction.PUSH)])
            got = registry.put_manifest(
                manifest.repository, manifest.digest, manifest.body, manifest.media_type
            )
        except RegistryError as exc:
            return ImageRestore(root.repository, root.image, problem=_why_not(exc, manifest))
        if got != manifest.digest:
            return ImageRestore(
                root.repository,
                root.image,
                problem=Fact(Finding.WRONG_DIGEST, digest=got),
            )
    done, left = [], []
    for tag in root.tags:
        try:
            why = _point_tag(registry, root, tag, may_move, before_write)
        except RegistryError as exc:
            why = Fact(Finding.REGISTRY_FAILED, answer=exc.message)
        if why is None:
            done.append(tag)
        else:
            left.append((tag, why))
    return ImageRestore(root.repository, root.image, tuple(done), tuple(left))


def restore(
    registry: RegistryClient,
    saved: list[SavedManifest],
    may_move: str | None = None,
    before_write: BeforeWrite = _nothing,
) -> list[ImageRestore]:
    """Put back every image in ``saved`` (grouped by image, in position order)."""
    ordered = sorted(saved, key=lambda m: (m.repository, m.image, m.position))
    images = [list(g) for _, g in groupby(ordered, key=lambda m: (m.repository, m.image))]
    results = registry.map(
        lambda group: restore_image(registry, group, may_move, before_write), images
    )
    return [
        r
        if isinstance(r, ImageRestore)
        else ImageRestore(
            g[0].repository, g[0].image, problem=Fact(Finding.REGISTRY_FAILED, answer=r.message)
        )
        for g, r in zip(images, results, strict=True)
    ]
