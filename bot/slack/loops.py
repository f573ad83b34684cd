"""Work that repeats while the process lives (the sweeper, the policies' scheduler): a
daemon thread per kind of work, so one that hangs doesn't hold up the others, and a
failure is logged and tried again at the next turn, never the end of the loop."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from .context import BotContext

log = logging.getLogger(__name__)


def every(
    ctx: BotContext, work: Callable[[BotContext], None], name: str, interval: float
) -> threading.Thread:
    """Run ``work(ctx)`` now and then every ``interval`` seconds, on a thread ``name``."""

    def loop() -> None:
        while True:
            try:
                work(ctx)
            except Exception:
                log.exception("%s failed", name)
            time.sleep(interval)

    thread = threading.Thread(target=loop, name=name, daemon=True)
    thread.start()
    return thread
