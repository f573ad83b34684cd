"""The names the pickers offer, kept where Slack's requests come in (the acknowledging
process): the catalog read at start and every few minutes in the background, the tags
of a repository read in the background once a picker asks for them, and the pushes the
registry tells added at once. An options request reads only this."""

from __future__ import annotations

import threading

from ..events import EventAction, RegistryEvent
from ..registry import NameIndex, TagIndex
from .context import BotContext
from .loops import every

REFRESH_SECONDS = 300.0  # the catalog read again (repositories deleted drop out)


def start_names(ctx: BotContext, interval: float = REFRESH_SECONDS) -> threading.Thread:
    """Give ``ctx`` its names (and tags), each registry's, and a daemon thread keeping
    the catalogs."""
    for room in ctx.rooms:
        room.names = NameIndex(room.registry.catalog)
        room.tags = TagIndex(room.registry.tags)
    if ctx.rooms:
        ctx.names, ctx.tags = ctx.rooms[0].names, ctx.rooms[0].tags
    else:
        ctx.names, ctx.tags = NameIndex(ctx.registry.catalog), TagIndex(ctx.registry.tags)

    def refresh(c: BotContext) -> None:
        for each in c.every_registry():
            if each.names is not None:
                each.names.refresh()

    return every(ctx, refresh, "picker-names", interval)


def told(ctx: BotContext, events: list[RegistryEvent]) -> None:
    """What a delivery of the registry's events adds to the names."""
    for event in events:
        if event.action != EventAction.PUSH:
            continue
        if ctx.names is not None:
            ctx.names.pushed(event.repository)
        if ctx.tags is not None and event.tag:
            ctx.tags.pushed(event.repository, event.tag)
