"""The configuration file (REGISTRY_BOT_CONFIG): the documented example reads as it
says; every mistake in a file is reported at once with where it is; a set-up with
environment variables only keeps working unchanged; owner rules choose the most
specific pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings
from bot.deletions import ApprovalGroup, OwnerRule, Owners

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "registry-bot.toml"
SECRETS = {
    "PROD_REGISTRY_USERNAME": "ci",
    "PROD_REGISTRY_PASSWORD": "hunter2-not-logged",
    "PROD_EVENTS_TOKEN": "0123456789abcdef0123",
}


def test_the_documented_example_reads_as_it_says():
    settings = load_settings({**SLACK, **SECRETS, "REGISTRY_BOT_CONFIG": str(EXAMPLE)})
    prod, staging = settings.registries
    assert (prod.name, prod.settings.url, prod.settings.username) == (
        "prod",
        "https://registry.example.com",
        "ci",
    )
    assert (
        prod.settings.password == "hunter2-not-logged"
        and prod.events_token == SECRETS["PROD_EVENTS_TOKEN"]
    )
    assert "hunter2" not in repr(settings)  # secrets never in a repr (or a log line)
    assert staging.name == "staging" and staging.settings.username is None
    assert settings.registry == prod.settings  # the first is the default
    team_a, team_b = settings.owners
    assert team_a.registries == ("prod",) and team_a.repositories == ("team-a/**",)
    assert team_a.approvers == ("U012AB3CD", "S0TEAMA") and team_a.approval_channel == "C0TEAMA"
    assert team_a.also_required == ApprovalGroup(("S0PLATFORM",), 1)
    assert team_a.protected_tags is not None and team_a.protected_tags.fullmatch("release-1")
    assert team_b.registries == () and team_b.approvals_required == 2


def test_environment_variables_alone_keep_working_as_one_registry_named_default():
    settings = load_settings({**SLACK, "REGISTRY_URL": "https://reg.example"})
    (only,) = settings.registries
    assert only.name == "default" and only.settings == settings.registry
    assert settings.owners == () and settings.warnings == ()


def test_a_file_with_registries_replaces_the_registry_variables_and_says_so(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[registries.main]\nurl = "https://main.example"\n')
    settings = load_settings(
        {**SLACK, "REGISTRY_URL": "https://old.example", "REGISTRY_BOT_CONFIG": str(path)}
    )
    assert settings.registry.url == "https://main.example"
    assert any("REGISTRY_URL is set" in w for w in settings.warnings)
    # Owner rules alone: the environment's registry stays, named default.
    path.write_text('[[owners]]\nrepositories = ["a/*"]\napprovers = ["U0AAA"]\n')
    settings = load_settings(
        {**SLACK, "REGISTRY_URL": "https://old.example", "REGISTRY_BOT_CONFIG": str(path)}
    )
    assert [r.name for r in settings.registries] == ["default"] and len(settings.owners) == 1


def test_a_bad_registry_url_in_the_environment_is_moot_when_the_file_replaces_it(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text('[registries.main]\nurl = "https://main.example"\n')
    env = {**SLACK, "REGISTRY_URL": "ftp://nowhere", "REGISTRY_BOT_CONFIG": str(path)}
    assert load_settings(env).registry.url == "https://main.example"
    path.write_text('[[owners]]\nrepositories = ["a/*"]\napprovers = ["U0AAA"]\n')
    with pytest.raises(ConfigError) as refused:  # the environment's registry is served
        load_settings(env)
    assert "REGISTRY_URL must be" in str(refused.value)


MISTAKES = """
colour = "blue"

[registries.prod]
url = "https://registry.example.com"
password_env = "PROD_PASSWORD_UNSET"
username_env = "PROD_USERNAME_UNSET"
tiemout = 5

[registries.mirror]
url = "https://REGISTRY.example.com"

[[owners]]
registries = ["prod", "qa"]
repositories = ["team-a/**", "Team B/*"]
approvers = ["U012AB3CD", "bob"]
protected_tags = "^(prod|release-(?=x))$"
approval_channel = "#team-a"

[[owners]]
repositories = ["tools/*"]
approvers = ["S0TOOLS"]
also_required = { approvers = ["S0PLATFORM"], approvals = 0, quorum = 1 }
"""


def test_a_file_with_several_mistakes_reports_them_all_with_where_they_are(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text(MISTAKES)
    with pytest.raises(ConfigError) as raised:
        load_settings({**SLACK, "REGISTRY_BOT_CONFIG": str(path)})
    said = raised.value.problems
    expected = [
        "the top level: unknown key 'colour'",
        "[registries.prod]: unknown key 'tiemout'",
        "[registries.prod] username_env: names PROD_USERNAME_UNSET, which is not set",
        "[registries.prod] password_env: names PROD_PASSWORD_UNSET, which is not set",
        "[registries.mirror] url: is the host of [registries.prod] too",
        "[[owners]] #1 registries: names 'qa', not a registry here",
        "[[owners]] #1 repositories: 'Team B/*' is not a repository glob",
        "[[owners]] #1 approvers: must be Slack user IDs",
        "[[owners]] #1 protected_tags: must be a regular expression",
        "[[owners]] #1 approval_channel: must be a channel ID",
        "[[owners]] #2 also_required: unknown key 'quorum'",
        "[[owners]] #2 also_required approvals: must be a whole number from 1 to 20",
    ]
    for part in expected:
        assert any(part in problem for problem in said), (part, said)
    assert all(p.startswith(f"{path}: ") for p in said)
    assert len(said) == len(expected), said


def test_a_file_that_is_not_toml_or_not_there_is_named(tmp_path):
    path = tmp_path / "bot.toml"
    path.write_text("[registries.prod]\nurl = \n")
    with pytest.raises(ConfigError) as raised:
        load_settings({**SLACK, "REGISTRY_BOT_CONFIG": str(path)})
    assert "not valid TOML" in raised.value.problems[0] and "line 2" in raised.value.problems[0]
    with pytest.raises(ConfigError) as raised:
        load_settings({**SLACK, "REGISTRY_BOT_CONFIG": str(tmp_path / "missing.toml")})
    assert "can't be read" in raised.value.problems[0]


def _rule(position: int, *globs: str, registries: tuple[str, ...] = ()) -> OwnerRule:
    return OwnerRule(position, globs, (f"U0RULE{position}",), registries=registries)


def test_the_most_specific_rule_owns_a_repository():
    rules = [
        _rule(0, "**"),
        _rule(1, "team-a/**"),
        _rule(2, "team-a/*"),
        _rule(3, "team-a/api"),
        _rule(4, "team-a/*", registries=("staging",)),
        _rule(5, "team-a/web-*"),
        _rule(6, "team-a/web-?"),
        _rule(7, "team-a/web-*"),
    ]

    def owner(repository: str, registry: str = "prod") -> int | None:
        found = Owners(rules, registry=registry).owner_of(repository)
        return found.rule.position if found else None

    assert owner("team-a/api") == 3  # the whole name: the longest literal prefix
    assert owner("team-a/db") == 2  # "team-a/" either way; one wildcard beats "**"'s
    assert owner("team-a/db", "staging") == 2  # same score: the first in the file
    assert owner("team-a/x/y") == 1  # "*" stays within a segment
    assert owner("team-a/web-1") == 5  # "web-" prefix; one wildcard each: file order
    assert owner("other/app") == 0
    assert Owners([_rule(0, "team-a/*")]).owner_of("other/app") is None
    staging_only = [_rule(0, "x/*", registries=("staging",))]
    assert Owners(staging_only, registry="prod").owner_of("x/y") is None
    assert Owners(staging_only, registry="staging").owner_of("x/y") is not None
