"""Names kept in memory for pickers: the registry's repositories (read in the background,
added to as pushes are told), and the tags of the few repositories pickers asked about
lately (read in the background when first asked), searched by substring or glob with
prefix matches first. A search never sends a request: while a list has not been read
yet, it says so."""

from __future__ import annotations

import bisect
import itertools
import threading
import time
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
    unreadable: bool = False  # the last read failed (what was known before, if anything)


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
        """These names and ``name``: inserted in place (no sort: a push told to a list of
        100,000 tags costs copies, not a sort), the same as sorting them all again."""
        if "\n" in name or name in self:
            return self
        if not self.names:
            return Sorted([name])
        low = name.lower()
        at = bisect.bisect_left(self.lowered, low)
        while at < len(self.names) and self.lowered[at] == low and self.names[at] < name:
            at += 1  # ties (names differing in case only) are in name order
        new = Sorted([])
        new.lowered = [*self.lowered[:at], low, *self.lowered[at:]]
        new.names = [*self.names[:at], name, *self.names[at:]]
        if at == len(self.names):
            new.joined = f"{self.joined}\n{low}"
            new.starts = [*self.starts, len(self.joined) + 1]
        else:
            start, width = self.starts[at], len(low) + 1
            new.joined = f"{self.joined[:start]}{low}\n{self.joined[start:]}"
            new.starts = [*self.starts[:at], start, *(s + width for s in self.starts[at:])]
        return new


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


@dataclass
class _Tags:
    names: Sorted | None = None
    read_at: float = 0.0
    asked_at: float = 0.0
    reading: bool = False
    failed: bool = False


def _in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="picker-tags", daemon=True).start()


class TagIndex:
    """The tags of the repositories pickers asked about lately, in memory: a repository
    asked about is read in the background (``start`` runs the read; a daemon thread by
    default), read again once older than ``max_age`` seconds (the older list answers
    meanwhile), and added to as pushes are told. At most ``keep`` repositories are kept
    (the least recently asked go) and ``reads`` read at once; a failed read is tried
    again after ``retry`` seconds. ``read_tags`` is the registry's list."""

    def __init__(
        self,
        read_tags: Callable[[str], Sequence[str]],
        *,
        keep: int = 4,
        reads: int = 2,
        max_age: float = 300.0,
        retry: float = 30.0,
        start: Callable[[Callable[[], None]], None] = _in_thread,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_tags = read_tags
        self.keep, self.reads, self.max_age, self.retry = keep, reads, max_age, retry
        self.start, self.clock = start, clock
        self._lock = threading.Lock()
        self._repositories: dict[str, _Tags] = {}

    def want(self, repository: str) -> None:
        """Read ``repository``'s tags in the background, unless known and fresh, being
        read already, or too many reads are under way (the next ask tries again)."""
        now = self.clock()
        with self._lock:
            entry = self._repositories.get(repository)
            if entry is None:
                entry = self._repositories[repository] = _Tags()
            entry.asked_at = now
            self._forget_oldest(repository)
            age = now - entry.read_at
            fresh = entry.names is not None and age < self.max_age
            if entry.reading or fresh or (entry.failed and age < self.retry):
                return
            if sum(e.reading for e in self._repositories.values()) >= self.reads:
                return
            entry.reading = True
        self.start(lambda: self._read(repository))

    def _forget_oldest(self, keeping: str) -> None:
        """(Lock held.) Drop the least recently asked repositories beyond ``keep``."""
        while len(self._repositories) > self.keep:
            idle = [r for r, e in self._repositories.items() if r != keeping and not e.reading]
            if not idle:
                return
            del self._repositories[min(idle, key=lambda r: self._repositories[r].asked_at)]

    def _read(self, repository: str) -> None:
        try:
            names: Sorted | None = Sorted(self.read_tags(repository))
        except Exception:  # the picker says the list could not be read
            names = None
        with self._lock:
            entry = self._repositories.get(repository)
            if entry is None:
                return
            entry.reading, entry.read_at = False, self.clock()
            entry.failed = names is None
            if names is not None:
                entry.names = names

    def pushed(self, repository: str, tag: str) -> None:
        """A push the registry told: the tag joins a list read already."""
        with self._lock:
            entry = self._repositories.get(repository)
            if entry is not None and entry.names is not None and tag not in entry.names:
                entry.names = entry.names.with_(tag)

    def tags(self, repository: str, query: str, limit: int = 100) -> Found:
        """``repository``'s tags matching ``query``, best first; asking starts a read
        when the list is unknown or old (loading: not read yet)."""
        self.want(repository)
        with self._lock:
            entry = self._repositories.get(repository)
            names = entry.names if entry is not None else None
            failed = entry is not None and entry.failed
            reading = entry is not None and entry.reading
        if names is None:
            return Found([], loading=reading or not failed, unreadable=failed)
        matched, cut = search(names, query, limit)
        return Found(matched, cut=cut, unreadable=failed)
