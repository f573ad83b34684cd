"""The kinds of work a request can ask for, one module each, behind one small protocol:
``carry_out`` what a claimed request asks, and ``recover`` one whose holder stopped
(asking the registry what became of it, or carrying it on). ``table`` gives each
``Kind`` its work; nothing above this package compares kinds to choose.

- ``image``: an image deleted by its digest; one tag removed on its own;
- ``blobs``: one blob no tag uses; the layers a deleted image left unused;
- ``restore``: what a deletion took, put back; a protected tag pointed back;
- ``prune``: a cleanup by retention rules, its dry run, run and report.

Each module also holds its kind's previews (the draft request and its blast radius).
``base`` is what they share: their context, the write hook, the complete scan.
"""

from __future__ import annotations

from typing import Protocol

from ..claims import Claim
from ..models import DeletionRequest, Kind
from ..outcomes import Outcome
from .base import WorkContext
from .blobs import BlobsWork
from .image import ImageWork, TagWork
from .prune import PruneWork
from .restore import RestoreWork


class Work(Protocol):
    def carry_out(self, request: DeletionRequest, claim: Claim) -> Outcome:
        """Do what ``request`` asks; raises ClaimLost once the claim is lost (nothing
        more is written to the registry from then on)."""
        ...

    def recover(self, request: DeletionRequest, claim: Claim) -> Outcome:
        """What became of a request whose holder stopped, or it carried on to its end:
        UNKNOWN while the registry can't say (the next sweep asks again)."""
        ...


def table(ctx: WorkContext) -> dict[Kind, Work]:
    """Each kind of request, and the work that carries it out."""
    blobs = BlobsWork(ctx)
    return {
        Kind.MANIFEST: ImageWork(ctx),
        Kind.TAG: TagWork(ctx),
        Kind.BLOB: blobs,
        Kind.BLOBS: blobs,
        Kind.RESTORE: RestoreWork(ctx),
        Kind.PRUNE: PruneWork(ctx),
    }


__all__ = ["Work", "WorkContext", "table"]
