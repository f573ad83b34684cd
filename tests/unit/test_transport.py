"""The registry transport's deadline watchdog (one thread for every request's
deadline): a deadline scheduled after a later one still fires, a cancelled one never
does. Its fair slots: a released slot goes to the longest-waiting request that may take
it, and a wait that runs out leaves the line."""

from __future__ import annotations

import threading
import time

from bot.registry.transport import _FairSlots, _Watchdog


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


def _waiting_for(slots: _FairSlots, key: str, got: list[str], ready: threading.Event):
    def run() -> None:
        ready.set()
        if slots.acquire(key, 10):
            got.append(key)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _until(predicate, timeout: float = 10) -> bool:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.005)
    return True


def test_fair_slots_go_to_the_longest_waiting_request_that_may_take_them():
    slots = _FairSlots(cap=2, limit=3)
    for key in ("a", "a", "b"):
        assert slots.acquire(key, 0)
    assert not slots.acquire("a", 0)  # a is at its cap, and all three slots are held
    got: list[str] = []
    threads = []
    for key in ("a", "c", "d"):  # they queue in this order
        ready = threading.Event()
        threads.append(_waiting_for(slots, key, got, ready))
        assert ready.wait(5)
        queued = len(threads)
        assert _until(lambda: len(slots._waiting) == queued)  # noqa: B023 (waited on here)
    slots.release("b")  # a is still at its cap: the slot goes to c, the next in line
    assert _until(lambda: got == ["c"])
    assert [w.key for w in slots._waiting] == ["a", "d"]
    slots.release("a")  # now a may take it, and a came first
    assert _until(lambda: got == ["c", "a"])
    slots.release("c")
    assert _until(lambda: got == ["c", "a", "d"])
    for thread in threads:
        thread.join(5)
    assert slots._total == 3 and slots._held == {"a": 2, "d": 1}


def test_a_fair_slot_wait_that_runs_out_leaves_the_line():
    slots = _FairSlots(cap=1, limit=1)
    assert slots.acquire("a", 0)
    assert not slots.acquire("b", 0.05)
    assert not slots._waiting  # gone from the line: a release gives it nothing
    slots.release("a")
    assert slots._total == 0 and slots.acquire("b", 0)
