"""The deletion form, a modal, as pure functions: ``/registry delete`` (or ``untag``)
alone opens it. A repository picker and a tag picker (the tags of the repository chosen
in the same view), both answered from names the bot keeps in memory, and whether only
the tag goes. Submitted, the same modal shows the registry being read, then becomes the
request modal (what the deletion takes with it, and the reason) or the form again with
what stopped it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    CheckboxesElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
)
from slack_sdk.models.views import View

from ..buttons import ACTION_PICK_IMAGE_REPOSITORY, ACTION_PICK_TAG, carried_registry, carrying
from .common import code, registry_note, section, truncate
from .limits import checked_view, decode_metadata, encode_metadata
from .pickers import picker_input

CALLBACK_DELETION_FORM = "deletion_form_modal"
REPOSITORY_BLOCK = "form_repository"
TAG_BLOCK = "form_tag"
UNTAG_BLOCK = "form_untag"
UNTAG_VALUE = "untag"
UNTAG_TEXT = "Remove only this tag (the image and its other tags stay)"


@dataclass(frozen=True)
class FormPlace:
    """Where the form was opened (``private_metadata``): the command's channel and its
    ``response_url`` (where the requester is told what came of the request)."""

    channel: str
    response_url: str
    registry: str = ""  # its registry, when more than one is served

    def encode(self) -> str:
        data = {"ch": self.channel, "url": self.response_url}
        return encode_metadata(carrying(data, self.registry))

    @classmethod
    def decode(cls, text: str) -> FormPlace:
        """The fields back (ValueError for anything the bot didn't write)."""
        data = decode_metadata(text)
        channel, url = data.get("ch"), data.get("url")
        if not (isinstance(channel, str) and isinstance(url, str)):
            raise ValueError("not the deletion form's metadata")
        return cls(channel[:40], url[:2000], carried_registry(data) or "")


@dataclass(frozen=True)
class FormFields:
    """What the form's fields hold."""

    repository: str = ""
    tag: str = ""
    untag: bool = False


def render_deletion_form(
    place: FormPlace,
    fields: FormFields | None = None,
    note: str | None = None,
    answer: list[Block] | None = None,
) -> dict[str, Any]:
    """The form, with what its fields hold, and under it a ``note`` or the blocks of
    what the registry answered (``answer``: why the last submission did not plan)."""
    fields = fields or FormFields()
    untag = Option(text=UNTAG_TEXT, value=UNTAG_VALUE)
    blocks: list[Block] = [
        *registry_note(place.registry),
        picker_input(
            REPOSITORY_BLOCK,
            ACTION_PICK_IMAGE_REPOSITORY,
            "Repository",
            "Type part of its name",
            fields.repository,
            dispatch=True,  # picked: its tags are read, for the tag picker
        ),
        picker_input(
            TAG_BLOCK,
            ACTION_PICK_TAG,
            "Tag",
            "Type part of the tag",
            fields.tag,
            hint="The tags of the repository picked above.",
        ),
        InputBlock(
            block_id=UNTAG_BLOCK,
            label="Only the tag",
            optional=True,
            element=CheckboxesElement(
                action_id=UNTAG_BLOCK,
                options=[untag],
                initial_options=[untag] if fields.untag else None,
            ),
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Next: what the deletion takes with it (every tag on the same "
                    "image goes too, unless only the tag goes), and your reason."
                )
            ]
        ),
    ]
    if note:
        blocks.append(section(truncate(note, 3000)))
    if answer:
        blocks.append(DividerBlock())
        blocks += answer[: 100 - len(blocks)]
    view = View(
        type="modal",
        callback_id=CALLBACK_DELETION_FORM,
        title="Delete an image",
        submit="Next",
        close="Cancel",
        private_metadata=place.encode(),
        blocks=blocks,
    ).to_dict()
    return checked_view(view)


def render_form_reading(fields: FormFields, note: str | None = None) -> dict[str, Any]:
    """The form while the registry is read for its plan (no field: nothing to submit)."""
    target = code(f"{fields.repository}:{fields.tag}", 300)
    text = note or f":hourglass: Reading the registry: what deleting {target} takes with it…"
    view = View(
        type="modal",
        callback_id=CALLBACK_DELETION_FORM,
        title="Delete an image",
        close="Close",
        blocks=[section(truncate(text, 3000))],
    ).to_dict()
    return checked_view(view)


def _selected(values: dict[str, Any], block: str, action: str) -> str:
    picked = ((values.get(block) or {}).get(action) or {}).get("selected_option") or {}
    return str(picked.get("value") or "").strip()[:150]


def form_fields(view: dict[str, Any]) -> FormFields:
    """What the form's fields hold, from a view's ``state`` (sent with a submission, a
    pick in it, and a picker's options request)."""
    values = (view.get("state") or {}).get("values") or {}
    chosen = ((values.get(UNTAG_BLOCK) or {}).get(UNTAG_BLOCK) or {}).get("selected_options")
    return FormFields(
        repository=_selected(values, REPOSITORY_BLOCK, ACTION_PICK_IMAGE_REPOSITORY),
        tag=_selected(values, TAG_BLOCK, ACTION_PICK_TAG),
        untag=any(isinstance(c, dict) and c.get("value") == UNTAG_VALUE for c in chosen or []),
    )
