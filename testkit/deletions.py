"""Helpers for tests of the deletion service: the people, a settable clock, a service
factory over a real registry (behind a counting proxy), and opening a request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest

from bot.deletions import (
    ApproverPolicy,
    DeletionRefused,
    DeletionRequest,
    DeletionService,
    Kind,
    Outcome,
    Refusal,
    Result,
    State,
    open_store,
)
from bot.patterns import compile_regex
from bot.registry import RegistryClient, RegistrySettings, parse_reference

REQUESTER, APPROVER, APPROVER2, OUTSIDER = "UREQUEST1", "UAPPROVE1", "UAPPROVE2", "UOUTSIDE1"
GROUP, GROUP_MEMBER = "SOPSTEAM1", "UGROUPIE1"


@contextmanager
def refused(reason: Refusal) -> Iterator[pytest.ExceptionInfo[DeletionRefused]]:
    """Expects the block to be refused, for ``reason``."""
    with pytest.raises(DeletionRefused) as info:
        yield info
    assert info.value.reason == reason, info.value.reason


def outcome_of(result: Result | DeletionRequest) -> Outcome:
    """The outcome a result's request (or a request) records."""
    request = result.request if isinstance(result, Result) else result
    assert request.outcome is not None, request
    return request.outcome


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def service_factory(
    database_url: str, registry_url: str
) -> tuple[Callable[..., DeletionService], Callable[[], None]]:
    """``make(**options)`` and a ``close()`` for everything it made."""
    made: list[DeletionService] = []

    def make(
        *,
        approvers=(APPROVER, APPROVER2, REQUESTER),
        groups=(GROUP,),
        required=1,
        clock=None,
        registry_url: str | None = None,
        ttl=timedelta(hours=24),
        lease=timedelta(seconds=60),
        protected: str | None = None,
        timeout: float = 10.0,
        usage=None,
    ) -> DeletionService:
        client = RegistryClient(
            RegistrySettings(url=registry_url or default_url, timeout=timeout, retries=1)
        )
        policy = ApproverPolicy(approvers, groups, lambda g: {GROUP: [GROUP_MEMBER]}.get(g, []))
        service = DeletionService(
            open_store(database_url),
            client,
            policy,
            approvals_required=required,
            ttl=ttl,
            clock=clock or Clock(),
            lease=lease,
            protected=compile_regex(protected) if protected else None,
            usage=usage,
        )
        made.append(service)
        return service

    default_url = registry_url

    def close() -> None:
        for service in made:
            service.registry.close()
            service.store.engine.dispose()

    return make, close


def open_request(service, ref: str, reason="cleanup", channel="C0CHAN01") -> DeletionRequest:
    preview = service.preview_manifest(parse_reference(ref), reason, REQUESTER, channel)
    claimed = service.claim_submit(preview.request.id, REQUESTER)
    assert claimed is not None and claimed.state == State.SUBMITTING
    request, events = service.submitted(preview.request.id)
    assert request.state == State.PENDING and [e.event for e in events] == ["requested"]
    return request


def deletes(proxy) -> int:
    return proxy.counts.get("DELETE", 0)


def sample_request(request_id: str) -> DeletionRequest:
    """A pending image deletion, as stored: for tests of stores and renderers."""
    now = datetime(2026, 11, 27, tzinfo=UTC)
    return DeletionRequest(
        id=request_id,
        kind=Kind.MANIFEST,
        repository="app",
        digest="sha256:" + "a" * 64,
        requester="UREQUEST1",
        channel="C0CHAN01",
        state=State.PENDING,
        created_at=now,
        expires_at=now + timedelta(hours=1),
        approvals_required=1,
    )


def approve(service: DeletionService, request_id: str):
    """APPROVER's click on Approve (with one approval required, the request is carried
    out)."""
    return service.vote(request_id, APPROVER, True)


def submit_and_approve(service: DeletionService, request_id: str, *, untag: bool = False):
    """The requester's confirmation of a previewed request, then APPROVER's approval."""
    assert service.claim_submit(request_id, REQUESTER, as_untag=untag) is not None
    service.submitted(request_id)
    return approve(service, request_id)
