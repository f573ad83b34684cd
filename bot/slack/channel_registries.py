"""Each channel's default registry, set with ``/registry use NAME``: kept in a table
of the Slack layer's own, ``slack_channel_registries``, in the first registry's
database, so every replica and every restart sees the same default; the change and its
audit event are written in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Engine, MetaData, Table, select

from ..database import CleanString, UTCDateTime, migrate, upsert

metadata = MetaData()
channel_registries = Table(
    "slack_channel_registries",
    metadata,
    Column("channel", CleanString(32), primary_key=True),
    Column("registry", CleanString(32), nullable=False),
    Column("set_by", CleanString(32), nullable=False),
    Column("set_at", UTCDateTime(), nullable=False),
)
ROOM = "channel registries"


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[channel_registries])


@dataclass(frozen=True)
class ChannelRegistry:
    """A channel's default registry, who set it and when."""

    channel: str
    registry: str
    set_by: str
    set_at: datetime


class ChannelRegistries:
    """The channels' default registries."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        migrate(self.engine, ROOM, [(1, _v1)])

    def get(self, channel: str) -> ChannelRegistry | None:
        """The default registry of ``channel`` (None: none was set)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(channel_registries).where(channel_registries.c.channel == channel)
            ).first()
        return ChannelRegistry(row.channel, row.registry, row.set_by, row.set_at) if row else None

    def set(
        self,
        chosen: ChannelRegistry,
        audit: Callable[[Connection], object],
    ) -> None:
        """Make ``chosen`` its channel's default, with ``audit`` (the audit event's
        writer) in the same transaction."""
        row = {
            "channel": chosen.channel,
            "registry": chosen.registry,
            "set_by": chosen.set_by,
            "set_at": chosen.set_at,
        }
        with self.engine.begin() as conn:
            upsert(conn, channel_registries, row)
            audit(conn)
