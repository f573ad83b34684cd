"""Untagged manifests: each image a recorded push moved its last tag off (or pushed by
digest), that no tag points at now, that is not a platform of a tagged multi-arch image
nor a signature or attestation of a tagged image, and that the registry still has
(asked with a HEAD). Its size, the bytes of its own (what deleting it would give back,
registry-wide, from the index), when it was left and by which tag, and its last pull (in
use when pulled within the given time)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..blobindex import Basis, BlobIndex
from ..events import EventFeed
from ..patterns import glob_pattern
from ..registry import (
    FetchedManifest,
    Image,
    ManifestNotFoundError,
    RegistryClient,
    RegistryError,
    RepoScan,
    describe_digests,
    is_glob,
    scan_repository,
)

MAX_REPOSITORIES = 200  # repositories a listing reads (each a full scan)


@dataclass(frozen=True)
class Untagged:
    repository: str
    digest: str
    left_at: datetime  # when the push that moved its last tag away (or pushed it) came
    tag: str  # that tag ("": it was pushed by digest)
    size: int | None = None  # the image's size (layers and config), when readable
    last_pull: datetime | None = None
    in_use: bool = False  # pulled within the time asked
    # The bytes (its manifest's included) no other image in any repository read uses:
    # what deleting it alone gives back, with what that rests on (None: not counted).
    unique: int | None = None
    unique_basis: Basis | None = None


@dataclass(frozen=True)
class UntaggedReport:
    """The untagged manifests found, the repositories that could not all be read (what
    they hold is not known), and how many repositories had candidates beyond the cap."""

    items: list[Untagged] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)
    beyond: int = 0


def find_untagged(
    registry: RegistryClient,
    feed: EventFeed,
    pattern: str | None,
    now: datetime,
    in_use_within: timedelta = timedelta(days=7),
    index: BlobIndex | None = None,
) -> UntaggedReport:
    """The untagged manifests of the repositories ``pattern`` names (all: None); with
    ``index``, each one's bytes of its own (the index records what was read)."""
    wanted = glob_pattern(pattern, segments=True) if pattern and is_glob(pattern) else None

    def named(repository: str) -> bool:
        if pattern is None:
            return True
        return bool(wanted.fullmatch(repository)) if wanted else repository == pattern

    left: dict[tuple[str, str], tuple[datetime, str]] = {}
    for push in feed.moved_away():
        left_one = push.may_leave_untagged
        if named(push.repository) and left_one is not None:
            left[(push.repository, left_one)] = (push.at, push.tag or "")
    repositories = sorted({r for r, _ in left})
    report = UntaggedReport(beyond=max(0, len(repositories) - MAX_REPOSITORIES))
    names: list[str] | None = None

    def catalog() -> list[str]:  # read once for every figure of this listing
        nonlocal names
        if names is None:
            names = registry.catalog()
        return names

    for repository in repositories[:MAX_REPOSITORIES]:
        candidates = [d for r, d in left if r == repository]
        scan = scan_repository(registry, repository)
        if not scan.complete:
            report.unread.append(repository)
            continue
        tagged = set(scan.tags.values())
        reachable = set().union(*(scan.reachable(d) for d in tagged)) if tagged else set()
        pulls = feed.pull_stats(repository)
        untagged = [d for d in candidates if d not in tagged and d not in reachable]
        present = [d for d in untagged if _still_there(registry, repository, d)]
        read = _read(registry, repository, present)
        scan = replace(scan, manifests={**scan.manifests, **read})
        # A signature or attestation of an image a tag reaches goes with that image.
        present = [d for d in present if not scan.accessory_of_tagged(d, left[(repository, d)][1])]
        described = describe_digests(registry, repository, [(None, d) for d in present])
        own = _own_bytes(index, scan, [d for d in present if d in read], catalog) if index else {}
        for digest, image in zip(present, described, strict=True):
            at, tag = left[(repository, digest)]
            pulled = pulls.get(digest)
            last = pulled.last_pulled_at if pulled else None
            report.items.append(
                Untagged(
                    repository,
                    digest,
                    at,
                    tag,
                    image.size if isinstance(image, Image) else None,
                    last,
                    last is not None and last > now - in_use_within,
                    *own.get(digest, (None, None)),
                )
            )
    return report


def _read(
    registry: RegistryClient, repository: str, digests: list[str]
) -> dict[str, FetchedManifest]:
    """The untagged manifests that can be read (one GET each, usually cached)."""
    read: dict[str, FetchedManifest] = {}
    found = registry.map(lambda d: registry.get_manifest(repository, d), digests)
    for digest, manifest in zip(digests, found, strict=True):
        if isinstance(manifest, FetchedManifest):
            read[digest] = manifest
    return read


def _own_bytes(
    index: BlobIndex,
    scan: RepoScan,
    digests: list[str],
    catalog: Callable[[], list[str]],
) -> dict[str, tuple[int, Basis]]:
    """Each untagged manifest's bytes of its own, registry-wide (each read into
    ``scan``): recorded in the index, and counted as its deletion alone would free
    them."""
    if not index.record(scan, untagged=digests):
        return {}
    figures = {}
    for digest in digests:
        reclaim = index.reclaim({scan.repository: {digest}}, catalog)
        figures[digest] = (reclaim.bytes, reclaim.basis)
    return figures


def _still_there(registry: RegistryClient, repository: str, digest: str) -> bool:
    try:
        registry.head_manifest(repository, digest)
    except ManifestNotFoundError:
        return False
    except RegistryError:
        return True  # can't tell: shown, and a deletion would check again
    return True
