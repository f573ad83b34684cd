"""Work after the acknowledgement: a crash is logged and answered, never silent."""

from bot.registry import RegistryClient, RegistrySettings
from bot.slack.context import BotContext
from testkit.slack_standin import SlackStandIn


def test_a_crash_in_background_work_is_answered():
    standin = SlackStandIn().start()
    ctx = BotContext(registry=RegistryClient(RegistrySettings()))
    try:
        future = ctx.background(
            lambda: 1 / 0, "a failing job", response_url=standin.response_url("crash")
        )
        future.result(timeout=20)
        reply = standin.wait_response("crash").body
        assert "internal error" in reply["text"] and "ZeroDivisionError" not in str(reply)
        assert reply["response_type"] == "ephemeral"
    finally:
        ctx.registry.close()
        standin.stop()
