"""The foundations of the pages without a browser: the date filters, the error pages
beside the API's problem details, the headers of every kind of answer, and the
vendored assets (pinned as package-lock.json says, nothing in them from elsewhere)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from litestar import get
from litestar.testing import TestClient

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from stafettlogg.web import assets
from stafettlogg.web.app import create_app
from stafettlogg.web.pages.templating import dato, tid
from stafettlogg.web.security import CSP

PROJECT = Path(__file__).resolve().parents[2]
PROBLEM_JSON = "application/problem+json"


# -- dato and tid ------------------------------------------------------------------

def test_dato_shows_the_day_in_norway() -> None:
    assert dato(date(2026, 12, 2)) == "02.12.2026"
    # 23:30 UTC on New Year's Eve is already the new year in Oslo (UTC+1).
    assert dato(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == "01.01.2027"
    assert dato(datetime(2026, 12, 31, 23, 30)) == "01.01.2027"  # naive is UTC
    assert dato("2020-05-01") == "01.05.2020"
    assert dato(None) == ""


def test_tid_shows_the_time_in_norway_summer_and_winter() -> None:
    assert tid(datetime(2026, 12, 2, 8, 5, tzinfo=timezone.utc)) == "02.12.2026 kl. 09.05"
    assert tid(datetime(2026, 7, 1, 8, 5)) == "01.07.2026 kl. 10.05"  # naive UTC, summer time
    assert tid(datetime(2026, 7, 1, 8, 5, tzinfo=timezone(timedelta(hours=-4)))) == (
        "01.07.2026 kl. 14.05")
    assert tid("2026-03-29T00:59:00+00:00") == "29.03.2026 kl. 01.59"
    assert tid("2026-03-29T01:00:00+00:00") == "29.03.2026 kl. 03.00"  # the clocks go forward
    with pytest.raises(TypeError):
        tid(date(2026, 12, 2))


def test_the_filters_are_there_for_the_templates(client: TestClient) -> None:
    env = client.app.template_engine.engine  # type: ignore[union-attr]
    rendered = env.from_string("{{ d | dato }} / {{ t | tid }}").render(
        d=date(2026, 1, 9), t=datetime(2026, 1, 9, 12, 0))
    assert rendered == "09.01.2026 / 09.01.2026 kl. 13.00"


# -- pages and errors --------------------------------------------------------------

@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(tmp_path / "var")})
    application = Stafettlogg(settings)
    web = create_app(app=application)

    @get("/feil-med-vilje", sync_to_thread=False)
    def fails() -> str:
        raise RuntimeError("hemmelig detalj 12345678901")

    @get("/api/v1/feil-med-vilje", sync_to_thread=False)
    def fails_in_api() -> str:
        raise RuntimeError("hemmelig detalj 12345678901")

    web.register(fails)
    web.register(fails_in_api)
    try:
        with TestClient(app=web) as test_client:
            yield test_client
    finally:
        application.close()


def test_the_landing_page(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="nb"' in response.text
    assert "<title>Velkommen – Stafettlogg</title>" in response.text
    assert 'href="/logg-inn"' in response.text
    assert 'href="#innhold"' in response.text and 'id="innhold"' in response.text
    assert "<script>" not in response.text and "<style" not in response.text
    assert " style=" not in response.text


def test_an_unknown_page_is_a_page_and_an_unknown_api_path_a_problem(client: TestClient) -> None:
    page = client.get("/finnes-ikke")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Siden finnes ikke – Stafettlogg</title>" in page.text
    assert "finnes-ikke" not in page.text  # what was asked for is not shown back

    for path in ("/api/finnes-ikke", "/api/v1/finnes-ikke", "/schema/finnes-ikke/x"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        if path.startswith("/api"):
            assert answer.headers["content-type"].startswith(PROBLEM_JSON), path
            assert answer.json()["status"] == 404


def test_a_failure_on_a_page_is_a_500_page_without_details(
    client: TestClient, caplog: pytest.LogCaptureFixture,
) -> None:
    page = client.get("/feil-med-vilje")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "<title>Noe gikk galt – Stafettlogg</title>" in page.text
    assert "hemmelig" not in page.text and "RuntimeError" not in page.text
    assert "Traceback" not in page.text
    assert "RuntimeError" in caplog.text  # the details go to the log

    api = client.get("/api/v1/feil-med-vilje")
    assert api.status_code == 500
    assert api.headers["content-type"].startswith(PROBLEM_JSON)
    assert "hemmelig" not in api.text


def test_a_wrong_method_on_a_page_is_a_page_that_says_so(client: TestClient) -> None:
    page = client.post("/")
    assert page.status_code == 405
    assert page.headers["content-type"].startswith("text/html")
    assert "Metoden er ikke tillatt" in page.text
    assert "GET" in page.headers["allow"]


@pytest.mark.parametrize("path, cache", [
    ("/", "no-store"),
    ("/finnes-ikke", "no-store"),
    ("/health", "no-store"),
    ("/api/v1/cases", "no-store"),
    ("/schema/swagger", "no-store"),
    ("/static/site.css", "no-cache"),
    ("/static/finnes-ikke.css", "no-store"),
    (assets.url("htmx", "htmx.min.js"), "public, max-age=31536000, immutable"),
])
def test_every_answer_carries_the_security_headers(
    client: TestClient, path: str, cache: str,
) -> None:
    response = client.get(path)
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == cache


def test_the_api_documentation_takes_nothing_from_elsewhere(client: TestClient) -> None:
    for path in ("/schema", "/schema/swagger"):
        page = client.get(path)
        assert page.status_code == 200
        assert assets.url("swagger", "swagger-ui-bundle.js") in page.text
        assert not re.search(r"(src|href)=\"(https?:)?//", page.text), path
        assert "<script>" not in page.text and "<style" not in page.text
    assert client.get("/schema/openapi.json").status_code == 200


# -- the vendored assets -----------------------------------------------------------

def test_the_assets_are_the_versions_package_lock_pins() -> None:
    lock = json.loads((PROJECT / "package-lock.json").read_text(encoding="utf-8"))
    manifest = json.loads((PROJECT / "package.json").read_text(encoding="utf-8"))
    for asset in assets.ASSETS.values():
        assert manifest["dependencies"][asset.package] == asset.version, asset.package
        assert lock["packages"][f"node_modules/{asset.package}"]["version"] == asset.version
    assert assets.ASSETS["htmx"].version.startswith("2.")


def test_every_vendored_file_and_licence_is_served(client: TestClient) -> None:
    for asset in assets.ASSETS.values():
        assert "LICENSE" in asset.files, asset.package
        for file in asset.files:
            response = client.get(asset.url(file))
            assert response.status_code == 200, asset.url(file)


URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


def _outside(css: str) -> list[str]:
    """What a stylesheet would fetch from another origin."""
    found = [u for u in URL.findall(css) if re.match(r"(https?:)?//", u.strip())]
    found += re.findall(r"@import[^;]*", css)
    return found


def test_no_served_stylesheet_points_outside_the_origin(client: TestClient) -> None:
    sheets = [assets.url(name, file) for name, asset in assets.ASSETS.items()
              for file in asset.files if file.endswith(".css")]
    sheets += ["/static/site.css", "/static/fonts.css"]
    for sheet in sheets:
        css = client.get(sheet).text
        assert _outside(css) == [], sheet


def test_the_font_faces_name_the_vendored_fonts(client: TestClient) -> None:
    css = client.get("/static/fonts.css").text
    named = URL.findall(css)
    inter = assets.ASSETS["inter"]
    assert sorted(named) == sorted(
        f"vendor/{inter.path}/{file}" for file in inter.files if file.endswith(".woff2"))
    for file in named:
        assert client.get(f"/static/{file}").status_code == 200, file
