"""Cleanup messages: the dry run with its plan, the plan's summary on the request
message, and the progress line while it runs."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
)

from ...deletions import (
    CleanupItem,
    CleanupPreview,
    CleanupProgress,
    DeletionRequest,
    ItemState,
    Kept,
    NoDate,
    RepoPlan,
    RetentionRules,
)
from ...registry import human_size
from ..buttons import ACTION_CANCEL, ACTION_SUBMIT  # the same as any deletion's preview
from .approvals import agree_text
from .common import (
    Message,
    code,
    escape,
    fit_lines,
    freed_text,
    mention,
    section,
    short_digest,
    slack_date,
    truncate,
)
from .limits import MAX_SECTION_TEXT

MAX_REPOS_SHOWN = 12  # sections per repository, within the 50-block limit
SAMPLE = 8

KEPT_WORDS = {
    Kept.RECENT: "among the --keep most recent",
    Kept.NEWER: "newer than --older-than",
    Kept.NOT_MATCHED: "not matched by --match",
    Kept.EXCLUDED: "matched by --exclude",
    Kept.PROTECTED: "protected (PROTECTED_TAGS)",
    Kept.IN_USE: "in use (pulled within --keep-pulled-within)",
    Kept.UNDATED: "no usable date",
    Kept.SHARED: "same image as a kept tag",
    Kept.PLATFORM: "a platform of a kept multi-arch image",
    Kept.ACCESSORY: "signatures, attestations or SBOMs of a kept image (they go with it)",
    Kept.ORPHANED: "signatures or attestations of an image that is gone "
    "(--orphaned-accessories deletes them)",
    Kept.NO_TAG_RULES: "left alone (no --keep or --older-than)",
}
NO_DATE_WORDS = {
    NoDate.NO_CREATED: "no created date",
    NoDate.TOO_EARLY: "dated before 2000 (a reproducible build?)",
    NoDate.UNREADABLE: "config could not be read",
}


def duration_text(value: timedelta) -> str:
    """A duration as prune's options take it (``30d``, ``12h``)."""
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def rules_values(rules: RetentionRules) -> dict[str, str]:
    """The rules as ``/registry prune``'s options and their values (a switch: "yes"),
    in the order the command shows them."""
    values: dict[str, str] = {}
    if rules.untagged:
        values["--untagged"] = "yes"
    if rules.keep is not None:
        values["--keep"] = str(rules.keep)
    if rules.older_than is not None:
        values["--older-than"] = duration_text(rules.older_than)
    if rules.match is not None:
        values["--match"] = rules.match.pattern
    if rules.exclude is not None:
        values["--exclude"] = rules.exclude.pattern
    if rules.keep_pulled_within is not None:
        values["--keep-pulled-within"] = duration_text(rules.keep_pulled_within)
    if rules.allow_empty:
        values["--allow-empty"] = "yes"
    if rules.orphaned_accessories:
        values["--orphaned-accessories"] = "yes"
    return values


def rules_text(rules: RetentionRules) -> str:
    """The rules as the flags of ``/registry prune`` that give them."""
    return " ".join(
        flag if value == "yes" else f"{flag} {value}" for flag, value in rules_values(rules).items()
    )


def _tags(tags: list[str], limit: int = SAMPLE) -> str:
    shown = ", ".join(code(t, 80) for t in tags[:limit])
    return shown + (f" and {len(tags) - limit} more" if len(tags) > limit else "")


def _frees(reclaimable: int, certain: bool) -> str:
    if not reclaimable:
        return ""
    return f"; frees {'' if certain else 'at most '}{human_size(reclaimable)}"


def _digests(digests: list[str], limit: int = 6) -> str:
    shown = ", ".join(f"`{short_digest(d)}`" for d in digests[:limit])
    return shown + (f" and {len(digests) - limit} more" if len(digests) > limit else "")


def _untagged_section(plan: RepoPlan, reclaimable: int, certain: bool) -> str:
    """An untagged cleanup's repository: the manifests it deletes, and those it keeps
    with why."""
    n = len(plan.delete)
    lines = [
        f"*{code(plan.repository, 150)}*: delete *{n} untagged "
        f"manifest{'' if n == 1 else 's'}*" + _frees(reclaimable, certain)
    ]
    if plan.delete:
        lines.append(f"Deletes: {_digests(sorted(plan.delete))}")
    reasons = Counter(plan.untagged_kept.values())
    if reasons:
        lines.append(
            "Keeps: " + "; ".join(f"{n} {KEPT_WORDS[why]}" for why, n in reasons.most_common())
        )
    return fit_lines("", lines, MAX_SECTION_TEXT)


def _reposection(plan: RepoPlan, reclaimable: int, certain: bool) -> str:
    if plan.untagged:
        return _untagged_section(plan, reclaimable, certain)
    deleting = sorted(t for tags in plan.delete.values() for t in tags)
    lines = [
        f"*{code(plan.repository, 150)}*: delete *{len(deleting)} tags* "
        f"({len(plan.delete)} images), keep {len(plan.kept)} tags" + _frees(reclaimable, certain)
    ]
    if plan.dated_by_push:
        lines.append(
            f"Ages: {plan.dated_by_push} tags by their push time (the registry's events), "
            f"the other {len(plan.digests) - plan.dated_by_push} by their image's created date"
        )
    if plan.empties:
        lines.append("*:warning: This leaves the repository with no tags at all (--allow-empty).*")
    if deleting:
        lines.append(f"Deletes: {_tags(deleting)}")
    reasons = Counter(plan.kept.values())
    if reasons:
        lines.append(
            "Keeps: " + "; ".join(f"{n} {KEPT_WORDS[why]}" for why, n in reasons.most_common())
        )
    for tag, other in list(plan.conflicts.items())[:3]:
        lines.append(f"{code(tag, 80)} kept: same image as {code(other, 80)}")
    if plan.undated:
        why = Counter(plan.undated.values())
        lines.append(
            f"{len(plan.undated)} kept for lack of a usable date ("
            + ", ".join(f"{NO_DATE_WORDS[w]}: {n}" for w, n in why.most_common(3))
            + ")"
        )
    return fit_lines("", lines, MAX_SECTION_TEXT)


def _what(preview: CleanupPreview) -> str:
    """What a dry run deletes: images and their tags, or untagged manifests."""
    if preview.rules.untagged:
        return f"{preview.images} untagged manifest{'' if preview.images == 1 else 's'}"
    return f"{preview.images} images ({preview.tags} tags)"


def _split_text(preview: CleanupPreview) -> str:
    """What a cleanup over several owners' repositories becomes: a request per owner."""
    lines = [
        f"*This cleanup spans {len(preview.parts)} owners*: Request cleanup posts "
        f"{len(preview.parts)} requests, each approved by its owner:"
    ]
    for part in preview.parts:
        owner = part.approval.owner if part.approval else None
        whose = f"owner {code(owner, 100)}" if owner else "the global approvers"
        agree = agree_text(part.approval) if part.approval else "its approvers agree"
        images = preview.images_of(part.id)
        lines.append(f"• {whose}: {images} image{'s' if images != 1 else ''}, once {agree}")
    return fit_lines("", lines, MAX_SECTION_TEXT)


def render_cleanup_preview(preview: CleanupPreview, now: datetime) -> Message:
    """The dry run: per repository what goes and what stays (and why), the space
    garbage collection would reclaim, and Request cleanup / Cancel. Nothing has
    changed yet."""
    request = preview.request
    n = request.approvals_required
    agree = (
        agree_text(request.approval)
        if request.approval is not None
        else f"{n} approver{'s' if n != 1 else ''} agree"
    )
    plans = [p for p in preview.plans if p.delete or p.kept or p.untagged_kept]
    freed = freed_text(request.reclaimable, request.reclaim_basis)
    certain = request.reclaim_basis is None or request.reclaim_basis.certain
    unverified = preview.unverified
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"Dry run: clean up {request.pattern}", 150)),
        section(
            f"*Rules* {code(rules_text(preview.rules), 400)}\n"
            f"*Would delete* {_what(preview)} in "
            f"{sum(1 for p in plans if p.delete)} of {len(plans)} repositories"
            + (f"; frees {escape(freed)} after garbage collection" if freed else "")
            + "\n*Nothing has been deleted.* A kept tag keeps its whole image."
        ),
    ]
    for plan in plans[:MAX_REPOS_SHOWN]:
        blocks.append(
            section(_reposection(plan, preview.reclaimable.get(plan.repository, 0), certain))
        )
    if len(plans) > MAX_REPOS_SHOWN:
        blocks.append(section(f"… and {len(plans) - MAX_REPOS_SHOWN} more repositories."))
    if preview.parts:
        blocks.append(section(_split_text(preview)))
    blocks += [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=truncate(
                        f"Nothing changes until {agree}. The plan is "
                        "pinned now: a tag that moves to another image, or an image a new tag "
                        "starts using, is skipped. "
                        + (
                            f"For {unverified} tag{'s' if unverified != 1 else ''}, "
                            "the image comes from the registry's push events or a lookup of the "
                            "last few minutes; every tag is looked up again before anything "
                            "is deleted. "
                            if unverified
                            else ""
                        )
                        + "Everything deleted can be restored until "
                        "garbage collection. This dry run expires "
                        f"{slack_date(request.expires_at)}.",
                        2000,
                    )
                )
            ]
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Request cleanup",
                    action_id=ACTION_SUBMIT,
                    value=request.id,
                    style="danger",
                ),
                ButtonElement(text="Cancel", action_id=ACTION_CANCEL, value=request.id),
            ]
        ),
    ]
    return Message(
        text=f"Dry run: clean up {request.pattern}: {_what(preview)} would be deleted.",
        blocks=blocks,
    )


def plan_summary(request: DeletionRequest, items: list[CleanupItem]) -> str:
    """The stored plan in a few lines, for the request message and its outcome."""
    by_repo: dict[str, list[CleanupItem]] = {}
    for item in items:
        by_repo.setdefault(item.repository, []).append(item)
    rules = rules_text(request.rules) if request.rules else request.reason  # older: reason
    lines = [f"*Rules* {code(rules, 500)}"]
    if request.rules and request.reason:
        lines.append(f"*Reason* {escape(truncate(request.reason, 500))}")
    for repository, mine in sorted(by_repo.items()):
        planned = [i for i in mine if i.state != ItemState.KEPT]
        kept_tags = sum(len(i.tags) for i in mine if i.state == ItemState.KEPT)
        tags = sorted(t for i in planned for t in i.tags)
        if request.rules and request.rules.untagged:
            lines.append(
                f"{code(repository, 150)}: delete {len(planned)} untagged manifests: "
                + _digests(sorted(i.digest for i in planned))
            )
            continue
        lines.append(
            f"{code(repository, 150)}: delete {len(tags)} tags ({len(planned)} images), keep "
            f"{kept_tags} tags" + (f": {_tags(tags, 6)}" if tags else "")
        )
    if request.reclaimable:
        freed = freed_text(request.reclaimable, request.reclaim_basis)
        lines.append(f"*Frees* {escape(freed)} after garbage collection.")
    return fit_lines("", lines, MAX_SECTION_TEXT)


def render_cleanup_progress(request: DeletionRequest, progress: CleanupProgress) -> Message:
    """The request message while the cleanup runs (updated at most once a second)."""
    done = (
        f"{progress.done} of {progress.total} images done: {progress.deleted} deleted"
        + (f", {progress.skipped} skipped" if progress.skipped else "")
        + (f", {progress.failed} failed" if progress.failed else "")
    )
    if progress.checking:
        names = ", ".join(code(r, 100) for r in progress.checking[:3])
        if len(progress.checking) > 3:
            names += f" and {len(progress.checking) - 3} more"
        where = (
            f"of {names}"
            if len(progress.checking) == 1
            else f"of {len(progress.checking)} repositories ({names})"
        )
        done = (
            f"looking up the {progress.tags:,} tags {where} again before deleting, so that "
            f"no image a tag moved onto since the approval is deleted. So far {done}"
        )
    line = (
        f":hourglass_flowing_sand: *Approved: cleaning up {code(request.pattern or '', 150)}…* "
        f"{done} · {progress.elapsed:.0f} s"
    )
    return Message(
        text=f"Cleaning up {request.pattern}: {progress.done} of {progress.total}",
        blocks=[
            section(
                f"{mention(request.requester)} requested a cleanup of "
                f"{code(request.pattern or '', 300)}."
            ),
            section(line),
        ],
    )
