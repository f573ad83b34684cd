"""Pages of repositories and tags as people browse them: filtered (``filter_names``:
a substring, or a glob when the pattern has ``* ? [``), sorted, cut into pages, with the
page's tags described. Front-end neutral: a Slack message, a CLI table or a web page can
all be drawn from ``RepoPage`` and ``TagPage``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..patterns import glob_pattern
from .client import RegistryClient
from .describe import describe_tags
from .errors import RegistryError
from .image import Image


def is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def filter_names(names: list[str], pattern: str | None) -> list[str]:
    """Names matching ``pattern``: a glob when it has ``* ? [``, else a substring.

    Matching ignores case. An empty pattern keeps everything.
    """
    if not pattern:
        return list(names)
    needle = pattern.lower()
    if is_glob(needle):
        matcher = glob_pattern(needle, segments=False)  # RE2: linear in each name
        return [n for n in names if matcher.fullmatch(n.lower())]
    return [n for n in names if needle in n.lower()]


_CHUNK_RE = re.compile(r"\d+|\D+")
_VERSION_RE = re.compile(r"^[vV]?(\d+(?:\.\d+)*)(.*)$")
_ARTIFACT_TAG_RE = re.compile(r"^sha256-[0-9a-f]{64}(\.\w+)?$")


def _natural(text: str) -> tuple[tuple[int, int, str], ...]:
    return tuple((0, int(c), "") if c.isdecimal() else (1, 0, c) for c in _CHUNK_RE.findall(text))


_VersionKey = tuple[tuple[int, ...], int, tuple[tuple[int, int, str], ...]]


def _version_key(match: re.Match[str]) -> _VersionKey:
    numbers = tuple(map(int, match.group(1).split(".")))
    rest = match.group(2)
    # A release (1.2.0) ranks above its suffixed forms (1.2.0-rc1, 1.2.0-alpine).
    return (numbers, 1, ()) if not rest else (numbers, 0, _natural(rest))


def sort_tags(tags: list[str]) -> list[str]:
    """Named tags first (latest, main, stable: natural order), then versions, newest
    first (semver-aware: 1.10 > 1.9, 2.0 > 2.0-rc1), then signature/attestation tags
    (``sha256-<hex>.sig``)."""
    named: list[str] = []
    versions: list[tuple[_VersionKey, str]] = []
    artifacts: list[str] = []
    for tag in tags:
        body = tag[1:] if tag[:1] in ("v", "V") else tag
        parts = body.split(".")
        if body.replace(".", "").isdecimal() and "" not in parts:  # a release: 1.2.0
            versions.append(((tuple(map(int, parts)), 1, ()), tag))  # as _version_key
        elif tag.startswith("sha256-") and _ARTIFACT_TAG_RE.match(tag):
            artifacts.append(tag)
        elif match := _VERSION_RE.match(tag):
            versions.append((_version_key(match), tag))
        else:
            named.append(tag)
    versions.sort(reverse=True)
    return sorted(named, key=_natural) + [tag for _, tag in versions] + sorted(artifacts)


def _clamp(page: int, total: int, per_page: int) -> int:
    last = max(0, (total - 1) // per_page)
    return min(max(0, page), last)


class _Paged:
    """Page arithmetic shared by the listings (``total`` items, ``per_page`` a page)."""

    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 0

    @property
    def has_next(self) -> bool:
        return self.page + 1 < self.pages

    @property
    def first_index(self) -> int:
        return self.page * self.per_page


@dataclass(frozen=True)
class RepoPage(_Paged):
    """One page of repository names."""

    names: list[str]
    total: int
    page: int
    per_page: int
    pattern: str | None = None
    catalog_total: int = 0
    cut: str | None = None  # why the catalog is incomplete, when it is


@dataclass(frozen=True)
class TagPage(_Paged):
    """One page of tags, each described (or the error that describing it raised)."""

    repository: str
    tags: list[str]
    images: list[Image | RegistryError]
    total: int
    page: int
    per_page: int
    pattern: str | None = None
    repository_total: int = 0
    shared: dict[str, list[str]] = field(default_factory=dict)
    cut: str | None = None  # why the tag list is incomplete, when it is

    def siblings(self, tag: str, image: Image) -> list[str]:
        """Other tags of this page that point at the same digest."""
        return [t for t in self.shared.get(image.digest, []) if t != tag]


def repo_page(
    client: RegistryClient, *, pattern: str | None = None, page: int = 0, per_page: int = 40
) -> RepoPage:
    """A page of repository names, filtered over the whole catalog, sorted by name."""
    everything = client.catalog()
    names = sorted(filter_names(everything, pattern))
    page = _clamp(page, len(names), per_page)
    start = page * per_page
    return RepoPage(
        names[start : start + per_page],
        len(names),
        page,
        per_page,
        pattern,
        len(everything),
        everything.cut,
    )


def tag_page(
    client: RegistryClient,
    repository: str,
    *,
    pattern: str | None = None,
    page: int = 0,
    per_page: int = 20,
) -> TagPage:
    """A page of tags of ``repository``; only the page's tags are described."""
    everything = client.tags(repository)
    tags = sort_tags(filter_names(everything, pattern))
    page = _clamp(page, len(tags), per_page)
    start = page * per_page
    shown = tags[start : start + per_page]
    images = describe_tags(client, repository, shown)
    shared: dict[str, list[str]] = {}
    for tag, image in zip(shown, images, strict=True):
        if isinstance(image, Image):
            shared.setdefault(image.digest, []).append(tag)
    return TagPage(
        repository,
        shown,
        images,
        len(tags),
        page,
        per_page,
        pattern,
        len(everything),
        {d: t for d, t in shared.items() if len(t) > 1},
        everything.cut,
    )
