"""Drawing the progress of long work in chat without flooding it: ``Throttle`` passes
on at most one update a second, and the latest of those that came sooner when the
second is up, so a long stage never sits unseen behind the limit."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Throttle(Generic[T]):
    """Calls ``draw`` with at most one update per ``interval`` seconds. An update that
    comes sooner is kept (only the latest) and drawn when the interval is up; a
    ``final`` one is drawn at once. Updates are drawn in the order they came, never an
    older one over a newer one. After ``close`` nothing more is drawn, and a draw under
    way has finished, so what the caller draws next (the outcome) stays on top."""

    def __init__(
        self,
        draw: Callable[[T], None],
        interval: float,
        final: Callable[[T], bool] = lambda _: False,
    ) -> None:
        self._draw = draw
        self.interval = interval
        self._final = final
        self._lock = threading.Lock()  # guards the fields below
        self._drawing = threading.Lock()  # one draw at a time
        self._last = float("-inf")  # when the last draw began
        self._count = 0  # updates so far
        self._drawn = 0  # the number of the newest update drawn
        self._waiting: tuple[int, T] | None = None
        self._timer: threading.Timer | None = None
        self._closed = False

    def __call__(self, update: T) -> None:
        with self._lock:
            if self._closed:
                return
            self._count += 1
            number = self._count
            wait = self._last + self.interval - time.monotonic()
            if wait > 0 and not self._final(update):
                self._waiting = (number, update)
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._when_due)
                    self._timer.daemon = True
                    self._timer.start()
                return
            self._waiting = None
            self._last = time.monotonic()
        self._draw_if_newest(number, update)

    def _when_due(self) -> None:
        with self._lock:
            waiting, self._waiting, self._timer = self._waiting, None, None
            if waiting is None or self._closed:
                return
            self._last = time.monotonic()
        try:
            self._draw_if_newest(*waiting)
        except Exception:  # on a timer's thread: nobody else would hear of it
            log.exception("a delayed progress update could not be drawn")

    def _draw_if_newest(self, number: int, update: T) -> None:
        with self._drawing:
            if self._closed or number < self._drawn:
                return
            self._drawn = number
            self._draw(update)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._waiting = None
            if self._timer is not None:
                self._timer.cancel()
        with self._drawing:
            pass  # a draw under way has finished
