"""Deletions end to end through the real bot process: the preview, the request message,
votes, the outcome and the audit thread, with the Slack stand-in and a real registry
(DELETEs counted by a proxy)."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from bot.slack.render import check_message
from testkit.bot_process import BotLauncher, BotProcess
from testkit.images import manifest_exists, push_image
from testkit.proxy import RegistryProxy
from testkit.slack_flow import REQUEST_BUTTONS, confirm_in_modal
from testkit.slack_requests import action_body, command_body, post_signed
from testkit.slack_standin import SlackStandIn

REQUESTER, APPROVER, APPROVER2, OUTSIDER, GROUPIE = (
    "UREQUEST1",
    "UAPPROVE1",
    "UAPPROVE2",
    "UOUTSIDE1",
    "UGROUPIE1",
)
CHANNEL = "C0CHAN01"
APPROVERS = f"{APPROVER},{APPROVER2},SOPSTEAM1,{REQUESTER}"
EVIL = "<!channel> see <https://evil.example|this>"


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    s.usergroups["SOPSTEAM1"] = [GROUPIE]
    yield s
    for call in s.calls:
        if call.path.startswith("/response/") or call.method in ("chat.postMessage", "chat.update"):
            check_message(call.body)
    s.stop()


@pytest.fixture(scope="module")
def counting(registry):
    with RegistryProxy(registry.url) as proxy:
        yield proxy


@pytest.fixture
def start_bot(standin, counting, tmp_path):
    bots = BotLauncher(
        standin.api_url, APPROVERS=APPROVERS, DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}"
    )
    yield lambda **env: bots.start(counting.url, **env)
    bots.stop_all()


def key() -> str:
    return uuid.uuid4().hex


def buttons(body: dict) -> dict[str, dict]:
    return {
        e["action_id"]: e
        for b in body.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    }


def slash(bot, standin, text, user=REQUESTER, channel=CHANNEL) -> dict:
    k = key()
    response = post_signed(
        bot.events_url, command_body(text, standin.response_url(k), user=user, channel=channel)
    )
    assert response.status_code == 200
    return standin.wait_response(k).body


def click(bot, standin, action_id, value, user, channel=CHANNEL, message=None) -> str:
    """Click a button; ``message`` is the posted message it is on (a Call), when it is on
    one (votes count only there)."""
    k = key()
    where = {}
    if message is not None:
        where = {"channel": message.body["channel"], "message_ts": message.ts}
    trigger = f"{uuid.uuid4().int % 10**12}.1.trigger"
    response = post_signed(
        bot.events_url,
        action_body(
            action_id,
            value,
            standin.response_url(k),
            user=user,
            trigger_id=trigger,
            **{"channel": channel, **where},
        ),
    )
    assert response.status_code == 200
    if action_id in REQUEST_BUTTONS:  # the request modal opens: submit it
        confirm_in_modal(bot, standin, trigger, user)
    return k


def approve(bot, standin, message, user) -> str:
    """Click Approve on a request message, as ``user``; returns the response_url key."""
    value = buttons(message.body)["deletion_approve"]["value"]
    return click(bot, standin, "deletion_approve", value, user, message=message)


def request_deletion(bot, standin, ref, reason="superseded", channel=CHANNEL):
    """Preview, then Request: returns (request id, the request message call)."""
    preview = slash(bot, standin, f"delete {ref} {reason}", channel=channel)
    submit = buttons(preview)["deletion_submit"]
    before = len(standin.messages())
    k = click(bot, standin, "deletion_submit", submit["value"], REQUESTER, channel)
    standin.wait_response(k)
    posted = standin.wait_for(lambda: len(standin.messages()) > before and standin.messages())
    request_message = next(
        c for c in posted[before:] if "thread_ts" not in c.body or not c.body.get("thread_ts")
    )
    return submit["value"], request_message


def new_request_message(standin, before: int, marker: str):
    """The first request message (not a thread reply) posted after the first ``before``
    messages whose blocks mention ``marker``."""
    return standin.wait_for(
        lambda: [
            m
            for m in standin.messages()[before:]
            if marker in str(m.body) and not m.body.get("thread_ts")
        ]
    )[0]


def deletes_of(counting, repository: str) -> int:
    return sum(
        1
        for method, path in counting.log
        if method == "DELETE" and path.startswith(f"/v2/{repository}/")
    )


def updates_of(standin, ts) -> list:
    return [c for c in standin.api_calls("chat.update") if c.body.get("ts") == ts]


def test_full_flow_preview_request_approve_delete(start_bot, standin, counting, client):
    pushed = push_image(client, "sdel/app", ["1.0", "1.0.1", "stable"])
    bot = start_bot()
    preview = slash(bot, standin, f"delete sdel/app:1.0 {EVIL}")
    text = str(preview)
    assert pushed.digest in text and "also removes 2 other tags" in text
    assert "`1.0.1`" in text and "`stable`" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    submit = buttons(preview)["deletion_submit"]
    assert "confirm" not in submit  # the request modal asks instead
    assert len(submit["value"]) == 16  # an opaque ID, nothing else
    assert deletes_of(counting, "sdel/app") == 0

    request_id, message = request_deletion(bot, standin, "sdel/app:1.0", reason=EVIL)
    modal = standin.modals()[-1]
    assert modal["callback_id"] == "deletion_request_modal" and modal["submit"]["text"] == "Request"
    assert "3 tags will be deleted" in str(modal["blocks"])
    assert "&lt;!channel&gt;" in str(modal["blocks"])  # the reason offered, escaped
    assert message.body["channel"] == CHANNEL
    body = str(message.body["blocks"])
    assert f"<@{REQUESTER}>" in body and "*Approvals* 0/1" in body
    assert set(buttons(message.body)) == {"deletion_approve", "deletion_reject"}
    # The request message's ts is what chat.postMessage answered; find it from the thread.
    thread = standin.wait_for(
        lambda: [c for c in standin.messages(CHANNEL) if c.body.get("thread_ts")]
    )
    request_ts = thread[-1].body["thread_ts"]
    assert "*requested* by" in str(thread[-1].body["blocks"])

    value = buttons(message.body)["deletion_approve"]["value"]
    click(bot, standin, "deletion_approve", value, APPROVER, message=message)
    update = standin.wait_for(lambda: updates_of(standin, request_ts))[-1]
    closed = str(update.body["blocks"])
    assert "*Deleted*" in closed and "garbage-collect" in closed
    assert "deletion_approve" not in closed  # no buttons left
    assert deletes_of(counting, "sdel/app") == 1
    events = standin.wait_for(
        lambda: (t := standin.messages(CHANNEL, request_ts)) and len(t) >= 3 and t
    )
    assert [str(c.body["blocks"]).split("*")[1] for c in events] == [
        "requested",
        "approved",
        "executed",
    ]
    assert request_id == value


def test_refusals_are_ephemeral_and_audited(start_bot, standin, counting, client):
    push_image(client, "sdel/refuse", ["v1"])
    bot = start_bot()
    _, message = request_deletion(bot, standin, "sdel/refuse:v1")
    value = buttons(message.body)["deletion_approve"]["value"]
    for user, fragment in ((OUTSIDER, "Only approvers"), (REQUESTER, "another approver")):
        k = click(bot, standin, "deletion_approve", value, user, message=message)
        reply = standin.wait_response(k).body
        assert fragment in reply["text"] and reply["response_type"] == "ephemeral"
    thread = standin.wait_for(
        lambda: (
            (t := [c for c in standin.messages(CHANNEL) if "*refused* by" in str(c.body)])
            and len(t) >= 2
            and t
        )
    )
    assert f"<@{OUTSIDER}>" in str(thread[0].body)
    assert deletes_of(counting, "sdel/refuse") == 0
    audit = slash(bot, standin, "audit 5")
    assert "*refused* by" in str(audit) and "*requested* by" in str(audit)
    pending = slash(bot, standin, "pending")
    assert "`sdel/refuse:v1`" in str(pending)


def test_group_member_approves(start_bot, standin, counting, client):
    push_image(client, "sdel/group", ["v1"])
    bot = start_bot()
    _, message = request_deletion(bot, standin, "sdel/group:v1")
    approve(bot, standin, message, GROUPIE)
    standin.wait_for(lambda: deletes_of(counting, "sdel/group") == 1 or None)
    assert standin.wait_for(
        lambda: [
            c
            for c in standin.api_calls("usergroups.users.list")
            if c.body.get("usergroup") == "SOPSTEAM1"
        ]
    )


def test_bot_not_in_channel_tells_requester_and_leaves_nothing_half_created(
    start_bot, standin, client
):
    push_image(client, "sdel/notin", ["v1"])
    bot = start_bot()
    standin.channel_errors["CNOTIN01"] = "not_in_channel"
    preview = slash(bot, standin, "delete sdel/notin:v1", channel="CNOTIN01")
    value = buttons(preview)["deletion_submit"]["value"]
    k = click(bot, standin, "deletion_submit", value, REQUESTER, "CNOTIN01")
    reply = standin.wait_response(k).body
    assert "/invite @registry-bot" in reply["text"] and "APPROVAL_CHANNEL" in reply["text"]
    assert "not_in_channel" in reply["text"]
    assert "sdel/notin" not in str(slash(bot, standin, "pending"))  # nothing pending
    del standin.channel_errors["CNOTIN01"]
    k = click(bot, standin, "deletion_submit", value, REQUESTER, "CNOTIN01")
    assert "Requested" in standin.wait_response(k).body["text"]
    assert "`sdel/notin:v1`" in str(slash(bot, standin, "pending"))


def test_no_approvers_refused_at_preview(start_bot, standin, client):
    push_image(client, "sdel/noappr", ["v1"])
    bot = start_bot(APPROVERS="")
    reply = slash(bot, standin, "delete sdel/noappr:v1")
    assert "Set APPROVERS" in reply["text"] and not buttons(reply)


def test_approval_and_audit_channels(start_bot, standin, counting, client):
    push_image(client, "sdel/channels", ["v1"])
    bot = start_bot(APPROVAL_CHANNEL="CAPPROVE1", AUDIT_CHANNEL="CAUDIT001")
    _, message = request_deletion(bot, standin, "sdel/channels:v1")
    assert message.body["channel"] == "CAPPROVE1"
    parent = standin.wait_for(
        lambda: [c for c in standin.messages("CAUDIT001") if not c.body.get("thread_ts")]
    )[-1]
    assert "sdel/channels:v1" in str(parent.body["blocks"])
    click(
        bot,
        standin,
        "deletion_reject",
        buttons(message.body)["deletion_reject"]["value"],
        APPROVER2,
        message=message,
    )
    events = standin.wait_for(
        lambda: (
            (t := [c for c in standin.messages("CAUDIT001") if c.body.get("thread_ts")])
            and len(t) >= 2
            and t
        )
    )
    assert "*rejected* by" in str(events[-1].body) and f"<@{APPROVER2}>" in str(events[-1].body)
    assert deletes_of(counting, "sdel/channels") == 0


def test_pending_request_survives_a_restart(start_bot, standin, counting, client, tmp_path):
    push_image(client, "sdel/restart", ["v1"])
    bot = start_bot()
    _, message = request_deletion(bot, standin, "sdel/restart:v1")
    bot.stop()
    again = start_bot()
    approve(again, standin, message, APPROVER)
    standin.wait_for(lambda: deletes_of(counting, "sdel/restart") == 1 or None)


def test_expired_request_message_is_updated(start_bot, standin, client):
    push_image(client, "sdel/expire", ["v1"])
    bot = start_bot(APPROVAL_TTL="2s")
    _, message = request_deletion(bot, standin, "sdel/expire:v1")
    thread = standin.wait_for(
        lambda: [
            c
            for c in standin.messages(CHANNEL)
            if "sdel/expire" in str(c.body) and c.body.get("thread_ts")
        ]
    )
    request_ts = thread[0].body["thread_ts"]
    update = standin.wait_for(lambda: updates_of(standin, request_ts), timeout=15)[-1]
    assert "*Expired*" in str(update.body["blocks"])
    time.sleep(0.2)
    k = approve(bot, standin, message, APPROVER)
    assert "already expired" in standin.wait_response(k).body["text"]


def test_unreachable_database_stops_the_bot_with_exit_2(standin, registry):
    process = BotProcess(
        registry_url=registry.url,
        slack_api_url=standin.api_url,
        extra_env={"DATABASE_URL": "postgresql://bot:pw-secret-9@127.0.0.1:1/x"},
    )
    status, log = process.exit_log()
    assert status == 2
    assert "Cannot open the database at DATABASE_URL" in log and "127.0.0.1:1" in log
    assert "pw-secret-9" not in log and "Traceback" not in log


# -- safe deletion ------------------------------------------------------------------------


def test_two_choice_preview_and_tag_only_removal(start_bot, standin, counting, client):
    pushed = push_image(client, "ssafe/app", ["1.0", "stable"])
    bot = start_bot()
    preview = slash(bot, standin, "delete ssafe/app:1.0")
    choices = buttons(preview)
    assert choices["deletion_submit_untag"]["text"]["text"] == "Remove only tag 1.0"
    assert choices["deletion_submit"]["text"]["text"] == "Delete image (all 2 tags)"
    assert choices["deletion_submit_untag"]["value"] == choices["deletion_submit"]["value"]
    before = len(standin.messages())
    k = click(
        bot, standin, "deletion_submit_untag", choices["deletion_submit_untag"]["value"], REQUESTER
    )
    standin.wait_response(k)
    message = standin.wait_for(
        lambda: len(standin.messages()) > before and standin.messages()[before]
    )
    text = str(message.body["blocks"])
    assert "the removal of a tag" in text and "(this tag only)" in text
    assert "keep working" in text and "`stable`" in text
    approve(bot, standin, message, APPROVER)
    update = standin.wait_for(
        lambda: [
            u
            for u in standin.api_calls("chat.update")
            if "Removed the tag ssafe/app:1.0 only" in str(u.body)
        ]
    )
    assert "still point at" in str(update[-1].body)
    assert client.resolve("ssafe/app", "stable") == pushed.digest
    assert "1.0" not in client.tags("ssafe/app")


def test_untag_command_offers_one_choice(start_bot, standin, client):
    push_image(client, "ssafe/untag", ["1.0", "stable"])
    bot = start_bot()
    preview = slash(bot, standin, "untag ssafe/untag:1.0 mistake")
    assert set(buttons(preview)) == {"deletion_submit", "deletion_cancel"}
    assert buttons(preview)["deletion_submit"]["text"]["text"] == "Request tag removal"
    assert "Frees* nothing by itself" in str(preview)


def test_cleanup_button_after_deletion(start_bot, standin, counting, client):
    pushed = push_image(client, "ssafe/gc", ["old"], layer_sizes=(2000, 3000))
    bot = start_bot()
    preview = slash(bot, standin, "delete ssafe/gc:old")
    assert "Frees* at most" in str(preview)  # a shared registry: other repositories unread
    _, message = request_deletion(bot, standin, "ssafe/gc:old")
    approve(bot, standin, message, APPROVER)
    closed = standin.wait_for(
        lambda: [
            u
            for u in standin.api_calls("chat.update")
            if "deletion_cleanup" in str(u.body) and pushed.digest in str(u.body)
        ]
    )[-1]
    cleanup = buttons(closed.body)["deletion_cleanup"]
    assert cleanup["text"]["text"].startswith("Also delete the 3 layers no remaining tag uses")
    before = len(standin.messages())
    k = click(bot, standin, "deletion_cleanup", cleanup["value"], APPROVER2)
    assert "Requested" in standin.wait_response(k).body["text"]
    request = new_request_message(standin, before, "unused layers")
    approve(bot, standin, request, APPROVER)
    standin.wait_for(lambda: deletes_of(counting, "ssafe/gc") == 4 or None)
    for blob in pushed.blob_sizes:
        assert not client.blob_exists("ssafe/gc", blob)


def test_protected_tags_and_blobs_in_use_are_refused(start_bot, standin, client):
    pushed = push_image(client, "ssafe/prot", ["latest", "build-1"])
    bot = start_bot(PROTECTED_TAGS="^(latest|stable)$")
    reply = slash(bot, standin, "delete ssafe/prot:build-1")
    assert "protected tag latest" in reply["text"] and not buttons(reply)
    reply = slash(bot, standin, f"delete-blob ssafe/prot@{pushed.layers[0][0]}")
    assert "still used by the image tagged build-1, latest" in reply["text"]


def test_large_repository_preview_says_it_is_working(start_bot, standin, client, registry):
    from testkit.images import add_tags_on_disk

    pushed = push_image(client, "ssafe/big", ["keep"])
    add_tags_on_disk(registry.storage, "ssafe/big", pushed.digest, [f"t{i}" for i in range(600)])
    bot = start_bot()
    k = key()
    post_signed(
        bot.events_url,
        command_body("delete ssafe/big:keep", standin.response_url(k), user=REQUESTER),
    )
    note = standin.wait_response(k).body
    assert "Checking all 601 tags of ssafe/big" in note["text"]
    preview = standin.wait_response(k, count=2).body
    assert "also removes 600 other tags" in str(preview["blocks"])


def test_votes_update_the_request_message_until_quorum(start_bot, standin, counting, client):
    push_image(client, "sdel/quorum", ["v1"])
    bot = start_bot(APPROVALS_REQUIRED="2")
    _, message = request_deletion(bot, standin, "sdel/quorum:v1")
    assert "*Approvals* 0/2" in str(message.body["blocks"])
    ts = standin.wait_for(
        lambda: [
            c
            for c in standin.messages(CHANNEL)
            if "sdel/quorum" in str(c.body) and c.body.get("thread_ts")
        ]
    )[0].body["thread_ts"]
    approve(bot, standin, message, APPROVER)
    first = standin.wait_for(lambda: updates_of(standin, ts))[-1]
    assert f"*Approvals* 1/2 (<@{APPROVER}>)" in str(first.body["blocks"])
    assert "deletion_approve" in str(first.body["blocks"])  # still open
    k = approve(bot, standin, message, APPROVER)  # the same person again
    assert "already approved" in standin.wait_response(k).body["text"]
    assert deletes_of(counting, "sdel/quorum") == 0
    approve(bot, standin, message, APPROVER2)
    final = standin.wait_for(lambda: (u := updates_of(standin, ts)) and len(u) >= 2 and u)[-1]
    assert "*Deleted*" in str(final.body["blocks"])
    assert deletes_of(counting, "sdel/quorum") == 1


# -- faults through the real process -------------------------------------------------------


def test_a_vote_from_another_message_is_refused(start_bot, standin, counting, client):
    push_image(client, "sflt/copy", ["v1"])
    bot = start_bot()
    _, message = request_deletion(bot, standin, "sflt/copy:v1")
    value = buttons(message.body)["deletion_approve"]["value"]
    k = click(bot, standin, "deletion_approve", value, APPROVER)  # not on the request message
    reply = standin.wait_response(k).body
    assert "own message" in reply["text"]
    assert deletes_of(counting, "sflt/copy") == 0
    assert client.resolve("sflt/copy", "v1")


def test_a_bot_killed_during_the_delete_settles_the_request_after_restart(
    start_bot, standin, counting, client
):
    pushed = push_image(client, "sflt/kill", ["v1"])
    bot = start_bot(EXECUTION_LEASE="1s")
    _, message = request_deletion(bot, standin, "sflt/kill:v1")
    release = threading.Event()
    counting.intercept = lambda m, p: (
        (release.wait(30) and None) if m == "DELETE" and p.startswith("/v2/sflt/kill/") else None
    )
    try:
        approve(bot, standin, message, APPROVER)
        standin.wait_for(lambda: deletes_of(counting, "sflt/kill") == 1)
        bot.kill()  # SIGKILL while the DELETE is in flight
    finally:
        release.set()  # the registry now carries out the DELETE nobody waits for
        counting.intercept = None
    standin.wait_for(lambda: not manifest_exists(client, "sflt/kill", pushed.digest))
    start_bot(EXECUTION_LEASE="1s")  # same database
    update = standin.wait_for(lambda: updates_of(standin, message.ts), timeout=20)[-1]
    assert "*Deleted*" in str(update.body["blocks"])
    audit = standin.wait_for(
        lambda: [c for c in standin.messages(CHANNEL, message.ts) if "*executed*" in str(c.body)]
    )
    assert "after an interruption" in str(audit[-1].body)
    assert deletes_of(counting, "sflt/kill") == 1  # asked, not deleted again


def test_undo_button_and_restore_command_put_an_image_back(start_bot, standin, counting, client):
    pushed = push_image(client, "sundo/app", ["1.0", "latest"])
    bot = start_bot()
    request_id, message = request_deletion(bot, standin, "sundo/app:1.0")
    approve(bot, standin, message, APPROVER)
    closed = standin.wait_for(
        lambda: [
            u
            for u in standin.api_calls("chat.update")
            if "deletion_undo" in str(u.body) and pushed.digest in str(u.body)
        ]
    )[-1]
    assert not manifest_exists(client, "sundo/app", pushed.digest)
    assert f"request `{request_id}`" in str(closed.body["blocks"])
    undo = buttons(closed.body)["deletion_undo"]
    assert undo["value"] == request_id and "garbage collection" in str(undo["confirm"])
    before = len(standin.messages())
    k = click(bot, standin, "deletion_undo", undo["value"], REQUESTER)
    assert "Requested" in standin.wait_response(k).body["text"]
    restore = new_request_message(standin, before, "the restore of")
    assert "`sundo/app:1.0`" in str(restore.body) and "`sundo/app:latest`" in str(restore.body)
    approve(bot, standin, restore, APPROVER2)
    restored = standin.wait_for(
        lambda: [u for u in updates_of(standin, restore.ts) if "*Restored*" in str(u.body)]
    )[-1]
    assert "Restored 1 of 1 image" in str(restored.body)
    assert "deletion_undo" not in str(restored.body)  # a restore is not undone in turn
    assert client.get_manifest("sundo/app", "1.0").body == pushed.body
    assert client.resolve("sundo/app", "latest") == pushed.digest

    # The command does the same, and says when there is nothing (left) to restore.
    again = slash(bot, standin, f"restore {request_id}")
    assert "Restore what request" in str(again) and "deletion_submit" in str(again)
    usage = post_signed(bot.events_url, command_body("restore nope", standin.response_url(key())))
    assert "16 characters" in usage.text  # a usage error comes with the acknowledgement
    assert "no request" in str(slash(bot, standin, "restore 0123456789abcdef"))


def test_prune_dry_run_request_progress_report_and_undo(start_bot, standin, counting, client):
    old = [
        push_image(client, "sprune/ci", [f"pr-{i}"], created=f"2024-0{i + 1}-01T00:00:00Z")
        for i in range(4)
    ]
    push_image(client, "sprune/ci", ["pr-9", "release-1"], created="2026-11-01T00:00:00Z")
    epoch = push_image(client, "sprune/ci", ["pr-repro"], created="1970-01-01T00:00:00Z")
    bot = start_bot()
    preview = slash(bot, standin, f"prune sprune/* --keep 1 --match 'pr-.*' {EVIL}")
    text = str(preview["blocks"])
    assert "Dry run: clean up sprune/*" in text and "*Nothing has been deleted.*" in text
    assert "delete *4 tags* (4 images)" in text and "1 kept for lack of a usable date" in text
    assert "not matched by --match" in text  # release-1 shares the kept image anyway
    assert deletes_of(counting, "sprune/ci") == 0
    submit = buttons(preview)["deletion_submit"]
    assert submit["text"]["text"] == "Request cleanup"
    before = len(standin.messages())
    k = click(bot, standin, "deletion_submit", submit["value"], REQUESTER)
    standin.wait_response(k)
    message = new_request_message(standin, before, "a cleanup of")
    assert "delete 4 tags (4 images), keep 3 tags" in str(message.body)
    assert "<!channel>" not in str(message.body)
    # The DELETEs wait until the message shows how far the cleanup has got (drawn from
    # the snapshot its heartbeat keeps, at most once a second).
    drawn = threading.Event()
    counting.intercept = lambda m, p: (drawn.wait(30) and None) if m == "DELETE" else None
    try:
        approve(bot, standin, message, APPROVER)
        progress = standin.wait_for(
            lambda: [u for u in updates_of(standin, message.ts) if "cleaning up" in str(u.body)]
        )
        assert "of 4 images done" in str(progress[-1].body)
    finally:
        drawn.set()
        counting.intercept = None
    done = standin.wait_for(
        lambda: [u for u in updates_of(standin, message.ts) if "*Deleted*" in str(u.body)]
    )[-1]
    assert "deleted 4 of 4 images (4 tags)" in str(done.body)
    assert updates_of(standin, message.ts)[-1] is done  # nothing drawn over the outcome
    assert deletes_of(counting, "sprune/ci") == 4
    for o in old:
        assert not manifest_exists(client, "sprune/ci", o.digest)
    assert manifest_exists(client, "sprune/ci", epoch.digest)
    undo = buttons(done.body)["deletion_undo"]
    before = len(standin.messages())
    k = click(bot, standin, "deletion_undo", undo["value"], REQUESTER)
    standin.wait_response(k)
    restore = new_request_message(standin, before, "the restore of")
    approve(bot, standin, restore, APPROVER2)
    standin.wait_for(
        lambda: [u for u in updates_of(standin, restore.ts) if "*Restored*" in str(u.body)]
    )
    for i, o in enumerate(old):
        assert client.resolve("sprune/ci", f"pr-{i}") == o.digest


def test_prune_usage_errors_come_with_the_acknowledgement(start_bot, standin):
    bot = start_bot()
    for text, expected in [
        ("prune sprune/* --keep 1 --bogus", "Unknown option"),
        ("prune sprune/* --keep 1 --match (", "a ( is never closed"),
        ("prune sprune/* --keep 1 --match (a)\\1", "backreferences"),
        ("prune sprune/* --older-than 3y", "not a duration"),
        ("prune sprune/* --older-than 999999999d", "longer than 36500d"),
        ("prune sprune/* --keep 1 --older-than 3000000d", "longer than 36500d"),
        ("prune sprune/* --keep 1 --keep-pulled-within 999999999d", "longer than 36500d"),
        ("prune sprune/* --keep -2", "whole number"),
        ("prune sprune/*", "--keep N or --older-than"),
    ]:
        response = post_signed(bot.events_url, command_body(text, standin.response_url(key())))
        assert response.status_code == 200 and expected in response.text, (text, response.text)


def test_a_backtracking_match_expression_holds_up_nobody(start_bot, standin, client):
    # The red team's case: with Python's re this dry run froze the whole bot (44 s of
    # CPU and counting; no acknowledgement, no health check, no SIGTERM).
    branches = [
        "feature-" + "a1b2c3d4e5-" * 3 + "x" * 6,
        "bugfix-" + "0123456789-" * 3 + "abcdefg",
        "release-" + "r" * 39,
    ]
    for tag in branches:
        push_image(client, "sredos/app", [tag])
    bot = start_bot()
    dry_run = key()
    response = post_signed(
        bot.events_url,
        command_body(
            "prune sredos/app --keep 1 --match '([a-z0-9-]+)+#'", standin.response_url(dry_run)
        ),
        timeout=3.0,  # Slack gives up after 3 s
    )
    assert response.status_code == 200
    # Someone else's command, and the platform's health check, meanwhile.
    assert httpx.get(f"{bot.url}/healthz", timeout=3.0).status_code == 200
    helped = post_signed(bot.events_url, command_body("help", "", user=OUTSIDER), timeout=3.0)
    assert helped.status_code == 200 and "/registry tags" in helped.text
    reply = standin.wait_response(dry_run, timeout=10).body
    assert "Nothing to clean up" in str(reply) and "all 3 tags" in str(reply), reply


def _home_buttons(view: dict) -> dict[str, dict]:
    return {
        e["action_id"]: e
        for b in view.get("blocks", [])
        for e in (b.get("elements") or []) + ([b["accessory"]] if b.get("accessory") else [])
        if isinstance(e, dict) and "action_id" in e
    }


def test_an_approver_approves_from_the_home_tab(start_bot, standin, counting, client):
    """app_home_opened publishes each person's Home: the approver's shows the request
    with Approve, the requester's shows it and no Approve. Approve on the Home deletes
    exactly once, redraws the channel message, and the Home says what came of it."""
    from bot.slack.render.limits import view_problems
    from testkit.slack_requests import home_action_body, home_opened_body

    push_image(client, "shome/app", ["1.0"])
    bot = start_bot()
    request_id, _ = request_deletion(bot, standin, "shome/app:1.0", reason=EVIL)
    request_ts = standin.wait_for(
        lambda: [c for c in standin.messages(CHANNEL) if c.body.get("thread_ts")]
    )[-1].body["thread_ts"]
    for user in (APPROVER, REQUESTER):
        opened = post_signed(
            bot.events_url, home_opened_body(user), content_type="application/json"
        )
        assert opened.status_code == 200, opened.text

    def home_of(user: str, having: str) -> dict:
        return standin.wait_for(lambda: [v for v in standin.home_views(user) if having in str(v)])[
            -1
        ]

    approver_home = home_of(APPROVER, "shome/app:1.0")
    assert not view_problems(approver_home)
    assert _home_buttons(approver_home)["home_approve"]["value"] == request_id
    said = str(approver_home["blocks"])
    assert "<!channel>" not in said and "&lt;!channel&gt;" in said
    requester_home = home_of(REQUESTER, "shome/app:1.0")
    assert "home_approve" not in _home_buttons(requester_home)
    assert "waiting for approval" in str(requester_home["blocks"])

    clicked = post_signed(
        bot.events_url, home_action_body("home_approve", request_id, user=APPROVER)
    )
    assert clicked.status_code == 200
    update = standin.wait_for(lambda: updates_of(standin, request_ts))[-1]
    assert "*Deleted*" in str(update.body["blocks"])
    assert deletes_of(counting, "shome/app") == 1
    after = home_of(APPROVER, "Approved request")
    assert "home_approve" not in _home_buttons(after) and not view_problems(after)
    assert "*done*" in str(home_of(REQUESTER, "*done*")["blocks"])
    # A second click, from a stale Home: refused, said on the Home, nothing deleted.
    post_signed(bot.events_url, home_action_body("home_approve", request_id, user=APPROVER2))
    standin.wait_for(lambda: standin.home_views(APPROVER2))
    assert deletes_of(counting, "shome/app") == 1


def test_the_request_modal_opens_at_once_while_the_registry_is_slow(
    start_bot, standin, counting, client
):
    """Request deletion opens the modal from the stored draft, never waiting on the
    registry (here 5 s a request): within 1 s of the click. Its reason is required when
    none was typed; the one typed in the modal goes into the request and its audit."""
    from bot.slack.render.limits import view_problems
    from testkit.slack_requests import view_submission_body

    push_image(client, "smodal/app", ["1.0"])
    bot = start_bot()
    preview = slash(bot, standin, "delete smodal/app:1.0")  # no reason typed
    value = buttons(preview)["deletion_submit"]["value"]
    counting.delay = 5.0
    try:
        k, trigger = key(), f"{time.monotonic_ns()}.1.slow"
        started = time.monotonic()
        post_signed(
            bot.events_url,
            action_body(
                "deletion_submit",
                value,
                standin.response_url(k),
                user=REQUESTER,
                trigger_id=trigger,
            ),
        )
        (modal,) = standin.wait_for(lambda: standin.modals(trigger), timeout=5)
        opened_in = time.monotonic() - started
    finally:
        counting.delay = 0.0
    assert opened_in < 1.0, opened_in
    assert not view_problems(modal) and "smodal/app:1.0" in str(modal["blocks"])
    (reason_block,) = [b for b in modal["blocks"] if b.get("block_id") == "reason"]
    assert not reason_block.get("optional")  # no reason was typed: one is required
    # Submitted empty: an error on the field, in the acknowledgement itself.
    empty = post_signed(
        bot.events_url,
        view_submission_body(modal, user=REQUESTER, values={"reason": {"reason_input": "  "}}),
    )
    assert empty.json() == {
        "response_action": "errors",
        "errors": {
            "reason": "Say why this should go: the approvers read it, and the audit trail keeps it."
        },
    }
    assert "smodal/app" not in str(slash(bot, standin, "pending"))
    before = len(standin.messages())
    typed = f"replaced by 2.0 {EVIL}"
    done = post_signed(
        bot.events_url,
        view_submission_body(modal, user=REQUESTER, values={"reason": {"reason_input": typed}}),
    )
    assert done.status_code == 200 and not done.content.strip(b"{} ")
    assert "Requested" in standin.wait_response(k).body["text"]
    message = new_request_message(standin, before, "deletion_approve")
    said = str(message.body["blocks"])
    assert "replaced by 2.0" in said and "<!channel>" not in said


def test_the_deletion_form_picks_a_tag_of_the_repository_picked(
    start_bot, standin, counting, client
):
    """/registry delete alone opens the form; its tag picker lists the tags of the
    repository picked in the same view, answering at once while the registry is slow
    (they are read in the background); Next turns the modal into the request modal
    (the other tag on the digest named), whose submission posts the request."""
    from testkit.slack_flow import until
    from testkit.slack_requests import options_body, view_submission_body

    push_image(client, "sform/app", ["1.0", "keep"])
    push_image(client, "sform/app", ["2.0"])
    bot = start_bot()
    k = key()
    post_signed(bot.events_url, command_body("delete", standin.response_url(k), user=REQUESTER))
    (form,) = standin.wait_for(
        lambda: [m for m in standin.modals() if m.get("callback_id") == "deletion_form_modal"]
    )
    form = {**form, "id": "V0FORM1"}

    def ask(action_id: str, query: str, state: dict) -> list[str]:
        body = options_body(action_id, query, block_id="b", view={**form, "state": state})
        opts = post_signed(bot.events_url, body).json()["options"]
        assert len(opts) <= 100
        return [o["value"] if o["value"] != "__loading__" else o["text"]["text"] for o in opts]

    assert until(lambda: "sform/app" in ask("pick_image_repository", "sform", {})) is True
    picked = {
        "form_repository": {"pick_image_repository": {"selected_option": {"value": "sform/app"}}}
    }
    assert ask("pick_tag", "", {}) == ["Pick the repository first"]
    counting.delay = 5.0
    try:
        started = time.monotonic()
        first = ask("pick_tag", "", {"values": picked})
        answered_in = time.monotonic() - started
    finally:
        counting.delay = 0.0
    assert answered_in < 1.0 and first == ["The list of tags is still loading…"], first
    assert until(lambda: ask("pick_tag", "", {"values": picked}) == ["1.0", "2.0", "keep"])
    assert ask("pick_tag", "1", {"values": picked}) == ["1.0"]
    # Next: the modal shows the registry being read, then asks why.
    state = {**picked, "form_tag": {"pick_tag": {"selected_option": {"value": "1.0"}}}}
    answer = post_signed(
        bot.events_url, view_submission_body(form, user=REQUESTER, state=state)
    ).json()
    assert answer["response_action"] == "update" and "Reading the registry" in str(answer)
    (modal,) = standin.wait_for(
        lambda: [
            v
            for v in standin.updated_views("V0FORM1")
            if v.get("callback_id") == "deletion_request_modal"
        ]
    )
    assert "keep" in str(modal["blocks"])  # the other tag on the digest goes with it
    before = len(standin.messages())
    post_signed(
        bot.events_url,
        view_submission_body(
            {**modal, "id": "V0FORM1"}, user=REQUESTER, values={"reason": {"reason_input": "old"}}
        ),
    )
    assert "Requested" in standin.wait_response(k).body["text"]
    message = new_request_message(standin, before, "deletion_approve")
    assert "sform/app" in str(message.body["blocks"])


def test_inspect_images_answers_privately_with_each_image(start_bot, standin, client):
    """The message shortcut on a CI post: the images of this registry it names are shown
    (the registry's own host stripped), another registry's are named apart, and a
    message naming none says so."""
    from testkit.slack_requests import message_shortcut_body

    pushed = push_image(client, "sinspect/app", ["1.2"])
    bot = start_bot()
    host = bot.env["REGISTRY_URL"].split("://", 1)[1]  # the registry as the bot knows it
    post = {
        "text": f"CI pushed {host}/sinspect/app:1.2 (and docker.io/library/busybox:1.36)",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "ok <!channel>"}}],
    }
    k = key()
    response = post_signed(
        bot.events_url, message_shortcut_body("inspect_images", post, standin.response_url(k))
    )
    assert response.status_code == 200 and not response.content.strip()
    answer = standin.wait_response(k).body
    said = str(answer["blocks"])
    assert pushed.digest in said and "sinspect/app" in said
    assert "docker.io/library/busybox:1.36" in said and "not looked up" in said
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    k = key()
    post_signed(
        bot.events_url,
        message_shortcut_body("inspect_images", {"text": "all green"}, standin.response_url(k)),
    )
    assert "No image references found" in standin.wait_response(k).body["text"]


def test_the_cleanup_builder_checks_fields_previews_and_picks(
    standin, own_registry, make_client, tmp_path
):
    """/registry prune alone opens the builder; its repository picker answers from the
    names the bot keeps (10,000 repositories, filtered, at most 100 options); a bad
    regex is an error on its field; Preview draws prune's own dry run into the modal."""
    from testkit.images import add_repositories_on_disk

    client = make_client(own_registry.url)  # 10,000 repositories of its own
    for i in range(4):
        push_image(client, "sbuild/app", [f"pr-{i}"], created=f"2026-11-0{i + 1}T10:00:00Z")
    add_repositories_on_disk(own_registry.storage, [f"zbuild/r{i:05d}" for i in range(10_000)])
    bots = BotLauncher(
        standin.api_url, APPROVERS=APPROVERS, DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}"
    )
    try:
        _builder_flow(bots.start(own_registry.url), standin)
    finally:
        bots.stop_all()


def _builder_flow(bot, standin) -> None:
    """The builder's steps, through ``bot``."""
    from testkit.slack_flow import until
    from testkit.slack_requests import options_body, view_action_body, view_submission_body

    post_signed(bot.events_url, command_body("prune", standin.response_url(key()), user=REQUESTER))
    (builder,) = standin.wait_for(
        lambda: [m for m in standin.modals() if m.get("callback_id") == "cleanup_builder_modal"]
    )

    def options(query: str) -> list[dict]:
        answer = post_signed(bot.events_url, options_body("pick_repository", query)).json()
        return answer["options"]

    # The picker: names from memory (filtered, prefix first), at most 100, within limits.
    opts = until(lambda: (o := options("zbuild/r0001")) and "loading" not in str(o) and o)
    assert [o["value"] for o in opts] == [f"zbuild/r0001{i}" for i in range(10)]
    many = options("zbuild")
    assert len(many) == 100 and all(len(o["text"]["text"]) <= 75 for o in many)
    assert options("sbuild/*")[0]["value"] == "sbuild/*"  # a typed glob, offered first
    # A bad regex: the error on its field, in the acknowledgement.
    view = {**builder, "id": "V0BUILD1", "hash": "h0"}
    state = {
        "pattern": {"pick_repository": {"selected_option": {"value": "sbuild/app"}}},
        "keep": {"keep": {"type": "plain_text_input", "value": "1"}},
        "match": {"match": {"type": "plain_text_input", "value": "(pr-)\\1"}},
    }
    refused = post_signed(
        bot.events_url, view_submission_body(view, user=REQUESTER, state=state)
    ).json()
    assert refused["response_action"] == "errors" and list(refused["errors"]) == ["match"]
    # Preview: prune's own dry run, drawn into the modal.
    state["match"]["match"]["value"] = "pr-.*"
    post_signed(
        bot.events_url, view_action_body("builder_preview", view, user=REQUESTER, values=state)
    )
    drawn = standin.wait_for(
        lambda: [v for v in standin.updated_views("V0BUILD1") if "Dry run" in str(v)]
    )[-1]
    typed = slash(bot, standin, "prune sbuild/app --keep 1 --match pr-.*")
    sections = [b["text"]["text"] for b in typed["blocks"] if b["type"] == "section"]
    shown = [b["text"]["text"] for b in drawn["blocks"] if b["type"] == "section"]
    assert sections and all(s in shown for s in sections), (sections, shown)
