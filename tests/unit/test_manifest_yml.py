"""manifest.yml validates against Slack's app manifest schema and matches the code."""

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.slack.command_table import usage_hint
from bot.slack.listeners.commands import COMMAND

ROOT = Path(__file__).resolve().parents[2]
# Slack's schema is not part of the project. CI names it with SLACK_MANIFEST_SCHEMA, so
# there the test runs (and fails if the file is missing); elsewhere it is looked for
# beside the project, and the test is skipped, saying so, when it isn't there.
SCHEMA_ENV = "SLACK_MANIFEST_SCHEMA"
SCHEMA_BESIDE = ROOT.parent / "shared/slack-manifest-schema/manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


@pytest.fixture(scope="module")
def schema() -> dict:
    named = os.environ.get(SCHEMA_ENV)
    if named:
        path = Path(named)
        assert path.is_file(), f"{SCHEMA_ENV} names {path}, which is not a file"
    elif SCHEMA_BESIDE.is_file():
        path = SCHEMA_BESIDE
    else:
        pytest.skip(
            f"Slack's app manifest schema is not here: set {SCHEMA_ENV} to its path "
            f"(manifest.schema.1.0.0.json) to run this test"
        )
    return json.loads(path.read_text())


def test_manifest_validates_against_slack_schema(manifest, schema):
    jsonschema.validate(manifest, schema)


def test_schema_check_can_fail(manifest, schema):
    broken = {**manifest, "display_information": {"name": "x" * 36}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_manifest_matches_the_app(manifest):
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["usage_hint"] == usage_hint()  # every verb, from the command table
    assert command["url"].endswith("/slack/events")
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    # The Home tab: enabled, and its opening sent to the bot's one URL.
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert events["bot_events"] == ["app_home_opened"]
    assert events["request_url"] == command["url"]
    # The message shortcut, by the callback ID its listener answers.
    from bot.slack.listeners.shortcuts import CALLBACK_CLEANUP, CALLBACK_INSPECT

    assert [(s["type"], s["callback_id"]) for s in manifest["features"]["shortcuts"]] == [
        ("message", CALLBACK_INSPECT),
        ("global", CALLBACK_CLEANUP),
    ]
    # The pickers' options are asked at the same URL.
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["message_menu_options_url"] == command["url"]
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "commands",
        "chat:write",
        "usergroups:read",
    }
