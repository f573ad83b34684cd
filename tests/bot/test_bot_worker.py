"""The worker process that runs the work after acknowledgements: it never outlives the
process that serves Slack's requests, and one that dies is replaced; the person whose
command it was doing is told, and the next commands are answered."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from testkit.bot_process import BotProcess
from testkit.images import push_image
from testkit.proxy import RegistryProxy
from testkit.slack_flow import command, until
from testkit.slack_standin import SlackStandIn


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if f"\nPPid:\t{pid}\n" in status.read_text():
                found.append(int(status.parent.name))
        except OSError:
            continue
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purpose
        return " Z " not in Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1][:3]
    except OSError:
        return False


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    yield s
    s.stop()


def test_the_worker_never_outlives_the_process_that_started_it(standin, registry):
    for stop in (signal.SIGTERM, signal.SIGKILL):
        bot = BotProcess(registry_url=registry.url, slack_api_url=standin.api_url).start()
        assert bot.process is not None
        front = bot.process.pid
        (worker,) = until(lambda front=front: children(front))
        os.kill(front, stop)  # the front alone, not its process group
        bot.process.wait(10)
        until(lambda worker=worker: not alive(worker), timeout=10)


def test_a_worker_that_dies_is_replaced_and_its_job_is_answered(standin, registry, client):
    push_image(client, "worker/app", ["v1"])
    with RegistryProxy(registry.url) as proxy:
        bot = BotProcess(
            registry_url=proxy.url,
            slack_api_url=standin.api_url,
            extra_env={"REGISTRY_TIMEOUT": "60"},
        ).start()
        try:
            assert bot.process is not None
            (worker,) = until(lambda: children(bot.process.pid))
            proxy.hang = True
            stuck = command(bot, standin, "tags worker/app")
            # The worker is doing it (the front's own catalog read, for the pickers' names,
            # is not it).
            until(lambda: any("/tags/list" in path for _, path in proxy.log))
            os.kill(worker, signal.SIGKILL)
            told = standin.wait_response(stuck, timeout=20).body
            assert "internal error" in told["text"], told
            proxy.hang = False
            (replacement,) = until(lambda: [p for p in children(bot.process.pid) if p != worker])
            answer = standin.wait_response(command(bot, standin, "tags worker/app"), timeout=30)
            assert "v1" in str(answer.body["blocks"])
            assert "worker process stopped" in bot.log() and alive(replacement)
        finally:
            proxy.hang = False
            bot.stop()
            time.sleep(0.2)
