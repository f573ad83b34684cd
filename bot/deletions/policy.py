"""Who is an approver: the global approvers, and whether someone is one of a part's
(what approving a request takes is ``owners``'; the requester never counts, which
``owners.standing`` sees to).

Approvers are people (user IDs) and groups (group IDs), given apart by the caller:
what an ID looks like is the front end's business. Group members come from a lookup
the front end provides, cached briefly.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from .owners import ApprovalPart

log = logging.getLogger(__name__)
GROUP_CACHE_SECONDS = 60.0


class ApproverPolicy:
    def __init__(
        self,
        users: Iterable[str],
        groups: Iterable[str] = (),
        group_members: Callable[[str], Iterable[str]] | None = None,
        *,
        cache_seconds: float = GROUP_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.users = frozenset(u.strip() for u in users if u and u.strip())
        self.groups = frozenset(g.strip() for g in groups if g and g.strip())
        self._group_members = group_members
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    def members_of(self, group: str) -> frozenset[str]:
        """The members of a user group (cached); empty when it cannot be read."""
        with self._lock:
            cached = self._cache.get(group)
            if cached and cached[0] > self._clock():
                return cached[1]
        if self._group_members is None:
            return frozenset()
        try:
            members = frozenset(self._group_members(group))
        except Exception as exc:  # the lookup is the front end's; never let it crash a vote
            log.warning("could not read the members of user group %s: %s", group, exc)
            return frozenset()
        with self._lock:
            self._cache[group] = (self._clock() + self._cache_seconds, members)
        return members

    def is_approver(self, user: str) -> bool:
        return user in self.users or any(user in self.members_of(g) for g in self.groups)

    def is_member(self, user: str, part: ApprovalPart) -> bool:
        """Is ``user`` one of ``part``'s approvers (named, or in one of its groups)?"""
        return user in part.users or any(user in self.members_of(g) for g in part.groups)
