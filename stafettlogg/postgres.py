"""PostgreSQL: the event store through eventsourcing's own postgres module, and the
views, their tracking positions and the child keys in the same database.

Imported only when `STAFETTLOGG_DATABASE_URL` is a `postgresql://` address; psycopg
comes with the `postgres` extra (`pip install -e '.[postgres]'`, which `make` does).

* `Factory`: eventsourcing's `PostgresFactory` with a connection pool that stops
  waiting on a database that does not answer (`ResilientPool`), makes the schema if
  it is missing, and creates tables under a lock so that processes starting at once
  do not trip over each other.
* `PostgresViews`: the view database of `projections/runner.py`. Each batch of a
  projection takes the projection's advisory lock inside its transaction
  (`pg_advisory_xact_lock`): one writer at a time across every process, and the
  tracking position is read again under the lock, so no event is counted twice.
* `PostgresKeyTable`: the children's wrapped data keys, seen by every process.

Every failure to reach the database comes out as eventsourcing's `OperationalError`
or `InterfaceError` (the API answers 503 to both); messages carry no personal data.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, TypeVar

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import ConnectionPool, PostgresDatastore, PostgresFactory
from eventsourcing.utils import Environment
from psycopg import sql
from psycopg.rows import tuple_row
from psycopg_pool import PoolTimeout

from stafettlogg.settings import PostgresAddress, PostgresSettings

log = logging.getLogger("stafettlogg.postgres")

T = TypeVar("T")

# While the database does not answer, a probe tries to connect this often.
PROBE_INTERVAL = 0.5
# Attempts of a read or key-store statement that met a connection broken earlier
# (the database restarted): each gets a fresh connection from the pool.
ATTEMPTS = 3
APPLICATION_NAME = "stafettlogg"

STORE_UNAVAILABLE = (OperationalError, InterfaceError)


def lock_key(namespace: str, name: str) -> int:
    """A 64-bit advisory lock key for `name` within a schema (locks are per database)."""
    digest = hashlib.sha256(f"stafettlogg\x00{namespace}\x00{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def connection_lost(exc: BaseException) -> bool:
    """Did the statement fail because its connection broke (worth a fresh connection)?"""
    cause = exc.__cause__ if isinstance(exc, STORE_UNAVAILABLE) else exc
    if isinstance(cause, PoolTimeout):  # no connection to be had: trying again won't help
        return False
    if isinstance(cause, psycopg.OperationalError):
        state = cause.sqlstate
        return state is None or state.startswith(("08", "57P"))
    return isinstance(cause, psycopg.InterfaceError)


def _store_error(exc: psycopg.Error) -> Exception:
    if isinstance(exc, psycopg.InterfaceError):
        return InterfaceError(str(exc))
    return OperationalError(str(exc))


# --- connections and their pool ------------------------------------------------------

# psycopg's own interval for checking for interrupts while it waits.
_WAIT_INTERVAL = getattr(psycopg.connection, "_WAIT_INTERVAL", 0.1)
# How much longer than the server's statement timeout the client waits for an answer.
ANSWER_MARGIN = 1.0


class GuardedConnection(psycopg.Connection):  # type: ignore[type-arg]
    """A connection that does not wait for ever on a server that does not answer.

    A server that is down closes its connections, and the pool notices; a network that
    fails silently, or a server that hangs, would leave a statement waiting for hours.
    Here every wait for the server has a deadline (`answer_timeout`: the statement
    timeout, which the server enforces itself, plus a margin). A wait that reaches it
    closes the connection and marks its pool down. Once the pool is down (for whatever
    reason), the waits still going on are interrupted too: every request then answers
    503 at once instead of each waiting out its deadline.
    """

    answer_timeout: float = 11.0

    def wait(self, gen: Any, interval: float = _WAIT_INTERVAL, timeout: float | None = None) -> Any:
        limit = self.answer_timeout if timeout is None else timeout
        pool = getattr(self, "_pool", None)  # set by the pool while the connection is out
        pool = pool if isinstance(pool, ResilientPool) else None
        if pool is not None:
            pool.waiting(self, True)
        try:
            return super().wait(gen, interval, limit)
        except psycopg.OperationalError as exc:
            if timeout is not None or type(exc).__name__ != "_WaitTimeout":
                raise
            if pool is not None:
                pool.waiting(self, False)
            self.pgconn.finish()  # its state is unknown: the pool replaces it
            if pool is not None:
                pool.mark_down()
            msg = f"PostgreSQL svarte ikke innen {limit:g} s"
            raise psycopg.OperationalError(msg) from None
        finally:
            if pool is not None:
                pool.waiting(self, False)

    def interrupt(self) -> None:
        """Wake a wait in another thread: shut the socket down (never close its fd here,
        which the waiting thread may still poll and the system may hand out again)."""
        try:
            sock = socket.socket(fileno=self.pgconn.socket)
        except (psycopg.Error, OSError):
            return  # closed already
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            sock.detach()


class ResilientPool(ConnectionPool):  # type: ignore[type-arg]
    """eventsourcing's connection pool, which does not keep requests waiting on a
    database that does not answer.

    When a new connection cannot be made, the pool is marked down: from then on a
    request for a connection fails at once (the API answers 503 within eventsourcing's
    short retries) instead of waiting the connect timeout, and a probe thread tries to
    connect twice a second. When it can, connections that broke with the database are
    dropped and the pool is up again: no restart is needed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._down_since: float | None = None
        # Why the last connection could not be made (for /ready), while down.
        self.failure: BaseException | None = None
        self._state_lock = threading.Lock()
        self._in_wait: set[GuardedConnection] = set()

    def waiting(self, conn: GuardedConnection, now: bool) -> None:
        """A connection of this pool starts (or ends) waiting for the server."""
        with self._state_lock:
            if now:
                self._in_wait.add(conn)
            else:
                self._in_wait.discard(conn)

    @property
    def is_down(self) -> bool:
        return self._down_since is not None

    def getconn(self, timeout: float | None = None) -> Any:
        if self._down_since is not None:
            msg = "PostgreSQL svarer ikke"
            raise PoolTimeout(msg)
        return super().getconn(timeout)

    def _connect(self, timeout: float | None = None) -> Any:
        try:
            return super()._connect(timeout)
        except psycopg.OperationalError as exc:
            self.failure = exc
            self.mark_down()
            raise

    def mark_down(self) -> None:
        with self._state_lock:
            if self._down_since is not None or self.closed:
                return
            self._down_since = time.monotonic()
            stuck = list(self._in_wait)
        for conn in stuck:  # they wait on the same server: do not let them wait it out
            conn.interrupt()
        log.warning("PostgreSQL svarer ikke (%s): forespørsler får 503 til den svarer igjen", self.name)
        threading.Thread(target=self._probe, name=f"{self.name}-probe", daemon=True).start()

    def _probe(self) -> None:
        while not self.closed:
            time.sleep(PROBE_INTERVAL)
            try:
                ConnectionPool._connect(self).close()  # noqa: SLF001 - no mark_down from here
            except Exception as exc:  # noqa: BLE001 - still down: try again
                self.failure = exc
                continue
            try:
                self.check()  # drop idle connections that broke with the database
            except Exception:  # noqa: BLE001 - the pool replaces what it cannot check
                log.debug("pool check after recovery failed", exc_info=True)
            with self._state_lock:
                down_for = time.monotonic() - (self._down_since or time.monotonic())
                self._down_since = None
                self.failure = None
            log.warning("PostgreSQL svarer igjen (%s) etter %.1f s", self.name, down_for)
            return


def _resilient_pool(
    datastore: PostgresDatastore, name: str, statement_timeout: int
) -> ResilientPool:
    """A `ResilientPool` in place of the datastore's own (not yet opened) pool."""
    old = datastore.pool
    timeout = float(old.timeout)
    kwargs = dict(old.kwargs or {})  # type: ignore[arg-type]
    kwargs.update(
        connect_timeout=max(1, round(timeout)),
        application_name=APPLICATION_NAME,
        # The views and the key table are named without a schema: they go in this one.
        # A statement that runs away is cancelled by the server.
        options=f"-c search_path={datastore.schema} -c statement_timeout={statement_timeout}s",
        # A server that vanishes without closing its connections (a cut network) is
        # noticed within seconds instead of the operating system's hours.
        keepalives=1,
        keepalives_idle=10,
        keepalives_interval=5,
        keepalives_count=3,
        tcp_user_timeout=int(max(10.0, 2 * timeout) * 1000),
    )
    answer_timeout = statement_timeout + ANSWER_MARGIN

    def configure(conn: Any) -> None:
        conn.answer_timeout = answer_timeout
        after_connect(conn)

    after_connect = datastore.after_connect_func()
    return ResilientPool(
        connection_class=GuardedConnection,
        kwargs=kwargs,
        min_size=old.min_size,
        max_size=old.max_size,
        open=False,
        configure=configure,
        timeout=timeout,
        max_waiting=old.max_waiting,
        max_lifetime=old.max_lifetime,
        # Give up a failed reconnection soon, so that the next request starts a fresh
        # attempt at once instead of waiting for a backoff of minutes.
        reconnect_timeout=max(2.0, timeout),
        name=name,
    )


@contextmanager
def _ddl_lock(datastore: PostgresDatastore) -> Iterator[psycopg.Connection[Any]]:
    """A connection of its own holding the schema's DDL lock (not one from the pool,
    which may have a single connection that the DDL itself needs)."""
    pool = datastore.pool
    kwargs = {k: v for k, v in (pool.kwargs or {}).items() if k != "row_factory"}  # type: ignore[union-attr]
    kwargs.setdefault("connect_timeout", max(1, round(float(pool.timeout))))
    try:
        conn = psycopg.connect(autocommit=True, **kwargs)
    except psycopg.Error as exc:
        raise _store_error(exc) from exc
    try:
        conn.execute("SET lock_timeout = '60s'")
        conn.execute("SELECT pg_advisory_lock(%s)", (lock_key(datastore.schema, "ddl"),))
        yield conn
    except psycopg.Error as exc:
        raise _store_error(exc) from exc
    finally:
        conn.close()  # ends the session, and with it the lock


def _prepare_schema(datastore: PostgresDatastore) -> None:
    """Make the schema if it is missing (CREATE needs the privilege only then)."""
    with _ddl_lock(datastore) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (datastore.schema,)
        ).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                sql.Identifier(datastore.schema)))


class Factory(PostgresFactory):
    """eventsourcing's PostgreSQL factory, with the pool and schema handling above.

    Chosen by `PERSISTENCE_MODULE=stafettlogg.postgres:Factory`; every setting comes
    from eventsourcing's own `POSTGRES_*` keys, which the application fills in from
    `STAFETTLOGG_DATABASE_URL` and `STAFETTLOGG_POSTGRES_*`.
    """

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        try:
            self.datastore.pool = _resilient_pool(
                self.datastore, "stafettlogg-events", int(env.get("STATEMENT_TIMEOUT") or 10)
            )
            _prepare_schema(self.datastore)
        except BaseException:
            self.datastore.close()
            raise

    def aggregate_recorder(self, purpose: str = "events") -> Any:
        with _ddl_lock(self.datastore):
            return super().aggregate_recorder(purpose)

    def application_recorder(self) -> Any:
        with _ddl_lock(self.datastore):
            return super().application_recorder()


def datastore_for(
    address: PostgresAddress, settings: PostgresSettings, name: str
) -> PostgresDatastore:
    """A datastore of its own (for a key store in another database than the events)."""
    datastore = PostgresDatastore(
        dbname=address.dbname,
        host=address.host,
        port=address.port,
        user=address.user,
        password=address.password,
        connect_timeout=settings.connect_timeout,
        idle_in_transaction_session_timeout=settings.idle_in_transaction_timeout,
        pool_size=1,
        max_overflow=settings.pool_size + settings.max_overflow - 1,
        lock_timeout=settings.lock_timeout,
        schema=settings.schema,
    )
    try:
        datastore.pool = _resilient_pool(datastore, name, settings.statement_timeout)
        _prepare_schema(datastore)
    except BaseException:
        datastore.close()
        raise
    return datastore


def _attempts(datastore: PostgresDatastore, work: Callable[[psycopg.Connection[Any]], T]) -> T:
    """Run `work` on a pooled connection; again on a fresh one if the first had broken."""
    for attempt in range(ATTEMPTS):
        try:
            with datastore.get_connection() as conn:
                return work(conn)
        except STORE_UNAVAILABLE as exc:
            if attempt + 1 == ATTEMPTS or not connection_lost(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def ping(datastore: PostgresDatastore, timeout: float) -> None:
    """Raise OperationalError unless the database answers within `timeout` seconds."""

    def select_one(conn: psycopg.Connection[Any]) -> None:
        conn.execute("SELECT 1")

    pool = datastore.pool
    if isinstance(pool, ResilientPool) and pool.is_down:
        msg = "PostgreSQL svarer ikke"
        raise OperationalError(msg) from pool.failure
    for attempt in range(ATTEMPTS):
        try:
            with pool.connection(timeout=timeout) as conn:
                usual = getattr(conn, "answer_timeout", None)
                if usual is not None:
                    conn.answer_timeout = timeout  # a ready check waits no longer than this
                try:
                    select_one(conn)
                finally:
                    if usual is not None and not conn.closed:
                        conn.answer_timeout = usual
                return
        except psycopg.Error as exc:
            if attempt + 1 == ATTEMPTS or not connection_lost(exc):
                raise _store_error(exc) from exc


# --- the views --------------------------------------------------------------------


@lru_cache(maxsize=512)
def _pg(statement: str) -> str:
    """`?` placeholders (as the projections write them) to psycopg's `%s`."""
    return statement.replace("%", "%%").replace("?", "%s")


class _Connection:
    """A psycopg connection that takes the projections' `?` SQL and gives tuples."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, statement: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        cursor = self._conn.cursor(row_factory=tuple_row)
        if params:
            return cursor.execute(_pg(statement), tuple(params))
        return cursor.execute(statement)


class PostgresViews:
    """The view tables and tracking positions, in the event store's database."""

    def __init__(self, datastore: PostgresDatastore, *, lock_timeout: int) -> None:
        self.datastore = datastore
        self.namespace = datastore.schema
        self._set_lock_timeout = f"SET LOCAL lock_timeout = '{int(lock_timeout)}s'"

    def read(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return _attempts(
            self.datastore, lambda conn: _Connection(conn).execute(statement, params).fetchall()
        )

    @contextmanager
    def transaction(self, lock: str | None) -> Iterator[_Connection]:
        with self.datastore.get_connection() as conn, conn.transaction():
            conn.execute(self._set_lock_timeout)
            if lock is not None:
                # One writer per projection: the lock lasts until commit or rollback.
                conn.execute(
                    "SELECT pg_advisory_xact_lock(%s)", (lock_key(self.namespace, lock),)
                )
            yield _Connection(conn)

    def close(self) -> None:
        """The pool belongs to the event store, which closes it."""


# --- the child keys -----------------------------------------------------------------


class PostgresKeyTable:
    """The children's wrapped data keys (`child_keys`) and the master key they are
    wrapped under (`child_key_master`), for `ChildKeyStore`."""

    def __init__(self, datastore: PostgresDatastore, *, owned: bool) -> None:
        self.datastore = datastore
        self._owned = owned
        with datastore.get_connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s)", (lock_key(datastore.schema, "ddl"),)
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS child_keys"
                " (child_id TEXT PRIMARY KEY, wrapped BYTEA NOT NULL)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS child_key_master (id INTEGER PRIMARY KEY"
                " CHECK (id = 1), current TEXT NOT NULL, following TEXT)"
            )

    def _rows(self, statement: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return _attempts(self.datastore, lambda conn: conn.cursor(row_factory=tuple_row).execute(
            statement, params
        ).fetchall())

    def _count(self, statement: str, params: tuple[Any, ...]) -> int:
        return _attempts(self.datastore, lambda conn: conn.execute(statement, params).rowcount)

    def insert(self, child_id: str, wrapped: bytes, target: str) -> bool:
        def work(conn: psycopg.Connection[Any]) -> bool:
            with conn.transaction():
                # Shares the row a rotation updates: a key is stored under the master
                # key the store wraps under when it commits, never under a retired one.
                row = conn.cursor(row_factory=tuple_row).execute(
                    "SELECT COALESCE(following, current) FROM child_key_master FOR SHARE"
                ).fetchone()
                if row is None or row[0] != target:
                    return False
                conn.execute(
                    "INSERT INTO child_keys (child_id, wrapped) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING",
                    (child_id, wrapped),
                )
                return True

        return _attempts(self.datastore, work)

    def get(self, child_id: str) -> bytes | None:
        rows = self._rows("SELECT wrapped FROM child_keys WHERE child_id = %s", (child_id,))
        return None if not rows else bytes(rows[0][0])

    def ping(self, timeout: float) -> None:
        # Within the timeout, as the event store's check: a database that went silent
        # must not hold /ready (the key table may live in the same database).
        ping(self.datastore, timeout)

    def delete(self, child_id: str) -> None:
        self._count("DELETE FROM child_keys WHERE child_id = %s", (child_id,))

    def master_state(self) -> tuple[str, str | None] | None:
        rows = self._rows("SELECT current, following FROM child_key_master", ())
        return None if not rows else (rows[0][0], rows[0][1])

    def start_master_state(self, current: str) -> None:
        self._count(
            "INSERT INTO child_key_master (id, current) VALUES (1, %s) ON CONFLICT DO NOTHING",
            (current,),
        )

    def begin_master_rotation(self, current: str, following: str) -> bool:
        return self._count(
            "UPDATE child_key_master SET following = %s"
            " WHERE current = %s AND (following IS NULL OR following = %s)",
            (following, current, following),
        ) == 1

    def finish_master_rotation(self, current: str, following: str) -> bool:
        return self._count(
            "UPDATE child_key_master SET current = following, following = NULL"
            " WHERE current = %s AND following = %s",
            (current, following),
        ) == 1

    def first_key(self) -> tuple[str, bytes] | None:
        rows = self._rows(
            "SELECT child_id, wrapped FROM child_keys ORDER BY child_id LIMIT 1", ()
        )
        return None if not rows else (rows[0][0], bytes(rows[0][1]))

    def keys_after(self, child_id: str, limit: int) -> list[tuple[str, bytes]]:
        rows = self._rows(
            "SELECT child_id, wrapped FROM child_keys WHERE child_id > %s"
            " ORDER BY child_id LIMIT %s",
            (child_id, limit),
        )
        return [(row[0], bytes(row[1])) for row in rows]

    def rewrap(self, changes: list[tuple[str, bytes, bytes]]) -> int:
        def work(conn: psycopg.Connection[Any]) -> int:
            with conn.transaction():
                return sum(
                    conn.execute(
                        "UPDATE child_keys SET wrapped = %s WHERE child_id = %s AND wrapped = %s",
                        (new, child_id, old),
                    ).rowcount
                    for child_id, old, new in changes
                )

        return _attempts(self.datastore, work)

    def close(self) -> None:
        if self._owned:
            self.datastore.close()


# --- the key file belongs to this database ---------------------------------------------


def check_key_file(datastore: PostgresDatastore, digest: str, replaces: str | None = None) -> bool:
    """Record which key file the database was made with; False if it was another.

    Processes on several machines share one database: a process that made a key file
    of its own would write events no other process can read. A key file made by
    `stafettlogg keys rotate` names the one it `replaces`: the database moves on to
    it (and from then on refuses the old one)."""

    def check(conn: psycopg.Connection[Any]) -> bool:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(datastore.schema, "ddl"),))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS key_check (name TEXT PRIMARY KEY, digest TEXT NOT NULL)"
            )
            conn.execute(
                "INSERT INTO key_check (name, digest) VALUES ('key-file', %s)"
                " ON CONFLICT DO NOTHING",
                (digest,),
            )
            row = conn.cursor(row_factory=tuple_row).execute(
                "SELECT digest FROM key_check WHERE name = 'key-file'"
            ).fetchone()
            if row is not None and replaces is not None and row[0] == replaces:
                conn.execute("UPDATE key_check SET digest = %s WHERE name = 'key-file'", (digest,))
                return True
        return row is not None and row[0] == digest

    return _attempts(datastore, check)
