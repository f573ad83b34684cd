"""Cleanup policies: adding, pausing, resuming and removing them (approvers only,
audited with the rules), finding the slots due, claiming each once, and planning a
run's cleanup through the deletion service (posting it is the front end's). Knows
nothing of Slack: refusals are typed (``PolicyRefused``), a run's result is a
``RunState`` with facts."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..deletions import (
    CleanupPreview,
    DeletionRefused,
    DeletionService,
    Refusal,
    RetentionRules,
    State,
)
from ..registry import RegistryError
from .models import Policy, PolicyRun, RunState, Schedule
from .schedule import due, next_slot
from .store import PolicyStore

log = logging.getLogger(__name__)
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
# A run still "claimed" after this long belongs to a process that died while planning
# (a dry run ends within its limit: 5 minutes).
# A claimed run renews its lease while it plans (every third of it); one not renewed
# within it belongs to a process that died, and is settled by another as interrupted.
RUN_LEASE = timedelta(minutes=2)


class PolicyRefusal(StrEnum):
    BAD_NAME = "bad name"  # name: lower-case letters, digits, - and _, at most 48
    EXISTS = "exists"  # a policy of that name exists
    UNKNOWN = "unknown"  # no policy of that name
    NOT_APPROVER = "not an approver"  # only approvers may add, change or run policies
    PAUSED = "paused"  # a paused policy doesn't run, not even on request


class PolicyRefused(Exception):
    def __init__(self, reason: PolicyRefusal, name: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.name = name


@dataclass(frozen=True)
class Planned:
    """A run claimed and planned: the cleanup to post (None: nothing to delete, or the
    run failed; the run's record says which)."""

    run: PolicyRun
    policy: Policy
    preview: CleanupPreview | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class PolicyService:
    def __init__(
        self,
        store: PolicyStore,
        deletions: DeletionService,
        *,
        zone: ZoneInfo | None = None,
        clock: Callable[[], datetime] = _now,
        lease: timedelta = RUN_LEASE,
    ) -> None:
        self.store = store
        self.lease = lease
        self.deletions = deletions
        self.zone = zone or ZoneInfo("UTC")
        self.clock = clock

    # -- changes, by approvers -----------------------------------------------------------
    def _check_approver(self, user: str, name: str, *patterns: str) -> None:
        """Refused unless ``user`` may manage policies of each of ``patterns``."""
        if not all(self.deletions.may_manage_policy(user, p) for p in patterns):
            raise PolicyRefused(PolicyRefusal.NOT_APPROVER, name)

    def add(
        self,
        name: str,
        pattern: str,
        rules: RetentionRules,
        schedule: Schedule,
        channel: str,
        author: str,
        reason: str = "",
    ) -> Policy:
        """Save a policy; its first run is its first slot from now."""
        self._check_approver(author, name, pattern)
        if not NAME.fullmatch(name):
            raise PolicyRefused(PolicyRefusal.BAD_NAME, name)
        policy = Policy(name, pattern, rules, schedule, channel, author, self.clock(), reason)
        if not self.store.add(policy):
            raise PolicyRefused(PolicyRefusal.EXISTS, name)
        self.deletions.audit_policy_change(author, f"added {_facts(policy)}")
        return policy

    def change(
        self,
        name: str,
        pattern: str,
        rules: RetentionRules,
        schedule: Schedule,
        channel: str,
        user: str,
        reason: str = "",
    ) -> Policy:
        """Change what a policy does (approvers only), audited with the old and the new."""
        old = self.get(name)
        self._check_approver(user, name, old.pattern, pattern)
        new = replace(
            old, pattern=pattern, rules=rules, schedule=schedule, channel=channel, reason=reason
        )
        if not self.store.change(new):
            raise PolicyRefused(PolicyRefusal.UNKNOWN, name)
        self.deletions.audit_policy_change(user, f"changed {_facts(old)} to {_facts(new)}")
        return new

    def get(self, name: str) -> Policy:
        policy = self.store.get(name)
        if policy is None:
            raise PolicyRefused(PolicyRefusal.UNKNOWN, name)
        return policy

    def set_paused(self, name: str, user: str, paused: bool) -> Policy:
        policy = self.get(name)
        self._check_approver(user, name, policy.pattern)
        self.store.set_paused(name, paused)
        what = "paused" if paused else "resumed"
        self.deletions.audit_policy_change(user, f"{what} {_facts(policy)}")
        return replace(policy, paused=paused)

    def remove(self, name: str, user: str) -> Policy:
        policy = self.get(name)
        self._check_approver(user, name, policy.pattern)
        self.store.remove(name)
        self.deletions.audit_policy_change(user, f"removed {_facts(policy)}")
        return policy

    # -- reading -------------------------------------------------------------------------
    def all(self) -> list[Policy]:
        return self.store.all()

    def runs(self, name: str, limit: int = 10) -> list[PolicyRun]:
        return self.store.runs(name, limit)

    def last_slot(self, policy: Policy) -> datetime | None:
        scheduled = self.store.runs(policy.name, 1, manual=False)
        return scheduled[0].slot if scheduled else None

    def next_run(self, policy: Policy) -> datetime:
        """When its next scheduled run is due (it may be past: it is then late)."""
        last = self.last_slot(policy)
        return next_slot(policy.schedule, policy.created_at, last or policy.created_at, self.zone)

    def overdue(self, policy: Policy) -> bool:
        """No run for two of its slots (its due slot and the one after have passed)."""
        if policy.paused:
            return False
        due_at = self.next_run(policy)
        return next_slot(policy.schedule, policy.created_at, due_at, self.zone) <= self.clock()

    def overdue_to_tell(self) -> list[tuple[Policy, datetime]]:
        """The policies overdue now, with the slot they are overdue for, each told once
        (whatever the number of processes asking)."""
        told = []
        for policy in self.store.all():
            if self.overdue(policy):
                slot = self.next_run(policy)
                if self.store.alert_once(policy.name, slot, self.clock()):
                    told.append((policy, slot))
        return told

    # -- runs ----------------------------------------------------------------------------
    def claim_due(self) -> list[tuple[Policy, PolicyRun]]:
        """Every policy whose slot is due, each slot claimed by this call only if no
        other process claimed it (the ones this call claimed are returned). A slot that
        comes while the previous run is still planning or carrying its cleanup out is
        claimed as ``skipped`` (returned too, to be said once)."""
        now = self.clock()
        claimed = []
        for policy in self.store.all():
            if policy.paused:
                continue
            slot = due(policy.schedule, policy.created_at, self.last_slot(policy), now, self.zone)
            if slot is None:
                continue
            busy = self._busy(policy)
            run = PolicyRun(
                policy.name,
                slot.slot,
                RunState.SKIPPED if busy else RunState.CLAIMED,
                now,
                finished_at=now if busy else None,
                late_since=slot.late_since,
            )
            if self.store.claim(run):
                claimed.append((policy, run))
        return claimed

    def _busy(self, policy: Policy) -> bool:
        """The previous run is still planning, or its cleanup is being carried out."""
        last = self.store.runs(policy.name, 1)
        if not last:
            return False
        if last[0].state == RunState.CLAIMED:
            return True
        if last[0].state != RunState.POSTED or not last[0].request_id:
            return False
        request = self.deletions.request(last[0].request_id)
        return request is not None and request.state == State.EXECUTING

    def waiting(self, policy: Policy, run: PolicyRun) -> str | None:
        """The request of the policy's run before ``run``, while it still waits for
        votes (a newer plan supersedes it)."""
        for earlier in self.store.runs(policy.name, 5):
            if earlier.slot == run.slot or earlier.state != RunState.POSTED:
                continue
            request = self.deletions.request(earlier.request_id or "")
            if request is not None and request.state == State.PENDING:
                return request.id
            return None
        return None

    def claim_now(self, name: str, user: str) -> tuple[Policy, PolicyRun]:
        """``policy run NAME``: a run at once, by an approver (its schedule unchanged)."""
        policy = self.get(name)
        self._check_approver(user, name, policy.pattern)
        if policy.paused:
            raise PolicyRefused(PolicyRefusal.PAUSED, name)
        now = self.clock()
        run = PolicyRun(name, now, RunState.CLAIMED, now, manual=True)
        if not self.store.claim(run):  # the same microsecond: cannot happen twice
            raise PolicyRefused(PolicyRefusal.EXISTS, name)
        return policy, run

    def plan(self, policy: Policy, run: PolicyRun) -> Planned:
        """Plan a claimed run's cleanup as ``prune`` does (its author the requester).
        Nothing to delete ends it as ``nothing``; a refusal or a registry error as
        ``failed``, with the reason."""
        try:
            with self._renewing(run):
                preview = self.deletions.preview_prune(
                    policy.pattern,
                    policy.rules,
                    _reason(policy, run),
                    policy.author,
                    policy.channel,
                )
        except DeletionRefused as exc:
            nothing = exc.reason in (Refusal.NOTHING_TO_CLEAN, Refusal.NO_UNTAGGED)
            state = RunState.NOTHING if nothing else RunState.FAILED
            self._finish(run, state, detail=exc.reason.value)
            return Planned(self._get_run(run, state, exc.reason.value), policy)
        except RegistryError as exc:
            self._finish(run, RunState.FAILED, detail=exc.message)
            return Planned(self._get_run(run, RunState.FAILED, exc.message), policy)
        return Planned(run, policy, preview)

    def posted(self, run: PolicyRun, request_id: str) -> PolicyRun:
        self._finish(run, RunState.POSTED, request_id=request_id)
        return replace(run, state=RunState.POSTED, request_id=request_id, finished_at=self.clock())

    def failed(self, run: PolicyRun, detail: str) -> PolicyRun:
        self._finish(run, RunState.FAILED, detail=detail)
        return self._get_run(run, RunState.FAILED, detail)

    @contextlib.contextmanager
    def _renewing(self, run: PolicyRun) -> Iterator[None]:
        """Renew the run's lease every third of it while the block runs."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.lease.total_seconds() / 3):
                try:
                    self.store.renew(run.policy, run.slot, self.clock())
                except Exception:  # the database: the lease may lapse, and is settled
                    log.warning("could not renew the run of %s", run.policy, exc_info=True)

        thread = threading.Thread(target=renew, name=f"lease-{run.policy}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def settle_stale(self) -> list[PolicyRun]:
        """Runs whose process died while planning: failed (the next slot runs as usual)."""
        settled = []
        for run in self.store.stale(self.clock() - self.lease):
            if self.store.finish(
                run.policy, run.slot, RunState.FAILED, self.clock(), detail="interrupted"
            ):
                settled.append(replace(run, state=RunState.FAILED, detail="interrupted"))
        return settled

    def _finish(
        self, run: PolicyRun, state: RunState, *, request_id: str | None = None, detail: str = ""
    ) -> None:
        self.store.finish(
            run.policy, run.slot, state, self.clock(), request_id=request_id, detail=detail
        )

    def _get_run(self, run: PolicyRun, state: RunState, detail: str) -> PolicyRun:
        return replace(run, state=state, detail=detail, finished_at=self.clock())


def _facts(policy: Policy) -> str:
    """A policy as facts for the audit trail."""
    schedule = (
        f"every {policy.schedule.every}"
        if policy.schedule.every
        else f"cron {policy.schedule.cron}"
    )
    return (
        f"{policy.name}: {policy.pattern}; rules {policy.rules.summary()}; {schedule}; "
        f"channel {policy.channel}"
    )


def _reason(policy: Policy, run: PolicyRun) -> str:
    """The cleanup request's reason: the policy's, and which run."""
    when = "run on request" if run.manual else f"slot {run.slot:%Y-%m-%d %H:%M} UTC"
    said = f"policy {policy.name}, {when}"
    if run.late_since:
        said += f", late since {run.late_since:%Y-%m-%d %H:%M} UTC"
    return f"{said}: {policy.reason}" if policy.reason else said
