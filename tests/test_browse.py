"""Tag ordering and paged browsing (the ordering is pure; paging runs on a real registry)."""

import random

from hypothesis import given
from hypothesis import strategies as st

from bot.registry import Image
from bot.registry.pages import (
    _ARTIFACT_TAG_RE,
    _VERSION_RE,
    _natural,
    _version_key,
    repo_page,
    sort_tags,
    tag_page,
)
from testkit.images import push_image


def _sorted_by_the_rules(tags: list[str]) -> list[str]:
    """The ordering spelled out with the regular expressions alone (no fast path)."""
    named = sorted((t for t in tags if not _VERSION_RE.match(t)), key=_natural)
    named = [t for t in named if not _ARTIFACT_TAG_RE.match(t)]
    versions = [
        (_version_key(m), t)
        for t in tags
        if (m := _VERSION_RE.match(t)) and not _ARTIFACT_TAG_RE.match(t)
    ]
    artifacts = sorted(t for t in tags if _ARTIFACT_TAG_RE.match(t))
    return named + [t for _, t in sorted(versions, reverse=True)] + artifacts


@given(
    st.lists(
        st.lists(st.sampled_from([*"0129.vV-arc", "٣", "²", "10", ".."]), max_size=8).map("".join),
        max_size=40,
    )
)
def test_sort_tags_fast_path_ranks_releases_as_the_rules_do(tags):
    assert sort_tags(tags) == _sorted_by_the_rules(tags)


def test_sort_tags_named_then_versions_descending_then_artifacts():
    tags = [
        "1.9",
        "1.10",
        "latest",
        "v2.0.0",
        "2.0.0-rc1",
        "1.10.1",
        "main",
        "0.1",
        "sha256-" + "a" * 64 + ".sig",
        "1.10.1-alpine",
        "edge",
        "10",
    ]
    shuffled = tags[:]
    random.Random(7).shuffle(shuffled)
    assert sort_tags(shuffled) == [
        "edge",
        "latest",
        "main",
        "10",
        "v2.0.0",
        "2.0.0-rc1",
        "1.10.1",
        "1.10.1-alpine",
        "1.10",
        "1.9",
        "0.1",
        "sha256-" + "a" * 64 + ".sig",
    ]


def test_tag_page_describes_only_its_page_and_groups_shared_digests(client):
    shared = push_image(client, "browse/app", ["latest", "3.0", "stable"])
    for i in range(25):
        push_image(client, "browse/app", [f"1.{i}"])
    page = tag_page(client, "browse/app", page=0, per_page=10)
    assert page.total == 28 and page.pages == 3 and page.has_next and not page.has_prev
    assert page.tags[:3] == ["latest", "stable", "3.0"]
    assert page.tags[3:] == [f"1.{i}" for i in range(24, 17, -1)]
    assert len(page.images) == 10 and all(isinstance(i, Image) for i in page.images)
    assert page.shared == {shared.digest: ["latest", "stable", "3.0"]}
    assert page.siblings("latest", page.images[0]) == ["stable", "3.0"]

    last = tag_page(client, "browse/app", page=99, per_page=10)  # clamped to the last page
    assert last.page == 2 and last.tags == [f"1.{i}" for i in range(7, -1, -1)]
    assert not last.has_next

    filtered = tag_page(client, "browse/app", pattern="1.2*", per_page=10)
    assert filtered.tags == ["1.24", "1.23", "1.22", "1.21", "1.20", "1.2"]
    assert filtered.repository_total == 28


def test_repo_page(client):
    for i in range(7):
        push_image(client, f"rp/svc{i}", ["v1"])
    page = repo_page(client, pattern="rp/*", per_page=3, page=1)
    assert page.names == ["rp/svc3", "rp/svc4", "rp/svc5"]
    assert page.total == 7 and page.pages == 3 and page.has_prev and page.has_next
