"""Deletion requests: preview, approval votes, policy, expiry, execution and the audit
store (SQL). Knows nothing of Slack or Block Kit: front ends pass user IDs in and get
typed results back."""

from .durations import parse_duration
from .models import AuditEvent, DeletionRequest, Kind, State
from .policy import ApproverPolicy
from .service import DeletionService, Preview, VoteResult
from .store import DeletionStore, open_store

__all__ = [
    "ApproverPolicy",
    "AuditEvent",
    "DeletionRequest",
    "DeletionService",
    "DeletionStore",
    "Kind",
    "Preview",
    "State",
    "VoteResult",
    "open_store",
    "parse_duration",
]
