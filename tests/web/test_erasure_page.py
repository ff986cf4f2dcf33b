"""Erasing a child's data on request from the admin pages, in Chromium and over HTTP.

Adam, an admin, types a case number and a reason; a reason that names the child is
refused, tied to its field; the confirmation page says what the case is (never who)
and what erasing does; after "Ja, slett" the case reads [slettet]. An open case is
refused in Norwegian with no button to press, and nothing is erased. Every page:
axe-core finds no WCAG 2.1 A/AA violation, nothing from another host, no console error.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import datetime
from uuid import UUID

import httpx
import pytest
from playwright.sync_api import Browser, expect

from stafettlogg.application import SHREDDED
from tests.conftest import KARI
from domain.calendar import NORWAY
from tests.test_persistence import CHILD_NAME, CONCERN, NATIONAL_ID
from tests.web.servers import Server, signing_in_with
from tests.web.test_admin import Admin, csrf_of, register_the_admin, sign_in

LOGINS = {"kari": "kari-sub", "adam": "adam-sub"}
CASES: dict[str, UUID] = {}


def prepare(app) -> None:
    """On the service's own clock (now): a closed case of Ingrid, an open one of Jonas."""
    register_the_admin(app)
    closed = app.open_case(KARI, child_name=CHILD_NAME, concern=CONCERN,
                           national_id=NATIONAL_ID)
    app.record_level0_step(KARI, closed.id, step="beslutning", text="Vi avslutter.")
    app.close_case(KARI, closed.id, reason="concern-resolved", note="Løst.")
    CASES["closed"] = closed.id
    CASES["open"] = app.open_case(KARI, child_name="Jonas Bakke", concern="Jonas er sliten.").id


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("erasure"), provider, LOGINS,
                         prepare=prepare) as running:
        yield running


@pytest.fixture
def adam(browser: Browser, server: Server, provider: str) -> Iterator[Admin]:
    person = Admin(browser, server, provider)
    person.logins = LOGINS
    person.sign_in_as("adam", "/admin")
    yield person
    person.close()


def test_an_admin_erases_a_closed_case_s_child_after_confirming(adam: Admin, server: Server):
    page = adam.page
    page.get_by_role("link", name="Slett barnets opplysninger").click()
    expect(page.get_by_role("heading", name="Slett barnets opplysninger", level=1)
           ).to_be_visible()
    adam.check()

    # Nothing typed, then a reason that names the child: refused, tied to the fields.
    adam.submit("Gå videre", refused=True)
    expect(page.locator(".ds-error-summary")).to_contain_text("Skriv saksnummeret.")
    expect(page.get_by_label("Saksnummer")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Saksnummer").fill(str(CASES["closed"]))
    page.get_by_label("Begrunnelse").fill("Ingrid sin mor ringte")
    adam.submit("Gå videre", refused=True)
    expect(page.locator(".ds-error-summary")).to_contain_text("kan ikke inneholde barnets navn")
    expect(page.get_by_label("Begrunnelse")).to_have_attribute("aria-invalid", "true")

    # The confirmation: what the case is, not who.
    page.get_by_label("Begrunnelse").fill("Krav om sletting, journalpost 2026/1234")
    adam.submit("Gå videre")
    expect(page.get_by_role("heading", name="Vil du slette barnets opplysninger?", level=1)
           ).to_be_visible()
    facts = page.locator(".oversikt")
    expect(facts).to_contain_text("Lyngdal")
    expect(facts).to_contain_text(f"Avsluttet {datetime.now(NORWAY):%d.%m.%Y}")
    expect(facts).to_contain_text("journalpost 2026/1234")
    assert CHILD_NAME not in page.content()
    assert "Ingrid" not in page.title()

    adam.submit("Ja, slett opplysningene")
    page.wait_for_url("**/admin/sletting?ok=slettet")
    adam.says("Barnets opplysninger er slettet")

    app = server.app()
    try:
        details = app.child_details(CASES["closed"])
        assert (details.name, details.concern) == (SHREDDED, SHREDDED)
        assert app.case_log(CASES["closed"])[-1].kind == "child-data-erased"
    finally:
        app.close()

    # Asked again: it says when, and offers nothing to press.
    page.get_by_label("Saksnummer").fill(str(CASES["closed"]))
    page.get_by_label("Begrunnelse").fill("Krav om sletting, journalpost 2026/1234")
    adam.submit("Gå videre", refused=True)  # 409: nothing left to erase
    expect(page.get_by_role("status")).to_contain_text("ble slettet")
    assert page.get_by_role("button", name="Ja, slett opplysningene").count() == 0


def test_after_erasure_the_holder_still_opens_the_case_page_and_its_archive_package(
        server: Server):
    """Kari held the case: after the erasure (the test above) its page and its archive
    package still open, with [slettet] where the child's name, date and concern were."""
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=30) as http:
        assert sign_in(http, "kari-sub").status_code in (302, 303)
        page = http.get(f"/saker/{CASES['closed']}")
        assert page.status_code == 200
        assert SHREDDED in page.text and CHILD_NAME not in page.text
        assert CONCERN not in page.text
        package = http.get(f"/saker/{CASES['closed']}/arkivpakke.zip")
        assert package.status_code == 200
        with zipfile.ZipFile(io.BytesIO(package.content)) as z:
            xml = z.read("arkivmelding.xml").decode()
        assert CHILD_NAME not in xml and SHREDDED in xml


def test_an_open_case_is_refused_in_norwegian_and_nothing_is_erased(adam: Admin,
                                                                   server: Server):
    page = adam.page
    page.goto("/admin/sletting")
    page.get_by_label("Saksnummer").fill(str(CASES["open"]))
    page.get_by_label("Begrunnelse").fill("Krav om sletting, journalpost 2026/99")
    adam.submit("Gå videre", refused=True)
    expect(page.get_by_role("alert")).to_contain_text(
        "Saken er åpen: barnets opplysninger kan ikke slettes før saken er avsluttet.")
    assert page.get_by_role("button", name="Ja, slett opplysningene").count() == 0

    # Posted straight to the erasure, past the confirmation: refused too (409).
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as http:
        assert sign_in(http, "adam-sub").headers["location"] == "/admin"
        token = csrf_of(http.get("/admin/sletting").text)
        refused = http.post("/admin/sletting/slett", data={
            "_csrf": token, "case": str(CASES["open"]), "reason": "Krav, journalpost 2026/99"})
        assert refused.status_code == 409
        assert "Saken er åpen" in refused.text
        without_token = http.post("/admin/sletting/slett", data={
            "case": str(CASES["open"]), "reason": "Krav, journalpost 2026/99"})
        assert without_token.status_code == 403
    app = server.app()
    try:
        assert app.child_details(CASES["open"]).name == "Jonas Bakke"
    finally:
        app.close()
