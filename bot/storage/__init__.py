"""Where the registry's disk goes: storage counted as distribution stores it (each blob
once across the registry), what nobody sees (the manifests a push left without a tag,
found from the registry's recorded events, checked against the registry), and storage
over time (a snapshot a day). Knows nothing of Slack; builds on the registry protocol,
the registry-wide index and the event feed's records."""

from .history import Snapshot, StorageHistory, Trend, trend_of
from .refresh import Refreshed, refresh_index
from .report import REUSE_WITHIN, RepoStorage, StorageReport, storage_report
from .untagged import Untagged, UntaggedReport, find_untagged

__all__ = [
    "REUSE_WITHIN",
    "Refreshed",
    "RepoStorage",
    "Snapshot",
    "StorageHistory",
    "StorageReport",
    "Trend",
    "Untagged",
    "UntaggedReport",
    "find_untagged",
    "refresh_index",
    "storage_report",
    "trend_of",
]
