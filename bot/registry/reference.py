"""Image references (``REPO``, ``REPO:TAG``, ``REPO@DIGEST``, ``REPO:TAG@DIGEST``).

Parsing follows the distribution reference grammar, so a bad name is refused here,
with the rule it broke, before any HTTP request is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidReferenceError

PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_COMPONENT_RE = re.compile(PATH_COMPONENT)
# ASCII only, and matched whole with fullmatch: Python's \w takes any Unicode letter,
# and "$" also matches before a trailing newline.
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_DIGEST_RES = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
}
MAX_NAME_LENGTH = 255

COMPONENT_RULE = (
    "lowercase letters and digits, separated by '.', '_', '__' or dashes, "
    "not starting or ending with a separator"
)
TAG_RULE = "up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"
DIGEST_RULE = "'sha256:' followed by 64 lowercase hex digits (or 'sha512:' and 128)"


def validate_repository(name: str) -> str:
    """Return ``name`` when it is a valid repository name, else raise InvalidReferenceError."""
    if not name:
        raise InvalidReferenceError(name, "repository name", "it is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidReferenceError(
            name, "repository name", f"it is {len(name)} characters, the limit is {MAX_NAME_LENGTH}"
        )
    for component in name.split("/"):
        if not _COMPONENT_RE.fullmatch(component):
            shown = component or "(empty)"
            raise InvalidReferenceError(
                name, f"path component {shown!r}", f"each component must be {COMPONENT_RULE}"
            )
    return name


def validate_tag(tag: str) -> str:
    """Return ``tag`` when it is a valid tag, else raise InvalidReferenceError."""
    if not _TAG_RE.fullmatch(tag):
        raise InvalidReferenceError(tag, f"tag {tag!r}", f"a tag must be {TAG_RULE}")
    return tag


def is_digest(value: str) -> bool:
    """True when ``value`` is a well-formed ``algorithm:hex`` digest we accept."""
    algorithm, sep, hexpart = value.partition(":")
    pattern = _DIGEST_RES.get(algorithm)
    return bool(sep and pattern and pattern.fullmatch(hexpart))


def validate_digest(digest: str) -> str:
    """Return ``digest`` when well formed, else raise InvalidReferenceError."""
    if not is_digest(digest):
        raise InvalidReferenceError(digest, f"digest {digest!r}", f"a digest must be {DIGEST_RULE}")
    return digest


@dataclass(frozen=True)
class Reference:
    """A parsed reference. ``tag`` and ``digest`` are both optional; both may be set."""

    repository: str
    tag: str | None = None
    digest: str | None = None

    @property
    def identifier(self) -> str:
        """What to put after ``/manifests/``: the digest when pinned, else the tag (or latest)."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def check_reference(reference: str) -> None:
    """A tag or digest, checked against the grammar before it goes into a URL path: a
    tag from a registry's own list may be anything (``../../_catalog?``), and must
    never turn into a request for another path."""
    if ":" in reference:
        validate_digest(reference)
    else:
        validate_tag(reference)


def reference_text(repository: str, reference: str) -> str:
    """``repo@digest`` or ``repo:tag``, as errors and logs name a target."""
    return f"{repository}@{reference}" if is_digest(reference) else f"{repository}:{reference}"


def is_registry_host(component: str) -> bool:
    """Docker's rule: a reference's first component names a registry host when it has
    a ``.`` or a ``:``, or is ``localhost`` (otherwise it is a namespace)."""
    return "." in component or ":" in component or component == "localhost"


def split_registry_host(text: str) -> tuple[str | None, str]:
    """``registry.example.com/team/app:1.2`` -> ("registry.example.com", "team/app:1.2");
    a reference naming no host -> (None, the reference)."""
    first, slash, rest = text.partition("/")
    if slash and is_registry_host(first):
        return first.lower(), rest
    return None, text


def parse_reference(text: str) -> Reference:
    """Parse ``REPO``, ``REPO:TAG``, ``REPO@DIGEST`` or ``REPO:TAG@DIGEST``.

    A registry host prefix is not accepted here: the front end chooses the registry
    (``split_registry_host``) and passes what follows the host.
    """
    text = text.strip()
    if not text:
        raise InvalidReferenceError(text, "reference", "it is empty; expected REPO[:TAG][@DIGEST]")
    name_and_tag, at, digest = text.partition("@")
    if at:
        validate_digest(digest)
    # The tag separator is the last ':' after the last '/'.
    slash = name_and_tag.rfind("/")
    colon = name_and_tag.rfind(":")
    tag = None
    name = name_and_tag
    if colon > slash:
        name, tag = name_and_tag[:colon], name_and_tag[colon + 1 :]
        validate_tag(tag)
    validate_repository(name)
    return Reference(repository=name, tag=tag, digest=digest or None)
