"""The console script on bad settings: exit status 2 and every problem named, the
settings read from a .env file in the working directory."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env},
    )


def test_console_script_with_no_settings_exits_2_naming_the_bot_token(tmp_path):
    result = _run({}, tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "SLACK_SIGNING_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_console_script_reads_dotenv_from_working_directory(tmp_path):
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-1\nREGISTRY_URL=nope\n")
    result = _run({}, tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN is missing" not in result.stderr
    assert "REGISTRY_URL must be" in result.stderr


def test_a_configuration_file_with_several_mistakes_exits_2_listing_them_all(tmp_path):
    (tmp_path / "bot.toml").write_text(
        "[registries.prod]\n"
        'url = "ftp://nope"\n'
        'password_env = "UNSET_PASSWORD"\n'
        'username_env = "UNSET_USER"\n'
        "[[owners]]\n"
        'registries = ["qa"]\n'
        'repositories = ["team-a/**"]\n'
        'approvers = ["bob"]\n'
        'protected_tags = "(?=x)"\n'
        "colour = 1\n"
    )
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "REGISTRY_BOT_CONFIG": str(tmp_path / "bot.toml"),
    }
    result = _run(env, tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for part in (
        "[registries.prod] url",
        "UNSET_PASSWORD, which is not set",
        "UNSET_USER, which is not set",
        "[[owners]] #1 registries: names 'qa'",
        "[[owners]] #1 approvers",
        "[[owners]] #1 protected_tags",
        "[[owners]] #1: unknown key 'colour'",
        "docs/examples/registry-bot.toml",  # where the keys are described
    ):
        assert part in result.stderr, (part, result.stderr)
    # Named in .env rather than the environment: the same pointer to the file's keys.
    (tmp_path / ".env").write_text(f"REGISTRY_BOT_CONFIG={env.pop('REGISTRY_BOT_CONFIG')}\n")
    from_dotenv = _run(env, tmp_path)
    assert from_dotenv.returncode == 2 and "docs/examples/registry-bot.toml" in from_dotenv.stderr
