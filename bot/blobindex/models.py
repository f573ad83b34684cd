"""What a reclaim figure is and what it rests on: the bytes whose last reference
anywhere in the registry a deletion removes, and how much of the registry was known
when it was counted (repositories never read, or changed since they were read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Basis:
    """How much of the registry a reclaim figure knows. ``unread``: repositories of the
    catalog whose images the index has not read, or that the registry's events say
    changed since (any may use the blobs counted); ``catalog_unread``: the list of
    repositories itself was cut short or could not be read; ``as_of``: the oldest read
    of another repository the figure relies on, when no events keep the index current
    (None: they do, or no other repository was needed)."""

    unread: int = 0
    catalog_unread: bool = False
    as_of: datetime | None = None

    @property
    def certain(self) -> bool:
        """Every repository known: the figure is what garbage collection reclaims
        (as of ``as_of``, when that is set)."""
        return not self.unread and not self.catalog_unread

    def as_data(self) -> dict[str, Any]:
        return {
            "unread": self.unread,
            "catalog_unread": self.catalog_unread,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Basis:
        as_of = data.get("as_of")
        return cls(
            int(data.get("unread") or 0),
            bool(data.get("catalog_unread")),
            datetime.fromisoformat(as_of) if as_of else None,
        )


@dataclass(frozen=True)
class Reclaim:
    """The blobs (manifests included, by their bytes) no manifest left in any known
    repository uses once the removed manifests are gone, each with its size (None: the
    descriptor gave none); the bytes of the candidates another repository still uses;
    each removing repository's share of the bytes (a blob freed by two is the first's)."""

    blobs: dict[str, int | None] = field(default_factory=dict)
    held_elsewhere: int = 0
    by_repository: dict[str, int] = field(default_factory=dict)
    basis: Basis = field(default_factory=Basis)

    @property
    def bytes(self) -> int:
        return sum(s for s in self.blobs.values() if s)


@dataclass
class Indexed:
    """What the index holds of one repository's tagged images: how many tags it had,
    when it was read, and each manifest's blobs with their sizes (its own bytes
    included)."""

    repository: str
    tags: int
    read_at: datetime
    manifests: dict[str, dict[str, int | None]] = field(default_factory=dict)
