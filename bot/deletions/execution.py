"""Carrying out an approved request against the registry: the checks made just before
(the tag has not moved, the blobs are still unused) and the deletion itself.

Functions of the registry client and the stored request only; no database here. Each
returns the outcome (for people) and a one-line audit detail, or raises ``Abort`` (a
check failed, nothing was changed) or a ``RegistryError``.
"""

from __future__ import annotations

from ..registry import ManifestNotFoundError, RegistryClient, RegistryError
from ..registry.scan import scan_repository
from ..registry.untag import remove_tag
from .models import DeletionRequest, Kind
from .reports import gc_advice


class Abort(Exception):
    """Stop a deletion before anything irreversible; the message is the outcome."""


def check_tag(registry: RegistryClient, request: DeletionRequest) -> None:
    if not request.tag:
        return
    try:
        now_at = registry.resolve(request.repository, request.tag)
    except ManifestNotFoundError:
        return  # the tag is gone; the pinned digest is what was approved
    if now_at != request.digest:
        raise Abort(
            f"Tag moved: {request.target} now points at {now_at}, not the approved "
            f"{request.digest}. Nothing was deleted; request the deletion again if the "
            "new image should go too."
        )


def delete_image(registry: RegistryClient, request: DeletionRequest) -> tuple[str, str]:
    check_tag(registry, request)
    status = registry.delete_manifest(request.repository, request.digest)
    emptied = not registry.tags(request.repository)
    outcome = f"Deleted {request.repository}@{request.digest}. " + gc_advice(
        request.reclaimable, untagged_children=len(request.children), emptied=emptied
    )
    return outcome, (
        f"DELETE {request.repository}@{request.digest}: registry answered HTTP {status}"
    )


def remove_only_tag(registry: RegistryClient, request: DeletionRequest) -> tuple[str, str]:
    assert request.tag is not None
    result = remove_tag(
        registry, request.repository, request.tag, request.digest, list(request.siblings)
    )
    how = (
        "the registry's tag delete"
        if result.method == "tag-delete"
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
    return (
        f"Removed the tag {request.target} only (via {how}).{kept}",
        f"tag {request.tag} removed via {result.method}; siblings verified: "
        f"{', '.join(request.siblings) or 'none'}",
    )


def delete_blobs(registry: RegistryClient, request: DeletionRequest) -> tuple[str, str]:
    blobs = request.blobs or ((request.digest, request.size),)
    if request.kind == Kind.BLOBS:
        # Checked again: a tag pushed since the request may use one of them now.
        kept = scan_repository(registry, request.repository).blobs_kept(set())
        in_use = [b for b, _ in blobs if b in kept]
        if in_use:
            raise Abort(
                f"{len(in_use)} of these blobs are in use again "
                f"({', '.join(in_use[:3])}…); nothing was deleted."
            )
    results = registry.map(lambda b: registry.delete_blob(request.repository, b[0]), blobs)
    failed = [(b, r) for b, r in zip(blobs, results, strict=True) if isinstance(r, RegistryError)]
    done = [b for b, r in zip(blobs, results, strict=True) if not isinstance(r, RegistryError)]
    if failed and not done:
        raise failed[0][1]
    size = sum(s for _, s in done if s)
    outcome = (
        f"Deleted {len(done)} blob{'s' if len(done) != 1 else ''} of "
        f"{request.repository}. " + gc_advice(size)
    )
    if failed:
        outcome += f" {len(failed)} could not be deleted: " + "; ".join(
            f"{b[0]}: {r.message}" for b, r in failed[:3]
        )
    return outcome, f"DELETE of {len(done)} blob(s) accepted, {len(failed)} failed"


def carry_out(registry: RegistryClient, request: DeletionRequest) -> tuple[str, str]:
    """Do what ``request`` asks; returns (outcome, audit detail)."""
    if request.kind == Kind.MANIFEST:
        return delete_image(registry, request)
    if request.kind == Kind.TAG:
        return remove_only_tag(registry, request)
    return delete_blobs(registry, request)
