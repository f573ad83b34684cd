"""A cleanup by retention rules (``/registry prune``): the dry run that pins its plan
(each image to delete, with the tags it had), the run that carries it out several
repositories at once (each planned image checked against a fresh scan, kept for undo,
claimed and deleted in batches, every move fenced by the claim's token), and its report.

A run interrupted (a restart, a holder taken over) is resumed from the database: what is
done stays done, what was under way is asked of the registry, the rest goes on.
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ...registry import RegistryError, RepoScan, scan_repository
from .. import cleanup
from ..claims import Claim, ClaimLost
from ..execution import ITEMS_LISTED
from ..models import CleanupItem, CleanupProgress, DeletionRequest, ItemState, Kind
from ..outcomes import Fact, Finding, Outcome, Subject, Verdict
from ..results import CleanupPreview, DeletionRefused, Refusal
from ..retention import RepoPlan, RetentionRules
from .base import WorkContext, check_complete

log = logging.getLogger(__name__)
# A cleanup is made ready (checked, claimed, kept for undo: a few transactions) in
# batches of this many rounds of REGISTRY_CONCURRENCY, the next while the last is deleted.
BATCH_ROUNDS = 10
# How many repositories of a cleanup are worked on at once (each scan must be complete
# before its first DELETE, so one repository's lookups wait on round trips while
# another's DELETEs keep the registry busy); REGISTRY_CONCURRENCY bounds the requests.
REPOSITORIES_AT_ONCE = 8
# How old the bot's own lookup of a tag may be for a cleanup's dry run to reuse it (as
# after a listing or an earlier dry run) instead of asking again.
DRY_RUN_REUSES_LOOKUPS = timedelta(minutes=10)
# A dry run ends within this time whatever it is given (a scan sends nothing after it),
# and names at most this many repositories: past either, it is refused, saying so.
DRY_RUN_LIMIT = timedelta(minutes=5)
MAX_CLEANUP_REPOSITORIES = 200

# A change to a cleanup's item: the item, its new state, why.
Change = tuple[CleanupItem, ItemState, Fact | None]
# Writes changes (compare-and-sets from the given states); for each, whether it was made.
Record = Callable[[list[Change], list[ItemState]], list[bool]]


def _by_owner(ctx: WorkContext, plans: list[RepoPlan]) -> list[list[str]]:
    """The repositories the cleanup deletes from, one list per owner (in order): each
    becomes a request of its own, approved by its owner."""
    touched = [p.repository for p in plans if p.delete]
    return list(ctx.owners.by_owner(touched).values())


def preview(
    ctx: WorkContext,
    pattern: str,
    rules: RetentionRules,
    reason: str,
    requester: str,
    channel: str,
    progress: Callable[[int], None] | None = None,
) -> CleanupPreview:
    """The dry run: scan every repository ``pattern`` names, apply ``rules``, and
    pin the plan (each image to delete with the tags it had) as a draft request.
    Changes nothing in the registry."""
    ctx.lifecycle.check_configured()
    if rules.keeps_nothing:
        raise DeletionRefused(Refusal.KEEPS_NOTHING)
    if rules.untagged and ctx.usage is None:
        raise DeletionRefused(Refusal.UNTAGGED_UNKNOWN)
    deadline = time.monotonic() + ctx.dry_run_limit.total_seconds()
    repositories = cleanup.find_repositories(ctx.registry, pattern)
    if not repositories:
        raise DeletionRefused(Refusal.NO_MATCH, pattern=pattern)
    if len(repositories) > MAX_CLEANUP_REPOSITORIES:
        raise DeletionRefused(
            Refusal.TOO_MANY_REPOSITORIES,
            pattern=pattern,
            count=len(repositories),
            limit=MAX_CLEANUP_REPOSITORIES,
        )
    now = ctx.clock()
    plans, items, unverified = [], [], 0
    removed: dict[str, set[str]] = {}
    for done, repository in enumerate(repositories):
        usage = ctx.usage(repository) if ctx.usage is not None else None
        if rules.untagged and not (usage and usage.left_untagged):
            plans.append(RepoPlan(repository, untagged=True))  # no push left one untagged
            continue
        # Where the registry's push events, or the bot's own lookups of the last few
        # minutes, say a tag points, the dry run takes their word instead of a HEAD
        # per tag; execution looks every tag up again.
        known = {t: d for t, (d, _) in usage.pushes.items()} if usage else None
        scan = scan_repository(
            ctx.registry,
            repository,
            progress,
            known,
            DRY_RUN_REUSES_LOOKUPS.total_seconds(),
            deadline,
        )
        if scan.unread or time.monotonic() > deadline:
            raise DeletionRefused(
                Refusal.DRY_RUN_TOO_LONG,
                pattern=pattern,
                count=done,
                total=len(repositories),
                limit_seconds=ctx.dry_run_limit.total_seconds(),
            )
        check_complete(scan)
        unverified += len(scan.unverified)
        if rules.untagged and usage is not None:
            scan, plan = cleanup.plan_untagged_scan(ctx.registry, scan, rules, now, usage)
            ctx.index.record(scan, untagged=set(plan.delete) | set(plan.untagged_kept))
        else:
            ctx.index.record(scan)
            plan = cleanup.plan_scan(
                ctx.registry, scan, rules, now, ctx.protected(scan.repository), usage
            )
        plans.append(plan)
        items += cleanup.plan_items(scan, plan)
        removed[repository] = cleanup.removed_manifests(scan, plan)
    emptied = [p.repository for p in plans if p.empties]
    if emptied and not rules.allow_empty:
        raise DeletionRefused(Refusal.WOULD_EMPTY, names=tuple(emptied))
    if not any(p.delete for p in plans):
        if rules.untagged:
            kept = sum(len(p.untagged_kept) for p in plans)
            raise DeletionRefused(Refusal.NO_UNTAGGED, count=kept, total=len(plans))
        kept = sum(len(p.kept) for p in plans)
        raise DeletionRefused(Refusal.NOTHING_TO_CLEAN, count=kept, total=len(plans))
    groups = _by_owner(ctx, plans)
    batch = secrets.token_hex(8) if len(groups) > 1 else None
    fields = {"pattern": pattern, "rules": rules, "reason": reason, "requester": requester}
    drafts, part_of, reclaimable = _drafts(
        ctx, groups, plans, items, removed, batch, channel=channel, **fields
    )
    return CleanupPreview(
        drafts[0],
        rules,
        plans,
        reclaimable,
        unverified,
        parts=tuple(drafts) if batch else (),
        part_of=part_of if batch else {},
    )


def _drafts(
    ctx: WorkContext,
    groups: list[list[str]],
    plans: list[RepoPlan],
    items: list[CleanupItem],
    removed: dict[str, set[str]],
    batch: str | None,
    **fields: Any,
) -> tuple[list[DeletionRequest], dict[str, str], dict[str, int]]:
    """A draft per owner's ``groups`` of repositories, each with its plan and what
    collection would reclaim after it; with each repository's draft ID, and the
    reclaim by repository."""
    drafts: list[DeletionRequest] = []
    part_of: dict[str, str] = {}
    reclaimable: dict[str, int] = {}
    for group in groups:
        # One owner alone: every repository's plan (kept ones too) is the one request's.
        mine = set(group) if batch else {p.repository for p in plans}
        reclaim = ctx.reclaim({r: d for r, d in removed.items() if r in mine})
        held = [i for i in items if i.repository in mine]
        request = ctx.lifecycle.new_draft(
            approval=ctx.lifecycle.approval_for(group),
            kind=Kind.PRUNE,
            repository="",  # a cleanup spans the repositories its pattern names
            digest="",
            size=sum(i.size or 0 for i in held if i.state == ItemState.PLANNED),
            reclaimable=reclaim.bytes,
            reclaim_basis=reclaim.basis,
            batch=batch,
            **fields,
        )
        ctx.cleanup.add(request.id, held)
        drafts.append(request)
        part_of |= dict.fromkeys(mine, request.id)
        reclaimable |= reclaim.by_repository
    return drafts, part_of, reclaimable


class PruneWork:
    """A cleanup's run (and its resumption, which is the same run from the database)."""

    def __init__(self, ctx: WorkContext) -> None:
        self.ctx = ctx

    def recover(self, request: DeletionRequest, claim: Claim) -> Outcome:
        # Resume: what is done stays done, the rest goes on from the database.
        return self.carry_out(request, claim)

    def carry_out(self, request: DeletionRequest, claim: Claim) -> Outcome:
        """Carry out (or resume) a cleanup, several repositories at once: each planned
        image checked against a fresh scan of its repository, marked ``deleting`` and
        kept for undo before its DELETE, then recorded; one tag list per repository at
        the end confirms the deletions. Each item moves by compare-and-set, fenced by
        the claim's token, so no digest is deleted twice and a stale holder writes
        nothing; ClaimLost is raised once the work under way has stopped."""
        items = self.ctx.cleanup.items(request.id)
        tally = _Tally(self.ctx, request, claim, items)
        todo = [i for i in items if i.state in (ItemState.PLANNED, ItemState.DELETING)]
        stopped = threading.Event()  # a failure (the database) stops repositories not begun

        def one_repository(repository: str) -> None:
            if stopped.is_set() or claim.lost:
                return
            try:
                self._prune_repository(
                    request,
                    claim,
                    repository,
                    [i for i in todo if i.repository == repository],
                    tally.record,
                    lambda tags: tally.check(repository, tags),
                )
            except BaseException:
                stopped.set()
                raise
            finally:
                tally.check(repository, None)

        tally.report()
        repositories = sorted({i.repository for i in todo})
        at_once = max(1, min(REPOSITORIES_AT_ONCE, len(repositories)))
        with ThreadPoolExecutor(at_once, thread_name_prefix="cleanup-repository") as pool:
            runs = [pool.submit(one_repository, r) for r in repositories]
        for run in runs:
            run.result()  # a failure is raised once every repository under way is done
        if claim.lost:
            raise ClaimLost(request.id, "was taken over")
        items = self.ctx.cleanup.items(request.id)
        for repository in sorted({i.repository for i in items}):
            deleted = {
                i.digest
                for i in items
                if i.repository == repository and i.state == ItemState.DELETED
            }
            if deleted:
                self.ctx.index.forget(repository, deleted)
        return cleanup_outcome(request, items)

    def _prune_repository(
        self,
        request: DeletionRequest,
        claim: Claim,
        repository: str,
        mine: list[CleanupItem],
        record: Record,
        check: Callable[[int | None], None],
    ) -> None:
        """One repository of a cleanup: settle what an interrupted run left, scan it
        again, delete what is still safe, and confirm with one tag list. ``check`` is
        told how many tags the scan looks up, and None when it is done."""
        mine = self._settle_resumed(mine, record)
        scan = scan_repository(self.ctx.registry, repository, check)
        check(None)
        if not scan.complete:
            why = Fact(Finding.INCOMPLETE_VIEW, answer=scan.problems())
            record(
                [(i, ItemState.SKIPPED, why) for i in mine],
                [ItemState.PLANNED, ItemState.DELETING],
            )
            return
        deleted = self._delete_planned(request, claim, scan, mine, record)
        still = cleanup.unconfirmed(self.ctx.registry, repository, deleted)
        record(
            [
                (
                    replace(i, state=ItemState.DELETED),
                    ItemState.FAILED,
                    Fact(Finding.STILL_SERVED),
                )
                for i in deleted
                if i.digest in still
            ],
            [ItemState.DELETED],
        )

    def _settle_resumed(self, items: list[CleanupItem], record: Record) -> list[CleanupItem]:
        """Items left ``deleting`` by an interrupted run: those the registry no longer
        has were deleted; the rest are done again."""
        resumed = [i for i in items if i.state == ItemState.DELETING]
        if not resumed:
            return items
        there = self.ctx.registry.map(lambda i: cleanup.still_there(self.ctx.registry, i), resumed)
        gone = {i.digest for i, t in zip(resumed, there, strict=True) if t is False}
        record(
            [
                (i, ItemState.DELETED, Fact(Finding.GONE_ON_CHECK))
                for i in resumed
                if i.digest in gone
            ],
            [ItemState.DELETING],
        )
        return [i for i in items if i.digest not in gone]

    def _delete_planned(
        self,
        request: DeletionRequest,
        claim: Claim,
        scan: RepoScan,
        items: list[CleanupItem],
        record: Record,
    ) -> list[CleanupItem]:
        """Delete a repository's planned images with every slot busy from the first
        DELETE to the last: a preparer checks, claims and keeps for undo one batch after
        another (a transaction each) while the workers delete what is ready, recording
        results in groups. Every DELETE is preceded by a check of the claim: once it is
        lost, nothing more is sent, and what was made ready stays ``deleting`` for the
        new holder to check with the registry. Returns what was deleted."""
        size = max(1, self.ctx.registry.settings.concurrency * BATCH_ROUNDS)
        workers = max(1, min(self.ctx.registry.settings.concurrency, len(items)))
        ready: queue.SimpleQueue[tuple[CleanupItem, tuple[str, ...]] | None] = queue.SimpleQueue()
        results = _Recorder(record, flush_every=max(8, self.ctx.registry.settings.concurrency * 2))

        lost: list[ClaimLost] = []

        def prepare() -> None:
            try:
                for at in range(0, len(items), size):
                    batch = items[at : at + size]
                    for pair in self._prepare_batch(request, claim, scan, batch, record):
                        ready.put(pair)
            finally:
                for _ in range(workers):
                    ready.put(None)  # each worker stops at one of these

        def one(pair: tuple[CleanupItem, tuple[str, ...]]) -> None:
            item, moved = pair
            try:
                state, fact = cleanup.delete_unconfirmed(self.ctx.registry, item)
            except RegistryError as exc:
                state, fact = ItemState.FAILED, Fact(Finding.REGISTRY_FAILED, answer=exc.message)
            if state == ItemState.DELETED and moved:
                fact = replace(fact, tags=moved)  # moved elsewhere, and left alone
            results.add(item, state, fact)

        def work(_: int) -> None:
            while (pair := ready.get()) is not None:
                try:
                    claim.check()
                except ClaimLost as exc:
                    lost.append(exc)
                    return
                one(pair)

        # Results not yet written when something fails stay "deleting": recovery asks
        # the registry about them, as after a crash. A failure to prepare (the database)
        # is raised once the DELETEs already under way are done and recorded.
        with ThreadPoolExecutor(1, thread_name_prefix="cleanup-prepare") as preparer:
            prepared = preparer.submit(prepare)
            self.ctx.registry.map(work, range(workers))
        results.flush()
        prepared.result()
        if lost:
            raise lost[0]
        return results.deleted

    def _prepare_batch(
        self,
        request: DeletionRequest,
        claim: Claim,
        scan: RepoScan,
        batch: list[CleanupItem],
        record: Record,
    ) -> list[tuple[CleanupItem, tuple[str, ...]]]:
        """Check a batch against the scan, claim what is still safe and keep it for
        undo; returns what may be deleted, with the planned tags that moved elsewhere."""
        claim.check()
        protected = self.ctx.protected(scan.repository)
        checked = [(i, *cleanup.why_not_now(scan, i, protected)) for i in batch]
        sources = [ItemState.PLANNED, ItemState.DELETING]
        record([(i, ItemState.SKIPPED, why) for i, why, _ in checked if why], sources)
        candidates = [(i, moved) for i, why, moved in checked if why is None]
        claimed = self.ctx.cleanup.move_many(
            request.id,
            [(i, ItemState.DELETING, None) for i, _ in candidates],
            sources,
            token=claim.token,
            at=self.ctx.clock(),  # recorded as the bot's own DELETEs, in the same transaction
        )
        go = [c for c, ok in zip(candidates, claimed, strict=True) if ok]
        saved, problems = cleanup.copies_for_undo(self.ctx.registry, scan, [i for i, _ in go])
        try:
            now = self.ctx.clock()
            self.ctx.undo.save(request.id, saved, now, now + self.ctx.undo_retention)
        except Exception as exc:
            log.exception("could not keep cleanup %s for undo", request.id)
            problems = {
                i.digest: Fact(Finding.UNDO_COPY_FAILED, answer=type(exc).__name__) for i, _ in go
            }
        record(
            [(i, ItemState.FAILED, problems[i.digest]) for i, _ in go if i.digest in problems],
            [ItemState.DELETING],
        )
        return [(i, moved) for i, moved in go if i.digest not in problems]


def cleanup_outcome(request: DeletionRequest, items: list[CleanupItem]) -> Outcome:
    """The report of a cleanup, from the database's items: deleted, skipped (why),
    failed (why), and the space garbage collection can reclaim."""
    by_state: dict[ItemState, list[CleanupItem]] = {s: [] for s in ItemState}
    for item in items:
        by_state[item.state].append(item)
    deleted, skipped, failed = (
        by_state[ItemState.DELETED],
        by_state[ItemState.SKIPPED],
        by_state[ItemState.FAILED],
    )
    listed = [
        Subject(i.repository, i.digest, i.fact or Fact(Finding.NOT_KNOWN), i.tags, group is skipped)
        for group in (skipped, failed)
        for i in group[:ITEMS_LISTED]
    ]
    return Outcome(
        Verdict.DONE if deleted else Verdict.NOT_DONE,
        Fact(Finding.CLEANED_UP),
        done=len(deleted),
        of=len(items) - len(by_state[ItemState.KEPT]),
        tags=sum(len(i.tags) for i in deleted),
        skipped=len(skipped),
        failed=len(failed),
        reclaimable=request.reclaimable if deleted else None,
        items=tuple(listed),
        more=len(skipped) + len(failed) - len(listed),
        resumed=request.resumed,
    )


class _Tally:
    """A run's counts (by state, from the database's items), the repositories being
    looked up again, and the snapshot of both reported to the claim (its heartbeat
    writes it); ``record`` writes items' changes (fenced by the claim's token) and
    counts them. Repositories, preparers and deleting workers record at once."""

    def __init__(
        self, ctx: WorkContext, request: DeletionRequest, claim: Claim, items: list[CleanupItem]
    ) -> None:
        self.ctx = ctx
        self.request = request
        self.claim = claim
        self.started = time.monotonic()
        self.counts = {state: 0 for state in ItemState}
        for item in items:
            self.counts[item.state] += 1
        self.total = len(items) - self.counts[ItemState.KEPT]
        self.checking: dict[str, int] = {}  # repositories being looked up again: their tags
        self.lock = threading.Lock()

    def snapshot(self) -> CleanupProgress:
        return CleanupProgress(
            self.total,
            self.counts[ItemState.DELETED],
            self.counts[ItemState.SKIPPED],
            self.counts[ItemState.FAILED],
            time.monotonic() - self.started,
            tuple(sorted(self.checking)),
            sum(self.checking.values()),
        )

    def report(self) -> None:
        with self.lock:
            snapshot = self.snapshot()
        self.claim.report(snapshot.as_data())  # written with the next heartbeat

    def record(self, changes: list[Change], sources: list[ItemState]) -> list[bool]:
        with self.lock:
            made = self.ctx.cleanup.move_many(
                self.request.id, changes, sources, token=self.claim.token
            )
            for (item, state, _), ok in zip(changes, made, strict=True):
                if ok:
                    self.counts[state] += 1
                    self.counts[item.state] -= 1  # where it was (settled, when confirming)
        self.report()
        return made

    def check(self, repository: str, tags: int | None) -> None:
        """A repository's check begins (its tag list read, before the lookups: the long
        part for a big one) or, with ``tags`` None, ends."""
        with self.lock:
            if tags is None:
                self.checking.pop(repository, None)
                return
            self.checking[repository] = tags
        self.report()


class _Recorder:
    """Collects the results of a repository's DELETEs from the workers and writes them
    in groups (one transaction per ``flush_every`` results), so the database isn't
    committed to once per image while the registry waits. The worker that fills a
    group writes it; the others go on adding to the next one meanwhile."""

    def __init__(self, record: Record, flush_every: int) -> None:
        self.record = record
        self.flush_every = flush_every
        self.pending: list[Change] = []
        self.deleted: list[CleanupItem] = []
        self.lock = threading.Lock()

    def add(self, item: CleanupItem, state: ItemState, fact: Fact | None) -> None:
        with self.lock:
            self.pending.append((item, state, fact))
            if state == ItemState.DELETED:
                self.deleted.append(item)
            full = len(self.pending) >= self.flush_every
        if full:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            changes, self.pending = self.pending, []
        if changes:
            self.record(changes, [ItemState.DELETING])
