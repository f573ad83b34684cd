"""A thread-safe LRU cache bounded in bytes, for immutable content (manifests by digest,
image configs). Tags are never put here: they move.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class LRUCache:
    """Least-recently-used cache; each entry is charged ``cost`` (its size in bytes)."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any, cost: int) -> None:
        if cost > self.max_bytes:
            return
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._used -= old[1]
            self._data[key] = (value, cost)
            self._used += cost
            while self._used > self.max_bytes:
                _, (_, evicted) = self._data.popitem(last=False)
                self._used -= evicted

    @property
    def used(self) -> int:
        """Bytes charged to the entries held now."""
        return self._used

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._used = 0
