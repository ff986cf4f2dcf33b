"""Shared fixtures: a real application on a real, encrypted SQLite file in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.values import Actor
from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings

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


def settings_for(data_dir: Path, **extra: str) -> Settings:
    return Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir), **extra})


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def app(data_dir: Path) -> Iterator[Stafettlogg]:
    application = Stafettlogg(settings_for(data_dir), clock=lambda: T0)
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
