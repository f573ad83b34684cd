"""Where the disk goes: every repository's tagged images read (a full scan each), and
each blob counted once across the registry, as distribution stores it (garbage
collection frees a blob only when no manifest anywhere uses it). Manifests are blobs
too, sized by their bytes. Per repository: bytes referenced, bytes no other repository
uses, shared bytes, and an amortised share (each shared blob split evenly between the
repositories using it, so the shares add up to the total). Sizes come from the manifests'
descriptors; nothing is downloaded. What could not be read is named, never guessed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..blobindex import BlobIndex
from ..patterns import glob_pattern
from ..registry import RegistryClient, is_glob, scan_repository

MAX_REPOSITORIES = 200  # repositories one report reads (each a full scan)


@dataclass(frozen=True)
class RepoStorage:
    repository: str
    tags: int
    images: int  # manifests reachable from its tags (an index's platforms included)
    referenced: int  # bytes of every blob (and manifest) its tagged images use
    unique: int  # of those, the bytes no other repository uses
    amortised: int  # its share: each blob's size split between the repositories using it

    @property
    def shared(self) -> int:
        return self.referenced - self.unique


@dataclass(frozen=True)
class StorageReport:
    """``total``: bytes stored counting each blob once; ``naive``: the sum of every
    repository's own figure (what counting per repository would say); ``unsized``: blobs
    whose descriptor gave no size (not in the figures); ``unread``: repositories that
    could not all be read (not in the figures); ``beyond``: repositories past the cap;
    ``catalog_cut``: why the registry's list of repositories stopped early (those after
    it are not in the figures)."""

    repositories: list[RepoStorage] = field(default_factory=list)
    total: int = 0
    naive: int = 0
    unsized: int = 0
    unread: list[str] = field(default_factory=list)
    beyond: int = 0
    catalog_cut: str | None = None  # why the catalog's list of repositories is incomplete


def storage_report(
    registry: RegistryClient,
    pattern: str | None = None,
    progress: Callable[[int], None] | None = None,
    index: BlobIndex | None = None,
) -> StorageReport:
    """The storage of the repositories ``pattern`` names (all: None). ``progress`` is
    told how many repositories have been read; ``index``, when given, records what each
    complete scan saw (the reclaim figures of later deletions draw on it)."""
    catalog = registry.catalog()
    names = list(catalog)
    if pattern:
        wanted = glob_pattern(pattern, segments=True) if is_glob(pattern) else None
        names = [n for n in names if (wanted.fullmatch(n) if wanted else n == pattern)]
    names.sort()
    used: dict[str, dict[str, int]] = {}  # repository -> blob -> size
    counts: dict[str, tuple[int, int]] = {}
    unread: list[str] = []
    unsized: set[str] = set()
    for done, repository in enumerate(names[:MAX_REPOSITORIES]):
        scan = scan_repository(registry, repository)
        if progress is not None:
            progress(done + 1)
        if not scan.complete:
            unread.append(repository)
            continue
        if index is not None:
            index.record(scan)
        manifests = scan.tagged_manifests()
        blobs: dict[str, int] = {}
        for digest in manifests:
            for blob, size in scan.stored_by(digest).items():
                if size is None or size < 0:
                    unsized.add(blob)
                else:
                    blobs[blob] = size
        used[repository] = blobs
        counts[repository] = (len(scan.tags), len(manifests))
    users: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for blobs in used.values():
        for blob, size in blobs.items():
            users[blob] = users.get(blob, 0) + 1
            sizes[blob] = size
    repositories = [
        RepoStorage(
            repository,
            counts[repository][0],
            counts[repository][1],
            sum(blobs.values()),
            sum(s for b, s in blobs.items() if users[b] == 1),
            round(sum(s / users[b] for b, s in blobs.items())),
        )
        for repository, blobs in used.items()
    ]
    repositories.sort(key=lambda r: (-r.unique, r.repository))
    return StorageReport(
        repositories,
        total=sum(sizes.values()),
        naive=sum(r.referenced for r in repositories),
        unsized=len(unsized),
        unread=unread,
        beyond=max(0, len(names) - MAX_REPOSITORIES),
        catalog_cut=catalog.cut,
    )
