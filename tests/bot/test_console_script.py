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
