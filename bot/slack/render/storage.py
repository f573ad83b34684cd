"""``/registry storage``: bytes stored counting each blob once across the registry,
beside the naive per-repository sum, and the repositories with most bytes of their
own, each with what it references, what no other repository uses, what it shares, and
its amortised share; and what could not be read."""

from __future__ import annotations

from ...registry import human_size
from ...storage import StorageReport
from .common import Message, code, fit_lines, section
from .limits import MAX_SECTION_TEXT

TOP = 15  # repositories listed by their own bytes


def render_storage(report: StorageReport, pattern: str | None) -> Message:
    where = f" of {code(pattern, 150)}" if pattern else ""
    repos = report.repositories
    head = (
        f"*Storage{where}*: {human_size(report.total)} in {len(repos)} repositories, "
        f"{sum(r.tags for r in repos):,} tags, {sum(r.images for r in repos):,} images, each "
        f"blob counted once (counted per repository: {human_size(report.naive)}; sharing "
        f"saves {human_size(max(0, report.naive - report.total))}). Untagged images and "
        "blobs no manifest uses are not in these figures (see /registry untagged)."
    )
    notes = []
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
    if report.beyond:
        notes.append(f"{report.beyond} more repositories were not read: narrow the pattern.")
    lines = [
        f"{code(r.repository, 100)}: {human_size(r.unique)} its own, {human_size(r.shared)} "
        f"shared, share {human_size(r.amortised)} (references {human_size(r.referenced)}); "
        f"{r.tags} tags, {r.images} images"
        for r in repos[:TOP]
    ]
    if len(repos) > TOP:
        lines.append(f"… and {len(repos) - TOP} more repositories.")
    text = fit_lines(head + "\n" + "".join(f"{n}\n" for n in notes), lines, MAX_SECTION_TEXT)
    return Message(text=f"Storage: {human_size(report.total)}", blocks=[section(text)])
