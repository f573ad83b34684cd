"""Names kept in memory for pickers: the registry's repositories (read in the background,
added to as pushes are told), searched by substring or glob with prefix matches first.
A search never sends a request: while the list has not been read yet, it says so."""

from __future__ import annotations

import bisect
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from .pages import filter_names, is_glob


@dataclass(frozen=True)
class Found:
    """Names matching a query, best first; ``loading``: the list hasn't been read (yet),
    ``cut``: more matched than were returned."""

    names: list[str]
    loading: bool = False
    cut: bool = False


class Sorted:
    """Names sorted by their lowercase form, kept beside it: a prefix is found by
    bisection, and nothing is lowered again per search."""

    def __init__(self, names: Sequence[str]) -> None:
        pairs = sorted((n.lower(), n) for n in set(names) if "\n" not in n)
        self.lowered = [p[0] for p in pairs]
        self.names = [p[1] for p in pairs]
        # One string of them all, a line each, and where each line starts: a substring
        # is found by str.find (in C) rather than a test per name.
        self.joined = "\n".join(self.lowered)
        self.starts = list(itertools.accumulate((len(n) + 1 for n in self.lowered[:-1]), initial=0))

    def containing(self, needle: str) -> Iterator[int]:
        """The index of each name (in order) whose lowercase form contains ``needle``."""
        if not needle or "\n" in needle:
            return
        at = self.joined.find(needle)
        while at != -1:
            index = bisect.bisect_right(self.starts, at) - 1
            yield index
            if index + 1 >= len(self.starts):
                return
            at = self.joined.find(needle, self.starts[index + 1])

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        start, end = self.starting(name.lower())
        return name in self.names[start:end]

    def starting(self, prefix: str) -> tuple[int, int]:
        """The range of the names whose lowercase form starts with ``prefix``."""
        start = bisect.bisect_left(self.lowered, prefix)
        return start, bisect.bisect_left(self.lowered, prefix + "\U0010ffff", start)

    def with_(self, name: str) -> Sorted:
        return Sorted([*self.names, name])


def search(names: Sorted, query: str, limit: int) -> tuple[list[str], bool]:
    """Of ``names``, those ``query`` matches, at most ``limit``: names starting with it
    first (found by bisection), then those containing it, in order, the scan stopping
    once enough are found (a glob: those it matches whole). Matching ignores case.
    Returns the names and whether more matched."""
    query = query.strip()
    if not query:
        return names.names[:limit], len(names) > limit
    if is_glob(query):  # only the names starting with its literal part can match
        literal = query[: min(query.find(c) % (len(query) + 1) for c in "*?[")].lower()
        start, end = names.starting(literal)
        matched = filter_names(names.names[start:end], query)
        return matched[:limit], len(matched) > limit
    needle = query.lower()
    start, end = names.starting(needle)
    found = names.names[start : min(end, start + limit + 1)]
    if len(found) > limit:
        return found[:limit], True
    for at in names.containing(needle):
        if start <= at < end:
            continue
        found.append(names.names[at])
        if len(found) > limit:
            return found[:limit], True
    return found, False


class NameIndex:
    """The registry's repositories, in memory. ``read_catalog`` is the registry's list
    (called off the request path only: ``refresh``)."""

    def __init__(self, read_catalog: Callable[[], Sequence[str]]) -> None:
        self.read_catalog = read_catalog
        self._lock = threading.Lock()
        self._repositories: Sorted | None = None

    def refresh(self) -> None:
        """Read the catalog again (a failure keeps what was known, and raises)."""
        names = Sorted(self.read_catalog())
        with self._lock:
            self._repositories = names

    def pushed(self, repository: str) -> None:
        """A push the registry told: a repository not known yet joins the list."""
        with self._lock:
            known = self._repositories
            if known is not None and repository not in known:
                self._repositories = known.with_(repository)

    def repositories(self, query: str, limit: int = 100) -> Found:
        """The repositories matching ``query``, best first (loading: not read yet)."""
        with self._lock:
            names = self._repositories
        if names is None:
            return Found([], loading=True)
        matched, cut = search(names, query, limit)
        return Found(matched, cut=cut)
