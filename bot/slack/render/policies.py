"""Cleanup policies in words: a policy saved (with a dry run of its first run), the list
(schedule in words, last run and what it came to, next run, overdue), one policy's
runs, a run asked for now, a run that failed, and why a policy command was refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, Option, StaticSelectElement

from ...deletions import CleanupPreview, DeletionRefused
from ...policies import Policy, PolicyRefusal, PolicyRefused, PolicyRun, RunState, Schedule
from ..buttons import ACTION_EDIT_POLICY, policy_value
from .cleanups import rules_text
from .common import (
    Message,
    code,
    escape,
    fit_lines,
    freed_text,
    mention,
    naming_registry,
    section,
    slack_date,
    truncate,
)
from .limits import MAX_SECTION_TEXT
from .refusals import refusal_text

MAX_LISTED = 40  # policies a list shows (each a line), within a section's limit


def _period(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def schedule_text(schedule: Schedule, zone: ZoneInfo) -> str:
    """The schedule as people read it ("every 6h"; a cron expression explained)."""
    if schedule.every is not None:
        return f"every {_period(schedule.every)}"
    assert schedule.cron is not None
    words = CronSim(schedule.cron, datetime(2026, 1, 1, tzinfo=zone)).explain()
    return f"{words} ({zone.key}; cron {schedule.cron})"


_REFUSALS = {
    PolicyRefusal.BAD_NAME: (
        "A policy's name is lower-case letters, digits, - and _ (at most 48), like nightly-ci."
    ),
    PolicyRefusal.EXISTS: "A policy named {name} exists; remove it first, or choose another name.",
    PolicyRefusal.UNKNOWN: "There is no policy named {name}; see /registry policy list.",
    PolicyRefusal.NOT_APPROVER: (
        "Only approvers (APPROVERS) may add, change or run cleanup policies, and an owner "
        "rule's approvers those within its repositories (`/registry owners`)."
    ),
    PolicyRefusal.PAUSED: "{name} is paused: /registry policy resume {name} first.",
}


def policy_refusal_text(refused: PolicyRefused) -> str:
    return _REFUSALS[refused.reason].format(name=refused.name)


def policy_result_text(run: PolicyRun) -> str:
    """What a run came to, in words."""
    late = f" (late since {slack_date(run.late_since)})" if run.late_since else ""
    match run.state:
        case RunState.POSTED:
            return f"asked for approval: request `{escape(run.request_id or '')}`{late}"
        case RunState.NOTHING:
            return "nothing to delete (the rules keep every tag)"
        case RunState.FAILED:
            return f"failed: {escape(run.detail)}"
        case RunState.SKIPPED:
            return "skipped: the previous run had not finished"
    return "running"


def render_policy_added(
    policy: Policy,
    first: datetime,
    dry: CleanupPreview | DeletionRefused | object | None,
    zone: ZoneInfo,
) -> Message:
    """A policy saved: what it does, when it first runs, and what a run now would
    delete (a dry run, not a run: nothing is requested)."""
    lines = [
        f":calendar: Saved the cleanup policy *{escape(policy.name)}*: "
        f"{code(policy.pattern, 150)} {code(rules_text(policy.rules), 300)}, "
        f"{escape(schedule_text(policy.schedule, zone))}; plans go to <#{policy.channel}> "
        f"for approval. First run: {slack_date(first)}.",
    ]
    if isinstance(dry, CleanupPreview):
        freed = escape(freed_text(dry.request.reclaimable, dry.request.reclaim_basis))
        lines.append(
            f"A run now would ask to delete {dry.images} images ({dry.tags} tags) in "
            f"{sum(1 for p in dry.plans if p.delete)} repositories"
            + (f", freeing {freed}" if freed else "")
            + ". Nothing has been requested."
        )
    elif isinstance(dry, DeletionRefused):
        lines.append(f"A run now: {escape(refusal_text(dry))}")
    else:
        lines.append("A dry run now could not be made (the registry); the policy is saved.")
    text = "\n".join(lines)
    return Message(text=f"Saved the cleanup policy {policy.name}.", blocks=[section(text)])


def render_policy_changed(policy: Policy, next_run: datetime, zone: ZoneInfo) -> Message:
    """A policy changed (in the builder): what it does now, and its next run."""
    text = (
        f":calendar: Changed the cleanup policy *{escape(policy.name)}*: "
        f"{code(policy.pattern, 150)} {code(rules_text(policy.rules), 300)}, "
        f"{escape(schedule_text(policy.schedule, zone))}; plans go to <#{policy.channel}>. "
        f"Next run: {slack_date(next_run)}."
    )
    return Message(text=f"Changed the cleanup policy {policy.name}.", blocks=[section(text)])


def render_policies(
    policies: list[tuple[Policy, list[PolicyRun], datetime, bool]],
    zone: ZoneInfo,
    registry: str | None = None,
) -> Message:
    """``policy list``: each policy, its schedule, last run and next (``registry``: the
    registry they are of, when more than one is served)."""
    if not policies:
        text = "No cleanup policies. Add one with /registry policy add (see /registry help)."
        return Message(text=text, blocks=[section(escape(text))])
    lines = []
    for policy, last, next_run, late in policies[:MAX_LISTED]:
        state = ":double_vertical_bar: paused" if policy.paused else f"next {slack_date(next_run)}"
        overdue = " *overdue*" if late else ""
        ran = f"last: {policy_result_text(last[0])}" if last else "not run yet"
        lines.append(
            f"*{escape(policy.name)}* {code(policy.pattern, 100)} "
            f"{code(rules_text(policy.rules), 150)}, {escape(schedule_text(policy.schedule, zone))}"
            f", to <#{policy.channel}> by {mention(policy.author)}; {ran}; {state}{overdue}"
        )
    head = f"*Cleanup policies* ({len(policies)})\n"
    text = fit_lines(head, lines, MAX_SECTION_TEXT)
    # Edit: a menu of the policies (up to 100: Slack's limit on a menu's options).
    edit = StaticSelectElement(
        action_id=ACTION_EDIT_POLICY,
        placeholder="Edit a policy…",
        options=[
            Option(text=truncate(p.name, 75), value=policy_value(p.name, registry))
            for p, _, _, _ in policies[:100]
        ],
    )
    return naming_registry(
        Message(
            text=f"{len(policies)} cleanup policies",
            blocks=[section(text), ActionsBlock(elements=[edit])],
        ),
        registry,
    )


def render_policy(
    policy: Policy, runs: list[PolicyRun], next_run: datetime, registry: str | None = None
) -> Message:
    """``policy show NAME``: its last runs (``registry``: its registry, when there are
    more)."""
    lines = [
        f"{slack_date(r.slot)}{' (on request)' if r.manual else ''}: {policy_result_text(r)}"
        for r in runs
    ]
    head = (
        f"*{escape(policy.name)}* {code(policy.pattern, 150)} {code(rules_text(policy.rules), 300)}"
        f"; next run {slack_date(next_run)}{' (paused)' if policy.paused else ''}.\n"
    )
    text = fit_lines(head, lines or ["No run yet."], MAX_SECTION_TEXT)
    value = policy_value(policy.name, registry)
    edit = ButtonElement(text="Edit", action_id=ACTION_EDIT_POLICY, value=value)
    return naming_registry(
        Message(
            text=f"Cleanup policy {policy.name}",
            blocks=[section(text), ActionsBlock(elements=[edit])],
        ),
        registry,
    )


def render_run(policy: Policy, run: PolicyRun) -> Message:
    """``policy run NAME``: what the run came to."""
    text = f"Ran *{escape(policy.name)}* now: {policy_result_text(run)}."
    if run.state == RunState.POSTED:
        text += f" The plan is in <#{policy.channel}>."
    return Message(text=f"Ran {policy.name}: {run.state}", blocks=[section(text)])


def render_run_failed(policy: Policy, run: PolicyRun) -> Message:
    """Posted once to the policy's channel when a run fails."""
    said = (
        f"could not run for its slot {slack_date(run.slot)}: {escape(run.detail)}. Its next "
        f"slot runs as usual; `/registry policy run {escape(policy.name)}` tries again now."
    )
    return _notice(policy, ":warning:", said, "failed")


def _notice(policy: Policy, icon: str, said: str, summary: str) -> Message:
    """A note about a policy, posted once to its channel."""
    text = f"{icon} The cleanup policy *{escape(policy.name)}* {said}"
    return Message(text=f"Cleanup policy {policy.name} {summary}", blocks=[section(text)])


def render_run_skipped(policy: Policy, run: PolicyRun) -> Message:
    """A slot that came while the previous run had not finished (planning, or its
    cleanup being carried out)."""
    said = (
        f"skipped its slot {slack_date(run.slot)}: its previous run has not finished. The "
        "next slot runs as usual."
    )
    return _notice(policy, ":fast_forward:", said, "skipped a slot")


def render_overdue(policy: Policy, slot: datetime) -> Message:
    """A policy with no run for two of its slots while the bot was up."""
    said = (
        f"is overdue: its run due {slack_date(slot)} has not happened, and the slot after "
        f"it has passed. Check the bot's log; `/registry policy run {escape(policy.name)}` "
        "runs it now."
    )
    return _notice(policy, ":warning:", said, "is overdue")
