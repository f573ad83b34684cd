"""Modals as pure functions: the one that asks for a request's reason before it is
posted (with what the request deletes, from its stored draft), and what it carries back
in ``private_metadata`` (a view submission has no ``response_url`` of its own)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from ...deletions import CleanupItem, DeletionRequest, Kind
from .common import code, section, truncate
from .deletions import confirm_text, request_details
from .limits import checked_view, decode_metadata, encode_metadata

CALLBACK_REQUEST = "deletion_request_modal"
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"
MAX_REASON = 500


@dataclass(frozen=True)
class RequestModal:
    """What the request modal carries back: the draft, whether only its tag goes, and
    the preview's ``response_url`` (to tell the requester, and replace the preview)."""

    request_id: str
    as_untag: bool
    response_url: str
    has_preview: bool = True  # False: made by the deletion form (no preview to replace)

    def encode(self) -> str:
        data = {"r": self.request_id, "u": self.as_untag, "url": self.response_url}
        if not self.has_preview:
            data["np"] = True
        return encode_metadata(data)

    @classmethod
    def decode(cls, text: str) -> RequestModal:
        """The fields back (ValueError for anything the bot didn't write)."""
        data = decode_metadata(text)
        request_id, untag, url = data.get("r"), data.get("u"), data.get("url")
        if not (isinstance(request_id, str) and isinstance(untag, bool) and isinstance(url, str)):
            raise ValueError("not the request modal's metadata")
        return cls(request_id[:64], untag, url[:2000], data.get("np") is not True)


def _title(request: DeletionRequest, untag: bool) -> str:
    if untag or request.kind == Kind.TAG:
        return "Request tag removal"
    return {Kind.RESTORE: "Request restore", Kind.PRUNE: "Request cleanup"}.get(
        request.kind, "Request deletion"
    )


def render_request_modal(
    request: DeletionRequest,
    modal: RequestModal,
    items: list[CleanupItem] | None = None,
    parts: int = 1,
) -> dict[str, Any]:
    """Ask for the reason (required when none was typed with the command), beside what
    the request deletes; its submission posts the request for approval (``parts``: a
    cleanup split among owners posts one request per owner)."""
    blocks: list[Block] = []
    if modal.as_untag:
        target = code(f"{request.repository}:{request.tag}", 300)
        blocks.append(section(f"*Target* {target} (this tag only)"))
    else:
        blocks += request_details(request, items)
    said = confirm_text(request, modal.as_untag)
    if parts > 1:
        said = (
            f"This cleanup spans {parts} owners: Request posts {parts} requests, each "
            "approved by its owner (the plan above is the first's)."
        )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(said, 300))]))
    blocks.append(
        InputBlock(
            block_id=REASON_BLOCK,
            label="Reason",
            optional=bool(request.reason),
            hint="Approvers read it beside the request; it goes into the audit trail.",
            element=PlainTextInputElement(
                action_id=REASON_INPUT,
                multiline=True,
                max_length=MAX_REASON,
                initial_value=truncate(request.reason, MAX_REASON) if request.reason else None,
                placeholder="Why should this go?",
            ),
        )
    )
    view = View(
        type="modal",
        callback_id=CALLBACK_REQUEST,
        title=_title(request, modal.as_untag),
        submit="Request",
        close="Back",
        private_metadata=modal.encode(),
        blocks=blocks,
    ).to_dict()
    return checked_view(view)


def submitted_reason(view: dict[str, Any]) -> str:
    """The reason typed in a submitted request modal (stripped; empty when none)."""
    values = (view.get("state") or {}).get("values") or {}
    typed = (values.get(REASON_BLOCK) or {}).get(REASON_INPUT) or {}
    return str(typed.get("value") or "").strip()[:MAX_REASON]
