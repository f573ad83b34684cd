"""Where the work after an acknowledgement runs.

``WORK`` names the function each kind of job calls; ``run_job`` calls it, and answers a
crash at the job's ``response_url`` (never silence). Two runners:

- ``InProcess``: a pool of this process's threads (tests, and contexts built by hand).
- ``WorkerProcess``: a process of its own, started with the bot, running the jobs on
  its pool and the sweeper. The process that serves Slack's requests only verifies,
  acknowledges and hands jobs over (a pickled job through a pipe: microseconds). In one
  process, the jobs' CPU (HTTP, JSON, rendering, Slack calls) took turns with the
  acknowledgements on the one interpreter lock: 200 commands at once against a registry
  answering at once were acknowledged at p99 334 ms (see ``bench/capacity_bench.py``).

The first worker is forked before this process has a thread or a connection, with the
objects of every module imported so far frozen (``gc.freeze``), so the two share those
pages; one started again later is spawned (a fresh interpreter: a fork of a process with
threads can inherit a lock some thread held). The worker is supervised: it dies with
the process that started it, and when it dies on its own it is started again; jobs it
had not begun go to the new one, and the people whose job it was doing are told it
stopped (deletions themselves are claimed in the database, and resumed by the sweeper).
"""

from __future__ import annotations

import ctypes
import gc
import itertools
import logging
import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from . import browse_replies, command_replies, deleting
from .context import BotContext
from .jobs import Job, JobKind
from .render.failures import render_database_unreachable, render_internal_error

log = logging.getLogger(__name__)
THREADS = 32  # jobs at once: most of them wait on the registry or Slack, not the CPU
RESTART_SECONDS = 1.0  # a worker that dies is started again after this pause


def _submit(ctx: BotContext, request_id: str, user: str, url: str, as_untag: bool) -> None:
    deleting.submit(ctx, request_id, user, url, as_untag=as_untag)


def _announce(ctx: BotContext, result: Any) -> None:
    if ctx.announcer is not None:
        ctx.announcer.tell(result)


WORK: dict[JobKind, Callable[..., None]] = {
    JobKind.COMMAND: command_replies.reply,
    JobKind.PAGE: browse_replies.replace_page,
    JobKind.SUBMIT: _submit,
    JobKind.CANCEL: deleting.cancel_preview,
    JobKind.CLEANUP: deleting.cleanup,
    JobKind.UNDO: deleting.undo,
    JobKind.PUT_BACK: deleting.put_back,
    JobKind.VOTE: deleting.vote,
    JobKind.REGISTRY_EVENTS: _announce,
}


def run_job(ctx: BotContext, job: Job) -> None:
    """Do ``job``. A crash is logged and, when the job has a ``response_url``, the
    person who asked is told what happened (the database, or an internal error)."""
    try:
        WORK[job.kind](ctx, *job.args)
    except SQLAlchemyError as exc:
        log.error("%s failed: the database failed (%s)", job.what, exc)
        if job.response_url:
            ctx.responder.send(job.response_url, render_database_unreachable())
    except Exception:
        log.exception("%s failed", job.what)
        if job.response_url:
            ctx.responder.send(job.response_url, render_internal_error())


class InProcess:
    """Jobs on a pool of this process's threads."""

    def __init__(self, ctx: BotContext, threads: int = THREADS) -> None:
        self.ctx = ctx
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bot-work")

    def submit(self, job: Job) -> Future:
        return self.pool.submit(run_job, self.ctx, job)


# -- the worker process -----------------------------------------------------------------
def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process when the one that started it exits (by a
    signal, a crash or SIGKILL alike); elsewhere the closed pipe tells it."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(jobs: Any, news: Any) -> None:
    """The worker process: its own context (settings read again from the environment,
    as the parent read them), the sweeper, and a pool running what ``jobs`` brings."""
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    from ..__main__ import configure_logging
    from ..config import load_settings
    from .wiring import build_context

    settings = load_settings()
    configure_logging(settings)
    ctx = build_context(settings, sweeper=True)
    pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="bot-work")

    def run(job_id: int, job: Job) -> None:
        news.put(("started", job_id))
        try:
            run_job(ctx, job)
        finally:
            news.put(("done", job_id))

    while True:
        try:
            item = jobs.get()
        except (EOFError, OSError):
            return  # the parent is gone
        if item is None:
            return
        pool.submit(run, *item)


class WorkerProcess:
    """Runs jobs in a supervised process of their own (see the module)."""

    def __init__(self, responder: Any) -> None:
        """Call before this process opens a connection or starts a thread."""
        self._responder = responder  # this process's: answers jobs lost with a worker
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._queued: dict[int, Job] = {}  # sent, not begun
        self._begun: dict[int, Job] = {}  # begun, not done
        self._stopping = threading.Event()
        gc.freeze()  # what is imported by now stays shared with the forked worker
        self._start("fork")
        self._watch = threading.Thread(target=self._supervise, name="worker-watch", daemon=True)
        self._watch.start()

    def _start(self, method: str) -> None:
        context: Any = multiprocessing.get_context(method)
        self._jobs = context.Queue()
        self._news = context.Queue()
        self._process = context.Process(
            target=_worker_main, args=(self._jobs, self._news), name="registry-bot-worker"
        )
        self._process.start()
        log.info("worker process %d runs the work after acknowledgements", self._process.pid)

    def submit(self, job: Job) -> None:
        job_id = next(self._ids)
        with self._lock:
            self._queued[job_id] = job
            self._jobs.put((job_id, job))  # a feeder thread writes it: never blocks here

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                what, job_id = self._news.get(timeout=0.5)
            except queue.Empty:
                if not self._process.is_alive() and not self._stopping.is_set():
                    self._restart()
                continue
            except (EOFError, OSError):
                if not self._stopping.is_set():
                    self._restart()
                continue
            with self._lock:
                if what == "started" and job_id in self._queued:
                    self._begun[job_id] = self._queued.pop(job_id)
                elif what == "done":
                    self._begun.pop(job_id, None)
                    self._queued.pop(job_id, None)

    def _restart(self) -> None:
        code = self._process.exitcode
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
        self._start("spawn")
        for job in waiting.values():  # not begun: the new worker does them
            self.submit(job)

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the worker: what it is doing gets ``timeout`` seconds."""
        self._stopping.set()
        self._process.terminate()
        self._process.join(timeout)
        if self._process.is_alive():
            self._process.kill()
