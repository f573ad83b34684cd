"""The real bot process with its PostgreSQL behind a relay that can be cut and brought
back: listings still come from the registry (without push and pull times, saying so),
a command that needs the database says it can't be reached, an approver whose cleanup
is cut off midway is told it will be resumed, and it is, once the database is back,
no digest deleted twice."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from testkit.bot_process import BotProcess
from testkit.delay_relay import DelayRelay
from testkit.images import push_image
from testkit.proxy import RegistryProxy, deletes_by_digest
from testkit.slack_flow import (
    APPROVER,
    approve,
    button,
    command,
    request_message,
    until,
    updates_of,
)
from testkit.slack_standin import SlackStandIn


class CuttableDatabase:
    """A PostgreSQL schema of its own, reached through a relay: ``cut()`` drops every
    connection and refuses new ones; ``restore()`` listens again on the same port."""

    def __init__(self, schema_url: str) -> None:
        self._upstream = schema_url
        parts = urlsplit(schema_url)
        self.relay = DelayRelay(f"http://{parts.hostname}:{parts.port or 5432}").start()
        self.port = self.relay.port
        netloc = f"{parts.username}@127.0.0.1:{self.port}" if parts.username else ""
        self.url = urlunsplit(
            (parts.scheme, netloc or f"127.0.0.1:{self.port}", parts.path, parts.query, "")
        )

    def cut(self) -> None:
        self.relay.stop()

    def restore(self) -> None:
        parts = urlsplit(self._upstream)
        self.relay = DelayRelay(
            f"http://{parts.hostname}:{parts.port or 5432}", port=self.port
        ).start()

    def close(self) -> None:
        self.relay.stop()


@pytest.fixture
def database() -> Iterator[CuttableDatabase]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs TEST_DATABASE_URL (a PostgreSQL the tests may create schemas in)")
    from testkit.databases import postgres_schema

    schemas = postgres_schema()
    made = CuttableDatabase(next(schemas))
    yield made
    made.close()
    next(schemas, None)  # drop the schema


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    yield s
    s.stop()


def test_a_database_outage_is_said_as_such_and_a_cleanup_cut_off_is_resumed(
    database, standin, registry, client
):
    repo = f"outage/app{uuid.uuid4().hex[:8]}"
    old = [
        push_image(client, repo, [f"pr-{i}"], created=f"2024-01-{i + 1:02d}T00:00:00Z")
        for i in range(6)
    ]
    push_image(client, repo, ["main"], created="2026-11-01T00:00:00Z")
    with RegistryProxy(registry.url) as proxy:
        bot = BotProcess(
            registry_url=proxy.url,
            slack_api_url=standin.api_url,
            extra_env={
                "APPROVERS": APPROVER,
                "DATABASE_URL": database.url,
                "EXECUTION_LEASE": "2s",
                "REGISTRY_CONCURRENCY": "2",
            },
        ).start()
        try:
            message = request_message(bot, standin, f"prune {repo} --keep 1")

            database.cut()
            listing = standin.wait_response(command(bot, standin, f"tags {repo}")).body
            text = str(listing["blocks"])
            assert "*7* tags" in text and "pr-5" in text, text  # from the registry
            assert "database can't be read right now" in text
            pending = standin.wait_response(command(bot, standin, "pending")).body
            assert "database can't be reached" in pending["text"], pending
            database.restore()

            # Approved; the database goes away while the DELETEs are under way.
            release = threading.Event()
            proxy.intercept = lambda m, p: (release.wait(30) and None) if m == "DELETE" else None
            answer = approve(bot, standin, message)
            until(lambda: sum(deletes_by_digest(proxy).values()) >= 1)
            database.cut()
            release.set()
            proxy.intercept = None
            told = standin.wait_response(answer, timeout=30).body
            assert "stopped where it was" in told["text"] and "resumes" in told["text"], told
            assert button(message.body, "deletion_approve")  # the message kept its buttons

            database.restore()
            done = until(
                lambda: [u for u in updates_of(standin, message) if "*Deleted*" in str(u.body)],
                timeout=40,
            )[-1]
            assert "deleted 6 of 6 images" in str(done.body), done.body
            assert deletes_by_digest(proxy) == {o.digest: 1 for o in old}
        finally:
            bot.stop()
