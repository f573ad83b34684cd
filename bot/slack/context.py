"""What every listener needs: the registry client, the responder, a clock, and where
the work after ``ack()`` runs; with several registries served, a view of it per registry
(``serving``), each with that registry's client and rooms.

Listeners run inline (``process_before_response``), in the HTTP server's event loop
(uvicorn, through Bolt's ASGI adapter) or on Socket Mode's thread: one that did its
registry work there would hold up every other acknowledgement behind a slow registry.
So listeners acknowledge, hand the work over as a ``Job`` (``background``) and return.
The ``runner`` runs it: on a pool of this process, or on the worker process, where its
CPU does not compete with the acknowledgements for the interpreter (``workers``).

Why not Bolt's lazy listeners (``ack=`` plus ``lazy=[...]`` on a larger
``listener_executor``)? They would acknowledge as fast: ``bench/capacity_bench.py``
measured the same acknowledgement times for 200 commands at once whichever way Bolt
runs the listener (median 138 and 146 ms, within the noise). But Bolt's lazy runner
neither catches a lazy function's exception nor passes it to ``@app.error``: it dies
in the executor, unseen, and the person who asked gets no answer. The runners log a
crash and answer at the job's ``response_url``; never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from slack_sdk import WebClient

from ..deletions import DeletionService
from ..events import EventFeed
from ..policies import PolicyService
from ..registry import NameIndex, RegistryClient, TagIndex
from ..storage import StorageHistory
from .channel_registries import ChannelRegistries
from .home_views import HomeViews
from .jobs import Job
from .messages import SlackMessages
from .registry_choice import KnownRegistry
from .web import Responder

if TYPE_CHECKING:
    from .registry_events import Announcer

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Runner(Protocol):
    """Where jobs run (``workers``: this process's pool, or the worker process)."""

    def submit(self, job: Job) -> None: ...


@dataclass
class RegistryRoom:
    """One registry this process serves: what commands may call it, its client, and the
    rooms its tables belong to (its own: ``database.registry_database_url``)."""

    known: KnownRegistry
    registry: RegistryClient
    deletions: DeletionService
    events: EventFeed
    policies: PolicyService
    history: StorageHistory
    events_recorded: bool = False
    names: NameIndex | None = None
    tags: TagIndex | None = None

    @property
    def name(self) -> str:
        return self.known.name


@dataclass
class BotContext:
    """What the listeners and jobs share, built once per process (``wiring``). The
    ``runner`` and ``announcer`` are set once the context exists (they use it)."""

    registry: RegistryClient
    web: WebClient
    deletions: DeletionService
    messages: SlackMessages
    events: EventFeed  # the registry's event feed (records and activity)
    policies: PolicyService  # cleanup policies and their runs
    history: StorageHistory  # storage over time: a snapshot a day
    responder: Responder = field(default_factory=Responder)
    now: Callable[[], datetime] = _now
    approvers: list[str] = field(default_factory=list)
    events_recorded: bool = False  # the registry's notifications are taken (a token is set)
    storage_report_channel: str | None = None  # the weekly storage report's channel
    approval_channel: str | None = None
    audit_channel: str | None = None
    runner: Runner | None = None
    announcer: Announcer | None = None  # what the channel sees of events, where jobs run
    home: HomeViews = field(default_factory=HomeViews)  # who keeps a Home view here
    names: NameIndex | None = None  # the pickers' names, where Slack's requests come in
    tags: TagIndex | None = None  # the tag picker's, of the repositories it was asked about
    # The registries served, the first the default (empty: the one ``registry`` is);
    # ``registry``, ``deletions``, ``events``, ``policies``, ``history``, ``names`` and
    # ``tags`` are those of the one this context serves (``serving``).
    rooms: tuple[RegistryRoom, ...] = ()
    serving_name: str = "default"
    channel_registries: ChannelRegistries | None = None  # the channels' defaults (``use``)

    @property
    def registry_url(self) -> str:
        """The registry served, as replies show it (its name too, when there are more)."""
        if self.several:
            return f"{self.registry.display_url} ({self.serving_name})"
        return self.registry.display_url

    @property
    def named(self) -> str | None:
        """The registry's name for what a button carries, when more than one is served."""
        return self.serving_name if self.several else None

    @property
    def several(self) -> bool:
        """More than one registry is served: every reply names its registry."""
        return len(self.rooms) > 1

    @property
    def registries(self) -> tuple[KnownRegistry, ...]:
        """The registries commands may name (the one served, when none were listed)."""
        if self.rooms:
            return tuple(room.known for room in self.rooms)
        host = self.registry.display_url.split("://", 1)[-1].split("/", 1)[0]
        return (KnownRegistry("default", host),)

    @property
    def served(self) -> tuple[tuple[str, str], ...]:
        """Each registry served, by name and host (for the help)."""
        return tuple((r.name, r.host) for r in self.registries)

    def serving(self, name: str | None) -> BotContext:
        """This context for the registry named ``name`` (itself: for its own, for None,
        or for a name no longer configured)."""
        if name is None or name == self.serving_name:
            return self
        room = next((r for r in self.rooms if r.name == name), None)
        if room is None:
            return self
        return replace(
            self,
            registry=room.registry,
            deletions=room.deletions,
            events=room.events,
            policies=room.policies,
            history=room.history,
            events_recorded=room.events_recorded,
            names=room.names,
            tags=room.tags,
            serving_name=room.name,
        )

    def channel_default(self, channel: str) -> str | None:
        """The registry ``channel`` uses when a command names none (None: the first),
        once more than one is served."""
        if not self.several or self.channel_registries is None or not channel:
            return None
        chosen = self.channel_registries.get(channel)
        return chosen.registry if chosen is not None else None

    def every_registry(self) -> list[BotContext]:
        """This context for each registry served, the first first."""
        return [self.serving(room.name) for room in self.rooms] or [self]

    def for_request(self, request_id: str) -> BotContext:
        """This context for the registry whose tables hold the request ``request_id``
        (each registry's requests are its own; an ID unknown everywhere: this one)."""
        if len(self.rooms) < 2 or self.deletions.request(request_id) is not None:
            return self
        for room in self.rooms:
            if room.name != self.serving_name and room.deletions.request(request_id):
                return self.serving(room.name)
        return self

    def background(self, job: Job) -> None:
        """Run ``job`` after the acknowledgement, where the runner runs jobs."""
        if self.runner is None:
            raise RuntimeError("no runner: the context was built without one")
        self.runner.submit(job)
