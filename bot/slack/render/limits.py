"""Block Kit limits that slack_sdk's models do not check on their own, checked on the
final payload: 50 blocks, section text 3000, 10 fields of 2000, button text 75 and value
2000, header text 150, 10 context elements, and a non-empty ``text`` fallback."""

from __future__ import annotations

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTION_ELEMENTS = 25
MAX_FALLBACK_TEXT = 40000


class BlockKitLimitError(ValueError):
    """A payload breaks a Block Kit limit; ``problems`` lists each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _text(obj: dict | None) -> str:
    return (obj or {}).get("text", "") or ""


def problems_of(payload: dict) -> list[str]:
    """Every limit ``payload`` breaks (empty when it is fine)."""
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
        kind = block.get("type")
        if kind == "section":
            if len(_text(block.get("text"))) > MAX_SECTION_TEXT:
                problems.append(f"block {i}: section text over {MAX_SECTION_TEXT}")
            fields = block.get("fields") or []
            if len(fields) > MAX_FIELDS:
                problems.append(f"block {i}: {len(fields)} fields (limit {MAX_FIELDS})")
            for f in fields:
                if len(_text(f)) > MAX_FIELD_TEXT:
                    problems.append(f"block {i}: field over {MAX_FIELD_TEXT}")
            if not _text(block.get("text")) and not fields:
                problems.append(f"block {i}: empty section")
        elif kind == "header" and len(_text(block.get("text"))) > MAX_HEADER_TEXT:
            problems.append(f"block {i}: header over {MAX_HEADER_TEXT}")
        elif kind == "context" and len(block.get("elements") or []) > MAX_CONTEXT_ELEMENTS:
            problems.append(f"block {i}: over {MAX_CONTEXT_ELEMENTS} context elements")
        elif kind == "actions" and len(block.get("elements") or []) > MAX_ACTION_ELEMENTS:
            problems.append(f"block {i}: over {MAX_ACTION_ELEMENTS} action elements")
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                if len(_text(element.get("text"))) > MAX_BUTTON_TEXT:
                    problems.append(f"block {i}: button text over {MAX_BUTTON_TEXT}")
                if len(element.get("value") or "") > MAX_BUTTON_VALUE:
                    problems.append(f"block {i}: button value over {MAX_BUTTON_VALUE}")
        accessory = block.get("accessory") or {}
        if (
            accessory.get("type") == "button"
            and len(_text(accessory.get("text"))) > MAX_BUTTON_TEXT
        ):
            problems.append(f"block {i}: button text over {MAX_BUTTON_TEXT}")
    return problems


def check_message(payload: dict) -> None:
    """Raise BlockKitLimitError when ``payload`` breaks a limit."""
    problems = problems_of(payload)
    if problems:
        raise BlockKitLimitError(problems)
