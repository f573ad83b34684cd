"""Untagged manifests: each image a recorded push moved its last tag off, that no tag
points at now, that is not a platform of a tagged multi-arch image, and that the
registry still has (asked with a HEAD). Its size, when it was left, by which tag, and
its last pull (in use when pulled within the given time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..events import EventFeed
from ..patterns import glob_pattern
from ..registry import (
    Image,
    ManifestNotFoundError,
    RegistryClient,
    RegistryError,
    describe_digests,
    is_glob,
    scan_repository,
)

MAX_REPOSITORIES = 200  # repositories a listing reads (each a full scan)


@dataclass(frozen=True)
class Untagged:
    repository: str
    digest: str
    left_at: datetime  # when the push that moved its last tag away came
    tag: str  # that tag
    size: int | None = None  # the image's size (layers and config), when readable
    last_pull: datetime | None = None
    in_use: bool = False  # pulled within the time asked


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
) -> UntaggedReport:
    """The untagged manifests of the repositories ``pattern`` names (all: None)."""
    wanted = glob_pattern(pattern, segments=True) if pattern and is_glob(pattern) else None

    def named(repository: str) -> bool:
        if pattern is None:
            return True
        return bool(wanted.fullmatch(repository)) if wanted else repository == pattern

    left: dict[tuple[str, str], tuple[datetime, str]] = {}
    for push in feed.moved_away():
        if named(push.repository) and push.previous is not None:
            left[(push.repository, push.previous)] = (push.at, push.tag or "")
    repositories = sorted({r for r, _ in left})
    report = UntaggedReport(beyond=max(0, len(repositories) - MAX_REPOSITORIES))
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
        described = describe_digests(registry, repository, [(None, d) for d in present])
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
                )
            )
    return report


def _still_there(registry: RegistryClient, repository: str, digest: str) -> bool:
    try:
        registry.head_manifest(repository, digest)
    except ManifestNotFoundError:
        return False
    except RegistryError:
        return True  # can't tell: shown, and a deletion would check again
    return True
