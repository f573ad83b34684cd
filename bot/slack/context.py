"""What every listener needs: the registry client, the responder and a clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..registry import RegistryClient
from .web import Responder


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotContext:
    registry: RegistryClient
    responder: Responder = field(default_factory=Responder)
    now: Callable[[], datetime] = _now

    @property
    def registry_url(self) -> str:
        return self.registry.display_url
