"""A request's claim while it is carried out: a fencing token, a lease kept alive by a
heartbeat, and the check every write to the registry makes first.

Whoever carries out a request holds its claim: the request's ``claim_token``, a number
that every takeover increments, and ``claimed_at``, renewed every third of the lease.
A claim not renewed for a lease belongs to a holder that died or stalled (killed, paused
with its VM, starved of CPU, cut off from its database), and whoever notices takes it
over. A stalled holder does not know it stalled: when it resumes, its queue of
deletions is still in hand. So before each write it checks its lease on a clock that
counts through pauses; with little of the lease left it renews first, and the renewal
is a compare-and-set on its token: when another holder has taken over, the renewal
fails and the stale holder stops before its next DELETE. Every state change a holder
makes (each cleanup item's move, the request's settlement) is fenced by the same token
in SQL, so a stale holder's writes to the database are refused too.

What cannot be fenced is a request already sent to the registry (it knows nothing of
tokens): a holder sends nothing with less than a quarter of its lease left, so what it
sent is answered long before a takeover, which can come only once the lease is up.

The heartbeat also carries how far the run has got (``report``, as temporal's
``activity.heartbeat(details)``): written with the next renewal, at most once a
``PROGRESS_SECONDS``, so anyone may read it (``DeletionStore.progress``) and draw it.

``Claims`` is what one process holds: the runs alive in it (its own sweeper never takes
one of them over, however late its heartbeat), and the takeover of others' stale ones.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta

from .models import DeletionRequest, State
from .store import DeletionStore

log = logging.getLogger(__name__)
PROGRESS_SECONDS = 1.0  # a run's progress is written at most this often


def _elapsed_clock() -> float:
    """Seconds on a clock that keeps counting while the process is stopped (SIGSTOP,
    CPU starvation) and while the machine or VM is suspended."""
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):  # not Linux
        return time.monotonic()


class ClaimLost(Exception):
    """The claim on a request was taken over (or could not be confirmed): its holder
    must not write anything more for it."""

    def __init__(self, request_id: str, why: str) -> None:
        super().__init__(f"the claim on request {request_id} {why}")
        self.request_id = request_id


# renew(request_id, token, at, details) -> whether the claim is still this token's (a
# compare-and-set), writing the run's latest details (None: unchanged) with it.
Renew = Callable[[str, int, datetime, "dict[str, object] | None"], bool]


class Claim:
    """The claim this process holds on one request, from its claiming (or takeover)
    until it is settled. ``check()`` before every write; a heartbeat thread renews it
    while the work goes on (``with claim:``)."""

    def __init__(
        self,
        request_id: str,
        token: int,
        lease: timedelta,
        renew: Renew,
        clock: Callable[[], datetime],
        *,
        elapsed: Callable[[], float] = _elapsed_clock,
    ) -> None:
        self.request_id = request_id
        self.token = token
        self.lease = lease.total_seconds()
        self._renew = renew
        self._clock = clock
        self._elapsed = elapsed
        self._renewed = elapsed()  # taken before the claim was written: errs early
        self._lost: str | None = None
        self._lock = threading.Lock()  # one renewal at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._details: dict[str, object] | None = None  # reported, not written yet

    @property
    def lost(self) -> bool:
        return self._lost is not None

    @property
    def margin(self) -> float:
        """Nothing is sent with less than this much of the lease left."""
        return self.lease / 4

    def remaining(self) -> float:
        return self.lease - (self._elapsed() - self._renewed)

    def report(self, details: dict[str, object]) -> None:
        """How far the run has got: written with the next heartbeat (the latest only)."""
        self._details = details

    def renew(self) -> bool:
        """Renew the claim now, with the details reported since the last renewal; False
        (and the claim is lost for good) when another holder has it. A database error
        is raised: the claim is not confirmed."""
        with self._lock:
            if self._lost is not None:
                return False
            started = self._elapsed()  # before the write: the lease runs from here at most
            details, self._details = self._details, None
            try:
                held = self._renew(self.request_id, self.token, self._clock(), details)
            except Exception:
                if self._details is None:
                    self._details = details  # written with the next attempt
                raise
            if not held:
                self._lost = "was taken over by another holder"
                log.warning("request %s: %s; stopping", self.request_id, self._lost)
                return False
            self._renewed = started
            return True

    def check(self) -> None:
        """Before a write: raise ClaimLost unless the claim is still held with a
        quarter of its lease ahead (renewing first when less is left)."""
        if self._lost is not None:
            raise ClaimLost(self.request_id, self._lost)
        if self.remaining() > self.margin:
            return
        try:
            held = self.renew()
        except Exception as exc:
            log.warning("request %s: could not renew the claim: %s", self.request_id, exc)
            raise ClaimLost(
                self.request_id, f"could not be renewed ({type(exc).__name__})"
            ) from None
        if not held or self.remaining() <= self.margin:
            raise ClaimLost(self.request_id, self._lost or "could not be renewed in time")

    # -- the heartbeat ------------------------------------------------------------------
    def _beat(self) -> None:
        """Renew every third of the lease, and sooner (at most once a
        ``PROGRESS_SECONDS``) when the run has reported progress."""
        interval = max(0.05, self.lease / 3)
        tick = min(interval, PROGRESS_SECONDS)
        while not self._stop.wait(tick):
            if self._details is None and self._elapsed() - self._renewed < interval:
                continue
            try:
                if not self.renew():
                    return  # taken over: the work stops at its next check
            except Exception:
                log.exception("could not renew the claim on request %s", self.request_id)

    def __enter__(self) -> Claim:
        self._thread = threading.Thread(target=self._beat, name="claim-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class Claims:
    """The claims of one process: ``claim_for`` a request it claimed, ``running_here``
    around the run, and ``take_over_stale`` for the requests whose holder stopped."""

    def __init__(
        self, store: DeletionStore, lease: timedelta, clock: Callable[[], datetime]
    ) -> None:
        self.store = store
        self.lease = lease
        self.clock = clock
        self._running: set[str] = set()  # requests this process is carrying out now
        self._lock = threading.Lock()

    def claim_for(self, request: DeletionRequest) -> Claim:
        def renew(
            request_id: str, token: int, at: datetime, details: dict[str, object] | None
        ) -> bool:
            return self.store.renew_claim(request_id, token, at, details)

        return Claim(request.id, request.claim_token, self.lease, renew, self.clock)

    @contextmanager
    def running_here(self, request_id: str) -> Iterator[None]:
        """Mark a request as carried out by this process for the block's length."""
        with self._lock:
            self._running.add(request_id)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(request_id)

    def take_over_stale(self) -> Iterator[tuple[DeletionRequest, Claim]]:
        """Each executing request whose claim was not renewed for a lease, not running
        here, taken over (one replica wins each): the request with its new token, and
        the claim to carry it on with."""
        now = self.clock()
        for stale in self.store.stale_claims([State.EXECUTING], now - self.lease):
            with self._lock:
                if stale.id in self._running:
                    continue  # alive here, only late: its own heartbeat renews it
            token = self.store.take_over(stale.id, stale.claim_token, now - self.lease, now)
            if token is None:
                continue  # another replica took it over, or its holder renewed it
            request = replace(stale, claim_token=token)
            yield request, self.claim_for(request)

    def drop(self, claim: Claim) -> None:
        """Give a claim up, to be taken up again by the next sweep (the registry could
        not say what became of the request)."""
        self.store.renew_claim(claim.request_id, claim.token, None)
