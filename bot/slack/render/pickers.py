"""Options for the repository and tag pickers (``external_select``), as pure functions:
at most 100, each text within Slack's 75 characters and each value within 150; a typed
glob is offered as itself first (the picker takes a pattern too); a list still loading
says so in an option."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ExternalDataSelectElement, InputBlock, Option

from ...registry import Found, is_glob
from .common import truncate

MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
LOADING_VALUE = "__loading__"  # never a repository name: names are lowercase without _


def _option(text: str, value: str) -> dict[str, Any]:
    return {
        "text": {"type": "plain_text", "text": truncate(text, MAX_OPTION_TEXT)},
        "value": value[:MAX_OPTION_VALUE],
    }


def picker_input(
    block: str,
    action: str,
    label: str,
    placeholder: str,
    picked: str = "",
    hint: str | None = None,
    dispatch: bool = False,
) -> InputBlock:
    """A picker (``external_select``, its options asked for as soon as it opens) in an
    input block, showing ``picked``; ``dispatch``: picking it is sent at once."""
    initial = Option(text=truncate(picked, MAX_OPTION_TEXT), value=picked[:MAX_OPTION_VALUE])
    return InputBlock(
        block_id=block,
        label=label,
        hint=hint,
        dispatch_action=dispatch or None,
        element=ExternalDataSelectElement(
            action_id=action,
            placeholder=placeholder,
            min_query_length=0,
            initial_option=initial if picked else None,
        ),
    )


def name_options(
    found: Found, query: str, what: str = "repositories", patterns: bool = True
) -> list[dict[str, Any]]:
    """The options for ``query``: the typed glob first (when it is one and ``patterns``
    are taken), then the names found; a name too long for a value is left out (it can't
    be picked whole)."""
    options = []
    query = query.strip()
    if patterns and query and is_glob(query) and len(query) <= MAX_OPTION_VALUE:
        options.append(_option(f"{query}  (every match)", query))
    if found.unreadable:
        options.append(_option(f"The registry did not list the {what}; try again", LOADING_VALUE))
    if found.loading:
        options.append(_option(f"The list of {what} is still loading…", LOADING_VALUE))
    room = MAX_OPTIONS - len(options)
    names = [n for n in found.names if len(n) <= MAX_OPTION_VALUE]
    if found.cut or len(names) > room:
        room -= 1  # keep one for "type more"
    options += [_option(n, n) for n in names[:room]]
    if found.cut or len(names) > room:
        options.append(_option("More match: type more of the name", LOADING_VALUE))
    return options[:MAX_OPTIONS]


def notice_option(text: str) -> list[dict[str, Any]]:
    """One option that only says something (picking it is refused on submission)."""
    return [_option(text, LOADING_VALUE)]
