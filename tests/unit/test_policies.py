"""Cleanup policies below Slack: schedules (periods and cron, in a time zone, across a
daylight-saving change), the slot due and the slots missed before it, a slot claimed
once whatever the number of processes (SQLite and PostgreSQL), approvers only, and a
run planned as ``prune`` plans (over the in-memory registry)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.deletions import ApproverPolicy, DeletionService, RetentionRules, open_store
from bot.policies import (
    PolicyRefusal,
    PolicyRefused,
    PolicyService,
    PolicyStore,
    RunState,
    ScheduleError,
    ScheduleProblem,
    cron,
    every,
    next_slot,
)
from bot.policies.schedule import due
from testkit.deletions import APPROVER, OUTSIDER, Clock
from testkit.fake_registry import FakeRegistry

UTC_ZONE = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
T0 = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)


def test_periods_count_from_creation_and_are_at_least_an_hour():
    schedule = every(timedelta(hours=6))
    assert next_slot(schedule, T0, T0, UTC_ZONE) == T0 + timedelta(hours=6)
    assert next_slot(schedule, T0, T0 + timedelta(hours=6), UTC_ZONE) == T0 + timedelta(hours=12)
    with pytest.raises(ScheduleError) as info:
        every(timedelta(minutes=30))
    assert info.value.problem == ScheduleProblem.TOO_OFTEN


def test_cron_runs_in_the_zone_across_a_daylight_saving_change():
    schedule = cron("30 2 * * *", BERLIN)  # 02:30 does not exist on 29 March in Berlin
    first = next_slot(schedule, T0, T0, BERLIN)
    second = next_slot(schedule, T0, first, BERLIN)
    third = next_slot(schedule, T0, second, BERLIN)
    assert first == datetime(2026, 3, 28, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert second == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST, the next there is
    assert third == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)  # 02:30 CEST
    for text, problem in (
        ("61 * * * *", ScheduleProblem.BAD_CRON),
        ("* * *", ScheduleProblem.BAD_CRON),
        ("*/5 * * * *", ScheduleProblem.CRON_TOO_OFTEN),
    ):
        with pytest.raises(ScheduleError) as info:
            cron(text, UTC_ZONE)
        assert info.value.problem == problem, text


def test_slots_missed_run_once_as_the_latest_and_say_since_when():
    schedule = every(timedelta(hours=1))
    assert due(schedule, T0, None, T0 + timedelta(minutes=59), UTC_ZONE) is None
    on_time = due(schedule, T0, None, T0 + timedelta(hours=1, minutes=1), UTC_ZONE)
    assert on_time is not None and on_time.slot == T0 + timedelta(hours=1)
    assert on_time.late_since is None
    # Stopped over three slots: one run, for the latest, late since the first.
    late = due(schedule, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=4, minutes=5), UTC_ZONE)
    assert late is not None and late.slot == T0 + timedelta(hours=4)
    assert late.late_since == T0 + timedelta(hours=2)


@pytest.fixture
def services(database_url):
    """Two processes' policy services on one database, over the in-memory registry."""
    fake = FakeRegistry()
    clock = Clock()
    clock.now = T0
    made = []
    for _ in range(2):
        deletions = DeletionService(
            open_store(database_url), fake.client(), ApproverPolicy([APPROVER]), clock=clock
        )
        store = PolicyStore(deletions.store.engine)
        store.ensure_schema()
        made.append(PolicyService(store, deletions, clock=clock))
    yield made, fake, clock
    for service in made:
        service.deletions.registry.close()
        service.deletions.store.engine.dispose()


RULES = RetentionRules(keep=1)


def test_only_approvers_add_and_every_change_is_audited(services):
    (one, _), _, _ = services
    with pytest.raises(PolicyRefused) as info:
        one.add("nightly", "app", RULES, every(timedelta(hours=1)), "C1", OUTSIDER)
    assert info.value.reason == PolicyRefusal.NOT_APPROVER
    one.add("nightly", "app", RULES, every(timedelta(hours=1)), "C1", APPROVER, "old ci")
    with pytest.raises(PolicyRefused) as info:
        one.add("nightly", "app", RULES, every(timedelta(hours=1)), "C1", APPROVER)
    assert info.value.reason == PolicyRefusal.EXISTS
    with pytest.raises(PolicyRefused) as info:
        one.add("Bad Name", "app", RULES, every(timedelta(hours=1)), "C1", APPROVER)
    assert info.value.reason == PolicyRefusal.BAD_NAME
    one.set_paused("nightly", APPROVER, True)
    one.remove("nightly", APPROVER)
    trail = [e.detail for e in reversed(one.deletions.recent_audit(10))]
    assert trail[0].startswith("added nightly: app; rules keep=1; every 1:00:00; channel C1")
    assert trail[1].startswith("paused nightly") and trail[2].startswith("removed nightly")


def test_a_slot_is_claimed_once_by_two_processes_at_once(services):
    (one, two), fake, clock = services
    fake.push("app", ["v1"], "a")
    one.add("hourly", "app", RULES, every(timedelta(hours=1)), "C1", APPROVER)
    assert one.claim_due() == [] and two.claim_due() == []  # not due yet
    clock.now = T0 + timedelta(hours=1, seconds=1)
    claimed: list = []
    barrier = threading.Barrier(2)

    def claim(service) -> None:
        barrier.wait()
        claimed.extend(service.claim_due())

    threads = [threading.Thread(target=claim, args=(s,)) for s in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.slot for _, r in claimed] == [T0 + timedelta(hours=1)]
    assert one.claim_due() == [] and two.claim_due() == []  # the slot is taken


def test_a_run_plans_as_prune_does_and_records_what_it_came_to(services):
    (one, _), fake, clock = services
    for i in range(3):
        fake.push("app", [f"ci-{i}"], f"image {i}", f"2026-0{i + 1}-01T00:00:00Z")
    one.add("keep-one", "app", RULES, every(timedelta(hours=1)), "C1", APPROVER, "old ci")
    clock.now = T0 + timedelta(hours=1, seconds=1)
    ((policy, run),) = one.claim_due()
    planned = one.plan(policy, run)
    assert planned.preview is not None and planned.preview.images == 2
    request = planned.preview.request
    assert request.requester == APPROVER and request.channel == "C1"
    assert request.reason.startswith("policy keep-one, slot 2026-03-27 13:00 UTC: old ci")
    one.posted(run, request.id)
    (recorded,) = one.runs("keep-one")
    assert recorded.state == RunState.POSTED and recorded.request_id == request.id
    # Nothing left to delete beyond what the rules keep: the run posts nothing.
    fake.repositories["app"].tags = {"ci-2": fake.repositories["app"].tags["ci-2"]}
    clock.now += timedelta(hours=1)
    ((policy, run),) = one.claim_due()
    assert one.plan(policy, run).preview is None
    assert one.runs("keep-one")[0].state == RunState.NOTHING


def test_a_paused_policy_does_not_run_and_a_dead_planner_is_settled(services):
    (one, _), fake, clock = services
    fake.push("app", ["v1"], "a")
    one.add("p", "app", RULES, every(timedelta(hours=1)), "C1", APPROVER)
    one.set_paused("p", APPROVER, True)
    clock.now = T0 + timedelta(hours=2)
    assert one.claim_due() == []
    with pytest.raises(PolicyRefused) as info:
        one.claim_now("p", APPROVER)
    assert info.value.reason == PolicyRefusal.PAUSED
    one.set_paused("p", APPROVER, False)
    assert len(one.claim_due()) == 1  # claimed, and its process dies while planning
    clock.now += timedelta(minutes=20)
    (settled,) = one.settle_stale()
    assert settled.state == RunState.FAILED and settled.detail == "interrupted"
    assert one.runs("p")[0].state == RunState.FAILED


def test_a_planning_run_renews_its_lease_and_is_settled_only_when_it_stops(database_url):
    """Real time, a lease of 0.3 s: a plan that takes a second is not taken for dead
    while its process renews the lease; one whose process stopped renewing is."""
    fake = FakeRegistry()
    fake.push("app", ["v1", "v2"], "a")
    made = []
    for _ in range(2):
        deletions = DeletionService(
            open_store(database_url), fake.client(), ApproverPolicy([APPROVER])
        )
        store = PolicyStore(deletions.store.engine)
        store.ensure_schema()
        made.append(PolicyService(store, deletions, lease=timedelta(seconds=0.3)))
    one, other = made
    try:
        one.add("slow", "app", RULES, every(timedelta(hours=1)), "C1", APPROVER)
        policy, run = one.claim_now("slow", APPROVER)
        planning, release = threading.Event(), threading.Event()
        real = one.deletions.preview_prune

        def slow(*args, **kwargs):
            planning.set()
            release.wait(10)
            return real(*args, **kwargs)

        one.deletions.preview_prune = slow  # type: ignore[method-assign]
        worker = threading.Thread(target=lambda: one.plan(policy, run))
        worker.start()
        assert planning.wait(5)
        time.sleep(1.0)  # three leases
        assert other.settle_stale() == []  # renewed all along
        release.set()
        worker.join(10)
        assert one.runs("slow")[0].state == RunState.NOTHING  # v1 and v2: one image, kept
        # A run whose process stops renewing (it died) is settled once its lease is out.
        _, dead = one.claim_now("slow", APPROVER)
        time.sleep(0.5)
        (settled,) = other.settle_stale()
        assert settled.slot == dead.slot and settled.detail == "interrupted"
    finally:
        for service in made:
            service.deletions.registry.close()
            service.deletions.store.engine.dispose()


# -- the command, and its runs in Slack (fakes of Slack's clients) -----------------------
def test_policy_commands_parse_with_their_schedule_and_refuse_what_they_cant_keep():
    from bot.slack.command_table import (
        PolicyAction,
        PolicyAdd,
        PolicyCommand,
        PolicyList,
        UsageError,
        parse_command,
    )

    added = parse_command(
        'policy add nightly ci/* --keep 10 --cron "0 3 * * 1-5" --channel C0PLAT01 old builds'
    )
    assert isinstance(added, PolicyAdd) and added.name == "nightly" and added.pattern == "ci/*"
    assert added.rules.keep == 10 and added.schedule.cron == "0 3 * * 1-5"
    assert added.channel == "C0PLAT01" and added.reason == "old builds"
    bare = parse_command("policy add hourly app --older-than 7d --cron 0 * * * *")
    assert isinstance(bare, PolicyAdd) and bare.schedule.cron == "0 * * * *" and bare.reason == ""
    every_day = parse_command("policy add daily app --keep 3 --every 1d --channel <#C0PLAT01|ops>")
    assert isinstance(every_day, PolicyAdd) and every_day.schedule.every == timedelta(days=1)
    assert every_day.channel == "C0PLAT01"
    assert parse_command("policy list") == PolicyList()
    assert parse_command("policy run nightly") == PolicyCommand(PolicyAction.RUN, "nightly")
    for text, said in (
        ("policy add p app --keep 3", "Give a schedule"),
        ("policy add p app --keep 3 --every 10m", "at least 1h"),
        ("policy add p app --keep 3 --cron '*/5 * * * *'", "more often than hourly"),
        ("policy add p app --keep 3 --cron '61 * * * *'", "not a five-field cron"),
        ("policy add p app --keep 3 --every 1h --cron '0 3 * * *'", "one schedule"),
        ("policy add p app --every 1h", "--keep N or --older-than"),
        ("policy add p app --keep 3 --every 1h --channel general", "channel ID"),
        ("policy frobnicate", "Which policy command"),
    ):
        with pytest.raises(UsageError) as info:
            parse_command(text)
        assert said in info.value.message, (text, info.value.message)


@pytest.fixture
def slack(tmp_path):
    """Two processes' Slack contexts on one database, over the in-memory registry."""
    from testkit.slack_fakes import bot_context, close

    fake = FakeRegistry()
    clock = Clock()
    clock.now = T0
    url = f"sqlite:///{tmp_path / 'policies.db'}"
    made = [bot_context(url, fake.client(), approvers=(APPROVER,), clock=clock) for _ in range(2)]
    yield made, fake, clock
    for ctx in made:
        close(ctx)


def test_a_policy_added_by_an_approver_shows_its_first_run_and_a_dry_run(slack):
    from bot.slack import policy_runs
    from bot.slack.command_table import parse_command

    (ctx, _), fake, _ = slack
    for i in range(3):
        fake.push("app", [f"ci-{i}"], f"image {i}", f"2026-0{i + 1}-01T00:00:00Z")
    command = parse_command("policy add keep-one app --keep 1 --every 6h old ci")
    said = policy_runs.add_reply(ctx, command, OUTSIDER, "C0CHAN01")
    assert "Only approvers" in said.text
    said = policy_runs.add_reply(ctx, command, APPROVER, "C0CHAN01")
    text = str(said.blocks[0].text.text)
    assert "Saved the cleanup policy *keep-one*" in text and "every 6h" in text
    assert "delete 2 images (2 tags)" in text and "Nothing has been requested" in text
    assert ctx.web.calls == [] and fake.deletes == []  # nothing posted, nothing deleted


def _hourly_keep_one(ctx, fake, clock) -> None:
    """Three dated images, an hourly policy keeping one, and the clock at its first slot."""
    from bot.slack import policy_runs
    from bot.slack.command_table import parse_command

    for i in range(3):
        fake.push("app", [f"ci-{i}"], f"image {i}", f"2026-0{i + 1}-01T00:00:00Z")
    command = parse_command("policy add keep-one app --keep 1 --every 1h --channel C0PLAT01")
    policy_runs.add_reply(ctx, command, APPROVER, "C0CHAN01")
    clock.now = T0 + timedelta(hours=1, seconds=5)


def test_a_due_slot_is_posted_once_by_two_processes_for_approval(slack):
    from bot.deletions import State
    from bot.slack import policy_runs

    (one, two), fake, clock = slack
    _hourly_keep_one(one, fake, clock)
    threads = [threading.Thread(target=policy_runs.run_due, args=(c,)) for c in (one, two)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    posts = [
        c for ctx in (one, two) for c in ctx.web.posts("C0PLAT01") if not c.args.get("thread_ts")
    ]
    assert len(posts) == 1 and "Dry run" not in posts[0].text and "ci-0" in posts[0].text
    (run,) = one.policies.runs("keep-one")
    request = one.deletions.store.get(run.request_id)
    assert request.state == State.PENDING and request.requester == APPROVER
    assert request.reason.startswith("policy keep-one, slot")
    assert fake.deletes == []  # it asks first
    policy_runs.run_due(one)
    policy_runs.run_due(two)  # the slot is done: nothing more
    assert (
        len(
            [
                c
                for ctx in (one, two)
                for c in ctx.web.posts("C0PLAT01")
                if not c.args.get("thread_ts")
            ]
        )
        == 1
    )
    listed = str(policy_runs.list_reply(one).blocks[0].text.text)
    assert "keep-one" in listed and "asked for approval" in listed and "overdue" not in listed
    clock.now += timedelta(hours=3)  # the bot stopped over two slots: overdue, then one late run
    assert "*overdue*" in str(policy_runs.list_reply(one).blocks[0].text.text)
    policy_runs.run_due(one)
    late = one.policies.runs("keep-one")[0]
    assert late.late_since is not None and late.slot == T0 + timedelta(hours=4)


def test_a_newer_plan_supersedes_the_one_still_waiting_and_a_late_click_deletes_nothing(slack):
    from bot.deletions import State
    from bot.slack import deleting, policy_runs

    (ctx, _), fake, clock = slack
    _hourly_keep_one(ctx, fake, clock)
    policy_runs.run_due(ctx)
    first = ctx.policies.runs("keep-one")[0].request_id
    clock.now += timedelta(hours=1)
    policy_runs.run_due(ctx)  # nobody voted on the first: the second replaces it
    second = ctx.policies.runs("keep-one")[0].request_id
    assert first != second
    assert ctx.deletions.request(first).state == State.SUPERSEDED
    assert ctx.deletions.request(second).state == State.PENDING
    where = ctx.messages.get(first, deleting.MessageRole.REQUEST)
    redrawn = ctx.web.updates(where.ts)[-1].text
    assert "*Superseded*" in redrawn and "deletion_approve" not in redrawn
    audit = ctx.messages.get(first, deleting.MessageRole.AUDIT)
    assert "*superseded*" in ctx.web.posts(audit.channel, thread_ts=audit.ts)[-1].text
    deleting.vote(ctx, first, APPROVER, True, "https://r/1", (where.channel, where.ts))
    assert "already superseded" in ctx.responder.texts("https://r/1")[-1]
    assert fake.deletes == []


def test_a_slot_while_the_previous_run_is_carried_out_is_skipped_and_said_once(slack):
    from bot.policies import PolicyRun
    from bot.slack import policy_runs
    from bot.slack.command_table import parse_command

    (ctx, _), fake, clock = slack
    fake.push("app", ["v1"], "a")
    command = parse_command("policy add p app --keep 1 --every 1h --channel C0PLAT01")
    policy_runs.add_reply(ctx, command, APPROVER, "C0CHAN01")
    # The previous run is still planning (another process claimed it and works on it).
    clock.now = T0 + timedelta(hours=1, seconds=5)
    ctx.policies.store.claim(PolicyRun("p", T0, RunState.CLAIMED, clock.now, manual=True))
    policy_runs.run_due(ctx)
    (skipped, _) = ctx.policies.runs("p")
    assert skipped.state == RunState.SKIPPED and skipped.slot == T0 + timedelta(hours=1)
    (said,) = ctx.web.posts("C0PLAT01")
    assert "skipped its slot" in said.text
    policy_runs.run_due(ctx)  # said once: the slot is done
    assert len(ctx.web.posts("C0PLAT01")) == 1


def test_a_slot_skipped_while_the_previous_cleanup_runs_is_said_in_its_thread(slack):
    """The run under way owns its message: the skipped slot is said in its thread, not
    as a new message in the channel."""
    from sqlalchemy import update

    from bot.deletions import State
    from bot.deletions.schema import requests
    from bot.slack import policy_runs
    from bot.slack.messages import MessageRole

    (ctx, _), fake, clock = slack
    _hourly_keep_one(ctx, fake, clock)
    policy_runs.run_due(ctx)
    (posted,) = ctx.policies.runs("keep-one")
    where = ctx.messages.get(posted.request_id, MessageRole.REQUEST)
    with ctx.deletions.store.engine.begin() as conn:  # its cleanup is being carried out
        conn.execute(
            update(requests)
            .where(requests.c.id == posted.request_id)
            .values(state=State.EXECUTING.value)
        )
    top_level = len([c for c in ctx.web.posts("C0PLAT01") if not c.args.get("thread_ts")])
    clock.now += timedelta(hours=1)
    policy_runs.run_due(ctx)
    assert ctx.policies.runs("keep-one")[0].state == RunState.SKIPPED
    (said,) = ctx.web.posts("C0PLAT01", thread_ts=where.ts)[-1:]
    assert "skipped its slot" in said.text
    assert len([c for c in ctx.web.posts("C0PLAT01") if not c.args.get("thread_ts")]) == top_level


def test_an_overdue_policy_is_said_once_whatever_the_number_of_processes(slack):
    from bot.slack import policy_runs

    (one, two), fake, clock = slack
    _hourly_keep_one(one, fake, clock)
    policy_runs.tell_overdue(one)
    assert one.web.posts("C0PLAT01") == []  # due, not overdue: one slot has come
    clock.now += timedelta(hours=1)  # the scheduler wedged: a second slot passes unrun
    for ctx in (one, two, one):
        policy_runs.tell_overdue(ctx)
    said = [c for ctx in (one, two) for c in ctx.web.posts("C0PLAT01")]
    assert len(said) == 1 and "is overdue" in said[0].text
    policy_runs.run_due(two)  # it runs (late) at last, and is no longer overdue
    assert not one.policies.overdue(one.policies.get("keep-one"))
