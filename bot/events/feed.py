"""Taking in the registry's events: idempotent by event ID, blob events folded away,
pulls aggregated per digest (the bot's own listings ignored), each tag's latest push
kept, and every push and manifest deletion matched against the bot's own writes (never
against a User-Agent, which anyone can send): a deletion no request of the bot made is
an outside deletion, and a protected tag moved by anything but the bot is an alert.

Everything an envelope brings is written in one transaction; what the front end should
show comes back as an ``IngestResult``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection

from ..patterns import Pattern
from .models import Activity, ActivityKind, EventAction, PullStats, RegistryEvent, TagRecord
from .store import EventStore

# Whether a push or deletion the registry reports was made by a request of the bot.
IsOwn = Callable[[RegistryEvent], bool]
# Told of each outside deletion, on the connection of the transaction that stores it (so
# whatever it writes, the audit trail's entry, is written with it, or not at all).
OnOutsideDeletion = Callable[[Connection, Activity], None]
# A push's time is believed only when it is plausible: not before 2000 (the rule images'
# own dates follow), not ahead of its delivery, and not older than a week before it (the
# registry retries a delivery while the bot is away, in memory). Otherwise the time is
# unknown, and a cleanup dates the tag by its image's ``created`` instead.
EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=UTC)
AHEAD_OF_DELIVERY = timedelta(minutes=10)
BEHIND_DELIVERY = timedelta(days=7)


def plausible_time(at: datetime, arrived: datetime) -> bool:
    """Whether an event's time can be believed, given when its delivery arrived."""
    return (
        at >= EARLIEST_PLAUSIBLE and arrived - BEHIND_DELIVERY <= at <= arrived + AHEAD_OF_DELIVERY
    )


@dataclass
class IngestResult:
    """What one delivery brought that people should hear about."""

    received: int = 0
    new: int = 0
    new_ids: set[str] = field(default_factory=set)  # the events stored now (not replays)
    pushes: list[Activity] = field(default_factory=list)  # tag pushes by others than the bot
    outside_deletions: list[Activity] = field(default_factory=list)
    protected_alerts: list[Activity] = field(default_factory=list)  # moved or deleted


class RecentIds:
    """The IDs of the last ``size`` pull events, in memory: a redelivered pull is
    counted once without a database row per pull."""

    def __init__(self, size: int = 200_000) -> None:
        self.size = size
        self.ids: OrderedDict[str, None] = OrderedDict()
        self.lock = threading.Lock()

    def new(self, ids: list[str]) -> set[str]:
        """Remember ``ids``; returns those not seen before."""
        fresh = set()
        with self.lock:
            for i in ids:
                if i in self.ids:
                    continue
                fresh.add(i)
                self.ids[i] = None
            while len(self.ids) > self.size:
                self.ids.popitem(last=False)
        return fresh

    def forget(self, ids: set[str]) -> None:
        with self.lock:
            for i in ids:
                self.ids.pop(i, None)


class EventFeed:
    def __init__(
        self,
        store: EventStore,
        *,
        is_own: IsOwn,
        own_agent: str,
        protected: Pattern | Callable[[str], Pattern | None] | None = None,
        on_outside_deletion: OnOutsideDeletion | None = None,
    ) -> None:
        self.store = store
        self.is_own = is_own
        self.on_outside_deletion = on_outside_deletion
        self.own_agent = own_agent  # only tells the bot's own pulls (its listings) apart
        # A repository's protected tags (its owner's): one pattern for all, or by name.
        self.protected_for: Callable[[str], Pattern | None] = (
            protected if callable(protected) else (lambda repository: protected)
        )
        self.recent_pulls = RecentIds()
        self._lock = threading.Lock()  # one ingest at a time (it keeps per-group state)
        self._tags: dict[tuple[str, str], TagRecord] = {}
        self._changed: dict[tuple[str, str], TagRecord] = {}

    # -- what front ends read ------------------------------------------------------------
    def tag_records(self, repository: str) -> dict[str, TagRecord]:
        """Each tag's last push the events told (where it pointed, when, by whom)."""
        return self.store.tag_records(repository)

    def last_pushes(self) -> dict[str, datetime]:
        """Each repository's latest tag push the events told (with a believable time)."""
        return self.store.last_pushes()

    def pull_stats(self, repository: str) -> dict[str, PullStats]:
        """Each image's pulls the events told (the bot's own left out)."""
        return self.store.pull_stats(repository)

    def recent_activity(self, repository: str | None = None) -> list[Activity]:
        """The latest pushes and deletions, newest first."""
        return self.store.recent_activity(repository)

    def alerts(self, limit: int = 5, scanned: int = 200) -> list[Activity]:
        """The latest alerts among the last ``scanned`` lines of activity, newest first:
        deletions no request of the bot explains, and protected tags moved by anything
        but the bot."""
        found = []
        for line in self.store.recent_activity(None, scanned):
            moved = (
                line.kind == ActivityKind.PUSH
                and line.previous is not None
                and line.previous != line.digest
                and self._is_protected(line.repository, line.tag)
                and not (self.own_agent and line.user_agent.startswith(self.own_agent))
            )
            if line.kind == ActivityKind.OUTSIDE_DELETE or moved:
                found.append(line)
        return found[:limit]

    def last_changes(self) -> dict[str, datetime]:
        """When each repository last changed (a push or a deletion), as the events told."""
        return self.store.last_changes()

    def moved_away(self, repository: str | None = None) -> list[Activity]:
        """The pushes that moved a tag off an image, oldest first (of ``repository``
        only, when given)."""
        return self.store.moved_away(repository)

    def forget_seen_before(self, before: datetime) -> None:
        """Forget the IDs of events seen before ``before`` (redeliveries come within
        minutes)."""
        self.store.forget_seen_before(before)

    def _own_pull(self, event: RegistryEvent) -> bool:
        """A pull by the bot's listings, by its client's agent: a client that claims it
        falsely only hides its pulls from --keep-pulled-within."""
        return bool(self.own_agent) and event.user_agent.startswith(self.own_agent)

    def _is_protected(self, repository: str, tag: str | None) -> bool:
        protected = self.protected_for(repository) if tag else None
        return bool(tag and protected is not None and protected.search(tag))

    def ingest(self, events: list[RegistryEvent], now: datetime) -> IngestResult:
        """Store what ``events`` bring, each event once. Pushes and deletions are
        remembered by ID in the database; pulls (a hot image's thousands) only in
        memory, and counted into one row per image; blob events are dropped."""
        result = IngestResult(received=len(events))
        wanted = [
            e for e in events if not (e.is_blob or e.action == EventAction.MOUNT or not e.digest)
        ]
        pulls = [e for e in wanted if e.action == EventAction.PULL]
        fresh_pulls = self.recent_pulls.new([e.id for e in pulls])
        by_id = {e.id: e for e in wanted if e.action != EventAction.PULL}

        def write(conn: Connection, new_ids: set[str]) -> None:
            fresh = [by_id[i] for i in new_ids] + [e for e in pulls if e.id in fresh_pulls]
            fresh.sort(key=lambda e: e.at)
            result.new = len(fresh)
            result.new_ids = set(new_ids) | fresh_pulls
            self._apply(conn, fresh, result, now)

        if by_id or fresh_pulls:
            try:
                with self._lock:
                    self.store.record(list(by_id), now, write)
            except Exception:
                self.recent_pulls.forget(fresh_pulls)  # so a redelivery counts them
                raise
        return result

    def _apply(
        self, conn: Connection, events: list[RegistryEvent], result: IngestResult, arrived: datetime
    ) -> None:
        store = self.store
        pulled: dict[tuple[str, str], tuple[int, datetime]] = {}
        log: list[Activity] = []
        # Every tag pushed in this group, read once and written once.
        self._tags = store.tags_of(
            conn,
            {
                (e.repository, e.tag)
                for e in events
                if e.action == EventAction.PUSH and e.tag and not e.is_blob
            },
        )
        self._changed = {}
        for event in events:
            if event.is_blob or event.action == EventAction.MOUNT or not event.digest:
                continue  # layers and configs: folded into their manifest's events
            if event.action == EventAction.PULL:
                if not self._own_pull(event):
                    key = (event.repository, event.digest)
                    count, last = pulled.get(key, (0, event.at))
                    pulled[key] = (count + 1, max(last, event.at))
                continue
            if event.action == EventAction.PUSH:
                if event.tag:
                    log += self._push(conn, event, result, arrived)
                else:  # by digest: a manifest no tag may ever point at (told apart later)
                    log.append(self._by_digest(event, arrived))
                continue
            log += self._delete(conn, event, result)
        store.put_tags(conn, list(self._changed.values()))
        store.add_pulls(conn, pulled)
        store.add_activity(conn, log)

    def _forget(self, match: Callable[[TagRecord], bool]) -> list[TagRecord]:
        """Drop tag records pushed earlier in this group (not written yet)."""
        gone = [r for r in self._tags.values() if match(r)]
        for record in gone:
            key = (record.repository, record.tag)
            self._tags.pop(key, None)
            self._changed.pop(key, None)
        return [r for r in gone]

    def _push(
        self, conn: Connection, event: RegistryEvent, result: IngestResult, arrived: datetime
    ) -> list[Activity]:
        assert event.tag is not None and event.digest is not None
        key = (event.repository, event.tag)
        before = self._tags.get(key)
        if before is not None and before.digest == event.digest:
            return []  # pushed again, same image: nothing moved
        pushed_at = event.at if plausible_time(event.at, arrived) else None
        record = TagRecord(
            event.repository, event.tag, event.digest, pushed_at, event.actor, event.user_agent
        )
        self._tags[key] = self._changed[key] = record
        entry = Activity(
            pushed_at or arrived,  # a time that can't be believed is shown as its arrival
            ActivityKind.PUSH,
            event.repository,
            event.digest,
            event.tag,
            before.digest if before else None,
            event.actor,
            event.user_agent,
            event.size,
        )
        if not self.is_own(event):
            result.pushes.append(entry)
            if before is not None and self._is_protected(event.repository, event.tag):
                result.protected_alerts.append(entry)
        return [entry]

    @staticmethod
    def _by_digest(event: RegistryEvent, arrived: datetime) -> Activity:
        """A manifest pushed by digest: recorded, never announced (an index's platforms
        and signatures arrive this way, beside the untagged images of their own)."""
        assert event.digest is not None
        at = event.at if plausible_time(event.at, arrived) else arrived
        return Activity(
            at,
            ActivityKind.PUSH,
            event.repository,
            event.digest,
            actor=event.actor,
            user_agent=event.user_agent,
            size=event.size,
        )

    def _delete(
        self, conn: Connection, event: RegistryEvent, result: IngestResult
    ) -> list[Activity]:
        assert event.digest is not None
        if event.tag:
            # Distribution sends one delete event per tag of a deleted manifest, besides
            # the manifest's own; the manifest's event says what matters.
            self.store.drop_tags(conn, event.repository, tag=event.tag)
            self._forget(lambda r: r.repository == event.repository and r.tag == event.tag)
            return []
        records = self.store.drop_tags(conn, event.repository, digest=event.digest)
        records += self._forget(
            lambda r: r.repository == event.repository and r.digest == event.digest
        )
        records = list({r.tag: r for r in records}.values())
        gone = [r.tag for r in records]
        explained = self.is_own(event)
        kind = ActivityKind.DELETE if explained else ActivityKind.OUTSIDE_DELETE
        entry = Activity(
            event.at,
            kind,
            event.repository,
            event.digest,
            ", ".join(sorted(gone)) or None,
            None,
            event.actor,
            event.user_agent,
        )
        if not explained:
            result.outside_deletions.append(entry)
            if self.on_outside_deletion is not None:
                self.on_outside_deletion(conn, entry)
            if any(self._is_protected(event.repository, t) for t in gone):
                result.protected_alerts.append(entry)
        return [entry]
