"""The usage message of ``/registry help`` (and of an empty command)."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from .common import Message, escape

COMMANDS = [
    ("/registry repos [FILTER]", "List repositories.", "/registry repos team-a/*"),
    (
        "/registry tags REPO [FILTER]",
        "List tags with digest, size, age, platforms and tags sharing an image.",
        "/registry tags busybox 1.3*",
    ),
    (
        "/registry show REF",
        "One image in detail: platforms, layers, labels (also `layers`, `inspect`).",
        "/registry show busybox:1.36",
    ),
    (
        "/registry delete REF [reason]",
        "Ask to delete an image (every tag on its digest goes too); approvers decide.",
        "/registry delete busybox:1.35 superseded by 1.36",
    ),
    (
        "/registry untag REPO:TAG [reason]",
        "Ask to remove one tag only; the other tags on the image keep working.",
        "/registry untag busybox:rc-1 wrong build",
    ),
    (
        "/registry delete-blob REPO@DIGEST [reason]",
        "Ask to delete one blob (a layer or config) that no tag uses.",
        "/registry delete-blob busybox@sha256:… orphaned layer",
    ),
    ("/registry pending", "Deletion requests waiting for approval.", "/registry pending"),
    ("/registry audit [N]", "The last N audit events.", "/registry audit 20"),
    ("/registry help", "This message.", "/registry help"),
]


def usage_lines() -> str:
    return "\n".join(f"`{usage}`: {what} Example: `{example}`" for usage, what, example in COMMANDS)


def render_help(registry_url: str) -> Message:
    """Usage, with one example per command."""
    return Message(
        text="registry-bot commands: " + "; ".join(u for u, _, _ in COMMANDS),
        blocks=[
            HeaderBlock(text="registry-bot"),
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"Browse the container registry at `{escape(registry_url)}`.\n\n"
                    + usage_lines()
                )
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="FILTER is a substring, or a glob with `*`, `?` or `[...]`. "
                        "REF is `REPO`, `REPO:TAG` or `REPO@sha256:…`. "
                        "Replies are visible only to you."
                    )
                ]
            ),
        ],
    )
