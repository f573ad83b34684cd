"""Socket Mode end to end: with SLACK_APP_TOKEN set, the real registry-bot process opens
a connection (apps.connections.open on the Slack stand-in), receives a slash command
envelope over a WebSocket, acknowledges it by envelope ID, and replies to response_url."""

from __future__ import annotations

import json
import queue
import threading
import uuid

import pytest
from websockets.sync.server import serve

from testkit.bot_process import BotProcess
from testkit.images import push_image
from testkit.slack_requests import command_fields
from testkit.slack_standin import SlackStandIn


class SocketModeEndpoint:
    """Plays Slack's side of a Socket Mode connection."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.to_bot: queue.Queue[dict] = queue.Queue()
        self.from_bot: queue.Queue[dict] = queue.Queue()
        self.server = serve(self._handle, "127.0.0.1", 0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}/link"

    def _handle(self, ws) -> None:
        ws.send(
            json.dumps(
                {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0001"}}
            )
        )
        self.connected.set()
        while True:
            try:
                envelope = self.to_bot.get(timeout=0.05)
                ws.send(json.dumps(envelope))
            except queue.Empty:
                pass
            try:
                message = ws.recv(timeout=0.05)
            except TimeoutError:
                continue
            except Exception:
                return
            self.from_bot.put(json.loads(message))

    def start(self) -> SocketModeEndpoint:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()


def slash_envelope(text: str, response_url: str) -> dict:
    return {
        "envelope_id": uuid.uuid4().hex,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": command_fields(text, response_url),
    }


@pytest.fixture
def socket_bot(registry):
    standin = SlackStandIn().start()
    endpoint = SocketModeEndpoint().start()
    standin.api_answers["apps.connections.open"] = {"ok": True, "url": endpoint.url}
    bot = BotProcess(
        registry_url=registry.url,
        slack_api_url=standin.api_url,
        extra_env={"SLACK_APP_TOKEN": "xapp-1-test", "SLACK_SIGNING_SECRET": ""},
    )
    bot.start(wait=False)
    try:
        if not endpoint.connected.wait(30):
            raise RuntimeError(f"the bot never connected:\n{bot.log()}")
        yield bot, standin, endpoint
    finally:
        bot.stop()
        endpoint.stop()
        standin.stop()


def _ack_for(endpoint: SocketModeEndpoint, envelope_id: str) -> dict:
    while True:
        message = endpoint.from_bot.get(timeout=20)
        if message.get("envelope_id") == envelope_id:
            return message


def test_socket_mode_command_round_trip(socket_bot, client):
    _, standin, endpoint = socket_bot
    pushed = push_image(client, "socket/app", ["v1"])
    (opened,) = standin.api_calls("apps.connections.open")
    assert opened.headers["Authorization"] == "Bearer xapp-1-test"

    envelope = slash_envelope("tags socket/app", standin.response_url("sm1"))
    endpoint.to_bot.put(envelope)
    ack = _ack_for(endpoint, envelope["envelope_id"])
    assert "blocks" not in (ack.get("payload") or {})
    reply = standin.wait_response("sm1").body
    assert pushed.digest[7:19] in str(reply["blocks"])

    envelope = slash_envelope("help", standin.response_url("sm2"))
    endpoint.to_bot.put(envelope)
    ack = _ack_for(endpoint, envelope["envelope_id"])
    assert "/registry tags busybox 1.3*" in json.dumps(ack["payload"])


def test_socket_mode_also_takes_the_registrys_events_on_port(registry, client):
    """No public Slack endpoint in Socket Mode, but the registry needs one for its
    notifications: with REGISTRY_EVENTS_TOKEN set the bot serves that path (alone)."""
    import httpx

    standin = SlackStandIn().start()
    endpoint = SocketModeEndpoint().start()
    standin.api_answers["apps.connections.open"] = {"ok": True, "url": endpoint.url}
    token = "socket-events-token-0123456789"
    bot = BotProcess(
        registry_url=registry.url,
        slack_api_url=standin.api_url,
        extra_env={
            "SLACK_APP_TOKEN": "xapp-1-test",
            "SLACK_SIGNING_SECRET": "",
            "REGISTRY_EVENTS_TOKEN": token,
        },
    )
    try:
        bot.start()  # waits for /healthz on PORT
        assert endpoint.connected.wait(30), bot.log()
        event = {
            "id": "socket-1",
            "timestamp": "2026-11-27T12:00:00Z",
            "action": "push",
            "target": {"repository": "socket/ev", "digest": "sha256:" + "b" * 64, "tag": "t"},
        }
        headers = {
            "Content-Type": "application/vnd.docker.distribution.events.v1+json",
            "Authorization": f"Bearer {token}",
        }
        answer = httpx.post(
            f"{bot.url}/registry/events", content=json.dumps({"events": [event]}), headers=headers
        )
        assert answer.status_code == 200 and answer.text.startswith("stored 1 of 1")
        # Slack's own path is not served here: Socket Mode carries it.
        assert httpx.post(f"{bot.url}/slack/events", content=b"x").status_code == 404
        # And the command still works over the socket.
        envelope = slash_envelope("activity socket/ev", standin.response_url("sm3"))
        endpoint.to_bot.put(envelope)
        _ack_for(endpoint, envelope["envelope_id"])
        assert "socket/ev:t" in str(standin.wait_response("sm3").body)
    finally:
        bot.stop()
        endpoint.stop()
        standin.stop()


def test_sigterm_stops_a_socket_mode_bot_and_its_worker(socket_bot):
    import signal
    import time
    from pathlib import Path

    bot, _, _ = socket_bot
    assert bot.process is not None
    pid = bot.process.pid
    workers = [
        int(s.parent.name)
        for s in Path("/proc").glob("[0-9]*/status")
        if f"\nPPid:\t{pid}\n" in s.read_text(errors="replace")
    ]
    started = time.monotonic()
    bot.process.send_signal(signal.SIGTERM)
    bot.process.wait(10)
    assert time.monotonic() - started < 5.0
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    gone = [w for w in workers if not Path(f"/proc/{w}").exists()]
    assert workers and gone == workers, (workers, gone)


@pytest.fixture
def picked_repository(client):
    """A repository there before the bot starts (its names are read at start)."""
    push_image(client, "socket/picked", ["v1"])


def test_socket_mode_serves_the_home_tab_pickers_and_modals(picked_repository, socket_bot):
    """The newer surfaces over Socket Mode as over HTTP: app_home_opened publishes the
    Home; a picker's options come back in the acknowledgement; a builder submission with
    a bad regex is answered with the error on its field."""
    from testkit.slack_flow import until

    _, standin, endpoint = socket_bot
    event = {
        "envelope_id": uuid.uuid4().hex,
        "type": "events_api",
        "accepts_response_payload": False,
        "payload": {
            "type": "event_callback",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "event_id": "Ev0SOCKET1",
            "event_time": 1700000000,
            "event": {"type": "app_home_opened", "user": "UHOME0001", "tab": "home"},
        },
    }
    endpoint.to_bot.put(event)
    _ack_for(endpoint, event["envelope_id"])
    (home,) = standin.wait_for(lambda: standin.home_views("UHOME0001"))
    assert home["type"] == "home" and "Waiting on you" in str(home["blocks"])

    def interactive(payload: dict) -> dict:
        envelope = {
            "envelope_id": uuid.uuid4().hex,
            "type": "interactive",
            "accepts_response_payload": True,
            "payload": payload,
        }
        endpoint.to_bot.put(envelope)
        return _ack_for(endpoint, envelope["envelope_id"]).get("payload") or {}

    user = {"id": "UREQUEST1", "username": "someone", "team_id": "T0001"}

    def picked() -> list[str]:
        suggestion = {"type": "block_suggestion", "user": user, "team": {"id": "T0001"}}
        answer = interactive({**suggestion, "action_id": "pick_repository", "value": "socket/"})
        return [o["value"] for o in answer.get("options", [])]

    assert "socket/picked" in until(lambda: "socket/picked" in picked() and picked())
    view = {
        "id": "V0SOCKET1",
        "type": "modal",
        "callback_id": "cleanup_builder_modal",
        "private_metadata": json.dumps({"ch": "C0CHAN01", "url": ""}),
        "blocks": [],
        "state": {
            "values": {
                "pattern": {"pick_repository": {"selected_option": {"value": "socket/picked"}}},
                "keep": {"keep": {"type": "plain_text_input", "value": "1"}},
                "match": {"match": {"type": "plain_text_input", "value": "(?<=a)b"}},
            }
        },
    }
    answer = interactive({"type": "view_submission", "user": user, "view": view})
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["match"]
