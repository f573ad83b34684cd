"""What carrying out a request found, in this bot's words: the deletion room's typed
outcomes (``Outcome``: a verdict, the fact that decided it, the report's figures) as
the sentences of a request message and the lines of its audit trail, with what to do
next (garbage collection, the setting to change). Plain text: callers escape it."""

from __future__ import annotations

from ...blobindex import Basis
from ...deletions import DeletionRequest, Fact, Finding, Kind, Outcome, Subject, Verdict
from .common import freed_text, target_text

GC_REMINDER = (
    "Disk space comes back only after the registry's garbage collection: run "
    "`registry garbage-collect /etc/docker/registry/config.yml` while the registry is "
    "read-only or stopped."
)
_SETTLED = "Settled after an interrupted execution: "
_UNTAG_METHODS = {
    "tag-delete": "the registry's tag delete",
    "placeholder": "a placeholder manifest, deleted by digest",
}


def gc_advice(
    reclaimable: int | None,
    basis: Basis | None = None,
    *,
    untagged_children: int = 0,
    emptied: bool = False,
) -> str:
    """What garbage collection can give back (and what the figure rests on), and how to
    run it."""
    freed = freed_text(reclaimable, basis)
    text = f"Garbage collection can reclaim {freed}. " if freed else ""
    text += GC_REMINDER
    if untagged_children:
        text += (
            f" The image's {untagged_children} platform manifests are now untagged: add "
            "--delete-untagged to remove them too."
        )
    if emptied:
        text += (
            " The repository has no tags left; it stays in the catalog until its folder "
            "is removed from the registry's storage (docker/registry/v2/repositories/…)."
        )
    return text


def _names(tags: tuple[str, ...], limit: int = 10) -> str:
    shown = ", ".join(tags[:limit])
    return shown + (f" and {len(tags) - limit} more" if len(tags) > limit else "")


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# What became of one image (or blob), with the facts it names: ``{tags}``, ``{digest}``
# (another image), ``{answer}`` (the registry's), ``{image}`` (the image itself).
ITEM_WORDS = {
    Finding.TAGS_MOVED: "its tags moved to other images since the preview",
    Finding.PROTECTED: "the protected tag {tags} points at it",
    Finding.PLATFORM_OF_INDEX: "it is now a platform of the image tagged {tags}",
    Finding.INCOMPLETE_VIEW: "could not see all of its repository ({answer})",
    Finding.UNDO_COPY_FAILED: "could not keep a copy for undo ({answer}); not deleted",
    Finding.DELETE_FAILED: "the DELETE failed ({answer}); it is still there",
    Finding.NOT_KNOWN: "the DELETE failed ({answer}) and the registry could not be asked",
    Finding.STILL_SERVED: (
        "the registry answered the DELETE but still serves it (a cache in front of it?)"
    ),
    Finding.GONE_ON_CHECK: "deleted (found gone after a restart)",
    Finding.TAG_LEFT: "now points at {digest}; left as it is",
    Finding.TAG_ELSEWHERE: "the registry points it at {digest}, not {image}",
    Finding.BLOBS_GONE: (
        "a blob or platform manifest it needs is gone from the registry (garbage "
        "collection ran since the deletion?): {answer}"
    ),
    Finding.REFUSED_BY_REGISTRY: "the registry refused {digest}: {answer}",
    Finding.WRONG_DIGEST: "the registry stored {digest} instead",
}


def item_text(fact: Fact, image: str = "") -> str:
    """Why one image (or blob) of a request was not done, or what was done to it."""
    tags = _names(fact.tags, 5)
    if fact.finding == Finding.TAGS_ADDED:
        return f"{tags} now point{'s' if len(fact.tags) == 1 else ''} at it"
    if fact.finding == Finding.DELETED:
        moved = f"; {tags} had moved elsewhere and were left alone" if fact.tags else ""
        return f"deleted ({fact.answer}){moved}"
    words = ITEM_WORDS.get(fact.finding)
    if words is None:
        return fact.answer or fact.finding.value
    return words.format(tags=tags, digest=fact.digest, answer=fact.answer, image=image)


def _subject(s: Subject) -> str:
    tags = f" ({', '.join(s.tags[:3])})" if s.tags else ""
    return f"{s.repository}@{s.digest[:19]}…{tags}: {item_text(s.fact, s.digest)}"


def _cleanup(request: DeletionRequest, o: Outcome) -> str:
    what = (
        f"{o.of} untagged manifests"
        if request.rules and request.rules.untagged
        else f"{o.of} images ({o.tags} tags)"
    )
    text = (
        f"Cleanup of {request.pattern}: deleted {o.done} of {what}"
        + (f", skipped {o.skipped}" if o.skipped else "")
        + (f", {o.failed} failed" if o.failed else "")
        + "."
    )
    skipped = [s for s in o.items if s.skipped]
    failed = [s for s in o.items if not s.skipped]
    for label, group, total in (("Skipped", skipped, o.skipped), ("Failed", failed, o.failed)):
        if group:
            text += f" {label}: " + "; ".join(_subject(s) for s in group)
            text += f" and {total - len(group)} more." if total > len(group) else "."
    if o.done:
        text += " " + gc_advice(o.reclaimable, request.reclaim_basis)
    if o.resumed:
        text += (
            " Resumed after an interruption: the holder that began it stopped or stalled "
            "past EXECUTION_LEASE, and another carried it on from the database, checking "
            "with the registry what the first had left under way."
        )
    return text


def _restore(o: Outcome) -> str:
    lines = []
    for s in o.items:
        if s.fact.finding in (Finding.TAG_LEFT, Finding.TAG_ELSEWHERE):
            lines.append(f"tag {s.repository}:{s.tags[0]} {item_text(s.fact, s.digest)}")
        elif s.fact.finding == Finding.IMAGE_RESTORED:
            tags = f"tags {', '.join(s.fact.tags)}" if s.fact.tags else "no tag pointed at it again"
            lines.append(f"restored {s.repository}@{s.digest} ({tags})")
        else:
            lines.append(f"could not restore {s.repository}@{s.digest}: {item_text(s.fact)}")
    if o.more:
        lines.append(f"and {o.more} more")
    head = f"Restored {o.done} of {o.of} image{_s(o.of)}."
    return head + (" " + "; ".join(lines) + "." if lines else "")


def _blobs(request: DeletionRequest, o: Outcome) -> str:
    if o.checked:
        return f"{_SETTLED}{o.done} of the {o.of} blobs are gone from the registry."
    text = f"Deleted {o.done} blob{_s(o.done)} of {request.repository}. " + gc_advice(o.reclaimable)
    if o.failed:
        text += f" {o.failed} could not be deleted: " + "; ".join(
            f"{s.digest}: {s.fact.answer}" for s in o.items[:3]
        )
    return text


def _done(request: DeletionRequest, o: Outcome) -> str:
    target = f"{request.repository}@{request.digest}"
    f = o.fact
    advice = gc_advice(
        o.reclaimable,
        request.reclaim_basis,
        untagged_children=o.untagged_children,
        emptied=o.emptied,
    )
    match f.finding:
        case Finding.DELETED:
            return f"Deleted {target}. {advice}"
        case Finding.DELETED_DESPITE_ERROR:
            return (
                f"The DELETE failed ({f.answer}), but the registry no longer has {target}: "
                f"it was deleted. {advice}"
            )
        case Finding.TAG_REMOVED:
            how = _UNTAG_METHODS.get(o.method, o.method)
            kept = (
                f" The other tags still point at {request.digest}: {', '.join(f.tags)}."
                if f.tags
                else " No other tag points at the image now; garbage collection with "
                "--delete-untagged would remove it."
            )
            return f"Removed the tag {target_text(request)} only (via {how}).{kept}"
        case Finding.GONE_ON_CHECK if request.kind == Kind.TAG:
            return f"{_SETTLED}the tag {target_text(request)} is gone."
        case Finding.GONE_ON_CHECK:
            return f"{_SETTLED}the registry no longer has {target}."
        case Finding.BLOBS_DELETED:
            return _blobs(request, o)
        case Finding.RESTORED:
            return _restore(o)
        case Finding.CLEANED_UP:
            return _cleanup(request, o)
    return o.text or f.finding.value


def _not_done(request: DeletionRequest, o: Outcome) -> str:
    if o.finding == Finding.CLEANED_UP:
        return _cleanup(request, o)
    if o.finding == Finding.NOTHING_RESTORED:
        return _restore(o)
    said = _stopped_by_check(request, o.fact) or _refused_by_registry(request, o)
    return said or o.text or o.fact.finding.value


def _stopped_by_check(request: DeletionRequest, f: Fact) -> str | None:
    """A check just before the deletion stopped it."""
    target = f"{request.repository}@{request.digest}"
    n = len(f.tags)
    match f.finding:
        case Finding.INCOMPLETE_VIEW:
            return (
                f"Could not see all of {request.repository} ({f.answer}), so it can't be "
                "checked that nothing new uses what would be deleted. Nothing was deleted."
            )
        case Finding.TAG_MOVED:
            return (
                f"Tag moved: {target_text(request)} now points at {f.digest}, not the approved "
                f"{request.digest}. Nothing was deleted; request the deletion again if the "
                "new image should go too."
            )
        case Finding.TAGS_ADDED:
            return (
                f"Since the request, {_names(f.tags)} {'was' if n == 1 else 'were'} pointed at "
                f"{request.digest}; the approvers did not see that. Nothing was deleted; "
                f"request the deletion again to include {'it' if n == 1 else 'them'}."
            )
        case Finding.PROTECTED:
            return (
                f"The protected tag{_s(n)} {_names(f.tags)} point{'s' if n == 1 else ''} at "
                f"{request.digest}. Nothing was deleted."
            )
        case Finding.PLATFORM_OF_INDEX:
            return (
                f"{request.digest} is now a platform of the multi-arch image tagged "
                f"{_names(f.tags)}; deleting it would break that image. Nothing was deleted."
            )
        case Finding.BLOBS_IN_USE:
            return (
                f"{n} of these blobs {'is' if n == 1 else 'are'} in use again, by an image "
                f"pushed since the request ({_names(f.tags, 3)}); nothing was deleted."
            )
        case Finding.UNDO_COPY_FAILED:
            return f"Could not keep a copy of {target} for undo ({f.answer}). Nothing was deleted."
    return None


def _refused_by_registry(request: DeletionRequest, o: Outcome) -> str | None:
    """The registry refused or failed, or nothing was left to do."""
    target = f"{request.repository}@{request.digest}"
    f = o.fact
    match f.finding:
        case Finding.DELETE_DISABLED:
            return (
                f"{f.answer} Nothing was deleted. Set REGISTRY_STORAGE_DELETE_ENABLED=true on "
                "the registry (storage: delete: enabled: true) and restart it."
            )
        case Finding.PERMISSION_DENIED:
            return (
                f"{f.answer} Nothing was deleted. Grant delete to the bot's registry account "
                "(REGISTRY_USERNAME), or use an account that has it."
            )
        case Finding.STILL_SERVED:
            return (
                f"The registry answered {f.answer} to the DELETE, but still serves {target}: "
                "it was not deleted. Check the registry (a cache in front of it?)."
            )
        case Finding.DELETE_FAILED:
            return (
                f"The DELETE failed ({f.answer}); the registry still has {target}: nothing "
                "was deleted."
            )
        case Finding.REGISTRY_FAILED:
            nothing = "restored" if request.kind == Kind.RESTORE else "deleted"
            return f"{f.answer} Nothing was {nothing}."
        case Finding.SIBLINGS_BROKEN:
            how = _UNTAG_METHODS.get(f.answer, f.answer)
            return (
                f"Removed {target_text(request)} (via {how}), but these tags no longer point at "
                f"{request.digest}: {_names(f.tags)}. Check them."
            )
        case Finding.NOTHING_KEPT:
            return (
                f"Nothing of request {request.restores} is kept any more (UNDO_RETENTION); "
                "nothing was restored."
            )
        case Finding.STILL_THERE_ON_CHECK if request.kind in (Kind.BLOB, Kind.BLOBS):
            return _blobs(request, o)
        case Finding.STILL_THERE_ON_CHECK:
            return f"{_SETTLED}the registry still has {target}."
        case Finding.TAG_STILL_SET:
            return f"{_SETTLED}the tag {target_text(request)} still points at {f.digest}."
    return None


def _unknown(request: DeletionRequest, o: Outcome) -> str:
    f = o.fact
    if f.finding == Finding.NOT_KNOWN:
        return (
            f"The DELETE failed ({f.answer}), and the registry could not be asked "
            f"afterwards: it is not known whether {request.repository}@{request.digest} was "
            "deleted. The bot checks again until it knows."
        )
    if f.finding == Finding.CHECK_FAILED:
        said = f": {f.answer}" if f.answer else "."
        return (
            f"It is not known yet whether {target_text(request)} was deleted{said} The bot checks "
            "again until it knows."
        )
    return o.text or f.finding.value


def outcome_text(request: DeletionRequest, outcome: Outcome) -> str:
    """The request's outcome as people read it on its message."""
    if outcome.finding == Finding.RECORDED:
        return outcome.text
    if outcome.verdict == Verdict.DONE:
        return _done(request, outcome)
    if outcome.verdict == Verdict.NOT_DONE:
        return _not_done(request, outcome)
    return _unknown(request, outcome)


def outcome_line(outcome: Outcome) -> str:
    """One line for the audit trail: the verdict, what decided it, the figures."""
    if outcome.finding == Finding.RECORDED:
        return outcome.text
    f = outcome.fact
    parts = [f"{outcome.verdict.value}: {f.finding.value}"]
    if f.tags:
        parts.append(_names(f.tags, 5))
    if f.digest:
        parts.append(f.digest)
    if f.answer:
        parts.append(f.answer)
    if outcome.of:
        parts.append(f"{outcome.done} of {outcome.of}")
    if outcome.skipped or outcome.failed:
        parts.append(f"{outcome.skipped} skipped, {outcome.failed} failed")
    if outcome.method:
        parts.append(f"via {outcome.method}")
    if outcome.checked:
        parts.append("checked after an interruption")
    if outcome.resumed:
        parts.append("resumed after an interruption")
    return "; ".join(parts)
