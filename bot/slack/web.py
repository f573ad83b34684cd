"""Clients for Slack's Web API and for ``response_url``, with slack_sdk's retry handlers:
rate limits (429, honouring ``Retry-After``), server errors (500/503) and connection
errors are retried.

Both share one TLS context: without it, ``urllib`` builds a new one (loading the CA
store, about 20 ms of CPU) for every reply posted to an ``https`` response_url.
"""

from __future__ import annotations

import logging
import ssl
from functools import cache

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.webhook import WebhookClient

from .render import Message

log = logging.getLogger(__name__)


def retry_handlers() -> list[RetryHandler]:
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


@cache
def tls_context() -> ssl.SSLContext:
    """The system's default verification, built once and shared by every client."""
    return ssl.create_default_context()


def web_client(token: str, api_url: str) -> WebClient:
    """A WebClient for ``api_url`` (Slack's, GovSlack's, a proxy's) that retries."""
    return WebClient(
        token=token,
        base_url=api_url,
        retry_handlers=retry_handlers(),
        timeout=15,
        ssl=tls_context(),
    )


class Responder:
    """Posts replies to a ``response_url``: ephemeral, optionally replacing the message
    the button was clicked on (paging edits the listing in place)."""

    def send(self, response_url: str, message: Message, *, replace_original: bool = False) -> bool:
        payload = message.to_dict()
        payload["response_type"] = "ephemeral"
        if replace_original:
            payload["replace_original"] = True
        client = WebhookClient(
            url=response_url, retry_handlers=retry_handlers(), timeout=15, ssl=tls_context()
        )
        try:
            response = client.send_dict(payload)
        except Exception as exc:  # network failures after the retries
            log.error("reply to response_url failed: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.error(
                "reply to response_url refused: HTTP %s %s",
                response.status_code,
                (response.body or "")[:200],
            )
            return False
        return True
