"""The registry's notifications endpoint, ``POST /registry/events``, and what the
channel sees of it. Requests need ``Authorization: Bearer REGISTRY_EVENTS_TOKEN``
(compared in constant time); the events are stored before the answer (the registry
waits about a second), and the Slack work happens afterwards: pushes within a short
window become one message, outside deletions are flagged in the channel and the audit,
and a protected tag that moved or was deleted raises an alert.

The records are the event feed's (``bot.events``); this module speaks HTTP and Slack.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable

from slack_sdk.errors import SlackApiError

from ..events import Activity, EnvelopeError, EventFeed, IngestResult, parse_envelope
from ..events.group_commit import GroupCommit, StorageFailed
from .context import BotContext
from .render import Message
from .render.deletions import render_audit_event
from .render.events import (
    render_outside_deletion,
    render_protected_alert,
    render_pushes,
)

log = logging.getLogger(__name__)
EVENTS_PATH = "/registry/events"
MAX_EVENTS_BODY = 1024 * 1024  # distribution sends one event, or a few, per request
BURST_SECONDS = 2.0  # pushes this close together are posted as one message


def _answer(start_response: Callable, status: str, text: str) -> list[bytes]:
    start_response(status, [("Content-Type", "text/plain"), ("Connection", "close")])
    return [text.encode() + b"\n"]


class PushBatcher:
    """Collects pushes and posts each burst (everything within ``window`` seconds of
    its first push) as one message."""

    def __init__(self, post: Callable[[list[Activity]], None], window: float) -> None:
        self.post = post
        self.window = window
        self.pending: list[Activity] = []
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def add(self, pushes: list[Activity]) -> None:
        if not pushes:
            return
        with self.lock:
            self.pending += pushes
            if self.timer is None:
                self.timer = threading.Timer(self.window, self.flush)
                self.timer.daemon = True
                self.timer.start()

    def flush(self) -> None:
        with self.lock:
            batch, self.pending, self.timer = self.pending, [], None
        if batch:
            try:
                self.post(batch)
            except Exception:
                log.exception("posting %d pushes failed", len(batch))


class RegistryEvents:
    """The WSGI endpoint, and the posts that follow a delivery."""

    def __init__(
        self,
        feed: EventFeed,
        token: str,
        ctx: BotContext,
        channel: str | None,
        *,
        window: float = BURST_SECONDS,
    ) -> None:
        self.feed = feed
        self.token = token.encode()
        self.ctx = ctx
        self.channel = channel
        self.pushes = PushBatcher(self._post_pushes, window)
        self.writer = GroupCommit(feed, lambda result: self._tell_later(result))

    # -- HTTP -------------------------------------------------------------------------
    def __call__(self, env: dict, start_response: Callable) -> Iterable[bytes]:
        if env.get("REQUEST_METHOD") != "POST":
            return _answer(start_response, "405 Method Not Allowed", "POST only")
        given = str(env.get("HTTP_AUTHORIZATION") or "")
        scheme, _, credential = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credential.strip().encode(), self.token
        ):
            return _answer(start_response, "401 Unauthorized", "a valid Bearer token is required")
        length = str(env.get("CONTENT_LENGTH") or "").strip()
        if not length.isdigit() or int(length) > MAX_EVENTS_BODY:
            return _answer(
                start_response, "400 Bad Request", "a body of at most 1 MiB, with its length"
            )
        body = env["wsgi.input"].read(int(length))
        try:
            events = parse_envelope(body, str(env.get("CONTENT_TYPE") or ""))
        except EnvelopeError as exc:
            return _answer(start_response, "400 Bad Request", f"not stored: {exc}")
        try:
            new = self.writer.store(events, self.ctx.now())
        except StorageFailed as exc:
            log.error("storing %d registry events failed: %s", len(events), exc)
            # The registry delivers again what wasn't taken.
            return _answer(start_response, "503 Service Unavailable", "could not store them")
        return _answer(start_response, "200 OK", f"stored {new} of {len(events)}")

    # -- Slack ------------------------------------------------------------------------
    def _post(self, channel: str, message: Message) -> None:
        if self.ctx.web is None:
            return
        try:
            self.ctx.web.chat_postMessage(channel=channel, **message.to_dict())
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "unknown"
            log.error("could not post registry events to %s: %s", channel, error)

    def _post_pushes(self, pushes: list[Activity]) -> None:
        if self.channel:
            self._post(self.channel, render_pushes(pushes))

    def _tell_later(self, result: IngestResult) -> None:
        self.ctx.background(lambda: self._tell(result), "posting registry events")

    def _tell(self, result: IngestResult) -> None:
        self.pushes.add(result.pushes)
        for deletion in result.outside_deletions:
            if self.channel:
                self._post(self.channel, render_outside_deletion(deletion))
            self._audit(deletion)
        for alert in result.protected_alerts:
            for channel in {c for c in (self.channel, self.ctx.audit_channel) if c}:
                self._post(channel, render_protected_alert(alert))

    def _audit(self, deletion: Activity) -> None:
        """An outside deletion belongs in the audit trail: the table, and AUDIT_CHANNEL."""
        if self.ctx.deletions is None:
            return
        tags = f"tags {deletion.tag}" if deletion.tag else "no tag pointed at it"
        who = " ".join(
            p
            for p in (
                f"by {deletion.actor}" if deletion.actor else "",
                f"with {deletion.user_agent}" if deletion.user_agent else "",
            )
            if p
        )
        text = (
            f"{deletion.repository}@{deletion.digest} ({tags}) was deleted in the registry, "
            f"not through registry-bot {who}".rstrip()
            + "; it went through no approval"
        )
        event = self.ctx.deletions.audit_outside_deletion(text, None)
        if self.ctx.audit_channel:
            self._post(self.ctx.audit_channel, render_audit_event(event))
