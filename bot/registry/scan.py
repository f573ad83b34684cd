"""A repository scan: every tag, the manifest it points at (and an index's children),
and the blobs each one uses. It answers what a deletion takes with it: which tags share
a digest, which blobs nothing else uses (the space garbage collection can reclaim),
which tags still need a blob, and whether a manifest is a platform of a tagged index.

Costs one tag list, one HEAD per tag, and one GET per distinct manifest not in the
cache: a repository of 500 tags over a few dozen images costs 500 HEADs and a few
dozen GETs. Config blobs are not fetched: their sizes are in the manifests. A scan
for reading only (a preview) may take where tags point from what the caller recorded
(``known``) or from the client's own lookups of the last ``seen_within`` seconds:
those tags are not asked about, unless the manifest taken for one is gone. A scan given
a ``deadline`` sends nothing after it: what it did not read makes it incomplete.
"""

from __future__ import annotations

import functools
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from .client import FetchedManifest, RegistryClient
from .errors import ManifestNotFoundError, RegistryError, RegistryResponseError
from .manifest import Descriptor, ImageManifest, IndexManifest

T = TypeVar("T")
RESOLVE_CHUNK = 500  # tags looked up per round (each round keeps every slot busy)
MAX_NESTING = 4  # an index of indexes is rare; deeper is a registry building a chain
# cosign's sha256-<hex>.sig / .att / .sbom, and the OCI 1.1 referrers tag schema's
# sha256-<hex> (an index of the referrers, where the registry has no referrers API).
_SIGNATURE_TAG_RE = re.compile(r"^(sha256)-([0-9a-f]{64})(\.(sig|att|sbom))?$")


def artifact_tags_for(digest: str, tags: list[str]) -> list[str]:
    """Tags following the ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` convention (cosign),
    or the referrers tag schema's ``sha256-<hex>``, for ``digest``."""
    out = []
    for tag in tags:
        match = _SIGNATURE_TAG_RE.match(tag)
        if match and f"{match.group(1)}:{match.group(2)}" == digest:
            out.append(tag)
    return out


def accessory_subject(tag: str) -> str | None:
    """The image a ``sha256-<hex>.sig`` / ``.att`` / ``.sbom`` tag (cosign's convention)
    or a ``sha256-<hex>`` tag (the OCI referrers tag schema) belongs to, or None for any
    other tag."""
    match = _SIGNATURE_TAG_RE.match(tag)
    return f"{match.group(1)}:{match.group(2)}" if match else None


@dataclass
class ManifestsRead(ABC):
    """What a read of a repository's tags found below them: the manifests they reach (an
    index's children included) and what could not be read; read-only once returned."""

    repository: str
    manifests: dict[str, FetchedManifest] = field(default_factory=dict)
    tag_errors: dict[str, RegistryError] = field(default_factory=dict)
    manifest_errors: dict[str, RegistryError] = field(default_factory=dict)
    cut: str | None = None  # why the tag list is incomplete, when it is
    unread: set[str] = field(default_factory=set)  # tags and manifests left at the deadline

    @property
    def complete(self) -> bool:
        """Every tag listed and resolved, every manifest read."""
        return not (self.cut or self.tag_errors or self.manifest_errors or self.unread)

    def problems(self) -> str:
        """Why the read is incomplete, for people."""
        if self.cut:
            return f"the tag list was cut short: {self.cut}"
        if self.unread:
            return f"{len(self.unread)} tag(s) or manifest(s) were not read before the time ran out"
        failed = {**self.tag_errors, **self.manifest_errors}
        if not failed:
            return ""
        name, error = next(iter(failed.items()))
        return f"{len(failed)} tag(s) or manifest(s) could not be read ({name}: {error.message})"

    @property
    @abstractmethod
    def tag_total(self) -> int:
        """How many tags the repository has (those that resolved)."""

    @abstractmethod
    def targets(self) -> set[str]:
        """The manifests the tags point at."""

    def tagged_manifests(self) -> set[str]:
        """Every manifest reachable from a tag (an index's platforms included)."""
        found: set[str] = set()
        for digest in self.targets():
            found |= self.reachable(digest)
        return found

    def children(self, digest: str) -> list[Descriptor]:
        """The platform manifests of an index (empty for anything else)."""
        fetched = self.manifests.get(digest)
        if fetched and isinstance(fetched.manifest, IndexManifest):
            return list(fetched.manifest.manifests)
        return []

    def reachable(self, digest: str) -> set[str]:
        """``digest`` and every manifest under it (children of indexes, recursively)."""
        seen: set[str] = set()
        stack = [digest]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(c.digest for c in self.children(current))
        return seen

    def stored_by(self, digest: str) -> dict[str, int | None]:
        """What the registry stores for the manifest ``digest`` itself (not an index's
        platforms): the manifest's own bytes (a blob too) and, for an image, its config
        and layers. Empty for a manifest that was not read."""
        fetched = self.manifests.get(digest)
        if fetched is None:
            return {}
        blobs: dict[str, int | None] = {digest: len(fetched.body)}
        if isinstance(fetched.manifest, ImageManifest):
            config = (fetched.manifest.config,) if fetched.manifest.config else ()
            for blob in config + fetched.manifest.layers:
                blobs[blob.digest] = blob.size
        return blobs


@dataclass
class ImageCensus(ManifestsRead):
    """What a repository's tags reach, without the tags themselves: how many tags point
    at each manifest. What a storage figure needs, held in the memory of its images, not
    of its tags (a repository of 100,000 tags over a few images holds a few entries)."""

    tag_counts: dict[str, int] = field(default_factory=dict)  # manifest digest -> tags on it

    @property
    def tag_total(self) -> int:
        return sum(self.tag_counts.values())

    def targets(self) -> set[str]:
        return set(self.tag_counts)


@dataclass
class RepoScan(ManifestsRead):
    """What ``scan_repository`` found: every tag and where it points, besides what a
    read finds below the tags (lookups by digest are indexed on first use)."""

    tags: dict[str, str] = field(default_factory=dict)  # tag -> digest
    unverified: set[str] = field(default_factory=set)  # taken from records or recent lookups

    @property
    def tag_total(self) -> int:
        return len(self.tags)

    def targets(self) -> set[str]:
        return set(self.tags.values())

    @functools.cached_property
    def _tags_by_digest(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for tag, digest in sorted(self.tags.items()):
            found.setdefault(digest, []).append(tag)
        return found

    @functools.cached_property
    def _holders(self) -> dict[str, list[str]]:
        """Manifest digest -> the tags whose index reaches it (below the tag's own)."""
        found: dict[str, list[str]] = {}
        for tag, digest in sorted(self.tags.items()):
            for below in self.reachable(digest) - {digest}:
                found.setdefault(below, []).append(tag)
        return found

    def tags_on(self, digest: str) -> list[str]:
        return list(self._tags_by_digest.get(digest, ()))

    def subject_of(self, tag: str) -> str | None:
        """For an accessory tag (a signature, attestation or SBOM), the digest of the
        image it belongs to: by cosign's tag convention, or the ``subject`` its manifest
        names (OCI 1.1). None for an image's own tag."""
        by_name = accessory_subject(tag)
        if by_name is not None:
            return by_name
        fetched = self.manifests.get(self.tags.get(tag, ""))
        if fetched is not None and isinstance(fetched.manifest, ImageManifest):
            subject = fetched.manifest.subject
            return subject.digest if subject is not None else None
        return None

    def accessory_of_tagged(self, digest: str, left_by: str | None = None) -> bool:
        """Whether the untagged manifest ``digest`` is a signature, attestation or SBOM
        of an image a tag reaches: by the accessory tag that last pointed at it
        (``left_by``), or by the ``subject`` its manifest names (read into the scan)."""
        subject = accessory_subject(left_by) if left_by else None
        fetched = self.manifests.get(digest)
        if subject is None and fetched is not None and isinstance(fetched.manifest, ImageManifest):
            named = fetched.manifest.subject
            subject = named.digest if named is not None else None
        return subject is not None and subject in self.tagged_manifests()

    def blobs_of(self, digest: str) -> dict[str, int | None]:
        """Blob digest -> size for every config and layer reachable from ``digest``."""
        blobs: dict[str, int | None] = {}
        for manifest_digest in self.reachable(digest):
            fetched = self.manifests.get(manifest_digest)
            if fetched and isinstance(fetched.manifest, ImageManifest):
                for blob in (
                    (fetched.manifest.config,) if fetched.manifest.config else ()
                ) + fetched.manifest.layers:
                    blobs[blob.digest] = blob.size
        return blobs

    def manifests_kept(self, removed_tags: set[str]) -> set[str]:
        """Every manifest still reachable from a tag that is not in ``removed_tags``."""
        kept: set[str] = set()
        for tag, digest in self.tags.items():
            if tag not in removed_tags:
                kept |= self.reachable(digest)
        return kept

    def manifests_removed(self, digests: set[str], removed_tags: set[str]) -> set[str]:
        """The manifests deleting ``digests`` (and ``removed_tags`` with them) leaves
        unreachable from any tag: each digest and the platforms no other tag reaches."""
        reached: set[str] = set()
        for digest in digests:
            reached |= self.reachable(digest)
        return reached - self.manifests_kept(removed_tags)

    def blobs_kept(self, removed_tags: set[str]) -> set[str]:
        """Every blob still used by a manifest reachable from a remaining tag."""
        kept: set[str] = set()
        for digest in self.manifests_kept(removed_tags):
            kept |= set(self.blobs_of(digest)) if digest in self.manifests else set()
        return kept

    def freed_blobs(self, digest: str) -> dict[str, int | None]:
        """The blobs deleting ``digest`` (and every tag on it) leaves unused."""
        kept = self.blobs_kept(set(self.tags_on(digest)))
        return {b: s for b, s in self.blobs_of(digest).items() if b not in kept}

    def tags_using_blob(self, blob: str) -> list[str]:
        """Tags whose image (any platform) uses ``blob`` as config or layer."""
        return sorted(t for t, d in self.tags.items() if blob in self.blobs_of(d))

    def indexes_containing(self, digest: str) -> list[str]:
        """Tags whose index lists ``digest`` as one of its platforms (or deeper)."""
        return list(self._holders.get(digest, ()))


def scan_repository(
    client: RegistryClient,
    repository: str,
    on_tags: Callable[[int], None] | None = None,
    known: Mapping[str, str] | None = None,
    seen_within: float | None = None,
    deadline: float | None = None,
) -> RepoScan:
    """Scan every tag of ``repository`` (concurrently). ``on_tags`` is told how many
    tags there are before the per-tag work starts (for progress). ``known`` (tag ->
    digest, from the caller's records) and the client's lookups of the last
    ``seen_within`` seconds are taken instead of a HEAD; only a scan for reading (a
    preview) should pass them. ``deadline`` (``time.monotonic()``) stops the scan from
    sending anything after it."""
    scan = RepoScan(repository)
    tags = client.tags(repository)
    scan.cut = tags.cut
    if on_tags is not None:
        on_tags(len(tags))
    known = known or {}
    for tag in tags:
        digest = known.get(tag)
        if digest is None and seen_within is not None:
            digest = client.recent_digest(repository, tag, seen_within)
        if digest is not None:
            scan.tags[tag] = digest
            scan.unverified.add(tag)
    found = scan.tags.__setitem__
    _resolve(client, scan, [t for t in tags if t not in scan.unverified], deadline, found)
    _read_manifests(client, scan, deadline)
    stale = sorted(
        t
        for t in scan.unverified
        if isinstance(scan.manifest_errors.get(scan.tags[t]), ManifestNotFoundError)
    )
    if stale:  # out of date: ask the registry where these tags point
        gone = {scan.tags.pop(tag) for tag in stale}
        for digest in gone - set(scan.tags.values()):
            scan.manifest_errors.pop(digest, None)
        scan.unverified -= set(stale)
        _resolve(client, scan, stale, deadline, found)
        _read_manifests(client, scan, deadline)
    return scan


def _before(deadline: float | None, request: Callable[[], T]) -> T | None:
    """``request()``, or None without sending it once ``deadline`` has passed."""
    if deadline is not None and time.monotonic() > deadline:
        return None
    return request()


def census_repository(
    client: RegistryClient, repository: str, deadline: float | None = None
) -> ImageCensus:
    """How many tags point at each manifest of ``repository``, and those manifests read
    (what a storage figure needs): the tags are looked up ``RESOLVE_CHUNK`` at a time
    and not kept, nor remembered by the client, so memory follows the images, not the
    tags."""
    census = ImageCensus(repository)
    tags = client.tags(repository)
    census.cut = tags.cut

    def found(tag: str, digest: str) -> None:
        census.tag_counts[digest] = census.tag_counts.get(digest, 0) + 1

    _resolve(client, census, list(tags), deadline, found, remember=False)
    _read_manifests(client, census, deadline)
    return census


def _resolve(
    client: RegistryClient,
    read: ManifestsRead,
    tags: list[str],
    deadline: float | None,
    found: Callable[[str, str], None],
    remember: bool = True,
) -> None:
    """Look every tag up, ``RESOLVE_CHUNK`` at a time (a repository of 100,000 tags never
    holds 100,000 pending lookups and their answers at once); ``found`` is told where
    each tag points."""
    for at in range(0, len(tags), RESOLVE_CHUNK):
        chunk = tags[at : at + RESOLVE_CHUNK]
        heads = client.map(
            lambda t: _before(
                deadline, lambda: client.head_manifest(read.repository, t, remember=remember)
            ),
            chunk,
        )
        for tag, head in zip(chunk, heads, strict=True):
            if head is None:
                read.unread.add(tag)
            elif isinstance(head, ManifestNotFoundError):
                continue  # removed since the list was read
            elif isinstance(head, RegistryError):
                read.tag_errors[tag] = head
            else:
                found(tag, head.digest)


def _read_manifests(client: RegistryClient, scan: ManifestsRead, deadline: float | None) -> None:
    """Every manifest a tag points at (and an index's children) not read yet, down to
    ``MAX_NESTING`` indexes deep."""
    wanted = sorted(scan.targets() - set(scan.manifests) - set(scan.manifest_errors))
    for _ in range(MAX_NESTING + 1):
        if not wanted:
            return
        cached = {d: m for d in wanted if (m := client.cached_manifest(d)) is not None}
        missing = [d for d in wanted if d not in cached]  # only these need requests
        fetched = client.map(
            lambda d: _before(deadline, lambda: client.get_manifest(scan.repository, d)), missing
        )
        results = {**cached, **dict(zip(missing, fetched, strict=True))}
        next_round: set[str] = set()
        for digest in wanted:
            result = results[digest]
            if result is None:
                scan.unread.add(digest)
                continue
            if isinstance(result, RegistryError):
                scan.manifest_errors[digest] = result
                continue
            scan.manifests[digest] = result
            if isinstance(result.manifest, IndexManifest):
                next_round |= {c.digest for c in result.manifest.manifests}
        wanted = sorted(next_round - set(scan.manifests) - set(scan.manifest_errors))
    for digest in wanted:  # deeper than any image needs: a registry building a chain
        scan.manifest_errors[digest] = RegistryResponseError(
            f"Indexes nested more than {MAX_NESTING} deep in {scan.repository}; not read."
        )
