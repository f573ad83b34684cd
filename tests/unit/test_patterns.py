"""Patterns people write, matched by RE2: what is refused and how it is said, patterns
that backtrack for ever in Python's ``re``, and globs that agree with fnmatch."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.patterns import MAX_PATTERN, PatternError, compile_regex, glob_pattern

BRANCH_TAGS = [
    "feature-" + "a1b2c3d4e5-" * 3 + "x" * 6,  # 47 characters, as CI names branches
    "bugfix-" + "0123456789-" * 3 + "abcdefg",
    "release-" + "r" * 39,
]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        (r"(?=ci)ci-.*", "lookahead"),
        (r"(?!prod).*", "negative lookahead"),
        (r"(?<=v)1", "lookbehind"),
        (r"(?<!v)1", "negative lookbehind"),
        (r"(?>a+)b", "atomic groups"),
        (r"a++b", "possessive quantifiers"),
        (r"a*+b", "possessive quantifiers"),
        (r"a{1001}", "repetition counts above 1000"),
        (r"((a{100}){100}){100}", "repetition counts above 1000"),
        (r"(ci-", "a ( is never closed"),
        (r"ci-)", "a ) closes nothing"),
        (r"[a-", "a [ is never closed"),
        (r"[z-a]", "runs backwards"),
        (r"ci\Z", r"\Z is not supported"),
        ("x" * (MAX_PATTERN + 1), "longer than"),
    ],
)
def test_what_re2_refuses_is_named_in_words(text, said):
    with pytest.raises(PatternError) as info:
        compile_regex(text)
    assert said in info.value.reason
    assert "b'" not in info.value.reason  # RE2's own bytes never reach people


def test_a_pattern_that_backtracks_for_ever_in_re_runs_in_linear_time():
    # In Python's re this searches for ever (every way of splitting the run of letters
    # is tried); RE2 answers at once, for the tags of the report and a megabyte alike.
    hostile = compile_regex(r"([a-z0-9-]+)+#")
    assert [hostile.search(t) for t in BRANCH_TAGS] == [False, False, False]
    assert not hostile.search("a" * 1_000_000)
    assert hostile.search("feature-x#") and hostile.fullmatch("ab#")
    nested = compile_regex(r"(a*)*b")
    assert not nested.fullmatch("a" * 100_000)


def test_full_and_partial_matches_mean_what_re_means():
    ci = compile_regex(r"ci-\d+")
    assert ci.fullmatch("ci-41") and not ci.fullmatch("ci-41-rc")
    assert ci.search("pr-ci-41-rc") and not ci.search("ci-x")
    assert compile_regex("^(prod|live)$").search("prod")
    assert not compile_regex("^(prod|live)$").search("production")
    assert compile_regex(r"(?i)LATEST").fullmatch("latest")
    assert compile_regex(r"[[:digit:]]+").fullmatch("123")


@pytest.mark.parametrize(
    ("glob", "name", "matches"),
    [
        ("team/*", "team/app", True),
        ("team/*", "team/a/b", False),
        ("team/**", "team/a/b", True),
        ("ci/?pp", "ci/app", True),
        ("ci/?pp", "ci//pp", False),
        ("a.b/*", "axb/c", False),  # a dot is a dot
        ("**", "any/thing/at/all", True),
    ],
)
def test_repository_globs_stay_within_a_segment_unless_doubled(glob, name, matches):
    assert glob_pattern(glob, segments=True).fullmatch(name) is matches


@given(
    st.text(alphabet="ab/-.*?[]!^\\", max_size=12),  # found: [[-?], a range run backwards
    st.text(alphabet="ab/-.!^[]\\", max_size=12),
)
def test_filter_globs_match_as_fnmatch_does(glob, name):
    assert glob_pattern(glob, segments=False).fullmatch(name) == fnmatch.fnmatchcase(name, glob)


@given(st.text(max_size=MAX_PATTERN))
def test_any_text_is_a_regex_or_a_refusal_in_words(text):
    try:
        pattern = compile_regex(text)
    except PatternError as exc:
        assert exc.reason and "b'" not in exc.reason
        return
    pattern.search("ci-41")  # and it runs
