"""The undo store: the manifests each executed deletion took, byte for byte, kept in
SQL until ``UNDO_RETENTION`` runs out, so a restore can put them back while the
registry still has their blobs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, select

from .models import SavedManifest
from .schema import undo_manifests


class UndoStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def save(
        self, request_id: str, manifests: Iterable[SavedManifest], at: datetime, until: datetime
    ) -> None:
        """Keep ``manifests`` for ``request_id`` (in one transaction)."""
        rows = [
            {
                "request_id": request_id,
                "repository": m.repository,
                "image": m.image,
                "digest": m.digest,
                "media_type": m.media_type,
                "body": m.body,
                "tags": list(m.tags),
                "position": m.position,
                "stored_at": at,
                "expires_at": until,
            }
            for m in manifests
        ]
        if rows:
            with self.engine.begin() as conn:
                conn.execute(insert(undo_manifests), rows)

    def load(self, request_id: str, now: datetime) -> list[SavedManifest]:
        """What ``request_id`` deleted and is still kept, in restore order."""
        t = undo_manifests
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t)
                .where(t.c.request_id == request_id, t.c.expires_at > now)
                .order_by(t.c.repository, t.c.image, t.c.position)
            ).all()
        return [
            SavedManifest(
                r.repository,
                r.image,
                r.digest,
                r.media_type,
                bytes(r.body),
                tuple(r.tags),
                r.position,
            )
            for r in rows
        ]

    def copies_of(self, repository: str, image: str, now: datetime) -> list[SavedManifest]:
        """The newest kept copy of ``repository@image`` (from any deletion)."""
        t = undo_manifests
        with self.engine.connect() as conn:
            newest = conn.execute(
                select(t.c.request_id)
                .where(t.c.repository == repository, t.c.image == image, t.c.expires_at > now)
                .order_by(t.c.stored_at.desc())
                .limit(1)
            ).scalar()
        if newest is None:
            return []
        return [m for m in self.load(newest, now) if m.image == image]

    def kept_until(self, request_id: str, now: datetime) -> datetime | None:
        """Until when ``request_id`` can be undone (None: nothing kept, or expired)."""
        t = undo_manifests
        with self.engine.connect() as conn:
            until = conn.execute(
                select(func.min(t.c.expires_at)).where(
                    t.c.request_id == request_id, t.c.expires_at > now
                )
            ).scalar()
        return until  # in UTC: min() keeps the column's type

    def purge(self, now: datetime) -> int:
        """Drop what is past its retention; returns how many manifests went."""
        with self.engine.begin() as conn:
            return conn.execute(
                delete(undo_manifests).where(undo_manifests.c.expires_at <= now)
            ).rowcount
