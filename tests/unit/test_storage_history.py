"""Storage over time below Slack (SQLite and PostgreSQL): a day's snapshot is read by
one process whatever the number claiming it, a stale claim is taken over, a report of
part of the registry is kept but never compared, and the trend says what the
snapshots show (and what they don't go back far enough to show); the report's words."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.database import make_engine
from bot.slack.render.storage import render_storage, sparkline
from bot.storage import RepoStorage, Snapshot, StorageHistory, StorageReport, trend_of
from bot.storage.history import STALE_CLAIM
from testkit.deletions import Clock

T0 = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)


def _clock() -> Clock:
    clock = Clock()
    clock.now = T0
    return clock


def _report(total: int, **shares: int) -> StorageReport:
    repos = [RepoStorage(name.replace("_", "/"), 1, 1, s, s, s) for name, s in shares.items()]
    return StorageReport(repos, total=total, naive=total)


@pytest.fixture
def histories(database_url):
    clock = _clock()
    engine = make_engine(database_url)
    made = [StorageHistory(engine, clock=clock) for _ in range(2)]  # two processes
    made[0].ensure_schema()
    yield made, clock
    engine.dispose()


def test_a_day_is_claimed_once_by_two_processes_at_once(histories):
    (one, two), clock = histories
    claims: list[object] = []
    start = threading.Barrier(2)

    def claim(history):
        start.wait()
        claims.append(history.claim_today())

    threads = [threading.Thread(target=claim, args=(h,)) for h in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claims, key=str) == [T0.date(), None]
    # The claimant died reading: after STALE_CLAIM the day is taken over, once.
    clock.now = T0 + STALE_CLAIM + timedelta(minutes=1)
    assert one.claim_today() == T0.date() and two.claim_today() is None
    assert one.record(_report(1000, team_a=1000))
    assert two.claim_today() is None and not two.record(_report(5, team_a=5))  # done
    assert [s.total for s in two.snapshots()] == [1000]


def test_the_trend_compares_whole_reports_only(histories):
    (history, _), clock = histories
    for days_ago, total, a, b in ((31, 1000, 600, 400), (8, 1500, 1000, 500), (0, 1800, 1200, 600)):
        clock.now = T0 - timedelta(days=days_ago)
        assert history.record(_report(total, team_a=a, team_b=b))
    clock.now = T0 - timedelta(days=1)
    partial = _report(9999, team_a=9999)
    partial = StorageReport(partial.repositories, total=9999, naive=9999, beyond=4)
    history.record(partial)  # a registry past the cap: kept, never compared
    clock.now = T0
    trend = history.trend()
    assert [t for _, t in trend.series] == [1500, 1800]  # 31 days ago is out of the window
    assert trend.change_7 == 300 and trend.change_30 is None  # not that far back yet
    assert trend.growing == [("team/a", 200), ("team/b", 100)]


def test_the_trend_in_words():
    shots = [
        Snapshot(date(2026, 11, 1), 1_000_000_000, {"team/a": 500_000_000}),
        Snapshot(date(2026, 11, 24), 1_500_000_000, {"team/a": 900_000_000}),
        Snapshot(date(2026, 12, 1), 1_400_000_000, {"team/a": 950_000_000}),
    ]
    trend = trend_of(shots)
    assert (trend.change_7, trend.change_30) == (-100_000_000, 400_000_000)
    said = str(render_storage(_report(1_400_000_000, team_a=950_000_000), None, trend).blocks)
    assert "daily since 2026-11-01" in said and "-100.0 MB in 7 days" in said
    assert "+400.0 MB in 30 days" in said and "`team/a` +450.0 MB" in said
    assert sparkline([1, 5, 3]) == "▁█▅" and sparkline([2, 2]) == "▄▄"
    first = str(render_storage(_report(5, team_a=5), None, trend_of(shots[-1:])).blocks)
    assert "history starts today" in first
    assert "Trend" not in str(render_storage(_report(5, team_a=5), "team/*").blocks)
