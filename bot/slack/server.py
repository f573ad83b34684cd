"""Running the bot: HTTP mode under uvicorn (a production ASGI server, HTTP parsed by
httptools) serving ``/slack/events`` through Bolt's ASGI adapter, or Socket Mode when
``SLACK_APP_TOKEN`` is set.

``check_slack`` calls ``auth.test`` once before starting, so a wrong token stops the bot
with a clear message instead of failing on the first command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from slack_bolt.adapter.asgi.builtin import SlackRequestHandler as AsgiRequestHandler
from slack_sdk.errors import SlackApiError, SlackClientError

from ..config import Settings, SlackSettings
from .app import build_app
from .connections import guarded_protocol, raise_open_file_limit
from .context import BotContext
from .picker_names import start_names
from .registry_events import EVENTS_PATH as EVENTS_FEED_PATH
from .registry_events import RegistryEvents, header, reply
from .web import web_client
from .wiring import build_context
from .workers import WorkerProcess

log = logging.getLogger(__name__)
EVENTS_PATH = "/slack/events"
HEALTH_PATHS = ("/", "/healthz")
# Slack's largest payloads (a view submission with big blocks) are tens of kB.
MAX_BODY_BYTES = 1024 * 1024
# On SIGTERM, what is under way gets this long before the process exits (platforms wait
# 10 to 30 s before SIGKILL): an acknowledgement takes milliseconds, and a deletion
# stopped midway is resumed from the database by the next process.
GRACEFUL_SECONDS = 3


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


def _body_problem(method: str, length: str) -> tuple[int, str] | None:
    """Why a request's body is refused before it is read: Slack always sends a
    Content-Length, and its payloads are far below ``MAX_BODY_BYTES``. Anything else is
    answered without reading a byte, so an unsigned 200 MB POST costs nothing."""
    if method not in ("POST", "PUT", "PATCH"):
        return None
    length = length.strip()
    if not (length.isascii() and length.isdigit()):
        return 411, "a Content-Length is required"
    if int(length) > MAX_BODY_BYTES:
        return 413, "request body too large"
    return None


def asgi_app(bolt: Callable | None, events: Sequence[RegistryEvents] = ()) -> Callable:
    """The Bolt handler (None in Socket Mode) plus a health check for the platform's
    probes and, for each registry with an events token, its notifications endpoint,
    behind a check of the body's size on every path."""
    by_path = {path: endpoint for endpoint in events for path in endpoint.paths}

    async def application(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"]
        if method == "GET" and path in HEALTH_PATHS:
            await reply(send, 200, "ok")
            return
        endpoint = by_path.get(path)
        if endpoint is not None:
            await endpoint.asgi(scope, receive, send)  # it answers 400 to an oversized body
            return
        if bolt is None or path.startswith(EVENTS_FEED_PATH):
            await reply(send, 404, "not found")
            return
        problem = _body_problem(method, header(scope, b"content-length"))
        if problem is not None:
            await reply(send, *problem, close=True)
            return
        await bolt(scope, receive, send)

    return application


def _serve(app: Callable, settings: Settings) -> None:
    """uvicorn with httptools: HTTP parsed in C, one process, the registry cache shared.
    Bolt dispatches in the event loop (listeners only acknowledge and hand work to the
    bot's own pool); the events endpoint stores in a thread. Connections are held to
    the limits of ``connections``; on SIGTERM, requests under way get a few seconds."""
    import uvicorn

    assert settings.slack is not None
    uvicorn.run(
        app,
        host="0.0.0.0",
        port=settings.slack.port,
        http=guarded_protocol(raise_open_file_limit()),
        lifespan="off",
        log_level=settings.log_level.lower(),
        access_log=False,
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )


def _front(settings: Settings) -> BotContext:
    """This process's context: it acknowledges, stores the registry's events, and
    hands every job to the worker process (which also runs the sweeper)."""
    ctx = build_context(settings, sweeper=False)
    ctx.runner = WorkerProcess(ctx.responder)
    start_names(ctx)  # the pickers answer from here, never from the registry
    return ctx


def serve_http(settings: Settings) -> None:
    """Serve ``/slack/events`` (and the registry's events) on 0.0.0.0:$PORT."""
    slack = settings.slack
    assert slack is not None
    ctx = _front(settings)
    bolt = AsgiRequestHandler(build_app(slack, ctx), EVENTS_PATH)
    log.info("serving Slack requests at http://0.0.0.0:%d%s", slack.port, EVENTS_PATH)
    _serve(asgi_app(bolt, _events_endpoints(settings, ctx)), settings)


def _events_endpoints(settings: Settings, ctx: BotContext) -> list[RegistryEvents]:
    """Each registry's notifications endpoint, ``/registry/events/NAME``, with its own
    token (the first's also at ``/registry/events``), for those that have a token."""
    endpoints = []
    for i, entry in enumerate(settings.served):
        if not entry.events_token:
            continue
        paths = {f"{EVENTS_FEED_PATH}/{entry.name}"} | ({EVENTS_FEED_PATH} if i == 0 else set())
        room = ctx.serving(entry.name)
        endpoints.append(RegistryEvents(room.events, entry.events_token, room, frozenset(paths)))
    return endpoints


def serve_socket_mode(settings: Settings) -> None:
    """Connect to Slack over Socket Mode (no public URL needed). With
    REGISTRY_EVENTS_TOKEN set, also serve ``/registry/events`` (alone) on $PORT for the
    registry's notifications."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    slack = settings.slack
    assert slack is not None and slack.app_token is not None
    ctx = _front(settings)
    endpoints = _events_endpoints(settings, ctx)
    if not endpoints:
        log.info("connecting to Slack over Socket Mode")
        SocketModeHandler(build_app(slack, ctx), slack.app_token).start()
        return
    log.info("connecting to Slack over Socket Mode")
    SocketModeHandler(build_app(slack, ctx), slack.app_token).connect()
    log.info("serving the registry's events at http://0.0.0.0:%d%s", slack.port, EVENTS_FEED_PATH)
    _serve(asgi_app(None, endpoints), settings)
