"""Patterns people write: regular expressions (``--match``, ``--exclude``,
``PROTECTED_TAGS``) and globs (listing filters, cleanup repository patterns), all matched
by RE2, in time linear in the text whatever the pattern.

Python's ``re`` backtracks, and holds the interpreter lock while it does:
``([a-z0-9-]+)+#`` against three 47-character branch tags froze the whole bot (no
acknowledgement, no health check, no SIGTERM) for as long as anyone watched. RE2 (the
engine GitLab's cleanup policies use) never backtracks, and so refuses what needs it:
backreferences, lookahead and lookbehind, atomic groups, possessive quantifiers,
conditionals, and repetition counts above 1000. ``PatternError`` says which, in words.

No room of the bot owns this module: the registry's listings, the deletion rules, the
event feed and the settings all match through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import re2

MAX_PATTERN = 200  # characters: as long as anyone types, short enough to read back
_MAX_MEMORY = 8 << 20  # RE2's budget per compiled pattern (its default, said aloud)

# RE2 names a refused (?…) group by its first characters only ("(?P" for "(?P=name)"):
# which construct it was is read from the pattern itself, first match wins.
_GROUPS: tuple[tuple[str, str], ...] = (
    ("(?P=", "backreferences (?P=name) are not supported"),
    ("(?P>", "recursion (?P>name) is not supported"),
    ("(?<=", "lookbehind (?<=…) is not supported"),
    ("(?<!", "negative lookbehind (?<!…) is not supported"),
    ("(?=", "lookahead (?=…) is not supported"),
    ("(?!", "negative lookahead (?!…) is not supported"),
    ("(?>", "atomic groups (?>…) are not supported"),
    ("(?(", "conditionals (?(…)…) are not supported"),
    ("(?#", "comments (?#…) are not supported"),
)
# Other refusals, from what RE2 answers; first match wins.
_REFUSED: tuple[tuple[str, str], ...] = (
    ("invalid perl operator", "that (?…) group is not supported"),
    ("bad repetition operator: ++", "possessive quantifiers (++, *+, ?+) are not supported"),
    ("bad repetition operator: *+", "possessive quantifiers (++, *+, ?+) are not supported"),
    ("bad repetition operator: ?+", "possessive quantifiers (++, *+, ?+) are not supported"),
    ("bad repetition operator", "a repetition operator follows nothing it can repeat"),
    ("invalid repetition size", "repetition counts above 1000 are not supported"),
    ("missing argument to repetition operator", "a repetition operator follows nothing"),
    ("missing ): ", "a ( is never closed"),
    ("unexpected ): ", "a ) closes nothing"),
    ("missing ]: ", "a [ is never closed"),
    ("invalid character class range", "a character range runs backwards"),
    ("invalid escape sequence: \\Z", "\\Z is not supported (write \\z or $)"),
    ("pattern too large", "the expression is too large to run"),
)
_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[1-9]")
SYNTAX = (
    "RE2 syntax, as in Python's re except: no backreferences (\\1), lookaround ((?=…), "
    "(?<=…)), atomic groups or possessive quantifiers"
)


class PatternError(ValueError):
    """A pattern that can't be used; ``reason`` says why in words (the syntax refused)."""

    def __init__(self, pattern: str, reason: str) -> None:
        super().__init__(f"{pattern!r}: {reason}")
        self.pattern = pattern
        self.reason = reason


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern. ``pattern`` is the text it was made from (for people: what
    was typed, or the glob)."""

    pattern: str
    _compiled: Any = field(repr=False, compare=False)

    def search(self, text: str) -> bool:
        """Whether the pattern matches somewhere in ``text``."""
        return self._compiled.search(text) is not None

    def fullmatch(self, text: str) -> bool:
        """Whether the pattern matches the whole of ``text``."""
        return self._compiled.fullmatch(text) is not None


def _options(ignore_case: bool = False) -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 writes every refusal to stderr otherwise
    options.max_mem = _MAX_MEMORY
    options.case_sensitive = not ignore_case
    return options


def _reason(error: Exception, source: str) -> str:
    raw = error.args[0] if error.args else ""
    said = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    if _BACKREFERENCE.search(said):
        return "backreferences (\\1, \\2…) are not supported"
    if "invalid perl operator" in said:
        for construct, reason in _GROUPS:
            if construct in source:
                return reason
    for fragment, reason in _REFUSED:
        if fragment in said:
            return reason
    return said or "not a regular expression"


def _compile(source: str, shown: str, ignore_case: bool = False) -> Pattern:
    try:
        return Pattern(shown, re2.compile(source, options=_options(ignore_case)))
    except re2.error as exc:
        raise PatternError(shown, _reason(exc, source)) from None


def compile_regex(text: str) -> Pattern:
    """A regular expression as a person wrote it, in RE2's syntax (``SYNTAX``);
    PatternError says what is refused and why."""
    if len(text) > MAX_PATTERN:
        raise PatternError(text[:40] + "…", f"longer than {MAX_PATTERN} characters")
    return _compile(text, text)


def glob_pattern(glob: str, *, segments: bool, ignore_case: bool = False) -> Pattern:
    """A glob as a matcher of whole names. With ``segments`` (repository patterns),
    ``*`` and ``?`` stay within one path segment and ``**`` crosses them (``team/*`` is
    team's own repositories, ``ci/**`` everything under ci); without (listing filters),
    ``*`` matches anything, and ``[abc]`` / ``[!abc]`` are sets, as in fnmatch."""
    if len(glob) > MAX_PATTERN:
        raise PatternError(glob[:40] + "…", f"longer than {MAX_PATTERN} characters")
    out, i = [], 0
    any_char, star = ("[^/]", "[^/]*") if segments else (".", ".*")
    while i < len(glob):
        char = glob[i]
        if segments and glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append(star)
        elif char == "?":
            out.append(any_char)
        elif char == "[" and not segments and (end := _set_end(glob, i)) > 0:
            out.append(_set(glob, i, end))
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return _compile("(?s)" + "".join(out), glob, ignore_case)


def _set_end(glob: str, start: int) -> int:
    """Where the set opened at ``start`` closes (fnmatch's rules: a ``]`` right after
    ``[`` or ``[!`` is a member), or -1 when it never does (the ``[`` is literal)."""
    j = start + 1
    if j < len(glob) and glob[j] == "!":
        j += 1
    if j < len(glob) and glob[j] == "]":
        j += 1
    end = glob.find("]", j)
    return end


def _set(glob: str, start: int, end: int) -> str:
    """The set ``glob[start:end + 1]`` (``[...]``) as an RE2 class, by fnmatch's own
    rules: ``!`` first negates, ``a-z`` is a range, and a range that runs backwards is
    dropped (an empty set matches nothing, an empty negated one any character)."""
    i, j = start + 1, end
    negate = glob[i] == "!"
    if "-" not in glob[i:j]:
        chunks = [glob[i:j]]
    else:
        chunks = []
        k = i + 2 if negate else i + 1
        while (k := glob.find("-", k, j)) >= 0:
            chunks.append(glob[i:k])
            i, k = k + 1, k + 3
        if glob[i:j]:
            chunks.append(glob[i:j])
        else:
            chunks[-1] += "-"
        for k in range(len(chunks) - 1, 0, -1):  # ranges that run backwards
            if chunks[k - 1][-1] > chunks[k][0]:
                chunks[k - 1] = chunks[k - 1][:-1] + chunks[k][1:]
                del chunks[k]
    if negate:
        chunks[0] = chunks[0][1:]
    body = "-".join("".join(re.escape(c) for c in chunk) for chunk in chunks)
    if not body:
        return "." if negate else "[^\\x00-\\x{10FFFF}]"
    return f"[{'^' if negate else ''}{body}]"
