"""Running the bot: HTTP mode under gunicorn (a production WSGI server) serving
``/slack/events``, or Socket Mode when ``SLACK_APP_TOKEN`` is set.

``check_slack`` calls ``auth.test`` once before starting, so a wrong token stops the bot
with a clear message instead of failing on the first command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from gunicorn.app.base import BaseApplication
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from ..config import Settings, SlackSettings
from ..deletions import ApproverPolicy, DeletionService, open_store
from ..deletions.retention import RepoUsage
from ..events import EventFeed
from ..events.store import EventStore
from ..registry import RegistryClient
from ..registry.client import USER_AGENT
from .app import build_app
from .context import BotContext
from .deleting import start_sweeper
from .messages import SlackMessages
from .registry_events import EVENTS_PATH as EVENTS_FEED_PATH
from .registry_events import RegistryEvents
from .web import web_client

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATHS = ("/", "/healthz")
# Slack's largest payloads (a view submission with big blocks) are tens of kB.
MAX_BODY_BYTES = 1024 * 1024
THREADS = 16


class SlackUnavailable(RuntimeError):
    """``auth.test`` failed: the message says why and what to do."""


def check_slack(slack: SlackSettings) -> str:
    """Verify the bot token with ``auth.test``; returns the bot's user ID."""
    client = web_client(slack.bot_token, slack.api_url)
    try:
        result = client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "unknown"
        raise SlackUnavailable(
            f"Slack refused SLACK_BOT_TOKEN ({error}). Copy the Bot User OAuth Token "
            "(xoxb-...) from your app's OAuth & Permissions page, and reinstall the app "
            "if its scopes changed."
        ) from None
    except (SlackClientError, OSError) as exc:
        raise SlackUnavailable(
            f"Slack's Web API at {slack.api_url} could not be reached "
            f"({type(exc).__name__}). Check the network, or SLACK_API_URL."
        ) from None
    return str(result.get("user_id") or "")


def _body_problem(env: dict) -> tuple[str, bytes] | None:
    """Why a request's body is refused before it is read: Slack always sends a
    Content-Length, and its payloads are far below ``MAX_BODY_BYTES``. Anything else is
    answered without reading a byte, so an unsigned 200 MB POST costs nothing."""
    if env.get("REQUEST_METHOD") not in ("POST", "PUT", "PATCH"):
        return None
    length = str(env.get("CONTENT_LENGTH") or "").strip()
    if not length.isdigit():
        return "411 Length Required", b"a Content-Length is required\n"
    if int(length) > MAX_BODY_BYTES:
        return "413 Content Too Large", b"request body too large\n"
    return None


def wsgi_app(handler: Callable | None, events: Callable | None = None) -> Callable:
    """The Bolt handler (None in Socket Mode) plus a health check for the platform's
    probes and, when REGISTRY_EVENTS_TOKEN is set, the registry's notifications
    endpoint, behind a check of the body's size on every path."""

    def application(env: dict, start_response: Callable) -> Iterable[bytes]:
        if env.get("REQUEST_METHOD") == "GET" and env.get("PATH_INFO") in HEALTH_PATHS:
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if env.get("PATH_INFO") == EVENTS_FEED_PATH and events is not None:
            return events(env, start_response)  # it answers 400 to an oversized body
        if handler is None or (events is None and env.get("PATH_INFO") == EVENTS_FEED_PATH):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        problem = _body_problem(env)
        if problem is not None:
            status, body = problem
            start_response(
                status,
                [("Content-Type", "text/plain"), ("Connection", "close")],
            )
            return [body]
        return handler(env, start_response)

    return application


class _Gunicorn(BaseApplication):
    def __init__(self, factory: Callable[[], Callable], options: dict) -> None:
        self.factory = factory
        self.options = options
        super().__init__()

    @staticmethod
    def known_settings() -> set[str]:
        from gunicorn.config import KNOWN_SETTINGS

        return {s.name for s in KNOWN_SETTINGS}

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable:
        return self.factory()


def _context(settings: Settings) -> BotContext:
    """Everything the listeners share, built once per process (after gunicorn forks)."""
    assert settings.slack is not None
    web = web_client(settings.slack.bot_token, settings.slack.api_url)
    registry = RegistryClient(settings.registry)
    d = settings.deletions

    def group_members(group: str) -> list[str]:
        return list(web.usergroups_users_list(usergroup=group).get("users") or [])

    store = open_store(d.database_url)
    event_store = EventStore(store.engine)
    event_store.ensure_schema()

    def usage(repository: str) -> RepoUsage:
        """Push and pull times the registry's events told, for cleanups."""
        pushes = event_store.tag_records(repository)
        pulls = event_store.pull_stats(repository)
        return RepoUsage(
            {t: (r.digest, r.pushed_at) for t, r in pushes.items()},
            {d: p.last_pulled_at for d, p in pulls.items()},
        )

    service = DeletionService(
        store,
        registry,
        ApproverPolicy(d.approver_users, d.approver_groups, group_members),
        approvals_required=d.approvals_required,
        ttl=d.ttl,
        protected=d.protected_tags,
        lease=d.execution_lease,
        undo_retention=d.undo_retention,
        usage=usage,
    )
    messages = SlackMessages(service.store.engine)
    messages.ensure_schema()
    feed = EventFeed(
        event_store,
        explains=service.explains_deletion,
        own_agent=USER_AGENT.split("/")[0] + "/",
        protected=d.protected_tags,
    )
    ctx = BotContext(
        registry=registry,
        web=web,
        deletions=service,
        messages=messages,
        approvers=list(d.approvers),
        approval_channel=d.approval_channel,
        audit_channel=d.audit_channel,
        events=feed,
    )
    # Sweep often enough that a short APPROVAL_TTL expires on time, and an interrupted
    # execution is settled soon after its lease runs out.
    often = min(d.ttl.total_seconds() / 4, d.execution_lease.total_seconds() / 2)
    start_sweeper(ctx, interval=min(30.0, max(0.5, often)))
    return ctx


def serve_http(settings: Settings) -> None:
    """Serve ``/slack/events`` on 0.0.0.0:$PORT with gunicorn (one process, threads, so
    the registry cache is shared)."""
    slack = settings.slack
    assert slack is not None

    def factory() -> Callable:
        ctx = _context(settings)
        return wsgi_app(
            SlackRequestHandler(build_app(slack, ctx), EVENTS_PATH), _events_endpoint(settings, ctx)
        )

    log.info("serving Slack requests at http://0.0.0.0:%d%s", slack.port, EVENTS_PATH)
    _Gunicorn(factory, _gunicorn_options(settings)).run()


def _gunicorn_options(settings: Settings) -> dict:
    assert settings.slack is not None
    options = {
        "bind": f"0.0.0.0:{settings.slack.port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": 60,
        "graceful_timeout": 10,
        "loglevel": settings.log_level.lower(),
        "errorlog": "-",
        "accesslog": None,
        "proc_name": "registry-bot",
    }
    if "control_socket_disable" in _Gunicorn.known_settings():
        options["control_socket_disable"] = True  # gunicorn >= 27: no socket in $HOME
    return options


def _events_endpoint(settings: Settings, ctx: BotContext) -> RegistryEvents | None:
    """The registry's notifications endpoint, when REGISTRY_EVENTS_TOKEN is set."""
    if not settings.events.token or ctx.events is None:
        return None
    return RegistryEvents(ctx.events, settings.events.token, ctx, settings.events.channel)


def serve_socket_mode(settings: Settings) -> None:
    """Connect to Slack over Socket Mode (no public URL needed). With
    REGISTRY_EVENTS_TOKEN set, also serve ``/registry/events`` (alone) on $PORT for the
    registry's notifications, under gunicorn."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    slack = settings.slack
    assert slack is not None and slack.app_token is not None
    if not settings.events.token:
        app = build_app(slack, _context(settings))
        log.info("connecting to Slack over Socket Mode")
        SocketModeHandler(app, slack.app_token).start()
        return

    def factory() -> Callable:
        ctx = _context(settings)
        log.info("connecting to Slack over Socket Mode")
        SocketModeHandler(build_app(slack, ctx), slack.app_token).connect()
        return wsgi_app(None, _events_endpoint(settings, ctx))

    log.info("serving the registry's events at http://0.0.0.0:%d%s", slack.port, EVENTS_FEED_PATH)
    _Gunicorn(factory, _gunicorn_options(settings)).run()
