"""Deletion requests: preview, approval votes, policy, expiry, execution and the audit
store (SQL). Knows nothing of Slack or Block Kit: front ends pass user IDs in and get
typed results back."""

from ..durations import parse_duration
from .models import (
    AuditAction,
    AuditEvent,
    CleanupItem,
    CleanupProgress,
    DeletionRequest,
    ItemState,
    Kind,
    PlatformChild,
    State,
)
from .own_writes import WriteAction
from .policy import ApproverPolicy
from .results import (
    CleanupPreview,
    DeletionRefused,
    ExecutionInterrupted,
    NoApprovers,
    Preview,
    Running,
    VoteOutcome,
    VoteResult,
)
from .retention import RetentionRules
from .service import DEFAULT_LEASE, DEFAULT_TTL, DEFAULT_UNDO_RETENTION, DeletionService
from .store import DeletionStore, open_store

__all__ = [
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "DEFAULT_UNDO_RETENTION",
    "ApproverPolicy",
    "AuditAction",
    "AuditEvent",
    "CleanupItem",
    "CleanupPreview",
    "CleanupProgress",
    "DeletionRefused",
    "DeletionRequest",
    "DeletionService",
    "DeletionStore",
    "ExecutionInterrupted",
    "ItemState",
    "Kind",
    "NoApprovers",
    "PlatformChild",
    "Preview",
    "RetentionRules",
    "Running",
    "State",
    "VoteOutcome",
    "VoteResult",
    "WriteAction",
    "open_store",
    "parse_duration",
]
