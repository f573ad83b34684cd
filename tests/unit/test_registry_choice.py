"""Choosing the registry a command is for, before any request: a reference by host
(Docker's rule), --registry NAME, and the refusals that name the registries."""

from __future__ import annotations

import pytest

from bot.slack.cleanup_words import UsageError
from bot.slack.command_table import ListTags, Show
from bot.slack.registry_choice import KnownRegistry, choose, parse_for

KNOWN = (
    KnownRegistry("prod", "registry.example.com"),
    KnownRegistry("staging", "127.0.0.1:5000"),
)


def test_a_reference_by_host_goes_to_that_registry_with_its_host_taken_off():
    assert choose("tags registry.example.com/team/app", KNOWN) == ("tags team/app", KNOWN[0])
    assert choose("show Registry.Example.com/app:1.2", KNOWN)[0] == "show app:1.2"
    assert parse_for("show registry.example.com/team/app:1.2", KNOWN) == Show(
        parse_for("show team/app:1.2", KNOWN).reference
    )
    # A namespace is not a host; reasons and flag values are left alone.
    assert choose("tags team/app", KNOWN) == ("tags team/app", KNOWN[0])
    said = "delete team/app:1 see registry.example.com/x"
    assert choose(said, KNOWN)[0] == said
    assert isinstance(parse_for("tags registry.example.com/team/app", KNOWN), ListTags)


def test_registry_flag_chooses_and_is_taken_out():
    assert choose("tags team/app --registry prod", KNOWN) == ("tags team/app", KNOWN[0])
    assert choose("tags --registry=prod team/app", KNOWN)[0] == "tags team/app"
    assert choose("tags team/app --registry staging", KNOWN) == ("tags team/app", KNOWN[1])
    assert choose("tags 127.0.0.1:5000/app", KNOWN) == ("tags app", KNOWN[1])


def test_a_channels_default_stands_where_a_command_names_none():
    assert choose("tags team/app", KNOWN, "staging") == ("tags team/app", KNOWN[1])
    assert choose("tags team/app --registry prod", KNOWN, "staging")[1] == KNOWN[0]
    assert choose("tags registry.example.com/app", KNOWN, "staging")[1] == KNOWN[0]
    assert choose("tags team/app", KNOWN, "gone")[1] == KNOWN[0]  # no longer configured


@pytest.mark.parametrize(
    "text, says",
    [
        ("tags other.example.com/team/app", "other.example.com is not a registry this bot knows"),
        ("tags localhost/app", "localhost is not a registry"),
        ("tags app --registry qa", "No registry is named 'qa'"),
        ("tags app --registry", "Name the registry after --registry"),
        ("tags registry.example.com/app --registry staging", "but --registry says staging"),
    ],
)
def test_an_unknown_registry_is_refused_naming_them(text, says):
    with pytest.raises(UsageError) as refused:
        choose(text, KNOWN)
    assert says in refused.value.message
    if "not a registry" in says or "No registry" in says or "Name the" in says:
        assert "prod (registry.example.com), staging (127.0.0.1:5000)" in refused.value.message


def test_a_long_hostile_registry_name_or_host_is_refused_briefly():
    for text in (
        "tags app --registry " + "<!channel>" * 500,
        "tags " + "x" * 3000 + ".example.com/app",
    ):
        with pytest.raises(UsageError) as refused:
            choose(text, KNOWN)
        assert len(refused.value.message) < 400
