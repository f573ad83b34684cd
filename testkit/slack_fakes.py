"""Stand-ins for Slack below the HTTP level, for unit tests of the Slack layer that call
its functions directly (as the Bolt starter template's tests call its listeners): a Web
client that records the calls the bot makes and answers ok, a responder that records
what it is told to send, a runner that records the jobs handed over, a Bolt ``ack``,
and a ``BotContext`` built over real stores (SQLite or PostgreSQL) and any registry
client (the in-memory ``FakeRegistry``'s, or a real one's)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.database import registry_database_url
from bot.deletions import (
    ApproverPolicy,
    DeletionService,
    OwnerRule,
    Owners,
    global_terms,
    open_store,
)
from bot.events import EventFeed, EventStore
from bot.policies import PolicyService, PolicyStore
from bot.registry import RegistryClient
from bot.slack.channel_registries import ChannelRegistries
from bot.slack.context import BotContext, RegistryRoom
from bot.slack.home_views import HomeViews
from bot.slack.jobs import Job
from bot.slack.messages import SlackMessages
from bot.slack.registry_choice import KnownRegistry
from bot.slack.render import Message
from bot.storage import StorageHistory
from testkit.deletions import APPROVER, APPROVER2, REQUESTER


@dataclass
class WebCall:
    method: str  # "chat.postMessage", "chat.update"
    args: dict[str, Any]

    @property
    def text(self) -> str:
        """Everything a person reads in it (the fallback text and the blocks)."""
        return f"{self.args.get('text', '')} {self.args.get('blocks', '')}"


class FakeWeb:
    """The Web API calls the Slack layer makes, recorded; each answers ok (a posted
    message gets a new ``ts``). ``fail`` makes the next calls of a method raise."""

    def __init__(self) -> None:
        self.calls: list[WebCall] = []
        self._ts = itertools.count(1)
        self.fail: dict[str, Exception] = {}

    def _record(self, method: str, args: dict[str, Any]) -> None:
        if method in self.fail:
            raise self.fail[method]
        self.calls.append(WebCall(method, args))

    def chat_postMessage(self, **args: Any) -> dict[str, Any]:
        ts = f"1700000000.{next(self._ts):06d}"
        self._record("chat.postMessage", {**args, "ts": ts})
        return {"ok": True, "channel": args["channel"], "ts": ts}

    def chat_update(self, **args: Any) -> dict[str, Any]:
        self._record("chat.update", args)
        return {"ok": True, "channel": args["channel"], "ts": args["ts"]}

    def usergroups_users_list(self, **args: Any) -> dict[str, Any]:
        return {"ok": True, "users": []}

    def views_publish(self, **args: Any) -> dict[str, Any]:
        """A Home view published: answered with the view and a new hash."""
        self._record("views.publish", args)
        return {"ok": True, "view": {**args["view"], "hash": f"hash-{next(self._ts)}"}}

    def views_open(self, **args: Any) -> dict[str, Any]:
        """A modal opened: answered with the view (its ID) as Slack does."""
        self._record("views.open", args)
        return {"ok": True, "view": {**args["view"], "id": f"V{next(self._ts)}"}}

    def views_update(self, **args: Any) -> dict[str, Any]:
        """A modal updated: answered with the view and a new hash."""
        self._record("views.update", args)
        return {"ok": True, "view": {**args["view"], "hash": f"hash-{next(self._ts)}"}}

    def chat_postEphemeral(self, **args: Any) -> dict[str, Any]:
        self._record("chat.postEphemeral", args)
        return {"ok": True, "message_ts": f"1700000000.{next(self._ts):06d}"}

    def modals(self) -> list[WebCall]:
        """The modals opened, oldest first."""
        return [c for c in self.calls if c.method == "views.open"]

    def homes(self, user: str) -> list[WebCall]:
        """The Home views published to ``user``, oldest first."""
        return [c for c in self.calls if c.method == "views.publish" and c.args["user_id"] == user]

    def posts(self, channel: str | None = None, thread_ts: str | None = None) -> list[WebCall]:
        """The messages posted (in ``channel``; in the thread under ``thread_ts``)."""
        return [
            c
            for c in self.calls
            if c.method == "chat.postMessage"
            and (channel is None or c.args["channel"] == channel)
            and (thread_ts is None or c.args.get("thread_ts") == thread_ts)
        ]

    def updates(self, ts: str) -> list[WebCall]:
        """The updates of the message ``ts``."""
        return [c for c in self.calls if c.method == "chat.update" and c.args["ts"] == ts]


@dataclass
class Reply:
    url: str
    message: Message
    replace_original: bool


class FakeResponder:
    """What the bot sends to ``response_url``s, recorded."""

    def __init__(self) -> None:
        self.sent: list[Reply] = []

    def send(self, url: str, message: Message, *, replace_original: bool = False) -> bool:
        self.sent.append(Reply(url, message, replace_original))
        return True

    def texts(self, url: str | None = None) -> list[str]:
        return [r.message.text for r in self.sent if url is None or r.url == url]


@dataclass
class RecordingRunner:
    """Jobs handed over after an acknowledgement, kept (not run)."""

    jobs: list[Job] = field(default_factory=list)

    def submit(self, job: Job) -> None:
        self.jobs.append(job)


class Ack:
    """Bolt's ``ack``: records each call (and what it answered with)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def bot_context(
    database_url: str,
    registry: RegistryClient,
    *,
    approvers: tuple[str, ...] = (APPROVER, APPROVER2),
    required: int = 1,
    clock: Callable[[], datetime] | None = None,
    channel: str | None = None,
    audit_channel: str | None = None,
    owner_rules: tuple[OwnerRule, ...] = (),
) -> BotContext:
    """A context over real stores on ``database_url`` and ``registry``, with a
    ``FakeWeb``, a ``FakeResponder`` and a ``RecordingRunner``."""
    store = open_store(database_url)
    options: dict[str, Any] = {"clock": clock} if clock else {}
    policy = ApproverPolicy(
        [a for a in approvers if not a.startswith("S")], [a for a in approvers if a.startswith("S")]
    )
    owners = Owners(owner_rules, default=global_terms(policy.users, policy.groups, required))
    service = DeletionService(
        store, registry, policy, approvals_required=required, owners=owners, **options
    )
    messages = SlackMessages(store.engine)
    messages.ensure_schema()
    events = EventStore(store.engine)
    events.ensure_schema()
    policies = PolicyStore(store.engine)
    policies.ensure_schema()
    history = StorageHistory(store.engine, **options)
    history.ensure_schema()
    ctx = BotContext(
        registry=registry,
        web=FakeWeb(),  # type: ignore[arg-type]
        deletions=service,
        messages=messages,
        events=EventFeed(events, is_own=lambda e: False, own_agent="registry-bot/"),
        policies=PolicyService(policies, service, **options),
        history=history,
        responder=FakeResponder(),  # type: ignore[arg-type]
        approvers=list(approvers),
        approval_channel=channel,
        audit_channel=audit_channel,
        home=HomeViews(debounce=0),  # published at once: the tests read each view
    )
    ctx.runner = RecordingRunner()
    return ctx


def several_registries(
    database_url: str, registries: dict[str, RegistryClient], **options: Any
) -> BotContext:
    """A context serving each of ``registries`` (by name, the first the default), each
    on its own tables as the bot keeps them (``registry_database_url``), with the
    channels' defaults: ``bot_context``'s for each, put together as ``wiring`` does."""
    contexts, rooms = [], []
    for i, (name, client) in enumerate(registries.items()):
        url = database_url if i == 0 else registry_database_url(database_url, name)
        each = bot_context(url, client, **options)
        host = client.display_url.split("://", 1)[1]
        contexts.append(each)
        rooms.append(
            RegistryRoom(
                KnownRegistry(name, host),
                client,
                each.deletions,
                each.events,
                each.policies,
                each.history,
                events_recorded=True,
            )
        )
    channels = ChannelRegistries(contexts[0].deletions.store.engine)
    channels.ensure_schema()
    return replace(
        contexts[0],
        events_recorded=True,
        rooms=tuple(rooms),
        serving_name=rooms[0].name,
        channel_registries=channels,
    )


def close(ctx: BotContext) -> None:
    for each in ctx.every_registry():
        each.registry.close()
        each.deletions.store.engine.dispose()


def requested_on(
    ctx: BotContext, fake: Any, ref: str, reason: str, *, channel: str, url: str
) -> str:
    """``ref`` pushed to ``fake`` (an in-memory registry), its deletion previewed on
    ``ctx``'s registry and requested (Request deletion clicked): the request's ID."""
    from bot.registry import parse_reference
    from bot.slack import deleting
    from bot.slack.buttons import ACTION_SUBMIT
    from bot.slack.command_table import Delete

    repository, tag = ref.split(":")
    fake.push(repository, [tag], "content of " + ref)
    message = deleting.delete_reply(ctx, Delete(parse_reference(ref), reason), REQUESTER, channel)
    (button,) = [
        e
        for b in message.blocks
        for e in getattr(b, "elements", None) or []
        if getattr(e, "action_id", None) == ACTION_SUBMIT
    ]
    deleting.submit(ctx, str(button.value), REQUESTER, url)
    return str(button.value)
