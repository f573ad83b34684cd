"""Property-based tests (Hypothesis) of everything typed by a person: any text gives a
command or a clear usage error, never an exception; a reference either parses into
valid parts or is refused naming the rule; and an invalid name never reaches the
registry."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.durations import parse_duration
from bot.registry import InvalidReferenceError, RegistryClient, RegistrySettings, parse_reference
from bot.registry.reference import is_digest, validate_repository, validate_tag
from bot.slack.command_table import Command, UsageError, parse_command

VERBS = [
    "",
    "help",
    "repos",
    "tags",
    "show",
    "layers",
    "delete",
    "untag",
    "delete-blob",
    "pending",
    "audit",
    "prune",
    "x",
]
# Text shaped like commands (a verb, then reference-ish words), and text of any kind.
WORDISH = st.lists(
    st.sampled_from([*"abz09:@/._-*?[]²<>!& \t\n\x00é", "sha256:" + "a" * 64, "app", "v1"]),
    max_size=30,
).map("".join)
COMMAND_TEXT = st.one_of(
    st.text(max_size=300),
    st.builds(lambda v, rest: f"{v} {rest}", st.sampled_from(VERBS), WORDISH),
)


@settings(max_examples=400, deadline=None)
@given(COMMAND_TEXT)
def test_any_text_is_a_command_or_a_usage_error(text):
    try:
        command = parse_command(text)
    except UsageError as exc:
        assert exc.message  # says what is wrong
        return
    assert isinstance(command, Command)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=120), WORDISH))
def test_a_reference_parses_into_valid_parts_or_names_the_rule(text):
    try:
        ref = parse_reference(text)
    except InvalidReferenceError as exc:
        assert exc.rule and exc.part
        return
    assert validate_repository(ref.repository) == ref.repository
    assert ref.tag is None or validate_tag(ref.tag) == ref.tag
    assert ref.digest is None or is_digest(ref.digest)
    assert parse_reference(str(ref)) == ref
    assert str(ref).isascii() and "\n" not in str(ref)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), WORDISH))
def test_an_invalid_name_never_reaches_the_registry(name):
    sent = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"tags": []})

    client = RegistryClient(
        RegistrySettings(url="http://registry.test"), transport=httpx.MockTransport(answer)
    )
    try:
        try:
            validate_repository(name)
            valid = True
        except InvalidReferenceError:
            valid = False
        try:
            client.tags(name)
        except InvalidReferenceError:
            assert not valid
        assert bool(sent) == valid
    finally:
        client.close()


@given(st.text(max_size=40))
def test_a_duration_parses_or_says_the_accepted_forms(text):
    try:
        value = parse_duration(text)
    except ValueError as exc:
        assert "like 90s" in str(exc)
        return
    assert value.total_seconds() > 0
