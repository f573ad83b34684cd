"""The typed records of scheduled cleanups: a policy (what to clean up, by which rules,
when, and where its plans are posted), its schedule, and each run of it (one per slot,
with what it came to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..deletions import RetentionRules


class ScheduleKind(StrEnum):
    EVERY = "every"  # a fixed period, counted from the policy's creation
    CRON = "cron"  # a five-field cron expression, in the policies' time zone


@dataclass(frozen=True)
class Schedule:
    """When a policy runs: every ``every``, or at the times ``cron`` names."""

    kind: ScheduleKind
    every: timedelta | None = None
    cron: str | None = None

    def as_data(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "every": self.every.total_seconds() if self.every else None,
            "cron": self.cron,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Schedule:
        every = data.get("every")
        return cls(
            ScheduleKind(data["kind"]),
            timedelta(seconds=float(every)) if every is not None else None,
            str(data["cron"]) if data.get("cron") else None,
        )


@dataclass(frozen=True)
class Policy:
    """A cleanup that runs itself: ``prune``'s pattern and rules on a schedule, its
    plans posted to ``channel`` for approval, ``author`` counting as their requester."""

    name: str
    pattern: str
    rules: RetentionRules
    schedule: Schedule
    channel: str
    author: str
    created_at: datetime
    reason: str = ""
    paused: bool = False


class RunState(StrEnum):
    """A run's life: ``claimed`` (one replica planning it) -> ``posted`` (a cleanup
    request was made), ``nothing`` (the rules keep everything), ``failed`` (why in its
    detail), or ``skipped`` (the previous run had not finished)."""

    CLAIMED = "claimed"
    POSTED = "posted"
    NOTHING = "nothing"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class PolicyRun:
    """One slot of a policy, run once whatever the number of replicas. ``late_since``:
    the first slot missed while the bot was stopped (the slots since ran as this one);
    ``manual``: asked for with ``policy run``. ``detail`` says why a run failed, as
    facts (a refusal's reason, an error's message)."""

    policy: str
    slot: datetime
    state: RunState
    started_at: datetime
    finished_at: datetime | None = None
    request_id: str | None = None
    detail: str = ""
    late_since: datetime | None = None
    manual: bool = False
