"""What carrying out a request found, as facts: a verdict (done, not done, not known),
the finding that decided it (``Finding``) with what it names (``Fact``), and the counts
and items a report is drawn from. Stored with the request as JSON; front ends write the
sentences (a cleanup's outcome in Slack, a line of a CLI).

A ``Fact`` also says why one image of a cleanup was skipped or failed, and what became
of one image of a restore (``Subject``)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """Whether the request's work was done: for a deletion, that it deleted; for a
    restore, that it put back."""

    DONE = "done"
    NOT_DONE = "not done"  # a check failed, or the registry refused: nothing changed
    UNKNOWN = "unknown"  # the registry failed in a way that may have changed it


class Finding(StrEnum):
    """What decided a request's outcome, or an item's."""

    # Done.
    DELETED = "deleted"  # the image's digest is gone
    DELETED_DESPITE_ERROR = "deleted despite an error"  # the DELETE failed, HEAD: gone
    TAG_REMOVED = "tag removed"  # one tag removed (method); ``tags``: those still on it
    BLOBS_DELETED = "blobs deleted"  # ``done`` of ``of`` blobs; failures in ``items``
    RESTORED = "restored"  # ``done`` of ``of`` images put back; each in ``items``
    CLEANED_UP = "cleaned up"  # a cleanup's counts; skipped and failed in ``items``
    GONE_ON_CHECK = "gone on check"  # after an interruption, the registry no longer has it
    # Not done.
    INCOMPLETE_VIEW = "incomplete view"  # the repository could not all be read (answer)
    TAG_MOVED = "tag moved"  # the named tag now points at ``digest``
    TAGS_ADDED = "tags added"  # ``tags`` were pointed at the image since the request
    TAGS_MOVED = "tags moved"  # the image's planned tags all point elsewhere now
    PROTECTED = "protected"  # protected ``tags`` point at it
    PLATFORM_OF_INDEX = "platform of an index"  # a multi-arch image tagged ``tags`` uses it
    BLOBS_IN_USE = "blobs in use"  # ``tags`` (blob digests) are used by a newer image
    UNDO_COPY_FAILED = "undo copy failed"  # the copy for undo couldn't be read or kept
    DELETE_DISABLED = "delete disabled"  # the registry does not allow deletes
    PERMISSION_DENIED = "permission denied"  # the bot's account may not delete
    STILL_SERVED = "still served"  # the DELETE was accepted, and the registry still has it
    DELETE_FAILED = "delete failed"  # the DELETE failed, and the registry still has it
    REGISTRY_FAILED = "registry failed"  # a call failed midway; nothing was changed
    SIBLINGS_BROKEN = "siblings broken"  # after a tag removal, ``tags`` no longer point at it
    NOTHING_KEPT = "nothing kept"  # what a restore would put back is no longer kept
    NOTHING_RESTORED = "nothing restored"  # every image of a restore failed (``items``)
    STILL_THERE_ON_CHECK = "still there on check"  # after an interruption
    TAG_STILL_SET = "tag still set"  # after an interruption, the tag points at ``digest``
    # An image of a restore.
    IMAGE_RESTORED = "image restored"  # ``tags``: the tags pointed at it again
    TAG_LEFT = "tag left"  # the tag points at ``digest`` now, and was left as it is
    TAG_ELSEWHERE = "tag elsewhere"  # the registry pointed the tag at ``digest`` instead
    BLOBS_GONE = "blobs gone"  # a blob or platform it needs is gone (garbage collection?)
    REFUSED_BY_REGISTRY = "refused by the registry"  # the PUT was refused (answer)
    WRONG_DIGEST = "wrong digest"  # the registry stored ``digest`` instead
    # Not known.
    NOT_KNOWN = "not known"  # the DELETE failed, and the registry could not be asked
    CHECK_FAILED = "check failed"  # after an interruption, the registry could not be asked
    # Written as a sentence before outcomes were typed (``Outcome.text``).
    RECORDED = "recorded"


@dataclass(frozen=True)
class Fact:
    """A finding and what it names: tags, another image (where a tag points now), and
    what the registry answered (a status, an error's message)."""

    finding: Finding
    tags: tuple[str, ...] = ()
    digest: str = ""
    answer: str = ""

    def as_data(self) -> dict[str, object]:
        data: dict[str, object] = {"finding": self.finding.value}
        if self.tags:
            data["tags"] = list(self.tags)
        if self.digest:
            data["digest"] = self.digest
        if self.answer:
            data["answer"] = self.answer
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Fact:
        return cls(
            Finding(data["finding"]),
            tuple(str(t) for t in data.get("tags", ())),
            str(data.get("digest", "")),
            str(data.get("answer", "")),
        )


@dataclass(frozen=True)
class Subject:
    """One image (or blob) of a request's outcome, and what became of it."""

    repository: str
    digest: str
    fact: Fact
    tags: tuple[str, ...] = ()  # the tags it had (a cleanup's item)
    skipped: bool = False  # a cleanup's item a check kept (else: it failed)

    def as_data(self) -> dict[str, object]:
        return {
            "repository": self.repository,
            "digest": self.digest,
            "fact": self.fact.as_data(),
            "tags": list(self.tags),
            "skipped": self.skipped,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Subject:
        return cls(
            str(data["repository"]),
            str(data["digest"]),
            Fact.from_data(data["fact"]),
            tuple(str(t) for t in data.get("tags", ())),
            bool(data.get("skipped", False)),
        )


@dataclass(frozen=True)
class Outcome:
    """What carrying out a request found. ``fact`` decided it; the rest are the
    report's figures: ``done`` of ``of`` (blobs deleted, images put back or deleted by
    a cleanup; ``tags`` the tags they had), ``skipped`` and ``failed``, the bytes
    garbage collection can reclaim, and ``items``: the first images or blobs that
    weren't done, or a restore's every image, with why. ``method`` is how a tag was
    removed; ``checked``: settled by asking the registry after an interruption;
    ``resumed``: carried on by another holder after this one's stopped."""

    verdict: Verdict
    fact: Fact
    done: int = 0
    of: int = 0
    tags: int = 0
    skipped: int = 0
    failed: int = 0
    reclaimable: int | None = None
    untagged_children: int = 0  # an index's platforms, untagged by its deletion
    emptied: bool = False  # the repository has no tag left
    method: str = ""
    items: tuple[Subject, ...] = ()
    more: int = 0  # items beyond those listed
    checked: bool = False
    resumed: bool = False
    text: str = ""  # RECORDED: the sentence written before outcomes were typed

    @property
    def finding(self) -> Finding:
        return self.fact.finding

    def as_data(self) -> dict[str, object]:
        return {
            "verdict": self.verdict.value,
            "fact": self.fact.as_data(),
            "done": self.done,
            "of": self.of,
            "tags": self.tags,
            "skipped": self.skipped,
            "failed": self.failed,
            "reclaimable": self.reclaimable,
            "untagged_children": self.untagged_children,
            "emptied": self.emptied,
            "method": self.method,
            "items": [i.as_data() for i in self.items],
            "more": self.more,
            "checked": self.checked,
            "resumed": self.resumed,
            "text": self.text,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Outcome:
        reclaimable = data.get("reclaimable")
        return cls(
            Verdict(data["verdict"]),
            Fact.from_data(data["fact"]),
            int(data.get("done", 0)),
            int(data.get("of", 0)),
            int(data.get("tags", 0)),
            int(data.get("skipped", 0)),
            int(data.get("failed", 0)),
            int(reclaimable) if reclaimable is not None else None,
            int(data.get("untagged_children", 0)),
            bool(data.get("emptied", False)),
            str(data.get("method", "")),
            tuple(Subject.from_data(i) for i in data.get("items", ())),
            int(data.get("more", 0)),
            bool(data.get("checked", False)),
            bool(data.get("resumed", False)),
            str(data.get("text", "")),
        )
