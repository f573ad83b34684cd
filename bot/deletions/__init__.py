"""Deletion requests: preview, approval votes, policy, expiry, execution and the audit
store (SQL). Knows nothing of Slack or Block Kit: front ends pass user IDs in and get
typed results back."""

from ..durations import parse_duration
from .models import (
    CARRIED_OUT,
    CLOSED,
    DECIDED,
    OPEN,
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
from .outcomes import Fact, Finding, Outcome, Subject, Verdict
from .own_writes import WriteAction
from .policy import ApproverPolicy
from .results import (
    CleanupPreview,
    DeletionRefused,
    Effect,
    ExecutionInterrupted,
    NoApprovers,
    Preview,
    Refusal,
    Result,
    Running,
)
from .retention import Kept, KeptTag, NoDate, RepoPlan, RepoUsage, RetentionRules
from .service import DEFAULT_LEASE, DEFAULT_TTL, DEFAULT_UNDO_RETENTION, DeletionService
from .store import (
    DatabaseUnavailable,
    DeletionStore,
    LegacyPost,
    check_database,
    legacy_posts,
    open_store,
)

__all__ = [
    "CARRIED_OUT",
    "CLOSED",
    "DECIDED",
    "DEFAULT_LEASE",
    "DEFAULT_TTL",
    "DEFAULT_UNDO_RETENTION",
    "OPEN",
    "ApproverPolicy",
    "AuditAction",
    "AuditEvent",
    "CleanupItem",
    "CleanupPreview",
    "CleanupProgress",
    "DatabaseUnavailable",
    "DeletionRefused",
    "DeletionRequest",
    "DeletionService",
    "DeletionStore",
    "Effect",
    "ExecutionInterrupted",
    "Fact",
    "Finding",
    "ItemState",
    "Kept",
    "KeptTag",
    "Kind",
    "LegacyPost",
    "NoApprovers",
    "NoDate",
    "Outcome",
    "PlatformChild",
    "Preview",
    "Refusal",
    "RepoPlan",
    "RepoUsage",
    "Result",
    "RetentionRules",
    "Running",
    "State",
    "Subject",
    "Verdict",
    "WriteAction",
    "check_database",
    "legacy_posts",
    "open_store",
    "parse_duration",
]
