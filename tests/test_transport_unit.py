"""The registry transport's deadline watchdog (one thread for every request's
deadline): a deadline scheduled after a later one still fires, a cancelled one never
does."""

from __future__ import annotations

import threading
import time

from bot.registry.transport import _Watchdog


def test_a_sooner_deadline_fires_while_a_later_one_waits():
    watchdog = _Watchdog()
    started, late, soon = threading.Event(), threading.Event(), threading.Event()
    watchdog.schedule(time.monotonic(), started.set)
    assert started.wait(10)  # the thread runs, and now waits for work
    watchdog.schedule(time.monotonic() + 60, late.set)
    time.sleep(0.2)  # ...and now for that deadline
    watchdog.schedule(time.monotonic() + 0.05, soon.set)  # it must wake for this one
    assert soon.wait(10)
    assert not late.is_set()


def test_deadlines_in_order_and_cancelled_ones():
    watchdog = _Watchdog()
    fired: list[int] = []
    done = threading.Event()
    now = time.monotonic()
    first = watchdog.schedule(now + 0.05, lambda: fired.append(1))
    watchdog.schedule(now + 0.10, lambda: fired.append(2))
    watchdog.schedule(now + 0.15, done.set)
    watchdog.cancel(first)
    assert done.wait(10)
    assert fired == [2]
