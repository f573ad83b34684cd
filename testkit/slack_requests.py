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
    content_type: str = "application/x-www-form-urlencoded",
) -> httpx.Response:
    """POST ``body`` signed. Pass a ``client`` to reuse its connections and TLS context
    (a new ``httpx`` client costs tens of milliseconds, which a benchmark must not time).
    Events (the Events API) are JSON: ``content_type="application/json"``."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
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
    trigger_id: str | None = None,
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
        "trigger_id": trigger_id or f"{uuid.uuid4().int % 10**12}.1.abc",
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": channel, "name": "ops"},
        "response_url": response_url,
        "actions": [_button_clicked(action_id, value)],
    }
    return urlencode({"payload": json.dumps(payload)})


def _button_clicked(action_id: str, value: str) -> dict:
    """One clicked button, as block_actions carries it."""
    return {
        "action_id": action_id,
        "block_id": "b1",
        "type": "button",
        "value": value,
        "action_ts": "1700000001.000200",
        "text": {"type": "plain_text", "text": "A button"},
    }


def event_body(event: dict) -> str:
    """An Events API request body (JSON), as Slack posts an event over HTTP."""
    return json.dumps(
        {
            "token": "legacy-unused",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0001", "user_id": "UBOT0001", "is_bot": True}],
        }
    )


def home_opened_body(user: str, view_hash: str | None = None) -> str:
    """``app_home_opened`` for ``user`` on the Home tab (with the hash of the view they
    see, when they have one)."""
    event: dict = {"type": "app_home_opened", "user": user, "channel": "D0HOME01", "tab": "home"}
    event["event_ts"] = f"{time.time():.6f}"
    if view_hash:
        event["view"] = {"id": f"V{user}", "type": "home", "hash": view_hash}
    return event_body(event)


def home_action_body(action_id: str, value: str, *, user: str) -> str:
    """A button clicked on a Home view: block_actions with a view container, and no
    ``response_url`` or channel (a Home has neither)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy-unused",
        "container": {"type": "view", "view_id": f"V{user}"},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
        "team": {"id": "T0001", "domain": "example"},
        "view": {"id": f"V{user}", "type": "home", "hash": "any", "blocks": []},
        "actions": [_button_clicked(action_id, value)],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    view: dict,
    *,
    user: str,
    values: dict[str, dict[str, str]] | None = None,
    state: dict | None = None,
) -> str:
    """A modal submitted: ``view`` as the bot opened it, with what was typed
    (``values``: block ID -> action ID -> text), or its ``state.values`` as given."""
    if state is None:
        state = {
            block: {
                action: {"type": "plain_text_input", "value": text}
                for action, text in fields.items()
            }
            for block, fields in (values or {}).items()
        }
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy-unused",
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
        "view": {"id": "V0MODAL1", **view, "state": {"values": state}},
    }
    return urlencode({"payload": json.dumps(payload)})


def message_shortcut_body(
    callback_id: str, message: dict, response_url: str, *, user: str = "U0USER01"
) -> str:
    """A message shortcut chosen on ``message`` (``message_action``), as Slack posts it."""
    payload = {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "channel": {"id": "C0CHAN01", "name": "ops"},
        "message": {"type": "message", "ts": "1700000000.000300", **message},
        "message_ts": "1700000000.000300",
        "response_url": response_url,
        "token": "legacy-unused",
        "action_ts": "1700000001.000400",
    }
    return urlencode({"payload": json.dumps(payload)})


def options_body(
    action_id: str,
    value: str,
    *,
    user: str = "U0USER01",
    block_id: str = "pattern",
    view: dict | None = None,
) -> str:
    """An options request of an ``external_select`` in a modal (``block_suggestion``);
    ``view``: the modal as it stands (its ``state`` holds what was picked in it)."""
    payload = {
        "type": "block_suggestion",
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "team": {"id": "T0001", "domain": "example"},
        "api_app_id": "A0001",
        "token": "legacy-unused",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "container": {"type": "view", "view_id": "V0MODAL1"},
        "view": view or {"id": "V0MODAL1", "type": "modal", "callback_id": "cleanup_builder_modal"},
    }
    return urlencode({"payload": json.dumps(payload)})


def view_action_body(action_id: str, view: dict, *, user: str, values: dict) -> str:
    """A button clicked in a modal (block_actions with the view and its state):
    ``values`` is the view's ``state.values``."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy-unused",
        "container": {"type": "view", "view_id": view.get("id", "V0MODAL1")},
        "trigger_id": f"{uuid.uuid4().int % 10**12}.1.abc",
        "team": {"id": "T0001", "domain": "example"},
        "view": {**view, "state": {"values": values}},
        "actions": [_button_clicked(action_id, "")],
    }
    return urlencode({"payload": json.dumps(payload)})
