"""The cleanup builder's life: opened by ``/registry prune`` alone or the **Clean up
images** shortcut (a database-free ``views.open``, within the trigger's 3 s); Preview
draws prune's own dry run into the modal (``views.update``, with the view's hash); Request
cleanup plans it again and posts the request, as ``prune`` then Request cleanup would.
The fields are checked as ``prune`` checks its options, each error on its own field."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from ..deletions import DeletionRefused, RetentionRules
from ..policies import PolicyRefusal, PolicyRefused, Schedule, ScheduleError, cron
from ..registry import RegistryError
from . import deleting, policy_runs
from .cleanup_words import (
    UsageError,
    cron_schedule,
    every_schedule,
    prune_pattern,
    rules_of,
)
from .command_table import PolicyAdd, Prune
from .context import BotContext
from .jobs import BuilderClick, BuilderOpen
from .render import Message, render_error
from .render.builder import (
    BLOCK_OF_FLAG,
    CHANNEL_BLOCK,
    EVERY_BLOCK,
    NAME_BLOCK,
    PATTERN_BLOCK,
    BuilderFields,
    BuilderKind,
    BuilderPlace,
    render_builder,
)
from .render.cleanups import duration_text, rules_values
from .render.deletions import render_notice
from .render.policies import policy_refusal_text, render_policy_changed
from .render.refusals import refusal_text
from .render.untagged import render_untagged_unknown

log = logging.getLogger(__name__)
USAGE = "the cleanup builder"


def open_builder(ctx: BotContext, opening: BuilderOpen) -> None:
    """Open the builder on the click's (or command's) trigger: for a policy to change,
    with what it does now (a database read)."""
    kind = BuilderKind.POLICY if opening.policy is not None else BuilderKind.CLEANUP
    place = BuilderPlace(
        opening.channel, opening.response_url, kind, opening.policy or "", ctx.named or ""
    )
    fields = None
    if opening.policy is not None and not ctx.deletions.approves_anywhere(opening.user):
        refused = PolicyRefused(PolicyRefusal.NOT_APPROVER, opening.policy)
        if opening.response_url:  # (from the Home, Edit is shown to approvers only)
            ctx.responder.send(opening.response_url, render_notice(policy_refusal_text(refused)))
        return
    if opening.policy:
        try:
            policy = ctx.policies.get(opening.policy)
            if not ctx.deletions.may_manage_policy(opening.user, policy.pattern):
                raise PolicyRefused(PolicyRefusal.NOT_APPROVER, opening.policy)
        except PolicyRefused as exc:
            if opening.response_url:
                ctx.responder.send(opening.response_url, render_notice(policy_refusal_text(exc)))
            return
        schedule = policy.schedule
        fields = BuilderFields(
            policy.pattern,
            rules_values(policy.rules),
            policy.reason,
            policy.channel,
            every=duration_text(schedule.every) if schedule.every else "",
            cron=schedule.cron or "",
        )
    try:
        view = render_builder(place, fields)
        ctx.web.views_open(trigger_id=opening.trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("the cleanup builder did not open: %s", exc.response.get("error"))
        if opening.response_url:
            ctx.responder.send(
                opening.response_url,
                render_notice("Slack did not open the cleanup builder in time; try again."),
            )


def check(fields: BuilderFields, place: BuilderPlace) -> tuple[str, RetentionRules, dict[str, str]]:
    """The pattern and rules the fields give, and the errors by field (block ID)."""
    errors: dict[str, str] = {}
    pattern = ""
    rules = RetentionRules()
    if not fields.pattern:
        errors[PATTERN_BLOCK] = "Pick the repositories (or type a glob and pick it)."
    else:
        try:
            pattern = prune_pattern(fields.pattern, USAGE)
        except UsageError as exc:
            errors[PATTERN_BLOCK] = exc.message
    try:
        rules = rules_of(fields.values, USAGE)
    except UsageError as exc:
        errors[BLOCK_OF_FLAG.get(exc.flag or "", "keep")] = exc.message
    if not place.channel and not fields.channel:
        errors[CHANNEL_BLOCK] = "Pick the channel the request is posted in, for its approvers."
    if place.kind == BuilderKind.POLICY:
        if not place.policy and not fields.name:
            errors[NAME_BLOCK] = "Name the policy (letters, digits and dashes)."
        try:
            policy_schedule(fields)
        except UsageError as exc:
            errors[BLOCK_OF_FLAG.get(exc.flag or "", EVERY_BLOCK)] = exc.message
    return pattern, rules, errors


def policy_schedule(fields: BuilderFields) -> Schedule:
    """The schedule the builder's fields give (one of a period or a cron expression)."""
    if fields.every and fields.cron:
        raise UsageError("Give one schedule: every, or a cron expression.", USAGE, "--every")
    if fields.cron:
        return cron_schedule(fields.cron, USAGE)
    if not fields.every:
        raise UsageError("Say how often it runs: every 1d, or a cron expression.", USAGE, "--every")
    return every_schedule(fields.every, USAGE)


def _update(ctx: BotContext, click: BuilderClick, view: dict, view_hash: str | None) -> str | None:
    """Replace the builder; the new view's hash (None when Slack refused: a newer view
    was shown meanwhile, or the modal was closed)."""
    try:
        answer = ctx.web.views_update(view_id=click.view_id, hash=view_hash, view=view)
    except SlackApiError as exc:
        log.info("the cleanup builder was not updated: %s", exc.response.get("error"))
        return None
    shown = answer.get("view") or {}
    return str(shown.get("hash") or "") or None


def preview(ctx: BotContext, click: BuilderClick) -> None:
    """Preview: prune's dry run of what the fields say, drawn under them."""
    place, fields = click.place, click.fields
    pattern, rules, errors = check(fields, place)
    if errors:
        note = "Fix these first: " + " ".join(errors.values())
        _update(ctx, click, render_builder(place, fields, note=note), click.view_hash)
        return
    reading = render_builder(place, fields, note=":hourglass: Reading the registry (a dry run)…")
    view_hash = _update(ctx, click, reading, click.view_hash)
    if view_hash is None:
        return
    channel = place.channel or fields.channel
    message = deleting.prune_reply(ctx, Prune(pattern, rules, fields.reason), click.user, channel)
    _update(ctx, click, render_builder(place, fields, preview=message.blocks), view_hash)


def submit(ctx: BotContext, click: BuilderClick) -> None:
    """Request cleanup: the plan made again now, and posted for approval."""
    place, fields = click.place, click.fields
    pattern, rules, errors = check(fields, place)
    channel = place.channel or fields.channel

    def tell(message: Message) -> None:
        if place.response_url:
            ctx.responder.send(place.response_url, message)
        else:
            ctx.web.chat_postEphemeral(channel=channel, user=click.user, **message.to_dict())

    if errors:  # checked in the acknowledgement already; the fields changed since?
        tell(render_notice(" ".join(errors.values())))
        return
    if place.kind == BuilderKind.POLICY:
        tell(_save_policy(ctx, click, pattern, rules, channel))
        return
    if rules.untagged and not ctx.events_recorded:
        tell(render_untagged_unknown())  # not known: never "none to clean up"
        return
    try:
        planned = ctx.deletions.preview_prune(pattern, rules, fields.reason, click.user, channel)
    except DeletionRefused as exc:
        tell(render_notice(refusal_text(exc)))
        return
    except RegistryError as exc:
        tell(render_error(exc, f"planning the cleanup of {pattern}"))
        return
    deleting.submit(
        ctx, planned.request.id, click.user, place.response_url, replace_preview=False, tell=tell
    )


def _save_policy(
    ctx: BotContext, click: BuilderClick, pattern: str, rules: RetentionRules, channel: str
) -> Message:
    """Save policy: a new one (as ``policy add`` does, with its dry run), or a change."""
    fields, place = click.fields, click.place
    schedule = policy_schedule(fields)
    if schedule.cron is not None:
        try:
            schedule = cron(schedule.cron, ctx.policies.zone)  # in POLICY_TIMEZONE
        except ScheduleError:
            return render_notice("That cron expression runs more often than hourly here.")
    if not place.policy:
        command = PolicyAdd(fields.name, pattern, rules, schedule, channel, fields.reason)
        return policy_runs.add_reply(ctx, command, click.user, channel)
    try:
        changed = ctx.policies.change(
            place.policy, pattern, rules, schedule, channel, click.user, fields.reason
        )
    except PolicyRefused as exc:
        return render_notice(policy_refusal_text(exc))
    return render_policy_changed(changed, ctx.policies.next_run(changed), ctx.policies.zone)
