"""Requests to the bot, signed exactly as Slack signs them:
``X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

import httpx

SIGNING_SECRET = "test-signing-secret-0123456789abcdef"


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def post_signed(
    url: str,
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
) -> httpx.Response:
    """POST ``body`` signed. Pass a ``client`` to reuse its connections and TLS context
    (a new ``httpx`` client costs tens of milliseconds, which a benchmark must not time)."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature or sign(body, ts, secret),
    }
    if client is not None:
        return client.post(url, content=body.encode(), headers=headers, timeout=timeout)
    return httpx.post(url, content=body.encode(), headers=headers, timeout=timeout)


def command_fields(
    text: str, response_url: str, *, user: str = "U0USER01", channel: str = "C0CHAN01"
) -> dict[str, str]:
    """The fields Slack sends with a ``/registry`` command."""
    return {
        "token": "legacy-unused",
        "team_id": "T0001",
        "team_domain": "example",
        "channel_id": channel,
        "channel_name": "ops",
        "user_id": user,
        "user_name": "someone",
        "command": "/registry",
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
    }


def command_body(text: str, response_url: str, **kwargs) -> str:
    """A slash command request body (form-encoded), as Slack posts it over HTTP."""
    return urlencode(command_fields(text, response_url, **kwargs))


def action_body(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = "U0USER01",
    channel: str = "C0CHAN01",
    message_ts: str = "1700000000.000100",
) -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy-unused",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": True,
        },
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": channel, "name": "ops"},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "type": "button",
                "value": value,
                "action_ts": "1700000001.000200",
                "text": {"type": "plain_text", "text": "Next"},
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
