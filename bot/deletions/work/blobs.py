"""Blobs deleted: one blob no tag uses, or the layers a deleted image left that no
remaining tag uses (one request for all of them): the previews that refuse a blob in
use, the execution that checks again, and what an interrupted one left."""

from __future__ import annotations

from collections.abc import Callable

from ...registry import Reference
from ..claims import Claim
from ..execution import delete_blobs, verify_blobs
from ..models import DeletionRequest, Kind, State
from ..outcomes import Outcome
from ..results import DeletionRefused, Preview, Refusal
from .base import WorkContext, or_verified


def preview_blob(
    ctx: WorkContext,
    ref: Reference,
    reason: str,
    requester: str,
    channel: str,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """A blob may be requested only when no manifest reachable from a tag uses it."""
    ctx.lifecycle.check_configured()
    if not ref.digest or ref.tag:
        raise DeletionRefused(Refusal.BLOB_DIGEST_NEEDED, repository=ref.repository)
    size = ctx.registry.blob_size(ref.repository, ref.digest)
    scan = ctx.scan(ref.repository, progress)
    users = scan.tags_using_blob(ref.digest)
    if users:
        raise DeletionRefused(
            Refusal.BLOB_IN_USE, digest=ref.digest, names=tuple(users[:10]), count=len(users)
        )
    request = ctx.lifecycle.new_draft(
        kind=Kind.BLOB,
        repository=ref.repository,
        digest=ref.digest,
        reason=reason,
        requester=requester,
        channel=channel,
        size=size,
        reclaimable=size,
        blobs=((ref.digest, size),),
    )
    return Preview(request)


def preview_unused_layers(
    ctx: WorkContext, deleted_id: str, requester: str, channel: str
) -> Preview:
    """After an image deletion: one request for the layers it left that no remaining
    tag uses (checked again now)."""
    ctx.lifecycle.check_configured()
    done = ctx.lifecycle.get(deleted_id)
    if done.kind != Kind.MANIFEST or done.state != State.DONE:
        raise DeletionRefused(Refusal.NOT_AN_IMAGE_DELETION, request_id=deleted_id)
    scan = ctx.scan(done.repository)
    kept = scan.blobs_kept(set())
    present = ctx.registry.map(
        lambda b: ctx.registry.blob_exists(done.repository, b[0]), done.blobs
    )
    blobs = tuple(
        b
        for b, there in zip(done.blobs, present, strict=True)
        if there is True and b[0] not in kept
    )
    if not blobs:
        raise DeletionRefused(Refusal.NO_UNUSED_LAYERS, request_id=deleted_id)
    size = sum(s for _, s in blobs if s)
    request = ctx.lifecycle.new_draft(
        kind=Kind.BLOBS,
        repository=done.repository,
        digest=done.digest,
        reason=f"unused layers of the deleted {done.reference} (request {done.id})",
        requester=requester,
        channel=channel,
        size=size,
        reclaimable=size,
        blobs=blobs,
    )
    return Preview(request)


class BlobsWork:
    """The request's blobs deleted, after checking again that nothing uses them."""

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx

    def carry_out(self, request: DeletionRequest, claim: Claim) -> Outcome:
        ctx = self.ctx
        before = ctx.before_write(request, claim)
        return or_verified(
            lambda: delete_blobs(ctx.registry, request, before),
            lambda: verify_blobs(ctx.registry, request),
        )

    def recover(self, request: DeletionRequest, claim: Claim) -> Outcome:
        return verify_blobs(self.ctx.registry, request)
