"""Parsing ``/registry`` command text and page buttons."""

import pytest

from bot.registry import Reference
from bot.slack.commands import Help, ListRepos, ListTags, Show, UsageError, parse_command
from bot.slack.paging import PageRef


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
    ],
)
def test_usage_errors(text, fragment, usage):
    with pytest.raises(UsageError) as info:
        parse_command(text)
    assert fragment in info.value.message
    assert info.value.usage == usage


def test_page_ref_round_trip_and_validation():
    ref = PageRef("tags", 3, "1.*", "library/busybox")
    assert PageRef.decode(ref.encode()) == ref
    assert PageRef.decode(PageRef("repos", 0).encode()) == PageRef("repos", 0)
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
