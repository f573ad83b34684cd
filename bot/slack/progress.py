"""Drawing a run's progress in chat. The run keeps a snapshot of how far it has got with
its heartbeat (``DeletionService.progress``: in the database, readable from any
process); ``ProgressWatcher`` reads it at most once a ``interval``, on a thread of its
own, and draws it when it changed. No Slack call runs on the threads that do the
registry work, and nothing is drawn over an outcome: ``stop`` ends the watch (waiting
for a draw under way) before the outcome is drawn, and a snapshot is only offered while
the request runs."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class ProgressWatcher(Generic[T]):
    """Calls ``draw`` with what ``read`` gives (None: nothing to draw), at most once an
    ``interval``, and only when it changed since the last draw."""

    def __init__(
        self, read: Callable[[], T | None], draw: Callable[[T], None], interval: float = 1.0
    ) -> None:
        self._read = read
        self._draw = draw
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="progress", daemon=True)

    def _watch(self) -> None:
        drawn: T | None = None
        while not self._stop.wait(self._interval):
            try:
                seen = self._read()
                if seen is None or seen == drawn or self._stop.is_set():
                    continue
                self._draw(seen)
                drawn = seen
            except Exception:
                log.exception("drawing progress failed")

    def __enter__(self) -> ProgressWatcher[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """No draw after this returns."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
