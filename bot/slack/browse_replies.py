"""Turning a parsed browse command (or a page button) into a reply ``Message``.

Runs the registry work and renders the result or the error. Shared by the slash
command and the Prev/Next buttons.
"""

from __future__ import annotations

import dataclasses
import logging

from sqlalchemy.exc import SQLAlchemyError

from ..registry import (
    Reference,
    RegistryError,
    describe,
    find_references,
    repo_page,
    tag_page,
)
from .buttons import PageKind, PageRef, ShareRef
from .command_table import ListRepos, ListTags, Show
from .context import BotContext
from .render import Message, render_error, render_image, render_repos, render_tags
from .render.common import Usage
from .render.image_details import INSPECTED_SHOWN, render_inspection
from .render.sharing import with_share
from .storage_replies import storage_reply

log = logging.getLogger(__name__)
TAGS_PER_PAGE = 20
REPOS_PER_PAGE = 40


def _usage(ctx: BotContext, repository: str) -> Usage:
    """Push and pull records of ``repository`` (none when events aren't recorded). A
    listing comes from the registry: when the database can't be read, it is shown
    without the records, and says so."""
    feed = ctx.events
    try:
        return Usage(feed.tag_records(repository), feed.pull_stats(repository))
    except SQLAlchemyError as exc:
        log.warning("push and pull records of %s unread: %s", repository, type(exc).__name__)
        return Usage(unavailable=True)


def list_repos(ctx: BotContext, command: ListRepos, page: int = 0) -> Message:
    """``/registry repos``: a page of the catalog (or the error)."""
    try:
        repos = repo_page(ctx.registry, pattern=command.pattern, page=page, per_page=REPOS_PER_PAGE)
    except RegistryError as exc:
        return render_error(exc, "listing repositories")
    return render_repos(repos, ctx.registry_url, ctx.named)


def list_tags(ctx: BotContext, command: ListTags, page: int = 0) -> Message:
    """``/registry tags REPO``: a page of its tags, with what the events told."""
    try:
        tags = tag_page(
            ctx.registry,
            command.repository,
            pattern=command.pattern,
            page=page,
            per_page=TAGS_PER_PAGE,
        )
    except RegistryError as exc:
        return render_error(exc, f"listing tags of {command.repository}")
    usage = _usage(ctx, tags.repository)
    return render_tags(tags, ctx.registry_url, ctx.now(), usage, ctx.named)


def show(ctx: BotContext, command: Show) -> Message:
    """``/registry show REF``: one image in detail."""
    ref = command.reference
    try:
        image = describe(ctx.registry, ref.repository, ref.identifier)
    except RegistryError as exc:
        return render_error(exc, f"looking up {command.reference}")
    if ref.tag and image.tag is None:
        image = dataclasses.replace(image, tag=ref.tag)
    return render_image(image, ctx.registry_url, ctx.now(), _usage(ctx, ref.repository))


def _host(ctx: BotContext) -> str:
    return ctx.registry.display_url.split("://", 1)[-1].rstrip("/")


def inspect(ctx: BotContext, text: str) -> Message:
    """Inspect images, on a message: the images of the registries served it names (by
    host; without one, this context's), each shown as ``/registry show`` shows it (the
    first few; the rest named)."""
    bare = find_references(text, None)  # a host named: never a bare reference
    unhosted = {str(r) for r in bare.references}
    found: list[tuple[BotContext, Reference]] = []
    hosts = set()
    for each in ctx.every_registry():
        hosts.add(_host(each).lower())
        mine = find_references(text, _host(each)).references
        own = each.serving_name == ctx.serving_name
        found += [(each, r) for r in mine if own or str(r) not in unhosted]
    elsewhere = [c for c in bare.elsewhere if c.split("/", 1)[0].lower() not in hosts]
    shown = [show(each, Show(reference)) for each, reference in found[:INSPECTED_SHOWN]]
    others = [str(r) for _, r in found[INSPECTED_SHOWN:]]
    return render_inspection(shown, others, elsewhere, ctx.registry.display_url)


def inspect_reply(ctx: BotContext, text: str, response_url: str) -> None:
    """Answer Inspect images privately, at the shortcut's ``response_url``."""
    ctx.responder.send(response_url, inspect(ctx, text))


def run_page(ctx: BotContext, ref: PageRef) -> Message:
    """The listing page a Prev/Next button asks for."""
    if ref.kind == PageKind.REPOS:
        return list_repos(ctx, ListRepos(ref.pattern), ref.page)
    if ref.kind == PageKind.STORAGE:
        return storage_reply(ctx, ref.pattern, page=ref.page)
    return list_tags(ctx, ListTags(str(ref.repository), ref.pattern), ref.page)


def replace_page(ctx: BotContext, value: str, response_url: str) -> None:
    """Redraw a listing message with the page its Prev/Next button (``value``) asks for
    (with Share in channel of that page, but for the storage report, which has its own)."""
    ref = PageRef.decode(value)
    ctx = ctx.serving(ref.registry)
    message = run_page(ctx, ref)
    if ref.kind != PageKind.STORAGE:
        message = with_share(message, ShareRef.of_page(ref))
    ctx.responder.send(response_url, message, replace_original=True)
