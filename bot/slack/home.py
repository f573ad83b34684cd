"""The Home tab, drawn and published: what one person's Home shows is read from the
rooms (``home_facts``), rendered, and sent with ``views.publish`` (debounced per person,
carrying the hash of the view last published so a stale update never overwrites a newer
one). Those who opened their Home lately get it published again when a request that
concerns them (as requester, or as one who may vote on it) changes."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from ..deletions import DeletionRequest, ItemState, Kind, State
from .context import BotContext
from .render.home import HomeFacts, PolicyLine, StorageFacts, render_home

log = logging.getLogger(__name__)
MINE_LISTED = 10


def _radius(ctx: BotContext, request: DeletionRequest) -> tuple[int | None, int | None]:
    """The tags and images a request deletes (None where it isn't known)."""
    match request.kind:
        case Kind.MANIFEST:
            return len(request.siblings) + (1 if request.tag else 0), 1 + len(request.children)
        case Kind.TAG:
            return 1, 0
        case Kind.PRUNE:
            planned = [
                i for i in ctx.deletions.cleanup_items(request.id) if i.state == ItemState.PLANNED
            ]
            return sum(len(i.tags) for i in planned), len(planned)
    return None, None


def home_facts(ctx: BotContext, user: str, notice: str | None = None) -> HomeFacts:
    """What ``user``'s Home shows, read now, from every registry served (each request,
    policy, storage figure and alert naming its registry when there are several)."""
    waiting: list[DeletionRequest] = []
    mine: list[DeletionRequest] = []
    of: dict[str, BotContext] = {}  # each request shown: its registry's context
    lines, storage, alerts = [], [], []
    registries = ctx.every_registry()
    for each in registries:
        deletions, policies = each.deletions, each.policies
        found = deletions.waiting_on(user)
        asked = deletions.requested_by(user, MINE_LISTED)
        waiting += found
        mine += asked
        of.update({r.id: each for r in found + asked})
        for policy in policies.all():
            last = policies.runs(policy.name, 1)
            lines.append(
                PolicyLine(
                    policy,
                    last[0] if last else None,
                    policies.next_run(policy),
                    policies.overdue(policy),
                    each.named,
                    deletions.may_manage_policy(user, policy.pattern),
                )
            )
        shots = each.history.snapshots(30)
        trend = each.history.trend() if shots else None
        storage.append(StorageFacts(shots[-1] if shots else None, trend, each.named))
        if each.events_recorded:
            alerts += [(a, each.named) for a in each.events.alerts()]
    waiting.sort(key=lambda r: r.created_at)
    mine = sorted(mine, key=lambda r: r.created_at, reverse=True)[:MINE_LISTED]
    undo = {}
    for request in mine:
        if request.state == State.DONE:
            until = of[request.id].deletions.undo_until(request)
            if until is not None:
                undo[request.id] = until
    alerts.sort(key=lambda pair: pair[0].at, reverse=True)
    return HomeFacts(
        user=user,
        now=ctx.now(),
        zone=ctx.policies.zone,
        approver=any(each.deletions.approves_anywhere(user) for each in registries),
        waiting=waiting,
        standings={r.id: of[r.id].deletions.standing(r) for r in waiting[:10]},
        mine=mine,
        radius={r.id: _radius(of[r.id], r) for r in waiting[:10]},
        undo=undo,
        policies=lines,
        storage=storage,
        alerts=alerts,
        events_recorded=any(each.events_recorded for each in registries),
        notice=notice,
        registry_of={r: c.serving_name for r, c in of.items()} if ctx.several else {},
    )


def _publish_now(ctx: BotContext, user: str) -> None:
    """Draw ``user``'s Home and publish it (called one at a time per person)."""
    view = render_home(home_facts(ctx, user, ctx.home.take_notice(user)))
    known = ctx.home.hash_of(user)
    try:
        answer = ctx.web.views_publish(user_id=user, view=view, hash=known)
    except SlackApiError as exc:
        if exc.response.get("error") != "hash_conflict":
            raise
        # Published elsewhere since (another replica): this view was just drawn from
        # the newest state, so it goes out over that one.
        answer = ctx.web.views_publish(user_id=user, view=view)
    published = answer.get("view") or {}
    ctx.home.published(user, published.get("hash") if isinstance(published, dict) else None)


def publish_home(ctx: BotContext, user: str, notice: str | None = None) -> None:
    """Publish ``user``'s Home now, or once the debounce allows."""

    def publish(who: str) -> None:
        try:
            _publish_now(ctx, who)
        except Exception:
            log.exception("could not publish the Home of %s", who)

    ctx.home.schedule(user, publish, notice)


def home_opened(ctx: BotContext, user: str, view_hash: str | None) -> None:
    """``app_home_opened`` on the Home tab: remember who, and publish their view."""
    ctx.home.opened(user, view_hash)
    publish_home(ctx, user)


def refresh_homes(ctx: BotContext, request: DeletionRequest) -> None:
    """Publish again the Home of each person who opened it lately and whom ``request``
    concerns: its requester, and those who may vote on it."""
    for user in ctx.home.recent():
        if user == request.requester or ctx.deletions.may_vote(user, request):
            publish_home(ctx, user)
