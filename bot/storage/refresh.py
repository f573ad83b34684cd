"""Keeping the registry-wide index current: the repositories the registry's events say
changed since the index read them are read again, in the background, once their pushes
have settled. Between a change and its re-read, figures drawing on the repository say
"at most"; after it, they are certain again. Lost events are caught by the next full
read (a report, a preview, a cleanup), which replaces the repository's rows whole."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ..blobindex import BlobIndex
from ..registry import (
    ImageCensus,
    RegistryClient,
    RegistryError,
    RepositoryNotFoundError,
    census_repository,
)

# How long a repository must go without a push or deletion before it is read again:
# a burst of pushes (a CI pipeline tagging one image many times) is read once.
SETTLED = timedelta(seconds=30)
# Repositories read again per turn, so one turn never holds the registry for long.
PER_TURN = 20


@dataclass(frozen=True)
class Refreshed:
    """What a turn read again (``read``), and what it could not read, with why, for the
    log (``failed``: those stay stale and are tried again next turn)."""

    read: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def refresh_index(
    registry: RegistryClient,
    index: BlobIndex,
    settled: timedelta = SETTLED,
    limit: int = PER_TURN,
) -> Refreshed:
    """Read again (as a storage report does) up to ``limit`` repositories the events say
    changed since the index read them. A repository gone from the registry holds
    nothing any more: it is recorded empty."""
    refreshed = Refreshed()
    for repository in index.stale(settled)[:limit]:
        try:
            census = census_repository(registry, repository)
        except RepositoryNotFoundError:
            census = ImageCensus(repository)  # no tags left: it references nothing
        except RegistryError as error:
            refreshed.failed[repository] = error.message
            continue
        if index.record(census):
            refreshed.read.append(repository)
        else:
            refreshed.failed[repository] = census.problems()
    return refreshed
