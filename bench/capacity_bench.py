"""Capacity benchmark of the real registry-bot process: memory under large listings, and
acknowledgements under a flood of commands against a stalled registry.

1. **Memory.** A repository of 100,000 tags (made straight in the registry's storage)
   is listed with ``/registry tags``, then 100 listings follow. The memory of the
   bot's processes (the one that acknowledges and the worker) is read before, after
   the big listing, after the 100, and after ``/registry storage`` of the big repository
   has read every tag of it into the registry-wide index (goal: under 150 MB), as RSS
   summed and as PSS, which counts the pages the two share once: serving one registry,
   then, side by side, serving three (``--registries``; the big repository on the first,
   small ones on the others, listings going to each).
2. **Acknowledgements.** 200 ``/registry`` commands are sent at once, side by side: while
   the registry takes 5 s to answer each request (a proxy holds them), and while it
   answers at once, so the bot is busy doing the work of the commands it has just
   acknowledged. Each command's HTTP acknowledgement time is measured (goal: p99 under
   100 ms in both), and every command must still get its reply at ``response_url`` (an
   answer or a clear timeout).

Run: .venv/bin/python -m bench.capacity_bench [--flood-only | --memory-only] [--flood-text TEXT]
     [--registries N]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.floods import at_once, raw_request
from bot.registry import RegistryClient, RegistrySettings
from testkit.bot_process import BotProcess
from testkit.images import add_tags_on_disk, push_image
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer
from testkit.slack_requests import command_body, post_signed
from testkit.slack_standin import SlackStandIn

BIG_TAGS = 100_000
LISTINGS = 100
FLOOD = 200
STALL = 5.0


def group_memory_mb(pid: int) -> tuple[float, float]:
    """Memory of ``pid`` and its children, in MB: resident (RSS, each process counting
    the pages it shares with the others in full) and proportional (PSS: each shared
    page counted once in all, shared out among the processes that share it)."""
    rss = pss = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            if int(fields.get("Pid", "0")) != pid and int(fields.get("PPid", "0")) != pid:
                continue
            rollup = (status.parent / "smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        rss += int(fields.get("VmRSS", "0 kB").split()[0])
        pss += next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    return rss / 1024, pss / 1024


def reply_of(bot: BotProcess, standin: SlackStandIn, text: str, timeout: float = 120) -> dict:
    key = uuid.uuid4().hex
    post_signed(bot.events_url, command_body(text, standin.response_url(key)))
    return standin.wait_response(key, timeout=timeout).body


def fill(server: RegistryServer) -> None:
    """The big repository (100,000 tags, made on disk) and ten small ones."""
    client = RegistryClient(RegistrySettings(url=server.url))
    base = push_image(client, "cap/big", ["0.0.1"])
    for i in range(20):
        push_image(client, "cap/big", [f"9.{i}.0"])
    add_tags_on_disk(server.storage, "cap/big", base.digest, [f"1.{i}" for i in range(BIG_TAGS)])
    for r in range(10):
        push_image(client, f"cap/small{r}", [f"v{i}" for i in range(3)])
    client.close()


def fill_small(server: RegistryServer) -> None:
    client = RegistryClient(RegistrySettings(url=server.url))
    for r in range(10):
        push_image(client, f"cap/small{r}", [f"v{i}" for i in range(3)])
    client.close()


def config_file(servers: list[RegistryServer], path: Path) -> Path:
    """A configuration file serving ``servers`` (the first the big one's)."""
    path.write_text("".join(f'[registries.r{i}]\nurl = "{s.url}"\n' for i, s in enumerate(servers)))
    return path


def bench_memory(
    server: RegistryServer, standin: SlackStandIn, others: list[RegistryServer]
) -> list[tuple[float, float]]:
    """The memory readings of a bot serving ``server`` (and ``others``: a configuration
    file lists them all), after each step; listings go to every registry served."""
    env: dict[str, str] = {}
    names = ["r0"]
    if others:
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as made:
            path = Path(made.name)
        env["REGISTRY_BOT_CONFIG"] = str(config_file([server, *others], path))
        names = [f"r{i}" for i in range(len(others) + 1)]
    flag = (lambda i: f" --registry {names[i % len(names)]}") if others else (lambda i: "")
    with tempfile.TemporaryDirectory() as scratch:
        env["DATABASE_URL"] = f"sqlite:///{scratch}/bot.db"
        bot = BotProcess(
            registry_url=server.url, slack_api_url=standin.api_url, extra_env=env
        ).start()
        try:
            for i in range(len(names)):
                reply_of(bot, standin, f"repos{flag(i)}")
            start = group_memory_mb(bot.process.pid)
            started = time.monotonic()
            body = reply_of(bot, standin, "tags cap/big")
            took = time.monotonic() - started
            assert f"*{BIG_TAGS + 21}* tags" in str(body["blocks"]), body["text"][:200]
            after_big = group_memory_mb(bot.process.pid)
            for i in range(LISTINGS):
                repo = "cap/big" if i % 10 == 0 else f"cap/small{i % 10}"
                reply_of(bot, standin, f"tags {repo}{'' if repo == 'cap/big' else flag(i)}")
            after_many = group_memory_mb(bot.process.pid)
            # The storage report reads every tag of it (a HEAD each) into the index.
            started = time.monotonic()
            body = reply_of(bot, standin, "storage cap/big", timeout=600)
            indexed_in = time.monotonic() - started
            assert "Storage of `cap/big`" in str(body["blocks"]), body["text"][:200]
            after_index = group_memory_mb(bot.process.pid)
        finally:
            bot.stop()
    served = f"{len(names)} registr{'y' if len(names) == 1 else 'ies'}"
    print(f"memory of the bot's processes serving {served}, RSS summed / PSS, goal 150 MB:")
    print(f"  after start and one command each:  {start[0]:6.1f} / {start[1]:6.1f} MB")
    print(
        f"  after listing {BIG_TAGS:,} tags ({took:.1f} s): "
        f"{after_big[0]:6.1f} / {after_big[1]:6.1f} MB"
    )
    print(
        f"  after {LISTINGS} more listings:          {after_many[0]:6.1f} / {after_many[1]:6.1f} MB"
    )
    print(
        f"  after reading it into the index ({indexed_in:.1f} s): "
        f"{after_index[0]:6.1f} / {after_index[1]:6.1f} MB"
    )
    return [start, after_big, after_many, after_index]


def bench_flood(
    server: RegistryServer, standin: SlackStandIn, text: str | None, stall: float
) -> None:
    """Every request is signed and every connection opened before the clock starts, so
    what is timed is the bot's answer, not the load generator's own work."""
    with RegistryProxy(server.url, delay=stall) as proxy:
        bot = BotProcess(registry_url=proxy.url, slack_api_url=standin.api_url).start()
        try:
            keys = [uuid.uuid4().hex for _ in range(FLOOD)]
            texts = [text or ("repos" if i % 2 else "tags cap/small1") for i in range(FLOOD)]
            requests = [
                raw_request(bot, command_body(t, standin.response_url(k)))
                for t, k in zip(texts, keys, strict=True)
            ]
            # The same command alone, one at a time, for the side-by-side ratio.
            alone = []
            for _ in range(20):
                extra = uuid.uuid4().hex
                lone = raw_request(bot, command_body(texts[0], standin.response_url(extra)))
                with socket.create_connection(("127.0.0.1", bot.port)) as sock:
                    t0 = time.monotonic()
                    sock.sendall(lone)
                    sock.recv(64)
                    alone.append(time.monotonic() - t0)
            started = time.monotonic()
            acks = at_once(bot, requests)
            answered = 0
            for key in keys if text is None else ():  # a given text is answered inline
                try:
                    standin.wait_response(key, timeout=max(1.0, 120 - (time.monotonic() - started)))
                    answered += 1
                except TimeoutError:
                    pass
            done = time.monotonic() - started
        finally:
            bot.stop()
    p99 = acks[int(len(acks) * 0.99) - 1]
    said = f"taking {stall:g} s per request" if stall else "answering at once"
    print(f"{FLOOD} commands at once, registry {said}:")
    print(
        f"  acknowledgement: median {statistics.median(acks) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {acks[-1] * 1000:.1f} ms (goal p99 under 100 ms)"
    )
    single = statistics.median(alone)
    print(
        f"  the same command alone: median {single * 1000:.1f} ms; "
        f"flood p99 / alone = {p99 / single:.1f}x"
    )
    if text is None:
        print(f"  replies received: {answered} of {FLOOD}, the last after {done:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-only", action="store_true", help="skip the memory part")
    parser.add_argument("--memory-only", action="store_true", help="skip the flood part")
    parser.add_argument(
        "--flood-text",
        help="the command text of every flooded command (default: repos and tags, mixed); "
        "'bogus' measures acknowledgements alone, with no registry work after them",
    )
    parser.add_argument(
        "--registries",
        type=int,
        default=3,
        help="also measure the memory with this many registries served (the big "
        "repository on the first), side by side with one (1: one only)",
    )
    args = parser.parse_args()
    server = RegistryServer().start()
    others = [RegistryServer().start() for _ in range(max(0, args.registries - 1))]
    standin = SlackStandIn().start()
    try:
        if not args.flood_only:
            fill(server)
            for other in others:
                fill_small(other)
            one = bench_memory(server, standin, [])
            if others:
                several = bench_memory(server, standin, others)
                print(
                    f"{args.registries} registries against one, PSS at the end: "
                    f"{several[-1][1]:.1f} / {one[-1][1]:.1f} MB = "
                    f"{several[-1][1] / one[-1][1]:.2f}x; at start: "
                    f"{several[0][1] / one[0][1]:.2f}x"
                )
        else:
            client = RegistryClient(RegistrySettings(url=server.url))
            push_image(client, "cap/small1", ["v0"])
            client.close()
        for stall in () if args.memory_only else (STALL, 0.0):
            bench_flood(server, standin, args.flood_text, stall)
    finally:
        standin.stop()
        server.stop()
        for other in others:
            other.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
