"""``/registry storage``'s reply and its **Share in channel**: the report (read
several repositories at once, unchanged ones from the index), the day's snapshot kept
when it is the whole registry's, and the report posted for the channel when asked
(read again then: what the channel sees is current, and names who shared it)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..registry import RegistryError
from ..storage import REUSE_WITHIN, UntaggedReport, find_untagged, storage_report
from .buttons import StorageShare
from .context import BotContext
from .render import Message, render_error
from .render.storage import gc_text, render_storage
from .shares import post_once

log = logging.getLogger(__name__)


def storage_reply(
    ctx: BotContext,
    pattern: str | None,
    progress: Callable[[int], None] | None = None,
    shared_by: str | None = None,
    page: int = 0,
) -> Message:
    """The report of ``pattern`` (None: the whole registry, with its trend, and the
    day's snapshot kept), its ``page`` of repositories. ``shared_by``: for the channel,
    naming who shared it (no buttons)."""
    try:
        report = storage_report(
            ctx.registry,
            pattern,
            progress,
            ctx.deletions.index,
            REUSE_WITHIN,
            ctx.events.last_pushes() if ctx.events_recorded else None,
        )
    except RegistryError as exc:
        return render_error(exc, "reading the registry's storage")
    trend = None
    if pattern is None:
        ctx.history.record(report)  # the day's snapshot, when it has none yet
        trend = ctx.history.trend()
    untagged, failed = untagged_of(ctx, pattern)
    return render_storage(
        report,
        pattern,
        trend,
        untagged=untagged,
        untagged_failed=failed,
        gc=gc_now(ctx) if pattern is None else None,
        shared_by=shared_by,
        page=page,
        registry=ctx.named,
    )


def gc_now(ctx: BotContext) -> str:
    """What garbage collection would give back now, from the bot's own deletions kept
    for undo (UNDO_RETENTION): no collection since can be known."""
    since = ctx.now() - ctx.deletions.undo_retention
    freed, deletions = ctx.deletions.freed_since(since)
    return gc_text(freed, deletions, since)


def untagged_of(ctx: BotContext, pattern: str | None) -> tuple[UntaggedReport | None, str | None]:
    """The untagged images the registry's events made known (None when they aren't
    recorded), or why they could not be read now."""
    if not ctx.events_recorded:
        return None, None
    try:
        found = find_untagged(
            ctx.registry, ctx.events, pattern, ctx.now(), index=ctx.deletions.index
        )
    except RegistryError as exc:
        return None, exc.message
    return found, None


def share_storage(ctx: BotContext, value: str, user: str, response_url: str, channel: str) -> None:
    """Share in channel: the report read again and posted where the button was."""
    try:
        share = StorageShare.decode(value)
    except ValueError:
        log.warning("ignored a share button with a malformed value")
        return
    ctx = ctx.serving(share.registry)
    post_once(
        ctx,
        (user, value),
        lambda: storage_reply(ctx, share.pattern, shared_by=user),
        channel,
        response_url,
        "the storage report",
    )
