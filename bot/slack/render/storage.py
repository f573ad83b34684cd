"""``/registry storage``: bytes stored counting each blob once across the registry,
beside the naive per-repository sum, and the repositories with most bytes of their
own, each with what it references, what no other repository uses, what it shares, and
its amortised share; what could not be read; and, for the whole registry, the trend
the daily snapshots show."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
)

from ...registry import human_size
from ...storage import StorageReport, Trend, UntaggedReport
from ..buttons import (
    ACTION_NEXT,
    ACTION_PREV,
    ACTION_SHARE_STORAGE,
    PageKind,
    PageRef,
    StorageShare,
)
from .common import Message, code, escape, fit_lines, mention, section, truncate
from .limits import MAX_SECTION_TEXT
from .outcomes import GC_REMINDER

TOP = 15  # repositories listed by their own bytes
SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """One bar per value, from the lowest to the highest of them."""
    if not values:
        return ""
    low, high = min(values), max(values)
    if high == low:
        return SPARKS[3] * len(values)
    steps = len(SPARKS) - 1
    return "".join(SPARKS[round((v - low) / (high - low) * steps)] for v in values)


def _signed(n: int) -> str:
    return ("+" if n >= 0 else "-") + human_size(abs(n))


def trend_text(trend: Trend) -> str:
    """What the daily snapshots say, or that they don't go back far enough yet."""
    since = trend.since
    if since is None or len(trend.series) < 2:
        return (
            "*Trend*: the history starts today (a snapshot is kept each day); the change "
            "over 7 and 30 days shows once the snapshots go back that far."
        )
    changes = []
    for days, change in ((7, trend.change_7), (30, trend.change_30)):
        changes.append(
            f"{_signed(change)} in {days} days" if change is not None else f"{days} days: not yet"
        )
    line = (
        f"*Trend* (daily since {since:%Y-%m-%d}): `{sparkline([t for _, t in trend.series])}` "
        + ", ".join(changes)
    )
    if trend.growing:
        line += "; grew most: " + ", ".join(
            f"{code(name, 80)} {_signed(g)}" for name, g in trend.growing
        )
    return line


def untagged_text(untagged: UntaggedReport | None, failed: str | None = None) -> str:
    """The untagged images known besides the figures, and what deleting them frees
    (``failed``: why they could not be read now)."""
    if failed is not None:
        return f"*Untagged images*: not read this time ({escape(truncate(failed, 300))})."
    if untagged is None:
        return (
            "*Untagged images*: not known (the registry's events are not set up; "
            "see /registry untagged)."
        )
    items = untagged.items
    counted = [u for u in items if u.unique is not None]
    own = sum(u.unique or 0 for u in counted)
    bound = "" if all(u.unique_basis and u.unique_basis.certain for u in counted) else "at most "
    line = f"*Untagged images*: {len(items)} known"
    if counted:
        line += (
            f", {bound}{human_size(own)} of their own: `/registry prune PATTERN --untagged` "
            "deletes them, then garbage collection gives it back"
        )
    if untagged.unread:
        line += f" (not known for {len(untagged.unread)} repositories that could not be read)"
    return line + "."


def gc_text(freed: int, deletions: int, since: datetime) -> str:
    """What garbage collection would give back now, as far as the bot can know: at most
    what its own deletions since ``since`` freed (a collection since may have given
    some back; deletions made outside the bot are not known)."""
    if not deletions:
        return (
            f"*Garbage collection*: no deletion through registry-bot since {since:%Y-%m-%d} "
            "left anything for it (deletions made outside the bot are not known)."
        )
    return (
        f"*Garbage collection* would give back at most {human_size(freed)} from "
        f"{deletions} deletion{'' if deletions == 1 else 's'} through registry-bot since "
        f"{since:%Y-%m-%d} (less what a collection since has given back; deletions made "
        "outside the bot are not known). " + GC_REMINDER
    )


def render_storage(
    report: StorageReport,
    pattern: str | None,
    trend: Trend | None = None,
    *,
    untagged: UntaggedReport | None = None,
    untagged_failed: str | None = None,
    gc: str | None = None,
    shared_by: str | None = None,
    shareable: bool = True,
    page: int = 0,
    registry: str | None = None,
) -> Message:
    """The report, with its ``page`` of repositories (``TOP`` a page, by bytes of their
    own, with Prev/Next); ``trend``: for the whole registry (no pattern), what the daily
    snapshots show; ``untagged``: the untagged images the events made known (None: they
    are not known). With **Share in channel** (``shareable``), or for the channel,
    naming who shared it (``shared_by``: the page shown, no buttons). ``registry``: its
    name, when more than one is served."""
    where = f" of {code(pattern, 150)}" if pattern else ""
    where += f" on {escape(registry)}" if registry else ""
    repos = report.repositories
    head = (
        f"*Storage{where}*: {human_size(report.total)} in {len(repos)} repositories, "
        f"{sum(r.tags for r in repos):,} tags, {sum(r.images for r in repos):,} images, each "
        f"blob counted once (counted per repository: {human_size(report.naive)}; sharing "
        f"saves {human_size(max(0, report.naive - report.total))}). Untagged images and "
        "blobs no manifest uses are not in these figures."
    )
    notes = [untagged_text(untagged, untagged_failed)] + ([gc] if gc else [])
    if report.unread:
        names = ", ".join(code(r, 80) for r in report.unread[:5])
        notes.append(
            f"Not counted: {len(report.unread)} repositories that could not all be read "
            f"({names}); the totals are at least these."
        )
    if report.unsized:
        notes.append(f"{report.unsized} blobs had no size in their manifests: not counted.")
    if report.catalog_cut:
        notes.append(
            f"The registry's list of repositories stopped early ({report.catalog_cut}): "
            "repositories after it are not counted; the totals are at least these."
        )
    if report.from_index and report.oldest_read is not None:
        rest = len(repos) + len(report.unread) - report.from_index
        notes.append(
            f"{report.from_index} repositories as read by {report.oldest_read:%H:%M} UTC or "
            "later (the registry's events say they haven't changed since)"
            + (f"; the other {rest} read now." if rest > 0 else ".")
        )
    if report.beyond:
        notes.append(f"{report.beyond} more repositories were not read: narrow the pattern.")
    pages = max(1, -(-len(repos) // TOP))
    page = min(max(page, 0), pages - 1)
    shown = repos[page * TOP : (page + 1) * TOP]
    heading = (
        f"*Repositories {page * TOP + 1}-{page * TOP + len(shown)} of {len(repos)}*, by "
        f"bytes of their own (page {page + 1} of {pages}):\n"
        if pages > 1
        else ""
    )
    lines = [
        f"{code(r.repository, 100)}: {human_size(r.unique)} its own, {human_size(r.shared)} "
        f"shared, share {human_size(r.amortised)} (references {human_size(r.referenced)}); "
        f"{r.tags} tags, {r.images} images"
        + (f", last push {r.last_push:%Y-%m-%d %H:%M} UTC" if r.last_push else "")
        for r in shown
    ]
    if trend is not None:
        notes.insert(0, trend_text(trend))
    # The figures and what they rest on, then the page of repositories: a section each,
    # so a long note never pushes repositories off their page.
    blocks: list[Block] = [section(head + "\n" + "\n".join(notes))]
    if lines:
        blocks.append(section(fit_lines(heading, lines, MAX_SECTION_TEXT)))
    if shared_by is not None:
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"Shared by {mention(shared_by)}.")])
        )
    elif shareable:
        buttons = [
            ButtonElement(
                text="Share in channel",
                action_id=ACTION_SHARE_STORAGE,
                value=StorageShare(pattern, registry).encode(),
            )
        ]
        for action, to, label in (
            (ACTION_PREV, page - 1, "◀ Prev"),
            (ACTION_NEXT, page + 1, "Next ▶"),
        ):
            if 0 <= to < pages:
                ref = PageRef(PageKind.STORAGE, to, pattern, None, registry)
                buttons.append(ButtonElement(text=label, action_id=action, value=ref.encode()))
        blocks.append(ActionsBlock(elements=buttons))
    return Message(text=f"Storage: {human_size(report.total)}", blocks=blocks)
