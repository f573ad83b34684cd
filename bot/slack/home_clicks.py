"""What a click on the Home tab does: a vote, exactly as from the request's message
(the same checks, audit and compare-and-set, and the channel message is redrawn), and a
policy's Run now, as ``/registry policy run``. A Home has no ``response_url``: what the
clicker alone should read shows at the top of their Home, published again."""

from __future__ import annotations

from . import deleting, policy_runs
from .buttons import policy_of
from .command_table import PolicyAction, PolicyCommand
from .context import BotContext
from .home import publish_home
from .render import Message


class _Told:
    """What the bot would have said to the clicker alone, kept for their Home."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, message: Message) -> None:
        self.texts.append(message.text)

    def said(self, otherwise: str) -> str:
        return " ".join(self.texts) or otherwise


def vote(ctx: BotContext, request_id: str, user: str, approve: bool) -> None:
    """Approve or Reject from the Home; the Home is published again whatever came of it
    (the request leaves "Waiting on you" once voted on)."""
    told = _Told()
    deleting.vote(ctx, request_id, user, approve, "", clicked=None, tell=told)
    done = "Approved" if approve else "Rejected"
    publish_home(ctx, user, notice=told.said(f"{done} request {request_id}."))


def undo(ctx: BotContext, request_id: str, user: str) -> None:
    """Undo, on an executed deletion among the clicker's requests: a restore request,
    posted for approval where the deletion was, as Undo on its message does."""
    request = ctx.deletions.request(request_id)
    told = _Told()
    channel = request.channel if request is not None else ""
    deleting.undo(ctx, request_id, user, "", channel, tell=told)
    publish_home(ctx, user, notice=told.said(f"Asked to undo request {request_id}."))


def run_policy(ctx: BotContext, value: str, user: str) -> None:
    """Run now, on a policy of the Home (approvers only, as the command); ``value``:
    its name, after its registry's when there are several."""
    registry, name = policy_of(value)
    ctx = ctx.serving(registry)
    message = policy_runs.command_reply(ctx, PolicyCommand(PolicyAction.RUN, name), user)
    publish_home(ctx, user, notice=message.text)
