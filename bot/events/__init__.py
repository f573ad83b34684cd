"""The registry's own event feed (distribution's notifications): parsing the envelopes
it POSTs, and the records kept from them (pushes per tag, pulls per digest, deletions,
the outside ones flagged). Knows nothing of Slack: front ends get typed results back."""

from .feed import EventFeed, IngestResult
from .models import (
    Activity,
    ActivityKind,
    EventAction,
    PullStats,
    RegistryEvent,
    TagRecord,
)
from .parse import ENVELOPE_TYPES, EnvelopeError, parse_envelope

__all__ = [
    "ENVELOPE_TYPES",
    "Activity",
    "ActivityKind",
    "EnvelopeError",
    "EventAction",
    "EventFeed",
    "IngestResult",
    "PullStats",
    "RegistryEvent",
    "TagRecord",
    "parse_envelope",
]
