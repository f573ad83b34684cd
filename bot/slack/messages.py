"""Where each deletion request shows in Slack: its request message and its audit thread,
as (channel, ts) coordinates in a table of the Slack layer's own, ``slack_messages``,
in the same database as the deletion store. The deletion workflow knows nothing of
them.

``SlackMessages.ensure_schema`` creates the table at start and carries over the
coordinates that older versions kept in ``deletion_requests`` (idempotent, safe when
several replicas start at once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Column, Connection, Engine, MetaData, Table, select

from ..database import CleanString, Migration, migrate
from ..deletions import legacy_posts

log = logging.getLogger(__name__)


class MessageRole(StrEnum):
    REQUEST = "request"  # the message with the votes and the outcome
    AUDIT = "audit"  # the message whose thread holds the audit trail


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str


metadata = MetaData()
slack_messages = Table(
    "slack_messages",
    metadata,
    Column("request_id", CleanString(32), primary_key=True),
    Column("role", CleanString(16), primary_key=True),
    Column("channel", CleanString(32), nullable=False),
    Column("ts", CleanString(32), nullable=False),
)

ROOM = "slack"


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[slack_messages])


def _v2(conn: Connection) -> None:
    """Carry over where earlier versions kept the messages (the deletion room's)."""
    have = {(r.request_id, r.role) for r in conn.execute(select(slack_messages))}
    rows = [
        {
            "request_id": post.request_id,
            "role": (MessageRole.AUDIT if post.audit else MessageRole.REQUEST).value,
            "channel": post.channel,
            "ts": post.ts,
        }
        for post in legacy_posts(conn)
    ]
    rows = [r for r in rows if (r["request_id"], r["role"]) not in have]
    if rows:
        conn.execute(slack_messages.insert(), rows)
        log.info("carried over %d message coordinates", len(rows))


MIGRATIONS: list[Migration] = [(1, _v1), (2, _v2)]


class SlackMessages:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ensure_schema(self) -> None:
        """Bring the Slack layer's table up to date (see ``database.migrate``)."""
        migrate(self.engine, ROOM, MIGRATIONS)

    def put(self, request_id: str, role: MessageRole, ref: MessageRef) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                slack_messages.insert().values(
                    request_id=request_id, role=role.value, channel=ref.channel, ts=ref.ts
                )
            )

    def get(self, request_id: str, role: MessageRole) -> MessageRef | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(slack_messages.c.channel, slack_messages.c.ts).where(
                    slack_messages.c.request_id == request_id,
                    slack_messages.c.role == role.value,
                )
            ).first()
        return MessageRef(row.channel, row.ts) if row else None
