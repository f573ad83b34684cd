"""The deletion workflow in Slack: previews, the request message, votes, outcomes, the
audit thread and expiry. The decisions are the deletion service's; this module posts
and updates the messages that show them."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from ..deletions import (
    AuditEvent,
    DeletionRefused,
    DeletionRequest,
    Effect,
    ExecutionInterrupted,
    Kind,
    Preview,
    Refusal,
    Result,
    Running,
)
from ..registry import RegistryError
from .buttons import PutBack
from .command_table import Audit, Delete, Prune, Restore
from .context import BotContext
from .home import refresh_homes
from .loops import every
from .messages import MessageRef, MessageRole
from .progress import ProgressWatcher
from .render import Message, render_error
from .render.cleanups import render_cleanup_preview, render_cleanup_progress
from .render.common import naming_registry
from .render.deletions import (
    render_audit_event,
    render_audit_log,
    render_audit_parent,
    render_notice,
    render_pending,
    render_preview,
    render_request,
)
from .render.refusals import effect_notice, refusal_text
from .render.untagged import render_untagged_unknown

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30.0
PROGRESS_TAGS = 500  # repositories this large get a "checking N tags" note first
PROGRESS_INTERVAL = 1.0  # a cleanup's progress message is redrawn at most this often
# Outcomes of a click that only the person who clicked hears about, and those that leave
# the request message as it was.
TOLD_PRIVATELY = {Effect.REFUSED, Effect.DUPLICATE, Effect.CLOSED, Effect.BUSY, Effect.TAKEN_OVER}
# A holder that lost its claim leaves the message to the one that took over.
UNCHANGED = {Effect.REFUSED, Effect.DUPLICATE, Effect.BUSY, Effect.TAKEN_OVER}
CHANNEL_ERRORS = {"not_in_channel", "channel_not_found", "is_archived"}


def _slack_error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") if exc.response is not None else "unknown")


def _post(ctx: BotContext, channel: str, message: Message, thread_ts: str | None = None) -> str:
    response = ctx.web.chat_postMessage(channel=channel, thread_ts=thread_ts, **message.to_dict())
    return str(response["ts"])


def _where(ctx: BotContext, request_id: str, role: MessageRole) -> MessageRef | None:
    return ctx.messages.get(request_id, role)


# Where what the clicker alone should read goes, when not to the click's response_url
# (a click on the Home tab has none).
Tell = Callable[[Message], object]


def _teller(ctx: BotContext, response_url: str, tell: Tell | None) -> Callable[..., object]:
    """``say(message, replace_original=False)``: to ``tell`` when given, else to the
    ``response_url``."""
    if tell is not None:
        return lambda message, replace_original=False: tell(message)
    return functools.partial(ctx.responder.send, response_url)


def _undo_until(ctx: BotContext, request: DeletionRequest) -> datetime | None:
    """Until when the outcome message may offer Undo (None: not at all)."""
    try:
        return ctx.deletions.undo_until(request)
    except Exception:  # the message is still worth drawing without its Undo
        log.exception("could not read the undo store for request %s", request.id)
        return None


def _request_message(ctx: BotContext, request: DeletionRequest) -> Message:
    """The request message as it stands: votes, or the outcome (with Undo while
    possible); a cleanup with its stored plan."""
    items = None
    if request.kind == Kind.PRUNE and not request.state.is_closed:
        items = ctx.deletions.cleanup_items(request.id)
    standing = ctx.deletions.standing(request)
    message = render_request(request, standing, _undo_until(ctx, request), items)
    return naming_registry(message, ctx.named)


def _redraw(ctx: BotContext, request_id: str, message: Message) -> None:
    """Replace the request message with ``message`` (when it was posted)."""
    where = _where(ctx, request_id, MessageRole.REQUEST)
    if where is None:
        return
    try:
        ctx.web.chat_update(channel=where.channel, ts=where.ts, **message.to_dict())
    except SlackApiError as exc:
        log.error("could not update the message of request %s: %s", request_id, _slack_error(exc))


def update_request(ctx: BotContext, request: DeletionRequest) -> None:
    """Redraw the request message (votes, or the outcome without buttons), and the Home
    views of those it concerns."""
    _redraw(ctx, request.id, _request_message(ctx, request))
    refresh_homes(ctx, request)


def post_audit(ctx: BotContext, request: DeletionRequest, events: list[AuditEvent]) -> None:
    """Mirror audit events (already stored) into the request's audit thread."""
    where = _where(ctx, request.id, MessageRole.AUDIT)
    if where is None:
        return
    for event in events:
        try:
            _post(ctx, where.channel, render_audit_event(event), where.ts)
        except SlackApiError as exc:
            log.error(
                "could not post audit event %s of request %s: %s",
                event.event,
                request.id,
                _slack_error(exc),
            )


# -- commands -----------------------------------------------------------------------------
def pending_reply(ctx: BotContext, *, every_registry: bool = False) -> Message:
    """``/registry pending``: of the registry served (``every_registry``: of each one,
    oldest first, each request naming its registry when there are several)."""
    if not (every_registry and ctx.several):
        pending = ctx.deletions.pending()
        standings = {r.id: ctx.deletions.standing(r) for r in pending}
        return naming_registry(render_pending(pending, standings, ctx.now()), ctx.named)
    waiting, standings, registry_of = [], {}, {}
    for each in ctx.every_registry():
        for request in each.deletions.pending():
            waiting.append(request)
            standings[request.id] = each.deletions.standing(request)
            registry_of[request.id] = each.serving_name
    waiting.sort(key=lambda r: r.created_at)
    return render_pending(waiting, standings, ctx.now(), registry_of)


def audit_reply(ctx: BotContext, command: Audit) -> Message:
    """``/registry audit [N]``."""
    return naming_registry(render_audit_log(ctx.deletions.recent_audit(command.limit)), ctx.named)


def restore_reply(ctx: BotContext, command: Restore, user: str, channel: str) -> Message:
    """``/registry restore REQUEST_ID``: the preview of putting back what it deleted."""
    try:
        preview = ctx.deletions.preview_restore(command.request_id, user, channel)
    except DeletionRefused as exc:
        return render_notice(refusal_text(exc))
    return naming_registry(render_preview(preview.request, None, ctx.now()), ctx.named)


def delete_reply(
    ctx: BotContext, command: Delete, user: str, channel: str, response_url: str | None = None
) -> Message:
    """``/registry delete|untag REF [reason]`` (and a blob): the preview. A large
    repository's scan first posts a note to ``response_url`` saying it is under way."""
    service = ctx.deletions
    doing = f"previewing the deletion of {command.reference}"
    repository = command.reference.repository
    progress = _scan_notice(
        ctx,
        response_url,
        lambda tags: (
            f"Checking all {tags:,} tags of {repository} to find everything this "
            "deletion would take with it; this takes a moment."
        ),
    )
    try:
        if command.blob:
            preview = service.preview_blob(
                command.reference, command.reason, user, channel, progress
            )
        else:
            preview = service.preview_manifest(
                command.reference,
                command.reason,
                user,
                channel,
                untag=command.untag,
                progress=progress,
            )
    except DeletionRefused as exc:
        return render_notice(refusal_text(exc))
    except RegistryError as exc:
        return render_error(exc, doing)
    return naming_registry(render_preview(preview.request, preview.image, ctx.now()), ctx.named)


def _scan_notice(
    ctx: BotContext, response_url: str | None, says: Callable[[int], str]
) -> Callable[[int], None]:
    """A scan's progress callback: a note at ``response_url`` when a repository has
    ``PROGRESS_TAGS`` tags or more."""

    def progress(tags: int) -> None:
        if tags >= PROGRESS_TAGS and response_url:
            ctx.responder.send(response_url, render_notice(says(tags)))

    return progress


def prune_reply(
    ctx: BotContext, command: Prune, user: str, channel: str, response_url: str | None = None
) -> Message:
    """``/registry prune PATTERN RULES``: the dry run; a note first when a repository
    is large."""
    if command.rules.untagged and not ctx.events_recorded:
        return render_untagged_unknown()  # not known: never "none to clean up"
    service = ctx.deletions
    progress = _scan_notice(
        ctx,
        response_url,
        lambda tags: (
            f"Checking all {tags:,} tags of a repository matching {command.pattern} "
            "to plan the cleanup; this takes a moment."
        ),
    )
    try:
        preview = service.preview_prune(
            command.pattern, command.rules, command.reason, user, channel, progress
        )
    except DeletionRefused as exc:
        return render_notice(refusal_text(exc))
    except RegistryError as exc:
        return render_error(exc, f"planning the cleanup of {command.pattern}")
    return naming_registry(render_cleanup_preview(preview, ctx.now()), ctx.named)


# -- buttons ------------------------------------------------------------------------------
def _post_failure(ctx: BotContext, exc: Exception) -> str:
    """What to tell the requester when the request message could not be posted."""
    if not isinstance(exc, SlackApiError):
        return (
            "Slack did not take the request message in time, so nothing was requested. "
            "Click Request deletion again in a moment."
        )
    error = _slack_error(exc)
    if error not in CHANNEL_ERRORS:
        return f"Slack refused to post the request ({error}); nothing was requested."
    where = "the approval channel (APPROVAL_CHANNEL)" if ctx.approval_channel else "this channel"
    return (
        f"I can't post the request in {where} ({error}). Invite me there with "
        "/invite @registry-bot, or ask the bot's operators to set "
        "APPROVAL_CHANNEL to a channel I am in; then click Request deletion again."
    )


def _open_audit_thread(ctx: BotContext, request: DeletionRequest, posted: MessageRef) -> None:
    """The audit thread goes under the request message, or under a message of its own
    in AUDIT_CHANNEL when one is set (and Slack takes it)."""
    audit = posted
    if ctx.audit_channel:
        try:
            audit = MessageRef(
                ctx.audit_channel,
                _post(
                    ctx, ctx.audit_channel, naming_registry(render_audit_parent(request), ctx.named)
                ),
            )
        except SlackApiError as exc:
            log.error("could not post to AUDIT_CHANNEL: %s", _slack_error(exc))
    ctx.messages.put(request.id, MessageRole.AUDIT, audit)


def submit(
    ctx: BotContext,
    request_id: str,
    user: str,
    response_url: str,
    *,
    as_untag: bool = False,
    replace_preview: bool = True,
    tell: Tell | None = None,
    reason: str | None = None,
) -> None:
    """ "Request deletion" (or "Remove only tag") on the preview, confirmed in its
    modal with ``reason``: post the request where approvers see it (a cleanup split
    among owners: each owner's, in its channel). What the clicker alone reads goes to
    ``response_url``, or to ``tell`` (a click on the Home)."""
    say = _teller(ctx, response_url, tell)
    first = ctx.deletions.request(request_id)
    batch = ctx.deletions.batch_of(first) if first is not None else []
    channels = []
    for part in [r.id for r in batch] or [request_id]:
        channel = _submit_one(ctx, part, user, say, as_untag, reason)
        if channel is None:  # refused or failed, and said: the rest wait for a retry
            return
        channels.append(channel)
    where = ", ".join(f"<#{c}>" for c in dict.fromkeys(channels) if c.startswith("C"))
    if len(channels) > 1:
        text = f"Requested: {len(channels)} requests, one per owner, each asking its approvers" + (
            f" (in {where})." if where else "."
        )
    else:
        text = (
            f"Requested. The approvers were asked in the request message (in {where})."
            if where
            else "Requested."
        )
    say(render_notice(text), replace_original=replace_preview)


def _submit_one(
    ctx: BotContext,
    request_id: str,
    user: str,
    say: Callable[..., object],
    as_untag: bool,
    reason: str | None,
) -> str | None:
    """Claim one draft and post it in its owner's (or the approval) channel: where it
    went (None: refused or failed, and said to the clicker)."""
    service = ctx.deletions
    try:
        claimed = service.claim_submit(request_id, user, as_untag=as_untag, reason=reason)
    except DeletionRefused as exc:
        say(render_notice(refusal_text(exc)))
        return None
    if claimed is None:
        say(render_notice("This deletion was already requested or closed."))
        return None
    owners = service.terms_of(claimed).approval_channel
    channel = owners or ctx.approval_channel or claimed.channel
    try:
        posted = MessageRef(channel, _post(ctx, channel, _request_message(ctx, claimed)))
    except Exception as exc:
        # Whatever went wrong (Slack refused, timed out, the network broke), the draft
        # goes back to the requester, never stuck half-submitted.
        service.release_submit(request_id)
        log.error("posting request %s failed: %s", request_id, type(exc).__name__)
        say(render_notice(_post_failure(ctx, exc)))
        return None
    ctx.messages.put(request_id, MessageRole.REQUEST, posted)
    request, events = service.submitted(request_id)
    _open_audit_thread(ctx, request, posted)
    post_audit(ctx, request, events)
    refresh_homes(ctx, request)  # it now waits on its approvers
    return channel


def _follow_up(
    ctx: BotContext,
    user: str,
    response_url: str,
    doing: str,
    make: Callable[[], Preview],
    tell: Tell | None = None,
) -> None:
    """A button that opens a new request (unused layers, Undo, Restore previous): make
    its preview, then submit it through the same approval. The message the button is
    on stays as it is; the new request gets its own message."""
    say = _teller(ctx, response_url, tell)
    try:
        preview = make()
    except ValueError:
        say(render_notice("This button's data is not valid."))
        return
    except DeletionRefused as exc:
        say(render_notice(refusal_text(exc)))
        return
    except RegistryError as exc:
        say(render_error(exc, doing))
        return
    submit(ctx, preview.request.id, user, response_url, replace_preview=False, tell=tell)


def unused_layers(
    ctx: BotContext, deleted_id: str, user: str, response_url: str, channel: str
) -> None:
    """ "Also delete the unused layers" on a completed deletion: one new request for all
    of them."""
    service = ctx.deletions
    _follow_up(
        ctx,
        user,
        response_url,
        "looking for unused layers",
        lambda: service.preview_unused_layers(deleted_id, user, channel),
    )


def undo(
    ctx: BotContext,
    deleted_id: str,
    user: str,
    response_url: str,
    channel: str,
    tell: Tell | None = None,
) -> None:
    """ "Undo" on an executed deletion: a restore request."""
    service = ctx.deletions
    _follow_up(
        ctx,
        user,
        response_url,
        "preparing the restore",
        lambda: service.preview_restore(deleted_id, user, channel),
        tell,
    )


def put_back(ctx: BotContext, value: str, user: str, response_url: str, channel: str) -> None:
    """ "Restore previous" on a protected-tag alert: a restore request that points the
    tag back, on the registry the alert was about."""
    with contextlib.suppress(ValueError):  # else refused below, as tampered with
        ctx = ctx.serving(PutBack.decode(value).registry)
    service = ctx.deletions

    def make() -> Preview:
        fields = PutBack.decode(value)  # ValueError when tampered with
        return service.preview_put_back(
            fields.repository, fields.tag, fields.previous, fields.current, user, channel
        )

    _follow_up(ctx, user, response_url, "looking at the previous image", make)


def cancel_preview(ctx: BotContext, request_id: str, user: str, response_url: str) -> None:
    """Cancel on a preview: its draft dropped (a cleanup split among owners: each)."""
    service = ctx.deletions
    first = service.request(request_id)
    parts = [r.id for r in service.batch_of(first)] if first is not None else [request_id]
    try:
        results = [service.cancel(part, user) for part in parts]
    except DeletionRefused as exc:
        ctx.responder.send(response_url, render_notice(refusal_text(exc)))
        return
    for result in results:
        post_audit(ctx, result.request, result.events)
    notice = render_notice(effect_notice(results[0]))
    ctx.responder.send(response_url, notice, replace_original=True)


def vote(
    ctx: BotContext,
    request_id: str,
    user: str,
    approve: bool,
    response_url: str,
    clicked: tuple[str, str] | None = None,
    tell: Tell | None = None,
) -> None:
    """Approve or Reject on the request message. ``clicked`` is (channel, ts) of the
    message whose button was clicked: a vote counts only from the request's own
    message (None: from the voter's Home, which lists only requests in front of them).
    What the voter alone should read goes to ``response_url``, or to ``tell``."""
    say = _teller(ctx, response_url, tell)
    service = ctx.deletions
    own = _where(ctx, request_id, MessageRole.REQUEST)
    try:
        if own is not None and clicked is not None and clicked != (own.channel, own.ts):
            result: Result = service.refuse(
                request_id,
                user,
                "approve" if approve else "reject",
                Refusal.NOT_THE_REQUEST_MESSAGE,
            )
        else:
            with _watch_progress(ctx, request_id):  # stopped before the outcome is drawn
                result = service.vote(request_id, user, approve)
    except DeletionRefused as exc:
        say(render_notice(refusal_text(exc)))
        return
    except ExecutionInterrupted as exc:
        say(render_notice(_interrupted(exc)))
        return
    if result.effect in TOLD_PRIVATELY:
        say(render_notice(effect_notice(result)))
    if result.effect not in UNCHANGED:
        update_request(ctx, result.request)
    post_audit(ctx, result.request, result.events)


def _interrupted(exc: ExecutionInterrupted) -> str:
    what = "cleanup" if exc.kind == Kind.PRUNE else "request"
    return (
        f"Your approval counted, and the {what} began, but the bot's database stopped "
        "answering while it was carried out. It stopped where it was: nothing more is "
        "deleted until the database answers again. Then the bot resumes it from where "
        "it stopped (within EXECUTION_LEASE), checking what was under way with the "
        "registry, and updates the request message with the outcome."
    )


def _watch_progress(ctx: BotContext, request_id: str) -> ProgressWatcher[Running]:
    """Redraws a running request's message with how far it has got, at most once a
    second, from the snapshot the run keeps with its heartbeat."""
    service = ctx.deletions

    def draw(running: Running) -> None:
        _redraw(ctx, request_id, render_cleanup_progress(running.request, running.progress))

    return ProgressWatcher(lambda: service.progress(request_id), draw, PROGRESS_INTERVAL)


def expire(ctx: BotContext) -> None:
    """Expire what is due (and redraw those messages); forget old event IDs."""
    for request, events in ctx.deletions.expire_due():
        update_request(ctx, request)
        post_audit(ctx, request, events)
    # Redeliveries of an event come within minutes; a week of IDs is plenty.
    ctx.events.forget_seen_before(ctx.now() - timedelta(days=7))


def recover(ctx: BotContext) -> None:
    """Settle or carry on interrupted executions, and redraw those messages. A resumed
    cleanup may run for minutes: this has a thread of its own, so expiry goes on."""
    for result in ctx.deletions.recover():
        update_request(ctx, result.request)
        post_audit(ctx, result.request, result.events)


def post_request(ctx: BotContext, request_id: str, user: str) -> DeletionRequest:
    """Post a draft (a policy's plan) where its approvers see it, without a preview to
    answer: its message, its audit thread. Raises what posting raised, the draft given
    back (or DeletionRefused when it can't be claimed)."""
    service = ctx.deletions
    claimed = service.claim_submit(request_id, user)
    if claimed is None:
        raise DeletionRefused(Refusal.REQUEST_GONE, request_id=request_id)
    channel = service.terms_of(claimed).approval_channel or claimed.channel  # its owner's
    try:
        posted = MessageRef(channel, _post(ctx, channel, _request_message(ctx, claimed)))
    except Exception:
        service.release_submit(request_id)
        raise
    ctx.messages.put(request_id, MessageRole.REQUEST, posted)
    request, events = service.submitted(request_id)
    _open_audit_thread(ctx, request, posted)
    post_audit(ctx, request, events)
    refresh_homes(ctx, request)  # it now waits on its approvers
    return request


def start_sweeper(ctx: BotContext, interval: float = SWEEP_SECONDS) -> list[threading.Thread]:
    """Daemon threads that ``expire`` and ``recover`` every ``interval`` seconds, the
    first time at start (what a previous process left interrupted)."""

    return [every(ctx, expire, "expiry", interval), every(ctx, recover, "recovery", interval)]
