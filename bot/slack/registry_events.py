"""The registry's notifications endpoint, ``POST /registry/events``, and what the
channel sees of it. Requests need ``Authorization: Bearer REGISTRY_EVENTS_TOKEN``
(compared in constant time); the events are stored before the answer (the registry
waits about a second), and the Slack work happens afterwards: pushes within a short
window become one message, outside deletions are flagged in the channel and the audit,
and a protected tag that moved or was deleted raises an alert.

The records are the event feed's (``bot.events``); this module speaks HTTP and Slack:
``RegistryEvents`` takes deliveries (where the acknowledgements are), and ``Announcer``
posts what they brought (where the jobs run: the result travels as a job).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
from collections.abc import Callable

from slack_sdk.errors import SlackApiError

from ..events import (
    Activity,
    EnvelopeError,
    EventFeed,
    GroupCommit,
    IngestResult,
    StorageFailed,
    parse_envelope,
)
from . import picker_names
from .context import BotContext
from .jobs import Announce, Job, JobKind
from .render import Message
from .render.events import (
    render_outside_deletion,
    render_protected_alert,
    render_pushes,
)

log = logging.getLogger(__name__)
EVENTS_PATH = "/registry/events"
MAX_EVENTS_BODY = 1024 * 1024  # distribution sends one event, or a few, per request
BURST_SECONDS = 2.0  # pushes this close together are posted as one message


def header(scope: dict, name: bytes) -> str:
    """One request header of an ASGI scope ("" when absent)."""
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


async def reply(send: Callable, status: int, text: str, *, close: bool = False) -> None:
    """A plain-text answer; ``close`` when the body was not read."""
    headers = [(b"content-type", b"text/plain")]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode() + b"\n"})


async def _read(receive: Callable, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ValueError("body over its announced length")
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


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
    """The ASGI endpoint: each delivery stored before it is answered, and what it
    brought handed over as a job for the ``Announcer``."""

    def __init__(
        self,
        feed: EventFeed,
        token: str,
        ctx: BotContext,
        paths: frozenset[str] = frozenset({EVENTS_PATH}),
    ) -> None:
        self.paths = paths  # /registry/events, and /registry/events/NAME of its registry
        self.feed = feed
        self.token = token.encode()
        self.ctx = ctx
        self.writer = GroupCommit(feed, self._tell_later)

    # -- HTTP -------------------------------------------------------------------------
    async def asgi(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Answer one delivery: refuse it (401, 400) before reading it when it can't be
        taken; otherwise store it (in a thread: the database blocks) and say so."""
        if scope["method"] != "POST":
            await reply(send, 405, "POST only", close=True)
            return
        scheme, _, credential = header(scope, b"authorization").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credential.strip().encode(), self.token
        ):
            await reply(send, 401, "a valid Bearer token is required", close=True)
            return
        length = header(scope, b"content-length").strip()
        if not (length.isascii() and length.isdigit()) or int(length) > MAX_EVENTS_BODY:
            await reply(send, 400, "a body of at most 1 MiB, with its length", close=True)
            return
        try:
            body = await _read(receive, int(length))
        except ValueError as exc:
            await reply(send, 400, str(exc), close=True)
            return
        status, text = await asyncio.to_thread(self.take, body, header(scope, b"content-type"))
        await reply(send, status, text)

    def take(self, body: bytes, content_type: str) -> tuple[int, str]:
        """Parse and store one delivery; the status and text to answer with."""
        try:
            events = parse_envelope(body, content_type)
        except EnvelopeError as exc:
            return 400, f"not stored: {exc}"
        try:
            new = self.writer.store(events, self.ctx.now())
        except StorageFailed as exc:
            log.error("storing %d registry events failed: %s", len(events), exc)
            return 503, "could not store them"  # the registry delivers them again
        picker_names.told(self.ctx, events)
        return 200, f"stored {new} of {len(events)}"

    def _tell_later(self, result: IngestResult) -> None:
        if result.pushes or result.outside_deletions or result.protected_alerts:
            what = f"posting {self.ctx.serving_name}'s registry events"
            job = Job(JobKind.REGISTRY_EVENTS, Announce(result), what, None, self.ctx.serving_name)
            self.ctx.background(job)


class Announcer:
    """What the channel sees of the deliveries: pushes within ``window`` seconds as one
    message, outside deletions flagged (and audited), protected-tag alerts."""

    def __init__(self, ctx: BotContext, channel: str | None, window: float = BURST_SECONDS):
        self.ctx = ctx
        self.channel = channel
        self.window = window
        self.batches: dict[str, PushBatcher] = {}  # by registry: one message each
        self.lock = threading.Lock()

    def _post(self, channel: str, message: Message) -> None:
        try:
            self.ctx.web.chat_postMessage(channel=channel, **message.to_dict())
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else "unknown"
            log.error("could not post registry events to %s: %s", channel, error)

    def _batch(self, ctx: BotContext) -> PushBatcher:
        with self.lock:
            batch = self.batches.get(ctx.serving_name)
            if batch is None:
                registry = ctx.serving_name if ctx.several else None

                def post(pushes: list[Activity]) -> None:
                    if self.channel:
                        self._post(self.channel, render_pushes(pushes, registry))

                batch = self.batches[ctx.serving_name] = PushBatcher(post, self.window)
            return batch

    def tell(self, result: IngestResult, ctx: BotContext | None = None) -> None:
        """Post what ``result`` brought, from the registry ``ctx`` serves."""
        ctx = ctx or self.ctx
        registry = ctx.serving_name if ctx.several else None
        self._batch(ctx).add(result.pushes)
        for deletion in result.outside_deletions:
            # The audit trail has it already (written with the event: see wiring); the
            # channels hear of it here.
            for channel in self._channels(ctx, deletion.repository):
                self._post(channel, render_outside_deletion(deletion, registry))
        for alert in result.protected_alerts:
            for channel in self._channels(ctx, alert.repository):
                self._post(channel, render_protected_alert(alert, registry))

    def _channels(self, ctx: BotContext, repository: str) -> list[str]:
        """Where an alert about ``repository`` goes: its owner's events channel (else
        EVENTS_CHANNEL), and the audit channel."""
        owners = ctx.deletions.terms_for(repository).events_channel or self.channel
        return list(dict.fromkeys(c for c in (owners, ctx.audit_channel) if c))
