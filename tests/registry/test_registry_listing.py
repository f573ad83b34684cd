"""Catalog and tag listing against a real registry: every page, filters, big lists."""

import pytest

from bot.registry import CatalogNotAllowedError, RepositoryNotFoundError, filter_names
from bot.slack.render.hints import explain
from testkit.images import add_repositories_on_disk, add_tags_on_disk, push_image
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer


@pytest.fixture(scope="module")
def big_registry():
    """10,000 repositories and a 10,000-tag repository, seeded in the storage folder."""
    server = RegistryServer(delete_enabled=True).start()
    yield server
    server.stop()


def test_catalog_and_tags(client):
    push_image(client, "listing/one", ["a", "b", "c"])
    push_image(client, "listing/two", ["x"])
    assert {"listing/one", "listing/two"} <= set(client.catalog())
    assert sorted(client.tags("listing/one")) == ["a", "b", "c"]


def test_tags_of_unknown_repository(client):
    with pytest.raises(RepositoryNotFoundError, match="Repository nope/never not found"):
        client.tags("nope/never")


def test_catalog_of_10000_repositories_lists_completely(big_registry, make_client):
    names = [f"team{i % 37}/svc-{i:05d}" for i in range(10_000)]
    add_repositories_on_disk(big_registry.storage, names)
    with RegistryProxy(big_registry.url) as proxy:
        client = make_client(proxy.url)
        listed = client.catalog()
        assert sorted(listed) == sorted(names)
        assert len(listed) == len(set(listed))
        pages = [path for method, path in proxy.log if "/_catalog" in path]
        # Every page asked for at most 1000 entries, so at least 10 pages were followed.
        assert len(pages) >= 10
        assert all("n=1000" in p for p in pages)
    # A filter finds names far beyond the first page.
    expected = sorted(f"team{i % 37}/svc-{i:05d}" for i in range(9990, 10_000))
    assert sorted(filter_names(listed, "*svc-0999?")) == expected
    assert sorted(filter_names(listed, "svc-0999")) == expected


def test_10000_tags_list_completely(big_registry, make_client):
    client = make_client(big_registry.url)
    pushed = push_image(client, "many/tags", ["seed"])
    tags = [f"1.{i // 100}.{i % 100}" for i in range(10_000)]
    add_tags_on_disk(big_registry.storage, "many/tags", pushed.digest, tags)
    listed = client.tags("many/tags")
    assert sorted(listed) == sorted([*tags, "seed"])
    assert client.resolve("many/tags", tags[-1]) == pushed.digest


def test_small_page_limit_falls_back_and_follows_links(make_client):
    """A registry configured with catalog.maxentries 50 answers n=1000 with 400;
    the client asks again with the registry's own page size and follows every Link."""
    server = RegistryServer(catalog_max_entries=50).start()
    try:
        names = [f"r{i:03d}" for i in range(237)]
        add_repositories_on_disk(server.storage, names)
        with RegistryProxy(server.url) as proxy:
            listed = make_client(proxy.url).catalog()
            statuses = [p for _, p in proxy.log]
        assert listed == sorted(names)
        assert statuses[0].endswith("n=1000")
        assert any("last=" in p for p in statuses)  # Links were followed
    finally:
        server.stop()


def test_absolute_next_links_are_followed(registry, make_client):
    client = make_client(registry.url)
    for i in range(5):
        push_image(client, f"abs/repo{i}", ["t"])
    with RegistryProxy(registry.url) as proxy:
        proxy.rewrite_link = lambda v: v.replace("</v2/", f"<{proxy.url}/v2/")
        # Ask for pages of 2 to force several pages, through the proxy's absolute links.
        client = make_client(proxy.url)
        pages = list(client.iter_catalog(page_size=2))
        absolute = [p for _, p in proxy.log]
    names = [n for page in pages for n in page]
    assert {f"abs/repo{i}" for i in range(5)} <= set(names)
    assert len(absolute) > 2


def test_next_link_to_another_host_is_refused(registry, make_client):
    with RegistryProxy(registry.url) as proxy:
        proxy.rewrite_link = lambda v: v.replace("</v2/", "<http://127.0.0.2:1/v2/")
        client = make_client(proxy.url)
        from bot.registry import RegistryResponseError

        push_image(make_client(registry.url), "foreign/a", ["t"])
        push_image(make_client(registry.url), "foreign/b", ["t"])
        with pytest.raises(RegistryResponseError, match="another host"):
            client.catalog(page_size=1)


def test_catalog_refused_is_its_own_error(registry, make_client):
    with RegistryProxy(registry.url) as proxy:
        proxy.inject = [(401, {"WWW-Authenticate": 'Basic realm="x"'})]
        with pytest.raises(CatalogNotAllowedError, match="does not allow listing repositories"):
            make_client(proxy.url).catalog()
        proxy.inject = [(403, {})]
        with pytest.raises(CatalogNotAllowedError) as info:
            make_client(proxy.url).catalog()
        assert info.value.status == 403
        assert "name the repository" in explain(info.value).lower()
