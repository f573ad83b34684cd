"""Parsing the envelopes distribution POSTs to a notification endpoint.

Distribution 2 sends ``application/vnd.docker.distribution.events.v1+json``:
``{"events": [...]}``. Distribution 3 sends ``...events.v2+json``, one event per
request. Anything else, or a body that doesn't parse, is an ``EnvelopeError``: nothing
of it is stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..registry import (
    InvalidReferenceError,
    is_digest,
    load_json,
    validate_repository,
    validate_tag,
)
from .models import EventAction, RegistryEvent

V1 = "application/vnd.docker.distribution.events.v1+json"
V2 = "application/vnd.docker.distribution.events.v2+json"
ENVELOPE_TYPES = (V1, V2, "application/json")
MAX_EVENTS = 10_000


class EnvelopeError(ValueError):
    """The body is not a notification envelope; the message says why."""


def _time(text: Any) -> datetime:
    if not isinstance(text, str):
        raise EnvelopeError("an event has no timestamp")
    value = text.strip()
    # RFC 3339 with up to nanoseconds: Python takes at most microseconds.
    if "." in value:
        head, _, rest = value.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits) :]
        value = f"{head}.{digits[:6]}{zone}"
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # 9999-12-31T23:59:59-14:00 is past the last date there is, in UTC.
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise EnvelopeError(f"an event's timestamp is not a date: {text[:40]!r}") from None


def _text(value: Any, limit: int = 500) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _event(raw: Any) -> RegistryEvent:
    if not isinstance(raw, dict):
        raise EnvelopeError("an event is not an object")
    try:
        action = EventAction(str(raw.get("action")))
    except ValueError:
        raise EnvelopeError(f"unknown action {str(raw.get('action'))[:20]!r}") from None
    target = raw.get("target")
    if not isinstance(target, dict):
        raise EnvelopeError("an event has no target")
    repository = _text(target.get("repository"), 255)
    try:
        validate_repository(repository)
    except InvalidReferenceError:
        raise EnvelopeError(f"an event names no valid repository ({repository[:60]!r})") from None
    digest = target.get("digest") or None
    if digest is not None and not (isinstance(digest, str) and is_digest(digest)):
        raise EnvelopeError("an event's digest is not a digest")
    tag = target.get("tag") or None
    if tag is not None:
        try:
            validate_tag(str(tag))
        except InvalidReferenceError:
            raise EnvelopeError("an event's tag is not a tag") from None
    size = target.get("size")
    request = raw.get("request")
    request = request if isinstance(request, dict) else {}
    actor = raw.get("actor")
    actor = actor if isinstance(actor, dict) else {}
    event_id = _text(raw.get("id"), 128)
    if not event_id:
        raise EnvelopeError("an event has no id")
    return RegistryEvent(
        id=event_id,
        at=_time(raw.get("timestamp")),
        action=action,
        repository=repository,
        digest=digest,
        tag=tag,
        media_type=_text(target.get("mediaType"), 255),
        size=size if isinstance(size, int) and 0 <= size < 2**53 else None,
        actor=_text(actor.get("name"), 128) or None,
        user_agent=_text(request.get("useragent"), 300),
    )


def parse_envelope(body: bytes, content_type: str) -> list[RegistryEvent]:
    """The events in a notification request, or EnvelopeError."""
    media = content_type.split(";")[0].strip().lower()
    if media not in ENVELOPE_TYPES:
        raise EnvelopeError(f"unknown media type {media[:80]!r}")
    try:
        document = load_json(body)
    except ValueError:
        raise EnvelopeError("the body is not JSON") from None
    if isinstance(document, dict) and "events" in document:
        raw_events = document["events"]
        if not isinstance(raw_events, list):
            raise EnvelopeError("events is not a list")
    elif isinstance(document, dict) and "action" in document:
        raw_events = [document]  # distribution 3: one event per request
    else:
        raise EnvelopeError("the body is not an envelope of events")
    if len(raw_events) > MAX_EVENTS:
        raise EnvelopeError(f"more than {MAX_EVENTS} events in one envelope")
    return [_event(e) for e in raw_events]
