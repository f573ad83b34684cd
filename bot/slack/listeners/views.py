"""View submissions, and clicks in a modal: the request modal, and the cleanup builder
(its Preview, and Request cleanup). Its answer is the acknowledgement itself (a
missing reason is an error on the field, ``response_action: errors``, within Slack's
3 s); a request to post is handed over as a job, answered at the preview's
``response_url`` carried in the modal's ``private_metadata``."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from .. import cleanup_builder
from ..buttons import ACTION_BUILDER_PREVIEW
from ..jobs import BuilderClick, Click, Job, JobKind
from ..render.builder import CALLBACK_BUILDER, BuilderPlace, builder_fields
from ..render.modals import CALLBACK_REQUEST, REASON_BLOCK, RequestModal, submitted_reason
from .actions import bot_of

log = logging.getLogger(__name__)
Body = dict[str, Any]
REASON_NEEDED = "Say why this should go: the approvers read it, and the audit trail keeps it."


def _reason_optional(view: Body) -> bool:
    """Whether the modal sent offered the reason as optional (one was typed already)."""
    return any(
        isinstance(b, dict) and b.get("block_id") == REASON_BLOCK and b.get("optional")
        for b in view.get("blocks") or []
    )


def on_request_submitted(ack: Ack, body: Body, view: Body, context: BoltContext) -> None:
    """Request, in the request modal: post the request, with the reason given."""
    try:
        modal = RequestModal.decode(str(view.get("private_metadata") or ""))
    except ValueError:
        log.warning("ignored a request modal whose metadata the bot did not write")
        ack()
        return
    reason = submitted_reason(view)
    if not reason and not _reason_optional(view):
        ack(response_action="errors", errors={REASON_BLOCK: REASON_NEEDED})
        return
    ack()
    user = str((body.get("user") or {}).get("id") or "")
    kind = JobKind.SUBMIT_UNTAG if modal.as_untag else JobKind.SUBMIT
    click = Click(modal.request_id, user, modal.response_url, reason or None)
    bot_of(context).background(
        Job(kind, click, f"{kind} {modal.request_id}", modal.response_url or None)
    )


def _builder_click(body: Body, view: Body) -> BuilderClick | None:
    """What a click in the builder (or its submission) carries (None: metadata the bot
    didn't write)."""
    try:
        place = BuilderPlace.decode(str(view.get("private_metadata") or ""))
    except ValueError:
        log.warning("ignored a cleanup builder whose metadata the bot did not write")
        return None
    user = str((body.get("user") or {}).get("id") or "")
    view_hash = str(view.get("hash") or "")[:200] or None
    return BuilderClick(
        str(view.get("id") or "")[:40], view_hash, user, place, builder_fields(view)
    )


def on_builder_submitted(ack: Ack, body: Body, view: Body, context: BoltContext) -> None:
    """Request cleanup, in the builder: each wrong field answered on itself, at once."""
    click = _builder_click(body, view)
    if click is None:
        ack()
        return
    _, _, errors = cleanup_builder.check(click.fields, click.place)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack()
    job = Job(JobKind.BUILDER_SUBMIT, click, "cleanup builder request", click.place.response_url)
    bot_of(context).background(job)


def on_builder_preview(ack: Ack, body: Body, context: BoltContext) -> None:
    """Preview, in the builder: the dry run drawn into it (a job: it reads the registry)."""
    ack()
    click = _builder_click(body, body.get("view") or {})
    if click is not None and click.view_id:
        bot_of(context).background(Job(JobKind.BUILDER_PREVIEW, click, "cleanup builder preview"))


def register(app: App) -> None:
    app.view(CALLBACK_REQUEST)(on_request_submitted)
    app.view(CALLBACK_BUILDER)(on_builder_submitted)
    app.action(ACTION_BUILDER_PREVIEW)(on_builder_preview)
