"""The registry's own event feed (distribution's notifications): parsing the envelopes
it POSTs, and the records kept from them (pushes per tag, pulls per digest, deletions,
the outside ones flagged). Knows nothing of Slack: front ends get typed results back."""

from .feed import EventFeed, IngestResult
from .group_commit import GroupCommit, StorageFailed
from .models import (
    Activity,
    ActivityKind,
    EventAction,
    PullStats,
    RegistryEvent,
    TagRecord,
)
from .parse import ENVELOPE_TYPES, EnvelopeError, parse_envelope
from .store import EventStore

__all__ = [
    "ENVELOPE_TYPES",
    "Activity",
    "ActivityKind",
    "EnvelopeError",
    "EventAction",
    "EventFeed",
    "EventStore",
    "GroupCommit",
    "IngestResult",
    "PullStats",
    "RegistryEvent",
    "StorageFailed",
    "TagRecord",
    "parse_envelope",
]
