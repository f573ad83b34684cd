"""Share in channel, on a listing, ``show`` or ``activity`` reply: the command is
parsed again from the button (only these read-only commands are shared), its reply
drawn again (the same page), posted to the channel naming who shared it, and the
private reply replaced by a note, so a second click can't post it twice."""

from __future__ import annotations

import logging

from .browse_replies import run_page
from .buttons import PageKind, PageRef, ShareRef
from .command_replies import Asker, answer
from .command_table import SHAREABLE, ListRepos, ListTags, UsageError
from .context import BotContext
from .registry_choice import parse_for
from .render import Message
from .render.sharing import shared_copy
from .shares import post_once

log = logging.getLogger(__name__)


def _draw(ctx: BotContext, ref: ShareRef, asker: Asker) -> Message | None:
    """The reply ``ref`` names, drawn again (None: not a command to share)."""
    try:
        command = parse_for(ref.text, ctx.registries)
    except UsageError:
        return None
    if not isinstance(command, SHAREABLE):
        return None
    if ref.page and isinstance(command, ListRepos | ListTags):  # the page shown
        kind = PageKind.TAGS if isinstance(command, ListTags) else PageKind.REPOS
        repository = command.repository if isinstance(command, ListTags) else None
        return run_page(ctx, PageRef(kind, ref.page, command.pattern, repository, ctx.named))
    return answer(command, ctx, asker)


def share(ctx: BotContext, value: str, user: str, response_url: str, channel: str) -> None:
    """Share in channel: post the reply again where the button was, naming ``user``."""
    try:
        ref = ShareRef.decode(value)
    except ValueError:
        log.warning("ignored a share button with a malformed value")
        return
    ctx = ctx.serving(ref.registry)
    message = _draw(ctx, ref, Asker(user, channel, response_url))
    if message is None:
        log.warning("ignored a share button naming a command that isn't shared")
        return
    post_once(ctx, (user, value), lambda: shared_copy(message, user), channel, response_url)
