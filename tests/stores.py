"""Where a test's store lives: SQLite in a temp dir, or a fresh PostgreSQL schema.

Kept apart from conftest.py so that there is one copy of the running test's backend
(`_active`), whichever way conftest.py is imported (pytest loads it as `conftest`,
tests import it as `tests.conftest`).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from stafettlogg.settings import Settings

POSTGRES_URL = os.environ.get(
    "STAFETTLOGG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# The test data's municipalities by name (as a deployment sets them).
MUNICIPALITY_NAMES = "4225=Lyngdal,4227=Kvinesdal"
REQUIRE_POSTGRES = os.environ.get("STAFETTLOGG_REQUIRE_POSTGRES", "") not in ("", "0")
HOW_TO_ENABLE = (
    "start PostgreSQL on 127.0.0.1:5432 with a database `test` the user `postgres` may use"
    " (or point STAFETTLOGG_TEST_DATABASE_URL at one), and run `make setup` so that psycopg"
    " is installed"
)
SCHEMA_PREFIX = "t_"


@dataclass
class Backend:
    """Where a test's store lives: the STAFETTLOGG_* variables that choose it."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    schema: str | None = None

    def settings(self, data_dir: Path, **extra: str) -> Settings:
        return Settings.from_env(self.env_for(data_dir, **extra))

    def env_for(self, data_dir: Path, **extra: str) -> dict[str, str]:
        """The STAFETTLOGG_* variables of these settings (for a process a test starts)."""
        return {"STAFETTLOGG_DATA_DIR": str(data_dir),
                "STAFETTLOGG_MUNICIPALITY_NAMES": MUNICIPALITY_NAMES, **self.env, **extra}

    def connect(self) -> Any:
        """A psycopg connection to this test's schema (PostgreSQL only)."""
        import psycopg

        conn = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=10)
        conn.execute(f"SET search_path = {self.schema}")
        return conn


SQLITE = Backend("sqlite")
# The backend of the running test: `settings_for` adds its variables.
_active: list[Backend] = [SQLITE]
skipped_postgres: list[str] = []


@functools.cache
def postgres_unreachable() -> str | None:
    """None when the test PostgreSQL answers, else why not (asked once per session)."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure: say which
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


def require_postgres(nodeid: str) -> None:
    """Skip (or, with STAFETTLOGG_REQUIRE_POSTGRES=1, fail) when PostgreSQL is not there."""
    reason = postgres_unreachable()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (STAFETTLOGG_REQUIRE_POSTGRES=1): {reason}")
    skipped_postgres.append(nodeid)
    pytest.skip(f"PostgreSQL not reachable ({reason})")


@contextmanager
def postgres_schema() -> Iterator[Backend]:
    """A fresh schema on the test PostgreSQL, dropped (with all in it) afterwards."""
    import psycopg

    schema = f"{SCHEMA_PREFIX}{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield Backend(
            "postgres",
            {"STAFETTLOGG_DATABASE_URL": POSTGRES_URL, "STAFETTLOGG_POSTGRES_SCHEMA": schema},
            schema,
        )
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    """The variables of `settings_for`, for a process the test starts."""
    return _active[0].env_for(data_dir, **extra)


def settings_for(data_dir: Path, **extra: str) -> Settings:
    """Settings for a data dir, on the running test's backend."""
    return _active[0].settings(data_dir, **extra)
