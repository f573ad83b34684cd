"""The Slack layer's words for the deletion room's facts: every refusal and every
outcome has a sentence of its own (none falls through to the bare fact), the facts it
names appear in it, the advice names the bot's settings and commands, and an outcome
survives its JSON round trip unchanged."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.deletions import (
    DeletionRefused,
    Effect,
    Fact,
    Finding,
    Kind,
    Outcome,
    Refusal,
    Result,
    State,
    Subject,
    Verdict,
)
from bot.slack.render.outcomes import item_text, outcome_line, outcome_text
from bot.slack.render.refusals import effect_notice, refusal_text
from testkit.deletions import sample_request

DIGEST = "sha256:" + "b" * 64
FACTS = dict(
    request_id="0123abcd",
    repository="team/app",
    tag="v1",
    digest=DIGEST,
    other="sha256:" + "c" * 64,
    names=("prod", "latest"),
    pattern="team/*",
    count=3,
    total=4,
    limit=2,
    limit_seconds=300.0,
    retention=timedelta(days=7),
    answer="HTTP 500",
)


@pytest.mark.parametrize("reason", list(Refusal))
def test_every_refusal_has_a_sentence_of_its_own(reason):
    said = refusal_text(DeletionRefused(reason, **FACTS))
    assert said and said != f"Refused: {reason.value}."


def test_refusals_name_their_facts_and_what_to_do():
    protected = refusal_text(DeletionRefused(Refusal.PROTECTED, names=("prod",), pattern="^prod$"))
    assert "prod" in protected and "PROTECTED_TAGS is ^prod$" in protected
    empty = refusal_text(DeletionRefused(Refusal.WOULD_EMPTY, names=("team/app",)))
    assert "team/app" in empty and "--allow-empty" in empty
    kept = refusal_text(
        DeletionRefused(Refusal.NOTHING_KEPT, request_id="r1", retention=timedelta(days=7))
    )
    assert "7 days (UNDO_RETENTION)" in kept
    assert "APPROVERS" in refusal_text(DeletionRefused(Refusal.NO_APPROVERS))
    too_many = refusal_text(
        DeletionRefused(Refusal.TOO_MANY_REPOSITORIES, pattern="a/*", count=1234, limit=200)
    )
    assert "1,234 repositories" in too_many and "at most 200" in too_many


def _request(kind: Kind, state: State = State.DONE):
    return replace(
        sample_request("r1"),
        kind=kind,
        state=state,
        tag="v1",
        pattern="team/*" if kind == Kind.PRUNE else None,
        restores="r0" if kind == Kind.RESTORE else None,
    )


# Each finding with the kind of request whose outcome it can be, and its verdict.
CASES = [
    (Finding.DELETED, Kind.MANIFEST, Verdict.DONE),
    (Finding.DELETED_DESPITE_ERROR, Kind.MANIFEST, Verdict.DONE),
    (Finding.TAG_REMOVED, Kind.TAG, Verdict.DONE),
    (Finding.BLOBS_DELETED, Kind.BLOBS, Verdict.DONE),
    (Finding.RESTORED, Kind.RESTORE, Verdict.DONE),
    (Finding.CLEANED_UP, Kind.PRUNE, Verdict.DONE),
    (Finding.GONE_ON_CHECK, Kind.MANIFEST, Verdict.DONE),
    (Finding.GONE_ON_CHECK, Kind.TAG, Verdict.DONE),
    (Finding.INCOMPLETE_VIEW, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.TAG_MOVED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.TAGS_ADDED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.PROTECTED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.PLATFORM_OF_INDEX, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.BLOBS_IN_USE, Kind.BLOBS, Verdict.NOT_DONE),
    (Finding.UNDO_COPY_FAILED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.DELETE_DISABLED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.PERMISSION_DENIED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.STILL_SERVED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.DELETE_FAILED, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.REGISTRY_FAILED, Kind.RESTORE, Verdict.NOT_DONE),
    (Finding.SIBLINGS_BROKEN, Kind.TAG, Verdict.NOT_DONE),
    (Finding.NOTHING_KEPT, Kind.RESTORE, Verdict.NOT_DONE),
    (Finding.NOTHING_RESTORED, Kind.RESTORE, Verdict.NOT_DONE),
    (Finding.CLEANED_UP, Kind.PRUNE, Verdict.NOT_DONE),
    (Finding.STILL_THERE_ON_CHECK, Kind.MANIFEST, Verdict.NOT_DONE),
    (Finding.STILL_THERE_ON_CHECK, Kind.BLOB, Verdict.NOT_DONE),
    (Finding.TAG_STILL_SET, Kind.TAG, Verdict.NOT_DONE),
    (Finding.NOT_KNOWN, Kind.MANIFEST, Verdict.UNKNOWN),
    (Finding.CHECK_FAILED, Kind.MANIFEST, Verdict.UNKNOWN),
]
ITEM_FINDINGS = {
    Finding.IMAGE_RESTORED,
    Finding.TAG_LEFT,
    Finding.TAG_ELSEWHERE,
    Finding.BLOBS_GONE,
    Finding.REFUSED_BY_REGISTRY,
    Finding.WRONG_DIGEST,
    Finding.TAGS_MOVED,
    Finding.RECORDED,
}


def test_every_finding_is_an_outcome_case_or_an_items():
    assert {f for f, _, _ in CASES} | ITEM_FINDINGS == set(Finding)


@pytest.mark.parametrize(("finding", "kind", "verdict"), CASES)
def test_every_outcome_has_a_sentence_of_its_own(finding, kind, verdict):
    outcome = Outcome(verdict, Fact(finding, tags=("hotfix",), digest=DIGEST, answer="HTTP 500"))
    said = outcome_text(_request(kind), outcome)
    assert said and said != finding.value
    assert Outcome.from_data(outcome.as_data()) == outcome
    assert finding.value in outcome_line(outcome)


@pytest.mark.parametrize(
    "finding", sorted(ITEM_FINDINGS - {Finding.IMAGE_RESTORED, Finding.RECORDED})
)
def test_every_items_finding_has_words(finding):
    fact = Fact(finding, tags=("hotfix",), digest=DIGEST, answer="HTTP 500")
    assert item_text(fact, DIGEST) not in (finding.value, "HTTP 500")


def test_a_restores_report_names_each_image_and_tag():
    items = (
        Subject("team/a", DIGEST, Fact(Finding.IMAGE_RESTORED, tags=("v1",))),
        Subject("team/a", DIGEST, Fact(Finding.TAG_LEFT, digest="sha256:new"), ("stable",)),
        Subject("team/b", "sha256:gone", Fact(Finding.BLOBS_GONE, answer="blob unknown")),
    )
    report = Outcome(Verdict.DONE, Fact(Finding.RESTORED), done=1, of=2, items=items)
    said = outcome_text(_request(Kind.RESTORE), report)
    assert said.startswith("Restored 1 of 2 images.")
    assert f"restored team/a@{DIGEST} (tags v1)" in said
    assert "tag team/a:stable now points at sha256:new; left as it is" in said
    assert "could not restore team/b@sha256:gone: a blob or platform manifest" in said


def test_a_cleanups_report_lists_skipped_and_failed_apart_with_gc_advice():
    report = Outcome(
        Verdict.DONE,
        Fact(Finding.CLEANED_UP),
        done=3,
        of=6,
        tags=4,
        skipped=2,
        failed=1,
        reclaimable=3 * 1024 * 1024,
        items=(
            Subject("team/a", DIGEST, Fact(Finding.TAGS_ADDED, tags=("hotfix",)), ("ci-1",), True),
            Subject("team/a", DIGEST, Fact(Finding.PROTECTED, tags=("prod",)), ("ci-2",), True),
            Subject("team/b", DIGEST, Fact(Finding.DELETE_FAILED, answer="HTTP 500"), ("x",)),
        ),
        resumed=True,
    )
    said = outcome_text(_request(Kind.PRUNE), report)
    assert said.startswith(
        "Cleanup of team/*: deleted 3 of 6 images (4 tags), skipped 2, 1 failed."
    )
    skipped, failed = said.split(" Skipped: ")[1].split(" Failed: ")
    assert "hotfix now points at it" in skipped and "the protected tag prod" in skipped
    assert "the DELETE failed (HTTP 500)" in failed and "hotfix" not in failed
    assert "reclaim about 3.1 MB" in said and "registry garbage-collect" in said
    assert "EXECUTION_LEASE" in said  # resumed


def test_a_deletions_advice_follows_its_facts():
    outcome = Outcome(
        Verdict.DONE, Fact(Finding.DELETED), reclaimable=2048, untagged_children=2, emptied=True
    )
    said = outcome_text(_request(Kind.MANIFEST), outcome)
    assert "2 platform manifests are now untagged" in said and "--delete-untagged" in said
    assert "stays in the catalog" in said and "reclaim about 2.0 kB" in said
    plain = outcome_text(_request(Kind.MANIFEST), Outcome(Verdict.DONE, Fact(Finding.DELETED)))
    assert "untagged" not in plain and "catalog" not in plain and "reclaim" not in plain
    disabled = Outcome(Verdict.NOT_DONE, Fact(Finding.DELETE_DISABLED, answer="405."))
    assert "REGISTRY_STORAGE_DELETE_ENABLED=true" in outcome_text(_request(Kind.TAG), disabled)


@pytest.mark.parametrize("effect", list(Effect))
def test_every_effect_has_a_notice(effect):
    result = Result(effect, _request(Kind.MANIFEST, State.PENDING), Refusal.NOT_APPROVER)
    assert effect_notice(result)
    if effect == Effect.REFUSED:
        assert "Only approvers" in effect_notice(result)


def test_the_storage_report_says_what_it_could_not_read():
    from bot.slack.render.storage import render_storage
    from bot.storage import RepoStorage, StorageReport

    report = StorageReport(
        [RepoStorage("team/a", 3, 2, 3_000_000, 1_000_000, 2_000_000)],
        total=2_000_000,
        naive=3_000_000,
        unsized=2,
        unread=["team/broken"],
    )
    said = str(render_storage(report, "team/*").blocks)
    assert "2.0 MB in 1 repositories" in said and "counted per repository: 3.0 MB" in said
    assert "1.0 MB its own, 2.0 MB shared, share 2.0 MB" in said
    assert "`team/broken`" in said and "at least" in said and "2 blobs had no size" in said


def test_a_storage_report_over_a_cut_catalog_says_the_totals_are_at_least(monkeypatch):
    from bot.registry.client import Names
    from bot.slack.render.storage import render_storage
    from bot.storage import storage_report
    from testkit.fake_registry import FakeRegistry

    fake = FakeRegistry()
    fake.push("app", ["v1"], "a")
    client = fake.client()
    try:
        whole = storage_report(client)
        assert [r.repository for r in whole.repositories] == ["app"]
        assert whole.catalog_cut is None and whole.total > 0
        cut = Names(["app"])
        cut.cut = "the page cap (2,000 pages)"
        monkeypatch.setattr(client, "catalog", lambda: cut)
        report = storage_report(client)
        assert report.catalog_cut == "the page cap (2,000 pages)"
        said = str(render_storage(report, None).blocks[0].text.text)
        assert "stopped early (the page cap (2,000 pages))" in said and "at least" in said
    finally:
        client.close()


def test_a_reclaim_figure_says_what_it_rests_on():
    from datetime import UTC, datetime

    from bot.blobindex import Basis
    from bot.slack.render.common import freed_text

    assert freed_text(0, Basis(unread=3)) == ""  # nothing freed: nothing said
    assert freed_text(2048, Basis()) == "2.0 kB (blobs no image in any repository uses)"
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert "as read by 2026-12-01 09:30 UTC" in freed_text(2048, Basis(as_of=at))
    unsure = freed_text(2048, Basis(unread=3))
    assert unsure.startswith("at most 2.0 kB") and "3 repositories not read" in unsure
    assert "/registry storage" in unsure
    assert "1 repository not read since its last change" in freed_text(2048, Basis(unread=1))
    assert freed_text(2048, Basis(catalog_unread=True)).startswith("at most 2.0 kB")
    # A figure stored before the index: counted within its repository, and said so.
    assert freed_text(2048, None).startswith("about 2.0 kB")
    # The request message and the report carry the basis.
    request = replace(sample_request("r1"), reclaimable=2048, reclaim_basis=Basis(unread=2))
    said = outcome_text(request, Outcome(Verdict.DONE, Fact(Finding.DELETED), reclaimable=2048))
    assert "reclaim at most 2.0 kB (2 repositories" in said


def test_an_untagged_images_own_bytes_say_what_they_rest_on():
    from datetime import UTC, datetime

    from bot.blobindex import Basis
    from bot.slack.render.untagged import render_untagged
    from bot.storage import Untagged, UntaggedReport

    at = datetime(2026, 12, 1, tzinfo=UTC)
    items = [
        Untagged("team/a", "sha256:" + "a" * 64, at, "v1", 5000, None, False, 3000, Basis()),
        Untagged("team/b", "sha256:" + "b" * 64, at, "v1", 5000, None, False, 4000, Basis(2)),
        Untagged("team/c", "sha256:" + "c" * 64, at, "v1", 5000),  # not counted
    ]
    said = str(render_untagged(UntaggedReport(items), None, at).blocks)
    assert "5.0 kB, 3.0 kB its own" in said and "5.0 kB, at most 4.0 kB its own" in said
    assert said.count("its own") == 2


def test_the_storage_report_says_what_untagged_images_are_known():
    from datetime import UTC, datetime

    from bot.blobindex import Basis
    from bot.slack.render.storage import untagged_text
    from bot.storage import Untagged, UntaggedReport

    at = datetime(2026, 12, 1, tzinfo=UTC)
    known = UntaggedReport(
        [
            Untagged("a", "sha256:" + "a" * 64, at, "v1", 5000, None, False, 3000, Basis()),
            Untagged("b", "sha256:" + "b" * 64, at, "v1", 5000, None, False, 2000, Basis()),
        ]
    )
    said = untagged_text(known)
    assert "2 known, 5.0 kB of their own" in said and "--untagged" in said
    unsure = UntaggedReport([replace(known.items[0], unique_basis=Basis(unread=1))], ["c"])
    said = untagged_text(unsure)
    assert "at most 3.0 kB" in said and "not known for 1 repositories" in said
    assert "not known (the registry's events are not set up" in untagged_text(None)
    failed = untagged_text(None, "<!here> timed out")
    assert "not read this time (&lt;!here&gt; timed out)" in failed  # escaped
    assert "0 known." in untagged_text(UntaggedReport())
