"""The registries the bot serves, as ``/registry use`` says them."""

from __future__ import annotations

from ..registry_choice import KnownRegistry
from .common import Message, escape, section


def render_registry_in_use(
    name: str,
    known: tuple[KnownRegistry, ...],
    *,
    set_here: str | None,
    changed: bool = False,
) -> Message:
    """Which registry the channel's commands go to (``set_here``: the channel's own
    default, None: the first, as none was set), and the others to name instead."""
    host = next((r.host for r in known if r.name == name), "")
    if changed:
        head = f"This channel's commands now go to *{escape(name)}* (`{escape(host)}`)."
    elif set_here is not None:
        head = f"This channel's commands go to *{escape(name)}* (`{escape(host)}`), its default."
    else:
        head = (
            f"This channel's commands go to *{escape(name)}* (`{escape(host)}`), the first "
            "registry configured (no default was set here)."
        )
    others = [r for r in known if r.name != name]
    lines = [head]
    if others:
        listed = ", ".join(f"*{escape(r.name)}* (`{escape(r.host)}`)" for r in others)
        lines.append(
            f"Also served: {listed}. Name one with `--registry NAME` or by its host "
            "(`/registry tags HOST/REPO`); `/registry use NAME` changes the default."
        )
    text = f"This channel uses the registry {name}."
    return Message(text=text, blocks=[section("\n".join(lines))])
