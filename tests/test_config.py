"""Settings validation, and the console script's behaviour on bad settings."""

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults():
    s = load_settings({})
    assert s.registry.url == "http://localhost:5000"
    assert s.registry.timeout == 10 and s.registry.concurrency == 16
    assert s.registry.insecure is False and s.registry.username is None


def test_values_are_read():
    s = load_settings(
        {
            "REGISTRY_URL": "https://reg.example",
            "REGISTRY_USERNAME": "ci",
            "REGISTRY_PASSWORD": "pw",
            "REGISTRY_TIMEOUT": "2.5",
            "REGISTRY_CONCURRENCY": "16",
            "REGISTRY_INSECURE": "yes",
        }
    )
    r = s.registry
    assert (r.url, r.username, r.password, r.timeout, r.concurrency, r.insecure) == (
        "https://reg.example",
        "ci",
        "pw",
        2.5,
        16,
        True,
    )
    assert "pw" not in repr(r)


def test_every_problem_is_listed():
    with pytest.raises(ConfigError) as info:
        load_settings(
            {
                "REGISTRY_URL": "registry:5000",
                "REGISTRY_TIMEOUT": "soon",
                "REGISTRY_CONCURRENCY": "0",
                "REGISTRY_INSECURE": "maybe",
                "REGISTRY_PASSWORD": "x",
                "REGISTRY_CA_BUNDLE": "/nonexistent.pem",
            }
        )
    text = "\n".join(info.value.problems)
    for name in (
        "REGISTRY_URL",
        "REGISTRY_TIMEOUT",
        "REGISTRY_CONCURRENCY",
        "REGISTRY_INSECURE",
        "REGISTRY_USERNAME",
        "REGISTRY_CA_BUNDLE",
    ):
        assert name in text
    assert len(info.value.problems) == 6


def test_dotenv_is_read_and_environment_wins(tmp_path, monkeypatch):
    env_file = tmp_path / ".env"
    env_file.write_text("REGISTRY_URL=http://from-dotenv:5000\nREGISTRY_TIMEOUT=3\n")
    monkeypatch.setenv("REGISTRY_TIMEOUT", "7")
    monkeypatch.delenv("REGISTRY_URL", raising=False)
    s = load_settings(dotenv_path=str(env_file))
    assert s.registry.url == "http://from-dotenv:5000" and s.registry.timeout == 7


def test_console_script_exits_2_on_bad_settings(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"REGISTRY_URL": "nope", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        timeout=30,
    )
    assert result.returncode == 2
    assert "REGISTRY_URL" in result.stderr and "Traceback" not in result.stderr
