"""Storage report benchmark: ``/registry storage`` over a registry of 200 repositories,
10,000 tags and 2,000 images (made straight in the registry's storage, 10 images and 50
tags a repository) through a relay adding 60 ms per request, measured side by side in
one run:

1. **Cold** (goal: within 1.3x of the floor of the requests it needs at
   ``REGISTRY_CONCURRENCY``): the report as it reads repositories now, several at once,
   and one repository at a time (as it did before), each against that floor.
2. **Again within 10 minutes, with the registry's events recorded** (goal: under 2 s):
   the repositories the index read lately and the events say are unchanged are taken
   from it; and the same with one repository pushed to since (it is read again).

Run: .venv/bin/python -m bench.storage_bench
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime

from bot.blobindex import BlobIndex
from bot.database import make_engine
from bot.registry import RegistryClient, RegistrySettings
from bot.registry.transport import reserved_slots
from bot.storage import REUSE_WITHIN, StorageReport, storage_report
from bot.storage import report as report_module
from testkit.delay_relay import DelayRelay
from testkit.images import add_tags_on_disk, push_image
from testkit.registry_server import RegistryServer

DELAY = 0.060
REPOSITORIES = 200
IMAGES = 10  # per repository
TAGS = 50  # per repository
BASE = b"a base layer every image uses " * 1000


def seed(server: RegistryServer) -> None:
    client = RegistryClient(RegistrySettings(url=server.url, concurrency=24))

    def one(r: int) -> None:
        repository = f"bench/app{r:03d}"
        for i in range(IMAGES):
            image = push_image(
                client, repository, [f"v{i}"], layers=[BASE, f"{repository} {i}".encode() * 50]
            )
            extra = [f"build-{i}-{j}" for j in range(TAGS // IMAGES - 1)]
            add_tags_on_disk(server.storage, repository, image.digest, extra)

    for result in client.map(one, range(REPOSITORIES)):
        if isinstance(result, Exception):
            raise result
    client.close()


def timed(
    client: RegistryClient, index: BlobIndex, reuse: bool
) -> tuple[float, int, StorageReport]:
    before = client.requests_sent
    start = time.perf_counter()
    report = storage_report(client, None, None, index, REUSE_WITHIN if reuse else None)
    return time.perf_counter() - start, client.requests_sent - before, report


def main() -> int:
    server = RegistryServer().start()
    folder = tempfile.mkdtemp(prefix="storage-bench-")
    try:
        seed(server)
        with DelayRelay(server.url, DELAY) as relay:
            client = RegistryClient(RegistrySettings(url=relay.url))
            concurrency = client.settings.concurrency
            changes: dict[str, datetime] = {}
            engine = make_engine(f"sqlite:///{folder}/index.db")
            index = BlobIndex(engine, changes=lambda: changes)
            index.ensure_schema()
            print(
                f"storage report of {REPOSITORIES} repositories, {REPOSITORIES * TAGS:,} tags, "
                f"{REPOSITORIES * IMAGES:,} images, registry +{DELAY * 1000:.0f} ms, "
                f"concurrency {concurrency}:"
            )
            at_once = report_module.REPOSITORIES_AT_ONCE
            for label, width in (("one repository at a time", 1), ("now", at_once)):
                report_module.REPOSITORIES_AT_ONCE = width
                cold = RegistryClient(RegistrySettings(url=relay.url))  # nothing cached
                elapsed, requests, report = timed(cold, index, reuse=False)
                cold.close()
                floor = max(requests / concurrency, 1) * DELAY
                slots = concurrency + reserved_slots(concurrency)
                every_slot = max(requests / slots, 1) * DELAY
                print(
                    f"  cold, {label} ({width} at once): {elapsed:.2f} s, {requests:,} requests; "
                    f"their floor at concurrency {concurrency} {floor:.2f} s: "
                    f"{elapsed / floor:.2f}x (goal 1.3x); at all {slots} slots (other "
                    f"repositories may use {slots - concurrency} more) {every_slot:.2f} s: "
                    f"{elapsed / every_slot:.2f}x; {report.total:,} bytes, "
                    f"{len(report.repositories)} repositories"
                )
            report_module.REPOSITORIES_AT_ONCE = at_once
            elapsed, requests, again = timed(client, index, reuse=True)
            print(
                f"  again within 10 minutes, events recorded: {elapsed:.2f} s (goal 2 s), "
                f"{requests} requests, {again.from_index} repositories from the index; "
                f"same total: {again.total == report.total}"
            )
            push_image(client, "bench/app000", ["new"], layers=[b"pushed since"])
            changes["bench/app000"] = datetime.now(UTC)
            elapsed, requests, pushed = timed(client, index, reuse=True)
            print(
                f"  again, one repository pushed to since: {elapsed:.2f} s, {requests} "
                f"requests, {pushed.from_index} from the index"
            )
            client.close()
            engine.dispose()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
