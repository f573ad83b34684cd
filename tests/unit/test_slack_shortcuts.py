"""The Inspect images shortcut, unit tier: the listener acknowledges and hands over the
text the message shows (its blocks' too); the reply shows the images found, names the
rest and other registries' apart, and says when there are none."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.slack import browse_replies
from bot.slack.jobs import Inspect, JobKind
from bot.slack.listeners import shortcuts
from testkit.fake_registry import FakeRegistry
from testkit.slack_fakes import Ack, bot_context, close

URL = "https://hooks.example/response/9"


@pytest.fixture
def fake() -> FakeRegistry:
    fake = FakeRegistry()
    for i in range(5):
        fake.push(f"team/app{i}", ["1.0"], f"image {i}")
    return fake


@pytest.fixture
def ctx(tmp_path, fake) -> Iterator:
    made = bot_context(f"sqlite:///{tmp_path / 'shortcut.db'}", fake.client())
    yield made
    close(made)


def test_the_listener_hands_over_what_the_message_shows(ctx):
    ack = Ack()
    message = {
        "text": "deployed",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "team/app0:1.0"}}],
        "attachments": [{"fields": [{"title": "image", "text": "team/app1:1.0"}]}],
    }
    shortcut = {"user": {"id": "U1"}, "response_url": URL, "message": message}
    shortcuts.on_inspect_images(ack, shortcut, {"bot": ctx})
    assert ack.calls == [{}]
    (job,) = ctx.runner.jobs
    assert job.kind == JobKind.INSPECT and job.work.user == "U1"
    assert job.work == Inspect("deployed\nteam/app0:1.0\nteam/app1:1.0", "U1", URL)


def test_the_reply_shows_the_first_images_and_names_the_rest(ctx, fake):
    host = ctx.registry_url.split("://", 1)[1]
    text = " ".join(f"{host}/team/app{i}:1.0" for i in range(5)) + " quay.io/x/y:2"
    reply = browse_replies.inspect(ctx, text)
    said = str([b.to_dict() for b in reply.blocks])
    for i in range(3):
        assert fake.repositories[f"team/app{i}"].tags["1.0"] in said
    assert "`team/app3:1.0`, `team/app4:1.0`" in said and "`quay.io/x/y:2`" in said
    reply.to_dict()  # within Block Kit's limits
    none = browse_replies.inspect(ctx, "nothing here")
    assert none.text == "No image references found."
    missing = browse_replies.inspect(ctx, "team/gone:1.0")
    assert "gone" in str([b.to_dict() for b in missing.blocks])
