"""Run the real ``registry-bot`` process (``python -m bot``) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from .registry_server import free_port
from .slack_requests import SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[1]


class BotProcess:
    def __init__(
        self,
        *,
        registry_url: str,
        slack_api_url: str,
        extra_env: dict | None = None,
        cwd: Path | None = None,
        open_files: tuple[int, int] | None = None,
    ) -> None:
        self.open_files = open_files  # (soft, hard) limit on open files, as a host sets it
        self.port = free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT),
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api_url,
            "REGISTRY_URL": registry_url,
            "PORT": str(self.port),
            "LOG_LEVEL": "INFO",
            # The shared test registry is large: a test reads its storage when it asks.
            "STORAGE_SNAPSHOTS": "false",
            "DATABASE_URL": f"sqlite:///{tempfile.gettempdir()}/registry-bot-{self.port}.db",
            **(extra_env or {}),
        }
        self.cwd = cwd or ROOT / "tests"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"registry-bot-{self.port}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, wait: bool = True, timeout: float = 30.0) -> BotProcess:
        log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill() reaches the workers
            preexec_fn=self._limits if self.open_files else None,
        )
        if not wait:
            return self
        return self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30.0) -> BotProcess:
        """Wait until it answers ``/healthz`` (or raise, with its log)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"registry-bot exited {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=0.5).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"registry-bot did not start:\n{self.log()}")

    def _limits(self) -> None:
        import resource

        assert self.open_files is not None
        resource.setrlimit(resource.RLIMIT_NOFILE, self.open_files)

    def exit_log(self, timeout: float = 30.0) -> tuple[int, str]:
        """Start, wait for the process to exit (it should refuse to start), and return
        its exit status and log."""
        self.start(wait=False)
        assert self.process is not None
        return self.process.wait(timeout=timeout), self.log()

    def kill(self) -> None:
        """SIGKILL the whole process group (and anything it started) at once,
        as an out-of-memory killer or a pulled plug would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class BotLauncher:
    """Starts bot processes against the Slack stand-in with settings they share
    (``defaults``: environment variables), and stops every one it started."""

    def __init__(self, slack_api_url: str, **defaults: str) -> None:
        self.slack_api_url = slack_api_url
        self.defaults = defaults
        self.started: list[BotProcess] = []

    def start(self, registry_url: str, **env: str) -> BotProcess:
        process = BotProcess(
            registry_url=registry_url,
            slack_api_url=self.slack_api_url,
            extra_env={**self.defaults, **env},
        ).start()
        self.started.append(process)
        return process

    def start_together(self, registry_url: str, count: int, **env: str) -> list[BotProcess]:
        """Start ``count`` processes at the same moment (replicas after a deploy), then
        wait until each answers."""
        made = [
            BotProcess(
                registry_url=registry_url,
                slack_api_url=self.slack_api_url,
                extra_env={**self.defaults, **env},
            ).start(wait=False)
            for _ in range(count)
        ]
        self.started += made
        for process in made:
            process.wait_ready()
        return made

    def stop_all(self) -> None:
        for process in self.started:
            if process.process is not None and process.process.poll() is None:
                os.killpg(process.process.pid, signal.SIGCONT)  # one left stopped, say
            process.stop()
