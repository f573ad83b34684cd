"""The Slack layer's own table of where each request shows, and the carry-over of the
coordinates that older versions kept in the deletion store (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import update

from bot.deletions import open_store
from bot.deletions.schema import requests
from bot.slack.messages import MessageRef, MessageRole, SlackMessages
from testkit.deletions import sample_request


def test_coordinates_are_kept_and_old_ones_carried_over(database_url):
    store = open_store(database_url)
    try:
        store.insert(sample_request("legacy1"))
        store.insert(sample_request("fresh1"))
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
