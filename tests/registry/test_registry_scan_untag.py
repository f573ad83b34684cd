"""Repository scans (blast radius, reclaimable blobs, blobs in use) and tag-only removal,
against real registries."""

import pytest

from bot.registry import DeleteDisabledError, ManifestNotFoundError, RegistryResponseError
from bot.registry.scan import artifact_tags_for, census_repository, scan_repository
from bot.registry.untag import remove_tag
from testkit.images import push_image, push_index
from testkit.proxy import RegistryProxy


def test_untag_keeps_the_siblings(client):
    pushed = push_image(client, "untag/app", ["1.0", "1.0.1", "stable"])
    other = push_image(client, "untag/app", ["2.0"])
    result = remove_tag(client, "untag/app", "1.0", pushed.digest, ["1.0.1", "stable"])
    assert result.method == "placeholder"  # distribution 2.x has no tag delete
    assert result.siblings == {"1.0.1": pushed.digest, "stable": pushed.digest}
    assert result.siblings_intact(pushed.digest)
    with pytest.raises(ManifestNotFoundError):
        client.resolve("untag/app", "1.0")
    assert sorted(client.tags("untag/app")) == ["1.0.1", "2.0", "stable"]
    assert client.resolve("untag/app", "stable") == pushed.digest
    assert client.resolve("untag/app", "2.0") == other.digest


def test_untag_on_registry_without_delete_changes_nothing(registry_nodelete, make_client):
    c = make_client(registry_nodelete.url)
    pushed = push_image(c, "untag/nodel", ["1.0", "stable"])
    with RegistryProxy(registry_nodelete.url) as proxy:
        with pytest.raises(DeleteDisabledError, match="nothing was changed"):
            remove_tag(make_client(proxy.url), "untag/nodel", "1.0", pushed.digest, ["stable"])
        assert proxy.counts.get("PUT", 0) == 0 and proxy.counts.get("POST", 0) == 0
    assert c.resolve("untag/nodel", "1.0") == pushed.digest
    assert sorted(c.tags("untag/nodel")) == ["1.0", "stable"]


def test_untag_refuses_a_moved_tag(client):
    old = push_image(client, "untag/moved", ["latest", "keep"])
    new = push_image(client, "untag/moved", ["latest"])
    with pytest.raises(RegistryResponseError, match="Tag moved"):
        remove_tag(client, "untag/moved", "latest", old.digest, ["keep"])
    assert client.resolve("untag/moved", "latest") == new.digest


def test_scan_blast_radius_and_reclaimable_size(client, registry, make_client):
    shared_layer = b"S" * 5000
    a = push_image(client, "scan/app", ["1.0", "1.0.1"], layers=[shared_layer, b"a" * 700])
    b = push_image(client, "scan/app", ["2.0"], layers=[shared_layer, b"b" * 900])
    multi = push_index(client, "scan/app", ["multi"])
    scan = scan_repository(client, "scan/app")
    assert scan.tags_on(a.digest) == ["1.0", "1.0.1"]
    # Independently: blobs of a that neither b nor the index uses.
    others = set(b.blob_sizes) | set(multi.blob_sizes)
    expected = {d: s for d, s in a.blob_sizes.items() if d not in others}
    assert scan.freed_blobs(a.digest) == expected
    assert sum(expected.values()) == 700 + a.config[1]
    assert set(scan.tags_using_blob(b.layers[0][0])) == {"1.0", "1.0.1", "2.0"}
    child = multi.children[0].digest
    assert scan.indexes_containing(child) == ["multi"]
    assert {c.digest for c in scan.children(multi.digest)} == {c.digest for c in multi.children}
    assert set(scan.freed_blobs(multi.digest)) == set(multi.blob_sizes)


def test_scan_costs_heads_and_one_get_per_distinct_manifest(client, registry, make_client):
    """500 tags over 30 images: one tag list, 500 HEADs, 30 manifest GETs, and no GET at
    all once the manifests are cached."""
    from testkit.images import add_tags_on_disk

    images = [push_image(client, "scan/many", [f"img{i}"]) for i in range(30)]
    for i, image in enumerate(images):
        add_tags_on_disk(
            registry.storage, "scan/many", image.digest, [f"{i}.{j}" for j in range(500 // 30 + 1)]
        )
    with RegistryProxy(registry.url) as proxy:
        c = make_client(proxy.url)
        scan = scan_repository(c, "scan/many")
        tags = len(scan.tags)
        assert tags >= 500
        assert proxy.counts == {"GET": 1 + 30, "HEAD": tags}
        proxy.reset()
        scan_repository(c, "scan/many")
        assert proxy.counts == {"GET": 1, "HEAD": tags}
    assert len(scan.manifests) == len(images)


def test_artifact_tags():
    digest = "sha256:" + "ab" * 32
    tags = [
        "latest",
        f"sha256-{'ab' * 32}.sig",
        f"sha256-{'ab' * 32}.att",
        f"sha256-{'ab' * 32}",  # the OCI referrers tag schema's index of referrers
        f"sha256-{'cd' * 32}.sig",
        f"sha256-{'ab' * 32}.tar",  # not an accessory's suffix
        f"sha256-{'ab' * 31}",  # too short for a digest
    ]
    assert artifact_tags_for(digest, tags) == tags[1:4]


def test_referrers_api_absent_on_distribution_2(client):
    pushed = push_image(client, "scan/ref", ["v1"])
    assert client.referrers("scan/ref", pushed.digest) is None
    assert client.deletes_enabled("scan/ref") is True


def test_census_reads_what_a_scan_reads_without_keeping_the_tags(client, registry, make_client):
    """A census (the storage report's read) finds the same manifests and blobs as a full
    scan, counts the tags on each, and leaves no tag hint in the client's cache."""
    from testkit.images import add_tags_on_disk

    a = push_image(client, "census/app", ["1.0"], layers=[b"c" * 800])
    push_image(client, "census/app", ["2.0", "latest"], layers=[b"d" * 900])
    multi = push_index(client, "census/app", ["multi"])
    add_tags_on_disk(registry.storage, "census/app", a.digest, [f"1.0.{i}" for i in range(40)])
    scan = scan_repository(make_client(registry.url), "census/app")
    with RegistryProxy(registry.url) as proxy:
        fresh = make_client(proxy.url)
        census = census_repository(fresh, "census/app")
        assert proxy.counts == {"GET": 1 + 3 + len(multi.children), "HEAD": 44}
    assert census.complete
    assert census.tag_total == len(scan.tags) == 44
    assert census.tag_counts[a.digest] == 41 and census.tag_counts[multi.digest] == 1
    assert census.tagged_manifests() == scan.tagged_manifests()
    for digest in scan.tagged_manifests():
        assert census.stored_by(digest) == scan.stored_by(digest)
    assert fresh.recent_digest("census/app", "1.0", within=60) is None
    assert scan.tags["1.0"] == a.digest
