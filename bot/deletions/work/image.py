"""An image deleted by its digest (with every tag on it), and one tag removed on its own:
the preview that pins the digest and measures the blast radius, the execution with its
checks, and what an interrupted one left (asked of the registry)."""

from __future__ import annotations

from collections.abc import Callable

from ...registry import Image, Reference, RepoScan, artifact_tags_for, describe_digests
from ..claims import Claim
from ..execution import delete_image, remove_only_tag, verify_image, verify_tag
from ..models import DeletionRequest, Kind, PlatformChild
from ..outcomes import Outcome
from ..results import DeletionRefused, Preview, Refusal
from .base import WorkContext, or_verified


def preview(
    ctx: WorkContext,
    ref: Reference,
    reason: str,
    requester: str,
    channel: str,
    *,
    untag: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Preview:
    """Resolve and pin the digest and measure the blast radius: every tag on the
    digest, an index's platform manifests, signatures and other referrers, and the
    space garbage collection could reclaim. Changes nothing in the registry."""
    ctx.lifecycle.check_configured()
    if untag and not ref.tag:
        raise DeletionRefused(Refusal.TAG_NEEDED, repository=ref.repository)
    digest = _resolve(ctx, ref)
    scan = ctx.scan(ref.repository, progress)
    tags = scan.tags_on(digest)
    if ref.tag and ref.tag not in tags:
        tags.append(ref.tag)  # moved between the HEAD and the scan: keep what we saw
    siblings = tuple(t for t in tags if t != ref.tag)
    ctx.check_protected(ref.repository, [ref.tag] if untag and ref.tag else tags)
    if not untag:
        _check_not_a_platform(scan, digest)
    removed = set() if untag else scan.manifests_removed({digest}, set(scan.tags_on(digest)))
    reclaim = ctx.reclaim({ref.repository: removed}) if removed else None
    # The layers and configs it leaves unused (what "delete the unused layers" offers);
    # the figure counts the manifests' own bytes too.
    layers = {b: s for b, s in reclaim.blobs.items() if b not in removed} if reclaim else {}
    described = describe_digests(ctx.registry, ref.repository, [(ref.tag, digest)])[0]
    image = described if isinstance(described, Image) else None
    children = tuple(
        PlatformChild(c.digest, str(c.platform) if c.platform else "platform unknown")
        for c in scan.children(digest)
    )
    request = ctx.lifecycle.new_draft(
        kind=Kind.TAG if untag else Kind.MANIFEST,
        repository=ref.repository,
        tag=ref.tag,
        digest=digest,
        reason=reason,
        requester=requester,
        channel=channel,
        siblings=siblings,
        size=image.size if image else None,
        platforms=tuple(image.platform_names) if image and image.is_index else (),
        children=children,
        referrers=_referrers(ctx, scan, digest),
        reclaimable=reclaim.bytes if reclaim else 0,
        blobs=tuple(sorted(layers.items())),
        reclaim_basis=reclaim.basis if reclaim else None,
    )
    return Preview(request, image)


def _resolve(ctx: WorkContext, ref: Reference) -> str:
    if not ref.tag and not ref.digest:
        raise DeletionRefused(Refusal.TARGET_NEEDED, repository=ref.repository)
    # GET, not HEAD: the digest pinned for deletion is checked against the content
    # (a registry whose Docker-Content-Digest doesn't match the body is refused).
    digest = ctx.registry.get_manifest(ref.repository, ref.identifier).digest
    if ref.digest and digest != ref.digest:
        raise DeletionRefused(
            Refusal.DIGEST_MISMATCH,
            repository=ref.repository,
            tag=ref.tag or "",
            digest=digest,
            other=ref.digest,
        )
    if ref.digest and ref.tag:
        ctx.registry.get_manifest(ref.repository, ref.digest)  # exists, and is that?
    return digest


def _check_not_a_platform(scan: RepoScan, digest: str) -> None:
    holders = scan.indexes_containing(digest)
    if holders:
        raise DeletionRefused(Refusal.PLATFORM_OF_INDEX, digest=digest, names=tuple(holders))


def _referrers(ctx: WorkContext, scan: RepoScan, digest: str) -> tuple[str, ...]:
    found = [f"tag {t}" for t in artifact_tags_for(digest, list(scan.tags))]
    for descriptor in ctx.registry.referrers(scan.repository, digest) or []:
        kind = descriptor.annotations.get("org.opencontainers.image.title") or descriptor.media_type
        found.append(f"{descriptor.digest} ({kind})")
    return tuple(found)


class ImageWork:
    """An image's digest deleted, after checking nothing new depends on it."""

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx

    def carry_out(self, request: DeletionRequest, claim: Claim) -> Outcome:
        ctx = self.ctx
        before = ctx.before_write(request, claim)
        return ctx.forget_if_done(
            request.repository,
            {request.digest},
            or_verified(
                lambda: delete_image(
                    ctx.registry,
                    request,
                    ctx.protected(request.repository),
                    ctx.saver(request),
                    before,
                ),
                lambda: verify_image(ctx.registry, request),
            ),
        )

    def recover(self, request: DeletionRequest, claim: Claim) -> Outcome:
        outcome = verify_image(self.ctx.registry, request)
        return self.ctx.forget_if_done(request.repository, {request.digest}, outcome)


class TagWork:
    """One tag removed, the other tags on its image left as they are."""

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx

    def carry_out(self, request: DeletionRequest, claim: Claim) -> Outcome:
        ctx = self.ctx
        before = ctx.before_write(request, claim)
        return or_verified(
            lambda: remove_only_tag(ctx.registry, request, ctx.saver(request), before),
            lambda: verify_tag(ctx.registry, request, before),
        )

    def recover(self, request: DeletionRequest, claim: Claim) -> Outcome:
        return verify_tag(self.ctx.registry, request, self.ctx.before_write(request, claim))
