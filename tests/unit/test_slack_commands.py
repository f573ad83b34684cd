"""Parsing ``/registry`` command text and page buttons."""

import pytest

from bot.registry import Reference
from bot.slack.buttons import PageKind, PageRef
from bot.slack.command_table import (
    Audit,
    Delete,
    Help,
    ListRepos,
    ListTags,
    Pending,
    Show,
    UsageError,
    parse_command,
)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Help()),
        ("  help ", Help()),
        ("repos", ListRepos()),
        ("REPOS team-*", ListRepos("team-*")),
        ("tags busybox", ListTags("busybox")),
        ("tags library/busybox 1.3*", ListTags("library/busybox", "1.3*")),
        ("show busybox:1.36", Show(Reference("busybox", "1.36"))),
        ("layers busybox", Show(Reference("busybox"))),
        ("inspect a/b@sha256:" + "f" * 64, Show(Reference("a/b", digest="sha256:" + "f" * 64))),
        ("delete app:1.0 superseded by 1.1", Delete(Reference("app", "1.0"), "superseded by 1.1")),
        ("delete app@sha256:" + "a" * 64, Delete(Reference("app", digest="sha256:" + "a" * 64))),
        (
            "delete-blob app@sha256:" + "b" * 64 + " orphan",
            Delete(Reference("app", digest="sha256:" + "b" * 64), "orphan", blob=True),
        ),
        ("pending", Pending()),
        ("audit", Audit(20)),
        ("audit 5", Audit(5)),
    ],
)
def test_commands(text, command):
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "fragment", "usage"),
    [
        ("frobnicate", "Unknown command 'frobnicate'", None),
        ("tags", "Name the repository", "/registry tags REPO [FILTER]"),
        ("tags Busybox", "path component 'Busybox'", "/registry tags REPO [FILTER]"),
        ("tags busybox:1.36", "use /registry show busybox:1.36", "/registry tags REPO [FILTER]"),
        ("tags busybox a b", "at most one FILTER", "/registry tags REPO [FILTER]"),
        ("show", "Name one image", "/registry show REPO[:TAG|@DIGEST]"),
        ("show busybox@sha256:123", "digest", "/registry show REPO[:TAG|@DIGEST]"),
        ("repos " + "x" * 201, "longer than 200", "/registry repos [FILTER]"),
        ("delete app", "bare repository name", "/registry delete REPO:TAG|REPO@DIGEST [reason...]"),
        ("delete", "Name what to delete", "/registry delete REPO:TAG|REPO@DIGEST [reason...]"),
        (
            "delete-blob app:1.0",
            "named by its digest",
            "/registry delete-blob REPO@DIGEST [reason...]",
        ),
        ("audit 500", "1 to 50", "/registry audit [N, at most 50]"),
        ("audit \u00b2", "1 to 50", "/registry audit [N, at most 50]"),
        ("audit \u0661\u0662", "1 to 50", "/registry audit [N, at most 50]"),
        ("pending now", "no arguments", "/registry pending"),
    ],
)
def test_usage_errors(text, fragment, usage):
    with pytest.raises(UsageError) as info:
        parse_command(text)
    assert fragment in info.value.message
    assert info.value.usage == usage


def test_page_ref_round_trip_and_validation():
    ref = PageRef(PageKind.TAGS, 3, "1.*", "library/busybox")
    assert PageRef.decode(ref.encode()) == ref
    assert PageRef.decode(PageRef(PageKind.REPOS, 0).encode()) == PageRef(PageKind.REPOS, 0)
    for bad in (
        "",
        "{}",
        '{"k":"tags","p":1,"r":"Bad Name"}',
        '{"k":"x","p":0}',
        '{"k":"repos","p":-1}',
        '{"k":"repos","p":0,"f":' + '"' + "x" * 300 + '"}',
    ):
        with pytest.raises(ValueError):
            PageRef.decode(bad)


def test_one_table_gives_usage_help_and_parsers():
    from bot.slack.command_table import COMMANDS, spec_for
    from bot.slack.render.help import usage_lines

    lines = usage_lines()
    for spec in COMMANDS:
        assert f"`{spec.usage}`" in lines and spec.summary in lines
        for word in (spec.verb, *spec.aliases):
            assert spec_for(word) is spec
        if "…" not in spec.example:  # every complete example parses to a command
            parse_command(spec.example_line.removeprefix("/registry "))
    with pytest.raises(UsageError) as info:
        parse_command("tags")
    assert info.value.usage == spec_for("tags").usage


def test_an_expression_re2_refuses_is_a_usage_error_saying_what_to_write():
    from bot.slack.command_table import UsageError, parse_command

    with pytest.raises(UsageError) as info:
        parse_command("prune ci/* --keep 5 --match '(?!release).*'")
    assert "negative lookahead (?!…) is not supported" in info.value.message
    assert "RE2 syntax" in info.value.message and "--exclude" in info.value.message
    with pytest.raises(UsageError) as info:
        parse_command(r"prune ci/* --keep 5 --exclude '(a)\1'")
    assert "backreferences" in info.value.message and "instead" not in info.value.message


def test_untagged_is_a_complete_rule_set_that_touches_no_tag():
    from datetime import timedelta

    from bot.slack.command_table import UsageError, parse_command

    alone = parse_command("prune team/* --untagged tidy up")
    assert alone.rules.untagged and not alone.rules.keeps_nothing
    assert (alone.pattern, alone.reason) == ("team/*", "tidy up")
    aged = parse_command("prune team/* --untagged --older-than 14d --keep-pulled-within 1d")
    assert aged.rules.older_than == timedelta(days=14)
    assert aged.rules.keep_pulled_within == timedelta(days=1)
    for tag_rule in ("--keep 3", "--match 'pr-.*'", "--exclude x", "--allow-empty"):
        with pytest.raises(UsageError) as info:
            parse_command(f"prune team/* --untagged {tag_rule}")
        assert "touches no tag" in info.value.message
        assert tag_rule.split()[0] in info.value.message
    with pytest.raises(UsageError) as info:
        parse_command("prune team/*")
    assert "--untagged" in info.value.message
    # A policy takes it too, and its rules survive the round trip through storage.
    policy = parse_command("policy add tidy team/* --untagged --every 1d")
    assert policy.rules.untagged
    from bot.deletions import RetentionRules

    assert RetentionRules.from_data(policy.rules.as_data()) == policy.rules
