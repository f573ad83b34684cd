"""The storage report against a registry of its own: its total is the size of the blob
files in the registry's storage (manifests are blobs too), each counted once; a base
layer two repositories share is each one's shared bytes and half of each one's share;
a pattern reads only what it names."""

from __future__ import annotations

from bot.registry import RegistryClient, RegistrySettings
from bot.storage import storage_report
from testkit.images import push_image


def test_totals_count_each_blob_once_and_shares_add_up(own_registry):
    client = RegistryClient(RegistrySettings(url=own_registry.url))
    try:
        base = b"a base layer both use" * 500
        a = push_image(client, "team/a", ["v1", "v1-alias"], layers=[base, b"a" * 3000])
        b = push_image(client, "team/b", ["v1"], layers=[base, b"b" * 5000])
        report = storage_report(client)
        assert report.total == own_registry.blob_bytes()  # what the disk holds
        by_name = {r.repository: r for r in report.repositories}
        ra, rb = by_name["team/a"], by_name["team/b"]
        assert ra.shared == rb.shared == len(base)
        assert ra.unique == sum(a.blob_sizes.values()) - len(base) + len(a.body)
        assert rb.unique == sum(b.blob_sizes.values()) - len(base) + len(b.body)
        assert ra.amortised + rb.amortised == report.total  # the shares add up
        assert report.naive == report.total + len(base)  # per repository, base twice
        assert (ra.tags, ra.images, rb.tags, rb.images) == (2, 1, 1, 1)
        only = storage_report(client, "team/a")
        assert [r.repository for r in only.repositories] == ["team/a"]
        assert only.repositories[0].unique == ra.referenced  # nothing else read
    finally:
        client.close()
