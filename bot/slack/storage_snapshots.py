"""The daily storage snapshot: once a day, whichever process claims the day reads the
whole registry's storage (as ``/registry storage`` does) and keeps its figures, so the
report can show the trend; on Mondays it posts the report, with the trend, to
``STORAGE_REPORT_CHANNEL``. A day already kept by a ``/registry storage`` reply is not
read again (and its report not posted)."""

from __future__ import annotations

import logging
import threading

from ..storage import storage_report
from .context import BotContext
from .loops import every
from .render.storage import render_storage
from .storage_replies import gc_now, untagged_of

log = logging.getLogger(__name__)
# How often a process looks whether today's snapshot is taken (it is read once a day).
SNAPSHOT_CHECK_SECONDS = 600.0
REPORT_WEEKDAY = 0  # Monday: the weekly report goes out with that day's snapshot


def take_snapshot(ctx: BotContext) -> None:
    """Read and keep today's snapshot, if this process claims the day."""
    day = ctx.history.claim_today()
    if day is None:
        return
    report = storage_report(ctx.registry, None, None, ctx.deletions.index)
    kept = ctx.history.record(report, day)
    if kept and ctx.storage_report_channel and day.weekday() == REPORT_WEEKDAY:
        untagged, failed = untagged_of(ctx, None)
        message = render_storage(
            report,
            None,
            ctx.history.trend(),
            untagged=untagged,
            untagged_failed=failed,
            gc=gc_now(ctx),
            shareable=False,
        )
        ctx.web.chat_postMessage(channel=ctx.storage_report_channel, **message.to_dict())
    log.info(
        "storage snapshot for %s: %d bytes in %d repositories%s",
        day,
        report.total,
        len(report.repositories),
        "" if not (report.catalog_cut or report.beyond) else " (part of the registry only)",
    )


def start_snapshots(ctx: BotContext, interval: float = SNAPSHOT_CHECK_SECONDS) -> threading.Thread:
    """A daemon thread taking the day's snapshot (a failure is logged and tried again
    once the claim goes stale)."""
    return every(ctx, take_snapshot, "storage-snapshot", interval)
