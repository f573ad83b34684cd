"""Bulk cleanup by retention rules against the real registry, on SQLite and PostgreSQL:
the dry run, the pinned plan, execution with its checks, resuming after an
interruption, a registry that fails some DELETEs, and undo of a whole cleanup."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from bot.deletions import (
    CleanupProgress,
    ExecutionInterrupted,
    Fact,
    Finding,
    ItemState,
    Kept,
    KeptTag,
    Kind,
    NoDate,
    Refusal,
    State,
    cleanup,
)
from bot.deletions.claims import Claim
from bot.deletions.retention import RetentionRules
from bot.deletions.work import prune as prune_module
from bot.patterns import compile_regex
from bot.registry.manifest import sha256_digest
from testkit.deletions import APPROVER, REQUESTER, outcome_of, refused
from testkit.images import manifest_exists, push_image
from testkit.proxy import deletes_by_digest

DAY = 86400


def _repo(name: str) -> str:
    return f"prune/{name}{uuid.uuid4().hex[:8]}"


def iso(days_before_clock: float) -> str:
    """A config ``created`` this many days before the test clock (2026-11-27 09:00)."""
    from datetime import UTC, datetime

    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC) - timedelta(days=days_before_clock)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def request_prune(service, pattern, rules, reason="ci cleanup"):
    preview = service.preview_prune(pattern, rules, reason, REQUESTER, "C0CHAN01")
    assert preview.request.kind == Kind.PRUNE and preview.request.state == State.DRAFT
    assert service.claim_submit(preview.request.id, REQUESTER) is not None
    service.submitted(preview.request.id)
    return preview


def test_keep_n_with_shared_digests_and_a_dry_run_that_changes_nothing(
    make_service, client, counting
):
    repo = _repo("keep")
    old = [push_image(client, repo, [f"ci-{i}"], created=iso(50 - i)) for i in range(4)]
    newest = push_image(client, repo, ["ci-9", "release-1"], created=iso(1))
    shared = push_image(client, repo, ["ci-8", "hotfix"], created=iso(2))
    service = make_service()
    preview = service.preview_prune(repo, RetentionRules(keep=2), "", REQUESTER, "C1")
    assert deletes_by_digest(counting) == {}  # the dry run deletes nothing
    plan = preview.plans[0]
    # The two newest tags by date: ci-9 and release-1 share the newest image.
    assert set(plan.delete) == {o.digest for o in old} | {shared.digest}
    assert newest.digest not in plan.delete
    # Now keep 3: ci-8 is the third newest (it ranks before hotfix by name), so its image
    # is kept, and hotfix with it.
    preview = service.preview_prune(repo, RetentionRules(keep=3), "", REQUESTER, "C1")
    plan = preview.plans[0]
    assert shared.digest not in plan.delete and plan.conflicts.get("hotfix") == "ci-8"
    assert preview.reclaimable[repo] > 0 and preview.images == 4 and preview.tags == 4
    stored = {i.digest: i for i in service.cleanup_items(preview.request.id)}
    assert stored[old[0].digest].state == ItemState.PLANNED
    assert stored[old[0].digest].tags == ("ci-0",)
    assert stored[shared.digest].state == ItemState.KEPT
    assert KeptTag("hotfix", Kept.SHARED, same_as="ci-8") in stored[shared.digest].kept


def test_match_exclude_protected_and_undated_images(make_service, client):
    repo = _repo("rules")
    ci_old = push_image(client, repo, ["ci-1"], created=iso(90))
    keepme = push_image(client, repo, ["ci-keepme"], created=iso(90))
    release = push_image(client, repo, ["release-1"], created=iso(90))
    prod = push_image(client, repo, ["ci-prod"], created=iso(90))
    epoch = push_image(client, repo, ["ci-repro"], created="1970-01-01T00:00:00Z")
    eighty = push_image(client, repo, ["ci-1980"], created="1980-01-01T00:00:01Z")
    service = make_service(protected="prod")
    rules = RetentionRules(
        older_than=timedelta(days=30),
        match=compile_regex(r"ci-.*"),
        exclude=compile_regex(r".*keepme"),
    )
    plan = service.preview_prune(repo, rules, "", REQUESTER, "C1").plans[0]
    assert set(plan.delete) == {ci_old.digest}
    assert plan.kept["ci-keepme"] == "excluded" and plan.kept["release-1"] == "not matched"
    assert plan.kept["ci-prod"] == "protected"
    assert plan.kept["ci-repro"] == plan.kept["ci-1980"] == "undated"
    assert plan.undated == {"ci-repro": NoDate.TOO_EARLY, "ci-1980": NoDate.TOO_EARLY}
    assert {keepme.digest, release.digest, prod.digest, epoch.digest, eighty.digest}.isdisjoint(
        plan.delete
    )


def test_empty_plans_and_rules_that_keep_nothing_are_refused(make_service, client):
    repo = _repo("empty")
    push_image(client, repo, ["a"], created=iso(90))
    push_image(client, repo, ["b"], created=iso(80))
    service = make_service()
    with refused(Refusal.KEEPS_NOTHING):
        service.preview_prune(repo, RetentionRules(keep=0), "", REQUESTER, "C1")
    older = RetentionRules(older_than=timedelta(days=7))
    with refused(Refusal.WOULD_EMPTY) as info:
        service.preview_prune(repo, older, "", REQUESTER, "C1")
    assert info.value.names == (repo,)
    allowed = RetentionRules(older_than=timedelta(days=7), allow_empty=True)
    preview = service.preview_prune(repo, allowed, "", REQUESTER, "C1")
    assert preview.plans[0].empties and preview.images == 2
    with refused(Refusal.NOTHING_TO_CLEAN):
        service.preview_prune(repo, RetentionRules(keep=5), "", REQUESTER, "C1")
    with refused(Refusal.NO_MATCH):
        service.preview_prune(f"{repo}-nothing/*", RetentionRules(keep=1), "", REQUESTER, "C1")


def test_a_glob_plans_every_matching_repository(make_service, client):
    team = f"prune/team{uuid.uuid4().hex[:6]}"
    for name in ("a", "b"):
        push_image(client, f"{team}/{name}", ["new"], created=iso(1))
        push_image(client, f"{team}/{name}", ["old"], created=iso(100))
    push_image(client, f"{team}/a/deeper", ["old"], created=iso(100))
    service = make_service()
    preview = service.preview_prune(f"{team}/*", RetentionRules(keep=1), "", REQUESTER, "C1")
    assert [p.repository for p in preview.plans] == [f"{team}/a", f"{team}/b"]
    deep = service.preview_prune(f"{team}/**", RetentionRules(keep=1), "", REQUESTER, "C1")
    assert len(deep.plans) == 3


def test_execution_deletes_each_image_once_and_skips_what_moved(
    monkeypatch, make_service, client, counting
):
    repo = _repo("exec")
    keep = push_image(client, repo, ["ci-5"], created=iso(1))
    gone = [push_image(client, repo, [f"ci-{i}"], created=iso(40 + i)) for i in range(3)]
    moved = push_image(client, repo, ["ci-moved"], created=iso(60))
    joined = push_image(client, repo, ["ci-joined"], created=iso(70))
    service = make_service()
    preview = request_prune(service, repo, RetentionRules(keep=1))
    assert preview.images == 5
    # Between the preview and the approval: ci-moved is re-pushed to a new image, and a
    # new tag starts using ci-joined's image.
    newer = push_image(client, repo, ["ci-moved"], created=iso(0))
    client.put_manifest(repo, "wanted", joined.body, joined.media_type)
    seen: list[CleanupProgress] = []  # what the run reports, for its heartbeat to write
    reported = Claim.report
    monkeypatch.setattr(
        Claim,
        "report",
        lambda claim, data: seen.append(CleanupProgress.from_data(data)) or reported(claim, data),
    )
    result = service.vote(preview.request.id, APPROVER, True)
    assert result.effect == "done", result.request.outcome
    for g in gone:
        assert not manifest_exists(client, repo, g.digest)
    assert manifest_exists(client, repo, keep.digest)
    assert manifest_exists(client, repo, joined.digest)
    assert client.resolve(repo, "ci-moved") == newer.digest
    counts = deletes_by_digest(counting)
    assert all(counts.get(g.digest) == 1 for g in gone)
    assert joined.digest not in counts and newer.digest not in counts
    assert moved.digest not in counts  # its only tag moved: skipped, not deleted
    items = {i.digest: i for i in service.cleanup_items(preview.request.id)}
    assert items[joined.digest].state == ItemState.SKIPPED
    assert items[joined.digest].fact == Fact(Finding.TAGS_ADDED, tags=("wanted",))
    assert items[moved.digest].state == ItemState.SKIPPED
    report = outcome_of(result)
    assert (report.done, report.of, report.skipped, report.failed) == (3, 5, 2, 0)
    assert {i.digest for i in report.items if i.skipped} == {joined.digest, moved.digest}
    assert seen[-1].done == 5 and seen[-1].deleted == 3 and seen[-1].skipped == 2
    # Before anything is deleted, the progress says the repository's 7 tags are being
    # looked up again.
    checks = [p for p in seen if p.checking]
    assert checks and checks[0].checking == (repo,) and checks[0].tags == 7
    assert all(p.done == 0 for p in checks) and seen[-1].checking == ()
    audit = service.recent_audit(1)[0]
    assert audit.event == "executed" and audit.outcome == report


def test_a_dry_run_takes_recorded_digests_and_execution_looks_again(make_service, client, counting):
    """Where the registry's push events say a tag points, the dry run asks nothing; a
    record whose image is gone is looked up; a record that is wrong but plausible is
    caught by execution's own lookup, which moves nothing it didn't plan."""
    from datetime import UTC, datetime

    from bot.deletions.retention import RepoUsage

    repo = _repo("rec")
    keep = push_image(client, repo, ["ci-5"], created=iso(1))
    gone = [push_image(client, repo, [f"ci-{i}"], created=iso(40 + i)) for i in range(3)]
    pushed = datetime(2026, 9, 1, tzinfo=UTC)  # long before the test clock
    records = {
        "ci-5": (keep.digest, datetime(2026, 11, 26, tzinfo=UTC)),
        "ci-0": (gone[0].digest, pushed),
        "ci-1": (gone[0].digest, pushed),  # wrong: ci-1 is gone[1]'s (an event missed)
        "ci-2": ("sha256:" + "0" * 64, pushed),  # an image no longer there
    }
    service = make_service(
        usage=lambda repository: RepoUsage(records if repository == repo else {})
    )
    counting.reset()
    preview = request_prune(service, repo, RetentionRules(keep=1))
    heads = [p for m, p in counting.log if m == "HEAD" and "/manifests/ci-" in p]
    assert heads == [f"/v2/{repo}/manifests/ci-2"]  # only the stale record was looked up
    assert preview.unverified == 3
    plan = preview.plans[0]
    assert plan.delete == {gone[0].digest: ("ci-0", "ci-1"), gone[2].digest: ("ci-2",)}
    result = service.vote(preview.request.id, APPROVER, True)
    assert result.effect == "done", result.request.outcome
    assert not manifest_exists(client, repo, gone[0].digest)
    assert not manifest_exists(client, repo, gone[2].digest)
    # ci-1's real image was never in the plan: it stays, and so does the tag.
    assert client.resolve(repo, "ci-1") == gone[1].digest
    assert gone[1].digest not in deletes_by_digest(counting)
    items = {i.digest: i for i in service.cleanup_items(preview.request.id)}
    assert items[gone[0].digest].fact.finding == Finding.DELETED
    assert items[gone[0].digest].fact.tags == ("ci-1",)  # had moved elsewhere: left alone


def test_a_second_dry_run_reuses_recent_lookups(make_service, client, counting):
    repo = _repo("again")
    push_image(client, repo, ["ci-5"], created=iso(1))
    push_image(client, repo, ["ci-0"], created=iso(40))
    old = push_image(client, repo, ["ci-1"], created=iso(50))
    service = make_service()
    first = service.preview_prune(repo, RetentionRules(keep=1), "", REQUESTER, "C1")
    assert first.unverified == 0 and len(first.plans[0].delete) == 2
    counting.reset()
    again = service.preview_prune(repo, RetentionRules(keep=2), "", REQUESTER, "C1")
    assert again.unverified == 3 and set(again.plans[0].delete) == {old.digest}
    assert [p for m, p in counting.log if m == "HEAD"] == []  # nothing looked up again
    # The tag list, and the catalog (which repositories the reclaim figure must know of).
    assert sorted(p.split("?")[0] for m, p in counting.log if m == "GET") == sorted(
        [f"/v2/{repo}/tags/list", "/v2/_catalog"]
    )
    # Only lookups of the last few minutes count.
    assert service.registry.recent_digest(repo, "ci-1", 60) == old.digest
    assert service.registry.recent_digest(repo, "ci-1", 0) is None


def test_a_registry_failing_some_deletes_is_reported(make_service, client, counting):
    repo = _repo("fail")
    push_image(client, repo, ["ci-new"], created=iso(1))
    old = [push_image(client, repo, [f"ci-{i}"], created=iso(50 + i)) for i in range(4)]
    service = make_service()
    preview = request_prune(service, repo, RetentionRules(keep=1))
    failing = {old[1].digest, old[2].digest}
    counting.intercept = lambda m, p: (
        (500, {}, b"") if m == "DELETE" and p.rsplit("/", 1)[1] in failing else None
    )
    result = service.vote(preview.request.id, APPROVER, True)
    counting.intercept = None
    assert result.effect == "done"
    report = outcome_of(result)
    assert (report.done, report.of, report.failed) == (2, 4, 2)
    assert {i.digest for i in report.items if not i.skipped} == failing
    for o in old:
        assert manifest_exists(client, repo, o.digest) == (o.digest in failing)
    items = {i.digest: i for i in service.cleanup_items(preview.request.id)}
    assert all(items[d].state == ItemState.FAILED for d in failing)


class Killed(BaseException):
    """Stands for the process dying: nothing in the bot catches it."""


def test_a_run_interrupted_mid_way_resumes_without_deleting_twice(
    make_service, client, counting, monkeypatch
):
    repo = _repo("resume")
    push_image(client, repo, ["ci-new"], created=iso(1))
    old = [push_image(client, repo, [f"ci-{i}"], created=iso(50 + i)) for i in range(6)]
    service = make_service(lease=timedelta(seconds=30))
    service.registry.settings = dataclasses.replace(service.registry.settings, concurrency=1)
    preview = request_prune(service, repo, RetentionRules(keep=1))
    real = cleanup.delete_unconfirmed
    calls = []

    def dies_on_the_third(registry, item):
        calls.append(item.digest)
        if len(calls) >= 3:
            raise Killed()  # the process died before this DELETE, after two others
        return real(registry, item)

    monkeypatch.setattr(cleanup, "delete_unconfirmed", dies_on_the_third)
    with pytest.raises(Killed):
        service.vote(preview.request.id, APPROVER, True)
    monkeypatch.setattr(cleanup, "delete_unconfirmed", real)
    assert service.store.get(preview.request.id).state == State.EXECUTING
    assert len(deletes_by_digest(counting)) == 2
    states = [i.state for i in service.cleanup_items(preview.request.id)]
    # The whole batch was claimed; the two results in memory died with the process.
    assert states.count(ItemState.DELETING) == 6
    assert service.recover() == []  # the claim is still fresh
    service.clock.now += timedelta(seconds=31)
    settled = service.recover()
    assert len(settled) == 1 and settled[0].effect == "done", settled
    assert (outcome_of(settled[0]).done, outcome_of(settled[0]).of) == (6, 6)
    for o in old:
        assert not manifest_exists(client, repo, o.digest)
    counts = deletes_by_digest(counting)
    assert len(counts) == 6 and all(n == 1 for n in counts.values()), counts
    items = {i.digest: i for i in service.cleanup_items(preview.request.id)}
    found_gone = [i for i in items.values() if i.fact == Fact(Finding.GONE_ON_CHECK)]
    assert len(found_gone) == 2


def test_a_database_failure_while_preparing_stops_the_run_and_recovery_finishes_it(
    make_service, client, counting, monkeypatch
):
    """Batches are claimed while earlier ones are being deleted: when a claim fails, the
    DELETEs already under way finish and are recorded, the failure is raised (no worker
    is left waiting), and recovery carries out the rest, deleting nothing twice."""
    repo = _repo("dbfail")
    push_image(client, repo, ["ci-new"], created=iso(1))
    old = [push_image(client, repo, [f"ci-{i}"], created=iso(50 + i)) for i in range(6)]
    service = make_service(lease=timedelta(seconds=30))
    service.registry.settings = dataclasses.replace(service.registry.settings, concurrency=1)
    monkeypatch.setattr(prune_module, "BATCH_ROUNDS", 2)  # batches of 2
    preview = request_prune(service, repo, RetentionRules(keep=1))
    real = service.cleanup.move_many
    claims = []

    def second_claim_fails(request_id, changes, from_states, **options):
        if changes and changes[0][1] == ItemState.DELETING:
            claims.append(len(changes))
            if len(claims) == 2:
                raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return real(request_id, changes, from_states, **options)

    service.cleanup.move_many = second_claim_fails
    outcome: list[BaseException | str] = []

    def vote() -> None:
        try:
            outcome.append(service.vote(preview.request.id, APPROVER, True).effect)
        except BaseException as exc:
            outcome.append(exc)

    voting = threading.Thread(target=vote)
    voting.start()
    voting.join(60)
    assert not voting.is_alive(), "the run hung after the database failed"
    assert isinstance(outcome[0], ExecutionInterrupted), outcome
    assert isinstance(outcome[0].__cause__, OperationalError)
    service.cleanup.move_many = real
    items = {i.digest: i.state for i in service.cleanup_items(preview.request.id)}
    first = [o.digest for o in old if items[o.digest] == ItemState.DELETED]
    assert len(first) == 2 and len(deletes_by_digest(counting)) == 2  # the first batch
    assert sorted(items.values()).count(ItemState.PLANNED) == 4  # the claim rolled back
    service.clock.now += timedelta(seconds=31)
    settled = service.recover()
    assert len(settled) == 1 and outcome_of(settled[0]).done == 6, settled
    for o in old:
        assert not manifest_exists(client, repo, o.digest)
    counts = deletes_by_digest(counting)
    assert len(counts) == 6 and all(n == 1 for n in counts.values()), counts


def test_repositories_are_cleaned_up_at_once(make_service, client, counting):
    """One repository's DELETEs don't wait for the whole of another: while the first
    repository's first DELETE is held, the second repository is looked up too."""
    base = _repo("many")
    repos = [f"{base}/r{i}" for i in range(3)]
    old = {
        r: [push_image(client, r, [f"ci-{i}"], created=iso(50 + i)) for i in range(2)]
        for r in repos
    }
    for r in repos:
        push_image(client, r, ["ci-new"], created=iso(1))
    service = make_service()
    preview = request_prune(service, f"{base}/*", RetentionRules(keep=1))
    assert preview.images == 6
    others_seen = threading.Event()
    held = []

    def hold_first_delete(method, path):
        if f"/{repos[0]}/" not in path:
            others_seen.set()
        elif method == "DELETE" and not held:
            held.append(others_seen.wait(10))  # sequential: nobody else asks meanwhile
        return None

    counting.intercept = hold_first_delete
    result = service.vote(preview.request.id, APPROVER, True)
    counting.intercept = None
    assert held == [True], "the other repositories waited for the first one"
    assert (outcome_of(result).done, outcome_of(result).of) == (6, 6), result.request.outcome
    for r in repos:
        assert all(not manifest_exists(client, r, o.digest) for o in old[r])
    counts = deletes_by_digest(counting)
    assert len(counts) == 6 and all(n == 1 for n in counts.values())


def test_a_database_failure_stops_repositories_not_begun(
    make_service, client, counting, monkeypatch
):
    base = _repo("stop")
    repos = [f"{base}/r{i}" for i in range(2)]
    for r in repos:
        push_image(client, r, ["ci-new"], created=iso(1))
        push_image(client, r, ["ci-old"], created=iso(50))
    service = make_service()
    monkeypatch.setattr(prune_module, "REPOSITORIES_AT_ONCE", 1)
    preview = request_prune(service, f"{base}/*", RetentionRules(keep=1))
    real = service.undo.save

    def broken_database(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("disk I/O error"))

    service.undo.save = broken_database  # caught: that image fails, "for undo"
    real_move = service.cleanup.move_many

    def fails_after_the_first_repository(request_id, changes, from_states, **options):
        if any(i.repository == repos[0] and to == ItemState.FAILED for i, to, _ in changes):
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        return real_move(request_id, changes, from_states, **options)

    service.cleanup.move_many = fails_after_the_first_repository
    counting.log.clear()
    with pytest.raises(ExecutionInterrupted) as raised:
        service.vote(preview.request.id, APPROVER, True)
    assert isinstance(raised.value.__cause__, OperationalError)
    service.undo.save = real
    service.cleanup.move_many = real_move
    assert not any(f"/{repos[1]}/" in path for _, path in counting.log)  # never begun


def test_a_whole_cleanup_is_restored(make_service, client):
    repo = _repo("undo")
    push_image(client, repo, ["ci-new"], created=iso(1))
    old = [push_image(client, repo, [f"ci-{i}", f"sha-{i}"], created=iso(50 + i)) for i in range(3)]
    service = make_service()
    preview = request_prune(service, repo, RetentionRules(keep=1))
    assert service.vote(preview.request.id, APPROVER, True).effect == "done"
    restore = service.preview_restore(preview.request.id, REQUESTER, "C1")
    assert len(restore.request.restore_tags) == 6 and restore.request.siblings == ()
    service.claim_submit(restore.request.id, REQUESTER)
    service.submitted(restore.request.id)
    result = service.vote(restore.request.id, APPROVER, True)
    assert (outcome_of(result).done, outcome_of(result).of) == (3, 3)
    for i, o in enumerate(old):
        assert client.get_manifest(repo, f"ci-{i}").body == o.body
        assert client.resolve(repo, f"sha-{i}") == o.digest


def test_a_dry_run_stops_sending_at_its_time_limit_and_says_so(make_service, client, counting):
    repo = _repo("huge")
    pushed = push_image(client, repo, ["t-0"], created=iso(90))
    for i in range(1, 80):
        client.put_manifest(repo, f"t-{i}", pushed.body, pushed.media_type)
    service = make_service()
    service.dry_run_limit = timedelta(seconds=0.15)
    counting.reset()
    counting.delay = 0.05  # a distant registry: 80 lookups take longer than the limit
    try:
        with refused(Refusal.DRY_RUN_TOO_LONG) as info:
            service.preview_prune(repo, RetentionRules(keep=1), "", REQUESTER, "C1")
    finally:
        counting.delay = 0.0
    assert (info.value.count, info.value.total, info.value.limit_seconds) == (0, 1, 0.15)
    assert counting.counts["HEAD"] < 80  # nothing is sent once the time is up
    service.dry_run_limit = prune_module.DRY_RUN_LIMIT  # within the limit: planned
    with refused(Refusal.NOTHING_TO_CLEAN) as info:  # one image, kept
        service.preview_prune(repo, RetentionRules(keep=1), "", REQUESTER, "C1")
    assert (info.value.count, info.value.total) == (80, 1)


def test_a_pattern_naming_too_many_repositories_is_refused_before_any_scan(
    make_service, client, counting, monkeypatch
):
    prefix = f"prune/many{uuid.uuid4().hex[:8]}"
    for i in range(4):
        push_image(client, f"{prefix}/r{i}", ["v1"])
    monkeypatch.setattr(prune_module, "MAX_CLEANUP_REPOSITORIES", 3)
    service = make_service()
    counting.reset()
    with refused(Refusal.TOO_MANY_REPOSITORIES) as info:
        service.preview_prune(f"{prefix}/*", RetentionRules(keep=1), "", REQUESTER, "C1")
    assert (info.value.count, info.value.limit) == (4, 3)
    assert set(counting.counts) == {"GET"} and counting.counts["GET"] == 1  # the catalog


def test_a_push_whose_time_is_unknown_is_dated_by_its_image(make_service, client, counting):
    """The feed records a push whose time it can't believe (a forged year 1) with no
    time: the dry run still takes where the tag points, and dates it by ``created``
    (neither by the forged time, which would make a fresh image ancient, nor as
    undated)."""
    from bot.deletions.retention import RepoUsage

    repo = _repo("doubt")
    fresh = push_image(client, repo, ["ci-1"], created=iso(1))
    old = push_image(client, repo, ["ci-2"], created=iso(40))
    push_image(client, repo, ["ci-9"], created=iso(0))
    records = {"ci-1": (fresh.digest, None), "ci-2": (old.digest, None)}
    service = make_service(
        usage=lambda repository: RepoUsage(records if repository == repo else {})
    )
    preview = request_prune(service, repo, RetentionRules(older_than=timedelta(days=30)))
    (plan,) = preview.plans
    assert plan.delete == {old.digest: ("ci-2",)}  # 40 days by its created date
    assert plan.kept["ci-1"] == "newer" and not plan.undated


def test_a_running_cleanup_offers_its_progress_to_any_reader(make_service, client, counting):
    """How far a run has got is kept with its heartbeat, in the database: another
    service on the same database (another process, a replica) reads it."""
    repo = _repo("progress")
    for i in range(3):
        push_image(client, repo, [f"ci-{i}"], created=iso(40 + i))
    push_image(client, repo, ["ci-9"], created=iso(1))
    service = make_service()
    reader = make_service()  # the same database, as another process would read it
    preview = request_prune(service, repo, RetentionRules(keep=1))
    assert reader.progress(preview.request.id) is None  # not running
    held = threading.Event()
    counting.intercept = lambda m, p: (held.wait(30) and None) if m == "DELETE" else None
    voting = threading.Thread(target=service.vote, args=(preview.request.id, APPROVER, True))
    voting.start()
    try:
        deadline = time.monotonic() + 10
        while (running := reader.progress(preview.request.id)) is None:
            assert time.monotonic() < deadline, "no progress written"
            time.sleep(0.05)
        assert running.request.state == State.EXECUTING
        assert running.progress.total == 3 and running.progress.done == 0
    finally:
        held.set()
        counting.intercept = None
        voting.join(30)
    assert reader.progress(preview.request.id) is None  # settled: nothing running


def _accessory(client, repo: str, subject, tag: str | None) -> str:
    """An OCI 1.1 artifact (an SBOM, say) whose manifest names ``subject``, under
    ``tag`` (None: pushed by its digest alone); returns its digest."""
    import json

    config = client.upload_blob(repo, b"{}")
    layer = b"an sbom of " + subject.digest.encode()
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/spdx+json",
            "config": {
                "mediaType": "application/vnd.oci.empty.v1+json",
                "digest": config,
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/spdx+json",
                    "digest": client.upload_blob(repo, layer),
                    "size": len(layer),
                }
            ],
            "subject": {
                "mediaType": subject.media_type,
                "digest": subject.digest,
                "size": len(subject.body),
            },
        }
    ).encode()
    reference = tag or sha256_digest(body)
    return client.put_manifest(repo, reference, body, "application/vnd.oci.image.manifest.v1+json")


def test_referrers_listed_by_the_tag_schema_go_with_their_image(make_service, client):
    """On a registry without the referrers API (distribution 2.8), an OCI 1.1 client
    pushes a referrer by digest and lists it in an index tagged ``sha256-<hex>`` of its
    subject: that index is an accessory, never ranked, deleted with its subject. The
    referrer it lists is left untagged, as an index's platforms are (never deleted while
    an index that may still be there lists it), for garbage collection's
    --delete-untagged or ``prune --untagged``; the kept image's referrers stay."""
    import json

    repo = _repo("referrers")
    old = push_image(client, repo, ["v1"], created=iso(60))
    new = push_image(client, repo, ["v2"], created=iso(30))
    indexes = {}
    referrers = {}
    for image in (old, new):
        referrer = _accessory(client, repo, image, None)
        body = client.get_manifest(repo, referrer).body
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": referrer,
                    "size": len(body),
                    "artifactType": "application/spdx+json",
                }
            ],
        }
        tag = "sha256-" + image.digest.split(":")[1]
        media = "application/vnd.oci.image.index.v1+json"
        indexes[image.digest] = client.put_manifest(repo, tag, json.dumps(index).encode(), media)
        referrers[image.digest] = referrer
    service = make_service()
    preview = request_prune(service, repo, RetentionRules(keep=1))
    (plan,) = preview.plans
    assert set(plan.delete) == {old.digest, indexes[old.digest]}
    assert plan.kept["sha256-" + new.digest.split(":")[1]] == Kept.ACCESSORY
    assert service.vote(preview.request.id, APPROVER, True).effect == "done"
    for gone in (old.digest, indexes[old.digest]):
        assert not manifest_exists(client, repo, gone)
    for kept in (new.digest, indexes[new.digest], referrers[new.digest], referrers[old.digest]):
        assert manifest_exists(client, repo, kept)
    assert sorted(client.tags(repo)) == ["sha256-" + new.digest.split(":")[1], "v2"]


def test_signatures_and_attestations_go_with_their_image(make_service, client):
    """A cosign signature tag and an artifact naming its subject are neither ranked
    nor aged: the newest *image* is kept (with its signature), the old one is deleted
    with its own, and a signature whose image is gone stays unless asked."""
    repo = _repo("sig")
    old = push_image(client, repo, ["v1"], created=iso(60))
    new = push_image(client, repo, ["v2"], created=iso(30))
    old_hex, new_hex = old.digest.split(":")[1], new.digest.split(":")[1]
    sig_old = push_image(client, repo, [f"sha256-{old_hex}.sig"], created=iso(1)).digest
    sig_new = push_image(client, repo, [f"sha256-{new_hex}.sig"], created=iso(1)).digest
    orphan = push_image(client, repo, [f"sha256-{'e' * 64}.att"], created=iso(1)).digest
    sbom_old = _accessory(client, repo, old, "sbom-v1")
    service = make_service()
    preview = request_prune(service, repo, RetentionRules(keep=1))
    (plan,) = preview.plans
    assert plan.kept["v2"] == Kept.RECENT
    assert set(plan.delete) == {old.digest, sig_old, sbom_old}
    assert plan.kept[f"sha256-{new_hex}.sig"] == Kept.ACCESSORY
    assert plan.kept[f"sha256-{'e' * 64}.att"] == Kept.ORPHANED
    assert service.vote(preview.request.id, APPROVER, True).effect == "done"
    for gone in (old.digest, sig_old, sbom_old):
        assert not manifest_exists(client, repo, gone)
    for kept in (new.digest, sig_new, orphan):
        assert manifest_exists(client, repo, kept)
    # Asked for, the signature of the image that is gone goes; nothing else does.
    tidy = service.preview_prune(
        repo, RetentionRules(orphaned_accessories=True), "", REQUESTER, "C1"
    )
    assert set(tidy.plans[0].delete) == {orphan}
