"""The index in SQL (the ``blobindex`` room's tables and migrations): for every
repository read, each manifest its tags reach (an index's platforms included) and what
the registry stores for it (its own bytes, config and layers), with when the repository
was read. Scans fill it (a repository's rows replaced whole, in one transaction); the
registry's events tell which repositories changed since; a reclaim figure is drawn
from it: the blobs whose last reference anywhere a deletion removes."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Table,
    delete,
    insert,
    select,
    update,
)

from ..database import CleanString, Migration, UTCDateTime, add_column, insert_once, migrate
from ..registry import ManifestsRead, RegistryError
from .models import Basis, Indexed, Reclaim

T = TypeVar("T")
CHUNK = 500  # values per IN (...) list

metadata = MetaData()
repositories = Table(
    "blob_index_repositories",
    metadata,
    Column("repository", CleanString(255), primary_key=True),
    Column("read_at", UTCDateTime(), nullable=False),
    Column("tags", Integer),  # how many tags it had then (null: read before this was kept)
)
refs = Table(
    "blob_index_refs",
    metadata,
    # A manifest of ``repository`` reached from a tag when it was read, and one blob it
    # stores (the manifest's own bytes are a blob too).
    Column("repository", CleanString(255), primary_key=True),
    Column("manifest", CleanString(160), primary_key=True),
    Column("blob", CleanString(160), primary_key=True),
    Column("size", BigInteger),
    # Read as an untagged manifest (no tag reached it), not as a tagged image's.
    Column("untagged", Boolean),
    Index("ix_blob_index_refs_blob", "blob"),
)
ROOM = "blobindex"


def _v1(conn: Connection) -> None:
    metadata.create_all(conn, tables=[repositories, refs])


def _v2(conn: Connection) -> None:
    add_column(conn, repositories, "tags")
    add_column(conn, refs, "untagged")


MIGRATIONS: list[Migration] = [(1, _v1), (2, _v2)]

# The names of the registry's repositories (a cut or failed list: raise RegistryError
# or return names with ``cut`` set).
Catalog = Callable[[], Sequence[str]]
# When each repository last changed, as the registry's events tell (push or delete).
Changes = Callable[[], Mapping[str, datetime]]


def _chunks(values: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def _now() -> datetime:
    return datetime.now(UTC)


class BlobIndex:
    """Which manifests of which repositories use which blobs. ``changes``, when the
    registry's events are recorded, says when each repository last changed: a
    repository changed since it was read counts as unread."""

    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime] = _now,
        changes: Changes | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.changes = changes

    def ensure_schema(self) -> None:
        migrate(self.engine, ROOM, MIGRATIONS)

    # -- filling it --------------------------------------------------------------------
    def record(self, scan: ManifestsRead, untagged: Collection[str] | None = None) -> bool:
        """Replace what the index holds of the scan's tagged images with what the scan
        saw (only a complete scan: a partial one would drop references). ``untagged``:
        the untagged manifests read besides, replacing those held (garbage collection
        keeps their blobs unless it runs with --delete-untagged); None keeps those held,
        but for a manifest a tag reaches again. True when recorded."""
        if not scan.complete:
            return False
        tagged = scan.tagged_manifests()
        rows = [
            {
                "repository": scan.repository,
                "manifest": manifest,
                "blob": blob,
                "size": size,
                "untagged": manifest not in tagged,
            }
            for manifest in sorted(tagged | set(untagged or ()))
            for blob, size in scan.stored_by(manifest).items()
        ]
        with self.engine.begin() as conn:
            self._lock(conn, scan.repository)
            mine = refs.c.repository == scan.repository
            if untagged is not None:
                conn.execute(delete(refs).where(mine))
            else:
                conn.execute(delete(refs).where(mine, refs.c.untagged.is_not(True)))
                for names in _chunks(sorted(tagged)):
                    conn.execute(delete(refs).where(mine, refs.c.manifest.in_(names)))
            conn.execute(
                update(repositories)
                .where(repositories.c.repository == scan.repository)
                .values(read_at=self.clock(), tags=scan.tag_total)
            )
            for batch in _chunks(rows):
                conn.execute(insert(refs), batch)
        return True

    def _lock(self, conn: Connection, repository: str) -> None:
        """Hold the repository's row for this transaction (created if new): processes
        recording the same repository at once take turns (on SQLite, writes take turns
        anyway), so one's rows never collide with the other's."""
        insert_once(conn, repositories, {"repository": repository, "read_at": self.clock()})
        conn.execute(
            select(repositories.c.repository)
            .where(repositories.c.repository == repository)
            .with_for_update()
        )

    def forget(self, repository: str, manifests: Collection[str]) -> None:
        """Manifests deleted from ``repository``: they reference nothing any more."""
        with self.engine.begin() as conn:
            for batch in _chunks(sorted(manifests)):
                conn.execute(
                    delete(refs).where(refs.c.repository == repository, refs.c.manifest.in_(batch))
                )

    def current(self, names: Collection[str], within: timedelta) -> dict[str, Indexed]:
        """Of ``names``, the repositories read within ``within`` that the registry's
        events say have not changed since, with what their tagged images store; empty
        without the events (the index then can't tell a repository unchanged)."""
        if self.changes is None:
            return {}
        since = self.clock() - within
        changed = self.changes()
        found: dict[str, Indexed] = {}
        with self.engine.connect() as conn:
            read = conn.execute(
                select(repositories).where(
                    repositories.c.read_at >= since, repositories.c.tags.is_not(None)
                )
            ).all()
            fresh = {
                r.repository: r
                for r in read
                if r.repository in names
                and not (r.repository in changed and changed[r.repository] >= r.read_at)
            }
            for batch in _chunks(sorted(fresh)):
                query = select(refs).where(
                    refs.c.repository.in_(batch), refs.c.untagged.is_not(True)
                )
                for row in conn.execute(query):
                    repo = fresh[row.repository]
                    indexed = found.setdefault(
                        row.repository, Indexed(row.repository, int(repo.tags), repo.read_at)
                    )
                    indexed.manifests.setdefault(row.manifest, {})[row.blob] = row.size
        for name, repo in fresh.items():  # a repository with no tags has no rows
            found.setdefault(name, Indexed(name, int(repo.tags), repo.read_at))
        return found

    def stale(self, settled: timedelta) -> list[str]:
        """The repositories read into the index that the registry's events say changed
        since, and not in the last ``settled`` (a burst of pushes is read again once),
        the longest stale first; empty without the events."""
        if self.changes is None:
            return []
        changed = self.changes()
        quiet = self.clock() - settled
        read = self.read_at()
        late = [
            (read[name], name)
            for name, at in changed.items()
            if name in read and read[name] <= at <= quiet
        ]
        return [name for _, name in sorted(late)]

    def read_at(self) -> dict[str, datetime]:
        """When each repository in the index was read."""
        with self.engine.connect() as conn:
            return {r.repository: r.read_at for r in conn.execute(select(repositories))}

    # -- reclaim figures ---------------------------------------------------------------
    def reclaim(self, removed: Mapping[str, Collection[str]], catalog: Catalog) -> Reclaim:
        """What garbage collection gives back once the ``removed`` manifests (repository
        -> digests; each repository read into the index just before) are gone: the
        blobs they store that no other manifest in any known repository uses. A
        repository not read, or changed since, can't hold a blob back: the figure is
        then an upper bound, and its basis says so."""
        pairs = {(r, m) for r, manifests in removed.items() for m in manifests}
        candidates: dict[str, int | None] = {}
        first: dict[str, str] = {}
        with self.engine.connect() as conn:
            for repository in sorted(removed):
                for batch in _chunks(sorted(removed[repository])):
                    query = select(refs.c.blob, refs.c.size).where(
                        refs.c.repository == repository, refs.c.manifest.in_(batch)
                    )
                    for blob, size in conn.execute(query):
                        candidates[blob] = size
                        first.setdefault(blob, repository)
            holders: dict[str, set[str]] = {}
            for batch in _chunks(sorted(candidates)):
                query = select(refs.c.repository, refs.c.manifest, refs.c.blob).where(
                    refs.c.blob.in_(batch)
                )
                for row in conn.execute(query):
                    if (row.repository, row.manifest) not in pairs:
                        holders.setdefault(row.blob, set()).add(row.repository)
            read_at = {r.repository: r.read_at for r in conn.execute(select(repositories))}
        if not candidates:
            return Reclaim()
        basis, current = self._basis(set(removed), read_at, catalog)
        freed = {b: s for b, s in candidates.items() if not (holders.get(b, set()) & current)}
        held = sum(s or 0 for b, s in candidates.items() if b not in freed)
        if not freed:
            basis = Basis()  # every candidate is held by a repository read: nothing comes back
        by_repository: dict[str, int] = {}
        for blob, size in freed.items():
            by_repository[first[blob]] = by_repository.get(first[blob], 0) + (size or 0)
        return Reclaim(freed, held, by_repository, basis)

    def _basis(
        self, removing: set[str], read_at: Mapping[str, datetime], catalog: Catalog
    ) -> tuple[Basis, set[str]]:
        """How much of the registry is known, and the repositories whose rows count
        (read, and not changed since; the removing ones, read just now, always)."""
        try:
            names: Sequence[str] = catalog()
            catalog_unread = bool(getattr(names, "cut", None))
        except RegistryError:
            names, catalog_unread = list(read_at), True
        changed = self.changes() if self.changes is not None else {}
        current = set(removing)
        unread = 0
        for name in set(names) - removing:
            at = read_at.get(name)
            if at is None or (name in changed and changed[name] >= at):
                unread += 1
            else:
                current.add(name)
        others = [read_at[n] for n in current - removing]
        as_of = min(others) if others and self.changes is None else None
        return Basis(unread, catalog_unread, as_of), current
