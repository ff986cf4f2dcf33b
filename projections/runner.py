"""Running projections: from the notification log into view tables, exactly once.

A projection reads the application's notification log in order and writes rows into
its own tables in the view database. The position it has reached (its tracking
record) is written in the same transaction as the rows that event produced, so a
crash at any point leaves either both or neither: after a restart the projection
continues from the last committed position and counts nothing twice.

SQLite recorders have no subscriptions, so the runner pulls: `catch_up()` reads
everything after the stored position; a `Follower` thread calls it a few times a
second while the service runs. The same runner code works for every projection and
on both databases: the view database is SQLite (`SqliteViews`, one file) or
PostgreSQL (`stafettlogg.postgres.PostgresViews`). On PostgreSQL several processes
share the views; each batch takes the projection's writer lock inside its
transaction, so one writer at a time moves a projection and none counts an event
twice. The SQL of the projections is written for both (`?` placeholders,
`ON CONFLICT DO NOTHING`, reserved words quoted).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from typing import Any, Protocol

from domain.aggregate import DomainEvent

BATCH = 500


class Projection(Protocol):
    """A read model: its tables, and what one event does to them."""

    name: str
    # Names of the event types it reads; others are skipped without being decoded.
    topics: frozenset[str]

    def create(self, db: sqlite3.Connection) -> None: ...

    def clear(self, db: sqlite3.Connection) -> None: ...

    def apply(self, db: sqlite3.Connection, event: DomainEvent, position: int) -> None: ...


class Source(Protocol):
    """Where events come from: the application's recorder and mapper."""

    def select(self, after: int, limit: int) -> list[Any]: ...

    def decode(self, notification: Any) -> DomainEvent: ...

    def last_position(self) -> int: ...


class ViewDatabase(Protocol):
    """Where the view tables live. SQL uses `?` placeholders on every database."""

    def read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]: ...

    def transaction(self, lock: str | None) -> AbstractContextManager[Any]:
        """One transaction, committed when the block ends and rolled back if it raises.

        It yields a connection whose `execute(sql, params)` returns a cursor. With
        `lock`, the writer lock of that name is held until the transaction ends: one
        writer at a time, across every process that shares the database."""
        ...

    def close(self) -> None: ...


class SqliteViews:
    """The views in one SQLite file, through one connection (SQLite has one writer)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")

    def read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock, closing(self._db.execute(sql, params)) as cursor:
            return cursor.fetchall()

    @contextmanager
    def transaction(self, lock: str | None) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes SQLite's write lock: that is the writer lock.
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Moved(Exception):
    """Another writer moved the projection: roll back and read from its new position."""


class ViewStore:
    """The view database: view tables and one tracking row per projection."""

    def __init__(self, database: str | ViewDatabase) -> None:
        """A path is a SQLite file; anything else is a `ViewDatabase` (PostgreSQL)."""
        self.database: ViewDatabase = (
            SqliteViews(database) if isinstance(database, str) else database
        )
        self.path = database if isinstance(database, str) else None
        self._lock = threading.RLock()
        with self.database.transaction("ddl") as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS tracking"
                " (projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )

    def close(self) -> None:
        with self._lock:
            self.database.close()

    def read(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return self.database.read(sql, tuple(params))

    def position(self, projection: str) -> int:
        rows = self.read("SELECT position FROM tracking WHERE projection = ?", (projection,))
        return rows[0][0] if rows else 0

    def ensure(self, projection: Projection) -> None:
        with self._lock, self.database.transaction("ddl") as db:
            projection.create(db)
            db.execute(
                "INSERT INTO tracking (projection, position) VALUES (?, 0) ON CONFLICT DO NOTHING",
                (projection.name,),
            )

    def process(
        self,
        projection: Projection,
        source: Source,
        *,
        progress: Callable[[int, int], None] | None = None,
        _before_tracking: Callable[[], None] | None = None,
    ) -> int:
        """Apply every event after the stored position; returns how many were read.

        One transaction per batch: the view rows of the batch and the new position
        are committed together. `_before_tracking` lets a test crash the projection
        between writing rows and writing its position.
        """
        self.ensure(projection)
        done = 0
        last = source.last_position()
        while True:
            with self._lock:
                after = self.position(projection.name)
                batch = source.select(after, BATCH)
                if not batch:
                    return done
                try:
                    with self.database.transaction(projection.name) as db:
                        # Read again under the writer lock: another writer may have moved it.
                        (current,) = db.execute(
                            "SELECT position FROM tracking WHERE projection = ?",
                            (projection.name,),
                        ).fetchone()
                        if current != after:
                            raise _Moved()
                        for notification in batch:
                            if notification.topic.partition("@")[0] in projection.topics:
                                projection.apply(db, source.decode(notification), notification.id)
                        if _before_tracking is not None:
                            _before_tracking()
                        db.execute(
                            "UPDATE tracking SET position = ? WHERE projection = ?",
                            (batch[-1].id, projection.name),
                        )
                except _Moved:
                    continue
            done += len(batch)
            if progress is not None:
                progress(batch[-1].id, max(last, batch[-1].id))

    def rebuild(
        self,
        projection: Projection,
        source: Source,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Forget the view and read every event again from the start."""
        self.ensure(projection)
        with self._lock, self.database.transaction(projection.name) as db:
            projection.clear(db)
            db.execute("UPDATE tracking SET position = 0 WHERE projection = ?", (projection.name,))
        return self.process(projection, source, progress=progress)


class Follower:
    """Keeps projections up to date while the service runs (pulls a few times a second)."""

    def __init__(
        self,
        views: ViewStore,
        projections: list[Projection],
        source: Source,
        interval: float = 0.2,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.views = views
        self.projections = projections
        self.source = source
        self.interval = interval
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="projections", daemon=True)

    def catch_up(self) -> None:
        for projection in self.projections:
            self.views.process(projection, self.source)

    def start(self) -> None:
        """Catch up now, then keep following; a store that does not answer yet is retried."""
        try:
            self.catch_up()
        except Exception as exc:  # noqa: BLE001 - the thread retries; the service still starts
            if self.on_error is not None:
                self.on_error(exc)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.catch_up()
            except Exception as exc:  # noqa: BLE001 - keep following; report and retry
                if self.on_error is not None:
                    self.on_error(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
