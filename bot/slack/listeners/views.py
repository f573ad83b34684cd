"""View submissions: the request modal. Its answer is the acknowledgement itself (a
missing reason is an error on the field, ``response_action: errors``, within Slack's
3 s); a request to post is handed over as a job, answered at the preview's
``response_url`` carried in the modal's ``private_metadata``."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from ..jobs import Click, Job, JobKind
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


def register(app: App) -> None:
    app.view(CALLBACK_REQUEST)(on_request_submitted)
