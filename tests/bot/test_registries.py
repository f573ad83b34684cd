"""Several registries served by one bot, through the real bot process, two real
registries (two ``docker-registry`` processes) and the Slack stand-in: a reference by
host and ``--registry`` reach the right one, ``/registry use`` sets a channel's default
(approvers only, audited, seen by a second replica), a deletion on one leaves the other
alone, and each registry's events arrive on their own path with their own token."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from bot.registry import RegistryClient, RegistrySettings
from testkit.bot_process import BotLauncher, BotProcess
from testkit.images import manifest_exists, push_image
from testkit.registry_server import RegistryServer, free_port
from testkit.slack_flow import button, click, until
from testkit.slack_requests import command_body, post_signed
from testkit.slack_standin import SlackStandIn

REQUESTER, APPROVER, OTHER = "UREQUEST1", "UAPPROVE1", "UNOBODY01"
CHANNEL, OPS = "C0CHAN01", "C0OPSCH01"
MAIN_TOKEN, STAGING_TOKEN = "main-events-token-0123456789", "staging-events-token-987654"


def write_config(path, main: str, staging: str, *, events: bool = False) -> str:
    text = f'[registries.main]\nurl = "{main}"\n'
    if events:
        text += 'events_token_env = "MAIN_EVENTS_TOKEN"\n'
    text += f'[registries.staging]\nurl = "{staging}"\n'
    if events:
        text += 'events_token_env = "STAGING_EVENTS_TOKEN"\n'
    path.write_text(text)
    return str(path)


def host(url: str) -> str:
    return url.split("://", 1)[1]


def ask(bot, standin, text: str, user: str = REQUESTER, channel: str = CHANNEL) -> dict:
    """``/registry text`` from ``user`` in ``channel``: the reply's body."""
    key = uuid.uuid4().hex
    body = command_body(text, standin.response_url(key), user=user, channel=channel)
    response = post_signed(bot.events_url, body, timeout=3)
    assert response.status_code == 200, response.text
    return standin.wait_response(key).body


def requested(bot, standin, preview: dict):
    """Request deletion clicked on ``preview``: the request message posted."""
    before = len(standin.messages())
    click(bot, standin, "deletion_submit", button(preview, "deletion_submit")["value"], REQUESTER)
    return until(
        lambda: [
            m
            for m in standin.messages()[before:]
            if "deletion_approve" in str(m.body) and not m.body.get("thread_ts")
        ]
    )[0]


@pytest.fixture(scope="module")
def standin():
    s = SlackStandIn().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def staging():
    server = RegistryServer(delete_enabled=True).start()
    yield server
    server.stop()


@pytest.fixture
def two(registry, staging, client):
    """``app`` on both registries: main's tagged 1.0, staging's 2.0."""
    staging_client = RegistryClient(RegistrySettings(url=staging.url))
    repository = f"multi{uuid.uuid4().hex[:6]}/app"
    main_image = push_image(client, repository, ["1.0"])
    staging_image = push_image(staging_client, repository, ["2.0"])
    yield repository, main_image, staging_image, staging_client
    staging_client.close()


def test_a_reference_by_host_and_registry_flag_reach_the_right_registry(
    standin, registry, staging, two, tmp_path
):
    repository, _, _, _ = two
    config = write_config(tmp_path / "bot.toml", registry.url, staging.url)
    bots = BotLauncher(standin.api_url, APPROVERS=APPROVER)
    try:
        bot = bots.start(registry.url, REGISTRY_BOT_CONFIG=config, STORAGE_SNAPSHOTS="false")
        main = str(ask(bot, standin, f"tags {repository}")["blocks"])
        assert "1.0" in main and "2.0" not in main and "(main)" in main
        flagged = str(ask(bot, standin, f"tags {repository} --registry staging")["blocks"])
        assert "2.0" in flagged and "1.0" not in flagged and "(staging)" in flagged
        by_host = str(ask(bot, standin, f"tags {host(staging.url)}/{repository}")["blocks"])
        assert "2.0" in by_host and "1.0" not in by_host
        shown = str(ask(bot, standin, f"show {host(staging.url)}/{repository}:2.0")["blocks"])
        assert "(staging)" in shown
        body = command_body(f"tags {repository} --registry nope", standin.response_url("x"))
        unknown = str(post_signed(bot.events_url, body).json())  # refused in the ack
        assert "No registry is named" in unknown and "staging (" in unknown
    finally:
        bots.stop_all()


def test_use_sets_the_channels_default_for_approvers_audited_and_seen_by_a_replica(
    standin, registry, staging, two, tmp_path, database_url
):
    """Two bot processes on one database: ``use staging`` from a non-approver is
    refused; from an approver it is stored and audited, and the other process's
    commands in that channel then go to staging (other channels keep main)."""
    repository, _, _, _ = two
    config = write_config(tmp_path / "bot.toml", registry.url, staging.url)
    bots = BotLauncher(standin.api_url, APPROVERS=APPROVER, DATABASE_URL=database_url)
    try:
        one, two_ = bots.start_together(
            registry.url, 2, REGISTRY_BOT_CONFIG=config, STORAGE_SNAPSHOTS="false"
        )
        said = str(ask(one, standin, "use", channel=OPS)["blocks"])
        assert "*main*" in said and "no default was set" in said and "*staging*" in said
        refused = str(ask(one, standin, "use staging", user=OTHER, channel=OPS))
        assert "Only approvers" in refused
        assert "*main*" in str(ask(one, standin, "use", channel=OPS)["blocks"])
        done = str(ask(one, standin, "use staging", user=APPROVER, channel=OPS)["blocks"])
        assert "now go to *staging*" in done
        assert "its default" in str(ask(two_, standin, "use", channel=OPS)["blocks"])
        there = str(ask(two_, standin, f"tags {repository}", channel=OPS)["blocks"])
        assert "2.0" in there and "1.0" not in there
        elsewhere = str(ask(two_, standin, f"tags {repository}", channel=CHANNEL)["blocks"])
        assert "1.0" in elsewhere and "2.0" not in elsewhere
        audit = str(ask(two_, standin, "audit 5 --registry main")["blocks"])
        assert "registry chosen" in audit and OPS in audit and APPROVER in audit
    finally:
        bots.stop_all()


def test_a_deletion_on_one_registry_leaves_the_other_alone(
    standin, registry, staging, two, client, tmp_path
):
    """``delete REPO:2.0 --registry staging``: the preview and the request message
    name staging; approved, staging's image goes and main's stays."""
    repository, main_image, staging_image, staging_client = two
    # The same tag on main too: a deletion on staging must not reach it.
    push_image(client, repository, ["2.0"])
    config = write_config(tmp_path / "bot.toml", registry.url, staging.url)
    bots = BotLauncher(standin.api_url, APPROVERS=APPROVER)
    try:
        bot = bots.start(registry.url, REGISTRY_BOT_CONFIG=config, STORAGE_SNAPSHOTS="false")
        preview = ask(bot, standin, f"delete {repository}:2.0 --registry staging old")
        assert "Registry *staging*" in str(preview["blocks"])
        message = requested(bot, standin, preview)
        assert "Registry *staging*" in str(message.body["blocks"])
        value = button(message.body, "deletion_approve")["value"]
        click(bot, standin, "deletion_approve", value, APPROVER, message=message)
        until(
            lambda: [
                u
                for u in standin.api_calls("chat.update")
                if u.body.get("ts") == message.ts and "*Deleted*" in str(u.body)
            ]
        )
        assert not manifest_exists(staging_client, repository, staging_image.digest)
        assert manifest_exists(client, repository, main_image.digest)
        tags = str(ask(bot, standin, f"tags {repository}")["blocks"])
        assert "1.0" in tags and "2.0" in tags  # main's own 2.0 untouched
        pending = str(ask(bot, standin, "pending --registry main")["blocks"])
        assert "No deletion requests" in pending
    finally:
        bots.stop_all()


def test_each_registrys_events_arrive_on_its_own_path_with_its_own_token(standin, tmp_path):
    """Each registry posts to /registry/events/NAME with the token the file names for
    it: one's token is refused on the other's path, and ``activity`` on each registry
    lists only its own pushes, the channel's message naming the registry."""
    ports = free_port(), free_port()
    main_url, staging_url = (f"http://127.0.0.1:{p}" for p in ports)
    bot = BotProcess(
        registry_url=main_url,
        slack_api_url=standin.api_url,
        extra_env={
            "REGISTRY_BOT_CONFIG": write_config(
                tmp_path / "bot.toml", main_url, staging_url, events=True
            ),
            "MAIN_EVENTS_TOKEN": MAIN_TOKEN,
            "STAGING_EVENTS_TOKEN": STAGING_TOKEN,
            "EVENTS_CHANNEL": "C0EVENTS1",
            "APPROVERS": APPROVER,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'events.db'}",
        },
    )
    main = RegistryServer(port=ports[0], notify=(f"{bot.url}/registry/events/main", MAIN_TOKEN))
    stage = RegistryServer(
        port=ports[1], notify=(f"{bot.url}/registry/events/staging", STAGING_TOKEN)
    )
    main.start()
    stage.start()
    bot.start()
    clients = [RegistryClient(RegistrySettings(url=u)) for u in (main_url, staging_url)]
    try:
        with httpx.Client(timeout=5) as http:
            crossed = http.post(
                f"{bot.url}/registry/events/staging",
                headers={"Authorization": f"Bearer {MAIN_TOKEN}"},
                content=b'{"events": []}',
            )
            assert crossed.status_code == 401
        push_image(clients[0], "evmain/app", ["1.0"])
        push_image(clients[1], "evstage/app", ["1.0"])
        pushed = standin.wait_for(
            lambda: [
                m
                for m in standin.messages("C0EVENTS1")
                if "evstage/app" in str(m.body) and "staging" in str(m.body)
            ]
        )
        assert "evmain" not in str(pushed[0].body)

        def activity(registry: str) -> str:
            return str(ask(bot, standin, f"activity --registry {registry}")["blocks"])

        staged = until(lambda: (lambda a: a if "evstage/app" in a else None)(activity("staging")))
        assert "evmain/app" not in staged
        mained = until(lambda: (lambda a: a if "evmain/app" in a else None)(activity("main")))
        assert "evstage/app" not in mained
    finally:
        for c in clients:
            c.close()
        bot.stop()
        main.stop()
        stage.stop()


def test_two_replicas_vote_at_once_on_the_second_registry_and_delete_once(
    standin, registry, staging, two, tmp_path, database_url
):
    """Two bot processes on one database (SQLite and PostgreSQL); a deletion on the
    second registry needs two approvals, which arrive at the same moment, one on each
    process: the second registry gets one DELETE, and the message one outcome."""
    from concurrent.futures import ThreadPoolExecutor

    from testkit.proxy import RegistryProxy

    repository, _, staging_image, staging_client = two
    with RegistryProxy(staging.url) as proxy:
        config = write_config(tmp_path / "bot.toml", registry.url, proxy.url)
        bots = BotLauncher(
            standin.api_url,
            APPROVERS=f"{APPROVER},{OTHER}",
            APPROVALS_REQUIRED="2",
            DATABASE_URL=database_url,
        )
        try:
            one, two_ = bots.start_together(
                registry.url, 2, REGISTRY_BOT_CONFIG=config, STORAGE_SNAPSHOTS="false"
            )
            preview = ask(one, standin, f"delete {repository}:2.0 --registry staging race")
            message = requested(one, standin, preview)
            approve = button(message.body, "deletion_approve")["value"]
            with ThreadPoolExecutor(2) as pool:
                list(
                    pool.map(
                        lambda pair: click(
                            pair[0], standin, "deletion_approve", approve, pair[1], message=message
                        ),
                        [(one, APPROVER), (two_, OTHER)],
                    )
                )
            until(
                lambda: [
                    u
                    for u in standin.api_calls("chat.update")
                    if u.body.get("ts") == message.ts and "*Deleted*" in str(u.body)
                ]
            )
            time.sleep(2)  # a second execution would have sent its DELETE by now
            deletes = [
                p for m, p in proxy.log if m == "DELETE" and p.startswith(f"/v2/{repository}/")
            ]
            assert len(deletes) == 1, deletes
            assert not manifest_exists(staging_client, repository, staging_image.digest)
        finally:
            bots.stop_all()


def test_the_second_registrys_requests_expire_on_their_own(
    standin, registry, staging, two, tmp_path
):
    """Each registry has its sweeper: a request on the second registry expires after
    APPROVAL_TTL, its message redrawn, and nothing is deleted."""
    repository, _, staging_image, staging_client = two
    config = write_config(tmp_path / "bot.toml", registry.url, staging.url)
    bots = BotLauncher(standin.api_url, APPROVERS=APPROVER, APPROVAL_TTL="2s")
    try:
        bot = bots.start(registry.url, REGISTRY_BOT_CONFIG=config, STORAGE_SNAPSHOTS="false")
        preview = ask(bot, standin, f"delete {repository}:2.0 --registry staging stale")
        message = requested(bot, standin, preview)
        until(
            lambda: [
                u
                for u in standin.api_calls("chat.update")
                if u.body.get("ts") == message.ts and "*Expired*" in str(u.body)
            ],
            timeout=15,
        )
        assert manifest_exists(staging_client, repository, staging_image.digest)
    finally:
        bots.stop_all()


def test_a_second_registrys_database_that_cannot_open_stops_the_bot_with_exit_2(
    standin, registry, staging, tmp_path
):
    """Each registry's tables are checked at start, not at the first request: the
    second's SQLite file is a folder here, so the bot says which database and exits 2."""
    (tmp_path / "bot.staging.db").mkdir()
    process = BotProcess(
        registry_url=registry.url,
        slack_api_url=standin.api_url,
        extra_env={
            "REGISTRY_BOT_CONFIG": write_config(tmp_path / "bot.toml", registry.url, staging.url),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        },
    )
    status, log = process.exit_log()
    assert status == 2, log
    assert "bot.staging.db" in log and "Traceback" not in log
