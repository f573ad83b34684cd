"""One bot serving several registries, unit tier: two in-memory registries, each on its
own tables (a SQLite file, or a PostgreSQL schema, of its own). Commands go to the
registry they name or the channel's default (``use``: approvers only, audited in the
same transaction); jobs that carry a request's ID go to that request's registry; the
Home shows every registry's requests and policies, each naming its registry; buttons
and modals carry their registry back; a registry's tables never hold another's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.database import make_engine, registry_database_url
from bot.deletions import RetentionRules
from bot.policies.schedule import every
from bot.slack import command_replies, home, home_clicks
from bot.slack.buttons import (
    ACTION_EDIT_POLICY,
    ACTION_HOME_APPROVE,
    ACTION_HOME_RUN_POLICY,
    PageKind,
    PageRef,
    PutBack,
    ShareRef,
    StorageShare,
    policy_of,
    policy_value,
)
from bot.slack.channel_registries import ChannelRegistry
from bot.slack.jobs import FormOpen, HomeClick, Job, JobKind, Page, Vote
from bot.slack.listeners.actions import registry_of_view
from bot.slack.render.common import Message, naming_registry, section
from bot.slack.render.deletion_form import FormPlace
from bot.slack.render.limits import MAX_BLOCKS
from bot.slack.workers import routed
from testkit.databases import postgres_schema
from testkit.deletions import APPROVER, REQUESTER
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import close, requested_on, several_registries

CHANNEL, OPS = "C0CHAN01", "C0OPSCH01"
URL = "https://hooks.example/response/1"
DIGEST = "sha256:" + "a" * 64


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    yield from postgres_schema()


@pytest.fixture
def fakes() -> dict[str, FakeRegistry]:
    return {"main": FakeRegistry(), "staging": FakeRegistry()}


@pytest.fixture
def ctx(database, fakes) -> Iterator:
    clients = {
        "main": fakes["main"].client("http://main.registry:5000"),
        "staging": fakes["staging"].client("http://staging.registry:5000"),
    }
    made = several_registries(database, clients, required=1)
    yield made
    close(made)


def _ask(ctx, text: str, user: str = REQUESTER, channel: str = CHANNEL) -> Message:
    before = len(ctx.responder.sent)
    fields = {"text": text, "user_id": user, "channel_id": channel, "response_url": URL}
    command_replies.reply(ctx, fields)
    return ctx.responder.sent[before].message


def _said(message: Message) -> str:
    return json.dumps([b.to_dict() for b in message.blocks])


def _requested(ctx, fake, ref: str) -> str:
    """A deletion of ``ref`` on ``ctx``'s registry, previewed and requested."""
    return requested_on(ctx, fake, ref, "old", channel=CHANNEL, url=URL)


def test_each_registrys_tables_are_its_own(database):
    """The second registry's tables are in a schema, or a file, of its own: created on
    first use, and holding nothing of the first's."""
    url = registry_database_url(database, "eu-west")
    assert url != database
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        first = make_engine(database)
        with first.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT name FROM sqlite_master WHERE name = 'probe'"
                    if first.dialect.name == "sqlite"
                    else "SELECT tablename FROM pg_tables WHERE tablename = 'probe' "
                    "AND schemaname = current_schema()"
                )
            ).all()
        assert tables == []
        first.dispose()
    finally:
        engine.dispose()


def test_a_registrys_database_url_keeps_the_rest_of_the_url():
    pg = registry_database_url(
        "postgresql://bot:secret@db:5432/bot?options=-cstatement_timeout%3D5000+-csearch_path%3Dapp",
        "staging",
    )
    assert "statement_timeout" in pg and "search_path%3Dapp_staging" in pg
    assert "search_path%3Dapp+" not in pg and "secret" in pg  # a URL, never logged
    assert registry_database_url("sqlite:////data/bot.db", "eu-1") == "sqlite:////data/bot.eu-1.db"


def test_commands_go_to_the_registry_named_or_the_channels_default(ctx, fakes):
    fakes["main"].push("app", ["1.0"], "main's")
    fakes["staging"].push("app", ["2.0"], "staging's")
    assert "1.0" in _said(_ask(ctx, "tags app")) and "(main)" in _said(_ask(ctx, "tags app"))
    flagged = _said(_ask(ctx, "tags app --registry staging"))
    assert "2.0" in flagged and "1.0" not in flagged and "(staging)" in flagged
    assert "2.0" in _said(_ask(ctx, "tags staging.registry:5000/app"))

    refused = _ask(ctx, "use staging", user=REQUESTER, channel=OPS)
    assert "Only approvers" in refused.text
    assert ctx.channel_default(OPS) is None
    _ask(ctx, "use staging", user=APPROVER, channel=OPS)
    assert ctx.channel_default(OPS) == "staging"
    assert "2.0" in _said(_ask(ctx, "tags app", channel=OPS))
    assert "1.0" in _said(_ask(ctx, "tags app --registry main", channel=OPS))
    assert "1.0" in _said(_ask(ctx, "tags app", channel=CHANNEL))  # other channels: main
    (event,) = [e for e in ctx.deletions.recent_audit() if e.event == "registry chosen"]
    assert event.actor == APPROVER and OPS in event.detail and "staging" in event.detail
    assert not [
        e for e in ctx.serving("staging").deletions.recent_audit() if e.event == "registry chosen"
    ]


def test_a_channels_default_and_its_audit_are_one_transaction(ctx):
    def failing(conn) -> None:
        ctx.deletions.audit_registry_chosen(conn, APPROVER, OPS, "staging")
        raise RuntimeError("the audit write failed")

    with pytest.raises(RuntimeError):
        ctx.channel_registries.set(ChannelRegistry(OPS, "staging", APPROVER, ctx.now()), failing)
    assert ctx.channel_default(OPS) is None
    assert not [e for e in ctx.deletions.recent_audit() if e.event == "registry chosen"]


def test_a_request_id_routes_its_job_to_its_registry(ctx, fakes):
    staging = ctx.serving("staging")
    request_id = _requested(staging, fakes["staging"], "team/app:2.0")
    assert ctx.deletions.request(request_id) is None  # not in main's tables
    vote = Job(JobKind.VOTE, Vote(request_id, APPROVER, True, URL, ("C", "1")), "vote")
    assert routed(ctx, vote).serving_name == "staging"
    page = Job(JobKind.PAGE, Page("{}", URL), "page", URL, "staging")
    assert routed(ctx, page).serving_name == "staging"
    form = Job(JobKind.OPEN_FORM, FormOpen("t", APPROVER, OPS, URL), "form")
    assert routed(ctx, form).serving_name == "main"  # no default set in OPS yet
    ctx.channel_registries.set(
        ChannelRegistry(OPS, "staging", APPROVER, ctx.now()), lambda conn: None
    )
    assert routed(ctx, form).serving_name == "staging"


def test_the_home_shows_every_registrys_requests_and_a_vote_reaches_its_registry(ctx, fakes):
    on_main = _requested(ctx, fakes["main"], "team/app:1.0")
    staging = ctx.serving("staging")
    on_staging = _requested(staging, fakes["staging"], "team/app:1.0")
    staging.policies.add(
        "nightly", "team/*", RetentionRules(keep=1), every(timedelta(days=1)), CHANNEL, APPROVER
    )
    facts = home.home_facts(ctx, APPROVER)
    assert [r.id for r in facts.waiting] == [on_main, on_staging]
    assert facts.registry_of == {on_main: "main", on_staging: "staging"}
    home.home_opened(ctx, APPROVER, None)
    view = ctx.web.homes(APPROVER)[-1].args["view"]
    said = json.dumps(view)
    assert "on *main*" in said and "on *staging*" in said
    values = [
        e["value"]
        for b in view["blocks"]
        for e in b.get("elements") or []
        if isinstance(e, dict)
        and e.get("action_id") in (ACTION_HOME_RUN_POLICY, ACTION_EDIT_POLICY)
    ]
    assert values == ["staging/nightly", "staging/nightly"]
    approve = [
        e["value"]
        for b in view["blocks"]
        for e in b.get("elements") or []
        if isinstance(e, dict) and e.get("action_id") == ACTION_HOME_APPROVE
    ]
    assert approve == [on_main, on_staging]

    job = Job(JobKind.HOME_APPROVE, HomeClick(on_staging, APPROVER), "approve")
    home_clicks.vote(routed(ctx, job), on_staging, APPROVER, approve=True)
    assert staging.deletions.request(on_staging).state.value == "done"
    assert ctx.deletions.request(on_main).state.value == "pending"
    assert "1.0" not in fakes["staging"].repositories["team/app"].tags
    assert "1.0" in fakes["main"].repositories["team/app"].tags


def test_buttons_and_modals_carry_their_registry_back():
    for ref in (
        PageRef(PageKind.TAGS, 2, "1.*", "team/app", "staging"),
        PutBack("team/app", "live", DIGEST, DIGEST, "staging"),
        StorageShare("team/*", "staging"),
        ShareRef("tags team/app", 1, "staging"),
    ):
        assert type(ref).decode(ref.encode()) == ref
        assert (
            '"g"'
            not in type(ref)
            .decode(ref.encode())
            .__class__(*[getattr(ref, f) for f in ref.__dataclass_fields__ if f != "registry"])
            .encode()
        )
    hostile = json.dumps({"k": "repos", "p": 0, "g": "x" * 200})
    with pytest.raises(ValueError):
        PageRef.decode(hostile)
    with pytest.raises(ValueError):
        ShareRef.decode(json.dumps({"c": "repos", "p": 0, "g": ["staging"]}))
    assert policy_of(policy_value("nightly", "staging")) == ("staging", "nightly")
    assert policy_of(policy_value("nightly", None)) == (None, "nightly")
    place = FormPlace(OPS, URL, "staging")
    assert FormPlace.decode(place.encode()) == place
    assert registry_of_view({"private_metadata": place.encode()}) == "staging"
    assert registry_of_view({"private_metadata": "{not json"}) is None


def test_a_message_names_its_registry_within_the_block_limit():
    full = Message("x", [section(str(i)) for i in range(MAX_BLOCKS)])
    named = naming_registry(full, "staging")
    assert len(named.blocks) == MAX_BLOCKS and named.text.startswith("[staging]")
    short = naming_registry(Message("x", [section("a"), section("b")]), "staging")
    assert "Registry *staging*" in _said(short) and len(short.blocks) == 3
    assert naming_registry(full, None) is full


def test_registries_sharing_one_cache_never_answer_for_each_other(fakes):
    """One memory bound for every registry: the same repository and tag on two
    registries, each client's lookups cached, neither's entry seen by the other."""
    import httpx

    from bot.registry import LRUCache, RegistryClient, RegistrySettings

    cache = LRUCache(1024 * 1024)
    fakes["main"].push("app", ["1.0"], "main's")
    fakes["staging"].push("app", ["1.0"], "staging's")
    main = RegistryClient(
        RegistrySettings(url="http://main.registry"),
        transport=httpx.MockTransport(fakes["main"].handle),
        cache=cache,
    )
    staging = RegistryClient(
        RegistrySettings(url="http://staging.registry"),
        transport=httpx.MockTransport(fakes["staging"].handle),
        cache=cache,
    )
    fetched = main.get_manifest("app", "1.0")
    assert len(cache) > 0 and main.cached_manifest(fetched.digest) is not None
    assert staging.cached_manifest(fetched.digest) is None
    assert staging.recent_digest("app", "1.0", 60) is None
    assert staging.head_or_get("app", "1.0").digest != fetched.digest
    main.close()
    staging.close()


def test_the_help_names_every_registry_served(ctx):
    said = _said(_ask(ctx, "help"))
    assert "Registries served" in said and "*staging* (`staging.registry:5000`)" in said
    assert "/registry use" in said


def test_pending_lists_every_registrys_requests_unless_one_is_named(ctx, fakes):
    on_main = _requested(ctx, fakes["main"], "team/app:1.0")
    _requested(ctx.serving("staging"), fakes["staging"], "team/web:2.0")
    every = _said(_ask(ctx, "pending"))
    assert "team/app:1.0" in every and "team/web:2.0" in every
    assert "on *main*" in every and "on *staging*" in every
    one = _said(_ask(ctx, "pending --registry staging"))
    assert "team/web:2.0" in one and "team/app:1.0" not in one and "Registry *staging*" in one
    assert ctx.deletions.request(on_main) is not None


def test_whoami_names_each_rule_once_with_the_registries_it_applies_on(database, fakes):
    from bot.deletions import OwnerRule

    clients = {name: fake.client(f"http://{name}.registry:5000") for name, fake in fakes.items()}
    rules = (OwnerRule(0, ("team/**",), ("UTEAM0001",)),)
    made = several_registries(database, clients, required=1, owner_rules=rules)
    try:
        said = _said(_ask(made, "whoami", user="UTEAM0001"))
        assert said.count("team/**") == 1 and "on *main*, *staging*" in said
    finally:
        close(made)
