"""Cleanup policies: retention cleanups on a schedule that ask before they delete (each
run posts a cleanup request through the same approval). Knows nothing of Slack; builds
on the deletion room's public API."""

from .models import Policy, PolicyRun, RunState, Schedule, ScheduleKind
from .schedule import MIN_PERIOD, ScheduleError, ScheduleProblem, cron, every, next_slot
from .service import Planned, PolicyRefusal, PolicyRefused, PolicyService
from .store import PolicyStore

__all__ = [
    "MIN_PERIOD",
    "Planned",
    "Policy",
    "PolicyRefusal",
    "PolicyRefused",
    "PolicyRun",
    "PolicyService",
    "PolicyStore",
    "RunState",
    "Schedule",
    "ScheduleError",
    "ScheduleKind",
    "ScheduleProblem",
    "cron",
    "every",
    "next_slot",
]
