"""A cleanup's words as people type them, for ``prune`` and ``policy add``: the
repository pattern, the retention rules (``--keep``, ``--older-than``, ``--match``...),
the reason, and a policy's schedule (``--every``, ``--cron``, ``--channel``). Bad words
raise ``UsageError``, saying what to type instead."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from ..deletions import RetentionRules
from ..durations import parse_duration
from ..patterns import SYNTAX, Pattern, PatternError, compile_regex
from ..policies import Schedule, ScheduleError, ScheduleProblem, cron, every
from ..registry import InvalidReferenceError, validate_repository

MAX_FILTER = 200
MAX_REASON = 500


class UsageError(ValueError):
    """The command text is wrong; ``usage`` is the line to show, when one applies;
    ``flag``: the option whose value is wrong, when it is one option's (a form shows
    the error on that option's field)."""

    def __init__(self, message: str, usage: str | None = None, flag: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage
        self.flag = flag


PRUNE_FLAGS = (
    "--keep",
    "--older-than",
    "--match",
    "--exclude",
    "--keep-pulled-within",
    "--allow-empty",
    "--untagged",
    "--orphaned-accessories",
)
_SWITCHES = ("--allow-empty", "--untagged", "--orphaned-accessories")  # without a value
# Rules about tags, which a cleanup of untagged manifests has none of.
_TAG_RULES = ("--keep", "--match", "--exclude", "--allow-empty", "--orphaned-accessories")
MAX_KEEP = 100_000
# Quotes people put around a regular expression (Slack may turn them into curly ones).
_QUOTES = "'\"`\u2018\u2019\u201c\u201d"


def prune_pattern(word: str, usage: str) -> str:
    """A repository name, or a glob over them (``*``, ``?``, ``**``)."""
    if len(word) > MAX_FILTER:
        raise UsageError(
            f"The repository pattern is longer than {MAX_FILTER} characters.", usage, "pattern"
        )
    try:
        validate_repository(word.replace("*", "a").replace("?", "a"))
    except InvalidReferenceError as exc:
        raise UsageError(
            f"{word!r} is not a repository name or glob: {exc}", usage, "pattern"
        ) from None
    return word


def _regex(flag: str, value: str, usage: str) -> Pattern:
    text = value.strip(_QUOTES)
    if len(text) > MAX_FILTER:
        raise UsageError(
            f"The {flag} expression is longer than {MAX_FILTER} characters.", usage, flag
        )
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
            flag,
        ) from None


def _prune_words(words: list[str], usage: str) -> tuple[dict[str, str], list[str]]:
    """The flags given (each with its value; a switch such as ``--allow-empty`` with
    "yes") and the words of the reason."""
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
        if flag in _SWITCHES:
            values[flag] = "yes"
            continue
        if not has_value:
            value = next(remaining, "")
        if not value or value.startswith("--"):
            raise UsageError(f"{flag} needs a value.", usage)
        values[flag] = value
    return values, reason


def duration_flag(values: dict[str, str], flag: str, usage: str) -> timedelta | None:
    if flag not in values:
        return None
    try:
        return parse_duration(values[flag])
    except ValueError as exc:
        raise UsageError(f"{flag}: {exc}.", usage, flag) from None


def _keep_flag(values: dict[str, str], usage: str) -> int | None:
    if "--keep" not in values:
        return None
    text = values["--keep"]
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_KEEP:
        raise UsageError(f"--keep takes a whole number from 0 to {MAX_KEEP:,}.", usage, "--keep")
    return int(text)


def cleanup_words(args: list[str], usage: str) -> tuple[str, RetentionRules, str]:
    """A cleanup's pattern, rules and reason, as ``prune`` takes them."""
    if not args or args[0].startswith("-"):
        raise UsageError("Name the repository (or a glob like team/*) to clean up.", usage)
    pattern = prune_pattern(args[0], usage)
    values, reason = _prune_words(args[1:], usage)
    rules = rules_of(values, usage)
    text = " ".join(reason)
    if len(text) > MAX_REASON:
        raise UsageError(f"The reason is longer than {MAX_REASON} characters.", usage)
    return pattern, rules, text


def rules_of(values: dict[str, str], usage: str) -> RetentionRules:
    """Prune's rules from its options' values (a switch such as ``--untagged`` given
    when present), with prune's checks; a wrong value names its option."""
    match = _regex("--match", values["--match"], usage) if "--match" in values else None
    exclude = _regex("--exclude", values["--exclude"], usage) if "--exclude" in values else None
    keep = _keep_flag(values, usage)
    older_than = duration_flag(values, "--older-than", usage)
    pulled_within = duration_flag(values, "--keep-pulled-within", usage)
    untagged = "--untagged" in values
    if untagged and any(f in values for f in _TAG_RULES):
        raise UsageError(
            "--untagged cleans up the manifests pushes left without a tag, and touches no "
            "tag: it takes --older-than and --keep-pulled-within, not "
            f"{', '.join(f for f in _TAG_RULES if f in values)}.",
            usage,
        )
    orphaned = "--orphaned-accessories" in values
    if keep is None and older_than is None and not untagged and not orphaned:
        raise UsageError(
            "Give --keep N or --older-than DURATION (or both), --untagged, or "
            "--orphaned-accessories.",
            usage,
        )
    rules = RetentionRules(
        keep=keep,
        older_than=older_than,
        match=match,
        exclude=exclude,
        allow_empty="--allow-empty" in values,
        keep_pulled_within=pulled_within,
        untagged=untagged,
        orphaned_accessories=orphaned,
    )
    if rules.keeps_nothing:
        raise UsageError(
            "These rules keep nothing: this would delete every tag. Use --keep N with N > 0, "
            "or --older-than.",
            usage,
            "--keep",
        )
    return rules


_CHANNEL = re.compile(r"^<#(?P<id>[CG][A-Z0-9]{2,20})(\|[^>]*)?>$|^(?P<plain>[CG][A-Z0-9]{2,20})$")


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


def schedule_words(words: list[str], usage: str) -> tuple[Schedule, str | None, list[str]]:
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
            schedule = cron_schedule(expression, usage)
            continue
        if not has_value:
            value = words[at + 1] if at + 1 < len(words) else ""
            at += 1
        at += 1
        if flag == "--every":
            schedule = every_schedule(value, usage)
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


def every_schedule(text: str, usage: str) -> Schedule:
    """A policy's ``--every`` (at least 1h)."""
    try:
        return every(parse_duration(text))
    except ValueError as exc:
        if isinstance(exc, ScheduleError):
            raise UsageError(
                "--every is at least 1h: policies don't run more often.", usage, "--every"
            ) from None
        raise UsageError(f"--every: {exc}.", usage, "--every") from None


def cron_schedule(text: str, usage: str) -> Schedule:
    """A policy's ``--cron`` (five fields, at most hourly)."""
    try:
        return cron(text, ZoneInfo("UTC"))  # checked again in POLICY_TIMEZONE when saved
    except ScheduleError as exc:
        if exc.problem == ScheduleProblem.CRON_TOO_OFTEN:
            raise UsageError(
                f"--cron {text!r} runs more often than hourly; policies run at most once an hour.",
                usage,
                "--cron",
            ) from None
        raise UsageError(
            f"--cron {text!r} is not a five-field cron expression ({exc.answer}): minute hour "
            'day-of-month month day-of-week, like "0 3 * * 1-5".',
            usage,
            "--cron",
        ) from None
