"""The registry-wide index: which manifests of which repositories reference which
blobs, so that a reclaim figure counts what garbage collection really gives back (a
blob comes back only when no manifest in any repository uses it). Filled by scans,
told by the registry's events which repositories changed since. Knows nothing of the
bot's commands or chat; builds on the registry protocol."""

from .index import BlobIndex, Catalog, Changes
from .models import Basis, Indexed, Reclaim

__all__ = ["Basis", "BlobIndex", "Catalog", "Changes", "Indexed", "Reclaim"]
