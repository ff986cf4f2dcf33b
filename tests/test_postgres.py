"""PostgreSQL as a backend: what only it has to show, against the real server.

* the same commands give the same views on SQLite and on PostgreSQL;
* two view writers on one schema (two processes) count every event once;
* every process sees every child's key, and forgetting a child reaches them all;
* a database that goes away: 503 problem documents (never a hang or a traceback),
  and the service recovers without a restart; also when it was away at start;
* bad settings are refused naming the variable.

The domain, API and projection tests run on both backends through the `backend`
fixture (tests/conftest.py); these are the PostgreSQL-only ones.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import AsyncTestClient

from stafettlogg.web.app import create_app
from stafettlogg.application import Stafettlogg
from stafettlogg.demo import demo_id_factory, load_demo
from stafettlogg.settings import Settings, SettingsError
from stafettlogg.tokens import issue_token
from tests.conftest import KARI, T0, register_services
from tests.stores import POSTGRES_URL, SQLITE, Backend, postgres_schema, require_postgres

SEED = 11
CHILDREN = 25


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh schema on the test PostgreSQL (PostgreSQL only, no SQLite twin)."""
    require_postgres(request.node.nodeid)
    with postgres_schema() as chosen:
        yield chosen


VIEW_TABLES = (
    "tracking", "cv_cases", "cv_participants", "cv_consents", "cv_actions", "cv_access_logs",
    "cv_access", "cv_guardians", "cv_by_law", "stat_cases", "stat_intervals", "stat_flows",
    "stat_actions",
)


def view_rows(views: Any) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every view table and the tracking rows, as multisets, read through the ViewStore."""
    return {t: Counter(views.read(f"SELECT * FROM {t}")) for t in VIEW_TABLES}  # noqa: S608


# --- the same behaviour as SQLite ------------------------------------------------------


def test_the_same_commands_give_the_same_views_on_both_backends(
    pg: Backend, tmp_path: Path
) -> None:
    """The demo data set, loaded through the same commands into SQLite and into
    PostgreSQL, gives the same rows in every view, and the same indicator tables."""
    views: dict[str, dict[str, Counter[tuple[Any, ...]]]] = {}
    positions: dict[str, int] = {}
    for chosen in (SQLITE, pg):
        if chosen is pg:  # one key file, so that children get the same pseudonymous ids
            (tmp_path / pg.name).mkdir()
            (tmp_path / pg.name / "keys.json").write_bytes(
                (tmp_path / SQLITE.name / "keys.json").read_bytes())
        app = Stafettlogg(chosen.settings(tmp_path / chosen.name), new_id=demo_id_factory(SEED),
                          clock=lambda: T0)
        try:
            load_demo(app, seed=SEED, children=CHILDREN)
            app.read_models.catch_up()
            views[chosen.name] = view_rows(app.read_models.views)
            positions[chosen.name] = app.recorder.max_notification_id() or 0
        finally:
            app.close()
    assert positions["sqlite"] == positions["postgres"] > 500
    assert sum(views["sqlite"]["cv_access"].values()) > 100
    for table, rows in views["sqlite"].items():
        assert views["postgres"][table] == rows, f"{table} differs between the backends"


# --- exactly once, with several writers ----------------------------------------------


def test_two_view_writers_on_one_schema_count_every_event_once(
    pg: Backend, tmp_path: Path
) -> None:
    """Two applications on one schema (as two processes) write cases and catch their
    views up at the same time, from several threads: the views equal a rebuild."""
    settings = pg.settings(tmp_path / "var")
    first = Stafettlogg(settings, clock=lambda: T0)
    second = Stafettlogg(settings, clock=lambda: T0)
    try:
        register_services(first)
        errors: list[BaseException] = []

        def work(app: Stafettlogg, n: int) -> None:
            try:
                for i in range(6):
                    case = app.open_case(KARI, child_name=f"Barn {n} {i}", concern="Uro")
                    app.add_entry(KARI, case.id, kind="note", text="notat")
                    app.read_models.catch_up()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=work, args=(app, n))
            for n, app in enumerate([first, second, first, second])
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        first.read_models.catch_up()
        second.read_models.catch_up()
        live = view_rows(first.read_models.views)
        assert sum(live["cv_cases"].values()) == 24
        first.read_models.rebuild()
        assert view_rows(second.read_models.views) == live
    finally:
        first.close()
        second.close()


def test_a_crash_between_rows_and_position_counts_nothing_twice(
    pg: Backend, tmp_path: Path
) -> None:
    app = Stafettlogg(pg.settings(tmp_path / "var"), clock=lambda: T0)
    try:
        register_services(app)
        for i in range(3):
            app.open_case(KARI, child_name=f"Barn {i}", concern="Uro")
        views, projection = app.read_models.views, app.read_models.projections[1]

        def crash() -> None:
            raise RuntimeError("the process dies here")

        for each in app.read_models.projections:
            views.ensure(each)
        before = view_rows(views)
        with pytest.raises(RuntimeError):
            views.process(projection, app.read_models.source, _before_tracking=crash)
        assert view_rows(views) == before  # neither the rows nor the position
        app.read_models.catch_up()
        after = view_rows(views)
        app.read_models.rebuild()
        assert view_rows(views) == after
        assert sum(n for r, n in after["stat_flows"].items() if r[0] == "case_opened") == 3
    finally:
        app.close()


# --- the child keys ------------------------------------------------------------------------


def test_every_process_sees_every_childs_key_and_forgetting_reaches_them_all(
    pg: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("stafettlogg.backends.KEY_CACHE_SECONDS_SHARED", 0.2)
    # Two machines: two data dirs with one key file.
    one = Stafettlogg(pg.settings(tmp_path / "one"), clock=lambda: T0)
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "keys.json").write_bytes((tmp_path / "one" / "keys.json").read_bytes())
    two = Stafettlogg(pg.settings(tmp_path / "two"), clock=lambda: T0)
    try:
        register_services(one)
        case = one.open_case(KARI, child_name="Ingrid Aasen", concern="Stille i lek", at=T0)
        assert two.child_details(case.id).name == "Ingrid Aasen"
        one.forget_child(case.id)
        time.sleep(0.3)
        assert two.child_details(case.id).name == "[slettet]"
        assert not (tmp_path / "two" / "child-keys.sqlite3").exists()
    finally:
        one.close()
        two.close()


# --- the database goes away ------------------------------------------------------------------


class TcpProxy:
    """A TCP relay to PostgreSQL that the test can cut.

    `cut("refuse")` drops every open connection and closes new ones at once (as a
    crashed server would); `cut("blackhole")` keeps every connection open but forwards
    nothing, new ones included (as a network that fails silently); `heal()` lets
    everything through again (held bytes flow on)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.mode = "up"
        self.open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.mode == "blackhole" and not self._stop:
                    time.sleep(0.02)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self, mode: str) -> None:
        self.mode = mode
        if mode != "refuse":
            return
        with self._lock:
            dropped, self.open = self.open, []
        for s in dropped:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def heal(self) -> None:
        self.mode = "up"

    def close(self) -> None:
        self._stop = True
        self.cut("refuse")
        self.listener.close()


@pytest.fixture
def proxy(pg: Backend) -> Iterator[TcpProxy]:
    address = urlsplit(POSTGRES_URL)
    relay = TcpProxy((address.hostname or "127.0.0.1", address.port or 5432))
    try:
        yield relay
    finally:
        relay.close()


def through(pg: Backend, proxy: TcpProxy, data_dir: Path) -> Settings:
    """Settings that reach the test's schema through the proxy."""
    address = urlsplit(POSTGRES_URL)
    url = f"postgresql://{address.username}@127.0.0.1:{proxy.port}{address.path}"
    return pg.settings(data_dir, STAFETTLOGG_DATABASE_URL=url,
                       STAFETTLOGG_POSTGRES_CONNECT_TIMEOUT="2",
                       STAFETTLOGG_RATE_LIMIT_PER_MINUTE="100000")


def bearer(app_settings: Settings, app: Stafettlogg, user: str, service: str) -> dict[str, str]:
    from datetime import UTC, datetime

    token = issue_token(app_settings, app.keys, sub=user, name=user.title(), roles=["worker"],
                        service=service, municipalities=["4225"], now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


async def timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == "store-unavailable", body
    assert "Databasen svarer ikke" in body["detail"]
    assert response.headers.get("retry-after") == "5"
    for leak in ("Traceback", "psycopg", "127.0.0.1", "SELECT", "Ingrid"):
        assert leak not in response.text


async def wait_until_ready(client: AsyncTestClient, deadline: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        if (await client.get("/ready")).status_code == 200:
            return time.monotonic() - started
        await asyncio.sleep(0.1)
    pytest.fail(f"not ready {deadline} s after the database came back")


@pytest.mark.parametrize("mode", ["refuse", "blackhole"])
async def test_the_service_answers_503_while_the_database_is_away_and_recovers(
    pg: Backend, proxy: TcpProxy, tmp_path: Path, mode: str
) -> None:
    settings = through(pg, proxy, tmp_path / "var")
    app = Stafettlogg(settings, clock=lambda: T0)
    try:
        register_services(app)
        kari = bearer(settings, app, "kari", "bhg-solsikken")
        async with AsyncTestClient(app=create_app(app=app)) as client:
            opened = await client.post("/api/v1/cases", headers=kari, json={
                "child": {"name": "Ingrid Aasen", "birth_date": "2020-04-17"},
                "concern": "Stille i lek.",
            })
            assert opened.status_code == 201, opened.text
            case = opened.json()["id"]

            proxy.cut(mode)
            ready, ready_took = await timed(client.get("/ready"))
            assert_unavailable(ready)
            assert ready_took < 3, ready_took
            for method, path, body in [
                ("GET", f"/api/v1/cases/{case}", None),
                ("POST", f"/api/v1/cases/{case}/entries", {"kind": "note", "text": "Ny"}),
                ("GET", "/api/v1/cases", None),
                ("GET", "/api/v1/inbox", None),
            ]:
                response, took = await timed(
                    client.request(method, path, headers=kari, json=body))
                assert_unavailable(response)
                assert took < 15, (method, path, took)
            health = await client.get("/health")
            assert health.status_code == 200

            proxy.heal()
            recovered_after = await wait_until_ready(client, 15)
            written = await client.post(f"/api/v1/cases/{case}/entries", headers=kari,
                                        json={"kind": "note", "text": "Etterpå"})
            assert written.status_code == 201, written.text
            listed = await client.get("/api/v1/cases", headers=kari)
            assert listed.status_code == 200
            assert [c["id"] for c in listed.json()["items"]] == [case]
            log = await client.get(f"/api/v1/cases/{case}/log", headers=kari)
            notes = [e["text"] for e in log.json()["entries"] if e["kind"] == "note"]
            assert notes == ["Etterpå"]  # the refused write left nothing behind
        print(f"{mode}: /ready answered 503 in {ready_took:.2f} s; recovered "
              f"{recovered_after:.2f} s after the database came back")
    finally:
        app.close()


async def test_the_service_starts_while_the_database_is_away(
    pg: Backend, proxy: TcpProxy, tmp_path: Path
) -> None:
    settings = through(pg, proxy, tmp_path / "var")
    # Make the schema and the key file first, as an earlier run would have.
    made = Stafettlogg(settings, clock=lambda: T0)
    try:
        register_services(made)
        kari = bearer(settings, made, "kari", "bhg-solsikken")
    finally:
        made.close()

    proxy.cut("refuse")
    async with AsyncTestClient(app=create_app(settings)) as client:
        assert_unavailable(await client.get("/ready"))
        assert_unavailable(await client.get("/api/v1/services", headers=kari))
        assert (await client.get("/health")).status_code == 200
        proxy.heal()
        await wait_until_ready(client, 20)
        services = await client.get("/api/v1/services", headers=kari)
        assert services.status_code == 200, services.text
        assert len(services.json()["items"]) == 4


# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "words"), [
    ("mysql://u@h/db", "må begynne med sqlite:/// eller postgresql://"),
    ("postgresql://127.0.0.1/test", "må ha bruker, vert og database"),
    ("postgresql://u@h:5432/", "må ha bruker, vert og database"),
    ("postgresql://u:hemmelig@h:99999/db", "ikke en gyldig PostgreSQL-adresse"),
    ("postgresql://u@h/db?sslmode=require", "parametre (?...) støttes ikke"),
])
def test_a_bad_database_url_is_refused_naming_the_variable(value: str, words: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"STAFETTLOGG_DATABASE_URL": value})
    assert "STAFETTLOGG_DATABASE_URL" in str(refused.value)
    assert words in str(refused.value)
    assert "hemmelig" not in str(refused.value)


@pytest.mark.parametrize(("name", "value"), [
    ("STAFETTLOGG_POSTGRES_SCHEMA", "Robert'); DROP TABLE"),
    ("STAFETTLOGG_POSTGRES_POOL_SIZE", "0"),
    ("STAFETTLOGG_POSTGRES_MAX_OVERFLOW", "mange"),
    ("STAFETTLOGG_POSTGRES_CONNECT_TIMEOUT", "0"),
    ("STAFETTLOGG_POSTGRES_LOCK_TIMEOUT", "-1"),
    ("STAFETTLOGG_KEY_STORE", "postgresql://nobody"),
])
def test_a_bad_postgres_setting_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({"STAFETTLOGG_DATABASE_URL": "postgresql://u@h/db", name: value})


def test_the_postgres_settings_and_their_defaults() -> None:
    settings = Settings.from_env({
        "STAFETTLOGG_DATABASE_URL": "postgresql://stafett:p%40ss@db.example:6543/bti",
        "STAFETTLOGG_POSTGRES_SCHEMA": "region_agder",
        "STAFETTLOGG_POSTGRES_POOL_SIZE": "8",
    })
    address = settings.postgres_address
    assert (address.user, address.password, address.host, address.port, address.dbname) == (
        "stafett", "p@ss", "db.example", 6543, "bti")
    assert settings.backend == "postgres"
    assert settings.key_store == settings.database_url  # the keys go in the database too
    assert settings.postgres.schema == "region_agder"
    assert (settings.postgres.pool_size, settings.postgres.max_overflow) == (8, 10)
    assert (settings.postgres.connect_timeout, settings.postgres.lock_timeout) == (5, 5)
    assert "p@ss" not in repr(settings) and "p%40ss" not in repr(settings)
    # A password kept out of the URL.
    apart = Settings.from_env({"STAFETTLOGG_DATABASE_URL": "postgresql://u@h/db",
                               "STAFETTLOGG_POSTGRES_PASSWORD": "s3cret"})
    assert apart.postgres_address.password == "s3cret"
    assert "s3cret" not in repr(apart)
    # The SQLite default is as before.
    default = Settings.from_env({})
    assert default.backend == "sqlite"
    assert default.sqlite_path == "var/stafettlogg.sqlite3"
    assert default.key_store == "var/child-keys.sqlite3"
