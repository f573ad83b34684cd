"""Sizes as people read them, shared by every front end and report."""

from __future__ import annotations


def human_size(size: int | None) -> str:
    """Bytes in decimal units, as the docker CLI shows them (``2.1 MB``)."""
    if size is None:
        return "size unknown"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
