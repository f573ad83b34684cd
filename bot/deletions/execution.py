"""Carrying out an approved request against the registry: the checks made just before
(nothing new depends on the pinned digest), the deletion itself, and the check after
it (is it really gone?).

Functions of the registry client and the stored request only; no database here. Each
returns an ``Outcome``: ``DELETED``, ``NOT_DELETED`` (a check failed or the registry
refused, nothing was changed) or ``UNKNOWN`` (the registry failed in a way that may or
may not have deleted, and could not be asked afterwards). The ``verify_*`` functions
ask the registry what became of a request whose execution was interrupted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..patterns import Pattern
from ..registry import ManifestNotFoundError, NotFoundError, RegistryClient, RegistryError
from ..registry.errors import DeleteDisabledError, PermissionDeniedError
from ..registry.scan import RepoScan, scan_repository
from ..registry.untag import PLACEHOLDER_ANNOTATION, UntagMethod, WriteHook, remove_tag
from .models import DeletionRequest, SavedManifest
from .own_writes import BeforeWrite, Write, WriteAction
from .reports import gc_advice
from .restore import collect

log = logging.getLogger(__name__)
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


class Verdict(StrEnum):
    DELETED = "deleted"
    NOT_DELETED = "not deleted"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Outcome:
    """What happened: the verdict, a sentence for people, and one line for the audit."""

    verdict: Verdict
    text: str
    detail: str


class Abort(Exception):
    """Stop a deletion before anything irreversible; the message is the outcome."""


# Refusals that say for certain nothing was deleted.
_DEFINITE_REFUSALS = (DeleteDisabledError, PermissionDeniedError)


def _fresh_scan(registry: RegistryClient, request: DeletionRequest) -> RepoScan:
    """The repository as it is now; a scan that could not see every tag stops the
    deletion, since what it missed might depend on the digest."""
    scan = scan_repository(registry, request.repository)
    if not scan.complete:
        raise Abort(
            f"Could not see all of {request.repository} ({scan.problems()}), so it can't be "
            "checked that nothing new uses what would be deleted. Nothing was deleted."
        )
    return scan


def check_still_safe(
    registry: RegistryClient, request: DeletionRequest, protected: Pattern | None
) -> RepoScan:
    """Before deleting an image: the named tag has not moved, no tag was added to the
    digest since the approvers saw the request, no protected tag points at it, and no
    multi-arch image has taken it as a platform."""
    scan = _fresh_scan(registry, request)
    if request.tag and scan.tags.get(request.tag, request.digest) != request.digest:
        raise Abort(
            f"Tag moved: {request.target} now points at {scan.tags[request.tag]}, not the "
            f"approved {request.digest}. Nothing was deleted; request the deletion again if "
            "the new image should go too."
        )
    now_on = set(scan.tags_on(request.digest))
    added = sorted(now_on - set(request.tags_removed))
    if added:
        raise Abort(
            f"Since the request, {', '.join(added[:10])} "
            f"{'were' if len(added) > 1 else 'was'} pointed at {request.digest}; the approvers "
            "did not see that. Nothing was deleted; request the deletion again to include "
            f"{'them' if len(added) > 1 else 'it'}."
        )
    hit = sorted(t for t in now_on if protected is not None and protected.search(t))
    if hit:
        raise Abort(
            f"The protected tag{'s' if len(hit) > 1 else ''} {', '.join(hit[:10])} "
            f"point{'' if len(hit) > 1 else 's'} at {request.digest}. Nothing was deleted."
        )
    holders = scan.indexes_containing(request.digest)
    if holders:
        raise Abort(
            f"{request.digest} is now a platform of the multi-arch image tagged "
            f"{', '.join(holders[:10])}; deleting it would break that image. Nothing was "
            "deleted."
        )
    return scan


def _manifest_state(registry: RegistryClient, repository: str, digest: str) -> Verdict:
    """Is the manifest gone (DELETED), there (NOT_DELETED), or can't we tell?"""
    try:
        registry.head_manifest(repository, digest)
    except ManifestNotFoundError:
        return Verdict.DELETED
    except RegistryError:
        return Verdict.UNKNOWN
    return Verdict.NOT_DELETED


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
        raise Abort(
            f"Could not read {repository}@{digest} to keep a copy for undo ({exc.message}). "
            "Nothing was deleted."
        ) from None
    except Exception as exc:
        log.exception("could not keep %s@%s for undo", repository, digest)
        raise Abort(
            f"Could not store a copy of {repository}@{digest} for undo ({type(exc).__name__}). "
            "Nothing was deleted."
        ) from None


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
    target = f"{repository}@{digest}"
    before_write([Write(repository, digest, WriteAction.DELETE)])
    try:
        status = registry.delete_manifest(repository, digest)
    except _DEFINITE_REFUSALS as exc:
        raise Abort(f"{exc} Nothing was deleted.") from None
    except RegistryError as exc:
        return Deleted(_manifest_state(registry, repository, digest), exc.message, failed=True)
    if not confirm:
        return Deleted(Verdict.DELETED, f"HTTP {status}")
    verdict = _manifest_state(registry, repository, digest)
    if verdict == Verdict.NOT_DELETED:
        raise Abort(
            f"The registry answered HTTP {status} to the DELETE, but still serves {target}: "
            "it was not deleted. Check the registry (a cache in front of it?)."
        )
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
    target = f"{request.repository}@{request.digest}"
    done = delete_and_check(registry, request.repository, request.digest, before_write=before_write)
    if done.failed:
        said = f"The DELETE failed ({done.answer})"
        if done.verdict == Verdict.DELETED:
            return Outcome(
                done.verdict,
                f"{said}, but the registry no longer has {target}: it was deleted. "
                + gc_advice(request.reclaimable, untagged_children=len(request.children)),
                f"DELETE {target} failed ({done.answer}); HEAD then found it gone",
            )
        if done.verdict == Verdict.NOT_DELETED:
            raise Abort(f"{said}; the registry still has {target}: nothing was deleted.")
        return Outcome(
            done.verdict,
            f"{said}, and the registry could not be asked afterwards: it is not known "
            f"whether {target} was deleted. The bot checks again until it knows.",
            f"DELETE {target} failed ({done.answer}); HEAD failed too: outcome unknown",
        )
    emptied = not (set(scan.tags) - set(request.tags_removed))
    return Outcome(
        Verdict.DELETED,
        f"Deleted {target}. "
        + gc_advice(request.reclaimable, untagged_children=len(request.children), emptied=emptied),
        f"DELETE {target}: registry answered {done.answer}"
        + ("; gone on HEAD" if done.verdict == Verdict.DELETED else "; HEAD after it failed"),
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
    how = (
        "the registry's tag delete"
        if result.method == UntagMethod.TAG_DELETE
        else "a placeholder manifest, deleted by digest"
    )
    if request.siblings:
        if not result.siblings_intact(request.digest):
            broken = [t for t, d in result.siblings.items() if d != request.digest]
            raise Abort(
                f"Removed {request.target} (via {how}), but these tags no longer "
                f"point at {request.digest}: {', '.join(broken)}. Check them."
            )
        kept = (
            f" The other tags still point at {request.digest}: " + ", ".join(request.siblings) + "."
        )
    else:
        kept = (
            " No other tag points at the image now; garbage collection with "
            "--delete-untagged would remove it."
        )
    return Outcome(
        Verdict.DELETED,
        f"Removed the tag {request.target} only (via {how}).{kept}",
        f"tag {request.tag} removed via {result.method}; siblings verified: "
        f"{', '.join(request.siblings) or 'none'}",
    )


def _blobs(request: DeletionRequest) -> tuple[tuple[str, int | None], ...]:
    return request.blobs or ((request.digest, request.size),)


def delete_blobs(
    registry: RegistryClient, request: DeletionRequest, before_write: BeforeWrite = _nothing
) -> Outcome:
    blobs = _blobs(request)
    # Checked again: an image pushed since the request may use one of them now.
    kept = _fresh_scan(registry, request).blobs_kept(set())
    in_use = [b for b, _ in blobs if b in kept]
    if in_use:
        raise Abort(
            f"{len(in_use)} of these blobs {'are' if len(in_use) > 1 else 'is'} in use again, "
            f"by an image pushed since the request ({', '.join(in_use[:3])}); nothing was "
            "deleted."
        )
    before_write([Write(request.repository, b, WriteAction.DELETE) for b, _ in blobs])
    results = registry.map(lambda b: registry.delete_blob(request.repository, b[0]), blobs)
    failed = [(b, r) for b, r in zip(blobs, results, strict=True) if isinstance(r, RegistryError)]
    done = [b for b, r in zip(blobs, results, strict=True) if not isinstance(r, RegistryError)]
    if failed:
        # Failed DELETEs may have deleted all the same: ask.
        there = registry.map(lambda f: registry.blob_exists(request.repository, f[0][0]), failed)
        done += [blob for (blob, _), present in zip(failed, there, strict=True) if present is False]
        failed = [f for f, present in zip(failed, there, strict=True) if present is not False]
    if failed and not done:
        raise Abort(f"{failed[0][1]} Nothing was deleted.")
    size = sum(s for _, s in done if s)
    text = (
        f"Deleted {len(done)} blob{'s' if len(done) != 1 else ''} of "
        f"{request.repository}. " + gc_advice(size)
    )
    if failed:
        text += f" {len(failed)} could not be deleted: " + "; ".join(
            f"{b[0]}: {r.message}" for b, r in failed[:3]
        )
    return Outcome(
        Verdict.DELETED, text, f"DELETE of {len(done)} blob(s) accepted, {len(failed)} failed"
    )


def _is_placeholder(registry: RegistryClient, request: DeletionRequest, digest: str) -> bool:
    fetched = registry.get_manifest(request.repository, digest)
    return PLACEHOLDER_ANNOTATION in fetched.manifest.annotations


_SETTLED = "Settled after an interrupted execution: "


def _asked(request: DeletionRequest, ask: Callable[[], tuple[Verdict, str]]) -> Outcome:
    """What became of a request whose execution was interrupted (a crash, a kill, a
    database failure), as ``ask`` finds it in the registry; UNKNOWN while the registry
    can't say."""
    try:
        verdict, text = ask()
    except (RegistryError, NotFoundError) as exc:
        return Outcome(
            Verdict.UNKNOWN,
            f"It is not known yet whether {request.target} was deleted: {exc.message} "
            "The bot checks again until it knows.",
            f"check after interruption failed: {exc.message}",
        )
    return Outcome(verdict, _SETTLED + text, _SETTLED + text)


def verify_image(registry: RegistryClient, request: DeletionRequest) -> Outcome:
    """Is the image's digest gone? Changes nothing."""

    def ask() -> tuple[Verdict, str]:
        verdict = _manifest_state(registry, request.repository, request.digest)
        there = "no longer has" if verdict == Verdict.DELETED else "still has"
        return verdict, f"the registry {there} {request.repository}@{request.digest}."

    return _asked(request, ask)


def verify_tag(
    registry: RegistryClient, request: DeletionRequest, before_write: BeforeWrite = _nothing
) -> Outcome:
    """Is the tag gone? A removal that stopped with the tag on its placeholder is
    finished (the placeholder deleted)."""
    assert request.tag is not None
    tag = request.tag

    def ask() -> tuple[Verdict, str]:
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
            return Verdict.DELETED, f"the tag {request.target} is gone."
        return Verdict.NOT_DELETED, f"the tag {request.target} still points at {now_at}."

    return _asked(request, ask)


def verify_blobs(registry: RegistryClient, request: DeletionRequest) -> Outcome:
    """How many of the request's blobs are gone? Changes nothing."""

    def ask() -> tuple[Verdict, str]:
        blobs = _blobs(request)
        present = registry.map(lambda b: registry.blob_exists(request.repository, b[0]), blobs)
        errors = [p for p in present if isinstance(p, RegistryError)]
        if errors:
            raise errors[0]
        gone = sum(1 for p in present if p is False)
        verdict = Verdict.DELETED if gone else Verdict.NOT_DELETED
        return verdict, f"{gone} of the {len(blobs)} blobs are gone from the registry."

    return _asked(request, ask)
