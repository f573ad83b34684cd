"""Options for the pickers (``external_select``), answered in the acknowledgement from
the names the bot keeps in memory (``ctx.names``, ``ctx.tags``): never a request to the
registry while Slack waits (about 3 s), at most 100 options. The tag picker lists the
tags of the repository picked in the same view (its ``state``, sent with the request)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from ...registry import Found, InvalidReferenceError, validate_repository
from ..buttons import ACTION_PICK_IMAGE_REPOSITORY, ACTION_PICK_REPOSITORY, ACTION_PICK_TAG
from ..render.deletion_form import form_fields
from ..render.pickers import name_options, notice_option
from .actions import bot_for_view

Body = dict[str, Any]
MAX_QUERY = 200


def on_repository_options(ack: Ack, payload: Body, context: BoltContext) -> None:
    """The repository picker: the names matching what was typed (a glob offered too)."""
    query = str(payload.get("value") or "")[:MAX_QUERY]
    names = bot_for_view(context, payload.get("view") or {}).names
    found = names.repositories(query) if names is not None else Found([], loading=True)
    ack(options=name_options(found, query))


def on_image_repository_options(ack: Ack, payload: Body, context: BoltContext) -> None:
    """The deletion form's repository picker: names only (an image is in one)."""
    query = str(payload.get("value") or "")[:MAX_QUERY]
    names = bot_for_view(context, payload.get("view") or {}).names
    found = names.repositories(query) if names is not None else Found([], loading=True)
    ack(options=name_options(found, query, patterns=False))


def on_tag_options(ack: Ack, payload: Body, context: BoltContext) -> None:
    """The tag picker: the tags of the repository picked in the same view (a list not
    read yet is read in the background, and the answer says it is loading)."""
    query = str(payload.get("value") or "")[:MAX_QUERY]
    repository = form_fields(payload.get("view") or {}).repository
    if not repository:
        ack(options=notice_option("Pick the repository first"))
        return
    try:
        validate_repository(repository)
    except InvalidReferenceError:
        ack(options=notice_option("That is not a repository name"))
        return
    tags = bot_for_view(context, payload.get("view") or {}).tags
    found = tags.tags(repository, query) if tags is not None else Found([], loading=True)
    if not found.names and not found.loading and not found.unreadable:
        ack(options=notice_option("No tag matches" if query.strip() else "It has no tags"))
        return
    ack(options=name_options(found, query, what="tags", patterns=False))


def register(app: App) -> None:
    app.options(ACTION_PICK_REPOSITORY)(on_repository_options)
    app.options(ACTION_PICK_IMAGE_REPOSITORY)(on_image_repository_options)
    app.options(ACTION_PICK_TAG)(on_tag_options)
