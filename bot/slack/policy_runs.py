"""Cleanup policies in Slack: the replies to ``/registry policy ...``, and their runs:
each slot due claimed once (whatever the number of replicas), planned as ``prune``
plans, and posted to the policy's channel as a cleanup request for approval; a run
that fails is said once in that channel. The decisions are the policy service's."""

from __future__ import annotations

import logging
import threading

from slack_sdk.errors import SlackApiError

from ..deletions import DeletionRefused
from ..policies import Policy, PolicyRefused, PolicyRun, RunState, ScheduleError, cron
from .command_table import PolicyAction, PolicyAdd, PolicyCommand
from .context import BotContext
from .deleting import post_audit, post_request, update_request
from .loops import every
from .messages import MessageRole
from .render import Message
from .render.common import naming_registry
from .render.deletions import render_notice
from .render.policies import (
    policy_refusal_text,
    render_overdue,
    render_policies,
    render_policy,
    render_policy_added,
    render_run,
    render_run_failed,
    render_run_skipped,
)
from .render.untagged import render_untagged_unknown

log = logging.getLogger(__name__)
SCHEDULER_SECONDS = 15.0  # how often due slots are looked for (a slot's plan within 60 s)


def add_reply(ctx: BotContext, command: PolicyAdd, user: str, channel: str) -> Message:
    """``policy add``: save it, then show a dry run of its first run and when it is due."""
    if command.rules.untagged and not ctx.events_recorded:
        return render_untagged_unknown()  # its runs would never know of one
    schedule = command.schedule
    if schedule.cron is not None:
        try:
            schedule = cron(schedule.cron, ctx.policies.zone)  # in POLICY_TIMEZONE
        except ScheduleError:
            return render_notice("That --cron expression runs more often than hourly here.")
    try:
        policy = ctx.policies.add(
            command.name,
            command.pattern,
            command.rules,
            schedule,
            command.channel or channel,
            user,
            command.reason,
        )
    except PolicyRefused as exc:
        return render_notice(policy_refusal_text(exc))
    try:
        preview = ctx.deletions.preview_prune(policy.pattern, policy.rules, "", user, channel)
        dry: object = preview
    except DeletionRefused as exc:
        dry = exc
    except Exception as exc:  # the registry: the policy is saved all the same
        log.warning("dry run of policy %s failed: %s", policy.name, type(exc).__name__)
        dry = None
    added = render_policy_added(policy, ctx.policies.next_run(policy), dry, ctx.policies.zone)
    return naming_registry(added, ctx.named)


def list_reply(ctx: BotContext) -> Message:
    policies = ctx.policies.all()
    service = ctx.policies
    return render_policies(
        [(p, service.runs(p.name, 1), service.next_run(p), service.overdue(p)) for p in policies],
        service.zone,
        ctx.named,
    )


def command_reply(ctx: BotContext, command: PolicyCommand, user: str) -> Message:
    """``policy show|run|pause|resume|remove NAME``."""
    service = ctx.policies
    try:
        if command.action == PolicyAction.SHOW:
            policy = service.get(command.name)
            runs, next_run = service.runs(policy.name), service.next_run(policy)
            return render_policy(policy, runs, next_run, ctx.named)
        if command.action == PolicyAction.RUN:
            policy, run = service.claim_now(command.name, user)
            return naming_registry(render_run(policy, run_policy(ctx, policy, run)), ctx.named)
        if command.action == PolicyAction.REMOVE:
            removed = service.remove(command.name, user)
            return render_notice(f"Removed the policy {removed.name}; it won't run again.")
        paused = command.action == PolicyAction.PAUSE
        policy = service.set_paused(command.name, user, paused)
    except PolicyRefused as exc:
        return render_notice(policy_refusal_text(exc))
    return render_notice(
        f"Paused {policy.name}: no run until it is resumed."
        if paused
        else f"Resumed {policy.name}: its next run is at its next slot."
    )


def run_policy(ctx: BotContext, policy: Policy, run: PolicyRun) -> PolicyRun:
    """Plan a claimed run and post its cleanup request (the previous run's request, if
    it still waits for votes, is superseded by it); a run that fails is said once in the
    policy's channel, a slot skipped because the previous run has not finished once in
    that run's thread."""
    if run.state == RunState.SKIPPED:
        _tell(ctx, policy, run)
        return run
    planned = ctx.policies.plan(policy, run)
    if planned.preview is None:
        if planned.run.state == RunState.FAILED:
            _tell(ctx, policy, planned.run)
        return planned.run
    posted = []
    for part in planned.preview.requests:  # one per owner of its repositories
        try:
            posted.append(post_request(ctx, part.id, policy.author))
        except (SlackApiError, DeletionRefused, OSError, TimeoutError) as exc:
            log.error("policy %s: posting its plan failed: %s", policy.name, type(exc).__name__)
            if not posted:
                return ctx.policies.failed(run, f"posting the plan failed: {type(exc).__name__}")
    request = posted[0]
    older = ctx.policies.waiting(policy, run)
    earlier = ctx.deletions.request(older) if older is not None else None
    for waiting in ctx.deletions.batch_of(earlier) if earlier is not None else []:
        closed = ctx.deletions.supersede(waiting.id, request.id)  # those still open
        if closed.events:
            update_request(ctx, closed.request)
            post_audit(ctx, closed.request, closed.events)
    return ctx.policies.posted(run, request.id)


def _tell(ctx: BotContext, policy: Policy, run: PolicyRun) -> None:
    """Say a skipped slot in the thread of the run still under way (its request message
    owns the long work), when it has one; a failure, and a skip with no message yet, in
    the channel."""
    said = render_run_skipped if run.state == RunState.SKIPPED else render_run_failed
    thread = _running_message(ctx, policy) if run.state == RunState.SKIPPED else None
    message = naming_registry(said(policy, run), ctx.named)
    try:
        ctx.web.chat_postMessage(channel=policy.channel, thread_ts=thread, **message.to_dict())
    except SlackApiError as exc:
        log.error(
            "policy %s: could not post its failure: %s", policy.name, exc.response.get("error")
        )


def _running_message(ctx: BotContext, policy: Policy) -> str | None:
    """The ts of the request message of the policy's latest run that posted one, when
    it is in the policy's channel."""
    for earlier in ctx.policies.runs(policy.name, 5):
        if earlier.request_id:
            where = ctx.messages.get(earlier.request_id, MessageRole.REQUEST)
            return where.ts if where is not None and where.channel == policy.channel else None
    return None


def run_due(ctx: BotContext) -> None:
    """Every due slot this process claims, run; runs whose planner died, settled."""
    for run in ctx.policies.settle_stale():
        log.warning("policy %s: its run of %s was interrupted", run.policy, run.slot)
    for policy, run in ctx.policies.claim_due():
        run_policy(ctx, policy, run)


def tell_overdue(ctx: BotContext) -> None:
    """A policy with no run for two of its slots is said once in its channel."""
    for policy, slot in ctx.policies.overdue_to_tell():
        message = naming_registry(render_overdue(policy, slot), ctx.named)
        try:
            ctx.web.chat_postMessage(channel=policy.channel, **message.to_dict())
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.error("policy %s: could not say it is overdue: %s", policy.name, error)


def start_scheduler(ctx: BotContext, interval: float = SCHEDULER_SECONDS) -> list[threading.Thread]:
    """Daemon threads: one running the due slots every ``interval`` seconds (at start
    too: slots missed while the bot was stopped run once, late), and one watching for
    overdue policies (apart, so a run that hangs doesn't silence it)."""

    return [
        every(ctx, run_due, "policies", interval),
        every(ctx, tell_overdue, "policy-watch", interval),
    ]
