"""Owners in words: who owns a repository and what approving its deletions takes
(``/registry owners REPO``), every owner rule (``/registry owners``), and where the
caller may approve (``/registry whoami``)."""

from __future__ import annotations

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject

from ...deletions import ApprovalPart, Terms
from .approvals import agree_text
from .common import Message, code, escape, fit_lines, mention, section
from .limits import MAX_SECTION_TEXT

NO_RULES = (
    "No owner rules are configured: the global approvers (APPROVERS, APPROVALS_REQUIRED "
    "and PROTECTED_TAGS) decide for every repository. Owner rules come from the "
    "configuration file that REGISTRY_BOT_CONFIG names."
)


def _terms_lines(terms: Terms) -> list[str]:
    lines = [f"Approving a deletion takes {agree_text(terms.approval)}."]
    if terms.protected is not None:
        lines.append(f"Protected tags (never deleted): {code(terms.protected.pattern, 200)}.")
    if terms.approval_channel:
        lines.append(f"Requests are posted in <#{terms.approval_channel}>.")
    if terms.events_channel:
        lines.append(f"The registry's alerts go to <#{terms.events_channel}>.")
    return lines


def _rule_name(terms: Terms) -> str:
    owner = terms.owner
    if owner is None:
        return "the global settings"
    globs = ", ".join(code(g, 100) for g in owner.rule.repositories)
    return f"owner rule #{owner.rule.position + 1} ({globs})"


def render_owner_of(repository: str, terms: Terms) -> Message:
    """Who owns ``repository``, and what approving its deletions takes."""
    if terms.owner is None:
        head = f"No owner rule names {code(repository, 200)}: the global settings decide."
    else:
        head = (
            f"{code(repository, 200)} is owned by {_rule_name(terms)}: its pattern "
            f"{code(terms.owner.pattern, 100)} matches it most specifically."
        )
    text = "\n".join([head, *_terms_lines(terms)])
    return Message(text=text, blocks=[section(text)])


def render_owners(rules: list[Terms], default: Terms, registry: str | None) -> Message:
    """Every owner rule (of ``registry``, named when several are served) and the
    global settings for the repositories no rule names."""
    where = f" of the registry {code(registry, 40)}" if registry else ""
    if not rules:
        return Message(text=NO_RULES, blocks=[section(NO_RULES)])
    lines = [f"*{_rule_name(t)}*: " + " ".join(_terms_lines(t)) for t in rules]
    lines.append("*Every other repository* (the global settings): " + _terms_lines(default)[0])
    return Message(
        text=f"{len(rules)} owner rule(s){where}",
        blocks=[
            HeaderBlock(text=f"Owners ({len(rules)} rules)"),
            section(fit_lines("", lines, MAX_SECTION_TEXT)),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="The most specific pattern owns a repository: the longest "
                        "literal prefix, then the fewest wildcards, then the first rule. "
                        "`/registry owners REPO` says which one."
                    )
                ]
            ),
        ],
    )


def render_whoami(user: str, places: list[tuple[Terms, list[ApprovalPart], list[str]]]) -> Message:
    """Where ``user`` may approve: for each owner rule (or the global settings) they
    count for, which of its groups, and on which registries (when there are more)."""
    if not places:
        text = (
            f"{mention(user)}, you may not approve any deletion: you are neither a global "
            "approver nor one of an owner rule's. `/registry owners` says who is."
        )
        return Message(text=text, blocks=[section(text)])
    lines = []
    for terms, parts, registries in places:
        counted = " and ".join(
            ", ".join(mention(a) for a in part.approvers[:5]) or "the approvers" for part in parts
        )
        on = f" on {', '.join(f'*{escape(r)}*' for r in registries)}" if registries else ""
        lines.append(f"• {_rule_name(terms)}{on}: you count for {counted}")
    head = f"{mention(user)}, you may approve deletions under:"
    text = fit_lines(head, lines, MAX_SECTION_TEXT)
    return Message(text=text, blocks=[section(text)])
