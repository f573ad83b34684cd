"""Where the work after an acknowledgement runs.

``do`` calls the function each kind of job names, with its work's fields; ``run_job``
calls it, and answers a crash at the job's ``response_url`` (never silence). Two runners:

- ``InProcess``: a pool of this process's threads (tests, and contexts built by hand).
- ``WorkerProcess``: a process of its own, started with the bot, running the jobs on
  its pool and the sweeper. The process that serves Slack's requests only verifies,
  acknowledges and hands jobs over (a pickled job through a pipe: microseconds). In one
  process, the jobs' CPU (HTTP, JSON, rendering, Slack calls) took turns with the
  acknowledgements on the one interpreter lock: 200 commands at once against a registry
  answering at once were acknowledged at p99 334 ms (see ``bench/capacity_bench.py``).

The worker is a fresh interpreter (``python -m bot.slack.workers``) that reads jobs on
its stdin and reports each one begun and done on its stdout (length-prefixed pickles, on
a pipe only the two processes hold). A forked worker would have shared the imported
modules' pages, but every page the front touched again after the fork faulted to be
copied, and acknowledgements slowed to a p99 of 87-124 ms (38-48 ms spawned, in the same
runs); ``multiprocessing`` spawning would have added its resource tracker, 13 MB more.

The worker is supervised: it dies with the process that started it, and when it dies on
its own it is started again; jobs it had not begun go to the new one, and the people
whose job it was doing are told it stopped (deletions themselves are claimed in the
database, and resumed by the sweeper).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import itertools
import logging
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO

from sqlalchemy.exc import SQLAlchemyError

from . import (
    browse_replies,
    cleanup_builder,
    command_replies,
    deleting,
    deletion_form,
    home,
    home_clicks,
    modals,
    sharing,
    storage_replies,
)
from .context import BotContext
from .jobs import (
    LONG_KINDS,
    VIEW_KINDS,
    Announce,
    BuilderClick,
    BuilderOpen,
    Click,
    Command,
    FollowUp,
    FormClick,
    FormOpen,
    HomeClick,
    Inspect,
    Job,
    JobKind,
    ModalOpen,
    Page,
    Vote,
)
from .render import Message
from .render.failures import render_database_unreachable, render_internal_error
from .web import Responder

log = logging.getLogger(__name__)
THREADS = 32  # jobs at once: most of them wait on the registry or Slack, not the CPU
EXECUTIONS = 8  # votes at once (each may carry a request out), beside the other jobs
VIEWS = 4  # modals opening at once (a database read and a views.open each)
RESTART_SECONDS = 1.0  # a worker that dies is started again after this pause


# Buttons that open a new request or post in the channel: (ctx, value, user,
# response_url, channel).
FOLLOW_UPS: dict[JobKind, Callable[[BotContext, str, str, str, str], None]] = {
    JobKind.UNUSED_LAYERS: deleting.unused_layers,
    JobKind.UNDO: deleting.undo,
    JobKind.PUT_BACK: deleting.put_back,
    JobKind.SHARE_STORAGE: storage_replies.share_storage,
    JobKind.SHARE: sharing.share,
}


# The follow-ups and Home clicks whose value is a request's ID.
BY_REQUEST = frozenset(
    {
        JobKind.UNDO,
        JobKind.UNUSED_LAYERS,
        JobKind.HOME_APPROVE,
        JobKind.HOME_REJECT,
        JobKind.HOME_UNDO,
    }
)


def routed(ctx: BotContext, job: Job) -> BotContext:
    """The context for the registry ``job`` is about: its request's, when it names a
    request (a request ID is all a button carries), else the one it names."""
    match job.work:
        case (
            Click(request_id=request_id)
            | ModalOpen(request_id=request_id)
            | Vote(request_id=request_id)
        ):
            return ctx.for_request(request_id)
        case FollowUp(value=value) | HomeClick(value=value) if job.kind in BY_REQUEST:
            return ctx.for_request(value)
        case BuilderClick(place=place) | FormClick(place=place):
            return ctx.serving(place.registry or None)
        case BuilderOpen(channel=channel) | FormOpen(channel=channel) if job.registry is None:
            return ctx.serving(ctx.channel_default(channel))  # a command's: as it would go
    return ctx.serving(job.registry)


def do(ctx: BotContext, job: Job) -> None:
    """What each kind of job calls, with its work's fields, for its registry."""
    ctx = routed(ctx, job)
    match job.kind, job.work:
        case JobKind.COMMAND, Command(fields):
            command_replies.reply(ctx, fields)
        case JobKind.PAGE, Page(value, url):
            browse_replies.replace_page(ctx, value, url)
        case (JobKind.SUBMIT | JobKind.SUBMIT_UNTAG) as kind, Click() as click:
            deleting.submit(
                ctx,
                click.request_id,
                click.user,
                click.response_url,
                as_untag=kind == JobKind.SUBMIT_UNTAG,
                replace_preview=click.replace_preview,
                reason=click.reason,
            )
        case kind, (ModalOpen() | BuilderOpen() | BuilderClick() | FormOpen() | FormClick()) as w:
            _do_modal(ctx, kind, w)
        case JobKind.CANCEL, Click(request_id, user, url):
            deleting.cancel_preview(ctx, request_id, user, url)
        case kind, FollowUp(value, user, url, channel) if kind in FOLLOW_UPS:
            FOLLOW_UPS[kind](ctx, value, user, url, channel)
        case JobKind.VOTE, Vote(request_id, user, approve, url, clicked):
            deleting.vote(ctx, request_id, user, approve, url, clicked)
        case kind, HomeClick() as click if kind in HOME_KINDS:
            _do_home(ctx, kind, click)
        case JobKind.INSPECT, Inspect(text, _, url):
            browse_replies.inspect_reply(ctx, text, url)
        case JobKind.REGISTRY_EVENTS, Announce(result):
            if ctx.announcer is not None:
                ctx.announcer.tell(result, ctx)
        case _:
            raise TypeError(f"a {job.kind} job can't do {type(job.work).__name__}")


HOME_KINDS = frozenset(
    {
        JobKind.HOME_OPENED,
        JobKind.HOME_APPROVE,
        JobKind.HOME_REJECT,
        JobKind.HOME_RUN_POLICY,
        JobKind.HOME_UNDO,
    }
)


def _do_modal(
    ctx: BotContext,
    kind: JobKind,
    work: ModalOpen | BuilderOpen | BuilderClick | FormOpen | FormClick,
) -> None:
    """What the modals' jobs call (the request modal, the cleanup builder, the deletion
    form)."""
    if isinstance(work, FormOpen):
        deletion_form.open_form(ctx, work)
    elif isinstance(work, FormClick):
        deletion_form.plan(ctx, work)
    elif isinstance(work, ModalOpen):
        modals.open_request_modal(ctx, work)
    elif isinstance(work, BuilderOpen):
        cleanup_builder.open_builder(ctx, work)
    elif kind == JobKind.BUILDER_PREVIEW:
        cleanup_builder.preview(ctx, work)
    else:
        cleanup_builder.submit(ctx, work)


def _do_home(ctx: BotContext, kind: JobKind, click: HomeClick) -> None:
    """What a Home tab's job calls."""
    if kind == JobKind.HOME_OPENED:
        home.home_opened(ctx, click.user, click.value or None)
    elif kind == JobKind.HOME_RUN_POLICY:
        home_clicks.run_policy(ctx, click.value, click.user)
    elif kind == JobKind.HOME_UNDO:
        home_clicks.undo(ctx, click.value, click.user)
    else:
        home_clicks.vote(ctx, click.value, click.user, approve=kind == JobKind.HOME_APPROVE)


def run_job(ctx: BotContext, job: Job) -> None:
    """Do ``job``. A crash is logged and, when the job has a ``response_url``, the
    person who asked is told what happened (the database, or an internal error)."""
    try:
        do(ctx, job)
    except SQLAlchemyError as exc:
        log.error("%s failed: the database failed (%s)", job.what, exc)
        _tell_failure(ctx, job, render_database_unreachable())
    except Exception:
        log.exception("%s failed", job.what)
        _tell_failure(ctx, job, render_internal_error())


def _tell_failure(ctx: BotContext, job: Job, message: Message) -> None:
    """Tell who asked that their job failed: at its ``response_url``, or on their Home."""
    if job.response_url:
        ctx.responder.send(job.response_url, message)
    elif isinstance(job.work, HomeClick) and job.kind != JobKind.HOME_OPENED:
        home.publish_home(ctx, job.work.user, notice=message.text)


class Pools:
    """A pool for jobs, one for those that may carry a request out (``LONG_KINDS``): a
    cleanup of several minutes never holds a thread the other jobs need; and one for
    those that open a modal (``VIEW_KINDS``), which must not wait behind anything."""

    def __init__(
        self, threads: int = THREADS, executions: int = EXECUTIONS, views: int = VIEWS
    ) -> None:
        self.jobs = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bot-work")
        self.long = ThreadPoolExecutor(max_workers=executions, thread_name_prefix="bot-exec")
        self.views = ThreadPoolExecutor(max_workers=views, thread_name_prefix="bot-view")

    def submit(self, job: Job, run: Callable[[Job], None]) -> Future[None]:
        """Run ``run(job)`` on the pool its kind goes to."""
        if job.kind in VIEW_KINDS:
            pool = self.views
        else:
            pool = self.long if job.kind in LONG_KINDS else self.jobs
        return pool.submit(run, job)


class InProcess:
    """Jobs on this process's pools."""

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx
        self.pools = Pools()

    def submit(self, job: Job) -> Future[None]:
        return self.pools.submit(job, lambda j: run_job(self.ctx, j))


# -- the worker process -----------------------------------------------------------------
_FRAME = struct.Struct(">I")  # each message: its length, then a pickle


def _write_frame(stream: IO[bytes], item: object) -> None:
    data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _read_frame(stream: IO[bytes]) -> object:
    """The next message, or None at the end of the stream."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        return None
    return pickle.loads(data)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the one that started it exits (by a
    signal, a crash or SIGKILL alike); elsewhere the closed pipe tells it."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _give_back_memory() -> None:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``) when the
    worker falls idle: the memory a big job (a listing or a storage report of 100,000
    tags) freed would otherwise stay counted as the process's. Elsewhere, nothing."""
    if _libc is not None:
        _libc.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only: raises AttributeError elsewhere)
    except (OSError, AttributeError):
        return None
    return libc


_libc = _load_libc() if sys.platform.startswith("linux") else None


WORKER_NICENESS = 5  # below the acknowledging process, when the two compete for a core


def _yield_to_acknowledgements() -> None:
    """Lower the worker's scheduling priority: when both processes want the CPU (a burst
    of clicks whose jobs the worker runs while the next ones are acknowledged), the
    acknowledgements, which Slack waits 3 s for, go first; the worker's work waits."""
    with contextlib.suppress(OSError, AttributeError):  # not permitted, or no nice here
        os.nice(WORKER_NICENESS)


def worker_main() -> None:
    """The worker process: its own context (settings read again from the environment,
    as the parent read them), the sweeper, and a pool running the jobs on stdin."""
    _die_with_parent()
    _yield_to_acknowledgements()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    jobs, news = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but news goes to the parent's pipe
    from ..__main__ import configure_logging
    from ..config import load_settings
    from .wiring import build_context

    settings = load_settings()
    configure_logging(settings)
    ctx = build_context(settings, sweeper=True)
    pools = Pools()
    telling = threading.Lock()
    running = [0]

    def tell(what: str, job_id: int) -> None:
        with telling:
            running[0] += 1 if what == "started" else -1
            idle = running[0] == 0
            _write_frame(news, (what, job_id))
        if idle:
            _give_back_memory()

    def run(job_id: int, job: Job) -> None:
        tell("started", job_id)
        try:
            run_job(ctx, job)
        finally:
            tell("done", job_id)

    while (item := _read_frame(jobs)) is not None:
        match item:
            case (int() as job_id, Job() as job):
                pools.submit(job, functools.partial(run, job_id))
            case _:
                log.error("ignored a message that is not a job: %s", type(item).__name__)
    os._exit(0)  # the parent closed the pipe: it is gone, or stopping


class WorkerProcess:
    """Runs jobs in a supervised process of their own (see the module)."""

    def __init__(self, responder: Responder) -> None:
        self._responder = responder  # this process's: answers jobs lost with a worker
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._queued: dict[int, Job] = {}  # sent, not begun
        self._begun: dict[int, Job] = {}  # begun, not done
        self._stopping = threading.Event()
        self._start()

    def _start(self) -> None:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.slack.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # its log goes where this process's does (stderr)
        )
        outbox: queue.SimpleQueue[tuple[int, Job] | None] = queue.SimpleQueue()
        self._process, self._outbox = process, outbox
        for target, name in ((self._write, "worker-write"), (self._read, "worker-read")):
            threading.Thread(target=target, args=(process, outbox), name=name, daemon=True).start()
        log.info("worker process %d runs the work after acknowledgements", process.pid)

    def submit(self, job: Job) -> None:
        job_id = next(self._ids)
        with self._lock:
            self._queued[job_id] = job
            self._outbox.put((job_id, job))  # the writer thread sends it: never blocks here

    def _write(self, process: subprocess.Popen, outbox: queue.SimpleQueue) -> None:
        assert process.stdin is not None
        while (item := outbox.get()) is not None:
            try:
                _write_frame(process.stdin, item)
            except (BrokenPipeError, OSError):
                return  # the worker is gone: the reader starts another
        process.stdin.close()

    def _read(self, process: subprocess.Popen, outbox: queue.SimpleQueue) -> None:
        assert process.stdout is not None
        while (news := _read_frame(process.stdout)) is not None:
            if not isinstance(news, tuple) or len(news) != 2:
                continue
            what, job_id = news
            with self._lock:
                if what == "started" and job_id in self._queued:
                    self._begun[job_id] = self._queued.pop(job_id)
                elif what == "done":
                    self._begun.pop(job_id, None)
                    self._queued.pop(job_id, None)
        outbox.put(None)  # lets this worker's writer end
        if not self._stopping.is_set():
            self._restart(process)

    def _restart(self, process: subprocess.Popen) -> None:
        code = process.wait()
        with self._lock:
            lost, waiting = list(self._begun.values()), dict(self._queued)
            self._begun.clear()
            self._queued.clear()
        log.error(
            "the worker process stopped (exit %s) with %d jobs under way; starting another",
            code,
            len(lost),
        )
        for job in lost:
            if job.response_url:
                self._responder.send(job.response_url, render_internal_error())
        self._stopping.wait(RESTART_SECONDS)
        if self._stopping.is_set():
            return
        self._start()
        for job in waiting.values():  # not begun: the new worker does them
            self.submit(job)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the worker: what it is doing gets ``timeout`` seconds."""
        self._stopping.set()
        self._process.terminate()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()


if __name__ == "__main__":
    worker_main()
