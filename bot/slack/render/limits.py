"""Block Kit limits. slack_sdk's models check most of them when a block is turned into
a dict (section text 3000, 10 fields, header 150, 10 context elements, 25 actions,
button text 75 and value 2000). Here are only those it lacks, checked on the final
payload: at most 50 blocks, field text 2000, and a plain ``text`` fallback; for a view
(``view_problems``), 100 blocks and 250 KB.

``check_message`` checks a payload from anywhere (a test reading what the bot sent):
each block is parsed back into slack_sdk's models, so their checks apply too.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # a Home tab or a modal
MAX_VIEW_BYTES = 250_000
MAX_SECTION_TEXT = 3000  # checked by slack_sdk; the renderers size their text by it
MAX_FIELD_TEXT = 2000
MAX_FALLBACK_TEXT = 40000

Payload = dict[str, Any]


class BlockKitLimitError(ValueError):
    """A payload breaks a Block Kit limit; ``problems`` lists each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(obj: dict[str, Any] | None) -> str:
    return str((obj or {}).get("text", "") or "")


def own_problems(payload: Payload) -> list[str]:
    """The limits slack_sdk does not check that ``payload`` breaks."""
    problems = []
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("no plain text fallback")
    elif len(text) > MAX_FALLBACK_TEXT:
        problems.append(f"text fallback is {len(text)} characters")
    blocks = payload.get("blocks") or []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (limit {MAX_BLOCKS})")
    for i, block in enumerate(blocks):
        for field in block.get("fields") or []:
            if len(_text(field)) > MAX_FIELD_TEXT:
                problems.append(f"block {i}: field over {MAX_FIELD_TEXT}")
    return problems


def problems_of(payload: Payload) -> list[str]:
    """Every limit ``payload`` breaks, slack_sdk's and ours (empty when it is fine)."""
    return own_problems(payload) + _block_problems(payload)


def view_problems(view: Payload) -> list[str]:
    """Every limit a view (a Home tab, a modal) breaks: at most 100 blocks (a view's
    limit, not a message's 50), 250 KB in all, and each block's own."""
    problems = []
    blocks = view.get("blocks") or []
    if len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(f"{len(blocks)} blocks (limit {MAX_VIEW_BLOCKS})")
    size = len(json.dumps(view).encode())
    if size > MAX_VIEW_BYTES:
        problems.append(f"{size} bytes (limit {MAX_VIEW_BYTES})")
    return problems + _block_problems(view)


def _block_problems(payload: Payload) -> list[str]:
    """What slack_sdk's models find wrong with each block, parsed back."""
    problems = []
    for i, block in enumerate(payload.get("blocks") or []):
        try:
            parsed = Block.parse(block)
            if parsed is None:
                raise SlackObjectFormationError("unknown block type")
            parsed.to_dict()
        except SlackObjectFormationError as exc:
            problems.append(f"block {i}: {exc}")
    return problems


def check_message(payload: Payload) -> None:
    """Raise BlockKitLimitError when ``payload`` breaks a limit."""
    problems = problems_of(payload)
    if problems:
        raise BlockKitLimitError(problems)


def checked_view(view: Payload) -> Payload:
    """``view`` (a dict from slack_sdk's ``View``), or BlockKitLimitError naming each
    limit it breaks."""
    problems = view_problems(view)
    if problems:
        raise BlockKitLimitError(problems)
    return view


MAX_METADATA = 3000  # a view's private_metadata


def encode_metadata(data: dict[str, Any]) -> str:
    """What a view carries back in ``private_metadata`` (ValueError over 3,000)."""
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > MAX_METADATA:
        raise ValueError("private_metadata over 3,000 characters")
    return text


def decode_metadata(text: str) -> dict[str, Any]:
    """The fields a view carried back (ValueError for anything but a JSON object)."""
    try:
        data = json.loads(text[:MAX_METADATA])
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValueError("not metadata the bot wrote") from exc
    if not isinstance(data, dict):
        raise ValueError("not metadata the bot wrote")
    return data
