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


@dataclass(frozen=True)
class Delete:
    """Delete an image (its digest), one tag only (``untag``) or a blob, for ``reason``."""

    reference: Reference
    reason: str = ""
    blob: bool = False
    untag: bool = False


@dataclass(frozen=True)
class Pending:
    pass


@dataclass(frozen=True)
class Audit:
    limit: int = 20


Command = Help | ListRepos | ListTags | Show | Delete | Pending | Audit
MAX_REASON = 500
MAX_AUDIT = 50

USAGE = {
    "repos": "/registry repos [FILTER]",
    "tags": "/registry tags REPO [FILTER]",
    "show": "/registry show REPO[:TAG|@DIGEST]",
    "delete": "/registry delete REPO:TAG|REPO@DIGEST [reason...]",
    "delete-blob": "/registry delete-blob REPO@DIGEST [reason...]",
    "untag": "/registry untag REPO:TAG [reason...]",
    "pending": "/registry pending",
    "audit": f"/registry audit [N, at most {MAX_AUDIT}]",
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
    if verb in ("delete", "delete-blob", "untag"):
        return _delete(verb, args)
    if verb == "pending":
        if args:
            raise UsageError("`pending` takes no arguments.", USAGE["pending"])
        return Pending()
    if verb == "audit":
        if len(args) > 1 or (
            args
            and not (args[0].isascii() and args[0].isdigit() and 1 <= int(args[0]) <= MAX_AUDIT)
        ):
            raise UsageError(f"Give how many events to show, 1 to {MAX_AUDIT}.", USAGE["audit"])
        return Audit(int(args[0]) if args else 20)
    raise UsageError(f"Unknown command {verb!r}.")


def _delete(verb: str, args: list[str]) -> Delete:
    usage = USAGE[verb]
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
