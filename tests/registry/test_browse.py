"""Paged browsing of repositories and tags, on a real registry."""

from bot.registry import Image
from bot.registry.pages import (
    repo_page,
    tag_page,
)
from testkit.images import push_image


def test_tag_page_describes_only_its_page_and_groups_shared_digests(client):
    shared = push_image(client, "browse/app", ["latest", "3.0", "stable"])
    for i in range(25):
        push_image(client, "browse/app", [f"1.{i}"])
    page = tag_page(client, "browse/app", page=0, per_page=10)
    assert page.total == 28 and page.pages == 3 and page.has_next and not page.has_prev
    assert page.tags[:3] == ["latest", "stable", "3.0"]
    assert page.tags[3:] == [f"1.{i}" for i in range(24, 17, -1)]
    assert len(page.images) == 10 and all(isinstance(i, Image) for i in page.images)
    assert page.shared == {shared.digest: ["latest", "stable", "3.0"]}
    assert page.siblings("latest", page.images[0]) == ["stable", "3.0"]

    last = tag_page(client, "browse/app", page=99, per_page=10)  # clamped to the last page
    assert last.page == 2 and last.tags == [f"1.{i}" for i in range(7, -1, -1)]
    assert not last.has_next

    filtered = tag_page(client, "browse/app", pattern="1.2*", per_page=10)
    assert filtered.tags == ["1.24", "1.23", "1.22", "1.21", "1.20", "1.2"]
    assert filtered.repository_total == 28


def test_repo_page(client):
    for i in range(7):
        push_image(client, f"rp/svc{i}", ["v1"])
    page = repo_page(client, pattern="rp/*", per_page=3, page=1)
    assert page.names == ["rp/svc3", "rp/svc4", "rp/svc5"]
    assert page.total == 7 and page.pages == 3 and page.has_prev and page.has_next
