"""Owners per repository pattern, through the real bot process, a real registry and the
Slack stand-in, set up with a configuration file (REGISTRY_BOT_CONFIG): an owner's
approvers decide its repositories' deletions (the global approvers and another team's
are refused, privately and audited), its requests go to its channel, a second group's
approval is asked for where a rule says so, a rule made stricter after a request raises
what the request needs, and the registry's alerts about an owner's protected tags go to
the owner's events channel."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.registry import RegistryClient, RegistrySettings
from testkit.bot_process import BotLauncher, BotProcess
from testkit.images import manifest_exists, push_image
from testkit.registry_server import RegistryServer, free_port
from testkit.slack_flow import button, click, command, until
from testkit.slack_standin import SlackStandIn

REQUESTER = "UREQUEST1"
GLOBAL = "UGLOBAL01"
TEAM_A, TEAM_B, TEAM_B2, PLATFORM = "UTEAMA001", "UTEAMB001", "UTEAMB002", "UPLATF001"
CHANNEL, TEAM_A_CHANNEL, EVENTS, TEAM_A_EVENTS = "C0CHAN01", "C0TEAMA01", "C0EVENT01", "C0TEAMAEV"
TOKEN = "main-events-token-0123456789"

RULES = f"""
[[owners]]
repositories = ["owa/**"]
approvers = ["{TEAM_A}"]
approval_channel = "{TEAM_A_CHANNEL}"
events_channel = "{TEAM_A_EVENTS}"
protected_tags = "^live$"

[[owners]]
repositories = ["owb/*"]
approvers = ["{TEAM_B}", "{TEAM_B2}"]
approvals_required = {{b_quorum}}

[[owners]]
repositories = ["owsec/*"]
approvers = ["{TEAM_A}"]
also_required = {{{{ approvers = ["SPLATFORM"], approvals = 1 }}}}
"""


def write_config(path, url: str, b_quorum: int = 1, events: bool = False) -> str:
    registry = f'[registries.main]\nurl = "{url}"\n'
    if events:
        registry += 'events_token_env = "MAIN_EVENTS_TOKEN"\n'
    path.write_text(registry + RULES.format(b_quorum=b_quorum))
    return str(path)


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    s.usergroups["SPLATFORM"] = [PLATFORM]
    yield s
    s.stop()


@pytest.fixture
def launcher(standin, tmp_path):
    bots = BotLauncher(
        standin.api_url,
        APPROVERS=GLOBAL,
        DATABASE_URL=f"sqlite:///{tmp_path / 'owners.db'}",
    )
    yield bots
    bots.stop_all()


def start(launcher, registry, tmp_path, b_quorum: int = 1) -> BotProcess:
    """A bot serving ``registry`` with the owner rules above."""
    config = write_config(tmp_path / "bot.toml", registry.url, b_quorum)
    return launcher.start(registry.url, REGISTRY_BOT_CONFIG=config)


def requested(bot, standin, text: str):
    """``/registry text`` previewed and requested: the request message posted."""
    preview = standin.wait_response(command(bot, standin, text)).body
    before = len(standin.messages())
    standin.wait_response(
        click(
            bot, standin, "deletion_submit", button(preview, "deletion_submit")["value"], REQUESTER
        )
    )
    return until(
        lambda: [
            m
            for m in standin.messages()[before:]
            if "deletion_approve" in str(m.body) and not m.body.get("thread_ts")
        ]
    )[0]


def vote(bot, standin, message, user: str) -> str:
    """Approve ``message`` as ``user``; the key of what they alone are told."""
    value = button(message.body, "deletion_approve")["value"]
    return click(bot, standin, "deletion_approve", value, user, message=message)


def redrawn(standin, message, says: str) -> dict:
    return until(
        lambda: [
            u.body
            for u in standin.api_calls("chat.update")
            if u.body.get("ts") == message.ts and says in str(u.body)
        ]
    )[-1]


def test_a_teams_approver_decides_its_repositories_and_others_are_refused(
    launcher, standin, registry, client, tmp_path
):
    pushed = push_image(client, "owa/app", ["1.0"])
    bot = start(launcher, registry, tmp_path)
    message = requested(bot, standin, "delete owa/app:1.0 old")
    assert message.body["channel"] == TEAM_A_CHANNEL  # the owner's approval channel
    said = str(message.body["blocks"])
    assert TEAM_A in said and GLOBAL not in said and "owa/**" in said
    # The global approver and another team's are refused, privately, and audited.
    for outsider in (GLOBAL, TEAM_B):
        key = click(
            bot,
            standin,
            "deletion_approve",
            button(message.body, "deletion_approve")["value"],
            outsider,
            message=message,
        )
        assert "Only approvers" in str(standin.wait_response(key).body)
    assert manifest_exists(client, "owa/app", pushed.digest)
    audit = str(standin.wait_response(command(bot, standin, "audit 10")).body)
    assert audit.count("not an approver") == 2, audit
    vote(bot, standin, message, TEAM_A)
    redrawn(standin, message, "*Deleted*")
    assert not manifest_exists(client, "owa/app", pushed.digest)
    # owners and whoami say the same.
    owned = str(standin.wait_response(command(bot, standin, "owners owa/app/sub")).body)
    assert "owa/**" in owned and TEAM_A in owned
    mine = str(standin.wait_response(command(bot, standin, "whoami", user=TEAM_B)).body)
    assert "owb/*" in mine and "owa/**" not in mine


def test_a_second_group_must_approve_too_where_the_rule_says_so(
    launcher, standin, registry, client, tmp_path
):
    pushed = push_image(client, "owsec/app", ["1.0"])
    bot = start(launcher, registry, tmp_path)
    message = requested(bot, standin, "delete owsec/app:1.0 rotate")
    said = str(message.body["blocks"])
    assert "1 of" in said and "SPLATFORM" in said and "still needed" in said
    vote(bot, standin, message, TEAM_A)
    half = redrawn(standin, message, TEAM_A)  # the first group's approval shows
    text = str(half["blocks"])
    assert "1/1 of" in text and "0/1 of" in text and "still needed" in text
    assert manifest_exists(client, "owsec/app", pushed.digest)  # still pending
    vote(bot, standin, message, PLATFORM)  # a member of the user group
    redrawn(standin, message, "*Deleted*")
    assert not manifest_exists(client, "owsec/app", pushed.digest)


def test_a_rule_made_stricter_after_the_request_raises_what_it_needs(
    launcher, standin, registry, client, tmp_path
):
    pushed = push_image(client, "owb/app", ["1.0"])
    bot = start(launcher, registry, tmp_path)
    message = requested(bot, standin, "delete owb/app:1.0 old")
    assert "1/1" not in str(message.body) and "0/1" in str(message.body)
    bot.stop()
    bot = start(launcher, registry, tmp_path, b_quorum=2)  # the same database
    vote(bot, standin, message, TEAM_B)
    raised = redrawn(standin, message, "asks more now")
    assert "1/2" in str(raised["blocks"])
    assert manifest_exists(client, "owb/app", pushed.digest)  # one of two: not yet
    vote(bot, standin, message, TEAM_B2)
    redrawn(standin, message, "*Deleted*")
    assert not manifest_exists(client, "owb/app", pushed.digest)


def test_a_cleanup_across_owners_becomes_a_request_per_owner_in_its_channel(
    launcher, standin, registry, client, tmp_path
):
    """prune over repositories of two owners: the dry run says it becomes two requests
    and who approves each; Request cleanup posts one in team A's channel and one where
    the other owner's go; each is approved by its own owner and deletes its own."""
    old = {}
    for repository in ("owa/mix", "owb/mix"):
        for i in (1, 2):
            created = f"2026-01-0{i}T00:00:00Z"
            old.setdefault(repository, push_image(client, repository, [str(i)], created=created))
    bot = start(launcher, registry, tmp_path)
    dry = standin.wait_response(command(bot, standin, "prune ow*/mix --keep 1 tidy")).body
    said = str(dry["blocks"])
    assert "spans 2 owners" in said and "owa/**" in said and "owb/*" in said
    before = len(standin.messages())
    key = click(bot, standin, "deletion_submit", button(dry, "deletion_submit")["value"], REQUESTER)
    assert "2 requests, one per owner" in str(standin.wait_response(key).body)
    posted = until(
        lambda: (
            (
                found := [
                    m
                    for m in standin.messages()[before:]
                    if "deletion_approve" in str(m.body) and not m.body.get("thread_ts")
                ]
            )
            and len(found) == 2
            and found
        )
    )
    by_channel = {m.body["channel"]: m for m in posted}
    team_a = by_channel[TEAM_A_CHANNEL]
    (team_b,) = [m for c, m in by_channel.items() if c != TEAM_A_CHANNEL]
    assert "owa/mix" in str(team_a.body) and "owb/mix" not in str(team_a.body)
    key = vote(bot, standin, team_a, TEAM_B)  # not team A's approver
    assert "Only approvers" in str(standin.wait_response(key).body)
    vote(bot, standin, team_a, TEAM_A)
    redrawn(standin, team_a, "*Deleted*")
    assert not manifest_exists(client, "owa/mix", old["owa/mix"].digest)
    assert manifest_exists(client, "owb/mix", old["owb/mix"].digest)  # its owner's call
    vote(bot, standin, team_b, TEAM_B)
    redrawn(standin, team_b, "*Deleted*")
    assert not manifest_exists(client, "owb/mix", old["owb/mix"].digest)


def test_alerts_about_an_owners_protected_tag_go_to_its_events_channel(standin, tmp_path):
    """The registry posts its events to /registry/events/main with the token the file
    names; a protected tag of team A moved outside the bot is alerted in team A's
    events channel, not the global one."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    bot = BotProcess(
        registry_url=url,
        slack_api_url=standin.api_url,
        extra_env={
            "REGISTRY_BOT_CONFIG": write_config(tmp_path / "bot.toml", url, events=True),
            "MAIN_EVENTS_TOKEN": TOKEN,
            "EVENTS_CHANNEL": EVENTS,
            "APPROVERS": GLOBAL,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'events.db'}",
        },
    )
    registry = RegistryServer(port=port, notify=(f"{bot.url}/registry/events/main", TOKEN))
    registry.start()
    bot.start()
    try:
        with httpx.Client(timeout=5) as http:  # the old path takes the same token
            wrong = http.post(f"{bot.url}/registry/events/main", headers={"Authorization": "x"})
            assert wrong.status_code == 401
        client = RegistryClient(RegistrySettings(url=url))
        first, second = push_image(client, "owa/web", []), push_image(client, "owa/web", [])
        outsider = httpx.Client(base_url=url, headers={"User-Agent": "skopeo/1.13.3"})
        for image in (first, second):
            response = outsider.put(
                "/v2/owa/web/manifests/live",
                content=image.body,
                headers={"Content-Type": image.media_type},
            )
            assert response.status_code == 201
        alert = standin.wait_for(
            lambda: [
                m for m in standin.messages(TEAM_A_EVENTS) if "Protected tag changed" in str(m.body)
            ]
        )[0]
        assert second.digest in str(alert.body)
        time.sleep(0.5)
        assert not [m for m in standin.messages(EVENTS) if "Protected tag changed" in str(m.body)]
        outsider.close()
        client.close()
    finally:
        bot.stop()
        registry.stop()


def test_two_groups_votes_on_two_replicas_at_once_delete_exactly_once(
    standin, registry, client, database_url, tmp_path
):
    """Two bot processes on one database (SQLite and PostgreSQL); the last two votes a
    two-group rule needs arrive at the same moment, one on each: the image is deleted
    once, and the request message ends with one outcome."""
    from concurrent.futures import ThreadPoolExecutor

    from testkit.proxy import RegistryProxy

    repository = "owsec/race"
    push_image(client, repository, ["1.0"])
    with RegistryProxy(registry.url) as proxy:
        config = write_config(tmp_path / "bot.toml", proxy.url)
        bots = BotLauncher(standin.api_url, APPROVERS=GLOBAL, DATABASE_URL=database_url)
        try:
            one, two = bots.start_together(proxy.url, 2, REGISTRY_BOT_CONFIG=config)
            message = requested(one, standin, f"delete {repository}:1.0 race")
            with ThreadPoolExecutor(2) as pool:
                list(
                    pool.map(
                        lambda pair: vote(pair[0], standin, message, pair[1]),
                        [(one, TEAM_A), (two, PLATFORM)],
                    )
                )
            redrawn(standin, message, "*Deleted*")
            time.sleep(2)  # a second execution would have sent its DELETE by now
            deletes = [
                p for m, p in proxy.log if m == "DELETE" and p.startswith(f"/v2/{repository}/")
            ]
            assert len(deletes) == 1, deletes
        finally:
            bots.stop_all()


def test_a_reference_by_host_reaches_its_registry_and_an_unknown_host_none(
    standin, registry, client, tmp_path
):
    """With a file naming two registries, a reference by the first's host lists its
    tags; an unknown host and an unknown --registry are refused in the
    acknowledgement, naming the registries, with no request sent."""
    from testkit.proxy import RegistryProxy
    from testkit.slack_requests import command_body, post_signed

    push_image(client, "byhost/app", ["1.0"])
    with RegistryProxy(registry.url) as proxy:
        host = proxy.url.split("://", 1)[1]
        path = tmp_path / "bot.toml"
        path.write_text(
            f'[registries.main]\nurl = "{proxy.url}"\n'
            '[registries.staging]\nurl = "http://staging.invalid:5000"\n'
        )
        bots = BotLauncher(standin.api_url, APPROVERS=GLOBAL)
        try:
            bot = bots.start(proxy.url, REGISTRY_BOT_CONFIG=str(path), STORAGE_SNAPSHOTS="false")
            listed = standin.wait_response(command(bot, standin, f"tags {host}/byhost/app")).body
            assert "1.0" in str(listed["blocks"])
            before = len(proxy.log)
            for text, says in (
                ("tags other.example.com/byhost/app", "is not a registry this bot knows"),
                ("tags byhost/app --registry nope", "No registry is named"),
            ):
                answer = post_signed(
                    bot.events_url, command_body(text, standin.response_url("x"), user=REQUESTER)
                ).json()
                assert says in str(answer), (text, answer)
                assert "main (" in str(answer)
            time.sleep(0.5)
            assert len(proxy.log) == before  # nothing was asked of any registry
        finally:
            bots.stop_all()
