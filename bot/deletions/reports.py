"""The one-line blast radius of a request, as facts for the audit trail: what it
takes with it (tags, platforms, referrers, blobs, bytes) and its rules."""

from __future__ import annotations

from ..registry import human_size
from .models import DeletionRequest, Kind


def blast_radius(request: DeletionRequest) -> str:
    """One line for the audit: what the request takes with it."""
    parts = [f"{request.kind.value} {request.reference}", f"digest {request.digest}"]
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
        parts.append(f"rules {request.rules.summary()}")
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
