"""The bot's own writes to the registry, and telling them from anyone else's.

Every write a request makes (a manifest or blob DELETE, a manifest PUT: a restore, a
tag removal's placeholder) is recorded here before it is sent. The registry's events
are matched against the record: a deletion is the bot's own only when one of its
requests deleted exactly that digest shortly before the registry says it happened, and
did not put it back since; a push only when a request pushed exactly that digest (to
that tag). A client's User-Agent proves nothing: anyone can send ``registry-bot/9.9``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, Engine, delete, insert, select

from .schema import own_writes

# The registry's clock and the bot's may disagree by this much.
CLOCK_SKEW = timedelta(minutes=2)
# A write sent this long after it was recorded still counts (a cleanup records a batch
# before its DELETEs go out, each at most REGISTRY_TIMEOUT long).
WINDOW = timedelta(minutes=10)
# Records older than this are dropped (their events came long ago).
KEPT_FOR = timedelta(days=7)


class WriteAction(StrEnum):
    PUSH = "push"
    DELETE = "delete"


@dataclass(frozen=True)
class Write:
    """One write a request is about to make to the registry: a push (by digest, or to
    ``tag``), a manifest or blob deleted by digest, or (a delete with ``tag``) one tag
    deleted on its own."""

    repository: str
    digest: str
    action: WriteAction
    tag: str | None = None


# Told of writes before they are sent; raising stops them (nothing is sent).
BeforeWrite = Callable[[list[Write]], None]


class OwnWrites:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(
        self,
        request_id: str,
        writes: Iterable[Write],
        at: datetime,
        conn: Connection | None = None,
    ) -> None:
        """Record ``writes`` (in ``conn``'s transaction when given, so a batch's claim
        and its record are one)."""
        rows = [
            {
                "request_id": request_id,
                "repository": w.repository,
                "digest": w.digest,
                "action": w.action.value,
                "tag": w.tag,
                "at": at,
            }
            for w in writes
        ]
        if not rows:
            return
        if conn is not None:
            conn.execute(insert(own_writes), rows)
            return
        with self.engine.begin() as fresh:
            fresh.execute(insert(own_writes), rows)

    def explains(
        self,
        repository: str,
        digest: str,
        action: WriteAction,
        tag: str | None,
        at: datetime,
    ) -> bool:
        """Whether the registry's ``action`` on ``repository@digest`` (``tag``, for a
        push by tag) at ``at`` was the bot's own: the latest write the bot recorded for
        that digest up to then is this very one, made at most ``WINDOW`` before."""
        t = own_writes
        query = (
            select(t.c.action, t.c.tag, t.c.at)
            .where(
                t.c.repository == repository,
                t.c.digest == digest,
                t.c.at <= at + CLOCK_SKEW,
                t.c.at >= at - WINDOW - CLOCK_SKEW,
            )
            .order_by(t.c.at.desc(), t.c.id.desc())
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        if action == WriteAction.DELETE:
            # Put back (pushed) after its deletion: a later deletion is someone else's.
            # A tag deleted on its own deleted no manifest.
            kept = [r for r in rows if r.action == WriteAction.PUSH.value or r.tag is None]
            return bool(kept) and kept[0].action == WriteAction.DELETE.value
        return any(r.action == WriteAction.PUSH.value and r.tag == tag for r in rows)

    def purge(self, now: datetime) -> int:
        """Drop records past ``KEPT_FOR``; returns how many went."""
        with self.engine.begin() as conn:
            return conn.execute(delete(own_writes).where(own_writes.c.at < now - KEPT_FOR)).rowcount
