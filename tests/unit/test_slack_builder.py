"""The cleanup builder and the pickers, unit tier. The names kept in memory are searched
prefix first, by substring or glob, and never read while asked; options stay within
Slack's limits over 10,000 repositories; the builder's fields are checked as prune's
options are, each error on its own field; Preview draws prune's own dry run into the
modal; Request cleanup posts the request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.deletions import State
from bot.registry import Found, NameIndex
from bot.slack import cleanup_builder, deleting
from bot.slack.cleanup_words import rules_of
from bot.slack.command_table import Prune
from bot.slack.jobs import BuilderClick, JobKind
from bot.slack.listeners import options, views
from bot.slack.render.builder import (
    CALLBACK_BUILDER,
    BuilderFields,
    BuilderKind,
    BuilderPlace,
    builder_fields,
    render_builder,
)
from bot.slack.render.limits import view_problems
from bot.slack.render.pickers import LOADING_VALUE, MAX_OPTION_TEXT, MAX_OPTION_VALUE, name_options
from testkit.deletions import REQUESTER
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import Ack, bot_context, close

CHANNEL = "C0CHAN01"
URL = "https://hooks.example/response/7"
MANY = [f"team{i // 100:03d}/app-{i:05d}" for i in range(10_000)]


def test_names_are_searched_prefix_first_and_never_read_while_asked():
    reads = []
    listed = ["web/app", "team/web", "team/api", "webhooks", "ops/tools"]

    def catalog():
        reads.append("catalog")
        return listed

    names = NameIndex(catalog)
    assert names.repositories("web") == Found([], loading=True)  # not read yet
    assert reads == []
    names.refresh()
    assert names.repositories("web").names == ["web/app", "webhooks", "team/web"]  # prefix first
    assert names.repositories("team/*").names == ["team/api", "team/web"]
    assert names.repositories("").names == sorted(listed)
    found = names.repositories("", limit=2)
    assert found.cut and len(found.names) == 2
    names.pushed("new/one")
    names.pushed("web/app")  # known: nothing changes
    assert names.repositories("new").names == ["new/one"]
    assert names.repositories("web/app").names == ["web/app"]
    assert reads == ["catalog"]


def test_options_stay_within_slacks_limits_over_10000_repositories():
    names = NameIndex(lambda: MANY)
    names.refresh()
    for query in ("", "app", "team004/", "team00*/app-0001?", "app-09999", "nothing-like-it"):
        opts = name_options(names.repositories(query), query)
        assert len(opts) <= 100
        assert all(len(o["text"]["text"]) <= MAX_OPTION_TEXT for o in opts)
        assert all(len(o["value"]) <= MAX_OPTION_VALUE for o in opts)
    glob = name_options(names.repositories("team00*/app-0001?"), "team00*/app-0001?")
    assert glob[0]["value"] == "team00*/app-0001?"  # the pattern itself, first
    assert [o["value"] for o in glob[1:]] == [f"team000/app-0001{i}" for i in range(10)]
    assert name_options(names.repositories("app-09999"), "app-09999")[0]["value"] == (
        "team099/app-09999"
    )
    many = name_options(names.repositories("app"), "app")
    assert len(many) == 100 and many[-1]["value"] == LOADING_VALUE  # "type more"
    loading = name_options(Found([], loading=True), "te")
    assert [o["value"] for o in loading] == [LOADING_VALUE]


def test_the_options_listener_answers_from_memory(tmp_path):
    fake = FakeRegistry()
    ctx = bot_context(f"sqlite:///{tmp_path / 'o.db'}", fake.client())
    try:
        ack = Ack()
        options.on_repository_options(ack, {"value": "te"}, {"bot": ctx})  # no names here
        assert [o["value"] for o in ack.calls[0]["options"]] == [LOADING_VALUE]
        ctx.names = NameIndex(lambda: MANY)
        ctx.names.refresh()
        ack = Ack()
        options.on_repository_options(ack, {"value": "app-0000"}, {"bot": ctx})
        assert [o["value"] for o in ack.calls[0]["options"]][:2] == [
            "team000/app-00000",
            "team000/app-00001",
        ]
    finally:
        close(ctx)


@pytest.fixture
def fake() -> FakeRegistry:
    fake = FakeRegistry()
    for i in range(4):
        fake.push("ci/app", [f"pr-{i}"], f"build {i}", created=f"2026-11-0{i + 1}T10:00:00Z")
    fake.push("ci/app", ["release-1"], "release", created="2026-10-01T10:00:00Z")
    return fake


@pytest.fixture
def ctx(tmp_path, fake) -> Iterator:
    made = bot_context(f"sqlite:///{tmp_path / 'builder.db'}", fake.client())
    yield made
    close(made)


def _state(pattern: str, **typed: str) -> dict:
    values: dict = {"pattern": {"pick_repository": {"selected_option": {"value": pattern}}}}
    for block, text in typed.items():
        values[block] = {block: {"type": "plain_text_input", "value": text}}
    return {"values": values}


def test_each_wrong_field_is_answered_on_itself():
    place = BuilderPlace(CHANNEL, URL)
    cases = {
        "match": {"keep": "1", "match": "([a-z]+)\\1"},  # a backreference: not RE2
        "older_than": {"older_than": "soon"},
        "keep": {"keep": "three"},
    }
    for block, typed in cases.items():
        fields = builder_fields({"state": _state("ci/app", **typed)})
        _, _, errors = cleanup_builder.check(fields, place)
        assert list(errors) == [block], (block, errors)
    _, _, errors = cleanup_builder.check(BuilderFields(values={"--keep": "1"}), BuilderPlace())
    assert set(errors) == {"pattern", "channel"}  # from the shortcut: where to post


def test_the_submission_answers_errors_in_the_acknowledgement(ctx):
    place = BuilderPlace(CHANNEL, URL)
    view = {**render_builder(place), "id": "V1", "hash": "h1"}
    ack = Ack()
    bad = {**view, "state": _state("ci/app", keep="1", match="(?=x)")}
    views.on_builder_submitted(ack, {"user": {"id": REQUESTER}}, bad, {"bot": ctx})
    (answer,) = ack.calls
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["match"]
    assert ctx.runner.jobs == []
    ack = Ack()
    good = {**view, "state": _state("ci/app", keep="1", match="pr-.*")}
    views.on_builder_submitted(ack, {"user": {"id": REQUESTER}}, good, {"bot": ctx})
    assert ack.calls == [{}]
    (job,) = ctx.runner.jobs
    assert job.kind == JobKind.BUILDER_SUBMIT and job.work.fields.values == {
        "--keep": "1",
        "--match": "pr-.*",
    }
    assert view["callback_id"] == CALLBACK_BUILDER and not view_problems(view)


def _texts(blocks: list) -> list[str]:
    return [str(b.get("text", {}).get("text", "")) for b in blocks if b.get("type") == "section"]


def test_preview_draws_prunes_own_dry_run_and_request_posts_it(ctx, fake):
    place = BuilderPlace(CHANNEL, URL)
    fields = BuilderFields("ci/app", {"--keep": "1", "--match": "pr-.*"}, "tidy up")
    click = BuilderClick("V1", "h1", REQUESTER, place, fields)
    cleanup_builder.preview(ctx, click)
    reading, drawn = [c.args for c in ctx.web.calls if c.method == "views.update"]
    assert "Reading the registry" in str(reading["view"]) and reading["hash"] == "h1"
    assert drawn["hash"].startswith("hash-")  # the hash Slack gave the reading view
    rules = rules_of(fields.values, "")
    typed = deleting.prune_reply(ctx, Prune("ci/app", rules, "tidy up"), REQUESTER, CHANNEL)
    expected = _texts([b.to_dict() for b in typed.blocks])
    assert expected and all(t in _texts(drawn["view"]["blocks"]) for t in expected)
    assert not view_problems(drawn["view"])
    # Request cleanup: planned again and posted for approval.
    posted = len(ctx.web.posts(CHANNEL))
    cleanup_builder.submit(ctx, click)
    request_post = ctx.web.posts(CHANNEL)[posted]
    assert "a cleanup of" in request_post.text and "deletion_approve" in request_post.text
    assert "Requested" in ctx.responder.texts(URL)[-1]
    pending = ctx.deletions.pending()
    assert [r.state for r in pending] == [State.PENDING] and pending[0].reason == "tidy up"


def test_the_builder_makes_and_changes_a_policy(ctx):
    """Policy mode: a name and a schedule are asked for (each wrong one on its field);
    Save policy adds it as policy add does; Edit opens the builder with what the policy
    does, and saving it changes it, audited with the old and the new."""
    from testkit.deletions import APPROVER

    new = BuilderPlace(CHANNEL, URL, BuilderKind.POLICY)
    _, _, errors = cleanup_builder.check(BuilderFields("ci/app", {"--keep": "1"}), new)
    assert set(errors) == {"policy_name", "every"}
    for fields, block in (
        (BuilderFields("ci/app", {"--keep": "1"}, name="p", every="10m"), "every"),
        (BuilderFields("ci/app", {"--keep": "1"}, name="p", cron="* * * * *"), "cron"),
        (BuilderFields("ci/app", {"--keep": "1"}, name="p", cron="0 3 * *"), "cron"),
    ):
        assert list(cleanup_builder.check(fields, new)[2]) == [block]
    fields = BuilderFields("ci/app", {"--keep": "2"}, "nightly", CHANNEL, "nightly-ci", "1d")
    assert cleanup_builder.check(fields, new)[2] == {}
    cleanup_builder.submit(ctx, BuilderClick("V1", None, APPROVER, new, fields))
    assert "Saved the cleanup policy" in ctx.responder.texts(URL)[-1]
    policy = ctx.policies.get("nightly-ci")
    assert policy.rules.keep == 2 and policy.schedule.every is not None
    # Edit: the builder opens with what it does now.
    from bot.slack.jobs import BuilderOpen

    cleanup_builder.open_builder(ctx, BuilderOpen("t9", APPROVER, CHANNEL, URL, "nightly-ci"))
    view = ctx.web.modals()[-1].args["view"]
    shown = builder_fields({"state": {"values": _initial_state(view)}})
    assert shown.values == {"--keep": "2"} and shown.every == "1d" and shown.pattern == "ci/app"
    edit = BuilderPlace.decode(view["private_metadata"])
    assert edit.policy == "nightly-ci" and edit.kind == BuilderKind.POLICY
    changed = BuilderFields("ci/app", {"--keep": "5"}, "", CHANNEL, every="12h")
    cleanup_builder.submit(ctx, BuilderClick("V2", None, APPROVER, edit, changed))
    assert "Changed the cleanup policy" in ctx.responder.texts(URL)[-1]
    assert ctx.policies.get("nightly-ci").rules.keep == 5
    (audit,) = [e for e in ctx.deletions.recent_audit(5) if "changed" in e.detail]
    old, new = audit.detail.split(" to ")
    assert "keep=2" in old and "every 1 day" in old
    assert "keep=5" in new and "every 12:00:00" in new
    # A non-approver's change is refused, and changes nothing; Edit doesn't open for them.
    cleanup_builder.submit(ctx, BuilderClick("V3", None, REQUESTER, edit, fields))
    assert ctx.policies.get("nightly-ci").rules.keep == 5
    opened = len(ctx.web.modals())
    cleanup_builder.open_builder(ctx, BuilderOpen("t10", REQUESTER, CHANNEL, URL, "nightly-ci"))
    assert len(ctx.web.modals()) == opened and "approver" in ctx.responder.texts(URL)[-1]


def _initial_state(view: dict) -> dict:
    """A view's fields as Slack would send them back untouched (their initial values)."""
    values: dict = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if "initial_value" in element:
            values[block["block_id"]] = {element["action_id"]: {"value": element["initial_value"]}}
        elif element.get("initial_option"):
            values[block["block_id"]] = {
                element["action_id"]: {"selected_option": element["initial_option"]}
            }
    return values


def test_the_search_finds_what_a_plain_scan_finds():
    """Prefix matches (by bisection) then the rest containing the query (str.find over
    one joined string) give exactly what testing every name would, in its order."""
    import random

    from bot.registry.names import Sorted, search

    rng = random.Random(7)
    alphabet = "ab/-.0"
    names = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(3000)}
    names |= {"Ab/Cd", "a", "ab"}
    ordered = sorted(names, key=lambda n: (n.lower(), n))
    index = Sorted(list(names))
    for query in ["a", "ab", "b/", "-.", "0", "AB", "zz", "ab/ab", ".", "a\nb"]:
        needle = query.lower()
        first = [n for n in ordered if n.lower().startswith(needle)]
        then = [n for n in ordered if needle in n.lower() and not n.lower().startswith(needle)]
        matched = [] if "\n" in needle else first + then
        for limit in (5, 100, 10_000):
            assert search(index, query, limit) == (matched[:limit], len(matched) > limit), query


def test_policy_list_offers_edit_as_a_menu_of_the_policies(ctx):
    from bot.slack import policy_runs
    from bot.slack.buttons import ACTION_EDIT_POLICY
    from bot.slack.listeners import actions
    from testkit.deletions import APPROVER

    for name in ("nightly", "weekly"):
        fields = BuilderFields("ci/app", {"--keep": "2"}, "", CHANNEL, name, "1d")
        place = BuilderPlace(CHANNEL, URL, BuilderKind.POLICY)
        cleanup_builder.submit(ctx, BuilderClick("V1", None, APPROVER, place, fields))
    listed = policy_runs.list_reply(ctx).to_dict()
    (menu,) = [e for b in listed["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert menu["action_id"] == ACTION_EDIT_POLICY and menu["type"] == "static_select"
    assert [o["value"] for o in menu["options"]] == ["nightly", "weekly"]
    ack = Ack()
    body = {
        "user": {"id": APPROVER},
        "trigger_id": "1.2.3",
        "response_url": URL,
        "channel": {"id": CHANNEL},
    }
    chosen = {"action_id": ACTION_EDIT_POLICY, "selected_option": {"value": "weekly"}}
    actions.on_edit_policy(ack, body, chosen, {"bot": ctx})
    (job,) = ctx.runner.jobs
    assert ack.calls == [{}] and job.kind == JobKind.OPEN_BUILDER
    assert job.work.policy == "weekly" and job.work.trigger_id == "1.2.3"


def test_edit_opens_for_the_owners_approvers_of_a_policy_and_no_other_team(tmp_path):
    from datetime import timedelta

    from bot.deletions import OwnerRule, RetentionRules
    from bot.policies.schedule import every
    from bot.slack.jobs import BuilderOpen

    rules = (OwnerRule(0, ("a/**",), ("UTEAMA",)), OwnerRule(1, ("b/**",), ("UTEAMB",)))
    ctx = bot_context(f"sqlite:///{tmp_path / 'e.db'}", FakeRegistry().client(), owner_rules=rules)
    try:
        keep, daily = RetentionRules(keep=1), every(timedelta(days=1))
        ctx.policies.add("a-ci", "a/ci-*", keep, daily, CHANNEL, "UTEAMA")
        cleanup_builder.open_builder(ctx, BuilderOpen("t1", "UTEAMB", CHANNEL, URL, "a-ci"))
        assert ctx.web.modals() == [] and "owner rule" in ctx.responder.texts(URL)[-1]
        cleanup_builder.open_builder(ctx, BuilderOpen("t2", "UTEAMA", CHANNEL, URL, "a-ci"))
        (opened,) = ctx.web.modals()
        assert BuilderPlace.decode(opened.args["view"]["private_metadata"]).policy == "a-ci"
    finally:
        close(ctx)
