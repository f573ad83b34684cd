"""The Home tab's listeners: ``app_home_opened`` (Bolt acknowledges an event before the
listener runs) and the buttons on a Home view (acknowledged first). Each hands its work
over as a job: the Home is drawn from the database and the registry's records, never
while Slack waits."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext

from ..buttons import (
    ACTION_HOME_APPROVE,
    ACTION_HOME_REJECT,
    ACTION_HOME_RUN_POLICY,
    ACTION_HOME_UNDO,
)
from ..jobs import HomeClick, Job, JobKind
from .actions import REQUEST_ID_LIMIT, bot_of

log = logging.getLogger(__name__)
Body = dict[str, Any]
POLICY_NAME_LIMIT = 200
HASH_LIMIT = 200


def on_home_opened(event: Body, context: BoltContext) -> None:
    """The Home tab opened (not the Messages tab): publish the opener's view."""
    if event.get("tab", "home") != "home":
        return
    user = str(event.get("user") or "")
    if not user:
        return
    view = event.get("view") or {}
    view_hash = str(view.get("hash") or "")[:HASH_LIMIT] if isinstance(view, dict) else ""
    job = Job(JobKind.HOME_OPENED, HomeClick(view_hash, user), f"home of {user}")
    bot_of(context).background(job)


def _home_click(kind: JobKind, limit: int, body: Body, action: Body, context: BoltContext) -> None:
    value = str(action.get("value") or "")[:limit]
    user = str((body.get("user") or {}).get("id") or "")
    if not value or not user:
        log.warning("ignored a Home button without a value or a user")
        return
    bot_of(context).background(Job(kind, HomeClick(value, user), f"{kind} {value[:64]}"))


def on_home_approve(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Approve, on the Home tab."""
    ack()
    _home_click(JobKind.HOME_APPROVE, REQUEST_ID_LIMIT, body, action, context)


def on_home_reject(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Reject, on the Home tab."""
    ack()
    _home_click(JobKind.HOME_REJECT, REQUEST_ID_LIMIT, body, action, context)


def on_home_run_policy(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Run now, on a policy of the Home tab."""
    ack()
    _home_click(JobKind.HOME_RUN_POLICY, POLICY_NAME_LIMIT, body, action, context)


def on_home_undo(ack: Ack, body: Body, action: Body, context: BoltContext) -> None:
    """Undo, on one of the clicker's requests on the Home tab."""
    ack()
    _home_click(JobKind.HOME_UNDO, REQUEST_ID_LIMIT, body, action, context)


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)
    app.action(ACTION_HOME_APPROVE)(on_home_approve)
    app.action(ACTION_HOME_REJECT)(on_home_reject)
    app.action(ACTION_HOME_RUN_POLICY)(on_home_run_policy)
    app.action(ACTION_HOME_UNDO)(on_home_undo)
