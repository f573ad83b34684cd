"""Opening modals: Request deletion (and Remove tag, Request cleanup, Request restore)
clicked on a preview opens the request modal, drawn from the stored draft (a database
read, no registry work: a ``trigger_id`` lasts 3 s). A click that can't become a
request (not the previewer's, expired, already requested) is answered at the preview's
``response_url`` instead, with no modal."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError

from ..deletions import DeletionRefused, Kind, Refusal, State
from .context import BotContext
from .jobs import ModalOpen
from .render.deletions import render_notice
from .render.modals import RequestModal, render_request_modal
from .render.refusals import refusal_text

log = logging.getLogger(__name__)


def open_request_modal(ctx: BotContext, opening: ModalOpen) -> None:
    """Open the request modal for the draft the click names."""
    service = ctx.deletions
    request = service.request(opening.request_id)
    refusal = None
    if request is None:
        refusal = Refusal.REQUEST_GONE
    elif opening.user != request.requester:
        refusal = Refusal.NOT_PREVIEWER
    elif request.state != State.DRAFT:
        ctx.responder.send(
            opening.response_url, render_notice("This deletion was already requested or closed.")
        )
        return
    elif request.expires_at <= ctx.now():
        refusal = Refusal.PREVIEW_EXPIRED
    if refusal is not None or request is None:
        refused = DeletionRefused(refusal or Refusal.REQUEST_GONE, request_id=opening.request_id)
        ctx.responder.send(opening.response_url, render_notice(refusal_text(refused)))
        return
    items = service.cleanup_items(request.id) if request.kind == Kind.PRUNE else None
    modal = RequestModal(request.id, opening.as_untag, opening.response_url)
    parts = len(service.batch_of(request))
    try:
        view = render_request_modal(request, modal, items, parts)
        ctx.web.views_open(trigger_id=opening.trigger_id, view=view)
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("the request modal of %s did not open: %s", request.id, error)
        ctx.responder.send(
            opening.response_url,
            render_notice(
                "Slack did not open the request form in time (it allows 3 seconds); click "
                "the button again."
                if error in ("expired_trigger_id", "invalid_trigger_id")
                else f"Slack did not open the request form ({error}); click the button again."
            ),
        )
