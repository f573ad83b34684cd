"""The progress throttle: at most one draw an interval, the latest of the updates that
came sooner drawn when the interval is up, a final update at once, and nothing after
``close``. Events, not timings, decide what is asserted."""

from __future__ import annotations

import threading

from bot.slack.progress import Throttle


class Drawn:
    def __init__(self) -> None:
        self.updates: list[int] = []
        self.changed = threading.Condition()

    def __call__(self, update: int) -> None:
        with self.changed:
            self.updates.append(update)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10) -> list[int]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.updates) >= count, timeout)
            return list(self.updates)


def test_updates_within_the_interval_are_drawn_once_it_is_up_the_latest_only():
    drawn = Drawn()
    throttle = Throttle(drawn, interval=0.2)
    for update in (1, 2, 3, 4):
        throttle(update)
    assert drawn.wait_for(2) == [1, 4]  # 2 and 3 were overtaken before the interval ended
    throttle.close()


def test_a_final_update_is_drawn_at_once_and_a_waiting_one_never_over_it():
    drawn = Drawn()
    throttle = Throttle(drawn, interval=0.2, final=lambda u: u >= 100)
    throttle(1)
    throttle(2)  # waits for the interval
    throttle(100)
    assert drawn.wait_for(2) == [1, 100]
    throttle(3)  # the final one is drawn; a later ordinary one still waits its turn
    assert drawn.wait_for(3) == [1, 100, 3]
    throttle.close()


def test_nothing_is_drawn_after_close():
    drawn = Drawn()
    throttle = Throttle(drawn, interval=0.2)
    throttle(1)
    throttle(2)  # waiting when the work ends
    throttle.close()
    throttle(3)
    done = threading.Event()
    threading.Timer(0.4, done.set).start()  # well past the interval
    done.wait(5)
    assert drawn.updates == [1]


def test_close_waits_for_a_draw_under_way():
    entered, release = threading.Event(), threading.Event()
    drawn: list[int] = []

    def slow(update: int) -> None:
        entered.set()
        release.wait(5)
        drawn.append(update)

    throttle = Throttle(slow, interval=10)
    drawing = threading.Thread(target=throttle, args=(1,))
    drawing.start()
    assert entered.wait(5)
    closed = threading.Event()
    closer = threading.Thread(target=lambda: (throttle.close(), closed.set()))
    closer.start()
    assert not closed.wait(0.2)  # still drawing
    release.set()
    assert closed.wait(5) and drawn == [1]
    drawing.join(5)
    closer.join(5)
