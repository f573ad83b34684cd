"""Buttons. Prev/Next on listings edit the listing message in place; the deletion
buttons (request, cancel, approve, reject) carry only a request ID. ``ack()`` first; the
work is handed over as a job. Who clicked comes from the verified request only.

Each listener is a named function of what Bolt passes (``ack``, ``body``, ``action``,
and ``context``, whose ``bot`` is the bot's context: see ``register``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from ..buttons import (
    ACTION_APPROVE,
    ACTION_CANCEL,
    ACTION_EDIT_POLICY,
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_PUT_BACK,
    ACTION_REJECT,
    ACTION_SHARE,
    ACTION_SHARE_STORAGE,
    ACTION_SUBMIT,
    ACTION_SUBMIT_UNTAG,
    ACTION_UNDO,
    ACTION_UNUSED_LAYERS,
    PageRef,
    carried_registry,
    policy_of,
)
from ..context import BotContext
from ..jobs import BuilderOpen, Click, FollowUp, Job, JobKind, ModalOpen, Page, Vote
from ..render.limits import decode_metadata

log = logging.getLogger(__name__)
Body = dict[str, Any]
REQUEST_ID_LIMIT = 64  # a request's ID is 16 characters; a longer value is cut
FOLLOW_UP_LIMIT = 64  # an executed request's ID
PUT_BACK_LIMIT = 2000  # Slack's own cap on a button's value
POLICY_NAME_LIMIT = 100


def bot_of(context: BoltContext | dict[str, Any]) -> BotContext:
    """The bot's context, which ``register`` puts in every request's Bolt context."""
    bot = context["bot"]
    assert isinstance(bot, BotContext)
    return bot


def registry_of_view(view: Body) -> str | None:
    """The registry a modal the bot opened is for (None: the default, or not ours)."""
    try:
        return carried_registry(decode_metadata(str(view.get("private_metadata") or "")))
    except ValueError:
        return None


def bot_for_view(context: BoltContext | dict[str, Any], view: Body) -> BotContext:
    """The bot's context for the registry of the modal ``view``."""
    return bot_of(context).serving(registry_of_view(view))


def _value(action: Body, limit: int) -> str:
    return str(action.get("value") or "")[:limit]


def on_page(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Prev or Next on a listing."""
    ack()
    value = _value(action, PUT_BACK_LIMIT)
    try:
        ref = PageRef.decode(value)
    except ValueError:
        log.warning("ignored a page button with a malformed value")
        return
    response_url = body["response_url"]
    page = Page(value, response_url)
    what = f"paging {ref.kind}"
    bot_of(context).background(Job(JobKind.PAGE, page, what, response_url, ref.registry))


def _click(kind: JobKind, body: Body, action: Body, context: BoltContext) -> None:
    request_id = _value(action, REQUEST_ID_LIMIT)
    user, response_url = body["user"]["id"], body["response_url"]
    click = Click(request_id, user, response_url)
    bot_of(context).background(Job(kind, click, f"{kind} {request_id}", response_url))


def _request(as_untag: bool, body: Body, action: Body, context: BoltContext) -> None:
    """Request deletion (or Remove only tag) on a preview: the request modal opens
    (``trigger_id``); a click without one is taken as confirmed, with the typed reason."""
    trigger_id = str(body.get("trigger_id") or "")
    if not trigger_id:
        _click(JobKind.SUBMIT_UNTAG if as_untag else JobKind.SUBMIT, body, action, context)
        return
    request_id = _value(action, REQUEST_ID_LIMIT)
    user, response_url = body["user"]["id"], body["response_url"]
    opening = ModalOpen(request_id, user, response_url, trigger_id[:200], as_untag)
    job = Job(JobKind.OPEN_REQUEST, opening, f"request modal {request_id}", response_url)
    bot_of(context).background(job)


def on_submit(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Request deletion, on a preview."""
    ack()
    _request(False, body, action, context)


def on_submit_untag(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Remove this tag only, on a preview."""
    ack()
    _request(True, body, action, context)


def on_cancel(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Cancel, on a preview (or the requester's own pending request)."""
    ack()
    _click(JobKind.CANCEL, body, action, context)


def _follow_up(kind: JobKind, limit: int, body: Body, action: Body, context: BoltContext) -> None:
    """A button that opens a new request (from an executed deletion, or an alert)."""
    value = _value(action, limit)
    user, response_url = body["user"]["id"], body["response_url"]
    channel = (body.get("channel") or {}).get("id") or ""
    follow_up = FollowUp(value, user, response_url, channel)
    bot_of(context).background(Job(kind, follow_up, f"{kind} {value[:64]}", response_url))


def on_unused_layers(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Also delete the layers no remaining tag uses, on an executed image deletion."""
    ack()
    _follow_up(JobKind.UNUSED_LAYERS, FOLLOW_UP_LIMIT, body, action, context)


def on_undo(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Undo, on an executed deletion."""
    ack()
    _follow_up(JobKind.UNDO, FOLLOW_UP_LIMIT, body, action, context)


def on_put_back(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Restore previous, on an alert of a moved protected tag."""
    ack()
    _follow_up(JobKind.PUT_BACK, PUT_BACK_LIMIT, body, action, context)


def on_edit_policy(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Edit, on a policy (``policy show``, the Home; a menu of them on ``policy list``):
    the builder opens with it."""
    ack()
    chosen = action.get("selected_option") or {}
    registry, name = policy_of(str(action.get("value") or chosen.get("value") or "")[:200])
    name = name[:POLICY_NAME_LIMIT]
    trigger_id = str(body.get("trigger_id") or "")[:200]
    user = str((body.get("user") or {}).get("id") or "")
    if not (name and trigger_id and user):
        log.warning("ignored an Edit button without a policy, a trigger or a user")
        return
    channel = str((body.get("channel") or {}).get("id") or "")
    response_url = str(body.get("response_url") or "")
    opening = BuilderOpen(trigger_id, user, channel, response_url, policy=name)
    what = f"edit policy {name}"
    job = Job(JobKind.OPEN_BUILDER, opening, what, response_url or None, registry)
    bot_of(context).background(job)


def on_share(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Share in channel, on a listing, show or activity reply."""
    ack()
    _follow_up(JobKind.SHARE, PUT_BACK_LIMIT, body, action, context)


def on_share_storage(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Share in channel, on a storage report."""
    ack()
    _follow_up(JobKind.SHARE_STORAGE, PUT_BACK_LIMIT, body, action, context)


def _vote(approve: bool, body: Body, action: Body, context: BoltContext) -> None:
    request_id = _value(action, REQUEST_ID_LIMIT)
    user, response_url = body["user"]["id"], body["response_url"]
    container = body.get("container") or {}
    clicked = (str(container.get("channel_id")), str(container.get("message_ts")))
    vote = Vote(request_id, user, approve, response_url, clicked)
    what = f"{'approve' if approve else 'reject'} {request_id}"
    bot_of(context).background(Job(JobKind.VOTE, vote, what, response_url))


def on_approve(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Approve, on the request message."""
    ack()
    _vote(True, body, action, context)


def on_reject(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Reject, on the request message (the requester's withdraws it)."""
    ack()
    _vote(False, body, action, context)


LISTENERS = {
    ACTION_PREV: on_page,
    ACTION_NEXT: on_page,
    ACTION_SUBMIT: on_submit,
    ACTION_SUBMIT_UNTAG: on_submit_untag,
    ACTION_CANCEL: on_cancel,
    ACTION_UNUSED_LAYERS: on_unused_layers,
    ACTION_UNDO: on_undo,
    ACTION_PUT_BACK: on_put_back,
    ACTION_SHARE_STORAGE: on_share_storage,
    ACTION_SHARE: on_share,
    ACTION_EDIT_POLICY: on_edit_policy,
    ACTION_APPROVE: on_approve,
    ACTION_REJECT: on_reject,
}


def register(app: App) -> None:
    for action_id, listener in LISTENERS.items():
        app.action(action_id)(listener)
