"""Parsing the text of ``/registry ...`` into typed commands.

Bad input raises ``UsageError`` with a message saying what to type instead; nothing
here talks to the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import InvalidReferenceError, Reference, parse_reference
from ..registry.reference import validate_repository

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


Command = Help | ListRepos | ListTags | Show

USAGE = {
    "repos": "/registry repos [FILTER]",
    "tags": "/registry tags REPO [FILTER]",
    "show": "/registry show REPO[:TAG|@DIGEST]",
}
SHOW_ALIASES = ("show", "layers", "inspect")


class UsageError(ValueError):
    """The command text is wrong; ``usage`` is the line to show, when one applies."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


def _pattern(words: list[str], usage: str) -> str | None:
    if len(words) > 1:
        raise UsageError("Give at most one FILTER (a substring, or a glob like 'app/*').", usage)
    if not words:
        return None
    if len(words[0]) > MAX_FILTER:
        raise UsageError(f"The filter is longer than {MAX_FILTER} characters.", usage)
    return words[0]


def parse_command(text: str) -> Command:
    """The command in ``text`` (what follows ``/registry``)."""
    words = text.split()
    if not words or words[0].lower() in ("help", "-h", "--help", "?"):
        return Help()
    verb, args = words[0].lower(), words[1:]
    if verb in ("repos", "repositories", "catalog"):
        return ListRepos(_pattern(args, USAGE["repos"]))
    if verb == "tags":
        if not args:
            raise UsageError("Name the repository whose tags to list.", USAGE["tags"])
        repository = args[0]
        if ":" in repository.rpartition("/")[2] or "@" in repository:
            raise UsageError(
                f"`tags` takes a repository name, not an image reference; to see one image "
                f"use /registry show {repository}.",
                USAGE["tags"],
            )
        try:
            validate_repository(repository)
        except InvalidReferenceError as exc:
            raise UsageError(str(exc), USAGE["tags"]) from None
        return ListTags(repository, _pattern(args[1:], USAGE["tags"]))
    if verb in SHOW_ALIASES:
        if len(args) != 1:
            raise UsageError(
                "Name one image, like busybox:1.36 or busybox@sha256:….", USAGE["show"]
            )
        try:
            return Show(parse_reference(args[0]))
        except InvalidReferenceError as exc:
            raise UsageError(str(exc), USAGE["show"]) from None
    raise UsageError(f"Unknown command {verb!r}.")
