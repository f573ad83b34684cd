"""``/registry untagged``: the images a push left without a tag, newest first, with
their size, when and by which tag they were left, and their last pull; or, without the
registry's events, that they are not known (never "none")."""

from __future__ import annotations

from datetime import datetime

from ...registry import human_size
from ...storage import Untagged, UntaggedReport
from .common import Message, age, code, escape, fit_lines, section
from .limits import MAX_SECTION_TEXT

SNIPPET = (
    "notifications:\n  endpoints:\n    - name: registry-bot\n"
    "      url: https://registry-bot.example.com/registry/events\n"
    "      headers: {Authorization: [Bearer TOKEN]}"
)


def render_untagged_unknown() -> Message:
    text = (
        "Which images are left without a tag is not known: the registry's API can't list "
        "them, and the bot learns of them from the registry's events, which aren't "
        "configured. Set REGISTRY_EVENTS_TOKEN, and add to the registry's config.yml:\n"
        f"```{SNIPPET}```\nImages a push leaves untagged from then on are found."
    )
    return Message(
        text="Untagged images are not known: no registry events.", blocks=[section(text)]
    )


def _own(u: Untagged) -> str:
    """ ", 4 MB its own" (at most, while repositories are unread), or nothing."""
    if u.unique is None or u.unique_basis is None:
        return ""
    bound = "" if u.unique_basis.certain else "at most "
    return f", {bound}{human_size(u.unique)} its own"


def render_untagged(report: UntaggedReport, pattern: str | None, now: datetime) -> Message:
    where = f" in {code(pattern, 150)}" if pattern else ""
    items = sorted(report.items, key=lambda u: u.left_at, reverse=True)
    total = sum(u.size or 0 for u in items)
    unknown_sizes = sum(1 for u in items if u.size is None)
    head = (
        f"*{len(items)} untagged images*{where}"
        + (f", {human_size(total)}" if total else "")
        + (f" ({unknown_sizes} of unknown size)" if unknown_sizes else "")
        + " (since the registry's events were recorded; images untagged before are not known)"
    )
    notes = []
    if report.unread:
        names = ", ".join(code(r, 80) for r in report.unread[:5])
        notes.append(
            f"Not known for {len(report.unread)} repositories that could not all be read: {names}"
        )
    if report.beyond:
        notes.append(f"{report.beyond} more repositories not read: narrow the pattern.")
    lines = [
        f"{code(u.repository, 100)}@`{escape(u.digest[:19])}…` "
        f"{human_size(u.size) if u.size is not None else 'size unknown'}"
        f"{_own(u)}, "
        + (f"left by {code(u.tag, 80)}" if u.tag else "pushed by digest")
        + f" {age(u.left_at, now)}; "
        + (
            f"pulled {age(u.last_pull, now)}" + (" *in use*" if u.in_use else "")
            if u.last_pull
            else "no pull recorded"
        )
        for u in items
    ]
    text = fit_lines(head + "\n" + "".join(f"{n}\n" for n in notes), lines, MAX_SECTION_TEXT)
    return Message(text=f"{len(items)} untagged images", blocks=[section(text)])
