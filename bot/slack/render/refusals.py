"""Why a deletion can't be requested or a vote can't count, in this bot's words: the
deletion room's typed refusals (``Refusal`` and its facts) as sentences, with what to
do, naming the bot's commands (``/registry audit``...), flags (``--allow-empty``...) and
settings (``PROTECTED_TAGS``...); and what a click did when it changed nothing."""

from __future__ import annotations

from ...deletions import DeletionRefused, Effect, Refusal, Result


def _list(names: tuple[str, ...], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


_PLAIN = {
    Refusal.NOT_PREVIEWER: "Only the person who previewed this deletion can request it.",
    Refusal.PREVIEW_EXPIRED: "This preview has expired; run the delete command again.",
    Refusal.NOT_A_TAG_PREVIEW: "Only a previewed tag can be removed on its own.",
    Refusal.NOT_REQUESTER: "Only the requester can cancel this request.",
    Refusal.OWN_REQUEST: (
        "You requested this deletion, so your vote does not count: another approver has "
        "to approve it."
    ),
    Refusal.NOT_APPROVER: (
        "Only approvers (the configured people, and members of the approver groups) may "
        "approve or reject deletions."
    ),
    Refusal.NOT_THE_REQUEST_MESSAGE: (
        "Votes count only on the request's own message, not on a copy elsewhere."
    ),
    Refusal.NO_APPROVERS: (
        "Deletions need approvers, and none are configured, so nothing can be deleted. "
        "Set APPROVERS to the Slack user IDs (U...) and user group IDs (S...) allowed to "
        "approve, then restart the bot."
    ),
    Refusal.NO_UNUSED_LAYERS: "No unused layers of that image are left to delete.",
    Refusal.NOT_AN_IMAGE_DELETION: "Only a completed image deletion leaves layers to clean up.",
    Refusal.KEEPS_NOTHING: (
        "Refused: these rules keep nothing, so this would delete every tag. Give --keep N "
        "(N > 0) or --older-than DURATION."
    ),
    Refusal.UNTAGGED_UNKNOWN: (
        "The untagged manifests are not known: the registry's API can't list them, and the "
        "bot learns of them only from the registry's events, which are not set up. Nothing "
        "was requested."
    ),
}


def refusal_text(refusal: DeletionRefused) -> str:
    """A refused deletion, and what to do about it."""
    said = _PLAIN.get(refusal.reason) or _named(refusal) or _later(refusal)
    return said or f"Refused: {refusal.reason.value}."


def _named(r: DeletionRefused) -> str | None:
    """Refusals of what was named, and of what it would take with it."""
    match r.reason:
        case Refusal.REQUEST_GONE if r.request_id:
            return f"There is no request {r.request_id}; see /registry audit."
        case Refusal.REQUEST_GONE:
            return "This deletion request no longer exists."
        case Refusal.TAG_NEEDED:
            return "Name the tag to remove: REPO:TAG."
        case Refusal.TARGET_NEEDED:
            return f"Name what to delete: {r.repository}:TAG or {r.repository}@sha256:…"
        case Refusal.BLOB_DIGEST_NEEDED:
            return "Name the blob by digest: REPO@sha256:…"
        case Refusal.DIGEST_MISMATCH:
            return (
                f"{r.repository}:{r.tag} points at {r.digest}, not {r.other}: check which "
                "image you mean."
            )
        case Refusal.PLATFORM_OF_INDEX:
            return (
                f"Refused: {r.digest} is a platform of the multi-arch image tagged "
                f"{_list(r.names)}; deleting it would break that image. Delete or untag the "
                "multi-arch image instead."
            )
        case Refusal.BLOB_IN_USE:
            more = f" and {r.count - len(r.names)} more" if r.count > len(r.names) else ""
            return (
                f"Refused: {r.digest} is still used by the image tagged {_list(r.names)}{more}. "
                f"Deleting it would break {_plural(r.count, 'that image', 'those images')}; "
                "delete the image instead, and its unused layers after."
            )
        case Refusal.PROTECTED:
            return (
                f"Refused: this would remove the protected "
                f"{_plural(len(r.names), 'tag', 'tags')} {_list(r.names)} (PROTECTED_TAGS is "
                f"{r.pattern}). Move the tag to another image first, or ask the bot's "
                "operators."
            )
        case Refusal.INCOMPLETE_VIEW:
            return (
                f"Could not see all of {r.repository} ({r.answer}), so what a deletion would "
                "take with it can't be known. Nothing was requested; try again."
            )
    return None


def _later(r: DeletionRefused) -> str | None:
    """Refusals of an undo, a tag put back, and a cleanup."""
    match r.reason:
        case Refusal.NOT_UNDOABLE:
            return (
                f"Request {r.request_id} is not an executed deletion of images or tags, so "
                "there is nothing to put back."
            )
        case Refusal.NOTHING_KEPT:
            days = r.retention.days if r.retention else 0
            return (
                f"Nothing of request {r.request_id} is kept any more: what a deletion takes "
                f"is kept for {days} days (UNDO_RETENTION)."
            )
        case Refusal.MOVED_AGAIN:
            return (
                f"{r.repository}:{r.tag} has moved again since the alert (it points at "
                f"{r.digest or 'nothing'}); look at /registry activity {r.repository} first."
            )
        case Refusal.NO_COPY:
            return (
                f"{r.repository}@{r.digest} is no longer in the registry, and the bot kept no "
                "copy of it: it can't be put back."
            )
        case Refusal.NO_MATCH:
            return f"No repository matches {r.pattern}."
        case Refusal.TOO_MANY_REPOSITORIES:
            return (
                f"{r.pattern} names {r.count:,} repositories; a cleanup covers at most "
                f"{r.limit}. Narrow the pattern (team/app-*), or clean up in several parts."
            )
        case Refusal.DRY_RUN_TOO_LONG:
            return (
                f"The dry run of {r.pattern} was stopped after {r.limit_seconds / 60:g} "
                f"minutes, with {r.count} of {r.total} repositories read: it is too large to "
                "plan at once. Narrow the pattern, or clean up in several parts. Nothing was "
                "requested."
            )
        case Refusal.WOULD_EMPTY:
            return (
                f"Refused: this would leave {_list(r.names, 5)} with no tags at all. Add "
                "--allow-empty if that is what you want."
            )
        case Refusal.NOTHING_TO_CLEAN:
            return (
                f"Nothing to clean up: the rules keep all {r.count} tags of {r.total} "
                f"{_plural(r.total, 'repository', 'repositories')}."
            )
        case Refusal.NO_UNTAGGED:
            kept = (
                f"; {r.count} {_plural(r.count, 'is', 'are')} kept (pulled within "
                "--keep-pulled-within, or left untagged more recently than --older-than)"
                if r.count
                else ""
            )
            return (
                f"No untagged manifests to clean up in {r.total} "
                f"{_plural(r.total, 'repository', 'repositories')}{kept}. Nothing was "
                "requested."
            )
    return None


def effect_notice(result: Result) -> str:
    """What a click did, for the person who clicked, when it changed nothing they can
    see on the request message (or closed it)."""
    match result.effect:
        case Effect.REFUSED if result.refusal is not None:
            return refusal_text(DeletionRefused(result.refusal))
        case Effect.DUPLICATE:
            return "You have already approved this request."
        case Effect.CLOSED:
            return f"This request is already {result.request.state}."
        case Effect.EXPIRED:
            return "This request has expired; it can't be approved any more."
        case Effect.BUSY:
            return "Another approval is already carrying out this request."
        case Effect.TAKEN_OVER:
            return (
                "This request was taken over by another holder of the bot (this one stalled "
                "or lost its database for longer than EXECUTION_LEASE); that one carries it "
                "out and reports the outcome."
            )
        case Effect.CANCELLED:
            return "Cancelled: nothing will be deleted."
    return f"This request is {result.request.state}."
