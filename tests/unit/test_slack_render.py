"""Block Kit rendering: pure functions, checked against Slack's limits and for escaping."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.registry import (
    Descriptor,
    Image,
    ManifestNotFoundError,
    Platform,
    PlatformImage,
    RegistryUnreachableError,
)
from bot.registry import mediatypes as mt
from bot.registry.pages import RepoPage, TagPage
from bot.registry.units import human_size
from bot.slack.render import (
    BlockKitLimitError,
    check_message,
    render_error,
    render_help,
    render_image,
    render_repos,
    render_tags,
    render_usage_error,
)
from bot.slack.render.common import age, escape
from bot.slack.render.limits import own_problems, problems_of

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
URL = "http://registry.test:5000"
EVIL = "<!channel> <https://evil.example|click> & more"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def platform_image(n: int, layers: int = 3, labels=None, arch="amd64") -> PlatformImage:
    return PlatformImage(
        digest=digest(n),
        media_type=mt.OCI_MANIFEST,
        platform=Platform("linux", arch),
        config=Descriptor(mt.OCI_CONFIG, digest(n + 10_000), 1500),
        layers=tuple(
            Descriptor(mt.OCI_LAYER, digest(n * 1000 + i), 2_500_000) for i in range(layers)
        ),
        created=NOW - timedelta(days=3),
        labels=labels or {},
    )


def payload_text(message) -> str:
    import json

    return json.dumps(message.to_dict(), ensure_ascii=False)


def test_escape():
    assert escape(EVIL) == "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; more"


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "size unknown"),
        (0, "0 B"),
        (999, "999 B"),
        (2_100_000, "2.1 MB"),
        (3 * 10**12, "3.0 TB"),
    ],
)
def test_human_size(size, text):
    assert human_size(size) == text


def test_age():
    assert age(NOW - timedelta(days=3, hours=2), NOW) == "3 days ago"
    assert age(NOW - timedelta(hours=1), NOW) == "1 hour ago"
    assert age(NOW - timedelta(seconds=5), NOW) == "just now"
    assert age(NOW + timedelta(days=1), NOW) == "in the future"


def test_help_has_an_example_per_command():
    text = payload_text(render_help(URL))
    for example in (
        "/registry repos team-a/*",
        "/registry tags busybox 1.3*",
        "/registry show busybox:1.36",
    ):
        assert example in text


def test_untrusted_text_is_escaped_everywhere():
    image = Image(
        "app",
        digest(1),
        mt.OCI_MANIFEST,
        (platform_image(1, labels={"maintainer": EVIL, EVIL: "x"}),),
        annotations={"note": EVIL},
        tag="v1",
    )
    rendered = [
        render_image(image, URL, NOW),
        render_error(ManifestNotFoundError(f"{EVIL} not found"), f"looking up {EVIL}"),
        render_usage_error(f"Unknown command {EVIL!r}.", None),
        render_repos(RepoPage([EVIL], 1, 0, 40, pattern=EVIL, catalog_total=1), URL),
    ]
    for message in rendered:
        text = payload_text(message)
        assert "<!channel>" not in text and "<https://evil" not in text
        assert "&lt;!channel&gt;" in text


def test_tags_page_shows_digest_size_age_platforms_and_siblings():
    single = Image("app", digest(1), mt.DOCKER_V2, (platform_image(1),), tag="1.0")
    multi = Image(
        "app",
        digest(2),
        mt.OCI_INDEX,
        (platform_image(2), platform_image(3, arch="arm64")),
        attestations=(platform_image(4),),
        tag="latest",
    )
    page = TagPage(
        "app",
        ["latest", "stable", "1.0", "gone"],
        [multi, multi, single, ManifestNotFoundError("app:gone not found.")],
        total=45,
        page=1,
        per_page=4,
        repository_total=45,
        shared={digest(2): ["latest", "stable"]},
    )
    message = render_tags(page, URL, NOW)
    text = payload_text(message)
    assert "*45* tags" in text and "page 2 of 12" in text
    assert f"`{digest(1)[7:19]}`" in text
    assert "7.5 MB" in text and "(3 days ago)" in text
    assert "multi-arch: linux/amd64, linux/arm64 (+1 attestation)" in text
    assert "Same image as `stable`" in text and "Same image as `latest`" in text
    assert "app:gone not found" in text
    buttons = [
        e for b in message.to_dict()["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert [b["action_id"] for b in buttons] == ["registry_page_prev", "registry_page_next"]


def test_huge_image_stays_within_limits():
    platforms = tuple(
        platform_image(i, layers=300, labels={f"l{j}": "v" * 500 for j in range(60)})
        for i in range(80)
    )
    image = Image(
        "a/" * 100 + "b",
        digest(1),
        mt.OCI_INDEX,
        platforms,
        attestations=tuple(platform_image(i + 100) for i in range(80)),
        annotations={f"k{i}": "w" * 3000 for i in range(100)},
        tag="t" * 128,
    )
    message = render_image(image, URL, NOW)
    check_message(message.to_dict())
    text = payload_text(message)
    assert "… and 275 more" in text  # layers cut
    assert "more platforms" in text
    for title, total in (("*Labels*", 60), ("*Annotations*", 100)):
        (block,) = [
            b
            for b in message.to_dict()["blocks"]
            if b["type"] == "section" and b.get("text", {}).get("text", "").startswith(title)
        ]
        lines = block["text"]["text"].split("\n")
        shown = len(lines) - 2  # the title and the "more" line
        assert lines[-1] == f"… and {total - shown} more"
        assert shown >= 1


def test_long_repository_listing_is_split_into_sections():
    names = [("x" * 250) + f"{i:04d}" for i in range(40)]
    message = render_repos(RepoPage(names, 5000, 3, 40, catalog_total=5000), URL)
    payload = message.to_dict()
    assert len([b for b in payload["blocks"] if b["type"] == "section"]) > 2
    assert "page 4 of 125" in payload_text(message)


def test_error_reply_says_what_failed_and_what_to_do():
    err = RegistryUnreachableError(f"The registry at {URL} is unreachable.")
    text = payload_text(render_error(err, "listing tags of app"))
    assert "Could not finish listing tags of app" in text
    assert URL in text and "Check REGISTRY_URL" in text


def test_limit_checker_catches_what_the_sdk_does_not():
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    assert problems_of({"text": "t", "blocks": [section] * 50}) == []
    assert "51 blocks" in problems_of({"text": "t", "blocks": [section] * 51})[0]
    long_field = {"type": "section", "fields": [{"type": "mrkdwn", "text": "y" * 2001}]}
    assert "field over 2000" in problems_of({"text": "t", "blocks": [long_field]})[0]
    assert problems_of({"text": "", "blocks": []}) == ["no plain text fallback"]
    button = {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": "a",
                "text": {"type": "plain_text", "text": "b" * 76},
                "value": "v" * 2001,
            }
        ],
    }
    assert len(problems_of({"text": "t", "blocks": [button]})) == 1  # slack_sdk's check
    assert own_problems({"text": "t", "blocks": [button]}) == []  # not duplicated here
    with pytest.raises(BlockKitLimitError):
        check_message({"text": "t", "blocks": [section] * 51})


def test_cleanup_progress_says_which_repositories_are_being_checked():
    from dataclasses import replace

    from bot.deletions import CleanupProgress, Kind
    from bot.slack.render.cleanups import render_cleanup_progress
    from testkit.deletions import sample_request

    request = replace(sample_request("c1"), kind=Kind.PRUNE, repository="team/*")
    one = render_cleanup_progress(
        request, CleanupProgress(500, 120, 3, 0, 12.4, checking=(f"team/{EVIL}",), tags=5000)
    )
    text = payload_text(one)
    assert "looking up the 5,000 tags of `team/" in text and "&lt;!channel&gt;" in text
    assert "<!channel>" not in text and "123 of 500 images done: 120 deleted, 3 skipped" in text
    several = payload_text(
        render_cleanup_progress(
            request, CleanupProgress(500, checking=tuple(f"team/r{i}" for i in range(5)), tags=70)
        )
    )
    assert "the 70 tags of 5 repositories (`team/r0`, `team/r1`, `team/r2` and 2 more)" in several
    deleting = payload_text(render_cleanup_progress(request, CleanupProgress(500, 130)))
    assert "looking up" not in deleting and "130 of 500 images done" in deleting
    for message in (one, render_cleanup_progress(request, CleanupProgress(500))):
        check_message(message.to_dict())
