"""HTTP helpers of the registry protocol: URL redaction, origins, the headers the
registry speaks in (``WWW-Authenticate``, ``Retry-After``, ``Link``), and reading the
JSON bodies it sends.

Pure functions over strings and ``httpx`` objects; no requests are sent here.
"""

from __future__ import annotations

import json
import re
import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx


def redact_url(url: str | httpx.URL) -> str:
    """``url`` without user info, query string or fragment, safe for messages and logs."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, port


_AUTH_PARAM_RE = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def load_json(body: bytes | str) -> Any:
    """``json.loads`` for bodies from outside: JSON nested too deeply for the parser
    (it raises RecursionError) is a ValueError, like any other malformed JSON."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def parse_www_authenticate(header: str) -> tuple[str, dict[str, str]]:
    """Split ``Bearer realm="...",service="..."`` into ("bearer", {"realm": ..., ...})."""
    scheme, _, rest = header.strip().partition(" ")
    params = {
        m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
        for m in _AUTH_PARAM_RE.finditer(rest)
    }
    return scheme.lower(), params


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (a number or an HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


_LINK_RE = re.compile(r"<([^>]*)>\s*((?:;\s*[^,;]+)*)")
_REL_RE = re.compile(r';\s*rel\s*=\s*"?([^";]+)"?', re.IGNORECASE)


def parse_next_link(header: str | None) -> str | None:
    """The target of the ``rel="next"`` entry of a Link header, or None."""
    if not header:
        return None
    for match in _LINK_RE.finditer(header):
        rels = _REL_RE.findall(match.group(2) or "")
        if any("next" in rel.split() for rel in rels):
            return match.group(1).strip()
    return None
