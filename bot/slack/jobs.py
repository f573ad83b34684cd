"""The work that follows an acknowledgement, as a job of plain data.

A listener acknowledges, then hands over a ``Job``: what to do (its kind) and with what
(the command's fields, a button's value, who clicked, an ingest's result), never a
closure over this process's objects. So the work can run in another process than the
one that acknowledges (see ``workers``): under a burst of commands, their registry work
and its CPU never hold up the next acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobKind(StrEnum):
    """What a job does; its ``args`` are the named function's, after the context."""

    COMMAND = "command"  # (the command's fields,): the reply to /registry ...
    PAGE = "page"  # (a Prev/Next button's value, response_url)
    SUBMIT = "submit"  # (request_id, user, response_url, as_untag)
    CANCEL = "cancel"  # (request_id, user, response_url)
    UNUSED_LAYERS = "unused layers"  # (deleted_id, user, response_url, channel)
    UNDO = "undo"  # (deleted_id, user, response_url, channel)
    PUT_BACK = "put back"  # (button value, user, response_url, channel)
    VOTE = "vote"  # (request_id, user, approve, response_url, (channel, ts) clicked)
    REGISTRY_EVENTS = "registry events"  # (IngestResult,): what the channel should see


# Jobs that may carry a request out (a cleanup: minutes): they run on workers of their
# own, so the follow-ups of other clicks and commands never wait behind them.
LONG_KINDS = frozenset({JobKind.VOTE})


@dataclass(frozen=True)
class Job:
    """One piece of work after an acknowledgement. ``what`` names it in the log;
    ``response_url`` is told when it crashes (never silence)."""

    kind: JobKind
    args: tuple[Any, ...]
    what: str
    response_url: str | None = None
