"""The progress watcher: it draws what the snapshot says when it changed, nothing while
there is none, and nothing once stopped (the outcome is drawn after). Events, not
timings, decide what is asserted."""

from __future__ import annotations

import threading

from bot.slack.progress import ProgressWatcher


class Script:
    """What ``read`` gives, one value a read, then the last one again; and the draws."""

    def __init__(self, *reads) -> None:
        self.reads = list(reads)
        self.drawn: list[object] = []
        self.changed = threading.Condition()

    def read(self):
        with self.changed:
            value = self.reads.pop(0) if len(self.reads) > 1 else self.reads[0]
            self.changed.notify_all()
            return value

    def draw(self, value) -> None:
        with self.changed:
            self.drawn.append(value)
            self.changed.notify_all()

    def wait(self, predicate, timeout: float = 10) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout)


def test_each_change_is_drawn_once_and_nothing_while_there_is_no_snapshot():
    script = Script(None, 1, 1, None, 2, 2)
    with ProgressWatcher(script.read, script.draw, interval=0.01):
        script.wait(lambda: len(script.reads) == 1 and len(script.drawn) >= 2)
    assert script.drawn == [1, 2]


def test_nothing_is_drawn_after_stop():
    script = Script(1, 2, 3, 4)
    watcher = ProgressWatcher(script.read, script.draw, interval=0.01)
    with watcher:
        script.wait(lambda: len(script.drawn) >= 1)
    after = list(script.drawn)
    script.reads = [99]  # what a later read would give
    threading.Event().wait(0.1)
    assert script.drawn == after and 99 not in script.drawn


def test_a_draw_that_fails_does_not_end_the_watch():
    script = Script(1, 2)
    failed: list[int] = []

    def draw(value) -> None:
        if not failed:
            failed.append(value)
            raise RuntimeError("Slack said no")
        script.draw(value)

    with ProgressWatcher(script.read, draw, interval=0.01):
        script.wait(lambda: script.drawn == [2])
    assert failed == [1]
