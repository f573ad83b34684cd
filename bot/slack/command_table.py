"""Parsing the text of ``/registry ...`` into typed commands.

Bad input raises ``UsageError`` with a message saying what to type instead; nothing
here talks to the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..deletions import RetentionRules
from ..durations import parse_duration
from ..patterns import SYNTAX, Pattern, PatternError, compile_regex
from ..policies import Schedule, ScheduleError, ScheduleProblem, cron, every
from ..registry import InvalidReferenceError, Reference, parse_reference, validate_repository

MAX_FILTER = 200


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
)
MAX_REASON = 500
MAX_AUDIT = 50


class UsageError(ValueError):
    """The command text is wrong; ``usage`` is the line to show, when one applies."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


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
PRUNE_FLAGS = (
    "--keep",
    "--older-than",
    "--match",
    "--exclude",
    "--keep-pulled-within",
    "--allow-empty",
)
MAX_KEEP = 100_000
# Quotes people put around a regular expression (Slack may turn them into curly ones).
_QUOTES = "'\"`\u2018\u2019\u201c\u201d"


def _prune_pattern(word: str, usage: str) -> str:
    """A repository name, or a glob over them (``*``, ``?``, ``**``)."""
    if len(word) > MAX_FILTER:
        raise UsageError(f"The repository pattern is longer than {MAX_FILTER} characters.", usage)
    try:
        validate_repository(word.replace("*", "a").replace("?", "a"))
    except InvalidReferenceError as exc:
        raise UsageError(f"{word!r} is not a repository name or glob: {exc}", usage) from None
    return word


def _regex(flag: str, value: str, usage: str) -> Pattern:
    text = value.strip(_QUOTES)
    if len(text) > MAX_FILTER:
        raise UsageError(f"The {flag} expression is longer than {MAX_FILTER} characters.", usage)
    try:
        return compile_regex(text)
    except PatternError as exc:
        instead = (
            " To leave tags out, give them to --exclude instead (--exclude 'release-.*')."
            if flag == "--match" and "negative look" in exc.reason
            else ""
        )
        raise UsageError(
            f"{flag} {text!r} can't be used: {exc.reason}. Expressions are in {SYNTAX}, "
            f"so matching never takes longer than the tag is long.{instead}",
            usage,
        ) from None


def _prune_words(words: list[str], usage: str) -> tuple[dict[str, str], list[str]]:
    """The flags given (each with its value; ``--allow-empty`` with "yes") and the words
    of the reason."""
    values: dict[str, str] = {}
    reason: list[str] = []
    remaining = iter(words)
    for word in remaining:
        if not word.startswith("--"):
            reason.append(word)
            continue
        flag, has_value, value = word.partition("=")
        if flag not in PRUNE_FLAGS:
            raise UsageError(
                f"Unknown option {flag[:40]!r}; the options are {', '.join(PRUNE_FLAGS)}.", usage
            )
        if flag == "--allow-empty":
            values[flag] = "yes"
            continue
        if not has_value:
            value = next(remaining, "")
        if not value or value.startswith("--"):
            raise UsageError(f"{flag} needs a value.", usage)
        values[flag] = value
    return values, reason


def _duration_flag(values: dict[str, str], flag: str, usage: str) -> timedelta | None:
    if flag not in values:
        return None
    try:
        return parse_duration(values[flag])
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}.", usage) from None


def _keep_flag(values: dict[str, str], usage: str) -> int | None:
    if "--keep" not in values:
        return None
    text = values["--keep"]
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_KEEP:
        raise UsageError(f"--keep takes a whole number from 0 to {MAX_KEEP:,}.", usage)
    return int(text)


def _prune(spec: CommandSpec, args: list[str]) -> Command:
    return Prune(*_cleanup(args, spec.usage))


def _cleanup(args: list[str], usage: str) -> tuple[str, RetentionRules, str]:
    """A cleanup's pattern, rules and reason, as ``prune`` takes them."""
    if not args or args[0].startswith("-"):
        raise UsageError("Name the repository (or a glob like team/*) to clean up.", usage)
    pattern = _prune_pattern(args[0], usage)
    values, reason = _prune_words(args[1:], usage)
    match = _regex("--match", values["--match"], usage) if "--match" in values else None
    exclude = _regex("--exclude", values["--exclude"], usage) if "--exclude" in values else None
    keep = _keep_flag(values, usage)
    older_than = _duration_flag(values, "--older-than", usage)
    pulled_within = _duration_flag(values, "--keep-pulled-within", usage)
    if keep is None and older_than is None:
        raise UsageError("Give --keep N or --older-than DURATION (or both).", usage)
    rules = RetentionRules(
        keep=keep,
        older_than=older_than,
        match=match,
        exclude=exclude,
        allow_empty="--allow-empty" in values,
        keep_pulled_within=pulled_within,
    )
    if rules.keeps_nothing:
        raise UsageError(
            "These rules keep nothing: this would delete every tag. Use --keep N with N > 0, "
            "or --older-than.",
            usage,
        )
    text = " ".join(reason)
    if len(text) > MAX_REASON:
        raise UsageError(f"The reason is longer than {MAX_REASON} characters.", usage)
    return pattern, rules, text


_CHANNEL = re.compile(r"^<#(?P<id>[CG][A-Z0-9]{2,20})(\|[^>]*)?>$|^(?P<plain>[CG][A-Z0-9]{2,20})$")
_POLICY_USAGE = (
    '/registry policy add NAME REPO_PATTERN RULES... (--every DURATION | --cron "EXPR") '
    "[--channel CHANNEL_ID] [reason...] | list | show NAME | run NAME | pause NAME | "
    "resume NAME | remove NAME"
)


def _take_cron(words: list[str], at: int, usage: str) -> tuple[str, int]:
    """The cron expression after ``--cron`` (quoted, or its next five words), and where
    the words after it begin."""
    first = words[at] if at < len(words) else ""
    if first[:1] in _QUOTES:
        taken = []
        for end in range(at, len(words)):
            taken.append(words[end])
            if words[end][-1:] in _QUOTES and (end > at or len(words[end]) > 1):
                return " ".join(taken).strip(_QUOTES), end + 1
        raise UsageError("The --cron expression has no closing quote.", usage)
    if len(words) - at < 5:
        raise UsageError('--cron takes five fields: --cron "0 3 * * *".', usage)
    return " ".join(words[at : at + 5]), at + 5


def _schedule_words(words: list[str], usage: str) -> tuple[Schedule, str | None, list[str]]:
    """A policy's --every or --cron and --channel, and the words left for its rules."""
    left: list[str] = []
    schedule: Schedule | None = None
    channel: str | None = None
    at = 0
    while at < len(words):
        flag, has_value, value = words[at].partition("=")
        if flag not in ("--every", "--cron", "--channel"):
            left.append(words[at])
            at += 1
            continue
        if schedule is not None and flag in ("--every", "--cron"):
            raise UsageError("Give one schedule: --every DURATION or --cron EXPR.", usage)
        if flag == "--cron":
            expression, at = (value, at + 1) if has_value else _take_cron(words, at + 1, usage)
            schedule = _cron(expression, usage)
            continue
        if not has_value:
            value = words[at + 1] if at + 1 < len(words) else ""
            at += 1
        at += 1
        if flag == "--every":
            schedule = _every(value, usage)
        else:
            found = _CHANNEL.match(value)
            if found is None:
                raise UsageError(
                    f"--channel takes a channel ID like C0123ABCD, not {value!r}.", usage
                )
            channel = found.group("id") or found.group("plain")
    if schedule is None:
        raise UsageError("Give a schedule: --every DURATION (at least 1h) or --cron EXPR.", usage)
    return schedule, channel, left


def _every(text: str, usage: str) -> Schedule:
    try:
        return every(parse_duration(text))
    except ValueError as exc:
        if isinstance(exc, ScheduleError):
            raise UsageError(
                "--every is at least 1h: policies don't run more often.", usage
            ) from None
        raise UsageError(f"--every: {exc}.", usage) from None


def _cron(text: str, usage: str) -> Schedule:
    try:
        return cron(text, ZoneInfo("UTC"))  # checked again in POLICY_TIMEZONE when saved
    except ScheduleError as exc:
        if exc.problem == ScheduleProblem.CRON_TOO_OFTEN:
            raise UsageError(
                f"--cron {text!r} runs more often than hourly; policies run at most once an hour.",
                usage,
            ) from None
        raise UsageError(
            f"--cron {text!r} is not a five-field cron expression ({exc.answer}): minute hour "
            'day-of-month month day-of-week, like "0 3 * * 1-5".',
            usage,
        ) from None


def _policy(spec: CommandSpec, args: list[str]) -> Command:
    usage = _POLICY_USAGE
    sub = args[0].lower() if args else ""
    if sub == "list" and len(args) == 1:
        return PolicyList()
    if sub == "add":
        if len(args) < 3:
            raise UsageError("Name the policy and the repositories it cleans up.", usage)
        schedule, channel, left = _schedule_words(args[3:], usage)
        pattern, rules, reason = _cleanup([args[2], *left], usage)
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


def _activity(spec: CommandSpec, args: list[str]) -> Command:
    if len(args) > 1:
        raise UsageError("Name at most one repository.", spec.usage)
    if args:
        try:
            validate_repository(args[0])
        except InvalidReferenceError as exc:
            raise UsageError(str(exc), spec.usage) from None
    return ShowActivity(args[0] if args else None)


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
    within = _duration_flag(values, "--keep-pulled-within", usage) or timedelta(days=7)
    return ListUntagged(_prune_pattern(words[0], usage) if words else None, within)


def _storage(spec: CommandSpec, args: list[str]) -> Command:
    if len(args) > 1:
        raise UsageError("Give at most one repository name or glob.", spec.usage)
    return ShowStorage(_prune_pattern(args[0], spec.usage) if args else None)


def _pending(spec: CommandSpec, args: list[str]) -> Command:
    if args:
        raise UsageError("`pending` takes no arguments.", spec.usage)
    return Pending()


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
        "[--keep-pulled-within DURATION] [--allow-empty] [reason...]",
        "REPO_PATTERN [--keep N] [--older-than D] [...]",
        "Clean up by retention rules: a dry run first, then one approval for the plan.",
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
