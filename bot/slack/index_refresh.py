"""The background job that keeps the registry-wide index current from the registry's
events (run where jobs run, only when the events are recorded): every turn, the
repositories pushed to or deleted from since they were read are read again."""

from __future__ import annotations

import logging
import threading

from ..storage import refresh_index
from .context import BotContext
from .loops import every

log = logging.getLogger(__name__)
REFRESH_SECONDS = 30.0  # how often a process looks for repositories to read again


def refresh_turn(ctx: BotContext) -> None:
    """One turn: read the stale repositories again, and log what could not be read."""
    refreshed = refresh_index(ctx.registry, ctx.deletions.index)
    if refreshed.read:
        log.info("index: read %d changed repositories again", len(refreshed.read))
    for repository, why in refreshed.failed.items():
        log.warning("index: could not read %s again: %s", repository, why)


def start_index_refresh(ctx: BotContext, interval: float = REFRESH_SECONDS) -> threading.Thread:
    """A daemon thread reading changed repositories again, every ``interval`` seconds."""
    return every(ctx, refresh_turn, "index-refresh", interval)
