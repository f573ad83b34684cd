"""Group commit for the event feed: deliveries that arrive together are written in one
transaction by one writer thread, and each request is answered once its events are
stored. The registry sends one event per request, so under a burst this turns hundreds
of commits a second into a few dozen, without answering before the data is durable."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from .feed import EventFeed, IngestResult
from .models import RegistryEvent

log = logging.getLogger(__name__)
MAX_GROUP = 500  # deliveries written together at most


@dataclass
class _Delivery:
    events: list[RegistryEvent]
    now: datetime
    done: threading.Event = field(default_factory=threading.Event)
    new: int = 0
    error: BaseException | None = None


class StorageFailed(RuntimeError):
    """The events could not be stored (the registry will deliver them again)."""


class GroupCommit:
    def __init__(
        self, feed: EventFeed, on_stored: Callable[[IngestResult], None] | None = None
    ) -> None:
        self.feed = feed
        self.on_stored = on_stored
        self.queue: queue.Queue[_Delivery] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self._thread.start()

    def store(self, events: list[RegistryEvent], now: datetime, timeout: float = 10.0) -> int:
        """Store one delivery (with whatever else is waiting); returns how many of its
        events were new. Raises StorageFailed."""
        delivery = _Delivery(events, now)
        self.queue.put(delivery)
        if not delivery.done.wait(timeout):
            raise StorageFailed(f"the events were not stored within {timeout:g} s")
        if delivery.error is not None:
            raise StorageFailed(type(delivery.error).__name__) from delivery.error
        return delivery.new

    def _run(self) -> None:
        while True:
            group = [self.queue.get()]
            while len(group) < MAX_GROUP:
                try:
                    group.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self._write(group)

    def _write(self, group: list[_Delivery]) -> None:
        events = [e for d in group for e in d.events]
        try:
            result = self.feed.ingest(events, max(d.now for d in group))
        except Exception as exc:
            log.exception("storing %d registry events failed", len(events))
            for delivery in group:
                delivery.error = exc
                delivery.done.set()
            return
        unclaimed = set(result.new_ids)
        for delivery in group:
            mine = {e.id for e in delivery.events} & unclaimed
            unclaimed -= mine
            delivery.new = len(mine)
            delivery.done.set()
        if self.on_stored is not None and (
            result.pushes or result.outside_deletions or result.protected_alerts
        ):
            try:
                self.on_stored(result)
            except Exception:
                log.exception("handing on stored registry events failed")
