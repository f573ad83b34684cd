"""Cleanup by retention rules, against the registry: which repositories a pattern
names, the plan for each (from a full scan, dated by each image's config), the space it
frees, and the deletion of one planned image with the checks made just before it.

Functions of the registry client only; the service stores the plan and its progress.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..patterns import Pattern, glob_pattern
from ..registry import (
    FetchedManifest,
    Image,
    ManifestNotFoundError,
    RegistryClient,
    RegistryError,
    RepoScan,
    describe_digests,
    is_glob,
)
from .execution import Abort, delete_and_check
from .models import CleanupItem, ItemState, SavedManifest
from .outcomes import Fact, Finding, Verdict
from .restore import collect
from .retention import (
    KeptTag,
    NoDate,
    RepoPlan,
    RepoUsage,
    RetentionRules,
    TagFacts,
    plan_repository,
    plan_untagged,
    usable_date,
)


def find_repositories(registry: RegistryClient, pattern: str) -> list[str]:
    """The repositories ``pattern`` names: itself, or the catalog's matches of a glob
    (``*`` and ``?`` within one path segment, ``**`` across them)."""
    if not is_glob(pattern):
        return [pattern]
    wanted = glob_pattern(pattern, segments=True)
    return sorted(r for r in registry.catalog() if wanted.fullmatch(r))


def plan_scan(
    registry: RegistryClient,
    scan: RepoScan,
    rules: RetentionRules,
    now: datetime,
    protected: Pattern | None,
    usage: RepoUsage | None = None,
) -> RepoPlan:
    """The plan for one scanned repository. A tag is dated by its push time when the
    registry's events told it (and it still points where that push put it), else by its
    image's config ``created`` (configs come from the cache that listings share)."""
    digests = sorted(set(scan.tags.values()))
    described = describe_digests(registry, scan.repository, [(None, d) for d in digests])
    dates: dict[str, tuple[datetime | None, NoDate | None]] = {}
    for digest, image in zip(digests, described, strict=True):
        if isinstance(image, Image):
            dates[digest] = usable_date(image.created)
        else:
            dates[digest] = (None, NoDate.UNREADABLE)
    usage = usage or RepoUsage()
    facts = []
    for tag, digest in sorted(scan.tags.items()):
        pushed = usage.pushes.get(tag)
        pulled = usage.pulls.get(digest)
        subject = scan.subject_of(tag)
        if pushed is not None and pushed[0] == digest and pushed[1] is not None:
            facts.append(TagFacts(tag, digest, pushed[1], None, True, pulled, subject))
        else:
            facts.append(TagFacts(tag, digest, *dates[digest], pulled=pulled, subject=subject))
    return plan_repository(
        scan.repository,
        facts,
        rules,
        now,
        protected=protected,
        platforms_of_kept={d: scan.reachable(d) for d in digests},
    )


def plan_untagged_scan(
    registry: RegistryClient,
    scan: RepoScan,
    rules: RetentionRules,
    now: datetime,
    usage: RepoUsage,
) -> tuple[RepoScan, RepoPlan]:
    """An untagged cleanup of one repository: the manifests the events say a push left
    without a tag, that no tag reaches now, that aren't a signature, attestation or SBOM
    of an image a tag reaches (those go with their image), and that the registry still
    has (each read: its size, what it frees and its undo copy need it). Returns the scan
    with those manifests added, and the plan."""
    reachable = scan.tagged_manifests()
    candidates = sorted(d for d in usage.left_untagged if d not in reachable)

    def read(digest: str) -> FetchedManifest | None:
        try:
            return registry.get_manifest(scan.repository, digest)
        except ManifestNotFoundError:
            return None  # deleted already (or garbage-collected)

    there: dict[str, FetchedManifest] = {}
    for digest, result in zip(candidates, registry.map(read, candidates), strict=True):
        if isinstance(result, RegistryError):
            raise result  # a manifest that can't be read can't be sized or kept for undo
        if result is not None:
            there[digest] = result
    scan = replace(scan, manifests={**scan.manifests, **there})
    alone = [d for d in there if not scan.accessory_of_tagged(d, usage.left_by.get(d))]
    plan = plan_untagged(
        scan.repository,
        {d: usage.left_untagged[d] for d in alone},
        usage.pulls,
        rules,
        now,
    )
    return scan, plan


def removed_manifests(scan: RepoScan, plan: RepoPlan) -> set[str]:
    """The manifests the plan leaves unreachable from any tag (the images it deletes
    and their platforms no kept tag reaches)."""
    removed = {t for tags in plan.delete.values() for t in tags}
    return scan.manifests_removed(set(plan.delete), removed)


def plan_items(scan: RepoScan, plan: RepoPlan) -> list[CleanupItem]:
    """The plan as stored: one planned item per image to delete, one kept item per
    image kept (with each kept tag's reason)."""
    items = [
        CleanupItem(
            plan.repository,
            digest,
            tags,
            ItemState.PLANNED,
            sum(s for s in scan.blobs_of(digest).values() if s),
        )
        for digest, tags in sorted(plan.delete.items())
    ]
    kept: dict[str, list[KeptTag]] = {}
    for tag in sorted(plan.kept):
        kept.setdefault(plan.digests[tag], []).append(plan.kept_tag(tag))
    items += [
        CleanupItem(
            plan.repository,
            digest,
            tuple(k.tag for k in tags),
            ItemState.KEPT,
            kept=tuple(tags),
        )
        for digest, tags in sorted(kept.items())
    ]
    return items


def why_not_now(
    scan: RepoScan, item: CleanupItem, protected: Pattern | None
) -> tuple[Fact | None, tuple[str, ...]]:
    """Why a planned image must not be deleted now (None when it may), and the planned
    tags that moved to another image since the preview (never touched)."""
    now_on = set(scan.tags_on(item.digest))
    moved = tuple(t for t in item.tags if t not in now_on)
    added = tuple(sorted(now_on - set(item.tags)))
    if added:
        return Fact(Finding.TAGS_ADDED, tags=added), moved
    if not item.tags:  # an untagged manifest: still without a tag, and no platform
        holders = tuple(scan.indexes_containing(item.digest))
        return (Fact(Finding.PLATFORM_OF_INDEX, tags=holders) if holders else None), ()
    if not now_on:
        return Fact(Finding.TAGS_MOVED, tags=moved), moved
    hit = tuple(sorted(t for t in now_on if protected is not None and protected.search(t)))
    if hit:
        return Fact(Finding.PROTECTED, tags=hit), moved
    holders = tuple(scan.indexes_containing(item.digest))
    if holders:
        return Fact(Finding.PLATFORM_OF_INDEX, tags=holders), moved
    return None, moved


def delete_unconfirmed(registry: RegistryClient, item: CleanupItem) -> tuple[ItemState, Fact]:
    """DELETE one planned image by digest (already checked and kept for undo). A 2xx is
    taken as deleted here and confirmed for the whole batch by ``unconfirmed``; a
    failed DELETE is checked at once with a HEAD (it may have deleted all the same)."""
    try:
        done = delete_and_check(registry, item.repository, item.digest, confirm=False)
    except Abort as exc:
        return ItemState.FAILED, exc.fact
    if done.verdict == Verdict.DONE:
        finding = Finding.DELETED_DESPITE_ERROR if done.failed else Finding.DELETED
        return ItemState.DELETED, Fact(finding, answer=done.answer)
    if done.verdict == Verdict.NOT_DONE:
        return ItemState.FAILED, Fact(Finding.DELETE_FAILED, answer=done.answer)
    return ItemState.FAILED, Fact(Finding.NOT_KNOWN, answer=done.answer)


def unconfirmed(registry: RegistryClient, repository: str, deleted: list[CleanupItem]) -> set[str]:
    """The digests among ``deleted`` that the registry still serves: one tag list, and a
    HEAD only for an image one of whose tags is still listed (a DELETE answered 202
    that left the manifest in place)."""
    try:
        listed = set(registry.tags(repository))
    except RegistryError:
        listed = None  # can't list: ask about each one
    suspects = [i for i in deleted if listed is None or not i.tags or set(i.tags) & listed]
    there = registry.map(lambda i: still_there(registry, i), suspects)
    return {i.digest for i, t in zip(suspects, there, strict=True) if t is not False}


def copies_for_undo(
    registry: RegistryClient, scan: RepoScan, items: list[CleanupItem]
) -> tuple[list[SavedManifest], dict[str, Fact]]:
    """What each image's undo needs (the manifests the scan read: no request unless one
    is missing), and why an image could not be read (it is then not deleted)."""
    saved: list[SavedManifest] = []
    problems: dict[str, Fact] = {}
    for item in items:
        try:
            saved += collect(
                registry, item.repository, item.digest, scan.tags_on(item.digest), scan.manifests
            )
        except RegistryError as exc:
            problems[item.digest] = Fact(Finding.UNDO_COPY_FAILED, answer=exc.message)
    return saved, problems


def still_there(registry: RegistryClient, item: CleanupItem) -> bool | None:
    """After an interruption: is a digest that was being deleted still there? (None:
    the registry can't say.)"""
    try:
        registry.head_manifest(item.repository, item.digest)
    except ManifestNotFoundError:
        return False
    except RegistryError:
        return None
    return True
