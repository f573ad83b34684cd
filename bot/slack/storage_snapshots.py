"""The daily storage snapshot: once a day, whichever process claims the day reads the
whole registry's storage (as ``/registry storage`` does) and keeps its figures, so the
report can show the trend. A day already kept by a ``/registry storage`` reply is not
read again."""

from __future__ import annotations

import logging
import threading

from ..storage import storage_report
from .context import BotContext
from .loops import every

log = logging.getLogger(__name__)
# How often a process looks whether today's snapshot is taken (it is read once a day).
SNAPSHOT_CHECK_SECONDS = 600.0


def take_snapshot(ctx: BotContext) -> None:
    """Read and keep today's snapshot, if this process claims the day."""
    day = ctx.history.claim_today()
    if day is None:
        return
    report = storage_report(ctx.registry, None, None, ctx.deletions.index)
    ctx.history.record(report, day)
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
