"""The deletion form and its tag picker, unit tier. The tags of a repository are read in
the background once asked for (never while Slack waits), kept for a few repositories,
added to by pushes, and tried again after a failed read; the tag picker lists the tags
of the repository picked in the same view; the form's fields are checked in the
acknowledgement, each error on its own field; its plan becomes the request modal, whose
submission posts the request; a refusal draws the form again, saying why."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

import pytest

from bot.deletions import State
from bot.registry import Found, TagIndex
from bot.registry.names import Sorted, search
from bot.slack import deletion_form
from bot.slack.jobs import FormClick, FormOpen, JobKind
from bot.slack.listeners import options, views
from bot.slack.render.deletion_form import (
    CALLBACK_DELETION_FORM,
    FormFields,
    FormPlace,
    form_fields,
    render_deletion_form,
)
from bot.slack.render.limits import view_problems
from bot.slack.render.modals import CALLBACK_REQUEST, RequestModal
from bot.slack.render.pickers import LOADING_VALUE
from testkit.deletions import REQUESTER
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import Ack, bot_context, close

CHANNEL = "C0CHAN01"
URL = "https://hooks.example/response/9"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Later:
    """Reads started, run only when the test says (so "not read yet" can be seen)."""

    def __init__(self) -> None:
        self.waiting: list[Callable[[], None]] = []

    def __call__(self, work: Callable[[], None]) -> None:
        self.waiting.append(work)

    def run(self) -> int:
        ran, self.waiting = self.waiting, []
        for work in ran:
            work()
        return len(ran)


def test_tags_are_read_in_the_background_once_asked_and_kept_fresh():
    reads: list[str] = []
    lists = {"ci/app": ["pr-1", "pr-2", "release-1", "latest"], "web": ["v1"]}

    def read(repository: str) -> list[str]:
        reads.append(repository)
        return lists[repository]

    later, clock = Later(), Clock()
    index = TagIndex(read, start=later, clock=clock, max_age=300)
    assert index.tags("ci/app", "pr") == Found([], loading=True)  # asked: a read starts
    assert index.tags("ci/app", "pr") == Found([], loading=True)  # one read at a time
    assert reads == [] and later.run() == 1 and reads == ["ci/app"]
    assert index.tags("ci/app", "pr").names == ["pr-1", "pr-2"]
    assert index.tags("ci/app", "1").names == ["pr-1", "release-1"]
    assert index.tags("ci/app", "pr-*").names == ["pr-1", "pr-2"]
    index.pushed("ci/app", "pr-3")  # told by the registry's events: in at once
    index.pushed("never/asked", "x")  # a list not read: nothing to add to
    assert index.tags("ci/app", "pr").names == ["pr-1", "pr-2", "pr-3"]
    assert later.run() == 0  # fresh: not read again
    clock.now = 301  # old: the old list answers while it is read again
    lists["ci/app"] = ["pr-9"]
    assert index.tags("ci/app", "pr").names == ["pr-1", "pr-2", "pr-3"]
    assert later.run() == 1 and index.tags("ci/app", "pr").names == ["pr-9"]
    assert reads == ["ci/app", "ci/app"]


def test_a_failed_read_says_so_and_is_tried_again_later():
    calls = []

    def read(repository: str) -> list[str]:
        calls.append(repository)
        if len(calls) == 1:
            raise OSError("registry down")
        return ["1.0"]

    later, clock = Later(), Clock()
    index = TagIndex(read, start=later, clock=clock, retry=30)
    index.want("app")
    later.run()
    assert index.tags("app", "") == Found([], unreadable=True)
    assert later.run() == 0  # not hammered: tried again after 30 s
    clock.now = 31
    assert index.tags("app", "").loading and later.run() == 1
    assert index.tags("app", "") == Found(["1.0"])


def test_only_a_few_repositories_are_kept_and_read_at_once():
    later, clock = Later(), Clock()
    index = TagIndex(lambda r: [f"{r}-tag"], start=later, clock=clock, keep=2, reads=2)
    for repository in ("a", "b", "c"):
        clock.now += 1
        index.want(repository)
    assert len(later.waiting) == 2  # "c": too many reads under way; asked again later
    later.run()
    clock.now += 1
    index.want("c")
    later.run()
    assert index.tags("c", "").names == ["c-tag"]
    # Three asked, two kept: the least recently asked ("a") went.
    clock.now += 1
    assert index.tags("a", "").loading


def test_a_name_inserted_is_where_sorting_them_all_again_puts_it():
    rng = random.Random(11)
    names = ["".join(rng.choice("aB-.1") for _ in range(rng.randint(1, 6))) for _ in range(300)]
    grown = Sorted([])
    for name in names:
        grown = grown.with_(name)
        rebuilt = Sorted(list(grown.names))
        assert (grown.names, grown.lowered, grown.joined, grown.starts) == (
            rebuilt.names,
            rebuilt.lowered,
            rebuilt.joined,
            rebuilt.starts,
        )
    for query in ("a", "b-", "1", ".", "ab"):
        assert search(grown, query, 50) == search(Sorted(names), query, 50)


@pytest.fixture
def fake() -> FakeRegistry:
    fake = FakeRegistry()
    fake.push("ci/app", ["1.0", "stable"], "one image, two tags")
    fake.push("ci/app", ["2.0"], "another")
    return fake


@pytest.fixture
def ctx(tmp_path, fake) -> Iterator:
    made = bot_context(f"sqlite:///{tmp_path / 'form.db'}", fake.client())
    yield made
    close(made)


def _picked(repository: str = "", tag: str = "", untag: bool = False) -> dict:
    values: dict = {}
    if repository:
        chosen = {"selected_option": {"value": repository}}
        values["form_repository"] = {"pick_image_repository": chosen}
    if tag:
        values["form_tag"] = {"pick_tag": {"selected_option": {"value": tag}}}
    if untag:
        values["form_untag"] = {"form_untag": {"selected_options": [{"value": "untag"}]}}
    return {"values": values}


def test_the_tag_picker_lists_the_tags_of_the_repository_picked(ctx):
    def ask(state: dict, query: str = "") -> list[str]:
        ack = Ack()
        payload = {"value": query, "view": {"state": state}}
        options.on_tag_options(ack, payload, {"bot": ctx})
        opts = ack.calls[0]["options"]
        assert len(opts) <= 100
        return [o["text"]["text"] if o["value"] == LOADING_VALUE else o["value"] for o in opts]

    assert ask(_picked()) == ["Pick the repository first"]
    assert ask(_picked("../etc")) == ["That is not a repository name"]
    later = Later()
    ctx.tags = TagIndex(ctx.registry.tags, start=later)
    assert ask(_picked("ci/app")) == ["The list of tags is still loading…"]
    later.run()
    assert ask(_picked("ci/app")) == ["1.0", "2.0", "stable"]
    assert ask(_picked("ci/app"), "st") == ["stable"]
    assert ask(_picked("ci/app"), "nothing") == ["No tag matches"]
    assert ask(_picked("ci/app"), "*") == ["1.0", "2.0", "stable"]  # no glob offered


def test_picking_a_repository_reads_its_tags_before_the_tag_picker_asks(ctx):
    later = Later()
    ctx.tags = TagIndex(ctx.registry.tags, start=later)
    ack = Ack()
    views.on_form_repository_picked(ack, {"view": {"state": _picked("ci/app")}}, {"bot": ctx})
    assert ack.calls == [{}] and later.run() == 1
    assert ctx.tags.tags("ci/app", "").names == ["1.0", "2.0", "stable"]


def test_the_form_is_valid_and_its_fields_read_back():
    place = FormPlace(CHANNEL, URL)
    view = render_deletion_form(place, FormFields(untag=True))
    assert view["callback_id"] == CALLBACK_DELETION_FORM and not view_problems(view)
    (untag_block,) = [b for b in view["blocks"] if b.get("block_id") == "form_untag"]
    assert untag_block["element"]["initial_options"][0]["value"] == "untag"
    repository = next(b for b in view["blocks"] if b.get("block_id") == "form_repository")
    assert repository["dispatch_action"] is True
    assert FormPlace.decode(view["private_metadata"]) == place
    assert form_fields({"state": _picked("ci/app", "1.0", True)}) == FormFields(
        "ci/app", "1.0", True
    )
    long = "x" * 300  # a hostile value is cut to what a picker's value can be
    assert len(form_fields({"state": _picked(long, long)}).tag) == 150


def test_the_submission_answers_each_missing_field_in_the_acknowledgement(ctx):
    view = {**render_deletion_form(FormPlace(CHANNEL, URL)), "id": "V9"}
    for state, blocks in (
        (_picked(), {"form_repository", "form_tag"}),
        (_picked("ci/app"), {"form_tag"}),
        (_picked("ci/app", LOADING_VALUE), {"form_tag"}),
        (_picked("Bad Name", "1.0"), {"form_repository"}),
    ):
        ack = Ack()
        views.on_form_submitted(
            ack, {"user": {"id": REQUESTER}}, {**view, "state": state}, {"bot": ctx}
        )
        (answer,) = ack.calls
        assert answer["response_action"] == "errors" and set(answer["errors"]) == blocks
    assert ctx.runner.jobs == []
    ack = Ack()
    good = {**view, "state": _picked("ci/app", "1.0")}
    views.on_form_submitted(ack, {"user": {"id": REQUESTER}}, good, {"bot": ctx})
    (answer,) = ack.calls
    assert answer["response_action"] == "update" and "Reading the registry" in str(answer["view"])
    assert not view_problems(answer["view"])
    (job,) = ctx.runner.jobs
    assert job.kind == JobKind.FORM_PLAN and job.work == FormClick(
        "V9", REQUESTER, FormPlace(CHANNEL, URL), FormFields("ci/app", "1.0")
    )


def test_the_plan_becomes_the_request_modal_and_its_submission_posts_it(ctx):
    deletion_form.open_form(ctx, FormOpen("t1", REQUESTER, CHANNEL, URL))
    assert ctx.web.modals()[-1].args["view"]["callback_id"] == CALLBACK_DELETION_FORM
    click = FormClick("V9", REQUESTER, FormPlace(CHANNEL, URL), FormFields("ci/app", "1.0"))
    deletion_form.plan(ctx, click)
    (update,) = [c.args for c in ctx.web.calls if c.method == "views.update"]
    modal = update["view"]
    assert update["view_id"] == "V9" and modal["callback_id"] == CALLBACK_REQUEST
    said = str(modal["blocks"])
    assert "ci/app" in said and "stable" in said  # the other tag on the digest goes too
    assert not view_problems(modal)
    carried = RequestModal.decode(modal["private_metadata"])
    assert carried.response_url == URL and not carried.has_preview
    # Submitted with a reason: posted for approval; the answer replaces no preview.
    ack = Ack()
    values = {"reason": {"reason_input": {"type": "plain_text_input", "value": "old build"}}}
    submitted = {**modal, "state": {"values": values}}
    views.on_request_submitted(ack, {"user": {"id": REQUESTER}}, submitted, {"bot": ctx})
    (job,) = ctx.runner.jobs
    assert job.kind == JobKind.SUBMIT and job.work.replace_preview is False
    from bot.slack.workers import do

    do(ctx, job)
    (pending,) = ctx.deletions.pending()
    assert pending.state == State.PENDING and pending.reason == "old build"
    (told,) = [r for r in ctx.responder.sent if r.url == URL]
    assert "Requested" in told.message.text and told.replace_original is False


def test_a_refused_plan_draws_the_form_again_saying_why(ctx):
    fields = FormFields("ci/app", "9.9")  # no such tag
    deletion_form.plan(ctx, FormClick("V9", REQUESTER, FormPlace(CHANNEL, URL), fields))
    (update,) = [c.args for c in ctx.web.calls if c.method == "views.update"]
    view = update["view"]
    assert view["callback_id"] == CALLBACK_DELETION_FORM and not view_problems(view)
    assert "not found" in str(view["blocks"]) and ctx.deletions.pending() == []
    shown = next(b for b in view["blocks"] if b.get("block_id") == "form_tag")
    assert shown["element"]["initial_option"]["value"] == "9.9"  # what was picked stays
