"""Which registry a command is for, chosen before any request: a reference whose first
component names a configured registry's host (Docker's rule: it has a ``.`` or a ``:``,
or is ``localhost``), or ``--registry NAME``, else the channel's default (given by the
caller), else the first. The command's text comes back for the
registry chosen, the host taken off its reference; an unknown host or name is refused,
naming the registries configured, with no connection made. (``alias/repo`` is never a
registry: it would collide with repository namespaces.)"""

from __future__ import annotations

from dataclasses import dataclass

from ..registry import split_registry_host
from .cleanup_words import UsageError
from .command_table import Command, parse_command

REGISTRY_FLAG = "--registry"
# The verbs whose first argument is a reference or a repository (name or glob).
REFERENCE_VERBS = frozenset(
    {
        "tags",
        "show",
        "layers",
        "inspect",
        "delete",
        "untag",
        "delete-blob",
        "prune",
        "activity",
        "owners",
        "storage",
        "untagged",
    }
)


@dataclass(frozen=True)
class KnownRegistry:
    """A registry served: its name and its ``host[:port]``."""

    name: str
    host: str


def _listed(known: tuple[KnownRegistry, ...]) -> str:
    return ", ".join(f"{r.name} ({r.host})" for r in known)


def _flag(words: list[str], known: tuple[KnownRegistry, ...]) -> KnownRegistry | None:
    """Take ``--registry NAME`` (or ``--registry=NAME``) out of ``words``."""
    for at, word in enumerate(words):
        flag, has_value, value = word.partition("=")
        if flag != REGISTRY_FLAG:
            continue
        if not has_value:
            if at + 1 >= len(words):
                raise UsageError(f"Name the registry after {REGISTRY_FLAG}: {_listed(known)}.")
            value = words.pop(at + 1)
        del words[at]
        for registry in known:
            if registry.name == value:
                return registry
        raise UsageError(
            f"No registry is named {value[:40]!r} here; the registries: {_listed(known)}."
        )
    return None


def named_in(text: str, known: tuple[KnownRegistry, ...]) -> tuple[str, KnownRegistry | None]:
    """The command text with its reference's host taken off and its ``--registry``
    taken out, and the registry those named (None: neither was given). UsageError for
    a registry that is not configured."""
    words = text.split()
    flagged = _flag(words, known)
    chosen = flagged
    if len(words) > 1 and words[0].lower() in REFERENCE_VERBS:
        host, rest = split_registry_host(words[1])
        if host is not None:
            named = next((r for r in known if r.host.lower() == host), None)
            if named is None:
                raise UsageError(
                    f"{host[:80]} is not a registry this bot knows; the registries: "
                    f"{_listed(known)}. (A repository named without a host is on the "
                    "channel's registry: see `/registry use`.)"
                )
            if flagged is not None and flagged != named:
                raise UsageError(
                    f"{words[1][:200]} is on {named.name}, but {REGISTRY_FLAG} says {flagged.name}."
                )
            words[1], chosen = rest, named
    return " ".join(words), chosen


def choose(
    text: str, known: tuple[KnownRegistry, ...], default_name: str | None = None
) -> tuple[str, KnownRegistry]:
    """The command text for the registry it names (``named_in``), and that registry
    (when it names none: the one named ``default_name``, a channel's default, else the
    first). UsageError for a registry that is not configured."""
    text, named = named_in(text, known)
    return text, named or default_of(known, default_name)


def default_of(known: tuple[KnownRegistry, ...], name: str | None) -> KnownRegistry:
    """The registry named ``name`` (a channel's default), else the first."""
    return next((r for r in known if r.name == name), known[0])


def parse_for(text: str, known: tuple[KnownRegistry, ...]) -> Command:
    """``/registry text`` parsed for the registry it names (UsageError: what is wrong)."""
    chosen, _ = choose(text, known)
    return parse_command(chosen)
