"""Who keeps a Home view in this process, and the pace of publishing it: when each
person last opened their Home (those who did lately get it published again when a
request that concerns them changes), the hash of the view last published to them (a
stale update never overwrites a newer one), and a debounce (at most one publish per
person per few seconds; changes meanwhile come in the next one)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

DEBOUNCE_SECONDS = 3.0
OPENED_WITHIN_SECONDS = 24 * 3600.0  # Home views kept current for a day after opening


class HomeViews:
    def __init__(
        self,
        debounce: float = DEBOUNCE_SECONDS,
        within: float = OPENED_WITHIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.debounce = debounce
        self.within = within
        self.clock = clock
        self._lock = threading.Lock()
        self._opened: dict[str, float] = {}
        self._hashes: dict[str, str] = {}
        self._last: dict[str, float] = {}
        self._pending: set[str] = set()
        self._notices: dict[str, str] = {}
        self._publishing: dict[str, threading.Lock] = {}

    def opened(self, user: str, view_hash: str | None = None) -> None:
        """``user`` opened their Home (``view_hash``: of the view Slack shows them)."""
        with self._lock:
            self._opened[user] = self.clock()
            if view_hash:
                self._hashes.setdefault(user, view_hash)

    def recent(self) -> list[str]:
        """Who opened their Home lately."""
        since = self.clock() - self.within
        with self._lock:
            return sorted(u for u, at in self._opened.items() if at >= since)

    def hash_of(self, user: str) -> str | None:
        with self._lock:
            return self._hashes.get(user)

    def published(self, user: str, view_hash: str | None) -> None:
        with self._lock:
            if view_hash:
                self._hashes[user] = view_hash
            else:
                self._hashes.pop(user, None)

    def take_notice(self, user: str) -> str | None:
        with self._lock:
            return self._notices.pop(user, None)

    def schedule(
        self, user: str, publish: Callable[[str], None], notice: str | None = None
    ) -> None:
        """Publish ``user``'s Home (``publish(user)``) now, or once the debounce allows;
        a publish already waiting takes this one's place (it reads the newest state)."""
        with self._lock:
            if notice:
                self._notices[user] = notice
            if user in self._pending:
                return
            self._pending.add(user)
            wait = self._last.get(user, float("-inf")) + self.debounce - self.clock()

        def run() -> None:
            with self._lock:
                self._pending.discard(user)
                self._last[user] = self.clock()
                lock = self._publishing.setdefault(user, threading.Lock())
            with lock:  # one publish per person at a time: hashes follow each other
                publish(user)

        if wait <= 0:
            run()
        else:
            timer = threading.Timer(wait, run)
            timer.daemon = True
            timer.start()
