"""Where the disk goes: every repository's tagged images read (a full scan each), and
each blob counted once across the registry, as distribution stores it (garbage
collection frees a blob only when no manifest anywhere uses it). Manifests are blobs
too, sized by their bytes. Per repository: bytes referenced, bytes no other repository
uses, shared bytes, and an amortised share (each shared blob split evenly between the
repositories using it, so the shares add up to the total). Sizes come from the manifests'
descriptors; nothing is downloaded. What could not be read is named, never guessed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ..blobindex import BlobIndex
from ..patterns import glob_pattern
from ..registry import RegistryClient, census_repository, is_glob

MAX_REPOSITORIES = 200  # repositories one report reads (each a full scan)
# How many repositories are read at once (each scan waits on its round trips;
# REGISTRY_CONCURRENCY bounds the requests).
REPOSITORIES_AT_ONCE = 8
# How recent a read of a repository the report takes from the index instead of a scan
# (only when the registry's events say it hasn't changed since).
REUSE_WITHIN = timedelta(minutes=10)


@dataclass(frozen=True)
class RepoStorage:
    repository: str
    tags: int
    images: int  # manifests reachable from its tags (an index's platforms included)
    referenced: int  # bytes of every blob (and manifest) its tagged images use
    unique: int  # of those, the bytes no other repository uses
    amortised: int  # its share: each blob's size split between the repositories using it
    last_push: datetime | None = None  # its latest tag push, when the events told

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
    # Repositories taken from the index (read lately, unchanged since by the events),
    # and when the oldest of them was read.
    from_index: int = 0
    oldest_read: datetime | None = None


def _read(
    registry: RegistryClient, repository: str, index: BlobIndex | None
) -> tuple[int, dict[str, dict[str, int | None]]] | None:
    """One repository's tag count and each tagged manifest's blobs (None: it could not
    all be read); a complete read goes into the index."""
    census = census_repository(registry, repository)
    if not census.complete:
        return None
    if index is not None:
        index.record(census)
    return census.tag_total, {m: census.stored_by(m) for m in census.tagged_manifests()}


def storage_report(
    registry: RegistryClient,
    pattern: str | None = None,
    progress: Callable[[int], None] | None = None,
    index: BlobIndex | None = None,
    reuse_within: timedelta | None = None,
    last_pushes: Mapping[str, datetime] | None = None,
) -> StorageReport:
    """The storage of the repositories ``pattern`` names (all: None), several read at
    once. ``progress`` is told how many repositories have been read; ``index``, when
    given, records what each complete scan saw (the reclaim figures of later deletions
    draw on it), and with ``reuse_within`` gives the repositories it read that recently
    and that the registry's events say are unchanged, instead of a scan.
    ``last_pushes``: each repository's latest push, as the events told."""
    catalog = registry.catalog()
    names = list(catalog)
    if pattern:
        wanted = glob_pattern(pattern, segments=True) if is_glob(pattern) else None
        names = [n for n in names if (wanted.fullmatch(n) if wanted else n == pattern)]
    names.sort()
    chosen = names[:MAX_REPOSITORIES]
    known = index.current(chosen, reuse_within) if index is not None and reuse_within else {}
    read: dict[str, tuple[int, dict[str, dict[str, int | None]]] | None] = {
        name: (k.tags, k.manifests) for name, k in known.items()
    }
    lock = threading.Lock()

    def one(repository: str) -> None:
        found = _read(registry, repository, index)
        with lock:
            read[repository] = found
            if progress is not None:
                progress(len(read))

    todo = [n for n in chosen if n not in known]
    if todo:
        with ThreadPoolExecutor(min(REPOSITORIES_AT_ONCE, len(todo)), "storage") as pool:
            for done in [pool.submit(one, r) for r in todo]:
                done.result()
    report = _figures({n: read[n] for n in chosen})
    pushes = last_pushes or {}
    return replace(
        report,
        repositories=[replace(r, last_push=pushes.get(r.repository)) for r in report.repositories],
        beyond=max(0, len(names) - MAX_REPOSITORIES),
        catalog_cut=catalog.cut,
        from_index=len(known),
        oldest_read=min((k.read_at for k in known.values()), default=None),
    )


def _figures(read: dict[str, tuple[int, dict[str, dict[str, int | None]]] | None]) -> StorageReport:
    """Each blob once across the repositories read, and each one's share."""
    used: dict[str, dict[str, int]] = {}  # repository -> blob -> size
    counts: dict[str, tuple[int, int]] = {}
    unread: list[str] = []
    unsized: set[str] = set()
    for repository, found in read.items():
        if found is None:
            unread.append(repository)
            continue
        tags, manifests = found
        blobs: dict[str, int] = {}
        for stored in manifests.values():
            for blob, size in stored.items():
                if size is None or size < 0:
                    unsized.add(blob)
                else:
                    blobs[blob] = size
        used[repository] = blobs
        counts[repository] = (tags, len(manifests))
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
    )
