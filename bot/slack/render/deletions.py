"""Deletion messages: the preview, the request in the channel, its outcome, the audit
trail, and the lists of ``pending`` and ``audit``.

Buttons carry only the request's ID; what gets deleted comes from the database.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from ...deletions import AuditEvent, DeletionRequest, Kind, State
from ...deletions.service import GC_REMINDER
from ...registry import Image
from .common import (
    Message,
    age,
    code,
    escape,
    fit_lines,
    human_size,
    mention,
    slack_date,
    truncate,
)
from .limits import MAX_SECTION_TEXT

ACTION_SUBMIT = "deletion_submit"
ACTION_CANCEL = "deletion_cancel"
ACTION_APPROVE = "deletion_approve"
ACTION_REJECT = "deletion_reject"

OUTCOME_ICONS = {
    State.DELETED: ":white_check_mark:",
    State.FAILED: ":x:",
    State.REJECTED: ":no_entry_sign:",
    State.EXPIRED: ":hourglass:",
    State.CANCELLED: ":leftwards_arrow_with_hook:",
}


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, MAX_SECTION_TEXT)))


def _what(request: DeletionRequest) -> str:
    return "blob" if request.kind == Kind.BLOB else "image"


def _tags_line(request: DeletionRequest) -> str:
    if request.kind == Kind.BLOB:
        return ""
    if not request.siblings:
        return "No other tag points at this digest."
    tags = [code(t, 130) for t in request.siblings]
    return fit_lines(
        f":warning: *Deleting the digest also removes {len(tags)} other "
        f"tag{'s' if len(tags) != 1 else ''}* (they point at the same image):",
        [", ".join(tags[i : i + 8]) for i in range(0, len(tags), 8)],
        1500,
    )


def _facts(request: DeletionRequest) -> list[str]:
    lines = [
        f"*Target* {code(request.target, 300)} ({_what(request)})",
        f"*Digest* `{escape(request.digest)}`",
    ]
    if request.size is not None:
        lines.append(f"*Size* {human_size(request.size)}")
    if request.platforms:
        lines.append("*Platforms* " + escape(", ".join(request.platforms[:12])))
    lines.append(
        f"*Reason* {escape(truncate(request.reason, 500))}"
        if request.reason
        else "*Reason* none given"
    )
    return lines


def render_preview(
    request: DeletionRequest, image: Image | None, approvers: list[str], now: datetime
) -> Message:
    """The ephemeral preview: what would go, with Request / Cancel."""
    removed = len(request.tags_removed)
    confirm_text = (
        f"Once {request.approvals_required} approver"
        f"{'s' if request.approvals_required != 1 else ''} agree, "
        + (
            f"{request.repository}@{request.digest[:19]}… and its {removed} "
            f"tag{'s' if removed != 1 else ''} will be deleted."
            if request.kind == Kind.MANIFEST
            else f"the blob {request.digest[:19]}… will be deleted."
        )
    )
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"Delete {request.target}?", 150)),
        _section("\n".join(_facts(request))),
    ]
    tags = _tags_line(request)
    if tags:
        blocks.append(_section(tags))
    blocks += [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=truncate(
                        f"Nothing changes until {request.approvals_required} approver"
                        f"{'s' if request.approvals_required != 1 else ''} agree "
                        f"({', '.join(mention(a) for a in approvers[:10])}). "
                        f"The digest is pinned now: if the tag moves, nothing is deleted. "
                        f"This preview expires {slack_date(request.expires_at)}.",
                        2000,
                    )
                )
            ]
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Request deletion",
                    action_id=ACTION_SUBMIT,
                    value=request.id,
                    style="danger",
                    confirm=ConfirmObject(
                        title="Request this deletion?",
                        text=truncate(confirm_text, 300),
                        confirm="Request",
                        deny="Back",
                    ),
                ),
                ButtonElement(text="Cancel", action_id=ACTION_CANCEL, value=request.id),
            ]
        ),
    ]
    return Message(
        text=f"Delete {request.target}? Digest {request.digest}; {removed} tag(s) removed.",
        blocks=blocks,
    )


def _votes(request: DeletionRequest) -> str:
    approvals = [a for a in request.approvals if a != request.requester]
    who = f" ({', '.join(mention(a) for a in approvals)})" if approvals else ""
    return f"*Approvals* {len(approvals)}/{request.approvals_required}{who}"


def render_request(request: DeletionRequest, approvers: list[str]) -> Message:
    """The request in the channel: who, what, votes, expiry, Approve / Reject."""
    if request.state.is_closed or request.state == State.EXECUTING:
        return render_closed(request)
    head = (
        f":wastebasket: {mention(request.requester)} requests the deletion of an {_what(request)}."
    )
    blocks: list[Block] = [_section(head), _section("\n".join(_facts(request)))]
    tags = _tags_line(request)
    if tags:
        blocks.append(_section(tags))
    blocks += [
        _section(
            f"{_votes(request)} · approvers: "
            + ", ".join(mention(a) for a in approvers[:20])
            + f"\n*Expires* {slack_date(request.expires_at)}"
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Approve", action_id=ACTION_APPROVE, value=request.id, style="primary"
                ),
                ButtonElement(
                    text="Reject", action_id=ACTION_REJECT, value=request.id, style="danger"
                ),
            ]
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="The requester cannot approve their own request; Reject by the requester "
                    "withdraws it."
                )
            ]
        ),
    ]
    return Message(text=f"Deletion requested: {request.target} ({request.digest})", blocks=blocks)


def _outcome_line(request: DeletionRequest) -> str:
    when = slack_date(request.closed_at) if request.closed_at else ""
    state = request.state
    if state == State.EXECUTING:
        return ":hourglass_flowing_sand: *Approved: deleting now…*"
    if state == State.DELETED:
        return f"{OUTCOME_ICONS[state]} *Deleted* {when}. {_votes(request)}"
    if state == State.REJECTED:
        return f"{OUTCOME_ICONS[state]} *Rejected* by {mention(request.closed_by)} {when}."
    if state == State.CANCELLED:
        return f"{OUTCOME_ICONS[state]} *Cancelled* by {mention(request.closed_by)} {when}."
    if state == State.EXPIRED:
        return f"{OUTCOME_ICONS[state]} *Expired* {when}: not approved in time."
    return f"{OUTCOME_ICONS[State.FAILED]} *Failed* {when}: nothing was deleted.\n" + escape(
        truncate(request.outcome, 2000)
    )


def render_closed(request: DeletionRequest) -> Message:
    """The request message once decided: its outcome, and no buttons."""
    footer = f"Digest `{escape(request.digest)}`"
    if request.siblings and request.state == State.DELETED:
        footer += " · also removed tags " + ", ".join(code(t, 60) for t in request.siblings[:10])
    blocks: list[Block] = [
        _section(
            f"{mention(request.requester)} requested the deletion of {code(request.target, 300)}."
        ),
        _section(_outcome_line(request)),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(footer, 2000))]),
    ]
    if request.state == State.DELETED:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=GC_REMINDER)]))
    return Message(text=f"Deletion of {request.target}: {request.state}", blocks=blocks)


def render_audit_parent(request: DeletionRequest) -> Message:
    return Message(
        text=f"Deletion request {request.id}: {request.target}",
        blocks=[
            _section(
                f":scroll: Deletion request `{request.id}`: {code(request.target, 300)}"
                f" (`{escape(request.digest)}`), requested by "
                f"{mention(request.requester)}. Events follow in the thread."
            )
        ],
    )


def audit_text(event: AuditEvent) -> str:
    """One audit event as a line of mrkdwn (details escaped)."""
    who = mention(event.actor) if event.actor else "registry-bot"
    detail = f": {escape(truncate(event.detail, 1500))}" if event.detail else ""
    return f"*{escape(event.event)}* by {who}{detail}"


def render_audit_event(event: AuditEvent) -> Message:
    return Message(text=f"{event.event}: {event.detail}", blocks=[_section(audit_text(event))])


def render_pending(requests: list[DeletionRequest], now: datetime) -> Message:
    if not requests:
        return Message(
            text="No deletion requests are waiting for approval.",
            blocks=[_section("No deletion requests are waiting for approval.")],
        )
    lines = [
        f"{code(r.target, 200)} by {mention(r.requester)}, {age(r.created_at, now)}: "
        f"{len([a for a in r.approvals if a != r.requester])}/{r.approvals_required} "
        f"approvals, expires {slack_date(r.expires_at)}"
        for r in requests
    ]
    return Message(
        text=f"{len(requests)} deletion request(s) pending",
        blocks=[
            HeaderBlock(text="Pending deletions"),
            _section(fit_lines("", lines, MAX_SECTION_TEXT)),
        ],
    )


def render_audit_log(events: list[AuditEvent]) -> Message:
    if not events:
        return Message(text="The audit log is empty.", blocks=[_section("The audit log is empty.")])
    lines = [f"{slack_date(e.at)} `{escape(e.request_id or '-')}` {audit_text(e)}" for e in events]
    return Message(
        text=f"Last {len(events)} audit events",
        blocks=[
            HeaderBlock(text=f"Last {len(events)} audit events"),
            _section(fit_lines("", lines, MAX_SECTION_TEXT)),
        ],
    )


def render_notice(text: str) -> Message:
    """A short ephemeral note (refusals, 'already done', how to fix a setting)."""
    return Message(text=text, blocks=[_section(escape(text))])
