"""Where the registry's disk goes: storage counted as distribution stores it (each blob
once across the registry), and what nobody sees, the manifests a push left without a
tag (found from the registry's recorded events, checked against the registry). Knows nothing
of Slack; builds on the registry protocol and the event feed's records."""

from .report import RepoStorage, StorageReport, storage_report
from .untagged import Untagged, UntaggedReport, find_untagged

__all__ = [
    "RepoStorage",
    "StorageReport",
    "Untagged",
    "UntaggedReport",
    "find_untagged",
    "storage_report",
]
