"""Putting back: undo of an executed deletion (its manifests byte for byte, its tags),
and a protected tag moved outside the bot pointed back where it was. The previews, the
execution (idempotent: a resumed one runs again to its end), and the outcome."""

from __future__ import annotations

from dataclasses import replace

from ...registry import ManifestNotFoundError
from ..claims import Claim
from ..models import DeletionRequest, Kind, TagRef
from ..outcomes import Fact, Finding, Outcome, Subject, Verdict
from ..restore import ImageRestore, collect, restore
from ..results import DeletionRefused, Preview, Refusal
from .base import WorkContext


def preview_restore(ctx: WorkContext, deleted_id: str, requester: str, channel: str) -> Preview:
    """Undo: a request to put back what an executed deletion took (its manifests,
    byte for byte, and its tags), through the same approval."""
    ctx.lifecycle.check_configured()
    done = ctx.store.get(deleted_id)
    if done is None:
        raise DeletionRefused(Refusal.REQUEST_GONE, request_id=deleted_id)
    if not done.undoable:
        raise DeletionRefused(Refusal.NOT_UNDOABLE, request_id=deleted_id)
    saved = ctx.undo.load(deleted_id, ctx.clock())
    if not saved:
        raise DeletionRefused(
            Refusal.NOTHING_KEPT, request_id=deleted_id, retention=ctx.undo_retention
        )
    roots = [m for m in saved if m.digest == m.image]
    tags = tuple(sorted({TagRef(m.repository, t) for m in roots for t in m.tags}))
    request = ctx.lifecycle.new_draft(
        kind=Kind.RESTORE,
        repository=done.repository,
        digest=done.digest,
        tag=None,
        reason=f"undo request {deleted_id} ({done.reference})",
        requester=requester,
        channel=channel,
        restore_tags=tags,
        size=None,
        restores=deleted_id,
    )
    return Preview(request)


def preview_put_back(
    ctx: WorkContext,
    repository: str,
    tag: str,
    previous: str,
    current: str,
    requester: str,
    channel: str,
) -> Preview:
    """After a protected tag was moved (from ``previous`` to ``current``) outside the
    bot: a restore request that points it back, through the same approval. The previous
    image must still be in the registry or in the undo store; the tag is moved back only
    from ``current`` (pinned now)."""
    ctx.lifecycle.check_configured()
    try:
        now_at: str | None = ctx.registry.resolve(repository, tag)
    except ManifestNotFoundError:
        now_at = None
    if now_at != current:
        raise DeletionRefused(
            Refusal.MOVED_AGAIN, repository=repository, tag=tag, digest=now_at or ""
        )
    try:
        saved = collect(ctx.registry, repository, previous, (tag,))
    except ManifestNotFoundError:
        saved = [
            replace(m, tags=(tag,) if m.digest == previous else ())
            for m in ctx.undo.copies_of(repository, previous, ctx.clock())
        ]
    if not saved:
        raise DeletionRefused(Refusal.NO_COPY, repository=repository, digest=previous)
    request = ctx.lifecycle.new_draft(
        kind=Kind.RESTORE,
        repository=repository,
        digest=previous,
        tag=tag,
        reason=f"put {repository}:{tag} back from {current} to {previous}",
        requester=requester,
        channel=channel,
        restore_tags=(TagRef(repository, tag),),
        moved_to=current,
        restores_itself=True,
    )
    now = ctx.clock()
    ctx.undo.save(request.id, saved, now, now + ctx.undo_retention)
    return Preview(ctx.lifecycle.get(request.id))


class RestoreWork:
    """What a request deleted, put back; done when at least one image came back (the
    outcome names those that could not). Putting back is idempotent: a resumed run
    simply runs again to its end."""

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx

    def carry_out(self, request: DeletionRequest, claim: Claim) -> Outcome:
        ctx = self.ctx
        assert request.restores is not None
        saved = ctx.undo.load(request.restores, ctx.clock())
        if not saved:
            return Outcome(Verdict.NOT_DONE, Fact(Finding.NOTHING_KEPT))
        results = restore(ctx.registry, saved, request.moved_to, ctx.before_write(request, claim))
        return restore_outcome(results)

    def recover(self, request: DeletionRequest, claim: Claim) -> Outcome:
        return self.carry_out(request, claim)


def restore_outcome(results: list[ImageRestore]) -> Outcome:
    """The outcome of a restore: each image put back with the tags pointed at it
    again, each tag left alone and why, each image that could not be put back and why."""
    back = [r for r in results if r.restored]
    items: list[Subject] = []
    for r in results:
        if r.problem is not None:
            items.append(Subject(r.repository, r.image, r.problem))
            continue
        items.append(Subject(r.repository, r.image, Fact(Finding.IMAGE_RESTORED, tags=r.tags)))
        items += [Subject(r.repository, r.image, why, tags=(tag,)) for tag, why in r.tags_left]
    listed = 40
    return Outcome(
        Verdict.DONE if back else Verdict.NOT_DONE,
        Fact(Finding.RESTORED if back else Finding.NOTHING_RESTORED),
        done=len(back),
        of=len(results),
        items=tuple(items[:listed]),
        more=max(0, len(items) - listed),
    )
