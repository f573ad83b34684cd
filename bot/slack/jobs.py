"""The work that follows an acknowledgement, as a job of plain data.

A listener acknowledges, then hands over a ``Job``: what to do (its kind) and with what
(the command's fields, a button's value, who clicked, an ingest's result), never a
closure over this process's objects. So the work can run in another process than the
one that acknowledges (see ``workers``): under a burst of commands, their registry work
and its CPU never hold up the next acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..events import IngestResult
from .render.builder import BuilderFields, BuilderPlace
from .render.deletion_form import FormFields, FormPlace


class JobKind(StrEnum):
    """What a job does (with what: its ``work``, one of the records below)."""

    COMMAND = "command"  # Command: the reply to /registry ...
    PAGE = "page"  # Page: a Prev/Next button
    OPEN_REQUEST = "open request"  # ModalOpen: Request deletion clicked: the modal
    OPEN_BUILDER = "open builder"  # BuilderOpen: the cleanup builder (a modal)
    BUILDER_PREVIEW = "builder preview"  # BuilderClick: Preview, in the builder
    BUILDER_SUBMIT = "builder submit"  # BuilderClick: Request cleanup, in the builder
    OPEN_FORM = "open form"  # FormOpen: the deletion form (a modal)
    FORM_PLAN = "form plan"  # FormClick: the deletion form submitted: plan, then ask why
    SUBMIT = "submit"  # Click: the request modal submitted (or a click without a modal)
    SUBMIT_UNTAG = "submit untag"  # Click: the same, removing the tag only
    CANCEL = "cancel"  # Click: Cancel
    UNUSED_LAYERS = "unused layers"  # FollowUp: delete an executed deletion's layers
    UNDO = "undo"  # FollowUp: restore what an executed deletion took
    PUT_BACK = "put back"  # FollowUp: point a moved protected tag back
    SHARE_STORAGE = "share storage"  # FollowUp: post a storage report to the channel
    SHARE = "share"  # FollowUp: post a listing, show or activity reply to the channel
    VOTE = "vote"  # Vote: Approve or Reject
    REGISTRY_EVENTS = "registry events"  # Announce: what the channel should see
    INSPECT = "inspect"  # Inspect: the images a message names (a message shortcut)
    HOME_OPENED = "home opened"  # HomeClick (value: the shown view's hash): publish it
    HOME_APPROVE = "home approve"  # HomeClick (value: request ID): a vote from the Home
    HOME_REJECT = "home reject"  # HomeClick (value: request ID)
    HOME_RUN_POLICY = "home run policy"  # HomeClick (value: policy name): Run now
    HOME_UNDO = "home undo"  # HomeClick (value: request ID): Undo an executed deletion


# Jobs that may carry a request out (a cleanup: minutes): they run on workers of their
# own, so the follow-ups of other clicks and commands never wait behind them.
LONG_KINDS = frozenset({JobKind.VOTE, JobKind.HOME_APPROVE, JobKind.HOME_REJECT})
# Jobs that open a modal: a trigger_id lasts 3 s, so they run on threads of their own,
# never queued behind jobs waiting on a slow registry (they read the database only).
VIEW_KINDS = frozenset({JobKind.OPEN_REQUEST, JobKind.OPEN_BUILDER, JobKind.OPEN_FORM})


@dataclass(frozen=True)
class Command:
    """A /registry command: the fields Slack sent with it."""

    fields: dict[str, str]


@dataclass(frozen=True)
class Page:
    """A Prev/Next button: its value, and the listing message to replace."""

    value: str
    response_url: str


@dataclass(frozen=True)
class Click:
    """A button on a preview (or the request modal submitted): the request it names,
    who clicked, the reason they gave in the modal (None: the typed one stands), and
    whether the answer replaces a preview at ``response_url`` (there is none when the
    deletion form made the request)."""

    request_id: str
    user: str
    response_url: str
    reason: str | None = None
    replace_preview: bool = True


@dataclass(frozen=True)
class ModalOpen:
    """Request deletion clicked: the modal to open with ``trigger_id`` (valid 3 s)."""

    request_id: str
    user: str
    response_url: str
    trigger_id: str
    as_untag: bool


@dataclass(frozen=True)
class FollowUp:
    """A button that opens a new request: its value, who clicked, and where."""

    value: str
    user: str
    response_url: str
    channel: str


@dataclass(frozen=True)
class Vote:
    """Approve or Reject, by ``user``, on the message ``clicked`` (channel, ts)."""

    request_id: str
    user: str
    approve: bool
    response_url: str
    clicked: tuple[str, str]


@dataclass(frozen=True)
class HomeClick:
    """Something ``user`` did on their Home tab (its answer goes to their Home: a Home
    has no ``response_url``)."""

    value: str
    user: str


@dataclass(frozen=True)
class BuilderOpen:
    """The cleanup builder to open with ``trigger_id``: from ``/registry prune`` (its
    channel and ``response_url``) or the shortcut (neither); for a policy (``policy``:
    "" a new one, else the name of the one to change; None: a cleanup)."""

    trigger_id: str
    user: str
    channel: str = ""
    response_url: str = ""
    policy: str | None = None


@dataclass(frozen=True)
class BuilderClick:
    """Preview or Request cleanup in the builder: the view (to update), what its fields
    held, and where it was opened."""

    view_id: str
    view_hash: str | None
    user: str
    place: BuilderPlace
    fields: BuilderFields


@dataclass(frozen=True)
class FormOpen:
    """The deletion form to open with ``trigger_id``, from ``/registry delete`` (or
    ``untag``, ``untag``: the tag alone, ticked) alone: its channel and ``response_url``."""

    trigger_id: str
    user: str
    channel: str
    response_url: str
    untag: bool = False


@dataclass(frozen=True)
class FormClick:
    """The deletion form submitted: the view (to update), where it was opened, and what
    its fields held."""

    view_id: str
    user: str
    place: FormPlace
    fields: FormFields


@dataclass(frozen=True)
class Inspect:
    """Inspect images, on a message: its text, who asked, where to answer them."""

    text: str
    user: str
    response_url: str


@dataclass(frozen=True)
class Announce:
    """What the registry's events told, for the channel."""

    result: IngestResult


Work = (
    Command
    | Page
    | Click
    | ModalOpen
    | BuilderOpen
    | BuilderClick
    | FormOpen
    | FormClick
    | FollowUp
    | Vote
    | HomeClick
    | Inspect
    | Announce
)


@dataclass(frozen=True)
class Job:
    """One piece of work after an acknowledgement. ``what`` names it in the log;
    ``response_url`` is told when it crashes (never silence)."""

    kind: JobKind
    work: Work
    what: str
    response_url: str | None = None
    registry: str | None = None  # the registry it is for (None: the default, or its request's)
