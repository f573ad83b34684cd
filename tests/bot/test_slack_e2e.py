"""End to end: the real registry-bot process, requests signed as Slack signs them, a
local stand-in for Slack's Web API and response_url, and a real registry."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from bot.slack.render import check_message
from testkit.bot_process import BotProcess
from testkit.images import add_repositories_on_disk, push_image, push_index
from testkit.proxy import RegistryProxy
from testkit.registry_server import RegistryServer, free_port
from testkit.slack_requests import action_body, command_body, post_signed
from testkit.slack_standin import SlackStandIn

EVIL = "<!channel> <https://evil.example|click here>"


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    yield s
    # Every message the bot sent during the module respects Block Kit's limits.
    for call in s.calls:
        if call.path.startswith("/response/"):
            check_message(call.body)
    s.stop()


@pytest.fixture(scope="module")
def registry_small_pages():
    """A registry whose catalog pages hold 50 names, seeded with test images."""
    server = RegistryServer(catalog_max_entries=50).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def seeded(registry_small_pages, make_module_client):
    c = make_module_client(registry_small_pages.url)
    add_repositories_on_disk(
        registry_small_pages.storage, [f"aaa/filler{i:03d}" for i in range(120)]
    )
    pushed = {
        "sharing": push_image(
            c, "zzz/app", ["latest", "stable", "1.0.0"], labels={"maintainer": EVIL}
        )
    }
    for i in range(44):
        push_image(c, "zzz/app", [f"0.{i}.0"])
    pushed["multi"] = push_index(c, "zzz/multi", ["2.0"], attestation=True)
    return pushed


@pytest.fixture(scope="module")
def make_module_client():
    from bot.registry import RegistryClient, RegistrySettings

    clients = []

    def make(url):
        clients.append(RegistryClient(RegistrySettings(url=url)))
        return clients[-1]

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="module")
def proxy(registry_small_pages):
    with RegistryProxy(registry_small_pages.url) as p:
        yield p


@pytest.fixture(scope="module")
def bot(standin, proxy, seeded):
    process = BotProcess(registry_url=proxy.url, slack_api_url=standin.api_url).start()
    yield process
    process.stop()


def key() -> str:
    return uuid.uuid4().hex


def command(bot, standin, text: str):
    """Send ``/registry text``; returns (HTTP response, response_url key)."""
    k = key()
    response = post_signed(bot.events_url, command_body(text, standin.response_url(k)))
    return response, k


def buttons(body: dict) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in body.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    }


def test_startup_verified_the_token(bot, standin):
    assert standin.api_calls("auth.test")


@pytest.mark.parametrize("text", ["", "help"])
def test_help_is_the_acknowledgement(bot, standin, text):
    response, _ = command(bot, standin, text)
    assert response.status_code == 200
    body = response.json()
    check_message(body)
    assert body["response_type"] == "ephemeral"
    assert "/registry tags busybox 1.3*" in str(body["blocks"])


def test_unknown_subcommand_says_so_and_shows_usage(bot, standin):
    response, _ = command(bot, standin, "frobnicate now")
    body = response.json()
    check_message(body)
    assert "Unknown command 'frobnicate'" in body["text"]
    assert "/registry repos [FILTER]" in str(body["blocks"])


def test_bad_repository_name_gets_a_clear_reply(bot, standin, proxy):
    before = proxy.total
    response, _ = command(bot, standin, "tags Not/Valid")
    assert "path component 'Not'" in response.json()["text"]
    assert proxy.total == before  # refused before any registry request


def test_tags_pages_reach_every_tag(bot, standin, seeded):
    response, k = command(bot, standin, "tags zzz/app")
    assert response.status_code == 200 and response.text == ""
    reply = standin.wait_response(k).body
    assert reply["response_type"] == "ephemeral"
    assert "*47* tags" in str(reply["blocks"])
    seen = []
    pages = 0
    while True:
        pages += 1
        seen += [
            line.split("`")[1]
            for b in reply["blocks"]
            if b["type"] == "section"
            for line in [b["text"]["text"]]
            if line.startswith("*`")
        ]
        nxt = buttons(reply).get("registry_page_next")
        if not nxt:
            break
        k = key()
        r = post_signed(
            bot.events_url, action_body("registry_page_next", nxt, standin.response_url(k))
        )
        assert r.status_code == 200
        reply = standin.wait_response(k).body
        assert reply["replace_original"] is True  # edits the listing in place
    expected = {"latest", "stable", "1.0.0", *[f"0.{i}.0" for i in range(44)]}
    assert pages == 3 and len(seen) == 47 and set(seen) == expected
    assert seen[:3] == ["latest", "stable", "1.0.0"]
    # Prev goes back.
    prev = buttons(reply)["registry_page_prev"]
    k = key()
    post_signed(bot.events_url, action_body("registry_page_prev", prev, standin.response_url(k)))
    assert "page 2 of 3" in str(standin.wait_response(k).body["blocks"])


def test_tag_details_shared_digests_and_escaping(bot, standin, seeded):
    _, k = command(bot, standin, "tags zzz/app *e*")
    reply = standin.wait_response(k).body
    text = str(reply["blocks"])
    short = seeded["sharing"].digest[7:19]
    assert f"`{short}`" in text and "Same image as `stable`" in text
    assert "1.0.0" not in text  # filtered out
    assert "matching `*e*`" in text


def test_repos_filter_finds_names_beyond_the_first_catalog_page(bot, standin, proxy):
    proxy.reset()
    _, k = command(bot, standin, "repos zzz")
    reply = standin.wait_response(k).body
    text = str(reply["blocks"])
    assert "*2* repositories matching `zzz`" in text
    assert "`zzz/app`" in text and "`zzz/multi`" in text
    catalog_requests = [p for _, p in proxy.log if "_catalog" in p]
    assert len(catalog_requests) >= 3  # 122 names in pages of 50


def test_repos_paging(bot, standin):
    _, k = command(bot, standin, "repos")
    reply = standin.wait_response(k).body
    assert "*122* repositories" in str(reply["blocks"]) and "page 1 of 4" in str(reply["blocks"])
    k2 = key()
    post_signed(
        bot.events_url,
        action_body(
            "registry_page_next", buttons(reply)["registry_page_next"], standin.response_url(k2)
        ),
    )
    assert "41. `aaa/filler040`" in str(standin.wait_response(k2).body["blocks"])


def test_show_multi_arch_image(bot, standin, seeded):
    _, k = command(bot, standin, "show zzz/multi:2.0")
    reply = standin.wait_response(k).body
    text = str(reply["blocks"])
    assert seeded["multi"].digest in text
    assert "linux/amd64" in text and "linux/arm64/v8" in text
    assert "1 attestation manifest" in text
    assert "OCI index" in text


def test_show_escapes_labels(bot, standin):
    for alias in ("layers", "inspect"):
        _, k = command(bot, standin, f"{alias} zzz/app:stable")
        reply = standin.wait_response(k).body
        raw = str(reply)
        assert "<!channel>" not in raw and "&lt;!channel&gt;" in raw


def test_show_unknown_tag(bot, standin):
    _, k = command(bot, standin, "show zzz/app:nope")
    reply = standin.wait_response(k).body
    assert "zzz/app:nope not found" in reply["text"]


def test_forged_and_stale_requests_are_rejected(bot, standin, proxy):
    proxy.reset()
    calls_before = len(standin.calls)
    k = key()
    body = command_body("tags zzz/app", standin.response_url(k))
    forged = post_signed(bot.events_url, body, secret="not-the-secret")
    stale = post_signed(bot.events_url, body, timestamp=int(time.time()) - 6 * 60)
    bad = post_signed(bot.events_url, body, signature="v0=" + "0" * 64)
    assert (forged.status_code, stale.status_code, bad.status_code) == (401, 401, 401)
    time.sleep(1.0)  # give a (wrongly) started listener time to act
    assert proxy.total == 0
    assert len(standin.calls) == calls_before


def test_ack_comes_before_the_registry_answers(bot, standin, proxy):
    """Eight commands while the registry holds every request: each is acknowledged
    (Bolt runs listeners on 5 threads, so work done on them would starve the sixth),
    and each gets its reply once the registry answers."""
    proxy.hold = threading.Event()
    keys = []
    try:
        for _ in range(8):
            response, k = command(bot, standin, "tags zzz/app")
            assert response.status_code == 200 and response.text == ""
            keys.append(k)
        deadline = time.monotonic() + 10
        while not proxy.log and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proxy.log, "the bot never asked the registry"
        assert all(standin.responses(k) == [] for k in keys)
    finally:
        proxy.hold.set()
        proxy.hold = None
    for k in keys:
        assert "zzz/app" in standin.wait_response(k).body["text"]


def test_response_url_rate_limit_is_retried(bot, standin):
    k = key()
    standin.fail_next[f"/response/{k}"] = [(429, {"Retry-After": "1"})]
    post_signed(bot.events_url, command_body("repos zzz", standin.response_url(k)))
    second = standin.wait_response(k, count=2)
    first = standin.responses(k)[0]
    assert second.at - first.at >= 0.9
    assert "zzz/app" in str(second.body["blocks"])


def test_malformed_button_value_is_ignored(bot, standin, proxy):
    proxy.reset()
    k = key()
    r = post_signed(
        bot.events_url, action_body("registry_page_next", "{not json", standin.response_url(k))
    )
    assert r.status_code == 200
    time.sleep(0.5)
    assert proxy.total == 0 and standin.responses(k) == []


# -- registries that fail --------------------------------------------------------------


@pytest.fixture
def start_bot(standin):
    started = []

    def start(registry_url: str, **env) -> BotProcess:
        process = BotProcess(
            registry_url=registry_url, slack_api_url=standin.api_url, extra_env=env
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_unreachable_registry_gets_a_clear_reply(start_bot, standin):
    port = free_port()
    bot = start_bot(f"http://127.0.0.1:{port}", REGISTRY_TIMEOUT="2")
    _, k = command(bot, standin, "tags busybox")
    reply = standin.wait_response(k, timeout=2 + 6).body
    assert f"http://127.0.0.1:{port}" in reply["text"]
    assert "unreachable" in reply["text"] and "REGISTRY_URL" in reply["text"]
    assert "Traceback" not in str(reply)


def test_registry_that_never_answers_times_out_with_a_reply(start_bot, standin, registry):
    with RegistryProxy(registry.url) as hanging:
        hanging.hang = True
        bot = start_bot(hanging.url, REGISTRY_TIMEOUT="1")
        _, k = command(bot, standin, "repos")
        reply = standin.wait_response(k, timeout=1 + 6).body
    assert "timed out after 1 s" in reply["text"]


def test_invalid_token_stops_the_bot_with_exit_2(standin, registry):
    process = BotProcess(
        registry_url=registry.url,
        slack_api_url=standin.api_url,
        extra_env={"SLACK_BOT_TOKEN": "xoxb-revoked"},
    )
    status, log = process.exit_log()
    assert status == 2
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in log
    assert "Traceback" not in log and "xoxb-revoked" not in log


def test_slack_api_server_error_at_startup_is_retried(start_bot, standin, registry):
    standin.fail_next["/api/auth.test"] = [(503, {})]
    before = len(standin.api_calls("auth.test"))
    start_bot(registry.url)
    assert len(standin.api_calls("auth.test")) - before == 2


def test_share_in_channel_posts_the_page_shown_naming_who_shared_it(bot, standin, seeded):
    """Share in channel on page 2 of a listing: that page posted to the channel, naming
    who shared it, with no buttons; the private reply replaced by a note; a second click
    posts nothing more. show is shared the same way."""
    _, k = command(bot, standin, "tags zzz/app")
    first = standin.wait_response(k).body
    nxt = buttons(first)["registry_page_next"]
    k = key()
    post_signed(bot.events_url, action_body("registry_page_next", nxt, standin.response_url(k)))
    page2 = standin.wait_response(k).body
    share = buttons(page2)["registry_share"]
    before = len(standin.messages("C0CHAN01"))
    clicks = [key(), key()]
    for k in clicks:
        post_signed(
            bot.events_url,
            action_body("registry_share", share, standin.response_url(k), user="USHARER1"),
        )
    note = standin.wait_response(clicks[0]).body
    assert note["replace_original"] is True and "Shared it in <#C0CHAN01>" in str(note["blocks"])
    time.sleep(0.5)  # a second post, were there one, would be in by now
    (posted,) = standin.messages("C0CHAN01")[before:]
    assert standin.responses(clicks[1]) == []  # the second click: nothing
    shared = str(posted.body["blocks"])
    assert "Shared by <@USHARER1>" in shared and "page 2 of 3" in shared
    assert "registry_page_next" not in shared and "registry_share" not in shared
    # show: shared too.
    _, k = command(bot, standin, "show zzz/app:stable")
    shown = standin.wait_response(k).body
    before = len(standin.messages("C0CHAN01"))
    k = key()
    post_signed(
        bot.events_url,
        action_body("registry_share", buttons(shown)["registry_share"], standin.response_url(k)),
    )
    note = standin.wait_response(k).body
    assert note["replace_original"] is True and "Shared it in <#C0CHAN01>" in str(note["blocks"])
    (copy,) = standin.messages("C0CHAN01")[before:]
    assert seeded["sharing"].digest in str(copy.body["blocks"])
