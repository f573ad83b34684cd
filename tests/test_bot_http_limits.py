"""The real bot process refuses oversized or unsized request bodies before reading
them (an unsigned 200 MB POST used to cost about 1 GB), and stays healthy."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from testkit.bot_process import BotProcess
from testkit.slack_standin import SlackStandIn

pytestmark = pytest.mark.bot


@pytest.fixture(scope="module")
def bot(registry):
    standin = SlackStandIn().start()
    process = BotProcess(registry_url=registry.url, slack_api_url=standin.api_url).start()
    yield process
    process.stop()
    standin.stop()


def raw_post(port: int, headers: str, body: bytes = b"") -> tuple[str, float]:
    """Send a POST's headers (and maybe a little body), return the status line and how
    long the answer took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"POST /slack/events HTTP/1.1\r\nHost: bot\r\n{headers}\r\n").encode() + body)
        answer = sock.recv(4096).decode(errors="replace")
    return answer.split("\r\n", 1)[0], time.monotonic() - started


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_huge_body_is_refused_unread(bot):
    before = rss_kb(bot.process.pid)
    for _ in range(4):
        status, took = raw_post(
            bot.port,
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000000\r\n",
            b"x" * 65536,
        )
        assert status.split(" ")[1] == "413" and took < 2.0
    assert rss_kb(bot.process.pid) - before < 50_000  # not 200 MB a request
    assert httpx.get(f"{bot.url}/healthz").status_code == 200


def test_a_body_without_a_length_is_refused(bot):
    status, _ = raw_post(
        bot.port,
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        b"5\r\nhello\r\n",
    )
    assert status.split(" ")[1] == "411"


@pytest.mark.parametrize("length", [b"\xc2\xb2", b"\xb2", b"-5", b"1 2"])
def test_a_length_that_is_not_a_number_is_refused(bot, length):
    """Whatever the HTTP parser lets through, the answer is a refusal, never a 500."""
    with socket.create_connection(("127.0.0.1", bot.port), timeout=10) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Length: " + length)
        sock.sendall(b"\r\n\r\n")
        status = sock.recv(4096).split(b"\r\n", 1)[0].split(b" ")
    assert status[1][:1] == b"4", status
    assert httpx.get(f"{bot.url}/healthz").status_code == 200


def test_every_path_has_the_limit(bot):
    with socket.create_connection(("127.0.0.1", bot.port), timeout=10) as sock:
        sock.sendall(b"POST /anything HTTP/1.1\r\nHost: bot\r\nContent-Length: 900000000\r\n\r\n")
        assert b"413" in sock.recv(4096).split(b"\r\n", 1)[0]


def test_without_an_events_token_the_events_path_is_not_there(bot):
    """REGISTRY_EVENTS_TOKEN unset: /registry/events answers 404, token or not."""
    event = b'{"events": []}'
    headers = {
        "Content-Type": "application/vnd.docker.distribution.events.v1+json",
        "Authorization": "Bearer anything-at-all-0123456789",
    }
    answer = httpx.post(f"{bot.url}/registry/events", content=event, headers=headers)
    assert answer.status_code == 404
