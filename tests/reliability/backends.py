"""Where a reliability test's server keeps its data: a fresh store per test.

* `SqliteBackend`: a data directory of its own (the SQLite event store, the views and
  the key files, as `stafettlogg serve` makes them on first start).
* `PostgresBackend`: a database of its own on the machine's PostgreSQL
  (`CREATE DATABASE`, dropped at the end), and a data directory for the key files.
  The test may put a `TcpProxy` between the service and PostgreSQL.

Both configure the server only through `STAFETTLOGG_*` environment variables, can
make a copy of themselves (for a rebuild from zero to compare with) and read every
view table as a multiset of rows.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from tests.stores import POSTGRES_URL

# The machine's PostgreSQL (STAFETTLOGG_TEST_DATABASE_URL, by default the database
# `test` on 127.0.0.1:5432, trust auth): we connect to it to make our own databases.
_PG = urlsplit(POSTGRES_URL)
PG_HOST = _PG.hostname or "127.0.0.1"
PG_PORT = _PG.port or 5432
PG_USER = _PG.username or "postgres"
PG_ADMIN_DB = _PG.path.lstrip("/") or "test"
DB_PREFIX = "stafettlogg_rel_"

# Tables of the view store: the case list, inbox and access-log listing, the
# statistics facts, and the tracking positions.
VIEW_TABLE_PREFIXES = ("cv_", "stat_")
TRACKING_TABLES = ("tracking",)

Rows = dict[str, Counter[tuple[Any, ...]]]


class Backend(Protocol):
    name: str
    data_dir: Path

    def env(self) -> dict[str, str]: ...

    def clone(self, root: Path) -> Backend: ...

    def view_rows(self) -> Rows: ...

    def drop(self) -> None: ...


def base_env(data_dir: Path) -> dict[str, str]:
    """The process environment without any stray STAFETTLOGG_* variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFETTLOGG_")}
    env.update({
        "STAFETTLOGG_DATA_DIR": str(data_dir),
        # 32 clients from one address: far above what they send, so 429 never comes.
        "STAFETTLOGG_RATE_LIMIT_PER_MINUTE": "1000000",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def _is_view_table(name: str) -> bool:
    return name.startswith(VIEW_TABLE_PREFIXES) or name in TRACKING_TABLES


class SqliteBackend:
    name = "sqlite"

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def env(self) -> dict[str, str]:
        return base_env(self.data_dir)

    def clone(self, root: Path) -> SqliteBackend:
        """A copy of the whole data directory (the server must be stopped)."""
        target = root / "var"
        shutil.copytree(self.data_dir, target)
        return SqliteBackend(target)

    def view_rows(self) -> Rows:
        path = self.data_dir / "views.sqlite3"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = [
                r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if _is_view_table(r[0])
            ]
            return {
                name: Counter(db.execute(f'SELECT * FROM "{name}"').fetchall())
                for name in names
            }
        finally:
            db.close()

    def drop(self) -> None:
        pass


def admin_connection(database: str = PG_ADMIN_DB) -> Any:
    import psycopg  # the PostgreSQL backend's driver

    return psycopg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, password=_PG.password or "",
        dbname=database, autocommit=True, connect_timeout=10,
    )


class PostgresBackend:
    """A fresh database on the machine's PostgreSQL, dropped again by `drop()`."""

    name = "postgres"

    def __init__(self, data_dir: Path, database: str | None = None, *, create: bool = True) -> None:
        self.data_dir = data_dir
        self.database = database or f"{DB_PREFIX}{uuid.uuid4().hex[:12]}"
        # Where the service connects: PostgreSQL itself, or a proxy in front of it.
        self.host = PG_HOST
        self.port = PG_PORT
        if create:
            with admin_connection() as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')

    def url(self) -> str:
        password = f":{_PG.password}" if _PG.password else ""
        return f"postgresql://{PG_USER}{password}@{self.host}:{self.port}/{self.database}"

    def env(self) -> dict[str, str]:
        env = base_env(self.data_dir)
        env["STAFETTLOGG_DATABASE_URL"] = self.url()
        return env

    def clone(self, root: Path) -> PostgresBackend:
        """A copy of the database (TEMPLATE) and of the key files (the server must be stopped)."""
        target = root / "var"
        shutil.copytree(self.data_dir, target)
        copy = PostgresBackend(target, f"{self.database}_copy", create=False)
        with admin_connection() as conn:
            conn.execute(f'CREATE DATABASE "{copy.database}" TEMPLATE "{self.database}"')
        return copy

    def view_rows(self) -> Rows:
        with admin_connection(self.database) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_type = 'BASE TABLE'"
                " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            ).fetchall()
            rows: Rows = {}
            for schema, name in tables:
                if _is_view_table(name):
                    found = conn.execute(f'SELECT * FROM "{schema}"."{name}"').fetchall()
                    rows[name if schema == "public" else f"{schema}.{name}"] = Counter(
                        tuple(r) for r in found
                    )
            return rows

    def drop(self) -> None:
        with admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def compare_views(live: Rows, rebuilt: Rows, shown: int = 5) -> list[str]:
    """What differs between two sets of view tables, table by table, in words."""
    problems: list[str] = []
    if not live:
        problems.append("the live store has no view tables at all")
    for table in sorted(set(live) | set(rebuilt)):
        if table not in rebuilt:
            problems.append(f"{table}: in the live store, missing after the rebuild")
            continue
        if table not in live:
            problems.append(f"{table}: made by the rebuild, missing in the live store")
            continue
        missing = live[table] - rebuilt[table]
        extra = rebuilt[table] - live[table]
        if missing or extra:
            problems.append(
                f"{table}: {sum(missing.values())} row(s) only in the live view "
                f"(e.g. {list(missing.elements())[:shown]}), {sum(extra.values())} only in the "
                f"rebuild (e.g. {list(extra.elements())[:shown]})"
            )
    return problems
