"""The deletion form's life: opened by ``/registry delete`` (or ``untag``) alone (a
database-free ``views.open``, within the trigger's 3 s); submitted, its fields are
checked in the acknowledgement, each error on its own field, and the modal shows the
registry being read; then the deletion is planned as the command plans it, and the
modal becomes the request modal (what it takes with it, the reason), or the form again
with what stopped it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from ..deletions import DeletionRefused
from ..registry import (
    InvalidReferenceError,
    Reference,
    RegistryError,
    validate_repository,
    validate_tag,
)
from .context import BotContext
from .deleting import PROGRESS_TAGS
from .jobs import FormClick, FormOpen
from .render import render_error
from .render.deletion_form import (
    REPOSITORY_BLOCK,
    TAG_BLOCK,
    FormFields,
    FormPlace,
    render_deletion_form,
    render_form_reading,
)
from .render.deletions import render_notice
from .render.modals import RequestModal, render_request_modal
from .render.pickers import LOADING_VALUE
from .render.refusals import refusal_text

log = logging.getLogger(__name__)


def open_form(ctx: BotContext, opening: FormOpen) -> None:
    """Open the form on the command's trigger (no registry work, no database read)."""
    place = FormPlace(opening.channel, opening.response_url, ctx.named or "")
    try:
        view = render_deletion_form(place, FormFields(untag=opening.untag))
        ctx.web.views_open(trigger_id=opening.trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("the deletion form did not open: %s", exc.response.get("error"))
        ctx.responder.send(
            opening.response_url,
            render_notice("Slack did not open the deletion form in time; try again."),
        )


def _field_error(value: str, validate: Callable[[str], object], what: str) -> str | None:
    """What is wrong with a picked ``value`` (None: nothing)."""
    if not value or value == LOADING_VALUE:
        return f"Pick the {what} (type part of it to search)."
    try:
        validate(value)
    except InvalidReferenceError:
        return f"That is not a {what}; pick one from the list."
    return None


def check(fields: FormFields) -> dict[str, str]:
    """The errors of the form's fields, by block ID (none: it can be planned)."""
    errors = {
        REPOSITORY_BLOCK: _field_error(fields.repository, validate_repository, "repository"),
        TAG_BLOCK: _field_error(fields.tag, validate_tag, "tag"),
    }
    return {block: error for block, error in errors.items() if error is not None}


def _update(ctx: BotContext, view_id: str, view: dict[str, Any]) -> bool:
    """Replace the modal (False when Slack refused: it was closed, say)."""
    try:
        ctx.web.views_update(view_id=view_id, view=view)
    except SlackApiError as exc:
        log.info("the deletion form was not updated: %s", exc.response.get("error"))
        return False
    return True


def plan(ctx: BotContext, click: FormClick) -> None:
    """The form submitted: plan the deletion as ``/registry delete`` does (its digest
    pinned now, in a draft), then ask for the reason in the request modal."""
    place, fields = click.place, click.fields
    if check(fields):  # checked in the acknowledgement already
        _update(ctx, click.view_id, render_deletion_form(place, fields, note="Pick both."))
        return
    reference = Reference(fields.repository, tag=fields.tag)
    noted = False

    def progress(tags: int) -> None:
        nonlocal noted
        if tags >= PROGRESS_TAGS and not noted:
            noted = True
            _update(
                ctx,
                click.view_id,
                render_form_reading(
                    fields,
                    f":hourglass: Checking all {tags:,} tags of {fields.repository} for "
                    "everything this deletion would take with it; this takes a moment…",
                ),
            )

    try:
        preview = ctx.deletions.preview_manifest(
            reference, "", click.user, place.channel, untag=fields.untag, progress=progress
        )
    except DeletionRefused as exc:
        note = refusal_text(exc)
        _update(ctx, click.view_id, render_deletion_form(place, fields, note=note))
        return
    except RegistryError as exc:
        answer = render_error(exc, f"previewing the deletion of {reference}").blocks
        _update(ctx, click.view_id, render_deletion_form(place, fields, answer=answer))
        return
    modal = RequestModal(preview.request.id, False, place.response_url, has_preview=False)
    _update(ctx, click.view_id, render_request_modal(preview.request, modal))
