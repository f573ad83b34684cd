"""The cleanup builder, a modal, as pure functions: prune's rules as fields people type
as they would in the command (the repositories from a picker that takes a glob too),
Preview (the dry run drawn in the modal) and Request cleanup. The same builder, with a
name, a schedule and a channel, makes or changes a cleanup policy (Save policy). What
the fields hold is read back (``builder_fields``) as the options ``prune`` and ``policy
add`` take, so the same checks answer both; a wrong value is shown on its own field."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
)
from slack_sdk.models.views import View

from ..buttons import ACTION_BUILDER_PREVIEW, ACTION_PICK_REPOSITORY, carried_registry, carrying
from .common import code, registry_note, section, truncate
from .limits import checked_view, decode_metadata, encode_metadata
from .pickers import picker_input

CALLBACK_BUILDER = "cleanup_builder_modal"
PATTERN_BLOCK = "pattern"
NAME_BLOCK = "policy_name"
EVERY_BLOCK = "every"
CRON_BLOCK = "cron"
CHANNEL_BLOCK = "channel"
REASON_BLOCK = "reason"
SWITCHES_BLOCK = "switches"
# Each typed rule: its field's block ID, the prune option it is, its label and hint.
RULE_FIELDS = (
    ("keep", "--keep", "Keep the newest", "How many images to keep, newest first (3)"),
    ("older_than", "--older-than", "Older than", "Delete only what was pushed before (30d)"),
    ("match", "--match", "Only tags matching", "A regular expression (pr-.*)"),
    ("exclude", "--exclude", "Never tags matching", "A regular expression (release-.*)"),
    (
        "keep_pulled_within",
        "--keep-pulled-within",
        "Keep what was pulled within",
        "A duration (7d)",
    ),
)
SWITCHES = (
    ("--untagged", "Untagged images only (what pushes left without a tag)"),
    ("--allow-empty", "Allow leaving a repository with no tags"),
)
BLOCK_OF_FLAG = {flag: block for block, flag, _, _ in RULE_FIELDS} | {
    "pattern": PATTERN_BLOCK,
    "--untagged": SWITCHES_BLOCK,
    "--allow-empty": SWITCHES_BLOCK,
    "--every": EVERY_BLOCK,
    "--cron": CRON_BLOCK,
}


@dataclass(frozen=True)
class BuilderFields:
    """What the builder's fields hold: the pattern, prune's options with their values
    (a switch: "yes"), the reason, and the channel picked (when it asks for one)."""

    pattern: str = ""
    values: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    channel: str = ""
    name: str = ""  # a new policy's
    every: str = ""  # a policy's schedule: a period, or a cron expression
    cron: str = ""


class BuilderKind(StrEnum):
    CLEANUP = "cleanup"  # Request cleanup
    POLICY = "policy"  # Save policy


@dataclass(frozen=True)
class BuilderPlace:
    """Where the builder was opened (``private_metadata``): what it makes, the channel
    ("": it asks), the command's ``response_url`` ("" from a shortcut or a button with
    none), and the policy it changes ("": a new one)."""

    channel: str = ""
    response_url: str = ""
    kind: BuilderKind = BuilderKind.CLEANUP
    policy: str = ""
    registry: str = ""  # its registry, when more than one is served

    def encode(self) -> str:
        data = {"ch": self.channel, "url": self.response_url, "k": self.kind.value}
        if self.policy:
            data["p"] = self.policy
        return encode_metadata(carrying(data, self.registry))

    @classmethod
    def decode(cls, text: str) -> BuilderPlace:
        """The fields back (ValueError for anything the bot didn't write)."""
        data = decode_metadata(text)
        channel, url = data.get("ch"), data.get("url")
        kind, policy = data.get("k", "cleanup"), data.get("p", "")
        if not (
            isinstance(channel, str)
            and isinstance(url, str)
            and isinstance(kind, str)
            and isinstance(policy, str)
        ):
            raise ValueError("not the builder's metadata")
        registry = carried_registry(data) or ""
        return cls(channel[:40], url[:2000], BuilderKind(kind), policy[:100], registry)


def _text_input(block: str, label: str, hint: str, value: str, optional: bool) -> InputBlock:
    return InputBlock(
        block_id=block,
        label=label,
        optional=optional,
        element=PlainTextInputElement(
            action_id=block, placeholder=truncate(hint, 150), initial_value=value or None
        ),
    )


def render_builder(
    place: BuilderPlace,
    fields: BuilderFields | None = None,
    preview: list[Block] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The builder, with what its fields hold (``fields``: after a Preview), and the dry
    run (``preview``: its blocks, without their buttons) or a ``note`` under the form."""
    fields = fields or BuilderFields()
    policy = place.kind == BuilderKind.POLICY
    blocks: list[Block] = [*registry_note(place.registry)]
    if policy and not place.policy:
        blocks.append(
            _text_input(
                NAME_BLOCK, "Policy name", "nightly-ci (letters, digits, -)", fields.name, False
            )
        )
    elif policy:
        blocks.append(section(f"*Policy* {code(place.policy, 100)}"))
    blocks.append(
        picker_input(
            PATTERN_BLOCK,
            ACTION_PICK_REPOSITORY,
            "Repositories",
            "A repository or a glob",
            fields.pattern,
            hint="Pick one, or type a glob (team/*, **/ci) and pick it.",
        )
    )
    for block, flag, label, hint in RULE_FIELDS:
        blocks.append(_text_input(block, label, hint, fields.values.get(flag, ""), True))
    checked = [Option(text=t, value=f) for f, t in SWITCHES if f in fields.values]
    blocks.append(
        InputBlock(
            block_id=SWITCHES_BLOCK,
            label="Also",
            optional=True,
            element=CheckboxesElement(
                action_id=SWITCHES_BLOCK,
                options=[Option(text=t, value=f) for f, t in SWITCHES],
                initial_options=checked or None,
            ),
        )
    )
    if policy:
        blocks.append(
            _text_input(EVERY_BLOCK, "Every", "A period, at least 1h (1d, 12h)", fields.every, True)
        )
        blocks.append(
            _text_input(
                CRON_BLOCK, "Or on a cron schedule", "Five fields (0 3 * * *)", fields.cron, True
            )
        )
    if policy or not place.channel:
        blocks.append(
            InputBlock(
                block_id=CHANNEL_BLOCK,
                label="Plans go to" if policy else "Post the request in",
                element=ConversationSelectElement(
                    action_id=CHANNEL_BLOCK,
                    initial_conversation=fields.channel or place.channel or None,
                    filter=ConversationFilter(include=["public", "private"]),
                ),
            )
        )
    blocks.append(_text_input(REASON_BLOCK, "Reason", "Why clean up now?", fields.reason, True))
    blocks.append(
        ActionsBlock(
            block_id="builder_actions",
            elements=[ButtonElement(text="Preview", action_id=ACTION_BUILDER_PREVIEW)],
        )
    )
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(note, 3000))]))
    if preview:
        blocks.append(DividerBlock())
        room = 100 - len(blocks)
        blocks += [b for b in preview if not isinstance(b, ActionsBlock)][:room]
    view = View(
        type="modal",
        callback_id=CALLBACK_BUILDER,
        title="Cleanup policy" if policy else "Clean up images",
        submit="Save policy" if policy else "Request cleanup",
        close="Cancel",
        private_metadata=place.encode(),
        blocks=blocks,
    ).to_dict()
    return checked_view(view)


def builder_fields(view: dict[str, Any]) -> BuilderFields:
    """What the builder's fields hold, from a view's ``state`` (what Slack sends with a
    submission or a click in it)."""
    values = (view.get("state") or {}).get("values") or {}

    def typed(block: str, action: str | None = None) -> dict[str, Any]:
        return (values.get(block) or {}).get(action or block) or {}

    picked = typed(PATTERN_BLOCK, ACTION_PICK_REPOSITORY).get("selected_option") or {}
    options: dict[str, str] = {}
    for block, flag, _, _ in RULE_FIELDS:
        text = str(typed(block).get("value") or "").strip()
        if text:
            options[flag] = text
    for chosen in typed(SWITCHES_BLOCK).get("selected_options") or []:
        if isinstance(chosen, dict) and chosen.get("value") in dict(SWITCHES):
            options[str(chosen["value"])] = "yes"
    return BuilderFields(
        pattern=str(picked.get("value") or "").strip(),
        values=options,
        reason=str(typed(REASON_BLOCK).get("value") or "").strip()[:500],
        channel=str(typed(CHANNEL_BLOCK).get("selected_conversation") or ""),
        name=str(typed(NAME_BLOCK).get("value") or "").strip()[:100],
        every=str(typed(EVERY_BLOCK).get("value") or "").strip()[:100],
        cron=str(typed(CRON_BLOCK).get("value") or "").strip()[:200],
    )
