"""A claim's lease as its holder sees it: checked before every write, renewed when
little is left, lost for good once another holder has it; on a scripted clock."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.deletions.claims import Claim, ClaimLost

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Elapsed:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(renew, elapsed, lease=60):
    return Claim("r1", 3, timedelta(seconds=lease), renew, lambda: NOW, elapsed=elapsed)


def test_a_fresh_claim_is_checked_without_a_database_round_trip():
    calls = []
    claim = make(lambda *a: calls.append(a) or True, Elapsed())
    claim.check()
    assert calls == []


def test_with_less_than_a_quarter_of_the_lease_left_the_check_renews_first():
    calls, elapsed = [], Elapsed()
    claim = make(lambda *a: calls.append(a) or True, elapsed)
    elapsed.now += 46  # 14 s of 60 left: under the 15 s margin
    claim.check()
    assert calls == [("r1", 3, NOW, None)] and claim.remaining() == 60


def test_a_holder_that_stalled_past_its_lease_and_was_taken_over_stops():
    elapsed = Elapsed()
    claim = make(lambda *a: False, elapsed)  # the token is no longer this holder's
    elapsed.now += 9 * 60  # paused for nine minutes
    with pytest.raises(ClaimLost, match="taken over"):
        claim.check()
    assert claim.lost
    with pytest.raises(ClaimLost):  # for good, without asking again
        claim.check()


def test_a_holder_that_stalled_but_kept_its_claim_goes_on():
    elapsed = Elapsed()
    claim = make(lambda *a: True, elapsed)  # nobody took over meanwhile
    elapsed.now += 9 * 60
    claim.check()
    assert not claim.lost


def test_a_renewal_the_database_refuses_stops_the_write_without_losing_the_claim():
    elapsed, failing = Elapsed(), [True]

    def renew(*args):
        if failing[0]:
            raise OSError("the database is unreachable")
        return True

    claim = make(renew, elapsed)
    elapsed.now += 50
    with pytest.raises(ClaimLost, match="could not be renewed"):
        claim.check()
    assert not claim.lost
    failing[0] = False  # the database is back before anyone took over
    claim.check()


def test_the_heartbeat_renews_and_stops_when_taken_over():
    renewed = threading.Event()
    answers = iter([True, False])

    def renew(*args):
        renewed.set()
        return next(answers)

    claim = Claim("r1", 1, timedelta(seconds=0.15), renew, lambda: NOW)
    with claim:
        assert renewed.wait(2)
        deadline = datetime.now(UTC) + timedelta(seconds=2)
        while not claim.lost and datetime.now(UTC) < deadline:
            threading.Event().wait(0.02)
    assert claim.lost


def test_reported_progress_goes_out_with_the_next_renewal_and_is_kept_when_it_fails():
    written, failing = [], [True]

    def renew(request_id, token, at, details):
        if failing[0]:
            raise OSError("the database is unreachable")
        written.append(details)
        return True

    claim = make(renew, Elapsed())
    claim.report({"total": 4, "deleted": 1})
    claim.report({"total": 4, "deleted": 2})  # only the latest is written
    with pytest.raises(OSError):
        claim.renew()
    failing[0] = False
    assert claim.renew()
    assert claim.renew()
    assert written == [{"total": 4, "deleted": 2}, None]  # then nothing new to say


def test_the_heartbeat_writes_progress_soon_after_it_is_reported():
    written = threading.Event()
    seen: list[object] = []

    def renew(request_id, token, at, details):
        if details is not None:
            seen.append(details)
            written.set()
        return True

    claim = Claim("r1", 1, timedelta(seconds=600), renew, lambda: NOW)  # renewals: 200 s
    with claim:
        claim.report({"total": 1, "deleted": 1})
        assert written.wait(5)  # well before a renewal would be due
    assert seen == [{"total": 1, "deleted": 1}]
