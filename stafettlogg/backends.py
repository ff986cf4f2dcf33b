"""Where the events, the children's keys and the views are kept: chosen once.

Two backends: SQLite files under the data directory (the embedded default) and
PostgreSQL (for several processes and for scale), through eventsourcing's own
Postgres module. Each says how the event store is configured, whether the key
file must be checked against the database, where the children's keys and the
views live, and how to ask the store whether it answers. The application asks its
backend and never looks at `settings.backend` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from stafettlogg.keys import ChildKeyStore, KeyFile, KeyFileError
from stafettlogg.settings import Settings, SettingsError

if TYPE_CHECKING:
    from eventsourcing.application import Application

# A child key cached by one of several processes is looked up again after this many
# seconds, so that forgetting a child reaches every process within that time.
KEY_CACHE_SECONDS_SHARED = 30.0


class Backend(Protocol):
    settings: Settings

    def persistence_env(self) -> dict[str, str]:
        """The event store's part of eventsourcing's environment."""

    def check_key_file(self, app: Application[Any], keys: KeyFile) -> None:
        """Refuse a key file that is not the one the store was made with (or the one
        a rotation made in its place)."""

    def datastore(self, app: Application[Any]) -> Any:
        """The event store's PostgreSQL datastore, or None."""

    def view_database(self, app: Application[Any]) -> Any:
        """Where the views live: a SQLite path, or the event store's database."""

    def ping(self, app: Application[Any], timeout: float) -> None:
        """Raise unless the event store answers."""

    def views_shareable(self) -> bool:
        """Whether another process can open the views (a file or a database, not memory)."""


def backend_for(settings: Settings) -> Backend:
    return PostgresBackend(settings) if settings.backend == "postgres" else SqliteBackend(settings)


def open_key_store(
    backend: Backend, app: Application[Any], keys: KeyFile,
    reload: Callable[[], list[bytes]] | None = None,
) -> ChildKeyStore:
    """The children's keys: a SQLite file, or a PostgreSQL table every process sees
    (the event store's database, or another one, so that keys are kept apart).
    `reload` reads the key file's master keys again (after a rotation elsewhere)."""
    settings = backend.settings
    address = settings.key_store_address
    masters = keys.master_keys()
    if address is None:
        return ChildKeyStore(settings.key_store, masters, reload=reload,
                             key_file=settings.key_file)
    from stafettlogg.postgres import PostgresKeyTable, datastore_for

    shared = backend.datastore(app)
    if shared is not None and address == settings.postgres_address:
        table = PostgresKeyTable(shared, owned=False)
    else:  # another database: keys apart from the events
        datastore = datastore_for(address, settings.postgres, "stafettlogg-keys")
        try:
            table = PostgresKeyTable(datastore, owned=True)
        except BaseException:
            datastore.close()
            raise
    # Another process may delete a key (forget_child): look again after a while.
    try:
        return ChildKeyStore(table, masters, cache_seconds=KEY_CACHE_SECONDS_SHARED,
                             reload=reload, key_file=settings.key_file)
    except BaseException:
        table.close()
        raise


class SqliteBackend:
    """Files under the data directory; one process writes (the views follow in it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def persistence_env(self) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": self.settings.sqlite_path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }

    def check_key_file(self, app: Application[Any], keys: KeyFile) -> None:
        """A wrong key file cannot open the store's events at all, and the key store
        refuses a retired master key: nothing more to check."""

    def datastore(self, app: Application[Any]) -> Any:
        return None

    def view_database(self, app: Application[Any]) -> Any:
        return self.settings.views_path

    def ping(self, app: Application[Any], timeout: float) -> None:
        app.recorder.max_notification_id()

    def views_shareable(self) -> bool:
        return not self.settings.views_path.startswith("file:")  # a shared-cache memory db


class PostgresBackend:
    """eventsourcing's Postgres module (through `stafettlogg.postgres.Factory`, which
    adds a pool that fails fast while the database is down); the views in the same
    database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        try:  # the extra `postgres`; without it, say so in one line, not a traceback
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ModuleNotFoundError as exc:
            msg = (
                "STAFETTLOGG_DATABASE_URL er en PostgreSQL-adresse, men PostgreSQL-driveren"
                f" ({exc.name}) er ikke installert; installer den med"
                " pip install 'stafettlogg[postgres]'"
            )
            raise SettingsError(msg) from None

    def persistence_env(self) -> dict[str, str]:
        address, pg = self.settings.postgres_address, self.settings.postgres
        return {
            "PERSISTENCE_MODULE": "stafettlogg.postgres:Factory",
            "POSTGRES_DBNAME": address.dbname,
            "POSTGRES_HOST": address.host,
            "POSTGRES_PORT": str(address.port),
            "POSTGRES_USER": address.user,
            "POSTGRES_PASSWORD": address.password,
            "POSTGRES_SCHEMA": pg.schema,
            "POSTGRES_POOL_SIZE": str(pg.pool_size),
            "POSTGRES_MAX_OVERFLOW": str(pg.max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": str(pg.connect_timeout),
            "POSTGRES_LOCK_TIMEOUT": str(pg.lock_timeout),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(pg.idle_in_transaction_timeout),
            # Read by stafettlogg.postgres.Factory (eventsourcing has no such key).
            "STATEMENT_TIMEOUT": str(pg.statement_timeout),
        }

    def check_key_file(self, app: Application[Any], keys: KeyFile) -> None:
        """Processes share the database: one with a key file of its own is refused
        at start, before it could write events that no other process can read; so is
        the key file a rotation replaced."""
        from stafettlogg.postgres import check_key_file

        if not check_key_file(self.datastore(app), keys.fingerprint, keys.replaces):
            msg = (
                f"nøkkelfilen {self.settings.key_file} er ikke den databasen ble laget med;"
                " bruk den samme nøkkelfilen i alle prosesser"
            )
            raise KeyFileError(msg)

    def datastore(self, app: Application[Any]) -> Any:
        return app.factory.datastore  # type: ignore[attr-defined]

    def view_database(self, app: Application[Any]) -> Any:
        from stafettlogg.postgres import PostgresViews

        return PostgresViews(self.datastore(app), lock_timeout=self.settings.postgres.lock_timeout)

    def ping(self, app: Application[Any], timeout: float) -> None:
        from stafettlogg.postgres import ping

        ping(self.datastore(app), timeout)

    def views_shareable(self) -> bool:
        return True
