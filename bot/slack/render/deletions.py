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
)

from ...deletions import AuditEvent, CleanupItem, DeletionRequest, Kind, Standing, State
from ...registry import Image, human_size
from ..buttons import (
    ACTION_APPROVE,
    ACTION_CANCEL,
    ACTION_REJECT,
    ACTION_SUBMIT,
    ACTION_SUBMIT_UNTAG,
    ACTION_UNDO,
    ACTION_UNUSED_LAYERS,
)
from .approvals import agree_text, short_votes, votes_text
from .cleanups import plan_summary
from .common import (
    Message,
    age,
    code,
    escape,
    fit_lines,
    freed_text,
    mention,
    on_registry,
    section,
    slack_date,
    target_text,
    truncate,
)
from .limits import MAX_SECTION_TEXT
from .outcomes import outcome_line, outcome_text

OUTCOME_ICONS = {
    State.DONE: ":white_check_mark:",
    State.FAILED: ":x:",
    State.REJECTED: ":no_entry_sign:",
    State.EXPIRED: ":hourglass:",
    State.CANCELLED: ":leftwards_arrow_with_hook:",
    State.SUPERSEDED: ":fast_forward:",
}


def _what(request: DeletionRequest) -> str:
    return {
        Kind.MANIFEST: "image",
        Kind.TAG: "tag",
        Kind.BLOB: "blob",
        Kind.BLOBS: "set of unused layers",
        Kind.PRUNE: "cleanup",
        Kind.RESTORE: "restore",
    }[request.kind]


def _restoring(request: DeletionRequest) -> bool:
    return request.kind == Kind.RESTORE


def _tags_line(request: DeletionRequest) -> str:
    if _restoring(request) and request.moved_to:
        return (
            f"{code(f'{request.repository}:{request.tag}', 200)} is moved back from "
            f"`{escape(request.moved_to)}` to `{escape(request.digest)}`, only if it still "
            "points where it does now."
        )
    if _restoring(request):
        tags = [str(t) for t in request.restore_tags]
        if not tags:
            return "No tag pointed at what was deleted; the images come back untagged."
        return fit_lines(
            "These tags are pointed back, unless they point at another image by then:",
            [", ".join(code(t, 200) for t in tags[i : i + 6]) for i in range(0, len(tags), 6)],
            1500,
        )
    if request.kind == Kind.TAG:
        if not request.siblings:
            return "No other tag points at this image; it stays in the registry, untagged."
        return fit_lines(
            "The other tags on this image keep working:",
            [
                ", ".join(code(t, 130) for t in request.siblings[i : i + 8])
                for i in range(0, len(request.siblings), 8)
            ],
            1500,
        )
    if request.kind != Kind.MANIFEST:
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


def _blast_radius(request: DeletionRequest) -> str:
    """Platform manifests, referrers, reclaimable space (and the blobs of a cleanup)."""
    lines = []
    if request.kind == Kind.MANIFEST and request.children:
        lines.append(
            fit_lines(
                f"*{len(request.children)} platform manifests* become untagged (garbage "
                "collection with --delete-untagged removes them):",
                [f"`{escape(c.digest[:19])}…` {escape(c.platform)}" for c in request.children],
                1200,
            )
        )
    if request.kind in (Kind.MANIFEST, Kind.TAG) and request.referrers:
        lines.append(
            fit_lines(
                "*Signatures and other artifacts refer to it:*",
                [escape(r) for r in request.referrers],
                800,
            )
        )
    if request.kind == Kind.BLOBS:
        lines.append(
            fit_lines(
                f"*{len(request.blobs)} blobs* no remaining tag uses:",
                [f"`{escape(d[:19])}…` {human_size(s)}" for d, s in request.blobs],
                1200,
                max_lines=15,
            )
        )
    if request.reclaimable:
        platforms = (
            ", with --delete-untagged for the platform manifests it leaves untagged"
            if request.kind == Kind.MANIFEST and request.children
            else ""
        )
        lines.append(
            f"*Frees* {freed_text(request.reclaimable, request.reclaim_basis)} after garbage "
            f"collection{platforms}."
        )
    elif request.kind == Kind.TAG:
        lines.append("*Frees* nothing by itself: the image stays while other tags use it.")
    return "\n".join(lines)


def _facts(request: DeletionRequest) -> list[str]:
    target = code(target_text(request), 300)
    if request.kind == Kind.TAG:
        target += " (this tag only)"
    elif request.kind != Kind.BLOBS:
        target += f" ({_what(request)})"
    lines = [f"*Target* {target}"]
    if request.kind != Kind.BLOBS:
        lines.append(f"*Digest* `{escape(request.digest)}`")
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


def request_details(
    request: DeletionRequest, items: list[CleanupItem] | None = None
) -> list[Block]:
    """Facts, the tags it removes or keeps, and the blast radius, as sections (for a
    cleanup, the summary of its stored plan)."""
    if request.kind == Kind.PRUNE:
        return [section(plan_summary(request, items or []))]
    blocks: list[Block] = [section("\n".join(_facts(request)))]
    for text in (_tags_line(request), _blast_radius(request)):
        if text:
            blocks.append(section(text))
    return blocks


def _agree(request: DeletionRequest) -> str:
    """Who must agree to ``request`` (as pinned when it was made)."""
    if request.approval is not None:
        return agree_text(request.approval)
    n = request.approvals_required
    return f"{n} approver{'s' if n != 1 else ''} agree"


def confirm_text(request: DeletionRequest, untag: bool) -> str:
    """What requesting it asks for, in one sentence (the request modal says it)."""
    who = f"Once {_agree(request)}, "
    if _restoring(request):
        return f"{who}what request {request.restores} deleted is put back."
    if untag:
        return f"{who}the tag {request.tag} is removed; the other tags keep the image."
    if request.kind == Kind.MANIFEST:
        removed = len(request.tags_removed)
        return (
            f"{who}{request.repository}@{request.digest[:19]}… and its {removed} "
            f"tag{'s' if removed != 1 else ''} will be deleted."
        )
    return f"{who}the {_what(request)} will be deleted."


def _verb(request: DeletionRequest) -> str:
    """The preview's question: Delete, Remove (one tag) or Restore."""
    return {Kind.TAG: "Remove", Kind.RESTORE: "Restore"}.get(request.kind, "Delete")


def render_preview(request: DeletionRequest, image: Image | None, now: datetime) -> Message:
    """The ephemeral preview: what would go, with the choices and Cancel. When other
    tags share the digest, the choice is between removing only the named tag and
    deleting the image with all its tags."""
    if request.kind == Kind.MANIFEST and request.tag and request.siblings:
        total = len(request.tags_removed)
        buttons = [
            ButtonElement(
                text=truncate(f"Remove only tag {request.tag}", 75),
                action_id=ACTION_SUBMIT_UNTAG,
                value=request.id,
                style="primary",
            ),
            ButtonElement(
                text=f"Delete image (all {total} tags)",
                action_id=ACTION_SUBMIT,
                value=request.id,
                style="danger",
            ),
        ]
    else:
        label = {Kind.TAG: "Request tag removal", Kind.RESTORE: "Request restore"}.get(
            request.kind, "Request deletion"
        )
        buttons = [
            ButtonElement(
                text=label,
                action_id=ACTION_SUBMIT,
                value=request.id,
                style="danger",
            )
        ]
    buttons.append(ButtonElement(text="Cancel", action_id=ACTION_CANCEL, value=request.id))
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"{_verb(request)} {target_text(request)}?", 150)),
        *request_details(request),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=truncate(
                        f"Nothing changes until {_agree(request)}. "
                        + (
                            "A tag that points at another image by then is left alone. "
                            if _restoring(request)
                            else "The digest is pinned now: if the tag moves, nothing is deleted. "
                        )
                        + f"This preview expires {slack_date(request.expires_at)}.",
                        2000,
                    )
                )
            ]
        ),
        ActionsBlock(elements=buttons),
    ]
    return Message(
        text=f"{_verb(request)} {target_text(request)}? Digest {request.digest}; "
        f"{len(request.siblings if _restoring(request) else request.tags_removed)} tag(s).",
        blocks=blocks,
    )


def _votes(request: DeletionRequest) -> str:
    """Who approved a closed request."""
    approvals = [a for a in request.approvals if a != request.requester]
    who = f" ({', '.join(mention(a) for a in approvals)})" if approvals else ""
    return f"*Approvals* {len(approvals)}{who}"


def render_request(
    request: DeletionRequest,
    standing: Standing,
    undo_until: datetime | None = None,
    items: list[CleanupItem] | None = None,
) -> Message:
    """The request in the channel: who, what, the votes against what approving it
    takes (``standing``), expiry, Approve / Reject; once closed, its outcome (with Undo
    while ``undo_until`` is ahead). ``items``: a cleanup's stored plan."""
    if request.state.is_closed or request.state == State.EXECUTING:
        return render_closed(request, undo_until)
    what = {
        Kind.TAG: "the removal of a tag",
        Kind.BLOBS: "the deletion of unused layers",
        Kind.RESTORE: f"the restore of what request `{escape(request.restores or '')}` deleted",
        Kind.PRUNE: f"a cleanup of {code(request.pattern or '', 200)}",
    }
    head = (
        f":wastebasket: {mention(request.requester)} requests "
        f"{what.get(request.kind, 'the deletion of an ' + _what(request))}."
    )
    blocks: list[Block] = [section(head), *request_details(request, items)]
    blocks += [
        section(f"{votes_text(standing)}\n*Expires* {slack_date(request.expires_at)}"),
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
    return Message(
        text=f"{'Restore' if _restoring(request) else 'Deletion'} requested: "
        f"{target_text(request)} ({request.digest})",
        blocks=blocks,
    )


def _outcome_line(request: DeletionRequest) -> str:
    when = slack_date(request.closed_at) if request.closed_at else ""
    state = request.state
    if state == State.EXECUTING and request.outcome:
        said = outcome_text(request, request.outcome)
        return ":grey_question: *Outcome not known yet*\n" + escape(truncate(said, 2000))
    if state == State.EXECUTING:
        doing = {Kind.RESTORE: "restoring", Kind.PRUNE: "cleaning up"}.get(request.kind, "deleting")
        return f":hourglass_flowing_sand: *Approved: {doing} now…*"
    if state == State.DONE:
        done = "Restored" if _restoring(request) else "Deleted"
        return f"{OUTCOME_ICONS[state]} *{done}* {when}. {_votes(request)}"
    if state == State.REJECTED:
        return f"{OUTCOME_ICONS[state]} *Rejected* by {mention(request.closed_by)} {when}."
    if state == State.SUPERSEDED:
        return (
            f"{OUTCOME_ICONS[state]} *Superseded* {when}: a newer run of its policy asks "
            "instead; nothing was deleted."
        )
    if state == State.CANCELLED:
        return f"{OUTCOME_ICONS[state]} *Cancelled* by {mention(request.closed_by)} {when}."
    if state == State.EXPIRED:
        return f"{OUTCOME_ICONS[state]} *Expired* {when}: not approved in time."
    nothing = "nothing was restored" if _restoring(request) else "nothing was deleted"
    said = outcome_text(request, request.outcome) if request.outcome else ""
    return f"{OUTCOME_ICONS[State.FAILED]} *Failed* {when}: {nothing}.\n" + escape(
        truncate(said, 2000)
    )


def _cleanup_button(request: DeletionRequest) -> ButtonElement:
    """Offered on a completed image deletion: delete the layers it left unused."""
    size = sum(s for _, s in request.blobs if s)
    n = len(request.blobs)
    label = f"Also delete the {n} layers no remaining tag uses ({human_size(size)})"
    if len(label) > 75:
        label = f"Also delete {n} unused layers ({human_size(size)})"
    text = (
        f"This asks the approvers to delete {n} blobs of {request.repository} that no "
        "remaining tag uses."
    )
    return ButtonElement(
        text=label,
        action_id=ACTION_UNUSED_LAYERS,
        value=request.id,
        confirm=ConfirmObject(
            title="Request their deletion?",
            text=truncate(text, 300),
            confirm="Request",
            deny="Back",
        ),
    )


def _undo_button(request: DeletionRequest, until: datetime) -> ButtonElement:
    """Offered on an executed deletion while what it took is kept."""
    return ButtonElement(
        text="Undo",
        action_id=ACTION_UNDO,
        value=request.id,
        confirm=ConfirmObject(
            title="Request a restore?",
            text=truncate(
                f"This asks the approvers to put back what request {request.id} deleted "
                f"(possible until garbage collection runs; kept until {until:%Y-%m-%d}).",
                300,
            ),
            confirm="Request",
            deny="Back",
        ),
    )


def render_closed(request: DeletionRequest, undo_until: datetime | None = None) -> Message:
    """The request message once decided: its outcome; on an executed deletion, the
    follow-ups (unused layers, Undo while ``undo_until`` is ahead)."""
    footer = f"Digest `{escape(request.digest)}` · " if request.digest else ""
    footer += f"request `{escape(request.id)}`"
    if request.siblings and request.state == State.DONE and request.kind == Kind.MANIFEST:
        footer += " · also removed tags " + ", ".join(code(t, 60) for t in request.siblings[:10])
    what = {
        Kind.RESTORE: f"the restore of {code(target_text(request), 300)}",
        Kind.PRUNE: f"a cleanup of {code(request.pattern or '', 300)}",
    }.get(request.kind, f"the deletion of {code(target_text(request), 300)}")
    blocks: list[Block] = [
        section(f"{mention(request.requester)} requested {what}."),
        section(_outcome_line(request)),
        ContextBlock(elements=[MarkdownTextObject(text=truncate(footer, 2000))]),
    ]
    if request.state == State.DONE:
        said = outcome_text(request, request.outcome) if request.outcome else ""
        blocks.append(section(escape(truncate(said, 2500))))
        buttons = []
        if request.kind == Kind.MANIFEST and request.blobs:
            buttons.append(_cleanup_button(request))
        if undo_until is not None:
            buttons.append(_undo_button(request, undo_until))
        if buttons:
            blocks.append(ActionsBlock(elements=buttons))
    return Message(
        text=f"{'Restore' if _restoring(request) else 'Deletion'} of {target_text(request)}: "
        f"{request.state}",
        blocks=blocks,
    )


def render_audit_parent(request: DeletionRequest) -> Message:
    return Message(
        text=f"Deletion request {request.id}: {target_text(request)}",
        blocks=[
            section(
                f":scroll: Deletion request `{request.id}`: {code(target_text(request), 300)}"
                + (f" (`{escape(request.digest)}`)" if request.digest else "")
                + ", requested by "
                f"{mention(request.requester)}. Events follow in the thread."
            )
        ],
    )


def audit_text(event: AuditEvent) -> str:
    """One audit event as a line of mrkdwn (details escaped)."""
    who = mention(event.actor) if event.actor else "registry-bot"
    said = _audit_detail(event)
    detail = f": {escape(truncate(said, 1500))}" if said else ""
    return f"*{escape(event.event)}* by {who}{detail}"


def _audit_detail(event: AuditEvent) -> str:
    return outcome_line(event.outcome) if event.outcome is not None else event.detail


def render_audit_event(event: AuditEvent) -> Message:
    return Message(
        text=f"{event.event}: {_audit_detail(event)}", blocks=[section(audit_text(event))]
    )


def render_pending(
    requests: list[DeletionRequest],
    standings: dict[str, Standing],
    now: datetime,
    registry_of: dict[str, str] | None = None,
) -> Message:
    """The requests waiting for approval (``registry_of``: each one's registry, when
    they are of several)."""
    registry_of = registry_of or {}
    if not requests:
        return Message(
            text="No deletion requests are waiting for approval.",
            blocks=[section("No deletion requests are waiting for approval.")],
        )
    lines = [
        f"{code(target_text(r), 200)}{on_registry(registry_of.get(r.id))} by "
        f"{mention(r.requester)}, {age(r.created_at, now)}: "
        f"{short_votes(standings[r.id]) if r.id in standings else '?'} "
        f"approvals, expires {slack_date(r.expires_at)}"
        for r in requests
    ]
    return Message(
        text=f"{len(requests)} deletion request(s) pending",
        blocks=[
            HeaderBlock(text="Pending deletions"),
            section(fit_lines("", lines, MAX_SECTION_TEXT)),
        ],
    )


def render_audit_log(events: list[AuditEvent]) -> Message:
    if not events:
        return Message(text="The audit log is empty.", blocks=[section("The audit log is empty.")])
    lines = [f"{slack_date(e.at)} `{escape(e.request_id or '-')}` {audit_text(e)}" for e in events]
    return Message(
        text=f"Last {len(events)} audit events",
        blocks=[
            HeaderBlock(text=f"Last {len(events)} audit events"),
            section(fit_lines("", lines, MAX_SECTION_TEXT)),
        ],
    )


def render_notice(text: str) -> Message:
    """A short ephemeral note (refusals, 'already done', how to fix a setting)."""
    return Message(text=text, blocks=[section(escape(text))])
