"""Parsing the text of ``/registry ...`` into typed commands.

Bad input raises ``UsageError`` with a message saying what to type instead; nothing
here talks to the registry. A cleanup's rules and a policy's schedule are parsed in
``cleanup_words``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from ..deletions import RetentionRules
from ..policies import Schedule
from ..registry import InvalidReferenceError, Reference, parse_reference, validate_repository
from .cleanup_words import (
    MAX_FILTER,
    MAX_REASON,
    UsageError,
    cleanup_words,
    duration_flag,
    prune_pattern,
    schedule_words,
)


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class ListRepos:
    pattern: str | None = None


@dataclass(frozen=True)
class ListTags:
    repository: str
    pattern: str | None = None


@dataclass(frozen=True)
class Show:
    reference: Reference


@dataclass(frozen=True)
class Delete:
    """Delete an image (its digest), one tag only (``untag``) or a blob, for ``reason``."""

    reference: Reference
    reason: str = ""
    blob: bool = False
    untag: bool = False


@dataclass(frozen=True)
class Prune:
    """A cleanup of the repositories ``pattern`` names, by retention ``rules``."""

    pattern: str
    rules: RetentionRules
    reason: str = ""


@dataclass(frozen=True)
class Restore:
    """Put back what an executed deletion took (its request ID)."""

    request_id: str


@dataclass(frozen=True)
class ShowActivity:
    """The latest pushes and deletions the registry reported (of one repository)."""

    repository: str | None = None


@dataclass(frozen=True)
class ShowStorage:
    """Where the disk goes (of the repositories a pattern names)."""

    pattern: str | None = None


@dataclass(frozen=True)
class ListUntagged:
    """The manifests a push left without a tag (of the repositories a pattern names);
    those pulled within ``in_use_within`` are marked in use."""

    pattern: str | None = None
    in_use_within: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class Pending:
    pass


@dataclass(frozen=True)
class Audit:
    limit: int = 20


class PolicyAction(StrEnum):
    RUN = "run"
    PAUSE = "pause"
    RESUME = "resume"
    REMOVE = "remove"
    SHOW = "show"


@dataclass(frozen=True)
class PolicyAdd:
    """A cleanup policy: ``prune``'s pattern and rules, a schedule (a period or a cron
    expression), and the channel its plans go to (None: the command's)."""

    name: str
    pattern: str
    rules: RetentionRules
    schedule: Schedule
    channel: str | None = None
    reason: str = ""


@dataclass(frozen=True)
class PolicyList:
    pass


@dataclass(frozen=True)
class PolicyCommand:
    """``policy show|run|pause|resume|remove NAME``."""

    action: PolicyAction
    name: str


# The commands whose replies offer Share in channel (read-only, drawn again when shared).
SHAREABLE = (ListRepos, ListTags, Show, ShowActivity)


@dataclass(frozen=True)
class ShowOwners:
    """Who owns ``repository`` (None: every owner rule) and what approving takes."""

    repository: str | None = None


@dataclass(frozen=True)
class WhoAmI:
    """Where the caller may approve deletions."""


@dataclass(frozen=True)
class UseRegistry:
    """Set the channel's default registry to ``name`` (None: say which it is)."""

    name: str | None = None


Command = (
    Help
    | ListRepos
    | ListTags
    | Show
    | Delete
    | Prune
    | Restore
    | ShowActivity
    | ListUntagged
    | ShowStorage
    | Pending
    | Audit
    | PolicyAdd
    | PolicyList
    | PolicyCommand
    | ShowOwners
    | WhoAmI
    | UseRegistry
)
MAX_AUDIT = 50


@dataclass(frozen=True)
class CommandSpec:
    """One verb of ``/registry``: the single source of its usage line, its help entry,
    its part of the manifest's ``usage_hint``, and its parser."""

    verb: str
    arguments: str  # as the usage line shows them
    brief: str  # as the manifest's usage_hint shows them
    summary: str  # one line of help
    example: str  # what follows the verb in the help's example
    parse: Callable[[CommandSpec, list[str]], Command]
    aliases: tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        return f"/registry {self.verb} {self.arguments}".rstrip()

    @property
    def example_line(self) -> str:
        return f"/registry {self.verb} {self.example}".rstrip()

    @property
    def hint(self) -> str:
        return f"{self.verb} {self.brief}".rstrip()


def _pattern(words: list[str], usage: str) -> str | None:
    if len(words) > 1:
        raise UsageError("Give at most one FILTER (a substring, or a glob like 'app/*').", usage)
    if not words:
        return None
    if len(words[0]) > MAX_FILTER:
        raise UsageError(f"The filter is longer than {MAX_FILTER} characters.", usage)
    return words[0]


def _help(spec: CommandSpec, args: list[str]) -> Command:
    return Help()


def _repos(spec: CommandSpec, args: list[str]) -> Command:
    return ListRepos(_pattern(args, spec.usage))


def _tags(spec: CommandSpec, args: list[str]) -> Command:
    if not args:
        raise UsageError("Name the repository whose tags to list.", spec.usage)
    repository = args[0]
    if ":" in repository.rpartition("/")[2] or "@" in repository:
        raise UsageError(
            f"`tags` takes a repository name, not an image reference; to see one image "
            f"use /registry show {repository}.",
            spec.usage,
        )
    try:
        validate_repository(repository)
    except InvalidReferenceError as exc:
        raise UsageError(str(exc), spec.usage) from None
    return ListTags(repository, _pattern(args[1:], spec.usage))


def _show(spec: CommandSpec, args: list[str]) -> Command:
    if len(args) != 1:
        raise UsageError("Name one image, like busybox:1.36 or busybox@sha256:….", spec.usage)
    try:
        return Show(parse_reference(args[0]))
    except InvalidReferenceError as exc:
        raise UsageError(str(exc), spec.usage) from None


def _delete(spec: CommandSpec, args: list[str]) -> Command:
    usage, verb = spec.usage, spec.verb
    blob = verb == "delete-blob"
    if not args:
        what = "REPO@DIGEST" if blob else "REPO:TAG or REPO@DIGEST"
        raise UsageError(f"Name what to delete: {what}.", usage)
    try:
        ref = parse_reference(args[0])
    except InvalidReferenceError as exc:
        raise UsageError(str(exc), usage) from None
    if blob and (not ref.digest or ref.tag):
        raise UsageError("A blob is named by its digest: REPO@sha256:….", usage)
    if verb == "untag" and (not ref.tag or ref.digest):
        raise UsageError("Name the tag to remove: REPO:TAG.", usage)
    if not blob and not (ref.tag or ref.digest):
        raise UsageError(
            f"Name the tag or digest to delete, like {ref.repository}:TAG; a bare repository "
            "name would mean :latest, which is too easy to get wrong.",
            usage,
        )
    reason = " ".join(args[1:])
    if len(reason) > MAX_REASON:
        raise UsageError(f"The reason is longer than {MAX_REASON} characters.", usage)
    return Delete(ref, reason, blob, untag=verb == "untag")


_REQUEST_ID_RE = re.compile(r"[0-9a-f]{16}")


def _prune(spec: CommandSpec, args: list[str]) -> Command:
    return Prune(*cleanup_words(args, spec.usage))


_POLICY_USAGE = (
    '/registry policy add NAME REPO_PATTERN RULES... (--every DURATION | --cron "EXPR") '
    "[--channel CHANNEL_ID] [reason...] | list | show NAME | run NAME | pause NAME | "
    "resume NAME | remove NAME"
)


def _policy(spec: CommandSpec, args: list[str]) -> Command:
    usage = _POLICY_USAGE
    sub = args[0].lower() if args else ""
    if sub == "list" and len(args) == 1:
        return PolicyList()
    if sub == "add":
        if len(args) < 3:
            raise UsageError("Name the policy and the repositories it cleans up.", usage)
        schedule, channel, left = schedule_words(args[3:], usage)
        pattern, rules, reason = cleanup_words([args[2], *left], usage)
        return PolicyAdd(args[1], pattern, rules, schedule, channel, reason)
    if sub in {a.value for a in PolicyAction} and len(args) == 2:
        return PolicyCommand(PolicyAction(sub), args[1])
    raise UsageError("Which policy command? " + usage.removeprefix("/registry policy "), usage)


def _restore(spec: CommandSpec, args: list[str]) -> Command:
    if len(args) != 1 or not _REQUEST_ID_RE.fullmatch(args[0].strip("`")):
        raise UsageError(
            "Give the ID of an executed deletion request (16 characters, as the outcome "
            "and /registry audit show it).",
            spec.usage,
        )
    return Restore(args[0].strip("`"))


def _one_repository(spec: CommandSpec, args: list[str]) -> str | None:
    """The one repository name ``args`` may hold (None: none)."""
    if len(args) > 1:
        raise UsageError("Name at most one repository.", spec.usage)
    if args:
        try:
            validate_repository(args[0])
        except InvalidReferenceError as exc:
            raise UsageError(str(exc), spec.usage) from None
    return args[0] if args else None


def _activity(spec: CommandSpec, args: list[str]) -> Command:
    return ShowActivity(_one_repository(spec, args))


def _untagged(spec: CommandSpec, args: list[str]) -> Command:
    usage = spec.usage
    words = [a for a in args if not a.startswith("--")]
    flags = [a for a in args if a.startswith("--")]
    values: dict[str, str] = {}
    if flags:
        flag, has_value, value = flags[0].partition("=")
        if flag != "--keep-pulled-within" or len(flags) > 1:
            raise UsageError("The only option is --keep-pulled-within DURATION.", usage)
        if not has_value:
            at = args.index(flags[0])
            value = args[at + 1] if at + 1 < len(args) else ""
            if value in words:
                words.remove(value)
        values[flag] = value
    if len(words) > 1:
        raise UsageError("Give at most one repository name or glob.", usage)
    within = duration_flag(values, "--keep-pulled-within", usage) or timedelta(days=7)
    return ListUntagged(prune_pattern(words[0], usage) if words else None, within)


def _storage(spec: CommandSpec, args: list[str]) -> Command:
    if len(args) > 1:
        raise UsageError("Give at most one repository name or glob.", spec.usage)
    return ShowStorage(prune_pattern(args[0], spec.usage) if args else None)


def _pending(spec: CommandSpec, args: list[str]) -> Command:
    if args:
        raise UsageError("`pending` takes no arguments.", spec.usage)
    return Pending()


def _owners(spec: CommandSpec, args: list[str]) -> Command:
    return ShowOwners(_one_repository(spec, args))


def _whoami(spec: CommandSpec, args: list[str]) -> Command:
    if args:
        raise UsageError("`whoami` takes no arguments.", spec.usage)
    return WhoAmI()


_REGISTRY_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")  # the configuration file's rule


def _use(spec: CommandSpec, args: list[str]) -> Command:
    if len(args) > 1:
        raise UsageError("`use` takes one registry's name, or none.", spec.usage)
    if args and not _REGISTRY_NAME_RE.fullmatch(args[0].lower()):
        raise UsageError(f"{args[0][:40]!r} is not a registry's name.", spec.usage)
    return UseRegistry(args[0].lower() if args else None)


def _audit(spec: CommandSpec, args: list[str]) -> Command:
    if len(args) > 1 or (
        args and not (args[0].isascii() and args[0].isdigit() and 1 <= int(args[0]) <= MAX_AUDIT)
    ):
        raise UsageError(f"Give how many events to show, 1 to {MAX_AUDIT}.", spec.usage)
    return Audit(int(args[0]) if args else 20)


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "repos",
        "[FILTER]",
        "[FILTER]",
        "List repositories.",
        "team-a/*",
        _repos,
        aliases=("repositories", "catalog"),
    ),
    CommandSpec(
        "tags",
        "REPO [FILTER]",
        "REPO [FILTER]",
        "List tags with digest, size, age, platforms and tags sharing an image.",
        "busybox 1.3*",
        _tags,
    ),
    CommandSpec(
        "show",
        "REPO[:TAG|@DIGEST]",
        "REF",
        "One image in detail: platforms, layers, labels (also `layers`, `inspect`).",
        "busybox:1.36",
        _show,
        aliases=("layers", "inspect"),
    ),
    CommandSpec(
        "delete",
        "REPO:TAG|REPO@DIGEST [reason...]",
        "REF [reason]",
        "Ask to delete an image (every tag on its digest goes too); approvers decide.",
        "busybox:1.35 superseded by 1.36",
        _delete,
    ),
    CommandSpec(
        "untag",
        "REPO:TAG [reason...]",
        "REPO:TAG [reason]",
        "Ask to remove one tag only; the other tags on the image keep working.",
        "busybox:rc-1 wrong build",
        _delete,
    ),
    CommandSpec(
        "delete-blob",
        "REPO@DIGEST [reason...]",
        "REPO@DIGEST [reason]",
        "Ask to delete one blob (a layer or config) that no tag uses.",
        "busybox@sha256:… orphaned layer",
        _delete,
    ),
    CommandSpec(
        "prune",
        "REPO_PATTERN [--keep N] [--older-than DURATION] [--match REGEX] [--exclude REGEX] "
        "[--keep-pulled-within DURATION] [--allow-empty] [--untagged] "
        "[--orphaned-accessories] [reason...]",
        "REPO_PATTERN [--keep N] [--older-than D] [...]",
        "Clean up by retention rules (or, with --untagged, the manifests pushes left "
        "without a tag): a dry run first, then one approval for the plan.",
        "ci/* --keep 10 --older-than 30d --match 'pr-.*' old CI builds",
        _prune,
    ),
    CommandSpec(
        "restore",
        "REQUEST_ID",
        "ID",
        "Ask to put back what an executed deletion took (until garbage collection).",
        "3f2a9c0d1e4b5a69",
        _restore,
        aliases=("undo",),
    ),
    CommandSpec(
        "activity",
        "[REPO]",
        "[REPO]",
        "The latest pushes and deletions the registry reported (outside ones flagged).",
        "team-a/api",
        _activity,
    ),
    CommandSpec(
        "storage",
        "[REPO_PATTERN]",
        "[REPO_PATTERN]",
        "Where the disk goes: each blob counted once across the registry, per repository.",
        "team-a/*",
        _storage,
    ),
    CommandSpec(
        "untagged",
        "[REPO_PATTERN] [--keep-pulled-within DURATION]",
        "[REPO_PATTERN]",
        "Images a push left without a tag (from the registry's events), with size and pulls.",
        "ci/*",
        _untagged,
    ),
    CommandSpec(
        "policy",
        "add NAME REPO_PATTERN RULES... (--every D | --cron EXPR) [--channel C] | list | "
        "show|run|pause|resume|remove NAME",
        "add|list|show|run|pause|resume|remove",
        "Cleanup policies: prune's rules on a schedule; each run asks the approvers first.",
        'add nightly-ci ci/* --keep 10 --older-than 30d --cron "0 3 * * *" old CI builds',
        _policy,
        aliases=("policies",),
    ),
    CommandSpec("pending", "", "", "Deletion requests waiting for approval.", "", _pending),
    CommandSpec(
        "owners",
        "[REPO]",
        "[REPO]",
        "Who owns a repository, and what approving its deletions takes.",
        "team-a/api",
        _owners,
    ),
    CommandSpec("whoami", "", "", "Where you may approve deletions.", "", _whoami),
    CommandSpec(
        "use",
        "[REGISTRY]",
        "[REGISTRY]",
        "This channel's default registry: set it (approvers), or see which it is.",
        "staging",
        _use,
    ),
    CommandSpec(
        "audit",
        f"[N, at most {MAX_AUDIT}]",
        "[N]",
        "The last N audit events.",
        "20",
        _audit,
    ),
    CommandSpec("help", "", "", "This message.", "", _help, aliases=("-h", "--help", "?")),
)
_BY_WORD = {word: spec for spec in COMMANDS for word in (spec.verb, *spec.aliases)}


def spec_for(verb: str) -> CommandSpec:
    return _BY_WORD[verb]


def usage_hint() -> str:
    """What manifest.yml's ``usage_hint`` must say: every verb, briefly."""
    return " | ".join(spec.hint for spec in COMMANDS)


def parse_command(text: str) -> Command:
    """The command in ``text`` (what follows ``/registry``); an empty text is help."""
    words = text.split()
    if not words:
        return Help()
    spec = _BY_WORD.get(words[0].lower())
    if spec is None:
        raise UsageError(f"Unknown command {words[0].lower()!r}.")
    return spec.parse(spec, words[1:])
