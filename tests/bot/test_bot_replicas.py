"""Two real bot processes on one database, one of them stopped (SIGSTOP) in the middle
of a cleanup for longer than EXECUTION_LEASE, then let go (SIGCONT): as a VM pause, CPU
starvation or a partition from the database would. The other takes the cleanup over;
the one that stalled sends no DELETE after it resumes, a tag pushed during the pause
keeps its image, and the report (from the database) is the registry's truth. One
process paused alone carries on with its own run. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from bot.database import make_engine
from bot.deletions import ItemState
from bot.deletions.cleanup_store import CleanupStore
from bot.deletions.schema import audit_events
from testkit.bot_process import BotLauncher, BotProcess
from testkit.images import manifest_exists, push_image
from testkit.proxy import RegistryProxy, deletes_by_digest
from testkit.slack_flow import (
    APPROVER,
    approve,
    button,
    request_message,
    until,
    updates_of,
)
from testkit.slack_standin import SlackStandIn

IMAGES = 28
LEASE = 4  # seconds
PAUSE = 9  # seconds: more than twice the lease


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    yield s
    s.stop()


@pytest.fixture
def start_bot(standin, database_url):
    bots = BotLauncher(
        standin.api_url,
        APPROVERS=APPROVER,
        DATABASE_URL=database_url,
        EXECUTION_LEASE=f"{LEASE}s",
    )
    yield bots.start
    bots.stop_all()


@contextmanager
def stopped(bot: BotProcess):
    """The bot's whole process group stopped, as a paused VM is, until the block ends."""
    assert bot.process is not None
    os.killpg(bot.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(bot.process.pid, signal.SIGCONT)


def slow_deletes(method: str, path: str):
    """A registry that takes 0.3 s over each DELETE, so a pause lands between them."""
    if method == "DELETE":
        time.sleep(0.3)
    return None


def push_old_images(client, repo):
    images = [
        push_image(client, repo, [f"pr-{i}"], created=f"2024-01-{i + 1:02d}T00:00:00Z")
        for i in range(IMAGES)
    ]
    push_image(client, repo, ["main"], created="2026-11-01T00:00:00Z")
    return images


def executed_events(engine, request_id: str) -> int:
    t = audit_events
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(t.c.request_id == request_id, t.c.event == "executed")
        ).scalar_one()


def test_a_paused_replica_taken_over_deletes_nothing_more(
    start_bot, standin, registry, client, database_url
):
    repo = f"replicas/app{uuid.uuid4().hex[:8]}"
    images = {i.digest: i for i in push_old_images(client, repo)}
    engine = make_engine(database_url)
    with RegistryProxy(registry.url) as to_a, RegistryProxy(registry.url) as to_b:
        # A deletes two at a time, so the pause comes a few DELETEs in.
        a = start_bot(to_a.url, REGISTRY_CONCURRENCY="2")
        start_bot(to_b.url)
        message = request_message(a, standin, f"prune {repo} --keep 1")
        request_id = button(message.body, "deletion_approve")["value"]
        to_a.intercept = slow_deletes
        approve(a, standin, message)
        until(lambda: sum(deletes_by_digest(to_a).values()) >= 4)
        with stopped(a):
            sent_by_a = set(deletes_by_digest(to_a))
            items = CleanupStore(engine).items(request_id)
            # An image A had checked and claimed, and had not deleted: a hotfix tag
            # goes onto it while A is stopped.
            hotfix = next(
                i.digest
                for i in items
                if i.state == ItemState.DELETING and i.digest not in sent_by_a
            )
            client.put_manifest(repo, "hotfix", images[hotfix].body, images[hotfix].media_type)
            outcome = until(
                lambda: [u for u in updates_of(standin, message) if "*Deleted*" in str(u.body)],
                timeout=40,
            )[-1]
        time.sleep(LEASE)  # A runs again: whatever it would still do, it does now
        final = updates_of(standin, message)
    report = str(outcome.body)
    assert f"deleted {IMAGES - 1} of {IMAGES} images" in report, report
    assert "hotfix now points at it" in report and "Resumed after an interruption" in report
    deletes = deletes_by_digest(to_a, to_b)
    assert max(deletes.values()) == 1, deletes  # no digest deleted twice
    assert set(deletes_by_digest(to_a)) == sent_by_a  # nothing more from A after the pause
    assert hotfix not in deletes and client.resolve(repo, "hotfix") == hotfix
    for item in CleanupStore(engine).items(request_id):
        if item.state == ItemState.KEPT:
            continue
        assert (item.state == ItemState.DELETED) is not manifest_exists(client, repo, item.digest)
    assert [u for u in final if "*Deleted*" in str(u.body)] == [outcome]  # one outcome
    assert final[-1] is outcome  # and no progress drawn over it since
    assert executed_events(engine, request_id) == 1
    engine.dispose()


def test_a_process_paused_alone_carries_on_with_its_own_run(
    start_bot, standin, registry, client, database_url
):
    repo = f"replicas/own{uuid.uuid4().hex[:8]}"
    images = push_old_images(client, repo)
    engine = make_engine(database_url)
    with RegistryProxy(registry.url) as proxy:
        bot = start_bot(proxy.url, REGISTRY_CONCURRENCY="2")
        message = request_message(bot, standin, f"prune {repo} --keep 1")
        request_id = button(message.body, "deletion_approve")["value"]
        proxy.intercept = slow_deletes
        approve(bot, standin, message)
        until(lambda: sum(deletes_by_digest(proxy).values()) >= 4)
        with stopped(bot):
            time.sleep(PAUSE)  # its claim is stale in the database by now
        proxy.intercept = None
        outcome = until(
            lambda: [u for u in updates_of(standin, message) if "*Deleted*" in str(u.body)],
            timeout=40,
        )[-1]
        time.sleep(1)
        final = updates_of(standin, message)
    report = str(outcome.body)
    assert f"deleted {IMAGES} of {IMAGES} images" in report, report
    assert "Resumed" not in report  # its own sweeper did not take its run over
    deletes = deletes_by_digest(proxy)
    assert deletes == {i.digest: 1 for i in images}
    assert [u for u in final if "*Deleted*" in str(u.body)] == [outcome]
    assert executed_events(engine, request_id) == 1
    engine.dispose()
