"""Fixtures of the reliability tests: a fresh backend, a server process on it, clients.

Every test here runs `python -m stafettlogg serve` as a real process configured only
by `STAFETTLOGG_*` environment variables, once on SQLite and once on PostgreSQL
(a database of its own on the machine's PostgreSQL, dropped afterwards).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.backends import Backend, PostgresBackend, SqliteBackend
from tests.reliability.harness import Api, Server, serving
from tests.stores import require_postgres

BACKENDS = ["sqlite", "postgres"]


def make_backend(request: pytest.FixtureRequest, root: Path) -> Backend:
    if request.param == "sqlite":
        return SqliteBackend(root / "var")
    # No PostgreSQL on this machine: skipped and said so in the summary (tests/stores.py),
    # or, with STAFETTLOGG_REQUIRE_POSTGRES=1 (CI), a failure.
    require_postgres(request.node.nodeid)
    return PostgresBackend(root / "var")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """This directory's own backend (it overrides the suite's `backend`): a server
    process needs a whole store of its own, here a database rather than a schema."""
    made = make_backend(request, tmp_path)
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture
def served(backend: Backend, tmp_path: Path) -> Iterator[tuple[Server, Api]]:
    with serving(backend, tmp_path / "logs") as both:
        yield both


@pytest.fixture
def server(served: tuple[Server, Api]) -> Server:
    return served[0]


@pytest.fixture
def api(served: tuple[Server, Api]) -> Api:
    return served[1]


@pytest.fixture
def pg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PostgresBackend]:
    """A database of its own on the machine's PostgreSQL (tests that need PostgreSQL)."""
    require_postgres(request.node.nodeid)
    backend = PostgresBackend(tmp_path / "var")
    try:
        yield backend
    finally:
        backend.drop()
