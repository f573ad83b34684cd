"""Settings validation: every problem named at once, defaults, durations, patterns."""

import pytest

from bot.config import ConfigError, load_settings

SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}


def test_defaults():
    s = load_settings(SLACK)
    assert s.registry.url == "http://localhost:5000"
    assert s.registry.timeout == 10 and s.registry.concurrency == 24
    assert s.registry.insecure is False and s.registry.username is None
    assert s.slack.port == 3000 and s.slack.api_url == "https://slack.com/api/"
    assert not s.slack.socket_mode and s.log_level == "INFO"


def test_values_are_read():
    s = load_settings(
        {
            **SLACK,
            "REGISTRY_URL": "https://reg.example",
            "REGISTRY_USERNAME": "ci",
            "REGISTRY_PASSWORD": "pw",
            "REGISTRY_TIMEOUT": "2.5",
            "REGISTRY_CONCURRENCY": "4",
            "REGISTRY_INSECURE": "yes",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "PORT": "8080",
            "LOG_LEVEL": "debug",
        }
    )
    r = s.registry
    assert (r.url, r.username, r.password, r.timeout, r.concurrency, r.insecure) == (
        "https://reg.example",
        "ci",
        "pw",
        2.5,
        4,
        True,
    )
    assert s.slack.api_url == "http://127.0.0.1:9/api/" and s.slack.port == 8080
    assert s.log_level == "DEBUG"
    assert "pw" not in repr(r) and "xoxb-1" not in repr(s)


def test_socket_mode_needs_no_signing_secret():
    s = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert s.slack.socket_mode


def test_credentials_in_the_url_move_out_of_it():
    s = load_settings({"REGISTRY_URL": "https://ci:pa55@reg.example:5000"}, require_slack=False)
    assert s.registry.url == "https://reg.example:5000"
    assert (s.registry.username, s.registry.password) == ("ci", "pa55")


def test_missing_slack_settings_are_named_with_their_purpose():
    with pytest.raises(ConfigError) as info:
        load_settings({})
    text = "\n".join(info.value.problems)
    assert "SLACK_BOT_TOKEN is missing" in text and "xoxb-" in text
    assert "SLACK_SIGNING_SECRET is missing" in text and "verify" in text


def test_every_problem_is_listed():
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxp-user",
                "SLACK_APP_TOKEN": "nope",
                "SLACK_API_URL": "slack",
                "PORT": "70000",
                "REGISTRY_URL": "registry:5000",
                "REGISTRY_TIMEOUT": "soon",
                "REGISTRY_CONCURRENCY": "0",
                "REGISTRY_INSECURE": "maybe",
                "REGISTRY_PASSWORD": "x",
                "REGISTRY_CA_BUNDLE": "/nonexistent.pem",
                "LOG_LEVEL": "loud",
            }
        )
    text = "\n".join(info.value.problems)
    names = (
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "PORT",
        "REGISTRY_URL",
        "REGISTRY_TIMEOUT",
        "REGISTRY_CONCURRENCY",
        "REGISTRY_INSECURE",
        "REGISTRY_USERNAME",
        "REGISTRY_CA_BUNDLE",
        "LOG_LEVEL",
    )
    for name in names:
        assert name in text
    assert len(info.value.problems) == len(names)


def test_dotenv_is_read_and_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "REGISTRY_URL=http://from-dotenv:5000\nREGISTRY_TIMEOUT=3\n"
        "SLACK_BOT_TOKEN=xoxb-dotenv\nSLACK_SIGNING_SECRET=s\n"
    )
    monkeypatch.setenv("REGISTRY_TIMEOUT", "7")
    for name in ("REGISTRY_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    s = load_settings(dotenv_path=str(env_file))
    assert s.registry.url == "http://from-dotenv:5000" and s.registry.timeout == 7
    assert s.slack.bot_token == "xoxb-dotenv"


def test_deletion_settings():
    s = load_settings(
        {
            **SLACK,
            "APPROVERS": "U0AAA1, S0BBB2,W0CCC3",
            "APPROVALS_REQUIRED": "2",
            "APPROVAL_CHANNEL": "C0APPR",
            "AUDIT_CHANNEL": "C0AUDIT",
            "APPROVAL_TTL": "15m",
            "EXECUTION_LEASE": "2m",
            "DATABASE_URL": "postgres://bot:hunter2@db.example:5432/bot",
        }
    )
    d = s.deletions
    assert d.approver_users == ("U0AAA1", "W0CCC3") and d.approver_groups == ("S0BBB2",)
    assert d.approvers == ("U0AAA1", "W0CCC3", "S0BBB2") and d.approvals_required == 2
    assert (d.approval_channel, d.audit_channel) == ("C0APPR", "C0AUDIT")
    assert d.ttl.total_seconds() == 900 and d.execution_lease.total_seconds() == 120
    assert "hunter2" not in repr(s)
    defaults = load_settings(SLACK).deletions
    assert defaults.approvers == () and defaults.ttl.total_seconds() == 86400
    assert defaults.database_url == "sqlite:///registry-bot.db"


def test_bad_deletion_settings_are_named():
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                **SLACK,
                "APPROVERS": "alice,U0OK1",
                "APPROVALS_REQUIRED": "0",
                "APPROVAL_CHANNEL": "#ops",
                "APPROVAL_TTL": "soon",
                "EXECUTION_LEASE": "1.5h",
                "UNDO_RETENTION": "999999999d",
            }
        )
    text = "\n".join(info.value.problems)
    for fragment in (
        "these are not: alice",
        "APPROVALS_REQUIRED",
        "APPROVAL_CHANNEL must be",
        "APPROVAL_TTL",
        "EXECUTION_LEASE: '1.5h' is not a duration",
        "UNDO_RETENTION: '999999999d' is longer than 36500d",
    ):
        assert fragment in text


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("24h", 86400), ("7d", 604800)]
)
def test_durations(text, seconds):
    from bot.deletions import parse_duration

    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize(
    "text", ["", "0s", "10", "1w", "-5m", "1.5h", "999999999d", "3000000d", "876601h"]
)
def test_bad_durations(text):
    from bot.deletions import parse_duration

    with pytest.raises(ValueError, match="90s, 15m, 24h or 7d"):
        parse_duration(text)


def test_protected_tags_setting():
    s = load_settings({**SLACK, "PROTECTED_TAGS": r"^(latest|v\d+)$"})
    assert s.deletions.protected_tags.search("v12") and not s.deletions.protected_tags.search("x")
    assert load_settings(SLACK).deletions.protected_tags is None
    with pytest.raises(ConfigError, match="PROTECTED_TAGS must be a regular expression"):
        load_settings({**SLACK, "PROTECTED_TAGS": "^(latest"})
    # Matched by RE2, in linear time: what needs backtracking is refused at start, by name.
    with pytest.raises(ConfigError, match="negative lookahead"):
        load_settings({**SLACK, "PROTECTED_TAGS": "^(?!dev-).*$"})


def test_events_settings_are_validated():
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "APPROVERS": "U0APPROVE1"}
    good = load_settings({**base, "REGISTRY_EVENTS_TOKEN": "x" * 24, "EVENTS_CHANNEL": "C0EV"})
    assert good.events.token == "x" * 24 and good.events.channel == "C0EV"
    assert "x" * 24 not in repr(good)
    assert load_settings(base).events.token is None
    with pytest.raises(ConfigError) as caught:
        load_settings({**base, "REGISTRY_EVENTS_TOKEN": "short", "EVENTS_CHANNEL": "#events"})
    text = str(caught.value)
    assert "REGISTRY_EVENTS_TOKEN must be at least 16" in text and "EVENTS_CHANNEL" in text
    assert "short" not in text


def test_upkeep_settings():
    assert load_settings(SLACK).policies.storage_snapshots is True
    off = load_settings({**SLACK, "STORAGE_SNAPSHOTS": "false", "POLICY_TIMEZONE": "Asia/Tokyo"})
    assert off.policies.storage_snapshots is False and str(off.policies.timezone) == "Asia/Tokyo"
    with pytest.raises(ConfigError) as caught:
        load_settings({**SLACK, "STORAGE_SNAPSHOTS": "daily", "POLICY_TIMEZONE": "Mars/Olympus"})
    text = str(caught.value)
    assert "STORAGE_SNAPSHOTS must be true or false" in text and "POLICY_TIMEZONE" in text


def test_the_weekly_report_channel_is_checked():
    good = load_settings({**SLACK, "STORAGE_REPORT_CHANNEL": "C0REPORTS"})
    assert good.policies.report_channel == "C0REPORTS"
    with pytest.raises(ConfigError) as caught:
        load_settings({**SLACK, "STORAGE_REPORT_CHANNEL": "#reports"})
    assert "STORAGE_REPORT_CHANNEL must be a channel ID" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {**SLACK, "STORAGE_REPORT_CHANNEL": "C0REPORTS", "STORAGE_SNAPSHOTS": "false"}
        )
    assert "needs STORAGE_SNAPSHOTS" in str(caught.value)
