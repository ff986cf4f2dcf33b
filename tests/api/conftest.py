"""Fixtures for the HTTP API: the real ASGI app on a real encrypted store (SQLite and
PostgreSQL: see `backend` in tests/conftest.py), called through Litestar's async test
client with real signed tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from stafettlogg.web.app import create_app
from stafettlogg.application import Stafettlogg
from tests.log_scan import LogScan
from stafettlogg.tokens import issue_token
from tests.conftest import ADMIN, Backend, register_services

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Users:
    """Who is who in the tests: name -> token claims."""

    CLAIMS: dict[str, dict[str, Any]] = {
        "kari": {"roles": ["worker"], "service": "bhg-solsikken", "municipalities": ["4225"]},
        "per": {"roles": ["worker"], "service": "hauge-skole", "municipalities": ["4225"]},
        "pia": {"roles": ["worker"], "service": "ppt-lister", "municipalities": ["4225", "4227"]},
        "hanne": {"roles": ["worker"], "service": "hs-lyngdal", "municipalities": ["4225"]},
        "kim": {"roles": ["worker", "coordinator"], "service": "hs-lyngdal",
                "municipalities": ["4225"]},
        "ola": {"roles": ["worker"], "service": "kvinesdal-skole", "municipalities": ["4227"]},
        "eva": {"roles": ["evaluator"], "municipalities": ["4225"]},
        "liv": {"roles": ["leader"], "service": "hauge-skole", "municipalities": ["4225"]},
        "adam": {"roles": ["admin"]},
        "stranger": {"roles": ["worker"], "service": "hs-lyngdal", "municipalities": ["4225"]},
    }

    def __init__(self, app: Stafettlogg) -> None:
        self.app = app

    issued: list[str] = []  # every token of the test, for the log scan

    def token(self, user: str) -> str:
        claims = self.CLAIMS[user]
        token = issue_token(
            self.app.settings, self.app.keys, sub=user, name=user.title(),
            roles=claims["roles"], service=claims.get("service"),
            municipalities=claims.get("municipalities", []), now=datetime.now(UTC),
        )
        Users.issued.append(token)
        return token

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}", **extra}


def open_api_app(data_dir: Path, backend: Backend) -> Stafettlogg:
    """The API tests' application: the registered services, and Kvinesdal skole (4227)."""
    settings = backend.settings(data_dir, STAFETTLOGG_RATE_LIMIT_PER_MINUTE="100000")
    app = Stafettlogg(settings, clock=lambda: NOW)
    register_services(app)
    app.register_service(
        ADMIN, service_id="kvinesdal-skole", name="Kvinesdal skole", sector="skole",
        municipalities=["4227"], at=NOW,
    )
    return app


@pytest.fixture
def stafettlogg(tmp_path: Path, backend: Backend) -> Iterator[Stafettlogg]:
    app = open_api_app(tmp_path / "var", backend)
    yield app
    app.close()


@pytest.fixture
def users(stafettlogg: Stafettlogg) -> Users:
    return Users(stafettlogg)


@pytest.fixture(autouse=True)
def log_scan() -> Iterator[LogScan]:
    """Every API test runs with the service's JSON log captured; afterwards no line may
    hold a token, a text or name sent in a body, or a fødselsnummer
    (tests/log_scan.py)."""
    Users.issued.clear()
    with LogScan() as scan:
        yield scan
        scan.secrets.update(Users.issued)
    scan.check()


@pytest.fixture
async def client(stafettlogg: Stafettlogg, log_scan: LogScan
                 ) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(app=stafettlogg)) as test_client:
        log_scan.watch(test_client)
        yield test_client


@pytest.fixture
def as_user(client: AsyncTestClient, users: Users) -> Callable[..., Any]:
    """`await as_user("kari", "post", "/api/v1/cases", json=...)`."""

    async def call(user: str | None, method: str, url: str, headers: dict | None = None,
                   **kwargs: Any):
        all_headers = dict(headers or {})
        if user is not None:
            all_headers.update(users.headers(user))
        return await client.request(method.upper(), url, headers=all_headers, **kwargs)

    return call
