"""The retention planner on its own: which images a rule set deletes and which it
keeps, and why (no registry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.deletions.retention import (
    Kept,
    NoDate,
    RetentionRules,
    TagFacts,
    plan_repository,
    usable_date,
)
from bot.patterns import compile_regex
from bot.slack.render.cleanups import rules_text

NOW = datetime(2026, 11, 27, tzinfo=UTC)


def facts(tag: str, digest: str, days_old: float | None) -> TagFacts:
    if days_old is None:
        return TagFacts(tag, digest, None, "no created date")
    return TagFacts(tag, digest, NOW - timedelta(days=days_old))


def test_keep_n_keeps_the_newest_and_a_kept_tag_protects_its_sibling():
    tags = [
        facts("ci-1", "d1", 40),
        facts("ci-2", "d2", 30),
        facts("ci-3", "d3", 20),
        facts("ci-4", "d4", 10),
        facts("old-alias", "d3", 20),  # same image as ci-3, which is kept
        facts("ci-0", "d0", 50),
    ]
    plan = plan_repository("r", tags, RetentionRules(keep=2), NOW)
    assert plan.kept["ci-4"] == Kept.RECENT and plan.kept["ci-3"] == Kept.RECENT
    assert set(plan.delete) == {"d0", "d1", "d2"}
    # old-alias ties with ci-3 on date; ci-3 ranks first by name, old-alias is kept anyway
    assert plan.kept["old-alias"] == Kept.SHARED and plan.conflicts["old-alias"] == "ci-3"


def test_older_than_keeps_newer_images_and_undated_ones():
    tags = [
        facts("new", "a", 3),
        facts("old", "b", 100),
        facts("nodate", "c", None),
        TagFacts("epoch", "d", None, NoDate.TOO_EARLY),
    ]
    plan = plan_repository("r", tags, RetentionRules(older_than=timedelta(days=30)), NOW)
    assert plan.delete == {"b": ("old",)}
    assert plan.kept == {"new": Kept.NEWER, "nodate": Kept.UNDATED, "epoch": Kept.UNDATED}
    assert plan.undated == {"epoch": NoDate.TOO_EARLY, "nodate": NoDate.NO_CREATED}


def test_usable_dates_start_in_2000():
    assert usable_date(datetime(1980, 1, 1, tzinfo=UTC))[0] is None
    assert usable_date(datetime(1970, 1, 1, tzinfo=UTC)) == (None, NoDate.TOO_EARLY)
    assert usable_date(None) == (None, NoDate.NO_CREATED)
    assert usable_date(NOW) == (NOW, None)


def test_match_exclude_and_protected_keep():
    tags = [
        facts("ci-1", "a", 90),
        facts("ci-keepme", "b", 90),
        facts("release-1", "c", 90),
        facts("ci-prod", "e", 90),
    ]
    rules = RetentionRules(
        older_than=timedelta(days=1),
        match=compile_regex(r"ci-.*"),
        exclude=compile_regex(r".*keepme"),
    )
    plan = plan_repository("r", tags, rules, NOW, protected=compile_regex(r"prod"))
    assert plan.delete == {"a": ("ci-1",)}
    assert plan.kept == {
        "ci-keepme": Kept.EXCLUDED,
        "release-1": Kept.NOT_MATCHED,
        "ci-prod": Kept.PROTECTED,
    }


def test_match_is_anchored_to_the_whole_tag():
    tags = [facts("xci-1", "a", 90), facts("ci-1x", "b", 90), facts("ci-1", "c", 90)]
    plan = plan_repository(
        "r", tags, RetentionRules(older_than=timedelta(days=1), match=compile_regex(r"ci-\d")), NOW
    )
    assert plan.delete == {"c": ("ci-1",)}


def test_keep_counts_only_selected_tags_and_ties_break_newest_version_first():
    tags = [facts("1.9", "a", 5), facts("1.10", "b", 5), facts("latest", "b", 1)]
    rules = RetentionRules(keep=1, match=compile_regex(r"\d.*"))
    plan = plan_repository("r", tags, rules, NOW)
    assert plan.kept["1.10"] == Kept.RECENT  # 1.10 is newer than 1.9 at the same date
    assert plan.delete == {"a": ("1.9",)}


def test_a_platform_of_a_kept_index_is_never_deleted():
    tags = [facts("multi", "idx", 1), facts("amd64-only", "plat", 90)]
    plan = plan_repository(
        "r",
        tags,
        RetentionRules(older_than=timedelta(days=30)),
        NOW,
        platforms_of_kept={"idx": {"idx", "plat"}},
    )
    assert plan.delete == {} and plan.kept["amd64-only"] == Kept.PLATFORM


def test_a_plan_that_deletes_everything_empties_the_repository():
    plan = plan_repository(
        "r", [facts("a", "x", 90)], RetentionRules(keep=0, older_than=timedelta(days=1)), NOW
    )
    assert plan.empties and plan.tags_deleted == 1
    assert RetentionRules(keep=0).keeps_nothing and not RetentionRules(keep=1).keeps_nothing


def test_pulled_recently_keeps_and_push_dates_count():
    tags = [
        TagFacts("old-but-used", "a", NOW - timedelta(days=90), pulled=NOW - timedelta(hours=2)),
        TagFacts(
            "old-pulled-long-ago", "b", NOW - timedelta(days=90), pulled=NOW - timedelta(days=60)
        ),
        TagFacts("rebuilt", "c", NOW - timedelta(days=1), pushed=True),
    ]
    rules = RetentionRules(older_than=timedelta(days=30), keep_pulled_within=timedelta(days=7))
    plan = plan_repository("r", tags, rules, NOW)
    assert plan.kept == {"old-but-used": Kept.IN_USE, "rebuilt": Kept.NEWER}
    assert plan.delete == {"b": ("old-pulled-long-ago",)} and plan.dated_by_push == 1
    assert rules_text(rules) == "--older-than 30d --keep-pulled-within 7d"


def _sig(subject_hex: str, suffix: str, digest: str, days_old: float) -> TagFacts:
    return TagFacts(
        f"sha256-{subject_hex}.{suffix}",
        digest,
        NOW - timedelta(days=days_old),
        subject=f"sha256:{subject_hex}",
    )


def test_accessories_go_and_stay_with_their_image_and_never_count_toward_keep():
    a, b, c = ("a" * 64, "b" * 64, "c" * 64)
    tags = [
        facts("v1", f"sha256:{a}", 30),
        facts("v2", f"sha256:{b}", 20),
        # Signed yesterday: as the newest "tags" these would take --keep 1's place.
        _sig(a, "sig", "s-a", 1),
        _sig(b, "sig", "s-b", 1),
        _sig(b, "att", "t-b", 1),
        _sig(c, "sig", "s-c", 1),  # its image is gone
    ]
    plan = plan_repository("r", tags, RetentionRules(keep=1), NOW)
    assert plan.kept["v2"] == Kept.RECENT  # the newest image, not a signature
    assert set(plan.delete) == {f"sha256:{a}", "s-a"}  # v1 and its signature, together
    assert plan.kept[f"sha256-{b}.sig"] == plan.kept[f"sha256-{b}.att"] == Kept.ACCESSORY
    assert plan.kept[f"sha256-{c}.sig"] == Kept.ORPHANED
    # An age rule never ages an accessory on its own.
    aged = plan_repository("r", tags, RetentionRules(older_than=timedelta(days=25)), NOW)
    assert set(aged.delete) == {f"sha256:{a}", "s-a"}
    # --orphaned-accessories: the signature of the image that is gone goes too; given
    # alone, the images' own tags are left alone.
    alone = plan_repository("r", tags, RetentionRules(orphaned_accessories=True), NOW)
    assert set(alone.delete) == {"s-c"}
    assert alone.kept["v1"] == alone.kept["v2"] == Kept.NO_TAG_RULES
    assert "--orphaned-accessories" in rules_text(RetentionRules(orphaned_accessories=True))
    assert not RetentionRules(orphaned_accessories=True).keeps_nothing
    # A protected accessory stays even when its image goes.
    guarded = plan_repository(
        "r", tags, RetentionRules(keep=1), NOW, protected=compile_regex(r".*\.sig")
    )
    assert set(guarded.delete) == {f"sha256:{a}"}
    assert guarded.kept[f"sha256-{a}.sig"] == Kept.PROTECTED


def test_which_tags_are_accessories_of_which_image():
    from bot.registry.scan import accessory_subject

    hexpart = "ab" * 32
    for tag in (f"sha256-{hexpart}.sig", f"sha256-{hexpart}.att", f"sha256-{hexpart}.sbom"):
        assert accessory_subject(tag) == f"sha256:{hexpart}"
    assert accessory_subject(f"sha256-{hexpart}") == f"sha256:{hexpart}"  # referrers schema
    for tag in ("latest", f"sha256-{hexpart}.tar", f"sha512-{hexpart}.sig", f"v-{hexpart}"):
        assert accessory_subject(tag) is None
