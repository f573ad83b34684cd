"""Tag ordering: named tags, then versions newest first, then artifact tags; the fast
path for plain releases agrees with the rules spelled out."""

import random

from hypothesis import given
from hypothesis import strategies as st

from bot.registry.pages import (
    _ARTIFACT_TAG_RE,
    _VERSION_RE,
    _natural,
    _version_key,
    sort_tags,
)


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
