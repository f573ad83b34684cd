"""View submissions, and clicks in a modal: the request modal, the cleanup builder (its
Preview, and Request cleanup), and the deletion form (a repository picked; Next). The
answer is the acknowledgement itself (a missing field is an error on the field,
``response_action: errors``, within Slack's 3 s); the work after it is handed over as a
job, answered at the ``response_url`` carried in the modal's ``private_metadata``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from slack_bolt import Ack, App, BoltContext

from ...registry import InvalidReferenceError, validate_repository
from .. import cleanup_builder, deletion_form
from ..buttons import ACTION_BUILDER_PREVIEW, ACTION_PICK_IMAGE_REPOSITORY
from ..jobs import BuilderClick, Click, FormClick, Job, JobKind
from ..render.builder import CALLBACK_BUILDER, BuilderPlace, builder_fields
from ..render.deletion_form import (
    CALLBACK_DELETION_FORM,
    FormPlace,
    form_fields,
    render_form_reading,
)
from ..render.modals import CALLBACK_REQUEST, REASON_BLOCK, RequestModal, submitted_reason
from .actions import bot_for_view, bot_of

log = logging.getLogger(__name__)
Body = dict[str, Any]
T = TypeVar("T")
REASON_NEEDED = "Say why this should go: the approvers read it, and the audit trail keeps it."


def _metadata(view: Body, decode: Callable[[str], T], what: str) -> T | None:
    """What the modal carries back (None, logged: metadata the bot did not write)."""
    try:
        return decode(str(view.get("private_metadata") or ""))
    except ValueError:
        log.warning("ignored a %s whose metadata the bot did not write", what)
        return None


def _reason_optional(view: Body) -> bool:
    """Whether the modal sent offered the reason as optional (one was typed already)."""
    return any(
        isinstance(b, dict) and b.get("block_id") == REASON_BLOCK and b.get("optional")
        for b in view.get("blocks") or []
    )


def on_request_submitted(ack: Ack, body: Body, view: Body, context: BoltContext) -> None:
    """Request, in the request modal: post the request, with the reason given."""
    modal = _metadata(view, RequestModal.decode, "request modal")
    if modal is None:
        ack()
        return
    reason = submitted_reason(view)
    if not reason and not _reason_optional(view):
        ack(response_action="errors", errors={REASON_BLOCK: REASON_NEEDED})
        return
    ack()
    user = str((body.get("user") or {}).get("id") or "")
    kind = JobKind.SUBMIT_UNTAG if modal.as_untag else JobKind.SUBMIT
    click = Click(modal.request_id, user, modal.response_url, reason or None, modal.has_preview)
    bot_of(context).background(
        Job(kind, click, f"{kind} {modal.request_id}", modal.response_url or None)
    )


def _builder_click(body: Body, view: Body) -> BuilderClick | None:
    """What a click in the builder (or its submission) carries (None: metadata the bot
    didn't write)."""
    place = _metadata(view, BuilderPlace.decode, "cleanup builder")
    if place is None:
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


def on_form_submitted(ack: Ack, body: Body, view: Body, context: BoltContext) -> None:
    """Next, in the deletion form: each missing field answered on itself; else the modal
    shows the registry being read, and the plan is made as a job."""
    place = _metadata(view, FormPlace.decode, "deletion form")
    if place is None:
        ack()
        return
    fields = form_fields(view)
    errors = deletion_form.check(fields)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    ack(response_action="update", view=render_form_reading(fields))
    user = str((body.get("user") or {}).get("id") or "")
    click = FormClick(str(view.get("id") or "")[:40], user, place, fields)
    what = f"the deletion form's plan of {fields.repository}:{fields.tag}"
    bot_of(context).background(Job(JobKind.FORM_PLAN, click, what, place.response_url or None))


def on_form_repository_picked(ack: Ack, body: Body, context: BoltContext) -> None:
    """A repository picked in the deletion form: its tags read now, in the background,
    so the tag picker has them when it asks."""
    ack()
    view = body.get("view") or {}
    repository = form_fields(view).repository
    tags = bot_for_view(context, view).tags
    try:
        validate_repository(repository)
    except InvalidReferenceError:
        return
    if tags is not None:
        tags.want(repository)


def register(app: App) -> None:
    app.view(CALLBACK_REQUEST)(on_request_submitted)
    app.view(CALLBACK_BUILDER)(on_builder_submitted)
    app.action(ACTION_BUILDER_PREVIEW)(on_builder_preview)
    app.view(CALLBACK_DELETION_FORM)(on_form_submitted)
    app.action(ACTION_PICK_IMAGE_REPOSITORY)(on_form_repository_picked)
