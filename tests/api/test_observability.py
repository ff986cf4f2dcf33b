"""What the operators see: one JSON log line per request with the route template and
no personal data, /metrics in the Prometheus format, /ready part by part, the
database errors waiting will not mend said once in plain words, and --version.

Every API test's log is scanned as well (the autouse `log_scan` in conftest.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from stafettlogg import cli
from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from stafettlogg.web.app import create_app
from stafettlogg.web.metrics import may_read_metrics
from tests.api.conftest import NOW, Users
from tests.conftest import register_services
from tests.log_scan import LogScan
from tests.stores import require_postgres

API = "/api/v1"
CHILD = {"name": "Ingrid Aasen", "birth_date": "2020-04-17", "national_id": "02013299997"}
CONCERN = "Ingrid gråter mye når hun blir hentet."
METRICS_TOKEN = "m" * 40


async def test_one_line_per_request_with_the_route_template_and_the_staff_id(
    as_user: Any, log_scan: LogScan
) -> None:
    opened = await as_user("kari", "post", f"{API}/cases",
                           json={"child": CHILD, "concern": CONCERN})
    assert opened.status_code == 201, opened.text
    case = opened.json()["id"]
    assert (await as_user("kari", "get", f"{API}/cases/{case}")).status_code == 200
    assert (await as_user("kari", "get", f"{API}/cases/{case}/log")).status_code == 200
    assert (await as_user("kari", "get", f"{API}/cases?status=open")).status_code == 200
    assert (await as_user(None, "get", f"{API}/cases/{case}")).status_code == 401
    assert (await as_user("kari", "get", f"{API}/no/such/{case}")).status_code == 404

    lines = log_scan.requests()
    assert [(line["method"], line["route"], line["status"], line["user"]) for line in lines] == [
        ("POST", "/api/v1/cases", 201, "kari"),
        ("GET", "/api/v1/cases/{case_id}", 200, "kari"),
        ("GET", "/api/v1/cases/{case_id}/log", 200, "kari"),
        ("GET", "/api/v1/cases", 200, "kari"),
        ("GET", "/api/v1/cases/{case_id}", 401, None),
        ("GET", "-", 404, None),  # no route: never the path
    ]
    assert all(isinstance(line["duration_ms"], float) for line in lines)
    assert case not in str(log_scan.lines())
    # What the scan at the end looks for was sent (the name, the number, the text).
    assert {CHILD["name"], CHILD["national_id"], CONCERN} <= log_scan.secrets


def test_the_scan_finds_a_name_a_number_and_a_token(log_scan: LogScan) -> None:
    """The scan of every API test's log can fail: a planted leak is found."""
    for planted in ("Ingrid Aasen", "02013299997", "eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl"):
        with LogScan() as scan:
            scan.secrets.add("Ingrid Aasen")
            logging.getLogger("stafettlogg.test").warning("noe om %s", planted)
        with pytest.raises(AssertionError):
            scan.check()
    log_scan.forget()  # the planted lines were caught by this test's own scan too


def _families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def _requests(families: dict[str, Any], route: str) -> float:
    return sum(sample.value for sample in families["stafettlogg_http_requests"].samples
               if sample.name.endswith("_total") and sample.labels["route"] == route)


async def test_metrics_parse_and_move_when_requests_are_made(tmp_path: Path) -> None:
    settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(tmp_path),
                                  "STAFETTLOGG_METRICS_TOKEN": METRICS_TOKEN})
    app = Stafettlogg(settings, clock=lambda: NOW)
    register_services(app)
    token = {"Authorization": f"Bearer {Users(app).token('kari')}"}
    reader = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    try:
        async with AsyncTestClient(app=create_app(app=app)) as client:
            assert (await client.get("/metrics")).status_code == 404  # no token: nothing
            wrong = {"Authorization": f"Bearer {'x' * 40}"}
            assert (await client.get("/metrics", headers=wrong)).status_code == 404
            first = await client.get("/metrics", headers=reader)
            assert first.status_code == 200
            assert first.headers["content-type"].startswith("text/plain; version=0.0.4")
            before = _families(first.text)
            for _ in range(3):
                assert (await client.get(f"{API}/services", headers=token)).status_code == 200
            opened = await client.post(f"{API}/cases", headers=token,
                                       json={"child": CHILD, "concern": CONCERN})
            assert opened.status_code == 201
            after_text = (await client.get("/metrics", headers=reader)).text
    finally:
        app.close()
    after = _families(after_text)
    assert _requests(after, "/api/v1/services") == _requests(before, "/api/v1/services") + 3
    durations = after["stafettlogg_http_request_duration_seconds"]
    assert any(s.labels.get("route") == "/api/v1/cases" for s in durations.samples)
    statuses = {s.labels["status"] for s in after["stafettlogg_http_requests"].samples}
    assert statuses <= {"2xx", "3xx", "4xx", "5xx"}
    lag = {s.labels["view"]: s.value for s in after["stafettlogg_projection_lag_events"].samples}
    assert {"case_views", "statistics", "outbox"} <= set(lag)
    assert all(value >= 0 for value in lag.values())
    assert after["stafettlogg_store_up"].samples[0].value == 1
    for name in ("stafettlogg_statistics_months_released", "stafettlogg_statistics_months_pending",
                 "stafettlogg_statistics_releaser_running", "stafettlogg_store_errors"):
        assert name in after, name
    # No label names a case, a child or a person; no sent text anywhere.
    labels = {value for family in after.values() for s in family.samples
              for value in s.labels.values()}
    assert opened.json()["id"] not in after_text
    assert not {CHILD["name"], CHILD["national_id"], "kari"} & labels
    assert CHILD["name"] not in after_text


def test_without_a_token_only_this_machine_without_a_proxy_may_read_the_metrics(
    tmp_path: Path
) -> None:
    open_settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(tmp_path)})
    assert may_read_metrics(open_settings, "127.0.0.1", {})
    assert may_read_metrics(open_settings, "::1", {})
    assert not may_read_metrics(open_settings, "10.0.0.7", {})
    assert not may_read_metrics(open_settings, "testclient", {})
    assert not may_read_metrics(open_settings, "127.0.0.1", {"x-forwarded-for": "203.0.113.9"})
    assert not may_read_metrics(open_settings, "127.0.0.1", {"forwarded": "for=203.0.113.9"})
    with_token = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(tmp_path),
                                    "STAFETTLOGG_METRICS_TOKEN": METRICS_TOKEN})
    assert not may_read_metrics(with_token, "127.0.0.1", {})
    assert may_read_metrics(with_token, "10.0.0.7", {"authorization": f"Bearer {METRICS_TOKEN}"})


async def test_ready_names_the_part_that_is_not_ready(tmp_path: Path) -> None:
    settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(tmp_path)})
    app = Stafettlogg(settings, clock=lambda: NOW)
    try:
        async with AsyncTestClient(app=create_app(app=app)) as client:
            ready = await client.get("/ready")
            assert ready.status_code == 200
            assert ready.json()["checks"]["key_store"] == {"status": "ok"}
            app.key_store.close()
            # The key file is out of reach (a disk unmounted under the running service).
            app.key_store._table._path = str(tmp_path / "gone" / "keys.sqlite3")  # noqa: SLF001

            broken = await client.get("/ready")
    finally:
        app.close()
    assert broken.status_code == 503, broken.text
    body = broken.json()
    assert body["code"] == "not-ready"
    assert body["checks"]["key_store"]["status"] == "not-ready"
    assert body["checks"]["store"] == {"status": "ok"}
    assert "nøkkellageret" in body["detail"]


@pytest.mark.parametrize(("url", "cause", "said"), [
    ("postgresql://nosuchrole@127.0.0.1:5432/test", "unknown-role",
     "PostgreSQL på 127.0.0.1:5432 kjenner ikke brukeren «nosuchrole»"),
    ("postgresql://postgres@127.0.0.1:5432/nosuchdb", "missing-database",
     "PostgreSQL på 127.0.0.1:5432 har ingen database «nosuchdb»"),
])
async def test_a_database_error_waiting_will_not_mend_is_said_once_and_ready_names_it(
    request: pytest.FixtureRequest, tmp_path: Path, log_scan: LogScan,
    url: str, cause: str, said: str,
) -> None:
    require_postgres(request.node.nodeid)
    settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(tmp_path),
                                  "STAFETTLOGG_DATABASE_URL": url,
                                  "STAFETTLOGG_POSTGRES_PASSWORD": "hemmelig-passord"})
    async with AsyncTestClient(app=create_app(settings)) as client:
        ready = await client.get("/ready")
        await asyncio.sleep(5)  # more than two of the old retries
        again = await client.get("/ready")
        service = await client.get(f"{API}/services",
                                   headers={"Authorization": "Bearer x.y.z"})
    for answer in (ready, again):
        assert answer.status_code == 503
        body = answer.json()
        assert body["code"] == "store-unavailable"
        assert body["checks"]["store"]["cause"] == cause
        assert "nosuch" not in answer.text and "127.0.0.1" not in answer.text
    assert service.status_code == 503
    said_lines = [line for line in log_scan.lines() if line["logger"] != "stafettlogg.requests"]
    errors = [line for line in said_lines if line["level"] == "error"]
    assert len(errors) == 1, said_lines
    assert said in errors[0]["message"]
    assert "start tjenesten på nytt" in errors[0]["message"]
    assert not [line for line in said_lines if "trying again" in line["message"]]
    assert "hemmelig-passord" not in str(log_scan.lines())


def test_a_cli_command_on_an_unknown_role_says_so_in_one_line(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_postgres(request.node.nodeid)
    monkeypatch.setenv("STAFETTLOGG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STAFETTLOGG_DATABASE_URL", "postgresql://nosuchrole@127.0.0.1:5432/test")
    assert cli.main(["demo", "--children", "1"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["stafettlogg: PostgreSQL på 127.0.0.1:5432 kjenner ikke brukeren «nosuchrole»"
                   " (STAFETTLOGG_DATABASE_URL); lag rollen eller rett adressen"]


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"stafettlogg {version('stafettlogg')}"
