"""The cleanup plan store: each image of a cleanup request with the tags pinned at
preview time, and its state through execution (every change a compare-and-set, so a
resumed or concurrent run never deletes a digest twice)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, insert, select, update

from .models import CleanupItem, ItemState
from .schema import cleanup_items


class CleanupStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, request_id: str, items: Iterable[CleanupItem]) -> None:
        rows = [
            {
                "request_id": request_id,
                "repository": i.repository,
                "digest": i.digest,
                "tags": list(i.tags),
                "size": i.size,
                "state": i.state.value,
                "detail": i.detail.replace("\x00", ""),
            }
            for i in items
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(cleanup_items), rows)

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
            CleanupItem(r.repository, r.digest, tuple(r.tags), ItemState(r.state), r.size, r.detail)
            for r in rows
        ]

    def move(
        self,
        request_id: str,
        item: CleanupItem,
        from_states: Iterable[ItemState],
        to: ItemState,
        detail: str = "",
    ) -> bool:
        """Compare-and-set one item's state; True when this call made the change."""
        t = cleanup_items
        with self.engine.begin() as conn:
            result = conn.execute(
                update(t)
                .where(
                    t.c.request_id == request_id,
                    t.c.repository == item.repository,
                    t.c.digest == item.digest,
                    t.c.state.in_([s.value for s in from_states]),
                )
                .values(state=to.value, detail=detail.replace("\x00", ""))
            )
            return result.rowcount == 1

    def deletes(self, repository: str, digest: str) -> bool:
        """Whether a cleanup is deleting, or deleted, this digest."""
        t = cleanup_items
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(t.c.digest)
                    .where(
                        t.c.repository == repository,
                        t.c.digest == digest,
                        t.c.state.in_([ItemState.DELETING.value, ItemState.DELETED.value]),
                    )
                    .limit(1)
                ).first()
                is not None
            )

    def move_many(
        self,
        request_id: str,
        changes: list[tuple[CleanupItem, ItemState, str]],
        from_states: Iterable[ItemState],
    ) -> list[bool]:
        """Several compare-and-sets (item, new state, detail) in one transaction; for
        each, whether this call made it."""
        t = cleanup_items
        sources = [s.value for s in from_states]
        made = []
        with self.engine.begin() as conn:
            for item, to, detail in changes:
                result = conn.execute(
                    update(t)
                    .where(
                        t.c.request_id == request_id,
                        t.c.repository == item.repository,
                        t.c.digest == item.digest,
                        t.c.state.in_(sources),
                    )
                    .values(state=to.value, detail=detail.replace("\x00", ""))
                )
                made.append(result.rowcount == 1)
        return made
