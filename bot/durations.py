"""Durations as people write them in settings and commands: ``90s``, ``15m``, ``24h``,
``7d``, from one second to ``MAX_DAYS`` days (a date that far back or ahead still fits
every calendar computation; 999999999d did not, and made ``now - duration`` overflow)."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_RE = re.compile(r"\s*([0-9]{1,9})\s*([smhd])\s*", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MAX_DAYS = 36_500  # a hundred years


def parse_duration(text: str) -> timedelta:
    """``90s`` -> 90 seconds. ValueError, saying the accepted forms, otherwise."""
    match = _DURATION_RE.fullmatch(text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration: write a positive number and a unit, like 90s, "
            "15m, 24h or 7d (at most 9 digits)"
        )
    value = timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})
    if value > timedelta(days=MAX_DAYS):
        raise ValueError(
            f"{text.strip()!r} is longer than {MAX_DAYS}d (a hundred years), the longest "
            "duration taken; write a shorter one, like 90s, 15m, 24h or 7d"
        )
    return value
