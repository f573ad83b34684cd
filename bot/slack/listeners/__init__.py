"""Bolt listeners, grouped by kind: slash commands and block actions."""

from slack_bolt import App

from ..context import BotContext
from . import actions, commands


def register(app: App, ctx: BotContext) -> None:
    commands.register(app, ctx)
    actions.register(app, ctx)
