"""Posting a shared reply once: the copy goes to the channel, the private reply it came
from is replaced by a note, and a burst of identical clicks posts it once (a key seen
within the last minute is refused; per process: the worker runs these jobs)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable

from slack_sdk.errors import SlackApiError

from .context import BotContext
from .render import Message
from .render.deletions import render_notice
from .render.sharing import render_shared


class Once:
    def __init__(self, within: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.within = within
        self.clock = clock
        self._seen: dict[Hashable, float] = {}
        self._lock = threading.Lock()

    def first(self, key: Hashable) -> bool:
        """True for the first call with ``key`` within ``within`` seconds."""
        now = self.clock()
        with self._lock:
            for old, at in list(self._seen.items()):
                if now - at > self.within:
                    del self._seen[old]
            if key in self._seen:
                return False
            self._seen[key] = now
            return True

    def forget(self, key: Hashable) -> None:
        """``key`` may be done again (what it did failed)."""
        with self._lock:
            self._seen.pop(key, None)


SHARES = Once()  # (user, button value) of the shares posted lately


def post_once(
    ctx: BotContext,
    key: tuple[str, str],
    make: Callable[[], Message],
    channel: str,
    response_url: str,
    what: str = "it",
) -> None:
    """Post ``make()`` to ``channel`` unless ``key`` (who, which button) was posted
    lately; then replace the private reply at ``response_url`` with a note. A post Slack
    refuses is said there, and may be tried again."""
    if not SHARES.first(key):
        return  # a second click: posted already
    try:
        ctx.web.chat_postMessage(channel=channel, **make().to_dict())
    except SlackApiError as exc:
        error = exc.response.get("error") if exc.response is not None else "unknown"
        SHARES.forget(key)
        ctx.responder.send(
            response_url,
            render_notice(
                f"Slack refused to post {what} in this channel ({error}). Invite me with "
                "/invite @registry-bot, then click Share in channel again."
            ),
        )
        return
    ctx.responder.send(response_url, render_shared(channel, what), replace_original=True)
