"""Owners of repositories: rules that give a repository pattern its own approvers,
quorum, protected tags and channels (and, optionally, a second group that must approve
too), and the choice of the rule that owns a repository: the one whose pattern matches
it most specifically (the longest literal prefix, then the fewest wildcards, then the
first in the file). A repository no rule names has no owner: the global settings hold.

What approving a deletion takes (``Approval``) is one part per group that must agree,
each with its approvers and how many of them; ``standing`` counts a request's approvals
against it (a vote counts for every part whose group the voter is in, once per person;
the requester counts for none)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..patterns import Pattern, glob_pattern

WILDCARDS = "*?"  # a repository pattern's (names never hold a [)


@dataclass(frozen=True)
class ApprovalGroup:
    """Who else must approve, and how many of them."""

    approvers: tuple[str, ...]
    approvals: int = 1


@dataclass(frozen=True)
class ApprovalPart:
    """One group that must agree: its people and user groups, and how many approvals
    from them it takes."""

    users: tuple[str, ...]
    groups: tuple[str, ...] = ()
    approvals: int = 1

    @property
    def approvers(self) -> tuple[str, ...]:
        """Every approver ID, people first."""
        return self.users + self.groups

    @classmethod
    def of(
        cls, approvers: Iterable[str], approvals: int, is_group: Callable[[str], bool]
    ) -> ApprovalPart:
        ids = tuple(approvers)
        users = tuple(a for a in ids if not is_group(a))
        return cls(users, tuple(a for a in ids if is_group(a)), approvals)


@dataclass(frozen=True)
class Approval:
    """What approving a request takes: every part's approvals. ``owner``: the pattern of
    the owner rule it comes from (None: the global settings)."""

    parts: tuple[ApprovalPart, ...]
    owner: str | None = None

    def with_(self, other: Approval) -> Approval:
        """What both ask (each part once): a request pinned to one rule that has become
        stricter needs what the rule asks now as well."""
        parts = self.parts + tuple(p for p in other.parts if p not in self.parts)
        return Approval(parts, other.owner if other.owner is not None else self.owner)

    def as_data(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "parts": [
                {"users": list(p.users), "groups": list(p.groups), "approvals": p.approvals}
                for p in self.parts
            ],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Approval:
        parts = tuple(
            ApprovalPart(tuple(p["users"]), tuple(p["groups"]), int(p["approvals"]))
            for p in data["parts"]
        )
        return cls(parts, data.get("owner"))


@dataclass(frozen=True)
class PartStanding:
    """One part of what approving takes, and who approved for it."""

    part: ApprovalPart
    approved_by: tuple[str, ...]

    @property
    def met(self) -> bool:
        return len(self.approved_by) >= self.part.approvals


@dataclass(frozen=True)
class Standing:
    """Where a request stands against what approving it takes. ``raised``: its owner
    rule asks more now than when it was requested."""

    approval: Approval
    parts: tuple[PartStanding, ...]
    raised: bool = False

    @property
    def met(self) -> bool:
        return all(p.met for p in self.parts)

    @property
    def missing(self) -> tuple[PartStanding, ...]:
        return tuple(p for p in self.parts if not p.met)

    @property
    def approvers(self) -> tuple[str, ...]:
        """Every approver ID of every part (each once, in order)."""
        return tuple(dict.fromkeys(a for p in self.parts for a in p.part.approvers))


def standing(
    approval: Approval,
    approvals: Iterable[str],
    requester: str,
    is_member: Callable[[str, ApprovalPart], bool],
    raised: bool = False,
) -> Standing:
    """Count ``approvals`` (who approved, in order) against ``approval``."""
    voters = [u for u in dict.fromkeys(approvals) if u != requester]
    parts = tuple(
        PartStanding(part, tuple(u for u in voters if is_member(u, part)))
        for part in approval.parts
    )
    return Standing(approval, parts, raised)


@dataclass(frozen=True)
class OwnerRule:
    """One owner rule, as the configuration file gives it. ``position``: its place in
    the file (0: first); ``registries``: the registries it covers (empty: every one)."""

    position: int
    repositories: tuple[str, ...]
    approvers: tuple[str, ...]
    approvals_required: int = 1
    registries: tuple[str, ...] = ()
    protected_tags: Pattern | None = None
    approval_channel: str | None = None
    events_channel: str | None = None
    also_required: ApprovalGroup | None = None

    def covers(self, registry: str) -> bool:
        return not self.registries or registry in self.registries

    def holds(self, pattern: str) -> bool:
        """Whether every repository ``pattern`` (a glob) can match is under one of this
        rule's patterns, as far as can be told from the patterns alone: the same
        pattern, or one under a pattern ``PREFIX/**`` whose prefix has no wildcard."""
        for mine in self.repositories:
            if pattern == mine:
                return True
            prefix = mine.removesuffix("/**")
            literal = prefix != mine and literal_prefix(prefix) == prefix
            if literal and pattern.startswith(prefix + "/"):
                return True
        return False


def literal_prefix(glob: str) -> str:
    """What a glob starts with before its first wildcard (all of it: none)."""
    cut = [i for i in (glob.find(c) for c in WILDCARDS) if i >= 0]
    return glob[: min(cut)] if cut else glob


def wildcards(glob: str) -> int:
    """How many wildcards a glob has: ``**`` counts two (``team/*`` is more specific
    than ``team/**``)."""
    return glob.count("*") + glob.count("?")


@dataclass(frozen=True)
class Ownership:
    """The rule that owns a repository, and the pattern of it that matched."""

    rule: OwnerRule
    pattern: str


@dataclass(frozen=True)
class Terms:
    """What a repository's deletions take: the approval, the protected tags, where its
    owner wants the requests and the registry's alerts (None: where the global settings
    say); ``owner``: the rule they come from (None: the global settings)."""

    approval: Approval
    protected: Pattern | None = None
    approval_channel: str | None = None
    events_channel: str | None = None
    owner: Ownership | None = None


def global_terms(
    users: Iterable[str], groups: Iterable[str], approvals: int, protected: Pattern | None = None
) -> Terms:
    """The terms of repositories no rule names: the global settings."""
    part = ApprovalPart(tuple(sorted(users)), tuple(sorted(groups)), approvals)
    return Terms(Approval((part,)), protected)


def _is_group(approver: str) -> bool:
    return approver.startswith("S")  # Slack's user group IDs


class Owners:
    """The owner rules of one registry (``registry``), their patterns compiled once,
    over the global terms (``default``: for repositories no rule names).
    ``is_group`` tells a user group's ID from a person's."""

    def __init__(
        self,
        rules: Sequence[OwnerRule] = (),
        *,
        default: Terms | None = None,
        registry: str = "default",
        is_group: Callable[[str], bool] = _is_group,
    ) -> None:
        self.rules = tuple(rules)
        self.default = default or Terms(Approval((ApprovalPart(()),)))
        self.registry = registry
        self.is_group = is_group
        self._matchers = [
            (rule, glob, glob_pattern(glob, segments=True))
            for rule in self.rules
            if rule.covers(registry)
            for glob in rule.repositories
        ]

    def owner_of(self, repository: str) -> Ownership | None:
        """The rule owning ``repository`` (None: no rule names it)."""
        best: tuple[tuple[int, int, int], Ownership] | None = None
        for rule, glob, matcher in self._matchers:
            if not matcher.fullmatch(repository):
                continue
            score = (len(literal_prefix(glob)), -wildcards(glob), -rule.position)
            if best is None or score > best[0]:
                best = (score, Ownership(rule, glob))
        return best[1] if best is not None else None

    def terms_for(self, repository: str) -> Terms:
        """What deleting from ``repository`` takes: its owner's terms, or the global."""
        owned = self.owner_of(repository)
        if owned is None:
            return self.default
        return self.rule_terms(owned.rule, owned)

    def rule_terms(self, rule: OwnerRule, owned: Ownership | None = None) -> Terms:
        """What ``rule`` asks of the repositories it owns (``owned``: which pattern of
        it matched; its first, when not said)."""
        owned = owned or Ownership(rule, rule.repositories[0] if rule.repositories else "")
        parts = [ApprovalPart.of(rule.approvers, rule.approvals_required, self.is_group)]
        if rule.also_required is not None:
            also = rule.also_required
            parts.append(ApprovalPart.of(also.approvers, also.approvals, self.is_group))
        return Terms(
            Approval(tuple(parts), owned.pattern),
            rule.protected_tags,
            rule.approval_channel,
            rule.events_channel,
            owned,
        )

    def every_rule(self) -> list[Terms]:
        """What each rule of this registry asks, in the file's order."""
        return [self.rule_terms(rule) for rule in self.rules if rule.covers(self.registry)]

    def by_owner(self, repositories: Iterable[str]) -> dict[Ownership | None, list[str]]:
        """``repositories`` grouped by their owner (None: no rule names them), in the
        order first met."""
        groups: dict[Ownership | None, list[str]] = {}
        for repository in repositories:
            groups.setdefault(self.owner_of(repository), []).append(repository)
        return groups
