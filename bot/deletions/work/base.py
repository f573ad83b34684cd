"""What every kind of work uses: its context (the registry, the stores, the rules), the
hook each registry write goes through (the claim checked, the write recorded as the
bot's own), the undo copy's keeper, and the scan that refuses an incomplete view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...blobindex import BlobIndex, Reclaim
from ...patterns import Pattern
from ...registry import RegistryClient, RegistryError, RepoScan, scan_repository
from ..claims import Claim
from ..cleanup_store import CleanupStore
from ..execution import Abort, Save, failure
from ..lifecycle import Lifecycle
from ..models import DeletionRequest, SavedManifest
from ..outcomes import Outcome, Verdict
from ..own_writes import BeforeWrite, OwnWrites, Write
from ..owners import Owners
from ..results import DeletionRefused, Refusal
from ..retention import RepoUsage
from ..store import DeletionStore
from ..undo_store import UndoStore


@dataclass
class WorkContext:
    """Everything the kinds of work share (one per service)."""

    registry: RegistryClient
    index: BlobIndex  # which manifests of which repositories use which blobs
    lifecycle: Lifecycle
    store: DeletionStore
    undo: UndoStore
    cleanup: CleanupStore
    writes: OwnWrites
    clock: Callable[[], datetime]
    owners: Owners  # whose terms (approval, protected tags) each repository's deletions take
    undo_retention: timedelta
    dry_run_limit: timedelta
    # What the registry's events told of a repository (push and pull times), when the
    # front end records them.
    usage: Callable[[str], RepoUsage] | None = None

    def before_write(self, request: DeletionRequest, claim: Claim) -> BeforeWrite:
        """What a request's execution calls before each write to the registry: the
        claim is checked (ClaimLost stops the write), and the write recorded as the
        bot's own."""

        def before(writes: list[Write]) -> None:
            claim.check()
            self.writes.record(request.id, writes, self.clock())

        return before

    def saver(self, request: DeletionRequest) -> Save:
        """Keeps what a request is about to delete, for undo."""

        def save(manifests: list[SavedManifest]) -> None:
            now = self.clock()
            self.undo.save(request.id, manifests, now, now + self.undo_retention)

        return save

    def scan(self, repository: str, progress: Callable[[int], None] | None = None) -> RepoScan:
        """Every tag and manifest of the repository, or a refusal: a blast radius drawn
        from part of the repository could hide what a deletion takes with it."""
        scan = check_complete(scan_repository(self.registry, repository, progress))
        self.index.record(scan)
        return scan

    def reclaim(self, removed: dict[str, set[str]]) -> Reclaim:
        """What garbage collection gives back once ``removed`` (repository -> manifest
        digests; each repository just read into the index) is gone, registry-wide."""
        return self.index.reclaim(removed, self.registry.catalog)

    def forget_if_done(self, repository: str, digests: set[str], outcome: Outcome) -> Outcome:
        """``outcome``, after telling the index that the deleted manifests reference
        nothing any more (when they were deleted)."""
        if outcome.verdict == Verdict.DONE:
            self.index.forget(repository, digests)
        return outcome

    def protected(self, repository: str) -> Pattern | None:
        """The tags of ``repository`` that are never deleted (its owner's pattern)."""
        return self.owners.terms_for(repository).protected

    def check_protected(self, repository: str, tags: list[str] | tuple[str, ...]) -> None:
        protected = self.protected(repository)
        if protected is None:
            return
        hit = [t for t in tags if protected.search(t)]
        if hit:
            raise DeletionRefused(Refusal.PROTECTED, names=tuple(hit), pattern=protected.pattern)


def check_complete(scan: RepoScan) -> RepoScan:
    if not scan.complete:
        raise DeletionRefused(
            Refusal.INCOMPLETE_VIEW, repository=scan.repository, answer=scan.problems()
        )
    return scan


def or_verified(run: Callable[[], Outcome], verify: Callable[[], Outcome]) -> Outcome:
    """``run()``: its outcome, or a check's refusal (``Abort``) as the outcome; when the
    registry fails midway (part of the work may be done: a tag removal), ask it with
    ``verify()`` what became of the request."""
    try:
        return run()
    except Abort as exc:
        return exc.outcome
    except RegistryError as exc:
        outcome = verify()
        if outcome.verdict == Verdict.NOT_DONE:
            outcome = Outcome(Verdict.NOT_DONE, failure(exc))
        return outcome
