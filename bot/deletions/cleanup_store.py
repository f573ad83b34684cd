"""The cleanup plan store: each image of a cleanup request with the tags pinned at
preview time, and its state through execution (every change a compare-and-set, so a
resumed or concurrent run never deletes a digest twice)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from .models import CleanupItem, ItemState, State
from .outcomes import Fact
from .own_writes import OwnWrites, Write, WriteAction
from .retention import KeptTag
from .schema import cleanup_items, requests

# Digests per statement: well under every backend's limit on bound parameters.
_IN_LIST = 500


def _detail(fact: Fact | None, kept: tuple[KeptTag, ...] = ()) -> dict[str, object]:
    detail: dict[str, object] = {}
    if fact is not None:
        detail["fact"] = fact.as_data()
    if kept:
        detail["kept"] = [k.as_data() for k in kept]
    return detail


class CleanupStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writes = OwnWrites(engine)

    def add(self, request_id: str, items: Iterable[CleanupItem]) -> None:
        rows = [
            {
                "request_id": request_id,
                "repository": i.repository,
                "digest": i.digest,
                "tags": list(i.tags),
                "size": i.size,
                "state": i.state.value,
                "detail": _detail(i.fact, i.kept),
            }
            for i in items
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(cleanup_items), rows)

    def repositories(self, request_id: str, *, without: ItemState) -> list[str]:
        """The repositories of a plan's images not in state ``without``, sorted."""
        t = cleanup_items
        query = (
            select(t.c.repository)
            .where(t.c.request_id == request_id, t.c.state != without.value)
            .distinct()
            .order_by(t.c.repository)
        )
        with self.engine.connect() as conn:
            return [row.repository for row in conn.execute(query)]

    def items(
        self, request_id: str, states: Iterable[ItemState] | None = None
    ) -> list[CleanupItem]:
        t = cleanup_items
        query = select(t).where(t.c.request_id == request_id)
        if states is not None:
            query = query.where(t.c.state.in_([s.value for s in states]))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.c.repository, t.c.digest)).all()
        return [
            CleanupItem(
                r.repository,
                r.digest,
                tuple(r.tags),
                ItemState(r.state),
                r.size,
                Fact.from_data(r.detail["fact"]) if r.detail and r.detail.get("fact") else None,
                tuple(KeptTag.from_data(k) for k in (r.detail or {}).get("kept", ())),
            )
            for r in rows
        ]

    def move_many(
        self,
        request_id: str,
        changes: list[tuple[CleanupItem, ItemState, Fact | None]],
        from_states: Iterable[ItemState],
        *,
        token: int | None = None,
        at: datetime | None = None,
    ) -> list[bool]:
        """Several compare-and-sets (item, new state, why) in one transaction; for
        each, whether this call made it. Changes to the same state with the same fact
        (most of a batch) go in one statement that returns the rows it moved. Given the
        ``token`` of the claim on the request, nothing moves unless that claim still
        holds it (a stale holder's writes are refused). Items moved to ``deleting`` are
        recorded, in the same transaction, as the bot's own DELETEs to come (``at``)."""
        t = cleanup_items
        sources = [s.value for s in from_states]
        fence = []
        if token is not None:
            fence.append(
                select(requests.c.id)
                .where(
                    requests.c.id == request_id,
                    requests.c.state == State.EXECUTING.value,
                    requests.c.claim_token == token,
                )
                .exists()
            )
        groups: dict[tuple[str, ItemState, Fact | None], list[str]] = {}
        for item, to, fact in changes:
            groups.setdefault((item.repository, to, fact), []).append(item.digest)
        moved: set[tuple[str, str]] = set()
        with self.engine.begin() as conn:
            for (repository, to, fact), digests in groups.items():
                for start in range(0, len(digests), _IN_LIST):
                    rows = conn.execute(
                        update(t)
                        .where(
                            t.c.request_id == request_id,
                            t.c.repository == repository,
                            t.c.digest.in_(digests[start : start + _IN_LIST]),
                            t.c.state.in_(sources),
                            *fence,
                        )
                        .values(state=to.value, detail=_detail(fact))
                        .returning(t.c.digest)
                    )
                    found = [(repository, d) for d in rows.scalars()]
                    moved.update(found)
                    if to == ItemState.DELETING and at is not None:
                        self.writes.record(
                            request_id,
                            [Write(r, d, WriteAction.DELETE) for r, d in found],
                            at,
                            conn,
                        )
        made = []
        for item, _, _ in changes:
            key = (item.repository, item.digest)
            made.append(key in moved)
            moved.discard(key)  # an item listed twice is counted once
        return made
