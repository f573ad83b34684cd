"""The Home tab: what waits on the person who opens it (the requests they may vote on,
with Approve and Reject), what they asked for and where it stands, the cleanup
policies, the storage headline and the latest alerts. A pure function of ``HomeFacts``;
long lists end with "and N more" and the command that shows them all, so the view stays
within Slack's 100 blocks and 250 KB."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
)
from slack_sdk.models.views import View

from ...deletions import DeletionRequest, Standing, State
from ...events import Activity, ActivityKind
from ...policies import Policy, PolicyRun
from ...registry import human_size
from ...storage import Snapshot, Trend
from ..buttons import (
    ACTION_EDIT_POLICY,
    ACTION_HOME_APPROVE,
    ACTION_HOME_REJECT,
    ACTION_HOME_RUN_POLICY,
    ACTION_HOME_UNDO,
    policy_value,
)
from .approvals import short_votes
from .common import (
    age,
    code,
    escape,
    freed_text,
    mention,
    on_registry,
    section,
    slack_date,
    target_text,
)
from .limits import checked_view
from .policies import policy_result_text, schedule_text

WAITING_SHOWN = 10  # requests with buttons (3 blocks each)
MINE_SHOWN = 10
POLICIES_SHOWN = 8  # two blocks each
ALERTS_SHOWN = 5
STORAGE_SHOWN = 5  # registries
STATE_WORDS = {
    State.DRAFT: "previewed, not requested",
    State.SUBMITTING: "being posted",
    State.PENDING: "waiting for approval",
    State.EXECUTING: "being carried out",
    State.DONE: "done",
    State.FAILED: "failed",
    State.REJECTED: "rejected",
    State.EXPIRED: "expired",
    State.CANCELLED: "cancelled",
    State.SUPERSEDED: "superseded by a newer run of its policy",
}


@dataclass(frozen=True)
class PolicyLine:
    """A policy as the Home shows it: its last run, next run, and whether it is late."""

    policy: Policy
    last: PolicyRun | None
    next_run: datetime
    overdue: bool
    registry: str | None = None  # its registry, when more than one is served
    manageable: bool = False  # the Home's person may run and edit it


@dataclass(frozen=True)
class StorageFacts:
    """A registry's latest storage snapshot and its trend (``registry``: its name, when
    more than one is served)."""

    snapshot: Snapshot | None = None
    trend: Trend | None = None
    registry: str | None = None


@dataclass(frozen=True)
class HomeFacts:
    """Everything one person's Home shows, read when it is drawn. ``radius``: for each
    request shown, the tags and images it deletes (None where not known); ``undo``:
    until when each of the user's requests can be undone; ``notice``: what their last
    click from the Home came to."""

    user: str
    now: datetime
    zone: ZoneInfo
    approver: bool
    waiting: list[DeletionRequest] = field(default_factory=list)
    mine: list[DeletionRequest] = field(default_factory=list)
    radius: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    standings: dict[str, Standing] = field(default_factory=dict)  # of the requests shown
    undo: dict[str, datetime] = field(default_factory=dict)
    policies: list[PolicyLine] = field(default_factory=list)
    storage: list[StorageFacts] = field(default_factory=list)  # a registry each
    alerts: list[tuple[Activity, str | None]] = field(default_factory=list)  # with registry
    events_recorded: bool = False
    notice: str | None = None
    registry_of: dict[str, str] = field(default_factory=dict)  # request ID: its registry

    def on(self, request: DeletionRequest) -> str:
        """ " on *NAME*" for a request, when more than one registry is served."""
        return on_registry(self.registry_of.get(request.id))


def _more(shown: int, total: int, command: str) -> list[Block]:
    if total <= shown:
        return []
    text = f"… and {total - shown} more: `{command}`"
    return [ContextBlock(elements=[MarkdownTextObject(text=text)])]


def _radius_text(request: DeletionRequest, radius: tuple[int | None, int | None] | None) -> str:
    tags, images = radius if radius is not None else (None, None)
    parts = []
    if tags is not None:
        parts.append(f"{tags} tags")
    if images is not None:
        parts.append(f"{images} images")
    freed = freed_text(request.reclaimable, request.reclaim_basis)
    if freed:
        parts.append(f"frees {freed}")
    return ", ".join(parts) if parts else "what it deletes is on its message"


def _waiting(facts: HomeFacts) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text=f"Waiting on you ({len(facts.waiting)})")]
    if not facts.waiting:
        nothing = (
            "Nothing waits for your approval."
            if facts.approver
            else "You are not an approver: nothing waits on you."
        )
        return [*blocks, section(nothing)]
    for request in facts.waiting[:WAITING_SHOWN]:
        reason = f"\n_{escape(request.reason[:300])}_" if request.reason else ""
        standing = facts.standings.get(request.id)
        votes = short_votes(standing) if standing is not None else "?"
        blocks.append(
            section(
                f"{code(target_text(request), 200)}{facts.on(request)} by "
                f"{mention(request.requester)}, "
                f"{age(request.created_at, facts.now)} in <#{request.channel}>{reason}\n"
                f"{escape(_radius_text(request, facts.radius.get(request.id)))} · "
                f"approvals {votes} · "
                f"expires {slack_date(request.expires_at)}"
            )
        )
        blocks.append(
            ActionsBlock(
                block_id=f"home_vote_{request.id}",
                elements=[
                    ButtonElement(
                        text="Approve",
                        action_id=ACTION_HOME_APPROVE,
                        value=request.id,
                        style="primary",
                    ),
                    ButtonElement(
                        text="Reject",
                        action_id=ACTION_HOME_REJECT,
                        value=request.id,
                        style="danger",
                    ),
                ],
            )
        )
    return blocks + _more(WAITING_SHOWN, len(facts.waiting), "/registry pending")


def _mine(facts: HomeFacts) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Your requests")]
    if not facts.mine:
        return [*blocks, section("You have not asked for a deletion lately.")]
    for request in facts.mine[:MINE_SHOWN]:
        until = facts.undo.get(request.id)
        undo = f" · Undo until {slack_date(until)}" if until is not None else ""
        block = section(
            f"{code(target_text(request), 150)}{facts.on(request)} in <#{request.channel}>, "
            f"{age(request.created_at, facts.now)}: *{STATE_WORDS[request.state]}*{undo}"
        )
        if until is not None:
            block.accessory = ButtonElement(
                text="Undo", action_id=ACTION_HOME_UNDO, value=request.id
            )
        blocks.append(block)
    return blocks


def _policies(facts: HomeFacts) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text=f"Cleanup policies ({len(facts.policies)})")]
    if not facts.policies:
        return [*blocks, section("No cleanup policies. `/registry policy add` makes one.")]
    for line in facts.policies[:POLICIES_SHOWN]:
        policy = line.policy
        state = (
            ":double_vertical_bar: paused" if policy.paused else f"next {slack_date(line.next_run)}"
        )
        overdue = " · *overdue*" if line.overdue else ""
        ran = f"last: {policy_result_text(line.last)}" if line.last else "not run yet"
        where = on_registry(line.registry)
        text = (
            f"*{escape(policy.name)}*{where} {code(policy.pattern, 100)}, "
            f"{escape(schedule_text(policy.schedule, facts.zone))}, to <#{policy.channel}>\n"
            f"{ran} · {state}{overdue}"
        )
        blocks.append(section(text))
        if line.manageable:
            value = policy_value(policy.name, line.registry)
            buttons = [ButtonElement(text="Edit", action_id=ACTION_EDIT_POLICY, value=value)]
            if not policy.paused:
                buttons.insert(
                    0, ButtonElement(text="Run now", action_id=ACTION_HOME_RUN_POLICY, value=value)
                )
            blocks.append(ActionsBlock(elements=buttons))
    return blocks + _more(POLICIES_SHOWN, len(facts.policies), "/registry policy list")


def _change(amount: int | None, days: int) -> str:
    if amount is None:
        return f"{days}-day change not known yet"
    sign = "+" if amount >= 0 else "-"
    return f"{sign}{human_size(abs(amount))} over {days} days"


def _storage(facts: HomeFacts) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Storage")]
    for each in (facts.storage or [StorageFacts()])[:STORAGE_SHOWN]:
        blocks.append(section(_storage_text(each)))
    return blocks


def _storage_text(facts: StorageFacts) -> str:
    """One registry's storage, as of its latest snapshot."""
    on = f"*{escape(facts.registry)}*: " if facts.registry else ""
    snapshot = facts.snapshot
    if snapshot is None:
        return f"{on}No storage snapshot yet: `/registry storage` reads the registry."
    top = sorted(snapshot.repositories.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    partial = " (part of the registry only)" if snapshot.unread else ""
    trend = facts.trend
    change = _change(trend.change_7 if trend else None, 7)
    lines = [
        f"{on}*{human_size(snapshot.total)}* stored as of {snapshot.day.isoformat()}{partial} · "
        f"{change}",
        "Most: " + ", ".join(f"{code(name, 80)} {human_size(size)}" for name, size in top)
        if top
        else "No repositories.",
    ]
    return "\n".join(lines)


def _alerts(facts: HomeFacts) -> list[Block]:
    blocks: list[Block] = [HeaderBlock(text="Alerts")]
    if not facts.events_recorded:
        return [*blocks, section("The registry's events aren't recorded: no alerts to show.")]
    if not facts.alerts:
        return [*blocks, section("No outside deletions or protected-tag moves lately.")]
    lines = []
    for alert, registry in facts.alerts[:ALERTS_SHOWN]:
        who = f" by {code(alert.actor, 60)}" if alert.actor else ""
        who += on_registry(registry)
        if alert.kind == ActivityKind.OUTSIDE_DELETE:
            what = (
                f"{code(alert.repository + '@' + alert.digest[:19], 120)} deleted outside the bot"
            )
        else:
            what = f"protected tag {code(f'{alert.repository}:{alert.tag}', 120)} moved"
        lines.append(f"{slack_date(alert.at)} {what}{who}")
    return [*blocks, section("\n".join(lines))]


def render_home(facts: HomeFacts) -> dict[str, Any]:
    """The Home view of ``facts.user``, validated (slack_sdk's checks, 100 blocks, 250 KB)."""
    blocks: list[Block] = []
    if facts.notice:
        blocks.append(section(f":information_source: {escape(facts.notice)}"))
    blocks += _waiting(facts)
    blocks += [DividerBlock(), *_mine(facts)]
    blocks += [DividerBlock(), *_policies(facts)]
    blocks += [DividerBlock(), *_storage(facts)]
    blocks += [DividerBlock(), *_alerts(facts)]
    blocks.append(
        ContextBlock(
            elements=[MarkdownTextObject(text=f"As of {slack_date(facts.now)}. `/registry help`")]
        )
    )
    return checked_view(View(type="home", blocks=blocks).to_dict())
