"""Connection settings of the registry layer (filled from the environment by bot.config)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_URL = "http://localhost:5000"


@dataclass(frozen=True)
class RegistrySettings:
    """How to reach one registry. ``password`` never shows in ``repr``."""

    url: str = DEFAULT_URL
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    insecure: bool = False
    timeout: float = 10.0
    concurrency: int = 24
    retries: int = 3
    cache_bytes: int = 64 * 1024 * 1024
    # Caps on following a paged list (a registry that always sends another page).
    list_max_pages: int = 2000
    list_max_entries: int = 250_000
    list_max_seconds: float = 120.0
