"""Shared fixtures: a real application on a real, encrypted store, on both backends.

`backend` is parametrised `sqlite` / `postgres`: every test that asks for it (itself
or through `data_dir`, `app`, the API's `stafettlogg`) runs twice, once on a SQLite
file in a temp dir and once on the machine's PostgreSQL in a fresh schema of its own,
dropped afterwards. Nothing is faked: the PostgreSQL runs are against the real server.

PostgreSQL is found at `STAFETTLOGG_TEST_DATABASE_URL` (default
`postgresql://postgres@127.0.0.1:5432/test`). If it does not answer, its runs are
skipped and the summary says so and how to enable them, unless
`STAFETTLOGG_REQUIRE_POSTGRES=1` (as in CI), when they fail instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain.values import Actor
from stafettlogg.application import Stafettlogg
from tests.stores import (
    HOW_TO_ENABLE,
    SQLITE,
    Backend,
    _active,
    postgres_schema,
    postgres_unreachable,
    require_postgres,
    settings_for,
    skipped_postgres,
)

__all__ = ["Backend", "settings_for"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

ADMIN = Actor(user="admin-1", roles=frozenset({"admin"}))
KARI = Actor(  # pedagogisk leder in a kindergarten
    user="kari", service="bhg-solsikken", roles=frozenset({"worker"}),
    municipalities=frozenset({"4225"}),
)
PER = Actor(  # teacher at the school the child starts at
    user="per", service="hauge-skole", roles=frozenset({"worker"}),
    municipalities=frozenset({"4225"}),
)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield SQLITE
        return
    require_postgres(request.node.nodeid)
    with postgres_schema() as chosen:
        _active[0] = chosen
        try:
            yield chosen
        finally:
            _active[0] = SQLITE


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # Counted from the reports, so that it also holds when the tests ran in workers.
    skipped = [
        r for r in terminalreporter.stats.get("skipped", [])
        if "PostgreSQL not reachable" in str(getattr(r, "longrepr", ""))
    ]
    if skipped_postgres or skipped:
        terminalreporter.write_sep("=", "PostgreSQL", yellow=True)
        terminalreporter.write_line(
            f"The PostgreSQL part of the suite was SKIPPED ({len(skipped) or len(skipped_postgres)}"
            f" tests): {postgres_unreachable()}."
        )
        terminalreporter.write_line(f"Only SQLite was tested. To enable it: {HOW_TO_ENABLE}.")


@pytest.fixture
def data_dir(tmp_path: Path, backend: Backend) -> Path:
    return tmp_path / "var"


@pytest.fixture
def app(data_dir: Path) -> Iterator[Stafettlogg]:
    application = Stafettlogg(settings_for(data_dir), clock=lambda: T0)
    register_services(application)
    yield application
    application.close()


class MovableClock:
    """The service's clock, which a test moves forward to see what a later day shows."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(T0)


@pytest.fixture
def app_on_clock(data_dir: Path, clock: MovableClock) -> Iterator[Stafettlogg]:
    """The application with the registered services, on a clock the test moves."""
    application = Stafettlogg(settings_for(data_dir), clock=clock)
    register_services(application)
    yield application
    application.close()


def register_services(app: Stafettlogg) -> None:
    for service_id, name, sector, municipalities in [
        ("bhg-solsikken", "Solsikken barnehage", "barnehage", ["4225"]),
        ("hauge-skole", "Hauge skole", "skole", ["4225"]),
        ("ppt-lister", "PPT Lister", "ppt", ["4225", "4227"]),
        ("hs-lyngdal", "Helsestasjonen i Lyngdal", "helsestasjon", ["4225"]),
    ]:
        app.register_service(
            ADMIN, service_id=service_id, name=name, sector=sector,
            municipalities=municipalities, at=T0,
        )
    register_staff(app)


# The people of the tests, in the staff directory: a handover, a coordinator or a
# participant's contact must name one of them (tests/api/conftest.py has their tokens).
STAFF = [
    ("kari", "Kari Nordmann", "bhg-solsikken", ["worker"], ["4225"]),
    ("per", "Per Hansen", "hauge-skole", ["worker"], ["4225"]),
    ("pia", "Pia Olsen", "ppt-lister", ["worker"], ["4225", "4227"]),
    ("hanne", "Hanne Berg", "hs-lyngdal", ["worker"], ["4225"]),
    ("kim", "Kim Lunde", "hs-lyngdal", ["worker", "coordinator"], ["4225"]),
]


def register_staff(app: Stafettlogg, at: datetime = T0) -> None:
    for staff_id, name, service, roles, municipalities in STAFF:
        app.register_staff(
            ADMIN, staff_id=staff_id, name=name, service=service, roles=roles,
            municipalities=municipalities, at=at,
        )
