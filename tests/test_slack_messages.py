"""The Slack layer's own table of where each request shows, and the carry-over of the
coordinates that older versions kept in the deletion store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from bot.deletions import DeletionRequest, Kind, State, open_store
from bot.deletions.schema import requests
from bot.slack.messages import MessageRef, MessageRole, SlackMessages


def _request(request_id: str) -> DeletionRequest:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    return DeletionRequest(
        id=request_id,
        kind=Kind.MANIFEST,
        repository="app",
        digest="sha256:" + "a" * 64,
        requester="UREQUEST1",
        channel="C0CHAN01",
        state=State.PENDING,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        approvals_required=1,
    )


def test_coordinates_are_kept_and_old_ones_carried_over(database_url):
    store = open_store(database_url)
    try:
        store.insert(_request("legacy1"))
        store.insert(_request("fresh1"))
        with store.engine.begin() as conn:  # as a version before slack_messages left it
            conn.execute(
                update(requests)
                .where(requests.c.id == "legacy1")
                .values(message_channel="C1", message_ts="1.2", audit_channel="C2", audit_ts="3.4")
            )
        messages = SlackMessages(store.engine)
        messages.ensure_schema()
        messages.ensure_schema()  # again, as at every start: nothing doubles
        assert messages.get("legacy1", MessageRole.REQUEST) == MessageRef("C1", "1.2")
        assert messages.get("legacy1", MessageRole.AUDIT) == MessageRef("C2", "3.4")
        assert messages.get("fresh1", MessageRole.REQUEST) is None
        messages.put("fresh1", MessageRole.REQUEST, MessageRef("C9", "9.9"))
        assert messages.get("fresh1", MessageRole.REQUEST) == MessageRef("C9", "9.9")
    finally:
        store.engine.dispose()
