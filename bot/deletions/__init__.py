"""Deletion requests: preview, approval votes, policy, expiry, execution and the audit
store (SQL). Knows nothing of Slack or Block Kit: front ends pass user IDs in and get
typed results back."""

from ..durations import parse_duration
from .models import AuditAction, AuditEvent, DeletionRequest, Kind, PlatformChild, State
from .policy import ApproverPolicy
from .service import DeletionRefused, DeletionService, NoApprovers, Preview, VoteOutcome, VoteResult
from .store import DeletionStore, open_store

__all__ = [
    "ApproverPolicy",
    "AuditAction",
    "AuditEvent",
    "DeletionRefused",
    "DeletionRequest",
    "DeletionService",
    "DeletionStore",
    "Kind",
    "NoApprovers",
    "PlatformChild",
    "Preview",
    "State",
    "VoteOutcome",
    "VoteResult",
    "open_store",
    "parse_duration",
]
