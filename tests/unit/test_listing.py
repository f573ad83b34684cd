"""Link-header pagination and name filtering (pure functions)."""

import httpx
import pytest

from bot.registry import RegistryResponseError, filter_names
from bot.registry.http import parse_next_link
from bot.registry.pagination import next_page_url


def _response(url: str, link: str | None) -> httpx.Response:
    headers = {"Link": link} if link else {}
    return httpx.Response(200, headers=headers, request=httpx.Request("GET", url))


def test_relative_link_resolves_against_request():
    r = _response("http://reg:5000/v2/_catalog?n=2", '</v2/_catalog?last=b&n=2>; rel="next"')
    assert str(next_page_url(r)) == "http://reg:5000/v2/_catalog?last=b&n=2"


def test_absolute_link_same_host():
    r = _response(
        "https://reg/v2/x/tags/list", "<https://reg/v2/x/tags/list?last=t9&n=50>; rel=next"
    )
    assert str(next_page_url(r)) == "https://reg/v2/x/tags/list?last=t9&n=50"


def test_default_port_is_same_origin():
    r = _response("https://reg/v2/_catalog", '<https://reg:443/v2/_catalog?last=a>; rel="next"')
    assert next_page_url(r) is not None


@pytest.mark.parametrize(
    "link",
    [
        '<https://evil.example/v2/_catalog?last=b>; rel="next"',
        '<http://reg:5001/v2/_catalog?last=b>; rel="next"',
        '<https://reg:5000/v2/_catalog?last=b>; rel="next"',
        '<//evil.example/v2/_catalog>; rel="next"',
    ],
)
def test_link_to_another_host_is_refused(link):
    r = _response("http://reg:5000/v2/_catalog", link)
    with pytest.raises(RegistryResponseError, match="another host"):
        next_page_url(r)


def test_no_link_or_other_rel_means_last_page():
    assert next_page_url(_response("http://reg/v2/_catalog", None)) is None
    assert (
        next_page_url(_response("http://reg/v2/_catalog", '</v2/_catalog?x>; rel="prev"')) is None
    )


def test_next_among_several_links():
    header = '</v2/_catalog?p=1>; rel="prev", </v2/_catalog?last=z&n=10>; rel="next"'
    assert parse_next_link(header) == "/v2/_catalog?last=z&n=10"


def test_page_size_in_link_is_capped_at_1000():
    r = _response("http://reg/v2/_catalog", '</v2/_catalog?last=b&n=50000>; rel="next"')
    assert next_page_url(r).params["n"] == "1000"


@pytest.mark.parametrize("n", ["%C2%B2", "%D9%A3", "-1", "1e3", ""])
def test_a_page_size_that_is_not_a_plain_number_is_replaced(n):
    # "²" and "٣" pass str.isdigit() but int() refuses the first: a hostile registry's
    # link must give a page size, not an exception.
    r = _response("http://reg/v2/_catalog", f'</v2/_catalog?last=b&n={n}>; rel="next"')
    assert next_page_url(r).params["n"] == "1000"


NAMES = ["app/web", "app/worker", "tools/busybox", "Busybox-legacy", "db"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (None, NAMES),
        ("busy", ["tools/busybox", "Busybox-legacy"]),
        ("app/*", ["app/web", "app/worker"]),
        ("*o?", ["tools/busybox"]),
        ("[d]*", ["db"]),
        ("nothing", []),
    ],
)
def test_filter_names(pattern, expected):
    assert filter_names(NAMES, pattern) == expected


def test_a_scan_looks_tags_up_a_chunk_at_a_time_and_misses_none(monkeypatch):
    from bot.registry import scan as scan_module
    from bot.registry import scan_repository
    from testkit.fake_registry import FakeRegistry

    fake = FakeRegistry()
    digests = {f"t{i}": fake.push("many", [f"t{i}"], f"image {i}") for i in range(10)}
    monkeypatch.setattr(scan_module, "RESOLVE_CHUNK", 3)  # 10 tags: four rounds
    client = fake.client()
    try:
        scan = scan_repository(client, "many")
        assert scan.complete and scan.tags == digests
    finally:
        client.close()
