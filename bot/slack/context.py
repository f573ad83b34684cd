"""What every listener needs: the registry client, the responder, a clock, and the pool
that runs registry work after ``ack()``.

Listeners run inline (``process_before_response``), in the HTTP server's event loop
(uvicorn, through Bolt's ASGI adapter) or on Socket Mode's thread: one that did its
registry work there would hold up every other acknowledgement behind a slow registry.
So listeners acknowledge, hand the work to ``background`` and return.

Why not Bolt's lazy listeners (``ack=`` plus ``lazy=[...]`` on a larger
``listener_executor``)? They would acknowledge as fast: ``bench/capacity_bench.py``
measured the same acknowledgement times for 200 commands at once whichever way Bolt
runs the listener (median 138 and 146 ms, within the noise). But Bolt's lazy runner
neither catches a lazy function's exception nor passes it to ``@app.error``: it dies
in the executor, unseen, and the person who asked gets no answer. ``background`` logs
the crash and answers at the command's ``response_url``; never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_sdk import WebClient
from sqlalchemy.exc import SQLAlchemyError

from ..deletions import DeletionService
from ..events import EventFeed
from ..registry import RegistryClient
from .messages import SlackMessages
from .render.failures import render_database_unreachable, render_internal_error
from .web import Responder

log = logging.getLogger(__name__)
WORKERS = 32


def _now() -> datetime:
    return datetime.now(UTC)


def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bot-work")


@dataclass
class BotContext:
    registry: RegistryClient
    responder: Responder = field(default_factory=Responder)
    now: Callable[[], datetime] = _now
    pool: ThreadPoolExecutor = field(default_factory=_pool)
    web: WebClient | None = None
    deletions: DeletionService | None = None
    messages: SlackMessages | None = None
    approvers: list[str] = field(default_factory=list)
    approval_channel: str | None = None
    audit_channel: str | None = None
    events: EventFeed | None = None  # the registry's event feed (records and activity)

    @property
    def registry_url(self) -> str:
        return self.registry.display_url

    def background(
        self, work: Callable[[], None], what: str, response_url: str | None = None
    ) -> Future:
        """Run ``work`` after the acknowledgement. A crash is logged and, when there is a
        ``response_url``, the person who asked is told: never silence."""

        def run() -> None:
            try:
                work()
            except SQLAlchemyError as exc:
                log.error("%s failed: the database failed (%s)", what, exc)
                if response_url:
                    self.responder.send(response_url, render_database_unreachable())
            except Exception:
                log.exception("%s failed", what)
                if response_url:
                    self.responder.send(response_url, render_internal_error())

        return self.pool.submit(run)
