"""Retention rules and the cleanup plan they give for one repository.

Rules *retain*, as Harbor's and zot's do: an image (a digest) is kept when any of its
tags is kept, for any reason; every other image is a candidate for deletion. A pure
function of the tags, their images' dates and the rules: no registry, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from ..patterns import Pattern, compile_regex
from ..registry import sort_tags

# Reproducible builds stamp 1970 or 1980: a date before this is no age at all.
EARLIEST_USABLE = datetime(2000, 1, 1, tzinfo=UTC)
# An untagged manifest pulled (by digest) within this time is in use, unless the rules
# say otherwise (--keep-pulled-within).
UNTAGGED_IN_USE = timedelta(days=7)


@dataclass(frozen=True)
class RetentionRules:
    """What ``/registry prune`` was given. ``keep``: the N most recent tags among those
    ``match`` selects; ``older_than``: tags newer than this are kept; ``match`` /
    ``exclude``: regular expressions matched against the whole tag. ``untagged``: a
    cleanup of the manifests pushes left without a tag instead (tags are not touched;
    ``older_than`` counts from when the last tag moved off, and ``keep_pulled_within``
    defaults to ``UNTAGGED_IN_USE``)."""

    keep: int | None = None
    older_than: timedelta | None = None
    match: Pattern | None = None
    exclude: Pattern | None = None
    allow_empty: bool = False
    keep_pulled_within: timedelta | None = None
    untagged: bool = False
    # Also delete the accessories (signatures, attestations, SBOMs) whose image is gone.
    orphaned_accessories: bool = False

    def as_data(self) -> dict[str, object]:
        """The rules as JSON-ready data (stored with a cleanup's request)."""
        return {
            "keep": self.keep,
            "older_than": self.older_than.total_seconds() if self.older_than else None,
            "match": self.match.pattern if self.match else None,
            "exclude": self.exclude.pattern if self.exclude else None,
            "allow_empty": self.allow_empty,
            "keep_pulled_within": (
                self.keep_pulled_within.total_seconds() if self.keep_pulled_within else None
            ),
            "untagged": self.untagged,
            "orphaned_accessories": self.orphaned_accessories,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> RetentionRules:
        def seconds(key: str) -> timedelta | None:
            value = data.get(key)
            return timedelta(seconds=float(value)) if value is not None else None

        def regex(key: str) -> Pattern | None:
            value = data.get(key)
            return compile_regex(str(value)) if value is not None else None

        keep = data.get("keep")
        return cls(
            keep=int(keep) if keep is not None else None,
            older_than=seconds("older_than"),
            match=regex("match"),
            exclude=regex("exclude"),
            allow_empty=bool(data.get("allow_empty")),
            keep_pulled_within=seconds("keep_pulled_within"),
            untagged=bool(data.get("untagged")),
            orphaned_accessories=bool(data.get("orphaned_accessories")),
        )

    @property
    def keeps_nothing(self) -> bool:
        """Rules that by themselves would delete every selected tag (an untagged
        cleanup touches no tag)."""
        if self.untagged or (self.orphaned_accessories and self.keep is None):
            return False
        return not self.keep and not self.older_than

    @property
    def about_tags(self) -> bool:
        """The rules say which tags go (--keep or --older-than); without, only
        orphaned accessories do."""
        return self.keep is not None or self.older_than is not None

    def summary(self) -> str:
        """The rules as facts for the audit trail (``keep=3 older_than=2592000s``)."""
        return " ".join(
            f"{k}={f'{v:g}s' if isinstance(v, float) else v}"
            for k, v in self.as_data().items()
            if v is not None and v is not False
        )


class Kept(StrEnum):
    """Why a tag is kept."""

    RECENT = "recent"  # among the --keep N most recent
    NEWER = "newer"  # newer than --older-than
    NOT_MATCHED = "not matched"  # outside --match
    EXCLUDED = "excluded"  # matched by --exclude
    PROTECTED = "protected"  # matched by PROTECTED_TAGS
    IN_USE = "in use"  # its image was pulled within --keep-pulled-within
    UNDATED = "undated"  # no usable date: age rules keep it
    SHARED = "shared"  # a candidate whose image another kept tag points at
    PLATFORM = "platform"  # its image is a platform of a kept multi-arch image
    ACCESSORY = "accessory"  # a signature, attestation or SBOM of a kept image
    ORPHANED = "orphaned"  # an accessory whose image is gone (--orphaned-accessories)
    NO_TAG_RULES = "no tag rules"  # only --orphaned-accessories was given


class NoDate(StrEnum):
    """Why a tag has no usable date (age rules then keep it)."""

    NO_CREATED = "no created date"  # its image's config has no ``created``
    TOO_EARLY = "dated too early"  # before 2000: a reproducible build's fixed date
    UNREADABLE = "config unreadable"  # its image's config could not be read


@dataclass(frozen=True)
class KeptTag:
    """A tag a plan keeps, and why (with the kept tag whose image it shares, or why it
    has no date, where that is the reason)."""

    tag: str
    why: Kept
    same_as: str = ""
    no_date: NoDate | None = None

    def as_data(self) -> dict[str, object]:
        data: dict[str, object] = {"tag": self.tag, "why": self.why.value}
        if self.same_as:
            data["same_as"] = self.same_as
        if self.no_date is not None:
            data["no_date"] = self.no_date.value
        return data

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> KeptTag:
        no_date = data.get("no_date")
        return cls(
            str(data["tag"]),
            Kept(data["why"]),
            str(data.get("same_as", "")),
            NoDate(no_date) if no_date else None,
        )


@dataclass(frozen=True)
class TagFacts:
    """One tag as the planner sees it: its image and that image's age (push time when
    known, else the config's ``created``; None when neither is usable)."""

    tag: str
    digest: str
    date: datetime | None
    no_date: NoDate | None = None  # why there is no usable date
    pushed: bool = False  # the date is the tag's push time (from the registry's events)
    pulled: datetime | None = None  # the image's last pull, when the events told
    # For an accessory (a signature, attestation or SBOM: a ``sha256-<hex>.sig`` tag,
    # or an artifact whose manifest names a subject), the image it belongs to.
    subject: str | None = None


@dataclass(frozen=True)
class RepoUsage:
    """What the registry's events told of a repository: each tag's last push (the
    digest it pushed, and when: None when the event's time couldn't be believed) and
    each image's last pull."""

    pushes: dict[str, tuple[str, datetime | None]] = field(default_factory=dict)
    pulls: dict[str, datetime] = field(default_factory=dict)
    # Each manifest a push moved the last tag off (as far as the events told), when,
    # and which tag it was.
    left_untagged: dict[str, datetime] = field(default_factory=dict)
    left_by: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RepoPlan:
    """The plan for one repository: the images to delete (digest -> its tags), and
    every kept tag with why."""

    repository: str
    delete: dict[str, tuple[str, ...]] = field(default_factory=dict)
    kept: dict[str, Kept] = field(default_factory=dict)  # tag -> why
    conflicts: dict[str, str] = field(default_factory=dict)  # candidate -> kept tag
    undated: dict[str, NoDate] = field(default_factory=dict)  # tag -> why no date
    digests: dict[str, str] = field(default_factory=dict)  # every tag -> digest
    dated_by_push: int = 0  # tags aged by their push time rather than ``created``
    # An untagged cleanup's plan: ``delete`` holds untagged manifests (no tags), and
    # these are the untagged manifests it keeps, with why (IN_USE, NEWER).
    untagged: bool = False
    untagged_kept: dict[str, Kept] = field(default_factory=dict)

    @property
    def tags_deleted(self) -> int:
        return sum(len(t) for t in self.delete.values())

    @property
    def empties(self) -> bool:
        """The plan leaves the repository with no tags."""
        return bool(self.delete) and not self.kept and not self.untagged

    def kept_tag(self, tag: str) -> KeptTag:
        """A kept tag with why."""
        return KeptTag(tag, self.kept[tag], self.conflicts.get(tag, ""), self.undated.get(tag))


def usable_date(date: datetime | None) -> tuple[datetime | None, NoDate | None]:
    """``date`` when it can order images, else None and why."""
    if date is None:
        return None, NoDate.NO_CREATED
    if date < EARLIEST_USABLE:
        return None, NoDate.TOO_EARLY
    return date, None


def _kept_before_ranking(
    facts: TagFacts,
    rules: RetentionRules,
    protected: Pattern | None,
    in_use_since: datetime | None,
) -> Kept | None:
    """Why a tag is kept whatever its rank (protected, outside --match, excluded, in
    use, undated), or None when its age and rank decide."""
    if protected is not None and protected.search(facts.tag):
        return Kept.PROTECTED
    if rules.match is not None and not rules.match.fullmatch(facts.tag):
        return Kept.NOT_MATCHED
    if rules.exclude is not None and rules.exclude.fullmatch(facts.tag):
        return Kept.EXCLUDED
    if in_use_since and facts.pulled and facts.pulled > in_use_since:
        return Kept.IN_USE
    if not rules.about_tags:
        return Kept.NO_TAG_RULES
    if facts.date is None:
        return Kept.UNDATED
    return None


def plan_repository(
    repository: str,
    tags: list[TagFacts],
    rules: RetentionRules,
    now: datetime,
    *,
    protected: Pattern | None = None,
    platforms_of_kept: dict[str, set[str]] | None = None,
) -> RepoPlan:
    """Apply ``rules`` to ``tags``. ``platforms_of_kept(digests)`` is not needed for
    single-platform repositories; pass, for each tagged digest, the manifests under it
    (an index's platforms), so that a platform of a kept index is never deleted.

    An accessory (``subject`` set) is never ranked, aged or counted toward --keep: it
    goes with its image and stays with it; one whose image has no tag here is kept,
    unless --orphaned-accessories."""
    plan = RepoPlan(
        repository,
        digests={t.tag: t.digest for t in tags},
        dated_by_push=sum(1 for t in tags if t.pushed),
    )
    accessories = [t for t in tags if t.subject is not None]
    tags = [t for t in tags if t.subject is None]
    in_use_since = now - rules.keep_pulled_within if rules.keep_pulled_within else None
    selected: list[TagFacts] = []
    for facts in tags:
        why = _kept_before_ranking(facts, rules, protected, in_use_since)
        if why is None:
            selected.append(facts)
            continue
        plan.kept[facts.tag] = why
        if why == Kept.UNDATED:
            plan.undated[facts.tag] = facts.no_date or NoDate.NO_CREATED
    # Newest first; ties by tag name, newest version first.
    rank = {tag: i for i, tag in enumerate(sort_tags([t.tag for t in selected]))}
    selected.sort(key=lambda t: (-(t.date or now).timestamp(), rank[t.tag]))
    candidates: list[TagFacts] = []
    for position, facts in enumerate(selected):
        if rules.keep is not None and position < rules.keep:
            plan.kept[facts.tag] = Kept.RECENT
        elif rules.older_than is not None and facts.date and facts.date > now - rules.older_than:
            plan.kept[facts.tag] = Kept.NEWER
        else:
            candidates.append(facts)
    # A kept tag keeps its whole image, and every platform under it.
    kept_digests = {plan.digests[t] for t in plan.kept}
    under_kept: set[str] = set()
    for digest in kept_digests:
        under_kept |= (platforms_of_kept or {}).get(digest, set())
    by_digest: dict[str, str] = {}
    for tag in sorted(plan.kept):
        by_digest.setdefault(plan.digests[tag], tag)
    for facts in candidates:
        if facts.digest in kept_digests:
            plan.kept[facts.tag] = Kept.SHARED
            plan.conflicts[facts.tag] = by_digest[facts.digest]
        elif facts.digest in under_kept:
            plan.kept[facts.tag] = Kept.PLATFORM
        else:
            plan.delete[facts.digest] = (*plan.delete.get(facts.digest, ()), facts.tag)
    _follow_subjects(plan, accessories, rules, protected)
    return plan


def _follow_subjects(
    plan: RepoPlan, accessories: list[TagFacts], rules: RetentionRules, protected: Pattern | None
) -> None:
    """Each accessory goes where its image goes: deleted with it, kept with it; one
    whose image has no tag is kept, or deleted with --orphaned-accessories. A protected
    accessory, or one sharing its manifest with a kept tag, stays."""
    tagged = set(plan.digests[t] for t in plan.digests if t not in {a.tag for a in accessories})
    for facts in sorted(accessories, key=lambda a: a.tag):
        assert facts.subject is not None
        if protected is not None and protected.search(facts.tag):
            plan.kept[facts.tag] = Kept.PROTECTED
        elif facts.subject in plan.delete:
            plan.delete[facts.digest] = (*plan.delete.get(facts.digest, ()), facts.tag)
        elif facts.subject in tagged:
            plan.kept[facts.tag] = Kept.ACCESSORY
        elif rules.orphaned_accessories:
            plan.delete[facts.digest] = (*plan.delete.get(facts.digest, ()), facts.tag)
        else:
            plan.kept[facts.tag] = Kept.ORPHANED
    # An accessory's manifest another kept tag points at is not deleted.
    kept_digests = {plan.digests[t] for t in plan.kept}
    for digest in [d for d in plan.delete if d in kept_digests]:
        for tag in plan.delete.pop(digest):
            plan.kept[tag] = Kept.SHARED


def plan_untagged(
    repository: str,
    left: dict[str, datetime],
    pulls: dict[str, datetime],
    rules: RetentionRules,
    now: datetime,
) -> RepoPlan:
    """An untagged cleanup's plan: each of the untagged manifests ``left`` names (when
    its last tag moved off; the caller has checked that no tag reaches it now) is
    deleted unless pulled within --keep-pulled-within (default ``UNTAGGED_IN_USE``) or
    left more recently than --older-than."""
    plan = RepoPlan(repository, untagged=True)
    in_use_since = now - (rules.keep_pulled_within or UNTAGGED_IN_USE)
    for digest, at in sorted(left.items()):
        pulled = pulls.get(digest)
        if pulled is not None and pulled > in_use_since:
            plan.untagged_kept[digest] = Kept.IN_USE
        elif rules.older_than is not None and at > now - rules.older_than:
            plan.untagged_kept[digest] = Kept.NEWER
        else:
            plan.delete[digest] = ()
    return plan
