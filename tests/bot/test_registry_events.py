"""The registry's own event feed end to end: a real ``docker-registry`` configured with
a ``notifications:`` endpoint posts to the real bot process, which records the events
and tells the channel (the Slack stand-in)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import httpx
import pytest

from bot.registry import RegistryClient, RegistrySettings
from testkit.bot_process import BotProcess
from testkit.images import manifest_exists, oci_layout, push_image
from testkit.registry_server import RegistryServer, free_port
from testkit.slack_flow import confirm_in_modal
from testkit.slack_requests import action_body, command_body, post_signed
from testkit.slack_standin import SlackStandIn

TOKEN = "events-token-0123456789abcdef"
CHANNEL, AUDIT = "C0EVENTS1", "C0AUDIT01"
REQUESTER, APPROVER = "UREQUEST1", "UAPPROVE1"
ENVELOPE = "application/vnd.docker.distribution.events.v1+json"


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def setup(standin, tmp_path_factory):
    """A registry that posts its events to a bot started for it."""
    registry_port = free_port()
    bot = BotProcess(
        registry_url=f"http://127.0.0.1:{registry_port}",
        slack_api_url=standin.api_url,
        extra_env={
            "REGISTRY_EVENTS_TOKEN": TOKEN,
            "EVENTS_CHANNEL": CHANNEL,
            "AUDIT_CHANNEL": AUDIT,
            "APPROVERS": f"{APPROVER},{REQUESTER}",
            "PROTECTED_TAGS": "^(prod|live)$",
            "DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('events')}/bot.db",
        },
    )
    registry = RegistryServer(port=registry_port, notify=(f"{bot.url}/registry/events", TOKEN))
    registry.start()
    bot.start()
    yield registry, bot
    bot.stop()
    registry.stop()


def outsider(registry) -> httpx.Client:
    """A client that is not the bot (another user agent), as CI jobs and curl are."""
    return httpx.Client(base_url=registry.url, headers={"User-Agent": "skopeo/1.13.3"})


def retag(registry, repository, pushed, tag) -> None:
    with outsider(registry) as http:
        response = http.put(
            f"/v2/{repository}/manifests/{tag}",
            content=pushed.body,
            headers={"Content-Type": pushed.media_type},
        )
        assert response.status_code == 201, response.text


def as_agent(registry, agent: str) -> httpx.Client:
    """A client that says it is ``agent``: anyone can claim to be registry-bot."""
    return httpx.Client(base_url=registry.url, headers={"User-Agent": agent})


def button(body: dict, action_id: str) -> dict:
    return next(
        e
        for b in body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


def click(bot, standin, action_id: str, value: str, user: str = REQUESTER) -> str:
    """Click a button (on a message in CHANNEL); the key of its response URL."""
    key = "k" + str(time.monotonic_ns())
    post_signed(
        bot.events_url,
        action_body(action_id, value, standin.response_url(key), user=user, channel=CHANNEL),
    )
    return key


def approve_request(bot, standin, before: int) -> dict:
    """Approve the first request message posted after the first ``before`` messages, and
    wait for its outcome; returns the outcome message's body."""
    request = standin.wait_for(
        lambda: [
            m
            for m in standin.messages()[before:]
            if "deletion_approve" in str(m.body) and not m.body.get("thread_ts")
        ]
    )[0]
    post_signed(
        bot.events_url,
        action_body(
            "deletion_approve",
            button(request.body, "deletion_approve")["value"],
            standin.response_url("k" + str(time.monotonic_ns())),
            user=APPROVER,
            channel=request.body["channel"],
            message_ts=request.ts,
        ),
    )
    return standin.wait_for(
        lambda: [
            u.body
            for u in standin.api_calls("chat.update")
            if u.body.get("ts") == request.ts
            and ("*Deleted*" in str(u.body) or "*Restored*" in str(u.body))
        ]
    )[-1]


def through_the_bot(bot, standin, text: str) -> dict:
    """Run a deletion command, request it and have it approved; the outcome's body."""
    key = "k" + str(time.monotonic_ns())
    post_signed(bot.events_url, command_body(text, standin.response_url(key), user=REQUESTER))
    submit = button(standin.wait_response(key).body, "deletion_submit")
    before = len(standin.messages())
    k2 = "k" + str(time.monotonic_ns())
    trigger = f"{time.monotonic_ns()}.1.trigger"
    post_signed(
        bot.events_url,
        action_body(
            "deletion_submit",
            submit["value"],
            standin.response_url(k2),
            user=REQUESTER,
            trigger_id=trigger,
        ),
    )
    confirm_in_modal(bot, standin, trigger, REQUESTER)
    assert "Requested" in str(standin.wait_response(k2).body), standin.wait_response(k2).body
    return approve_request(bot, standin, before)


def undo_through_the_bot(bot, standin, outcome: dict) -> dict:
    """Click Undo on an outcome, and have the restore approved; the restore's outcome."""
    before = len(standin.messages())
    key = "k" + str(time.monotonic_ns())
    post_signed(
        bot.events_url,
        action_body(
            "deletion_undo",
            button(outcome, "deletion_undo")["value"],
            standin.response_url(key),
            user=REQUESTER,
            channel=CHANNEL,
        ),
    )
    assert "Requested" in str(standin.wait_response(key).body)
    return approve_request(bot, standin, before)


def two_images(registry, repository: str):
    """A client, and two images pushed by it to ``repository`` without tags."""
    client = RegistryClient(RegistrySettings(url=registry.url))
    return client, push_image(client, repository, []), push_image(client, repository, [])


def flagged_about(standin, digest: str) -> list[str]:
    return [t for t in channel_texts(standin, CHANNEL) if "Outside deletion" in t and digest in t]


def channel_texts(standin, channel) -> list[str]:
    return [str(c.body.get("blocks")) for c in standin.messages(channel)]


def test_a_push_by_someone_else_shows_in_the_channel(setup, standin):
    registry, _ = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    pushed = push_image(client, "evt/app", [])  # by the bot's own client: not announced
    retag(registry, "evt/app", pushed, "v1.0")
    message = standin.wait_for(
        lambda: [t for t in channel_texts(standin, CHANNEL) if "evt/app:v1.0" in t]
    )[0]
    assert "new tag" in message and "skopeo/1.13.3" in message
    assert pushed.digest.split(":")[1][:12] in message
    client.close()


def test_a_skopeo_push_shows_up_with_its_tag(setup, standin, tmp_path):
    registry, _ = setup
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        pytest.fail("skopeo is missing: scripts/test installs it")
    digest = oci_layout(tmp_path / "layout", "v3")
    host = registry.url.removeprefix("http://")
    subprocess.run(
        [
            skopeo,
            "copy",
            "--dest-tls-verify=false",
            f"oci:{tmp_path / 'layout'}:v3",
            f"docker://{host}/evt/skopeo:v3",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    message = standin.wait_for(
        lambda: [t for t in channel_texts(standin, CHANNEL) if "evt/skopeo:v3" in t]
    )[0]
    assert "new tag" in message and "skopeo/" in message
    # skopeo writes the manifest anew; the channel shows what the registry stored.
    client = RegistryClient(RegistrySettings(url=registry.url))
    assert client.resolve("evt/skopeo", "v3").split(":")[1][:12] in message
    client.close()
    assert digest.startswith("sha256:")


def test_a_burst_of_pushes_is_one_message(setup, standin):
    registry, _ = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    pushed = push_image(client, "evt/burst", [])
    for i in range(12):
        retag(registry, "evt/burst", pushed, f"ci-{i}")
    standin.wait_for(lambda: [t for t in channel_texts(standin, CHANNEL) if "evt/burst:ci-11" in t])
    time.sleep(2.5)  # anything still to come would be another message
    about = [t for t in channel_texts(standin, CHANNEL) if "evt/burst" in t]
    assert len(about) == 1 and "12 tags pushed" in about[0]
    client.close()


def test_a_curl_delete_is_flagged_and_audited_but_the_bots_own_is_not(setup, standin):
    registry, bot = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    outside = push_image(client, "evt/del", ["gone"])
    ours = push_image(client, "evt/del", ["ours", "keep"])
    with outsider(registry) as http:
        assert http.delete(f"/v2/evt/del/manifests/{outside.digest}").status_code == 202
    flagged = standin.wait_for(
        lambda: [t for t in channel_texts(standin, CHANNEL) if "Outside deletion" in t]
    )[0]
    assert outside.digest in flagged and "gone" in flagged
    audit = standin.wait_for(
        lambda: [t for t in channel_texts(standin, AUDIT) if "Outside deletion" in t]
    )[0]
    assert outside.digest in audit
    # The audit trail has it, written with the event (not by a later post).
    key = "a" + str(time.monotonic_ns())
    post_signed(bot.events_url, command_body("audit 5", standin.response_url(key)))
    trail = str(standin.wait_response(key).body["blocks"])
    assert "outside deletion" in trail and f"evt/del@{outside.digest}; tags gone" in trail, trail

    # The same deletion through the bot, approved: not flagged.
    through_the_bot(bot, standin, "untag evt/del:ours")
    time.sleep(2.5)  # give the registry's events time to arrive
    flagged = [t for t in channel_texts(standin, CHANNEL) if "Outside deletion" in t]
    assert len(flagged) == 1  # only the curl one
    # Its placeholder's deletion was the bot's own, and the image itself stays.
    key = "k" + str(time.monotonic_ns())
    post_signed(bot.events_url, command_body("activity evt/del", standin.response_url(key)))
    lines = str(standin.wait_response(key).body["blocks"])
    assert "deleted through registry-bot" in lines and "(tags ours)" in lines, lines
    assert f"evt/del@{ours.digest}" not in lines
    assert client.resolve("evt/del", "keep") == ours.digest
    client.close()


def test_a_protected_tag_overwritten_by_a_push_raises_the_alert(setup, standin):
    registry, _ = setup
    client, first, second = two_images(registry, "evt/prod")
    retag(registry, "evt/prod", first, "prod")
    retag(registry, "evt/prod", second, "prod")
    alert = standin.wait_for(
        lambda: [m for m in standin.messages(CHANNEL) if "Protected tag changed" in str(m.body)]
    )[0]
    assert first.digest in str(alert.body) and second.digest in str(alert.body)

    # "Restore previous" asks the approvers; once approved, prod points back.
    button = next(
        e
        for b in alert.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "registry_put_back"
    )
    _, bot = setup
    before = len(standin.messages())
    key = click(bot, standin, "registry_put_back", button["value"])
    assert "Requested" in str(standin.wait_response(key).body)
    request = standin.wait_for(
        lambda: [
            m
            for m in standin.messages()[before:]
            if "deletion_approve" in str(m.body) and not m.body.get("thread_ts")
        ]
    )[0]
    assert "is moved back from" in str(request.body)
    value = next(
        e["value"]
        for b in request.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "deletion_approve"
    )
    k2 = "k" + str(time.monotonic_ns())
    post_signed(
        bot.events_url,
        action_body(
            "deletion_approve",
            value,
            standin.response_url(k2),
            user=APPROVER,
            channel=request.body["channel"],
            message_ts=request.ts,
        ),
    )
    standin.wait_for(
        lambda: [
            u
            for u in standin.api_calls("chat.update")
            if "*Restored*" in str(u.body) and "evt/prod:prod" in str(u.body)
        ]
    )
    assert client.resolve("evt/prod", "prod") == first.digest
    # The same button again: prod no longer points where the alert said.
    k3 = "k" + str(time.monotonic_ns())
    post_signed(
        bot.events_url,
        action_body("registry_put_back", button["value"], standin.response_url(k3), user=REQUESTER),
    )
    assert "has moved again" in str(standin.wait_response(k3).body)
    client.close()


def test_activity_lists_what_the_registry_reported(setup, standin):
    registry, bot = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    pushed = push_image(client, "evt/act", [])
    retag(registry, "evt/act", pushed, "v2")
    standin.wait_for(lambda: [t for t in channel_texts(standin, CHANNEL) if "evt/act:v2" in t])
    key = "k" + str(time.monotonic_ns())
    post_signed(bot.events_url, command_body("activity evt/act", standin.response_url(key)))
    body = str(standin.wait_response(key).body)
    assert "Registry activity in evt/act" in body and "evt/act:v2" in body
    client.close()


def test_wrong_token_and_malformed_bodies_are_refused_with_nothing_stored(setup, standin):
    _, bot = setup
    url = f"{bot.url}/registry/events"
    event = {
        "id": "forged-1",
        "timestamp": "2026-11-27T12:00:00Z",
        "action": "push",
        "target": {"repository": "evt/forged", "digest": "sha256:" + "a" * 64, "tag": "x"},
    }
    body = json.dumps({"events": [event]}).encode()
    headers = {"Content-Type": ENVELOPE}
    assert httpx.post(url, content=body, headers=headers).status_code == 401
    wrong = {**headers, "Authorization": "Bearer not-the-token-at-all"}
    assert httpx.post(url, content=body, headers=wrong).status_code == 401
    good = {**headers, "Authorization": f"Bearer {TOKEN}"}
    assert httpx.post(url, content=b"{not json", headers=good).status_code == 400
    nested = b'{"events":' + b"[" * 500_000  # JSON too deep for the parser
    assert httpx.post(url, content=nested, headers=good).status_code == 400
    text = {**good, "Content-Type": "text/plain"}
    assert httpx.post(url, content=body, headers=text).status_code == 400
    big = httpx.post(url, content=b"x" * (1024 * 1024 + 1), headers=good)
    assert big.status_code == 400
    key = "k" + str(time.monotonic_ns())
    post_signed(bot.events_url, command_body("activity evt/forged", standin.response_url(key)))
    assert "No activity recorded" in str(standin.wait_response(key).body)
    # The right token stores it, once.
    assert httpx.post(url, content=body, headers=good).text.startswith("stored 1 of 1")
    assert httpx.post(url, content=body, headers=good).text.startswith("stored 0 of 1")


def test_push_times_and_recent_pulls_drive_cleanup(setup, standin):
    registry, bot = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    # Built long ago (created 2024), pushed now.
    used = push_image(client, "evt/pull", ["used"], created="2024-01-01T00:00:00Z")
    push_image(client, "evt/pull", ["idle"], created="2024-01-01T00:00:00Z")
    with outsider(registry) as http:  # someone runs the image
        response = http.get("/v2/evt/pull/manifests/used", headers={"Accept": used.media_type})
        assert response.status_code == 200
    time.sleep(1.5)

    def preview(text: str) -> str:
        key = "k" + str(time.monotonic_ns())
        post_signed(bot.events_url, command_body(text, standin.response_url(key), user=REQUESTER))
        return str(standin.wait_response(key).body)

    text = "prune evt/pull --older-than 1s --keep-pulled-within 7d"
    deadline = time.monotonic() + 15
    body = preview(text)
    while "in use" not in body and time.monotonic() < deadline:
        time.sleep(0.5)  # the registry posts its events asynchronously
        body = preview(text)
    assert "1 in use (pulled within --keep-pulled-within)" in body, body
    assert "delete *1 tags* (1 images)" in body and "`idle`" in body
    assert "Ages: 2 tags by their push time" in body
    assert "For 2 tags, the image comes from the registry's push events" in body
    # By push time both are a second old, not two years: nothing is older than 30 days.
    assert "Nothing to clean up" in preview("prune evt/pull --older-than 30d")
    # Listings say which is which: pushed (from the events) rather than created.
    listing = preview("tags evt/pull")
    assert "pushed " in listing and "created 2024" not in listing
    assert "last pulled" in listing and "(1 pulls recorded)" in listing
    shown = preview("show evt/pull:used")
    assert "*Pushed*" in shown and "*Pulled*" in shown and "*Created*" in shown
    client.close()


# -- a User-Agent proves nothing: the bot's own writes are known by its own record --------
def test_a_protected_tag_moved_by_a_client_claiming_to_be_the_bot_is_alerted(setup, standin):
    registry, _ = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    first = push_image(client, "evt/spoof", [])
    second = push_image(client, "evt/spoof", [])
    with as_agent(registry, "registry-bot/9.9") as http:
        for pushed in (first, second):
            answer = http.put(
                "/v2/evt/spoof/manifests/prod",
                content=pushed.body,
                headers={"Content-Type": pushed.media_type},
            )
            assert answer.status_code == 201
    alert = standin.wait_for(
        lambda: [
            m
            for m in standin.messages(CHANNEL)
            if "Protected tag changed" in str(m.body) and "evt/spoof" in str(m.body)
        ]
    )[0]
    assert first.digest in str(alert.body) and second.digest in str(alert.body)
    client.close()


def test_an_outside_delete_claiming_to_be_the_bot_is_flagged(setup, standin):
    registry, _ = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    with as_agent(registry, "registry-bot/9.9") as http:
        pushed = push_image(client, "evt/spoofdel", [])
        answer = http.put(
            "/v2/evt/spoofdel/manifests/v1",
            content=pushed.body,
            headers={"Content-Type": pushed.media_type},
        )
        assert answer.status_code == 201  # pushed as "the bot" too
        unknown = push_image(client, "evt/spoofdel", [])  # no tag record of it at all
        for digest in (pushed.digest, unknown.digest):
            assert http.delete(f"/v2/evt/spoofdel/manifests/{digest}").status_code == 202
    for digest in (pushed.digest, unknown.digest):
        assert standin.wait_for(lambda d=digest: flagged_about(standin, d))
    client.close()


def test_deleting_outside_an_image_the_bot_only_untagged_is_flagged_and_alerted(setup, standin):
    registry, bot = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    image = push_image(client, "evt/untagged", [])
    with outsider(registry) as http:
        for tag in ("rc-1", "live"):
            answer = http.put(
                f"/v2/evt/untagged/manifests/{tag}",
                content=image.body,
                headers={"Content-Type": image.media_type},
            )
            assert answer.status_code == 201
    through_the_bot(bot, standin, "untag evt/untagged:rc-1")
    assert client.resolve("evt/untagged", "live") == image.digest
    with as_agent(registry, "curl/8.5.0") as http:
        assert http.delete(f"/v2/evt/untagged/manifests/{image.digest}").status_code == 202
    flagged = standin.wait_for(lambda: flagged_about(standin, image.digest))[0]
    assert "live" in flagged
    alert = standin.wait_for(
        lambda: [
            t
            for t in channel_texts(standin, CHANNEL)
            if "Protected tag" in t and "evt/untagged" in t and image.digest in t
        ]
    )
    assert alert
    client.close()


def test_deleting_outside_an_image_the_bot_deleted_and_put_back_is_flagged(setup, standin):
    registry, bot = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    image = push_image(client, "evt/undone", ["v1"])
    outcome = through_the_bot(bot, standin, "delete evt/undone:v1")
    undo_through_the_bot(bot, standin, outcome)
    assert client.resolve("evt/undone", "v1") == image.digest
    time.sleep(1.5)  # the bot's own deletion and restore have been reported by now
    assert not flagged_about(standin, image.digest)
    with as_agent(registry, "registry-bot/0.1") as http:
        assert http.delete(f"/v2/evt/undone/manifests/{image.digest}").status_code == 202
    assert standin.wait_for(lambda: flagged_about(standin, image.digest))
    client.close()


def test_an_image_a_push_leaves_without_a_tag_is_listed_until_tagged_again(setup, standin):
    registry, bot = setup
    client, first, second = two_images(registry, "evt/unt")
    retag(registry, "evt/unt", first, "v1")
    standin.wait_for(lambda: [t for t in channel_texts(standin, CHANNEL) if "evt/unt:v1" in t])
    retag(registry, "evt/unt", second, "v1")  # v1 moves: the first image has no tag now
    standin.wait_for(
        lambda: [
            t
            for t in channel_texts(standin, CHANNEL)
            if "evt/unt:v1" in t and second.digest.split(":")[1][:12] in t
        ]
    )

    def untagged() -> str:
        key = "u" + str(time.monotonic_ns())
        post_signed(bot.events_url, command_body("untagged evt/unt", standin.response_url(key)))
        return str(standin.wait_response(key).body["blocks"])

    listed = untagged()
    assert "1 untagged images" in listed and first.digest[:19] in listed, listed
    assert second.digest[:19] not in listed and "left by `v1`" in listed
    retag(registry, "evt/unt", first, "back")  # tagged again: no longer untagged
    standin.wait_for(lambda: [t for t in channel_texts(standin, CHANNEL) if "evt/unt:back" in t])
    assert "0 untagged images" in untagged()
    client.close()


def test_prune_untagged_deletes_what_a_push_left_and_undo_brings_it_back(setup, standin):
    registry, bot = setup
    client, first, second = two_images(registry, "evt/prune-unt")
    kept = push_image(client, "evt/prune-unt", ["keep"])
    retag(registry, "evt/prune-unt", first, "v1")
    retag(registry, "evt/prune-unt", second, "v1")  # v1 moves: the first image has no tag
    standin.wait_for(
        lambda: [
            t
            for t in channel_texts(standin, CHANNEL)
            if "evt/prune-unt:v1" in t and second.digest.split(":")[1][:12] in t
        ]
    )
    key = "k" + str(time.monotonic_ns())
    text = "prune evt/prune-unt --untagged --keep-pulled-within 1d"
    post_signed(bot.events_url, command_body(text, standin.response_url(key), user=REQUESTER))
    dry = standin.wait_response(key).body
    said = str(dry["blocks"])
    assert "Would delete* 1 untagged manifest in 1 of 1 repositories" in said, said
    assert "delete *1 untagged manifest*" in said
    assert first.digest.split(":")[1][:12] in said and second.digest.split(":")[1][:12] not in said
    assert "--untagged --keep-pulled-within 1d" in said
    outcome = through_the_bot(bot, standin, text)
    assert "deleted 1 of 1 untagged manifests" in str(outcome), outcome
    assert not manifest_exists(client, "evt/prune-unt", first.digest)
    for image in (second, kept):  # tagged images are untouched
        assert manifest_exists(client, "evt/prune-unt", image.digest)
    assert client.resolve("evt/prune-unt", "v1") == second.digest
    restored = undo_through_the_bot(bot, standin, outcome)
    assert "*Restored*" in str(restored)
    assert manifest_exists(client, "evt/prune-unt", first.digest)  # back, still untagged
    client.close()


def test_a_storage_report_is_shared_in_the_channel_and_read_again_from_the_index(setup, standin):
    registry, bot = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    push_image(client, "evt/store", ["v1"])

    def report() -> dict:
        key = "k" + str(time.monotonic_ns())
        post_signed(bot.events_url, command_body("storage evt/store", standin.response_url(key)))
        return standin.wait_response(key).body

    first = report()
    assert "*Storage of `evt/store`*" in str(first["blocks"])
    assert "*Untagged images*: 0 known" in str(first["blocks"])  # the events are recorded
    # Read a moment ago, and the registry's events say nothing changed since.
    assert "1 repositories as read by" in str(report()["blocks"])
    key = click(
        bot,
        standin,
        "registry_storage_share",
        button(first, "registry_storage_share")["value"],
        APPROVER,
    )
    shared = standin.wait_for(
        lambda: [t for t in channel_texts(standin, CHANNEL) if f"Shared by <@{APPROVER}>" in t]
    )
    assert "evt/store" in shared[0]
    assert "Shared the storage report" in str(standin.wait_response(key).body)
    client.close()


def test_a_manifest_pushed_by_digest_alone_is_listed_untagged_but_not_a_platform(setup, standin):
    """Pushed by digest and never tagged, an image is untagged from the start; a
    multi-arch image's platforms, pushed by digest too, belong to its tagged index."""
    from testkit.images import push_index

    registry, bot = setup
    client = RegistryClient(RegistrySettings(url=registry.url))
    alone = push_image(client, "evt/bydigest", [])
    index = push_index(client, "evt/bydigest", ["multi"])
    deadline = time.monotonic() + 15
    listed = ""
    while time.monotonic() < deadline:  # the registry posts its events asynchronously
        key = "u" + str(time.monotonic_ns())
        post_signed(
            bot.events_url, command_body("untagged evt/bydigest", standin.response_url(key))
        )
        listed = str(standin.wait_response(key).body["blocks"])
        if "1 untagged images" in listed:
            break
        time.sleep(0.5)
    assert "1 untagged images" in listed and alone.digest[:19] in listed, listed
    assert "pushed by digest" in listed
    for child in index.children:
        assert child.digest[:19] not in listed
    assert index.digest[:19] not in listed
    client.close()
