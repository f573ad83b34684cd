"""What approving takes, unit tier: votes counted part by part (a voter counts for
every group they are in, once; the requester for none), a pinned approval joined with a
stricter one, its stored form, and the words for it."""

from __future__ import annotations

import pytest

from bot.deletions import Approval, ApprovalGroup, ApprovalPart, OwnerRule, Owners
from bot.deletions.owners import standing
from bot.slack.render.approvals import agree_text, short_votes, votes_text

TEAM = ApprovalPart(("UA1", "UA2"), ("STEAM",), 1)
PLATFORM = ApprovalPart((), ("SPLAT",), 1)
MEMBERS = {"STEAM": {"UT1", "UBOTH"}, "SPLAT": {"UP1", "UBOTH"}}


def is_member(user: str, part: ApprovalPart) -> bool:
    return user in part.users or any(user in MEMBERS.get(g, set()) for g in part.groups)


def test_votes_count_for_each_group_the_voter_is_in_once_and_never_the_requesters():
    both = Approval((TEAM, PLATFORM), "team/**")
    assert not standing(both, ["UA1"], "UREQ", is_member).met
    first = standing(both, ["UA1", "UA1", "UREQ"], "UREQ", is_member)
    assert [p.approved_by for p in first.parts] == [("UA1",), ()]
    assert [p.part for p in first.missing] == [PLATFORM]
    assert standing(both, ["UA1", "UP1"], "UREQ", is_member).met
    assert standing(both, ["UBOTH"], "UREQ", is_member).met  # in both groups: counts twice
    assert not standing(both, ["UBOTH"], "UBOTH", is_member).met  # the requester: never
    two = Approval((ApprovalPart(("UA1", "UA2"), (), 2),))
    assert not standing(two, ["UA1", "UA1"], "UREQ", is_member).met  # one person, once


def test_a_pinned_approval_joined_with_a_stricter_one_needs_both_and_is_stored_whole():
    pinned = Approval((TEAM,), "team/**")
    stricter = Approval((TEAM, PLATFORM), "team/**")
    assert pinned.with_(pinned) == pinned
    assert pinned.with_(stricter).parts == (TEAM, PLATFORM)
    assert Approval.from_data(stricter.as_data()) == stricter
    assert Approval.from_data(Approval((TEAM,)).as_data()).owner is None


def test_an_owner_rule_gives_its_terms_and_the_rest_keep_the_global_ones():
    rule = OwnerRule(
        0,
        ("team/**",),
        ("UA1", "STEAM"),
        approvals_required=2,
        approval_channel="C0TEAM",
        also_required=ApprovalGroup(("SPLAT",), 1),
    )
    owners = Owners([rule])
    terms = owners.terms_for("team/app")
    assert terms.approval.parts == (
        ApprovalPart(("UA1",), ("STEAM",), 2),
        ApprovalPart((), ("SPLAT",), 1),
    )
    assert terms.approval_channel == "C0TEAM" and terms.owner.pattern == "team/**"
    assert owners.terms_for("other/app") is owners.default
    groups = owners.by_owner(["team/a", "other/b", "team/c"])
    assert [len(v) for v in groups.values()] == [2, 1]


def test_the_words_say_who_must_agree_and_what_is_missing():
    both = Approval((TEAM, PLATFORM), "team/**")
    said = agree_text(both)
    assert said.startswith("1 of <@UA1>, <@UA2>, <!subteam^STEAM> and 1 of <!subteam^SPLAT>")
    assert "`team/**`" in said
    assert agree_text(Approval((ApprovalPart(("UA1",), (), 2),))) == "2 approvers agree (<@UA1>)"
    half = standing(both, ["UA1"], "UREQ", is_member)
    votes = votes_text(half)
    assert "1/1 of" in votes and "0/1 of <!subteam^SPLAT>: still needed" in votes
    assert short_votes(half) == "1/1 + 0/1"
    raised = standing(both, [], "UREQ", is_member, raised=True)
    assert "asks more now" in votes_text(raised)
    hostile = Approval((TEAM,), "x`<!channel>")
    assert "<!channel>" not in agree_text(hostile)


def test_a_policy_over_two_owners_posts_a_request_per_owner_and_the_next_run_supersedes_both(
    tmp_path,
):
    from datetime import UTC, datetime, timedelta

    from bot.deletions import State
    from bot.slack import policy_runs
    from bot.slack.command_table import parse_command
    from testkit.fake_registry import FakeRegistry
    from testkit.slack_fakes import bot_context, close

    class Clock:
        now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

        def __call__(self) -> datetime:
            return self.now

    fake, clock = FakeRegistry(), Clock()
    for repository in ("a/app", "b/app"):
        for i in range(2):
            fake.push(repository, [f"ci-{i}"], f"{repository} {i}", f"2026-0{i + 1}-01T00:00:00Z")
    rules = (OwnerRule(0, ("a/*",), ("UTEAMA",), approval_channel="C0TEAMA"),)
    ctx = bot_context(
        f"sqlite:///{tmp_path / 'o.db'}", fake.client(), clock=clock, owner_rules=rules
    )
    try:
        command = parse_command("policy add both */app --keep 1 --every 1h --channel C0PLANS")
        policy_runs.add_reply(ctx, command, "UAPPROVE1", "C0CHAN01")
        clock.now += timedelta(hours=1, seconds=5)
        policy_runs.run_due(ctx)
        first = ctx.deletions.request(ctx.policies.runs("both")[0].request_id)
        parts = ctx.deletions.batch_of(first)
        assert [r.state for r in parts] == [State.PENDING, State.PENDING]
        team_a = [c for c in ctx.web.posts("C0TEAMA") if not c.args.get("thread_ts")]
        plans = [c for c in ctx.web.posts("C0PLANS") if not c.args.get("thread_ts")]
        assert len(team_a) == 1 and "a/app" in team_a[0].text
        assert len(plans) == 1 and "b/app" in plans[0].text  # the other owner: the global
        clock.now += timedelta(hours=1)
        policy_runs.run_due(ctx)  # nobody voted: the new run's requests replace both
        assert [ctx.deletions.request(r.id).state for r in parts] == [State.SUPERSEDED] * 2
        assert fake.deletes == []
    finally:
        close(ctx)


def test_owners_and_whoami_say_who_decides_where(tmp_path):
    from bot.slack.command_replies import Asker, answer
    from bot.slack.command_table import parse_command
    from testkit.fake_registry import FakeRegistry
    from testkit.slack_fakes import bot_context, close

    def said(ctx, text: str, user: str = "UNOBODY1") -> str:
        asker = Asker(user, "C0CHAN01", "https://r/1")
        return str(answer(parse_command(text), ctx, asker).to_dict()["blocks"])

    plain = bot_context(f"sqlite:///{tmp_path / 'a.db'}", FakeRegistry().client())
    try:
        assert "No owner rules are configured" in said(plain, "owners")
        assert "No owner rule names `x/y`" in said(plain, "owners x/y")
        assert "you may not approve any deletion" in said(plain, "whoami")
    finally:
        close(plain)
    rules = (OwnerRule(0, ("a/*",), ("UTEAMA",), protected_tags=None),)
    owned = bot_context(
        f"sqlite:///{tmp_path / 'b.db'}", FakeRegistry().client(), owner_rules=rules
    )
    try:
        listed = said(owned, "owners")
        assert "owner rule #1" in listed and "Every other repository" in listed
        assert "owner rule #1" in said(owned, "owners a/app") and "<@UTEAMA>" in listed
        mine = said(owned, "whoami", "UTEAMA")
        assert "owner rule #1" in mine and "global settings" not in mine
    finally:
        close(owned)


def test_a_rule_holds_only_the_patterns_under_its_own():
    rule = OwnerRule(0, ("team-a/**", "tools/team-a-*"), ("UA1",))
    for pattern in ("team-a/**", "team-a/*", "team-a/ci-*", "team-a/x/y", "tools/team-a-*"):
        assert rule.holds(pattern), pattern
    for pattern in ("team-*", "*", "**", "team-ab/*", "tools/team-a-x", "tools/*"):
        assert not rule.holds(pattern), pattern
    assert not OwnerRule(0, ("team-*/**",), ("UA1",)).holds("team-a/app")  # not a literal


def test_a_teams_approvers_manage_the_policies_within_their_repositories(tmp_path):
    from datetime import timedelta

    from bot.deletions import RetentionRules
    from bot.policies import PolicyRefused
    from bot.policies.schedule import every
    from testkit.fake_registry import FakeRegistry
    from testkit.slack_fakes import bot_context, close

    rules = (
        OwnerRule(0, ("a/**",), ("UTEAMA",)),
        OwnerRule(1, ("b/**",), ("UTEAMB",)),
    )
    ctx = bot_context(f"sqlite:///{tmp_path / 'p.db'}", FakeRegistry().client(), owner_rules=rules)
    policies, keep, hourly = ctx.policies, RetentionRules(keep=1), every(timedelta(hours=1))
    try:
        policies.add("team-a-ci", "a/ci-*", keep, hourly, "C0TEAMA", "UTEAMA")
        for user, pattern in (("UTEAMA", "*/ci-*"), ("UTEAMB", "a/*"), ("UNOBODY1", "a/*")):
            with pytest.raises(PolicyRefused):
                policies.add("wide", pattern, keep, hourly, "C0TEAMA", user)
        with pytest.raises(PolicyRefused):  # another team's
            policies.set_paused("team-a-ci", "UTEAMB", True)
        with pytest.raises(PolicyRefused):
            policies.remove("team-a-ci", "UTEAMB")
        with pytest.raises(PolicyRefused):  # widened beyond team A's repositories
            policies.change("team-a-ci", "*", keep, hourly, "C0TEAMA", "UTEAMA")
        from bot.slack import home

        shown = {u: home.home_facts(ctx, u).policies[0].manageable for u in ("UTEAMA", "UTEAMB")}
        assert shown == {"UTEAMA": True, "UTEAMB": False}  # Run now and Edit: A's only
        assert policies.set_paused("team-a-ci", "UTEAMA", True).paused
        assert policies.remove("team-a-ci", "UAPPROVE1").name == "team-a-ci"  # global
        changes = [e for e in ctx.deletions.recent_audit() if e.event == "policy changed"]
        assert [e.actor for e in changes][::-1] == ["UTEAMA", "UTEAMA", "UAPPROVE1"]
    finally:
        close(ctx)
