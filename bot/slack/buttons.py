"""Every button's action ID, and the codecs of the values buttons carry.

A button carries as little as it can: a request's ID (what gets deleted comes from the
database), or compact JSON for a listing's page and for a tag to put back. Every value
is parsed and validated again when the button comes back (``decode``: ValueError when
it is not one of ours): a value is only as trustworthy as the click that sent it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..registry import InvalidReferenceError, is_digest, validate_repository, validate_tag
from .command_table import MAX_FILTER

# Listings: Prev and Next (value: PageRef).
ACTION_PREV = "registry_page_prev"
ACTION_NEXT = "registry_page_next"
# A preview's buttons (value: the request's ID), a cleanup's dry run's the same.
ACTION_SUBMIT = "deletion_submit"
ACTION_SUBMIT_UNTAG = "deletion_submit_untag"
ACTION_CANCEL = "deletion_cancel"
# The request message's votes (value: the request's ID).
ACTION_APPROVE = "deletion_approve"
ACTION_REJECT = "deletion_reject"
# An executed deletion's follow-ups (value: its request's ID).
ACTION_UNUSED_LAYERS = "deletion_cleanup"  # the ID posted messages carry
ACTION_UNDO = "deletion_undo"
# An alert's: point a moved protected tag back (value: PutBack).
ACTION_PUT_BACK = "registry_put_back"
# The storage report's: post it to the channel for everyone (value: StorageShare).
ACTION_SHARE_STORAGE = "registry_storage_share"
# The cleanup builder (a modal): Preview, and its repository picker (options).
ACTION_BUILDER_PREVIEW = "builder_preview"
ACTION_PICK_REPOSITORY = "pick_repository"
# The deletion form (a modal): its repository picker (options; picking it reads its tags)
# and its tag picker (options: the tags of the repository picked in the same view).
ACTION_PICK_IMAGE_REPOSITORY = "pick_image_repository"
ACTION_PICK_TAG = "pick_tag"
# Share in channel, on a listing, show or activity reply (value: ShareRef).
ACTION_SHARE = "registry_share"
# The Home tab's votes (value: the request's ID): a vote as from the request message,
# answered on the Home itself; a policy's Run now (value: the policy's name); Undo.
ACTION_HOME_APPROVE = "home_approve"
ACTION_HOME_REJECT = "home_reject"
ACTION_HOME_RUN_POLICY = "home_run_policy"
ACTION_HOME_UNDO = "home_undo"  # value: the executed request's ID
# Edit, on a policy (policy show, the Home): the builder opens with it (value: its name).
ACTION_EDIT_POLICY = "policy_edit"


REGISTRY_NAME_LIMIT = 32  # a registry's name (the configuration file's rule)


def carrying(data: dict[str, Any], registry: str | None) -> dict[str, Any]:
    """``data`` (what a button or a modal carries) with its registry, when it names one."""
    return data | {"g": registry} if registry else data


def carried_registry(data: object) -> str | None:
    """The registry a button's value or a modal's metadata names (``carrying``; None:
    the default), or ValueError."""
    named = data.get("g") if isinstance(data, dict) else None
    if named is None:
        return None
    if not isinstance(named, str) or not 0 < len(named) <= REGISTRY_NAME_LIMIT:
        raise ValueError("not a registry's name")
    return named


def policy_value(name: str, registry: str | None) -> str:
    """What a policy's buttons carry: its name, after its registry's and a ``/`` when
    it is not the default's (a policy's name has no ``/``)."""
    return f"{registry}/{name}" if registry else name


def policy_of(value: str) -> tuple[str | None, str]:
    """The registry (None: the default) and the name a policy's button carries."""
    registry, slash, name = value.rpartition("/")
    return (registry or None) if slash else None, name


class PageKind(StrEnum):
    REPOS = "repos"
    TAGS = "tags"
    STORAGE = "storage"  # the storage report's repositories


@dataclass(frozen=True)
class PageRef:
    """A listing page: which listing, which page, its filter and (tags) repository."""

    kind: PageKind
    page: int
    pattern: str | None = None
    repository: str | None = None
    registry: str | None = None  # its registry, when it is not the default

    def encode(self) -> str:
        data: dict[str, str | int] = {"k": self.kind.value, "p": self.page}
        if self.pattern:
            data["f"] = self.pattern
        if self.repository:
            data["r"] = self.repository
        return json.dumps(carrying(data, self.registry), separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> PageRef:
        """Parse a button value; ValueError when it is not one of ours."""
        try:
            data = json.loads(value)
            kind, page = PageKind(data["k"]), int(data["p"])
            pattern, repository = data.get("f"), data.get("r")
            registry = carried_registry(data)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise ValueError(f"not a page reference: {exc}") from None
        if page < 0:
            raise ValueError("not a page reference")
        if pattern is not None and (not isinstance(pattern, str) or len(pattern) > MAX_FILTER):
            raise ValueError("bad filter")
        if kind == PageKind.TAGS:
            try:
                validate_repository(str(repository))
            except InvalidReferenceError as exc:
                raise ValueError(str(exc)) from None
        return cls(kind, page, pattern, repository if kind == PageKind.TAGS else None, registry)


@dataclass(frozen=True)
class PutBack:
    """What a "Restore previous" button carries: the tag, and the digests it moved
    between (checked again, and against the registry, when clicked)."""

    repository: str
    tag: str
    previous: str
    current: str
    registry: str | None = None  # its registry, when it is not the default

    def encode(self) -> str:
        data = {"r": self.repository, "t": self.tag, "p": self.previous, "c": self.current}
        return json.dumps(carrying(data, self.registry))

    @classmethod
    def decode(cls, value: str) -> PutBack:
        """The button's value, validated (ValueError otherwise)."""
        try:
            raw = json.loads(value)
            named = carried_registry(raw)
            made = cls(str(raw["r"]), str(raw["t"]), str(raw["p"]), str(raw["c"]), named)
            validate_repository(made.repository)
            validate_tag(made.tag)
        except (KeyError, TypeError, InvalidReferenceError, ValueError, RecursionError):
            raise ValueError("malformed") from None
        if not (is_digest(made.previous) and is_digest(made.current)):
            raise ValueError("malformed")
        return made


@dataclass(frozen=True)
class StorageShare:
    """What "Share in channel" on a storage report carries: the pattern it covered
    (None: the whole registry). The report is read again when clicked."""

    pattern: str | None = None
    registry: str | None = None  # its registry, when it is not the default

    def encode(self) -> str:
        return json.dumps(carrying({"f": self.pattern}, self.registry), separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> StorageShare:
        """The button's value, validated (ValueError otherwise)."""
        try:
            data = json.loads(value)
            pattern, registry = data["f"], carried_registry(data)
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ValueError("malformed") from None
        if pattern is None:
            return cls(None, registry)
        if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_FILTER:
            raise ValueError("malformed")
        try:
            validate_repository(pattern.replace("*", "a").replace("?", "a"))
        except InvalidReferenceError:
            raise ValueError("malformed") from None
        return cls(pattern, registry)


SHARE_TEXT_LIMIT = 1900  # a button's value is at most 2,000 characters


@dataclass(frozen=True)
class ShareRef:
    """What "Share in channel" carries: the command whose reply it shares, and the page
    shown (listings). The reply is drawn again when clicked."""

    text: str
    page: int = 0
    registry: str | None = None  # its registry, when it is not the default

    def encode(self) -> str:
        data = {"c": self.text[:SHARE_TEXT_LIMIT], "p": self.page}
        return json.dumps(carrying(data, self.registry), separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> ShareRef:
        """The button's value, validated as to its shape (ValueError otherwise); the
        command is parsed again by who shares it."""
        try:
            data = json.loads(value[:2000])
            text, page, registry = data["c"], data["p"], carried_registry(data)
        except (ValueError, KeyError, TypeError, RecursionError):
            raise ValueError("malformed") from None
        if not isinstance(text, str) or not isinstance(page, int) or page < 0:
            raise ValueError("malformed")
        return cls(text, page, registry)

    @classmethod
    def of_page(cls, ref: PageRef) -> ShareRef:
        """The share of a listing page (repositories or tags)."""
        words = ["tags", ref.repository or ""] if ref.kind == PageKind.TAGS else ["repos"]
        if ref.pattern:
            words.append(ref.pattern)
        return cls(" ".join(words), ref.page, ref.registry)
