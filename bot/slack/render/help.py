"""The usage message of ``/registry help`` (and of an empty command)."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from ..command_table import COMMANDS
from .common import Message, escape, truncate


def usage_lines() -> str:
    """One line per command: its usage, what it does, an example (from the command
    table, like the usage errors and the manifest's usage hint)."""
    return "\n".join(
        f"`{spec.usage}`: {spec.summary} Example: `{spec.example_line}`" for spec in COMMANDS
    )


def render_help(registry_url: str, registries: tuple[tuple[str, str], ...] = ()) -> Message:
    """Usage, with one example per command (``registries``: each served, by name and
    host, when there are more than one)."""
    served: list[ContextBlock] = []
    if len(registries) > 1:
        listed = ", ".join(f"*{escape(name)}* (`{escape(host)}`)" for name, host in registries)
        served.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text=truncate(
                            f"Registries served: {listed}. A command goes to the one its "
                            "reference's host or `--registry NAME` names, else to the "
                            "channel's (`/registry use`).",
                            2000,
                        )
                    )
                ]
            )
        )
    return Message(
        text="registry-bot commands: " + "; ".join(spec.usage for spec in COMMANDS),
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
                        "REF is `REPO`, `REPO:TAG` or `REPO@sha256:…`, with the "
                        "registry's host in front or not. "
                        "`delete`, `untag`, `prune` or `policy add` alone opens a form "
                        "with pickers. Replies are visible only to you."
                    )
                ]
            ),
            *served,
        ],
    )
