"""What a Prev/Next button carries: which listing and which page, as compact JSON.

The value is parsed and validated again when the button comes back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from ..registry import InvalidReferenceError
from ..registry.reference import validate_repository
from .command_table import MAX_FILTER

ACTION_PREV = "registry_page_prev"
ACTION_NEXT = "registry_page_next"


class PageKind(StrEnum):
    REPOS = "repos"
    TAGS = "tags"


@dataclass(frozen=True)
class PageRef:
    """A listing page: which listing, which page, its filter and (tags) repository."""

    kind: PageKind
    page: int
    pattern: str | None = None
    repository: str | None = None

    def encode(self) -> str:
        data: dict[str, str | int] = {"k": self.kind.value, "p": self.page}
        if self.pattern:
            data["f"] = self.pattern
        if self.repository:
            data["r"] = self.repository
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str) -> PageRef:
        """Parse a button value; ValueError when it is not one of ours."""
        try:
            data = json.loads(value)
            kind, page = PageKind(data["k"]), int(data["p"])
            pattern, repository = data.get("f"), data.get("r")
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
        return cls(kind, page, pattern, repository if kind == PageKind.TAGS else None)
