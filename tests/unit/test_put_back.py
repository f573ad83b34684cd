"""What a "Restore previous" button carries is checked before anything is asked of the
registry: a tampered or malformed value is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.events import Activity, ActivityKind
from bot.slack.buttons import PutBack
from bot.slack.render import check_message
from bot.slack.render.events import put_back_value, render_protected_alert

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64


def test_the_alert_carries_a_value_that_decodes_back():
    moved = Activity(NOW, ActivityKind.PUSH, "team/app", D2, "prod", D1, "ci", "docker/27")
    message = render_protected_alert(moved)
    check_message(message.to_dict())
    decoded = PutBack.decode(put_back_value(moved))
    assert (decoded.repository, decoded.tag, decoded.previous, decoded.current) == (
        "team/app",
        "prod",
        D1,
        D2,
    )
    deleted = Activity(NOW, ActivityKind.OUTSIDE_DELETE, "team/app", D1, "prod")
    assert "registry_put_back" not in str(render_protected_alert(deleted).to_dict())


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not json",
        json.dumps({"r": "team/app", "t": "prod", "p": D1}),
        json.dumps({"r": "Team/App", "t": "prod", "p": D1, "c": D2}),
        json.dumps({"r": "team/app", "t": "bad tag", "p": D1, "c": D2}),
        json.dumps({"r": "team/app", "t": "prod", "p": "<!channel>", "c": D2}),
        json.dumps(["team/app", "prod", D1, D2]),
    ],
)
def test_a_malformed_value_is_refused(value):
    with pytest.raises(ValueError):
        PutBack.decode(value)
