"""manifest.yml validates against Slack's app manifest schema and matches the code."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from bot.slack.listeners.commands import COMMAND

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_CANDIDATES = [
    ROOT.parent / "shared/slack-manifest-schema/manifest.schema.1.0.0.json",
    ROOT / "shared/slack-manifest-schema/manifest.schema.1.0.0.json",
]


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slack_schema(manifest):
    path = next((p for p in SCHEMA_CANDIDATES if p.exists()), None)
    if path is None:
        pytest.fail(f"Slack's manifest schema not found in {SCHEMA_CANDIDATES}")
    schema = json.loads(path.read_text())
    jsonschema.validate(manifest, schema)


def test_schema_check_can_fail(manifest):
    path = next(p for p in SCHEMA_CANDIDATES if p.exists())
    schema = json.loads(path.read_text())
    broken = {**manifest, "display_information": {"name": "x" * 36}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_manifest_matches_the_app(manifest):
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["url"].endswith("/slack/events")
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert set(manifest["oauth_config"]["scopes"]["bot"]) >= {
        "commands",
        "chat:write",
        "usergroups:read",
    }
