"""``/registry show REF``: one image in detail, cut to fit Slack's limits.

Digest, media type, total size, created, labels and annotations, then each platform
with its config and layers. Long lists end with "… and N more" instead of overflowing.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from ...registry import Image, PlatformImage, human_size, short_name
from .common import (
    Message,
    Usage,
    code,
    date_with_age,
    escape,
    fit_lines,
    section,
    short_digest,
    truncate,
)
from .limits import MAX_BLOCKS, MAX_FIELD_TEXT, MAX_SECTION_TEXT

MAX_LAYERS_SHOWN = 25
MAX_PAIRS_SHOWN = 20
# header, fields, labels, annotations, divider, attestations, room for the "more" note
FIXED_BLOCKS = 8


def _pairs(title: str, values: dict[str, str]) -> Block | None:
    if not values:
        return None
    lines = [f"{code(k, 120)} = {code(v, 300)}" for k, v in sorted(values.items())]
    text = fit_lines(f"*{title}*", lines, MAX_SECTION_TEXT, max_lines=MAX_PAIRS_SHOWN)
    return SectionBlock(text=MarkdownTextObject(text=text))


def _platform_section(image: PlatformImage, now: datetime) -> Block:
    name = escape(str(image.platform)) if image.platform else "platform unknown"
    head = [
        f"*{name}*  `{short_digest(image.digest)}`  ·  {human_size(image.size)}  ·  "
        f"{date_with_age(image.created, now)}"
    ]
    if image.config is not None:
        head.append(
            f"Config `{short_digest(image.config.digest)}` ({human_size(image.config.size)})"
        )
    count = len(image.layers)
    head.append(f"{count} layer{'s' if count != 1 else ''}:")
    lines = [
        f"{i}. `{short_digest(layer.digest)}`  {human_size(layer.size)}"
        for i, layer in enumerate(image.layers, 1)
    ]
    text = fit_lines("\n".join(head), lines, MAX_SECTION_TEXT, max_lines=MAX_LAYERS_SHOWN)
    return SectionBlock(text=MarkdownTextObject(text=text))


def render_image(
    image: Image, registry_url: str, now: datetime, usage: Usage | None = None
) -> Message:
    """The detail view of an image (single-platform or multi-arch), with its push and
    last pull when the registry's events told them."""
    usage = usage or Usage()
    ref = f"{image.repository}:{image.tag}" if image.tag else f"{image.repository}@{image.digest}"
    fields = [
        f"*Digest*\n`{escape(image.digest)}`",
        f"*Media type*\n{escape(short_name(image.media_type))}",
        f"*Size*\n{human_size(image.size)}" + (" (all platforms)" if image.is_index else ""),
        f"*Created*\n{date_with_age(image.created, now)}",
    ]
    pushed = usage.pushed(image.tag, image.digest, now)
    if pushed:
        fields.append(f"*Pushed*\n{pushed}")
    pulled = usage.pulled(image.digest, now)
    if pulled:
        fields.append(f"*Pulled*\n{pulled}")
    if image.is_index:
        fields.append(f"*Platforms*\n{len(image.platforms)}")
    blocks: list[Block] = [
        HeaderBlock(text=truncate(ref, 150)),
        SectionBlock(fields=[MarkdownTextObject(text=truncate(f, MAX_FIELD_TEXT)) for f in fields]),
    ]
    for title, values in (("Labels", image.labels), ("Annotations", image.annotations)):
        block = _pairs(title, values)
        if block is not None:
            blocks.append(block)
    blocks.append(DividerBlock())
    room = MAX_BLOCKS - len(blocks) - 3
    platforms = list(image.platforms)
    for platform in platforms[:room]:
        blocks.append(_platform_section(platform, now))
    notes = []
    if len(platforms) > room:
        notes.append(f"… and {len(platforms) - room} more platforms")
    if image.attestations:
        count = len(image.attestations)
        notes.append(
            f"{count} attestation manifest{'s' if count != 1 else ''} "
            "(unknown/unknown) not shown: "
            + ", ".join(f"`{short_digest(a.digest)}`" for a in image.attestations[:5])
        )
    if usage.note:
        notes.append(usage.note.capitalize() + ".")
    notes.append(f"Registry `{escape(registry_url)}`")
    blocks.append(
        ContextBlock(elements=[MarkdownTextObject(text=truncate(n, 2000)) for n in notes])
    )
    text = (
        f"{ref}: {image.digest}, {short_name(image.media_type)}, {human_size(image.size)}, "
        + ", ".join(image.platform_names[:10])
    )
    return Message(text=text, blocks=blocks)


INSPECTED_SHOWN = 3  # images shown in full; the rest are named


def render_inspection(
    shown: list[Message], others: list[str], elsewhere: list[str], registry_url: str
) -> Message:
    """Inspect images on a message: each image found shown as ``show`` shows it (the
    first few), the rest named, and references to other registries said apart."""
    if not shown and not elsewhere:
        text = (
            "No image references found in that message (like `team/app:1.2`, "
            f"`team/app@sha256:…` or `{escape(_host(registry_url))}/team/app:1.2`)."
        )
        return Message(text="No image references found.", blocks=[section(text)])
    blocks: list[Block] = []
    for message in shown:
        if blocks:
            blocks.append(DividerBlock())
        blocks += message.blocks
    notes = []
    if others:
        names = ", ".join(code(o, 100) for o in others)
        notes.append(f"Also named: {names} (`/registry show` each).")
    if elsewhere:
        names = ", ".join(code(e, 100) for e in elsewhere)
        notes.append(f"On other registries (not looked up): {names}.")
    if notes:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text="\n".join(notes)[:3000])]))
    if not shown:
        blocks.insert(0, section("No image of this registry is named in that message."))
    return Message(text=f"{len(shown)} image(s) found in the message", blocks=blocks[:MAX_BLOCKS])


def _host(registry_url: str) -> str:
    return registry_url.split("://", 1)[-1].rstrip("/")
