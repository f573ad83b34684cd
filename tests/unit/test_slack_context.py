"""Work after the acknowledgement: a crash is logged and answered, never silent."""

from bot.registry import RegistryClient, RegistrySettings
from bot.slack.jobs import Command, Job, JobKind, Page
from bot.slack.web import Responder
from bot.slack.workers import InProcess
from testkit.slack_fakes import bot_context
from testkit.slack_standin import SlackStandIn


def _context(tmp_path, url: str = "http://localhost:5000"):
    """A context whose replies go to Slack's stand-in over HTTP."""
    ctx = bot_context(f"sqlite:///{tmp_path / 'ctx.db'}", RegistryClient(RegistrySettings(url=url)))
    ctx.responder = Responder()
    return ctx


def test_a_crash_in_background_work_is_answered(tmp_path):
    standin = SlackStandIn().start()
    ctx = _context(tmp_path)
    runner = InProcess(ctx)
    try:
        # A page button whose value the front end let through but can't be decoded.
        url = standin.response_url("crash")
        future = runner.submit(Job(JobKind.PAGE, Page("not-a-page", url), "a failing job", url))
        future.result(timeout=20)
        reply = standin.wait_response("crash").body
        assert "internal error" in reply["text"] and "ValueError" not in str(reply)
        assert reply["response_type"] == "ephemeral"
    finally:
        ctx.registry.close()
        standin.stop()


def test_a_database_failure_in_background_work_is_said_as_such(tmp_path):
    from sqlalchemy.exc import OperationalError

    standin = SlackStandIn().start()
    ctx = _context(tmp_path)

    class Down:
        def pending(self):
            raise OperationalError("SELECT", {}, Exception("connection refused"))

    ctx.deletions = Down()  # type: ignore[assignment]
    try:
        url = standin.response_url("db")
        fields = {"text": "pending", "response_url": url, "user_id": "U1", "channel_id": "C1"}
        InProcess(ctx).submit(Job(JobKind.COMMAND, Command(fields), "pending", url)).result(20)
        reply = standin.wait_response("db").body
        assert "database can't be reached" in reply["text"], reply
    finally:
        ctx.registry.close()
        standin.stop()


def test_a_listener_that_raises_is_answered_by_the_error_handler(tmp_path):
    """Bolt's @app.error: a malformed button body makes the listener fail after its
    acknowledgement; the person is told, and nothing is left hanging."""
    import json
    import time
    from urllib.parse import urlencode

    from slack_bolt.request import BoltRequest

    from bot.config import SlackSettings
    from bot.slack.app import build_app
    from testkit.slack_requests import SIGNING_SECRET, sign

    class Replies:
        def __init__(self) -> None:
            self.sent: list[tuple[str, str]] = []

        def send(self, url, message, *, replace_original=False) -> bool:
            self.sent.append((url, message.text))
            return True

    replies = Replies()
    from slack_sdk import WebClient

    ctx = _context(tmp_path, "http://127.0.0.1:9")
    ctx.responder = replies  # type: ignore[assignment]
    ctx.web = WebClient(token="xoxb-test", base_url="http://127.0.0.1:9/")  # Bolt wants one
    settings = SlackSettings(
        bot_token="xoxb-test", signing_secret=SIGNING_SECRET, api_url="http://127.0.0.1:9/"
    )
    app = build_app(settings, ctx)
    payload = {
        "type": "block_actions",
        "team": {"id": "T1"},
        "user": None,  # malformed: the listener fails reading the user
        "api_app_id": "A1",
        "container": {"type": "message"},
        "response_url": "https://hooks.example/response/1",
        "actions": [{"action_id": "deletion_submit", "value": "abc", "type": "button"}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    ts = int(time.time())
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": sign(body, ts, SIGNING_SECRET),
    }
    app.dispatch(BoltRequest(body=body, headers=headers))
    deadline = time.monotonic() + 5
    while not replies.sent and time.monotonic() < deadline:
        time.sleep(0.01)
    assert replies.sent == [
        (
            "https://hooks.example/response/1",
            "registry-bot hit an internal error; it is in the bot's log.",
        )
    ]
    ctx.registry.close()
