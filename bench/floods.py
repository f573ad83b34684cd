"""Sending many signed requests to the bot at once and timing each answer: every
request is signed and every connection opened before the clock starts, and one thread
with a selector reads the answers (no load-generator threads competing with the bot for
the cores), each timed from its own send."""

from __future__ import annotations

import selectors
import socket
import time

from testkit.bot_process import BotProcess
from testkit.slack_requests import SIGNING_SECRET, sign


def raw_request(bot: BotProcess, body: str) -> bytes:
    """A signed POST of a form body to /slack/events, as bytes ready to send."""
    ts = int(time.time())
    payload = body.encode()
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{bot.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"X-Slack-Request-Timestamp: {ts}\r\n"
        f"X-Slack-Signature: {sign(body, ts, SIGNING_SECRET)}\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + payload


def at_once(bot: BotProcess, requests: list[bytes], limit: float = 30.0) -> list[float]:
    """Send ``requests`` together (a connection each); each one's time to the first
    bytes of its answer (which must be a 200), sorted."""
    sockets = [socket.create_connection(("127.0.0.1", bot.port)) for _ in requests]
    sent: dict[socket.socket, float] = {}
    acks: list[float] = []
    with selectors.DefaultSelector() as selector:
        started = time.monotonic()
        for sock, request in zip(sockets, requests, strict=True):
            sent[sock] = time.monotonic()
            sock.sendall(request)
            selector.register(sock, selectors.EVENT_READ)
        while len(acks) < len(requests) and time.monotonic() - started < limit:
            for key, _ in selector.select(timeout=1):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                status = sock.recv(64)
                acks.append(time.monotonic() - sent[sock])
                assert status.startswith(b"HTTP/1.1 200"), status
                selector.unregister(sock)
                sock.close()
    return sorted(acks)
