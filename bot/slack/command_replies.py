"""What a ``/registry`` command answers after its acknowledgement: the command is parsed
again from its fields (parsing is cheap, and the acknowledging process already refused
what doesn't parse), its work done, and the reply sent to its ``response_url``."""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

from ..deletions import ApprovalPart, Terms
from ..registry import RegistryError
from ..storage import find_untagged
from . import browse_replies, deleting, policy_runs
from .buttons import ShareRef
from .channel_registries import ChannelRegistry
from .command_table import (
    SHAREABLE,
    Audit,
    Command,
    Delete,
    Help,
    ListRepos,
    ListTags,
    ListUntagged,
    Pending,
    PolicyAdd,
    PolicyCommand,
    PolicyList,
    Prune,
    Restore,
    Show,
    ShowActivity,
    ShowOwners,
    ShowStorage,
    UsageError,
    UseRegistry,
    WhoAmI,
    parse_command,
)
from .context import BotContext
from .registry_choice import default_of, named_in
from .render import Message, render_error, render_help, render_usage_error
from .render.common import naming_registry
from .render.deletions import render_notice
from .render.events import render_activity
from .render.owners import render_owner_of, render_owners, render_whoami
from .render.registries import render_registry_in_use
from .render.sharing import with_share
from .render.untagged import render_untagged, render_untagged_unknown
from .storage_replies import storage_reply


@dataclass(frozen=True)
class Asker:
    """Who sent the command, from where, and where the reply goes."""

    user: str
    channel: str
    response_url: str
    chose: bool = False  # the command named its registry (by host or --registry)


def reply(ctx: BotContext, command: dict[str, str]) -> None:
    """Do the work of the command in ``command`` (Slack's fields) and send the reply,
    for the registry it names (else the channel's default, else the first)."""
    text = command.get("text") or ""
    try:
        words, named = named_in(text, ctx.registries)
        parsed = parse_command(words)
    except UsageError as exc:  # refused with the acknowledgement already; said again
        message = render_usage_error(exc.message, exc.usage)
    else:
        chosen = named or default_of(  # else the channel's default (a read), else the first
            ctx.registries, ctx.channel_default(command.get("channel_id") or "")
        )
        ctx = ctx.serving(chosen.name)
        asker = Asker(
            command["user_id"], command["channel_id"], command["response_url"], named is not None
        )
        message = answer(parsed, ctx, asker)
        if isinstance(parsed, SHAREABLE):
            message = with_share(message, ShareRef(text, 0, ctx.named))
    ctx.responder.send(command["response_url"], message)


# The reply to each command of the table, by its parsed type (one function each).
@singledispatch
def answer(command: Command, ctx: BotContext, asker: Asker) -> Message:
    raise TypeError(f"no reply for {type(command).__name__}")


@answer.register
def _(command: Help, ctx: BotContext, asker: Asker) -> Message:
    return render_help(ctx.registry_url, ctx.served)


@answer.register
def _(command: ListRepos, ctx: BotContext, asker: Asker) -> Message:
    return browse_replies.list_repos(ctx, command)


@answer.register
def _(command: ListTags, ctx: BotContext, asker: Asker) -> Message:
    return browse_replies.list_tags(ctx, command)


@answer.register
def _(command: Show, ctx: BotContext, asker: Asker) -> Message:
    return browse_replies.show(ctx, command)


@answer.register
def _(command: ShowActivity, ctx: BotContext, asker: Asker) -> Message:
    entries = ctx.events.recent_activity(command.repository)
    return naming_registry(render_activity(entries, command.repository, ctx.now()), ctx.named)


@answer.register
def _(command: Delete, ctx: BotContext, asker: Asker) -> Message:
    return deleting.delete_reply(ctx, command, asker.user, asker.channel, asker.response_url)


@answer.register
def _(command: Prune, ctx: BotContext, asker: Asker) -> Message:
    return deleting.prune_reply(ctx, command, asker.user, asker.channel, asker.response_url)


@answer.register
def _(command: Restore, ctx: BotContext, asker: Asker) -> Message:
    return deleting.restore_reply(ctx, command, asker.user, asker.channel)


@answer.register
def _(command: Pending, ctx: BotContext, asker: Asker) -> Message:
    return deleting.pending_reply(ctx, every_registry=not asker.chose)


@answer.register
def _(command: Audit, ctx: BotContext, asker: Asker) -> Message:
    return deleting.audit_reply(ctx, command)


@answer.register
def _(command: PolicyAdd, ctx: BotContext, asker: Asker) -> Message:
    return policy_runs.add_reply(ctx, command, asker.user, asker.channel)


@answer.register
def _(command: PolicyList, ctx: BotContext, asker: Asker) -> Message:
    return policy_runs.list_reply(ctx)


@answer.register
def _(command: PolicyCommand, ctx: BotContext, asker: Asker) -> Message:
    return policy_runs.command_reply(ctx, command, asker.user)


@answer.register
def _(command: ShowOwners, ctx: BotContext, asker: Asker) -> Message:
    deletions = ctx.deletions
    if command.repository is not None:
        terms = deletions.terms_for(command.repository)
        return naming_registry(render_owner_of(command.repository, terms), ctx.named)
    rules = deletions.owners.every_rule()
    return naming_registry(render_owners(rules, deletions.owners.default, None), ctx.named)


@answer.register
def _(command: WhoAmI, ctx: BotContext, asker: Asker) -> Message:
    # Each rule once, with the registries it applies on (when more than one is served).
    places: dict[int, tuple[Terms, list[ApprovalPart]]] = {}
    where: dict[int, list[str]] = {}
    for each in ctx.every_registry():
        owners = each.deletions.owners
        for terms in [*owners.every_rule(), owners.default]:
            parts = each.deletions.may_approve_for(asker.user, terms)
            if parts:
                key = terms.owner.rule.position if terms.owner is not None else -1
                places.setdefault(key, (terms, parts))
                where.setdefault(key, []).append(each.serving_name)
    shown = [(*places[k], where[k] if ctx.several else []) for k in places]
    return render_whoami(asker.user, shown)


@answer.register
def _(command: UseRegistry, ctx: BotContext, asker: Asker) -> Message:
    return use_reply(ctx, command, asker.user, asker.channel)


@answer.register
def _(command: ListUntagged, ctx: BotContext, asker: Asker) -> Message:
    if not ctx.events_recorded:
        return render_untagged_unknown()
    try:
        report = find_untagged(
            ctx.registry,
            ctx.events,
            command.pattern,
            ctx.now(),
            command.in_use_within,
            ctx.deletions.index,
        )
    except RegistryError as exc:
        return render_error(exc, "looking for untagged images")
    return naming_registry(render_untagged(report, command.pattern, ctx.now()), ctx.named)


STORAGE_NOTE_AFTER = 10  # repositories read before the storage report says it is under way


@answer.register
def _(command: ShowStorage, ctx: BotContext, asker: Asker) -> Message:
    def progress(done: int) -> None:
        if done == STORAGE_NOTE_AFTER:
            said = (
                f"Reading the storage: {done} repositories read so far (every tagged image "
                "of each); the report follows."
            )
            ctx.responder.send(asker.response_url, render_notice(said))

    return storage_reply(ctx, command.pattern, progress)


def use_reply(ctx: BotContext, command: UseRegistry, user: str, channel: str) -> Message:
    """``/registry use [NAME]``: the channel's default registry, said or set (by an
    approver; stored, and audited in the same transaction)."""
    known = ctx.registries
    if command.name is None:
        set_here = ctx.channel_default(channel)
        return render_registry_in_use(set_here or known[0].name, known, set_here=set_here)
    named = next((r for r in known if r.name == command.name), None)
    if named is None:
        return render_notice(
            f"No registry is named {command.name!r} here; the registries: "
            + ", ".join(r.name for r in known)
            + "."
        )
    if len(known) < 2 or ctx.channel_registries is None:
        return render_notice(
            f"This bot serves one registry, {named.name}: there is none to choose."
        )
    if not ctx.deletions.approves_anywhere(user):
        return render_notice("Only approvers may set a channel's default registry.")
    first = ctx.serving(known[0].name).deletions  # the audit goes with the table it changes
    ctx.channel_registries.set(
        ChannelRegistry(channel, named.name, user, ctx.now()),
        lambda conn: first.audit_registry_chosen(conn, user, channel, named.name),
    )
    return render_registry_in_use(named.name, known, set_here=named.name, changed=True)
