"""Repository and tag listings, with Prev/Next buttons that page in place."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from ...registry import Image, RegistryError, RepoPage, TagPage, human_size
from ..buttons import ACTION_NEXT, ACTION_PREV, PageKind, PageRef
from .common import Message, Usage, code, date_with_age, escape, short_digest, truncate
from .hints import explain
from .limits import MAX_SECTION_TEXT


def _pager(prev: PageRef | None, next_: PageRef | None) -> list[Block]:
    buttons = []
    if prev is not None:
        buttons.append(ButtonElement(text="◀ Prev", action_id=ACTION_PREV, value=prev.encode()))
    if next_ is not None:
        buttons.append(ButtonElement(text="Next ▶", action_id=ACTION_NEXT, value=next_.encode()))
    return [ActionsBlock(elements=buttons)] if buttons else []


def _chunked_sections(lines: list[str]) -> list[Block]:
    """Lines packed into as few sections as fit 3000 characters each."""
    sections: list[Block] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > MAX_SECTION_TEXT:
            sections.append(SectionBlock(text=MarkdownTextObject(text=current)))
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        sections.append(SectionBlock(text=MarkdownTextObject(text=current)))
    return sections


def _matching(pattern: str | None) -> str:
    return f" matching {code(pattern)}" if pattern else ""


def _cut_note(cut: str | None, what: str) -> str:
    """Said when the registry's list was capped: the counts are then lower bounds."""
    if not cut:
        return ""
    return f"\n:warning: The registry's {what} is incomplete here: {escape(cut)}."


def _page(
    kind: PageKind, to: int, page: RepoPage | TagPage, repository: str | None, registry: str | None
) -> PageRef:
    """The button's reference to page ``to`` of the listing ``page`` is on."""
    return PageRef(kind, to, page.pattern, repository, registry)


def render_repos(page: RepoPage, registry_url: str, registry: str | None = None) -> Message:
    """A page of repository names, with the total count."""
    noun = "repository" if page.total == 1 else "repositories"
    summary = f"*{page.total}* {noun}{_matching(page.pattern)}"
    if page.pattern:
        summary += f" (of {page.catalog_total})"
    summary += f" on `{escape(registry_url)}`"
    if page.pages > 1:
        summary += f" · page {page.page + 1} of {page.pages}"
    summary += _cut_note(page.cut, "catalog")
    lines = [f"{page.first_index + i + 1}. {code(name, 260)}" for i, name in enumerate(page.names)]
    if not lines:
        lines = ["No repository matches." if page.pattern else "The registry has no repositories."]
    prev = _page(PageKind.REPOS, page.page - 1, page, None, registry) if page.has_prev else None
    next_ = _page(PageKind.REPOS, page.page + 1, page, None, registry) if page.has_next else None
    blocks: list[Block] = [
        HeaderBlock(text="Repositories"),
        SectionBlock(text=MarkdownTextObject(text=summary)),
        *_chunked_sections(lines),
        *_pager(prev, next_),
    ]
    text = f"{page.total} {noun}: " + ", ".join(page.names[:20])
    return Message(text=text, blocks=blocks)


def _platforms(image: Image) -> str:
    names = image.platform_names
    if not image.is_index:
        return escape(names[0]) if names else ""
    shown = ", ".join(escape(n) for n in names[:8])
    if len(names) > 8:
        shown += f" and {len(names) - 8} more"
    if image.attestations:
        count = len(image.attestations)
        shown += f" (+{count} attestation{'s' if count != 1 else ''})"
    return f"multi-arch: {shown}"


def _tag_line(
    page: TagPage, tag: str, image: Image | RegistryError, now: datetime, usage: Usage
) -> str:
    head = f"*{code(tag, 130)}*"
    if isinstance(image, RegistryError):
        return f"{head}  :warning: {escape(truncate(explain(image), 400))}"
    parts = [
        f"`{short_digest(image.digest)}`",
        human_size(image.size),
        usage.pushed(tag, image.digest, now) or f"created {date_with_age(image.created, now)}",
    ]
    pulled = usage.pulled(image.digest, now)
    if pulled:
        parts.append(pulled)
    line = f"{head}  " + "  ·  ".join(parts)
    platforms = _platforms(image)
    if platforms:
        line += f"\n{platforms}"
    siblings = page.siblings(tag, image)
    if siblings:
        shown = ", ".join(code(s, 130) for s in siblings[:10])
        more = f" and {len(siblings) - 10} more" if len(siblings) > 10 else ""
        line += f"\nSame image as {shown}{more}"
    return truncate(line, MAX_SECTION_TEXT)


def render_tags(
    page: TagPage,
    registry_url: str,
    now: datetime,
    usage: Usage | None = None,
    registry: str | None = None,
) -> Message:
    """A page of tags: short digest, size, when pushed (by whom) or else created, last
    pull, platforms, shared digests."""
    usage = usage or Usage()
    noun = "tag" if page.total == 1 else "tags"
    summary = f"*{page.total}* {noun}{_matching(page.pattern)}"
    if page.pattern:
        summary += f" (of {page.repository_total})"
    if page.pages > 1:
        summary += f" · page {page.page + 1} of {page.pages}"
    summary += " · newest versions first"
    summary += _cut_note(page.cut, "tag list")
    if usage.note:
        summary += f" · {usage.note}"
    blocks: list[Block] = [
        HeaderBlock(text=truncate(f"Tags of {page.repository}", 150)),
        ContextBlock(elements=[MarkdownTextObject(text=f"{summary} · `{escape(registry_url)}`")]),
    ]
    for tag, image in zip(page.tags, page.images, strict=True):
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text=_tag_line(page, tag, image, now, usage)))
        )
    if not page.tags:
        empty = "No tag matches." if page.pattern else "This repository has no tags."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=empty)))
    repository = page.repository
    prev = (
        _page(PageKind.TAGS, page.page - 1, page, repository, registry) if page.has_prev else None
    )
    next_ = (
        _page(PageKind.TAGS, page.page + 1, page, repository, registry) if page.has_next else None
    )
    blocks += _pager(prev, next_)
    text = f"{page.total} {noun} of {page.repository}: " + ", ".join(page.tags)
    return Message(text=text, blocks=blocks)
