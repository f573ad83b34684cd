"""Words for people: garbage-collection advice and the one-line blast radius of a
request (for the audit trail)."""

from __future__ import annotations

from ..registry.units import human_size
from .models import DeletionRequest, Kind

GC_REMINDER = (
    "Disk space comes back only after the registry's garbage collection: run "
    "`registry garbage-collect /etc/docker/registry/config.yml` while the registry is "
    "read-only or stopped."
)


def gc_advice(reclaimable: int | None, *, untagged_children: int = 0, emptied: bool = False) -> str:
    """What garbage collection can give back, and how to run it."""
    text = (
        f"Garbage collection can reclaim about {human_size(reclaimable)}. " if reclaimable else ""
    )
    text += GC_REMINDER
    if untagged_children:
        text += (
            f" The image's {untagged_children} platform manifests are now untagged: add "
            "--delete-untagged to remove them too."
        )
    if emptied:
        text += (
            " The repository has no tags left; it stays in the catalog until its folder "
            "is removed from the registry's storage (docker/registry/v2/repositories/…)."
        )
    return text


def blast_radius(request: DeletionRequest) -> str:
    """One line for the audit: what the request takes with it."""
    parts = [f"{request.kind.value} {request.target}", f"digest {request.digest}"]
    if request.kind == Kind.TAG:
        parts.append(
            f"keeps tags {', '.join(request.siblings)}"
            if request.siblings
            else "no other tag on the image"
        )
    elif request.siblings:
        parts.append(f"also removes tags {', '.join(request.siblings)}")
    if request.restore_tags:
        parts.append(f"points back tags {', '.join(map(str, request.restore_tags))}")
    if request.rules is not None:
        parts.append(f"rules {request.rules.describe()}")
    if request.children:
        parts.append(f"{len(request.children)} platform manifests become untagged")
    if request.referrers:
        parts.append(f"referred to by {', '.join(request.referrers)}")
    if request.kind == Kind.BLOBS:
        parts.append(f"{len(request.blobs)} blobs")
    if request.reclaimable:
        parts.append(f"frees about {human_size(request.reclaimable)}")
    if request.reason:
        parts.append(f"reason: {request.reason}")
    return ", ".join(parts)
