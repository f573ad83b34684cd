"""Building, once per process, everything the listeners and jobs share: the Slack Web
API client, the registry client, the stores on the one database, the deletion service,
the event feed and the cleanup policies; and, where jobs run, the sweeper and the
policies' scheduler."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx
from sqlalchemy import Connection

from ..blobindex import BlobIndex
from ..config import RegistryEntry, Settings
from ..database import registry_database_urls
from ..deletions import (
    ApproverPolicy,
    DeletionService,
    Owners,
    RepoUsage,
    WriteAction,
    global_terms,
    open_store,
)
from ..events import Activity, EventAction, EventFeed, EventStore, RegistryEvent
from ..policies import PolicyService, PolicyStore
from ..registry import USER_AGENT, LRUCache, RegistryClient
from ..storage import StorageHistory
from .channel_registries import ChannelRegistries
from .context import BotContext, RegistryRoom
from .deleting import start_sweeper
from .index_refresh import start_index_refresh
from .messages import SlackMessages
from .policy_runs import start_scheduler
from .registry_choice import KnownRegistry
from .registry_events import Announcer
from .storage_snapshots import start_snapshots
from .web import web_client


def build_context(settings: Settings, *, sweeper: bool) -> BotContext:
    """Everything the listeners and jobs share, built once per process (``sweeper``:
    in the process that runs the jobs, which also expires and recovers requests)."""
    assert settings.slack is not None
    web = web_client(settings.slack.bot_token, settings.slack.api_url)
    d = settings.deletions

    def group_members(group: str) -> list[str]:
        return list(web.usergroups_users_list(usergroup=group).get("users") or [])

    cache = LRUCache(settings.registry.cache_bytes)  # one memory bound for every registry
    served = settings.served
    urls = registry_database_urls(d.database_url, [entry.name for entry in served])
    rooms = tuple(
        _room(settings, entry, url, group_members, cache)
        for entry, url in zip(served, urls, strict=True)
    )
    first = rooms[0]
    messages = SlackMessages(first.deletions.store.engine)
    messages.ensure_schema()
    channel_registries = ChannelRegistries(first.deletions.store.engine)
    channel_registries.ensure_schema()
    ctx = BotContext(
        registry=first.registry,
        web=web,
        deletions=first.deletions,
        messages=messages,
        policies=first.policies,
        history=first.history,
        approvers=list(d.approvers),
        events_recorded=first.events_recorded,
        storage_report_channel=settings.policies.report_channel,
        approval_channel=d.approval_channel,
        audit_channel=d.audit_channel,
        events=first.events,
        rooms=rooms,
        serving_name=first.name,
        channel_registries=channel_registries,
    )
    ctx.announcer = Announcer(ctx, settings.events.channel)
    if sweeper:
        # Sweep often enough that a short APPROVAL_TTL expires on time, and an
        # interrupted execution is settled soon after its lease runs out.
        often = min(d.ttl.total_seconds() / 4, d.execution_lease.total_seconds() / 2)
        for each in ctx.every_registry():
            start_sweeper(each, interval=min(30.0, max(0.5, often)))
            start_scheduler(each)
            if settings.policies.storage_snapshots:
                start_snapshots(each)
            if each.events_recorded:  # the events say what changed
                start_index_refresh(each)
    return ctx


def _room(
    settings: Settings,
    entry: RegistryEntry,
    url: str,
    group_members: Callable[[str], list[str]],
    cache: LRUCache,
) -> RegistryRoom:
    """One registry's client (on the shared ``cache``) and rooms, on its own tables (at
    ``url``: the first's is DATABASE_URL)."""
    d = settings.deletions
    registry = RegistryClient(entry.settings, cache=cache)
    store = open_store(url)
    event_store = EventStore(store.engine)
    event_store.ensure_schema()
    recorded = entry.events_token is not None

    def usage(repository: str) -> RepoUsage:
        """Push and pull times the registry's events told, for cleanups."""
        pushes = feed.tag_records(repository)
        pulls = feed.pull_stats(repository)
        left: dict[str, datetime] = {}
        left_by: dict[str, str] = {}
        for push in feed.moved_away(repository):
            digest = push.may_leave_untagged
            if digest is not None:
                left[digest] = push.at
                if push.tag:
                    left_by[digest] = push.tag
        return RepoUsage(
            {t: (r.digest, r.pushed_at) for t, r in pushes.items()},
            {d: p.last_pulled_at for d, p in pulls.items()},
            left,
            left_by,
        )

    owners = Owners(
        settings.owners,
        default=global_terms(
            d.approver_users, d.approver_groups, d.approvals_required, d.protected_tags
        ),
        registry=entry.name,
    )
    service = DeletionService(
        store,
        registry,
        ApproverPolicy(d.approver_users, d.approver_groups, group_members),
        owners=owners,
        approvals_required=d.approvals_required,
        ttl=d.ttl,
        protected=d.protected_tags,
        lease=d.execution_lease,
        undo_retention=d.undo_retention,
        usage=usage,
        # With the registry's events recorded, they say which repositories changed
        # since the index read them.
        index=BlobIndex(store.engine, changes=event_store.last_changes if recorded else None),
    )

    def is_own(event: RegistryEvent) -> bool:
        """A push or deletion the registry reports, matched against the bot's writes."""
        action = WriteAction.DELETE if event.action == EventAction.DELETE else WriteAction.PUSH
        return service.is_own_write(
            event.repository, event.digest or "", action, event.tag, event.at
        )

    def audit_outside_deletion(conn: Connection, deletion: Activity) -> None:
        """The audit trail's entry for a deletion no request made, in the transaction
        that stores the deletion's event."""
        service.record_outside_deletion(
            conn,
            deletion.repository,
            deletion.digest,
            deletion.tag,
            deletion.actor,
            deletion.user_agent,
        )

    feed = EventFeed(
        event_store,
        is_own=is_own,
        own_agent=USER_AGENT.split("/")[0] + "/",
        protected=lambda repository: service.terms_for(repository).protected,
        on_outside_deletion=audit_outside_deletion,
    )
    policy_store = PolicyStore(store.engine)
    policy_store.ensure_schema()
    policies = PolicyService(policy_store, service, zone=settings.policies.timezone)
    history = StorageHistory(store.engine)
    history.ensure_schema()
    host = httpx.URL(entry.settings.url).netloc.decode()
    return RegistryRoom(
        KnownRegistry(entry.name, host),
        registry,
        service,
        feed,
        policies,
        history,
        events_recorded=recorded,
    )
