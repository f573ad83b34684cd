"""When a policy's runs are due: its slots, from a period counted from its creation or
from a cron expression in the policies' time zone (cronsim parses and iterates them,
daylight-saving changes included), and the latest slot due, with those missed before
it (they run once, as that one)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

from .models import Schedule, ScheduleKind

MIN_PERIOD = timedelta(hours=1)  # no policy runs more often than this
MAX_MISSED = 100_000  # slots looked at to find the latest due (a minute's cron: 69 days)


class ScheduleProblem(StrEnum):
    TOO_OFTEN = "too often"  # a period under MIN_PERIOD (``limit``)
    BAD_CRON = "bad cron"  # not a five-field cron expression (``answer``: cronsim's)
    CRON_TOO_OFTEN = "cron too often"  # its slots come closer than MIN_PERIOD


class ScheduleError(ValueError):
    """A schedule that can't be kept: why, and the facts."""

    def __init__(self, problem: ScheduleProblem, *, answer: str = "") -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.answer = answer
        self.limit = MIN_PERIOD


def every(period: timedelta) -> Schedule:
    if period < MIN_PERIOD:
        raise ScheduleError(ScheduleProblem.TOO_OFTEN)
    return Schedule(ScheduleKind.EVERY, every=period)


def cron(expression: str, zone: ZoneInfo) -> Schedule:
    """A five-field cron expression, checked (and its slots no closer than the minimum
    period, over the next year's first slots)."""
    text = " ".join(expression.split())
    if len(text.split()) != 5:
        raise ScheduleError(ScheduleProblem.BAD_CRON, answer="it needs five fields")
    try:
        slots = CronSim(text, datetime(2026, 1, 1, tzinfo=zone))
        first = [next(slots) for _ in range(50)]
    except (CronSimError, StopIteration) as exc:
        raise ScheduleError(ScheduleProblem.BAD_CRON, answer=str(exc)) from None
    if any(b - a < MIN_PERIOD for a, b in itertools.pairwise(first)):
        raise ScheduleError(ScheduleProblem.CRON_TOO_OFTEN)
    return Schedule(ScheduleKind.CRON, cron=text)


def next_slot(schedule: Schedule, created: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The first slot strictly after ``after`` (in UTC)."""
    if schedule.kind == ScheduleKind.EVERY:
        assert schedule.every is not None
        periods = max(0, int((after - created) / schedule.every) + 1)
        slot = created + periods * schedule.every
        return slot if slot > after else slot + schedule.every
    assert schedule.cron is not None
    return next(CronSim(schedule.cron, after.astimezone(zone))).astimezone(UTC)


@dataclass(frozen=True)
class Due:
    """The latest slot due, and the first slot missed before it (None: none was)."""

    slot: datetime
    late_since: datetime | None = None


def due(
    schedule: Schedule, created: datetime, last: datetime | None, now: datetime, zone: ZoneInfo
) -> Due | None:
    """The slot to run now, if any: the latest slot after ``last`` (the last slot run;
    else the policy's creation) and at or before ``now``; the slots missed before it
    are not run apart."""
    first = next_slot(schedule, created, last or created, zone)
    if first > now:
        return None
    slot = first
    for _ in range(MAX_MISSED):
        following = next_slot(schedule, created, slot, zone)
        if following > now:
            break
        slot = following
    return Due(slot, first if slot != first else None)
