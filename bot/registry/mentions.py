"""Image references mentioned in free text (a CI post, a chat message):
``registry.example.com/team/app:1.2``, ``team/app@sha256:…``. Docker's rule tells a
registry host from a namespace: a first component with a ``.`` or a ``:``, or
``localhost``. References to the configured registry's host have it stripped; those to
other hosts are named apart, never looked up. Linear in the text, bounded in it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import InvalidReferenceError
from .reference import Reference, is_registry_host, parse_reference

MAX_TEXT = 40_000  # characters of a message looked through
# A candidate: a run of the characters references are made of (bounded: linear).
_CANDIDATE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]{0,600}")
_URL_PREFIX_RE = re.compile(r"^(?:https?|oci|docker)://", re.IGNORECASE)


@dataclass(frozen=True)
class Mentions:
    """The references to this registry found (in order, each once), and those naming
    another registry host."""

    references: list[Reference] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


def find_references(text: str, host: str | None, limit: int = 10) -> Mentions:
    """The image references in ``text`` (at most ``limit`` of each kind). ``host``: the
    configured registry's ``host[:port]``, stripped where a reference names it. A bare
    word is not taken for an image: a reference needs a ``/`` in its name, a tag or a
    digest (``team/app``, ``app:1.2``, ``app@sha256:…``), a letter in its name (``12:30``
    is a time), and must parse."""
    found = Mentions()
    seen: set[str] = set()
    for match in _CANDIDATE_RE.finditer(text[:MAX_TEXT]):
        candidate = _URL_PREFIX_RE.sub("", match.group(0)).rstrip(".:,-")
        first, slash, rest = candidate.partition("/")
        if slash and is_registry_host(first):
            if host is None or first.lower() != host.lower():
                if len(found.elsewhere) < limit and candidate not in found.elsewhere:
                    found.elsewhere.append(candidate)
                continue
            candidate = rest
        if "/" not in candidate and ":" not in candidate and "@" not in candidate:
            continue
        try:
            reference = parse_reference(candidate)
        except InvalidReferenceError:
            continue
        if not any(c.isalpha() for c in reference.repository) or str(reference) in seen:
            continue  # "12:30" is a time, not an image
        seen.add(str(reference))
        found.references.append(reference)
        if len(found.references) >= limit:
            break
    return found
