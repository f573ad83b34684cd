"""SIGTERM stops the real bot process within a few seconds whatever it is doing: idle, a
listing waiting on a registry that never answers, a dry run of a large repository, a
cleanup with DELETEs in flight, clients holding connections open; and a cleanup stopped
that way is resumed by the next process, no digest deleted twice."""

from __future__ import annotations

import signal
import socket
import threading
import time
import uuid

import pytest

from bot.registry import ManifestNotFoundError
from testkit.bot_process import BotLauncher, BotProcess
from testkit.images import push_image
from testkit.proxy import RegistryProxy, deletes_by_digest
from testkit.slack_flow import (
    APPROVER,
    approve,
    command,
    request_message,
    until,
    updates_of,
)
from testkit.slack_standin import SlackStandIn

STOPS_WITHIN = 5.0  # seconds: what "a few seconds" means here (platforms wait 10 to 30)


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    yield s
    s.stop()


@pytest.fixture
def proxy(registry):
    with RegistryProxy(registry.url) as p:
        yield p


@pytest.fixture
def start_bot(standin, proxy, tmp_path):
    bots = BotLauncher(
        standin.api_url, APPROVERS=APPROVER, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}"
    )
    yield lambda **env: bots.start(proxy.url, **env)
    bots.stop_all()


def terminate(bot: BotProcess) -> float:
    """SIGTERM, then how long the process took to exit (it must, within the bound)."""
    assert bot.process is not None and bot.process.poll() is None
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    bot.process.wait(timeout=STOPS_WITHIN + 5)
    return time.monotonic() - started


def test_an_idle_bot_stops_at_once(start_bot):
    assert terminate(start_bot()) < STOPS_WITHIN


def test_a_listing_waiting_on_a_silent_registry_does_not_hold_the_stop(start_bot, standin, proxy):
    bot = start_bot(REGISTRY_TIMEOUT="60")  # the registry would be waited on for a minute
    proxy.hang = True
    try:
        command(bot, standin, "tags shut/silent")
        until(lambda: proxy.total >= 1)
        assert terminate(bot) < STOPS_WITHIN
    finally:
        proxy.hang = False


def test_connections_held_open_do_not_hold_the_stop(start_bot):
    bot = start_bot()
    held = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", bot.port))
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n")
        held.append(sock)  # a head never finished
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", bot.port))
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: 100\r\n\r\nabc")
        held.append(sock)  # a body never finished
    time.sleep(0.3)
    try:
        assert terminate(bot) < STOPS_WITHIN
    finally:
        for sock in held:
            sock.close()


def test_a_dry_run_of_a_large_repository_does_not_hold_the_stop(start_bot, standin, proxy, client):
    pushed = push_image(client, "shut/big", ["t-0"])
    for i in range(1, 300):
        client.put_manifest("shut/big", f"t-{i}", pushed.body, pushed.media_type)
    bot = start_bot()
    proxy.delay = 0.2  # 300 lookups: seconds of work
    try:
        command(bot, standin, "prune shut/big --keep 1")
        until(lambda: proxy.counts["HEAD"] >= 24)
        assert terminate(bot) < STOPS_WITHIN
    finally:
        proxy.delay = 0.0


def test_a_cleanup_in_flight_stops_and_is_resumed_by_the_next_process(
    start_bot, standin, proxy, client, registry
):
    repo = f"shut/ci{uuid.uuid4().hex[:6]}"
    old = [
        push_image(client, repo, [f"pr-{i}"], created=f"2024-01-{i + 1:02d}T00:00:00Z")
        for i in range(12)
    ]
    push_image(client, repo, ["main"], created="2026-11-01T00:00:00Z")
    bot = start_bot(EXECUTION_LEASE="2s")
    message = request_message(bot, standin, f"prune {repo} --keep 1")
    release = threading.Event()
    proxy.intercept = lambda m, p: (release.wait(30) and None) if m == "DELETE" else None
    try:
        approve(bot, standin, message)
        until(lambda: sum(deletes_by_digest(proxy).values()) >= 1)  # DELETEs held in flight
        assert terminate(bot) < STOPS_WITHIN
    finally:
        proxy.intercept = None
        release.set()  # the registry now carries out what nobody waits for
    start_bot(EXECUTION_LEASE="2s")  # same database: resumes after the lease
    done = until(
        lambda: [u for u in updates_of(standin, message) if "*Deleted*" in str(u.body)],
        timeout=30,
    )[-1]
    assert "deleted 12 of 12 images" in str(done.body), done.body
    for image in old:
        with pytest.raises(ManifestNotFoundError):
            client.head_manifest(repo, image.digest)
    assert max(deletes_by_digest(proxy).values()) == 1  # no digest deleted twice
