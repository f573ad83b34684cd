"""A local stand-in for Slack: it plays the Web API (``/api/METHOD``) and the
``response_url`` endpoints (``/response/KEY``), and records every call.

``fail_next`` queues injected answers (e.g. 429 with Retry-After) for a path prefix.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from .http import QuietHandler, Server

BOT_USER = "UBOT0001"


@dataclass
class Call:
    path: str
    body: dict
    headers: dict
    at: float = field(default_factory=time.monotonic)
    answer: dict | None = None  # what the stand-in answered (Web API calls)

    @property
    def ts(self) -> str:
        """The ts of the message this call posted (chat.postMessage)."""
        assert self.answer is not None, "no answer yet"
        return str(self.answer["ts"])

    @property
    def method(self) -> str:
        return self.path.removeprefix("/api/")


class SlackStandIn:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.fail_next: dict[str, list[tuple[int, dict]]] = {}
        self.api_answers: dict[str, dict] = {
            "auth.test": {
                "ok": True,
                "user_id": BOT_USER,
                "bot_id": "B0001",
                "team_id": "T0001",
                "url": "https://example.slack.com/",
            },
        }
        self.valid_tokens = {"xoxb-test-token"}
        self.channel_errors: dict[str, str] = {}  # channel -> error for chat.postMessage
        self.usergroups: dict[str, list[str]] = {}
        self._ts = 1700000000.0
        self.api_answers["chat.postMessage"] = self._post_message
        self.api_answers["chat.update"] = lambda call: {
            "ok": True,
            "channel": call.body.get("channel"),
            "ts": call.body.get("ts"),
        }
        self.api_answers["usergroups.users.list"] = lambda call: (
            {"ok": True, "users": self.usergroups[call.body.get("usergroup")]}
            if call.body.get("usergroup") in self.usergroups
            else {"ok": False, "error": "no_such_subteam"}
        )
        self.api_answers["views.publish"] = self._publish_view
        self.api_answers["views.open"] = self._open_view
        self.api_answers["views.update"] = self._update_view
        self.homes: dict[str, tuple[str, dict]] = {}  # user -> (hash, the view they see)
        self.view_hashes: dict[str, str] = {}  # view ID -> its current hash (views.update)
        self._cond = threading.Condition()
        standin = self

        class Handler(QuietHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                body = {k: v[0] for k, v in parse_qs(query).items()}
                self._handle(path, body)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ctype = self.headers.get("Content-Type", "")
                if "json" in ctype:
                    body = json.loads(raw or b"{}")
                else:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                self._handle(self.path, body)

            def _handle(self, path: str, body: dict):
                call = Call(path, body, dict(self.headers))
                with standin._cond:
                    standin.calls.append(call)
                    injected = None
                    for prefix, queue in standin.fail_next.items():
                        if path.startswith(prefix) and queue:
                            injected = queue.pop(0)
                            break
                    standin._cond.notify_all()
                if injected:
                    status, headers = injected
                    self.reply(status, b'{"ok": false, "error": "injected"}', headers)
                    return
                if path.startswith("/response/"):
                    self.reply(200, b"ok", {"Content-Type": "text/plain"})
                    return
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if not token:
                    token = body.get("token", "")
                if token not in standin.valid_tokens and not token.startswith("xapp-"):
                    answer = {"ok": False, "error": "invalid_auth"}
                else:
                    answer = standin.api_answers.get(call.method, {"ok": True})
                    if callable(answer):
                        answer = answer(call)
                call.answer = answer
                self.reply(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def _publish_view(self, call: Call) -> dict:
        """views.publish as Slack answers it: a ``hash`` that isn't the view's current
        one is a conflict (a newer view was published since); else a new hash."""
        user = str(call.body.get("user_id") or "")
        view = call.body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        sent = call.body.get("hash")
        current = self.homes.get(user)
        if sent and current is not None and sent != current[0]:
            return {"ok": False, "error": "hash_conflict"}
        self._ts += 1
        new = f"{self._ts:.0f}.home"
        self.homes[user] = (new, view)
        return {"ok": True, "view": {**view, "id": f"V{user}", "hash": new}}

    def _open_view(self, call: Call) -> dict:
        """views.open: a modal opened on the ``trigger_id`` (any one is taken)."""
        view = call.body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not call.body.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        self._ts += 1
        return {"ok": True, "view": {**view, "id": f"V{self._ts:.0f}", "hash": "h"}}

    def _update_view(self, call: Call) -> dict:
        """views.update: a stale ``hash`` is a conflict, as Slack answers it."""
        view = call.body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        view_id = str(call.body.get("view_id") or "")
        sent, current = call.body.get("hash"), self.view_hashes.get(view_id)
        if sent and current and sent != current:
            return {"ok": False, "error": "hash_conflict"}
        self._ts += 1
        new = f"{self._ts:.0f}.view"
        self.view_hashes[view_id] = new
        return {"ok": True, "view": {**view, "id": view_id, "hash": new}}

    def updated_views(self, view_id: str | None = None) -> list[dict]:
        """The views updated (``view_id``'s), oldest first."""
        return [
            c.body["view"] if isinstance(c.body["view"], dict) else json.loads(c.body["view"])
            for c in self.api_calls("views.update")
            if view_id is None or c.body.get("view_id") == view_id
        ]

    def modals(self, trigger_id: str | None = None) -> list[dict]:
        """The modals opened (on ``trigger_id``), oldest first."""
        return [
            c.body["view"] if isinstance(c.body["view"], dict) else json.loads(c.body["view"])
            for c in self.api_calls("views.open")
            if trigger_id is None or c.body.get("trigger_id") == trigger_id
        ]

    def home_views(self, user: str) -> list[dict]:
        """The Home views published to ``user`` that Slack took, oldest first."""
        return [
            c.body["view"] if isinstance(c.body["view"], dict) else json.loads(c.body["view"])
            for c in self.api_calls("views.publish")
            if c.body.get("user_id") == user and (c.answer or {}).get("ok")
        ]

    def _post_message(self, call: Call) -> dict:
        channel = call.body.get("channel")
        if channel in self.channel_errors:
            return {"ok": False, "error": self.channel_errors[channel]}
        self._ts += 1
        return {
            "ok": True,
            "channel": channel,
            "ts": f"{self._ts:.6f}",
            "message": {"text": call.body.get("text")},
        }

    def messages(self, channel: str | None = None, thread_ts: str | None = None) -> list[Call]:
        """chat.postMessage calls that Slack accepted, optionally in one channel/thread."""
        with self._cond:
            calls = [
                c
                for c in self.calls
                if c.method == "chat.postMessage"
                and c.body.get("channel") not in self.channel_errors
            ]
        if channel is not None:
            calls = [c for c in calls if c.body.get("channel") == channel]
        if thread_ts is not None:
            calls = [c for c in calls if c.body.get("thread_ts") == thread_ts]
        return calls

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        return f"{self.url}/response/{key}"

    def responses(self, key: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.path == f"/response/{key}"]

    def api_calls(self, method: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.path == f"/api/{method}"]

    def wait_for(self, predicate: Callable[[], object], timeout: float = 20.0):
        """Wait until ``predicate()`` is truthy (re-checked on every recorded call, and
        every 0.1 s for conditions outside the stand-in)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"Slack stand-in: condition not met in {timeout}s; "
                        f"calls: {[c.path for c in self.calls]}"
                    )
                self._cond.wait(min(remaining, 0.1))

    def wait_response(self, key: str, count: int = 1, timeout: float = 20.0) -> Call:
        return self.wait_for(
            lambda: (r := self.responses(key)) and len(r) >= count and r[count - 1], timeout
        )

    def start(self) -> SlackStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
