"""Putting back: undo of an executed deletion (its manifests byte for byte, its tags),
and a protected tag moved outside the bot pointed back where it was. The previews, the
execution (idempotent: a resumed one runs again to its end), and the outcome."""

from __future__ import annotations

from dataclasses import replace

from ...registry import ManifestNotFoundError
from ..claims import Claim
from ..execution import Outcome, Verdict
from ..models import UNDOABLE, DeletionRequest, Kind, State, TagRef
from ..restore import ImageRestore, collect, restore
from ..results import DeletionRefused, Preview
from .base import WorkContext


def preview_restore(ctx: WorkContext, deleted_id: str, requester: str, channel: str) -> Preview:
    """Undo: a request to put back what an executed deletion took (its manifests,
    byte for byte, and its tags), through the same approval."""
    ctx.lifecycle.check_configured()
    done = ctx.store.get(deleted_id)
    if done is None:
        raise DeletionRefused(f"There is no request {deleted_id}; see /registry audit.")
    if done.kind not in UNDOABLE or done.state != State.DELETED:
        raise DeletionRefused(
            f"Request {deleted_id} is not an executed deletion of images or tags, so "
            "there is nothing to put back."
        )
    saved = ctx.undo.load(deleted_id, ctx.clock())
    if not saved:
        raise DeletionRefused(
            f"Nothing of request {deleted_id} is kept any more: what a deletion takes is "
            f"kept for {ctx.undo_retention.days} days (UNDO_RETENTION)."
        )
    roots = [m for m in saved if m.digest == m.image]
    tags = tuple(sorted({TagRef(m.repository, t) for m in roots for t in m.tags}))
    request = ctx.lifecycle.new_draft(
        kind=Kind.RESTORE,
        repository=done.repository,
        digest=done.digest,
        tag=None,
        reason=f"undo request {deleted_id} ({done.target})",
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
            f"{repository}:{tag} has moved again since the alert (it points at "
            f"{now_at or 'nothing'}); look at /registry activity {repository} first."
        )
    try:
        saved = collect(ctx.registry, repository, previous, (tag,))
    except ManifestNotFoundError:
        saved = [
            replace(m, tags=(tag,) if m.digest == previous else ())
            for m in ctx.undo.copies_of(repository, previous, ctx.clock())
        ]
    if not saved:
        raise DeletionRefused(
            f"{repository}@{previous} is no longer in the registry, and the bot kept no "
            "copy of it: it can't be put back."
        )
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
            text = (
                f"Nothing of request {request.restores} is kept any more "
                "(UNDO_RETENTION); nothing was restored."
            )
            return Outcome(Verdict.NOT_DELETED, text, text)
        results = restore(ctx.registry, saved, request.moved_to, ctx.before_write(request, claim))
        return restore_outcome(results)

    def recover(self, request: DeletionRequest, claim: Claim) -> Outcome:
        return self.carry_out(request, claim)


def restore_outcome(results: list[ImageRestore]) -> Outcome:
    """The outcome of a restore, for people and for the audit."""
    back = [r for r in results if r.restored]
    lost = [r for r in results if not r.restored]
    lines = []
    for r in back[:20]:
        tags = f" (tags {', '.join(r.tags)})" if r.tags else " (no tag pointed at it again)"
        lines.append(f"restored {r.repository}@{r.image}{tags}")
        lines += [f"tag {r.repository}:{t} {why}" for t, why in r.tags_left]
    lines += [f"could not restore {r.repository}@{r.image}: {r.problem}" for r in lost[:20]]
    head = f"Restored {len(back)} of {len(results)} image{'s' if len(results) != 1 else ''}."
    text = head + (" " + "; ".join(lines) + "." if lines else "")
    detail = f"restored {len(back)} of {len(results)} images; {len(lost)} could not be restored"
    verdict = Verdict.DELETED if back else Verdict.NOT_DELETED
    return Outcome(verdict, text, detail)
