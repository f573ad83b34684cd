"""Storage over time (the ``storage`` room's table and migrations): one snapshot a day
of a whole-registry report (bytes stored, each repository's amortised share), claimed
by whichever process gets to the day first (a row per day, inserted once, on SQLite and
PostgreSQL alike) so a day is read once whatever the number of replicas; and what the
snapshots say: the change over 7 and 30 days, the daily series, the repositories that
grew most."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    MetaData,
    Table,
    select,
    update,
)

from ..database import CleanString, JSONText, Migration, UTCDateTime, insert_once, migrate
from .report import StorageReport

metadata = MetaData()
snapshots = Table(
    "storage_snapshots",
    metadata,
    Column("day", CleanString(10), primary_key=True),  # YYYY-MM-DD, UTC
    Column("claimed_at", UTCDateTime(), nullable=False),
    # Filled in once the day's report is read; null while it is being read.
    Column("total", BigInteger),
    Column("repositories", JSONText),  # repository -> amortised bytes
    Column("unread", JSONText),  # repositories left out (could not all be read)
    # False for a report of part of the registry (a cut catalog, repositories past the
    # cap): kept, so the day is done, but never compared.
    Column("complete", Boolean),
)
ROOM = "storage"
# A claim whose report never came (the process died reading it) is taken over after this.
STALE_CLAIM = timedelta(hours=1)


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[snapshots])


MIGRATIONS: list[Migration] = [(1, _v1)]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Snapshot:
    day: date
    total: int
    repositories: dict[str, int]
    unread: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trend:
    """What the snapshots of the last 30 days say. ``series``: each day's total, oldest
    first (days without a snapshot left out); ``change_7`` / ``change_30``: the latest
    total against the one that many days before it (None: the history doesn't go back
    that far); ``growing``: the repositories whose share grew most over the series,
    with the growth; ``since``: the first day of the series."""

    series: list[tuple[date, int]] = field(default_factory=list)
    change_7: int | None = None
    change_30: int | None = None
    growing: list[tuple[str, int]] = field(default_factory=list)

    @property
    def since(self) -> date | None:
        return self.series[0][0] if self.series else None


class StorageHistory:
    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _now) -> None:
        self.engine = engine
        self.clock = clock

    def ensure_schema(self) -> None:
        migrate(self.engine, ROOM, MIGRATIONS)

    def claim_today(self) -> date | None:
        """Claim today's snapshot for this process (None: it is taken, or another
        process is reading it)."""
        now = self.clock()
        day = now.date().isoformat()
        with self.engine.begin() as conn:
            inserted = insert_once(conn, snapshots, {"day": day, "claimed_at": now})
            if not inserted:  # a reader that died long ago leaves it to be taken over
                inserted = (
                    conn.execute(
                        update(snapshots)
                        .where(
                            snapshots.c.day == day,
                            snapshots.c.total.is_(None),
                            snapshots.c.claimed_at < now - STALE_CLAIM,
                        )
                        .values(claimed_at=now)
                    ).rowcount
                    > 0
                )
        return now.date() if inserted else None

    def record(self, report: StorageReport, day: date | None = None) -> bool:
        """Keep a report of every repository (no pattern) as the day's snapshot
        (today's by default), unless the day has one already; True when kept. One that
        could not read the whole registry (a cut catalog, repositories past the cap) is
        kept as incomplete: the day is done, and it is never compared."""
        day = day or self.clock().date()
        values = {
            "total": report.total,
            "repositories": {r.repository: r.amortised for r in report.repositories},
            "unread": list(report.unread),
            "complete": not (report.catalog_cut or report.beyond),
        }
        with self.engine.begin() as conn:
            insert_once(conn, snapshots, {"day": day.isoformat(), "claimed_at": self.clock()})
            done = conn.execute(
                update(snapshots)
                .where(snapshots.c.day == day.isoformat(), snapshots.c.total.is_(None))
                .values(**values)
            ).rowcount
        return bool(done)

    def snapshots(self, days: int = 30) -> list[Snapshot]:
        """The snapshots of the last ``days`` days, oldest first."""
        since = (self.clock().date() - timedelta(days=days)).isoformat()
        query = (
            select(snapshots)
            .where(
                snapshots.c.day >= since,
                snapshots.c.total.is_not(None),
                snapshots.c.complete.is_(True),
            )
            .order_by(snapshots.c.day)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            Snapshot(
                date.fromisoformat(r.day),
                int(r.total),
                {k: int(v) for k, v in dict(r.repositories or {}).items()},
                tuple(r.unread or ()),
            )
            for r in rows
        ]

    def trend(self) -> Trend:
        return trend_of(self.snapshots(30))


def _back(shots: list[Snapshot], days: int) -> Snapshot | None:
    """The latest snapshot at least ``days`` days before the last one."""
    last = shots[-1].day
    older = [s for s in shots if s.day <= last - timedelta(days=days)]
    return older[-1] if older else None


def trend_of(shots: list[Snapshot], top: int = 3) -> Trend:
    """What a run of daily snapshots (oldest first) says."""
    if not shots:
        return Trend()
    last = shots[-1]
    week, month = _back(shots, 7), _back(shots, 30)
    first = shots[0]
    growth = {
        name: size - first.repositories.get(name, 0)
        for name, size in last.repositories.items()
        if name not in first.unread
    }
    growing = sorted(((n, g) for n, g in growth.items() if g > 0), key=lambda x: (-x[1], x[0]))
    return Trend(
        [(s.day, s.total) for s in shots],
        last.total - week.total if week else None,
        last.total - month.total if month else None,
        growing[:top] if len(shots) > 1 else [],
    )
