"""What approving a request takes, in words: who must agree ("2 approvers agree (@a,
@b)", or "1 of @team-a and 1 of @platform agree"), and where its votes stand, part by
part, with what is still missing and whether its owner's rule asks more now."""

from __future__ import annotations

from ...deletions import Approval, ApprovalPart, PartStanding, Standing
from .common import code, mention

MAX_NAMED = 10  # approvers named per part; the rest counted


def _who(part: ApprovalPart) -> str:
    named = ", ".join(mention(a) for a in part.approvers[:MAX_NAMED])
    more = len(part.approvers) - MAX_NAMED
    return named + (f" and {more} more" if more > 0 else "")


def agree_text(approval: Approval) -> str:
    """Who must agree: "2 approvers agree (@a, @b)"; with two groups, "1 of @a and 1 of
    @platform agree"; an owner's rule is named."""
    parts = approval.parts
    if len(parts) == 1:
        n = parts[0].approvals
        text = f"{n} approver{'s' if n != 1 else ''} agree ({_who(parts[0])})"
    else:
        text = " and ".join(f"{p.approvals} of {_who(p)}" for p in parts) + " agree"
    if approval.owner is not None:
        text += f", as the owner rule for {code(approval.owner, 100)} asks"
    return text


def _part_votes(part: PartStanding) -> str:
    voters = ", ".join(mention(u) for u in part.approved_by[:MAX_NAMED])
    have = f"{len(part.approved_by)}/{part.part.approvals}"
    said = f"{have} of {_who(part.part)}" + (f" ({voters})" if voters else "")
    return said + (" :white_check_mark:" if part.met else ": still needed")


def votes_text(standing: Standing) -> str:
    """The votes as they stand: "*Approvals* 1/2 (@bob) · approvers: @a, @b", or part
    by part with what is still missing."""
    parts = standing.parts
    if len(parts) == 1:
        part = parts[0]
        voters = ", ".join(mention(u) for u in part.approved_by)
        text = (
            f"*Approvals* {len(part.approved_by)}/{part.part.approvals}"
            + (f" ({voters})" if voters else "")
            + f" · approvers: {_who(part.part)}"
        )
    else:
        text = "*Approvals* " + " · ".join(_part_votes(p) for p in parts)
    if standing.approval.owner is not None:
        text += f"\n*Owner* {code(standing.approval.owner, 100)}"
    if standing.raised:
        text += (
            "\n:arrow_up: Its owner's rule asks more now than when it was requested: "
            "these approvals are what it needs."
        )
    return text


def short_votes(standing: Standing) -> str:
    """The votes in a few characters: "1/2", or "1/1 + 0/1" part by part."""
    return " + ".join(f"{len(p.approved_by)}/{p.part.approvals}" for p in standing.parts)
