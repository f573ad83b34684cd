"""Carrying out an approved request against the registry: the checks made just before
(nothing new depends on the pinned digest), the deletion itself, and the check after
it (is it really gone?).

Functions of the registry client and the stored request only; no database here. Each
returns an ``Outcome`` (facts: see ``outcomes``): ``DONE``, ``NOT_DONE`` (a check failed
or the registry refused, nothing was changed) or ``UNKNOWN`` (the registry failed in a
way that may or may not have deleted, and could not be asked afterwards). The ``verify_*`` functions
ask the registry what became of a request whose execution was interrupted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..patterns import Pattern
from ..registry import (
    PLACEHOLDER_ANNOTATION,
    DeleteDisabledError,
    ManifestNotFoundError,
    NotFoundError,
    PermissionDeniedError,
    RegistryClient,
    RegistryError,
    RepoScan,
    WriteHook,
    remove_tag,
    scan_repository,
)
from .models import DeletionRequest, SavedManifest
from .outcomes import Fact, Finding, Outcome, Subject, Verdict
from .own_writes import BeforeWrite, Write, WriteAction
from .restore import collect

log = logging.getLogger(__name__)
# How many of the images or blobs that weren't done an outcome names (the rest counted).
ITEMS_LISTED = 5
# Keeps what is about to be deleted, for undo (the service writes it to its store).
Save = Callable[[list[SavedManifest]], None]


def _nothing(writes: list[Write]) -> None:
    return None


def manifest_hook(repository: str, before_write: BeforeWrite) -> WriteHook:
    """The registry layer's hook for a tag removal's writes, as ``Write``s."""

    def hook(method: str, digest: str, tag: str | None) -> None:
        action = WriteAction.PUSH if method == "PUT" else WriteAction.DELETE
        before_write([Write(repository, digest, action, tag)])

    return hook


class Abort(Exception):
    """Stop a deletion before anything irreversible, with the fact that stopped it."""

    def __init__(
        self, finding: Finding, *, tags: tuple[str, ...] = (), digest: str = "", answer: str = ""
    ) -> None:
        super().__init__(finding.value)
        self.fact = Fact(finding, tags, digest, answer)

    @property
    def outcome(self) -> Outcome:
        return Outcome(Verdict.NOT_DONE, self.fact)


# Refusals that say for certain nothing was deleted.
_DEFINITE_REFUSALS: dict[type[RegistryError], Finding] = {
    DeleteDisabledError: Finding.DELETE_DISABLED,
    PermissionDeniedError: Finding.PERMISSION_DENIED,
}


def failure(exc: RegistryError) -> Fact:
    """A registry call that failed: a refusal that says why (deletes disabled, not
    permitted), or a failure."""
    return Fact(_DEFINITE_REFUSALS.get(type(exc), Finding.REGISTRY_FAILED), answer=exc.message)


def _fresh_scan(registry: RegistryClient, request: DeletionRequest) -> RepoScan:
    """The repository as it is now; a scan that could not see every tag stops the
    deletion, since what it missed might depend on the digest."""
    scan = scan_repository(registry, request.repository)
    if not scan.complete:
        raise Abort(Finding.INCOMPLETE_VIEW, answer=scan.problems())
    return scan


def check_still_safe(
    registry: RegistryClient, request: DeletionRequest, protected: Pattern | None
) -> RepoScan:
    """Before deleting an image: the named tag has not moved, no tag was added to the
    digest since the approvers saw the request, no protected tag points at it, and no
    multi-arch image has taken it as a platform."""
    scan = _fresh_scan(registry, request)
    if request.tag and scan.tags.get(request.tag, request.digest) != request.digest:
        raise Abort(Finding.TAG_MOVED, tags=(request.tag,), digest=scan.tags[request.tag])
    now_on = set(scan.tags_on(request.digest))
    added = tuple(sorted(now_on - set(request.tags_removed)))
    if added:
        raise Abort(Finding.TAGS_ADDED, tags=added)
    hit = tuple(sorted(t for t in now_on if protected is not None and protected.search(t)))
    if hit:
        raise Abort(Finding.PROTECTED, tags=hit)
    holders = tuple(scan.indexes_containing(request.digest))
    if holders:
        raise Abort(Finding.PLATFORM_OF_INDEX, tags=holders)
    return scan


def _manifest_state(registry: RegistryClient, repository: str, digest: str) -> Verdict:
    """Is the manifest gone (DONE), there (NOT_DONE), or can't we tell?"""
    try:
        registry.head_manifest(repository, digest)
    except ManifestNotFoundError:
        return Verdict.DONE
    except RegistryError:
        return Verdict.UNKNOWN
    return Verdict.NOT_DONE


def keep_for_undo(
    registry: RegistryClient, save: Save | None, repository: str, digest: str, tags: list[str]
) -> None:
    """Save the manifests about to be deleted; if that fails, nothing is deleted (a
    deletion is never left without its undo)."""
    if save is None:
        return
    try:
        save(collect(registry, repository, digest, tags))
    except RegistryError as exc:
        raise Abort(Finding.UNDO_COPY_FAILED, answer=exc.message) from None
    except Exception as exc:
        log.exception("could not keep %s@%s for undo", repository, digest)
        raise Abort(Finding.UNDO_COPY_FAILED, answer=type(exc).__name__) from None


@dataclass(frozen=True)
class Deleted:
    """What a manifest DELETE did, checked with a HEAD after it: ``verdict``, what the
    registry answered, and whether the DELETE itself failed."""

    verdict: Verdict
    answer: str  # "HTTP 202", or the error's message
    failed: bool = False


def delete_and_check(
    registry: RegistryClient,
    repository: str,
    digest: str,
    *,
    confirm: bool = True,
    before_write: BeforeWrite = _nothing,
) -> Deleted:
    """DELETE a manifest by digest, then ask whether it is gone: a 500 or a timeout may
    come after the registry deleted, and a 202 may leave it in place (``confirm=False``
    leaves that second check to the caller, who makes it for a whole batch). Raises
    ``Abort`` on a refusal that says for certain nothing was deleted. ``before_write``
    is told just before the DELETE is sent (raising stops it)."""
    before_write([Write(repository, digest, WriteAction.DELETE)])
    try:
        status = registry.delete_manifest(repository, digest)
    except RegistryError as exc:
        definite = _DEFINITE_REFUSALS.get(type(exc))
        if definite is not None:
            raise Abort(definite, answer=exc.message) from None
        return Deleted(_manifest_state(registry, repository, digest), exc.message, failed=True)
    if not confirm:
        return Deleted(Verdict.DONE, f"HTTP {status}")
    verdict = _manifest_state(registry, repository, digest)
    if verdict == Verdict.NOT_DONE:
        raise Abort(Finding.STILL_SERVED, answer=f"HTTP {status}")
    return Deleted(verdict, f"HTTP {status}")


def delete_image(
    registry: RegistryClient,
    request: DeletionRequest,
    protected: Pattern | None,
    save: Save | None = None,
    before_write: BeforeWrite = _nothing,
) -> Outcome:
    scan = check_still_safe(registry, request, protected)
    keep_for_undo(registry, save, request.repository, request.digest, scan.tags_on(request.digest))
    done = delete_and_check(registry, request.repository, request.digest, before_write=before_write)
    children = len(request.children)
    if done.failed and done.verdict == Verdict.NOT_DONE:
        raise Abort(Finding.DELETE_FAILED, answer=done.answer)
    if done.failed and done.verdict == Verdict.UNKNOWN:
        return Outcome(Verdict.UNKNOWN, Fact(Finding.NOT_KNOWN, answer=done.answer))
    finding = Finding.DELETED_DESPITE_ERROR if done.failed else Finding.DELETED
    return Outcome(
        Verdict.DONE,
        Fact(finding, answer=done.answer),
        reclaimable=request.reclaimable,
        untagged_children=children,
        emptied=not done.failed and not (set(scan.tags) - set(request.tags_removed)),
    )


def remove_only_tag(
    registry: RegistryClient,
    request: DeletionRequest,
    save: Save | None = None,
    before_write: BeforeWrite = _nothing,
) -> Outcome:
    assert request.tag is not None
    keep_for_undo(registry, save, request.repository, request.digest, [request.tag])
    result = remove_tag(
        registry,
        request.repository,
        request.tag,
        request.digest,
        list(request.siblings),
        manifest_hook(request.repository, before_write),
    )
    if request.siblings and not result.siblings_intact(request.digest):
        broken = tuple(t for t, d in result.siblings.items() if d != request.digest)
        raise Abort(Finding.SIBLINGS_BROKEN, tags=broken, answer=result.method.value)
    return Outcome(
        Verdict.DONE,
        Fact(Finding.TAG_REMOVED, tags=request.siblings),
        method=result.method.value,
    )


def _blobs(request: DeletionRequest) -> tuple[tuple[str, int | None], ...]:
    return request.blobs or ((request.digest, request.size),)


def delete_blobs(
    registry: RegistryClient, request: DeletionRequest, before_write: BeforeWrite = _nothing
) -> Outcome:
    blobs = _blobs(request)
    # Checked again: an image pushed since the request may use one of them now.
    kept = _fresh_scan(registry, request).blobs_kept(set())
    in_use = tuple(b for b, _ in blobs if b in kept)
    if in_use:
        raise Abort(Finding.BLOBS_IN_USE, tags=in_use)
    before_write([Write(request.repository, b, WriteAction.DELETE) for b, _ in blobs])
    results = registry.map(lambda b: registry.delete_blob(request.repository, b[0]), blobs)
    failed = [(b, r) for b, r in zip(blobs, results, strict=True) if isinstance(r, RegistryError)]
    done = [b for b, r in zip(blobs, results, strict=True) if not isinstance(r, RegistryError)]
    if failed:
        # Failed DELETEs may have deleted all the same: ask.
        there = registry.map(lambda f: registry.blob_exists(request.repository, f[0][0]), failed)
        done += [blob for (blob, _), present in zip(failed, there, strict=True) if present is False]
        failed = [f for f, present in zip(failed, there, strict=True) if present is not False]
    not_deleted = tuple(
        Subject(request.repository, b[0], Fact(Finding.DELETE_FAILED, answer=r.message))
        for b, r in failed
    )
    if failed and not done:
        raise Abort(Finding.DELETE_FAILED, answer=failed[0][1].message)
    return Outcome(
        Verdict.DONE,
        Fact(Finding.BLOBS_DELETED),
        done=len(done),
        of=len(blobs),
        failed=len(failed),
        reclaimable=sum(s for _, s in done if s),
        items=not_deleted[:ITEMS_LISTED],
        more=max(0, len(not_deleted) - ITEMS_LISTED),
    )


def _is_placeholder(registry: RegistryClient, request: DeletionRequest, digest: str) -> bool:
    fetched = registry.get_manifest(request.repository, digest)
    return PLACEHOLDER_ANNOTATION in fetched.manifest.annotations


def _asked(request: DeletionRequest, ask: Callable[[], Outcome]) -> Outcome:
    """What became of a request whose execution was interrupted (a crash, a kill, a
    database failure), as ``ask`` finds it in the registry; UNKNOWN while the registry
    can't say."""
    try:
        return replace(ask(), checked=True)
    except (RegistryError, NotFoundError) as exc:
        return Outcome(Verdict.UNKNOWN, Fact(Finding.CHECK_FAILED, answer=exc.message))


def verify_image(registry: RegistryClient, request: DeletionRequest) -> Outcome:
    """Is the image's digest gone? Changes nothing."""

    def ask() -> Outcome:
        verdict = _manifest_state(registry, request.repository, request.digest)
        if verdict == Verdict.UNKNOWN:
            return Outcome(verdict, Fact(Finding.CHECK_FAILED))
        gone = verdict == Verdict.DONE
        finding = Finding.GONE_ON_CHECK if gone else Finding.STILL_THERE_ON_CHECK
        return Outcome(verdict, Fact(finding))

    return _asked(request, ask)


def verify_tag(
    registry: RegistryClient, request: DeletionRequest, before_write: BeforeWrite = _nothing
) -> Outcome:
    """Is the tag gone? A removal that stopped with the tag on its placeholder is
    finished (the placeholder deleted)."""
    assert request.tag is not None
    tag = request.tag

    def ask() -> Outcome:
        try:
            now_at: str | None = registry.resolve(request.repository, tag)
        except ManifestNotFoundError:
            now_at = None
        if (
            now_at is not None
            and now_at != request.digest
            and _is_placeholder(registry, request, now_at)
        ):
            before_write([Write(request.repository, now_at, WriteAction.DELETE)])
            registry.delete_manifest(request.repository, now_at)
            now_at = None
        if now_at is None:
            return Outcome(Verdict.DONE, Fact(Finding.GONE_ON_CHECK, tags=(tag,)))
        return Outcome(Verdict.NOT_DONE, Fact(Finding.TAG_STILL_SET, tags=(tag,), digest=now_at))

    return _asked(request, ask)


def verify_blobs(registry: RegistryClient, request: DeletionRequest) -> Outcome:
    """How many of the request's blobs are gone? Changes nothing."""

    def ask() -> Outcome:
        blobs = _blobs(request)
        present = registry.map(lambda b: registry.blob_exists(request.repository, b[0]), blobs)
        errors = [p for p in present if isinstance(p, RegistryError)]
        if errors:
            raise errors[0]
        gone = sum(1 for p in present if p is False)
        if not gone:
            return Outcome(
                Verdict.NOT_DONE, Fact(Finding.STILL_THERE_ON_CHECK), done=0, of=len(blobs)
            )
        return Outcome(Verdict.DONE, Fact(Finding.BLOBS_DELETED), done=gone, of=len(blobs))

    return _asked(request, ask)
