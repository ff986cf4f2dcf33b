"""The admin pages, by clicking and typing in Chromium, and over plain HTTP.

An admin (Adam) signs in through a real OpenID Connect provider on 127.0.0.1 and lands
on /admin. He registers a service, renames it, registers a staff member for it with a
login subject (which no page shows again), deactivates and reactivates her, and closes
the service after the confirmation page. Every page and state: axe-core finds no WCAG
2.1 A/AA violation, nothing is asked of another host, no console error. A worker gets
403 on /admin; a form posted without the session's CSRF token records nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import ADMIN
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with

LOGINS = {"kari": "kari-sub", "adam": "adam-sub"}


def register_the_admin(app) -> None:
    app.register_staff(ADMIN, staff_id="adam", name="Adam Admin", service=None,
                       roles=["admin"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("admin"), provider, LOGINS,
                         prepare=register_the_admin) as running:
        yield running


class Admin(Person):
    """An admin's browser (tests/web/people.py), and what they do on the admin pages."""

    def __init__(self, browser: Browser, server: Server, provider: str) -> None:
        super().__init__(browser, server, provider, LOGINS)

    def sign_in_as(self, staff_id: str, lands_on: str) -> None:
        self.sign_in(staff_id, lands_on)

    def submit(self, button: str, *, refused: bool = False) -> None:
        """Press the button; a refusal (400) is the page's own status, then forgotten."""
        self.press(self.page.get_by_role("button", name=button, exact=True))
        self.check(refused=refused)
        if refused:
            self.console.clear()

    def says(self, text: str) -> None:
        expect(self.page.get_by_role("status")).to_contain_text(text)


@pytest.fixture
def adam(browser: Browser, server: Server, provider: str) -> Iterator[Admin]:
    person = Admin(browser, server, provider)
    person.sign_in_as("adam", "/admin")
    yield person
    person.close()


def test_an_admin_keeps_the_services_and_the_staff(adam: Admin, server: Server):
    page = adam.page
    expect(page.get_by_role("heading", name="Administrasjon", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Administrasjon")).to_have_attribute(
        "aria-current", "page")
    assert page.get_by_role("link", name="Mine saker").count() == 0
    adam.check()

    # A service: first with mistakes, then right.
    page.get_by_role("link", name="Tjenester", exact=True).click()
    expect(page.get_by_role("heading", name="Tjenester", level=1)).to_be_visible()
    adam.check()
    form = page.locator("form[action='/admin/tjenester']")
    form.get_by_label("Navn", exact=True).fill("Lyngdal ungdomsskole")
    form.get_by_label("Tjeneste-id").fill("Lyngdal US")
    form.get_by_label("Kommunenummer").fill("422")
    adam.submit("Registrer tjenesten", refused=True)
    summary = page.locator(".ds-error-summary")
    expect(summary).to_be_visible()
    expect(page.get_by_label("Sektor")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Navn", exact=True)).to_have_value("Lyngdal ungdomsskole")
    form.get_by_label("Tjeneste-id").fill("lyngdal-us")
    form.get_by_label("Sektor").select_option("skole")
    form.get_by_label("Kommunenummer").fill("4225")
    adam.submit("Registrer tjenesten")
    expect(page.get_by_role("heading", name="Lyngdal ungdomsskole", level=1)).to_be_visible()
    adam.says("Tjenesten er registrert.")

    # Renaming it.
    page.get_by_role("textbox", name="Nytt navn").fill("Lyngdal ungdomsskole og SFO")
    adam.submit("Lagre nytt navn")
    expect(page.get_by_role("heading", name="Lyngdal ungdomsskole og SFO", level=1)
           ).to_be_visible()
    adam.says("nytt navn")
    page.get_by_role("textbox", name="Nytt navn").fill("  ")
    adam.submit("Lagre nytt navn", refused=True)
    expect(page.locator(".ds-error-summary")).to_contain_text("Skriv tjenestens nye navn.")

    # A staff member of the new service, with a login.
    page.goto("/admin/ansatte")
    adam.check()
    form = page.locator("form[action='/admin/ansatte']")
    form.get_by_label("Fullt navn").fill("Siri Dahl")
    form.get_by_label("Ansatt-id").fill("siri")
    form.get_by_role("combobox", name=re.compile("^Tjeneste")).select_option("lyngdal-us")
    adam.tick(form.get_by_label("Ansatt", exact=True))
    form.get_by_label("Påloggings-id (fra innloggingstjenesten)").fill("siri-hemmelig-sub")
    adam.submit("Registrer den ansatte", refused=True)  # no municipality
    expect(page.locator(".ds-error-summary")).to_contain_text("minst én kommune")
    expect(page.get_by_label("Kommunenummer")).to_have_attribute("aria-invalid", "true")
    assert "siri-hemmelig-sub" not in page.content()  # never shown back
    form.get_by_label("Kommunenummer").fill("4225")
    form.get_by_label("Påloggings-id (fra innloggingstjenesten)").fill("siri-hemmelig-sub")
    adam.submit("Registrer den ansatte")
    expect(page.get_by_role("heading", name="Siri Dahl", level=1)).to_be_visible()
    adam.says("registrert")
    expect(page.locator(".oversikt")).to_contain_text("Har pålogging")
    assert "siri-hemmelig-sub" not in page.content()

    # Deactivated, then active again.
    adam.submit("Deaktiver Siri Dahl")
    adam.says("deaktivert")
    expect(page.locator(".oversikt")).to_contain_text("Deaktivert")
    adam.submit("Aktiver Siri Dahl igjen")
    adam.says("aktiv igjen")

    # The list, filtered by the service.
    page.goto("/admin/ansatte")
    page.get_by_label("Vis ansatte i").select_option("lyngdal-us")
    # The choice alone fetches the list (htmx, the address follows); let that finish
    # before the button's own page load, or the two race and the check meets a page
    # being replaced.
    expect(page).to_have_url(re.compile(r"tjeneste=lyngdal-us"))
    adam.submit("Vis")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Siri Dahl")
    expect(rows.first).to_contain_text("Ja")  # has a login

    # Closing the service, after being asked.
    page.goto("/admin/tjenester/lyngdal-us")
    page.get_by_role("link", name="Legg ned tjenesten …").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vil du legge ned")
    adam.check()
    adam.submit("Ja, legg ned Lyngdal ungdomsskole og SFO")
    adam.says("Tjenesten er lagt ned.")
    expect(page.locator(".oversikt")).to_contain_text("Lagt ned")
    page.goto("/admin/tjenester")
    expect(page.locator("tr", has_text="Lyngdal ungdomsskole og SFO")).to_contain_text("Lagt ned")
    adam.check()

    # And so it is for the application: Siri stays, nobody new joins the service.
    app = server.app()
    try:
        assert app.service("lyngdal-us").active is False
        assert app.staff_member("siri").active is True
        assert app.staff_by_login("siri-hemmelig-sub").id == "siri"
    finally:
        app.close()


def test_a_worker_has_no_access_to_the_admin_pages(browser: Browser, server: Server,
                                                   provider: str):
    kari = Admin(browser, server, provider)
    try:
        kari.sign_in_as("kari", "/saker")
        assert kari.page.get_by_role("link", name="Administrasjon").count() == 0
        for path in ("/admin", "/admin/tjenester", "/admin/ansatte", "/admin/ansatte/kari"):
            answer = kari.page.goto(path)
            assert answer is not None and answer.status == 403, path
            expect(kari.page.get_by_role("heading", level=1)).to_have_text(
                "Du har ikke tilgang til denne siden")
        kari.check(refused=True)
    finally:
        kari.close()


def sign_in(browser: httpx.Client, subject: str) -> httpx.Response:
    """Through the provider's sign-in form; the callback's answer."""
    authorize = browser.get("/logg-inn/oidc").headers["location"]
    assert parse_qs(urlsplit(authorize).query)["state"]
    with httpx.Client(timeout=10) as outside:
        back = outside.post(authorize, data={"sub": subject})
    return browser.get(back.headers["location"])


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found[1]


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as c:
        yield c


def test_an_admin_form_without_the_session_token_records_nothing(http: httpx.Client,
                                                                  server: Server):
    landed = sign_in(http, "adam-sub")
    assert landed.headers["location"] == "/admin"
    token = csrf_of(http.get("/admin/tjenester").text)
    service = {"name": "Uten token", "id": "uten-token", "sector": "annet",
               "municipalities": "4225"}
    for bad in ({}, {"_csrf": "feil"}):
        for url, fields in [("/admin/tjenester", service),
                            ("/admin/tjenester/hauge-skole", {"name": "Kapret"}),
                            ("/admin/tjenester/hauge-skole/legg-ned", {}),
                            ("/admin/ansatte/per/aktiv", {"active": "nei"}),
                            ("/admin/ansatte/per", {"name": "Kapret", "roles": "worker"})]:
            refused = http.post(url, data={**fields, **bad})
            assert refused.status_code == 403, url
            assert "ingenting ble lagret" in refused.text
    app = server.app()
    try:
        assert "uten-token" not in [s.id for s in app.list_services()]
        assert app.service("hauge-skole").name == "Hauge skole"
        assert app.service("hauge-skole").active is True
        assert app.staff_member("per").name == "Per Hansen"
        assert app.staff_member("per").active is True
    finally:
        app.close()
    made = http.post("/admin/tjenester", data={**service, "_csrf": token})
    assert made.status_code == 303
    assert "Uten token" in http.get("/admin/tjenester").text


def test_an_admin_cannot_deactivate_themselves(http: httpx.Client):
    sign_in(http, "adam-sub")
    page = http.get("/admin/ansatte/adam")
    answer = http.post("/admin/ansatte/adam/aktiv",
                       data={"_csrf": csrf_of(page.text), "active": "nei"})
    assert answer.status_code == 409
    assert "deaktivere deg selv" in answer.text
    assert http.get("/admin").status_code == 200


def test_the_admin_pages_show_no_case(http: httpx.Client):
    sign_in(http, "adam-sub")
    for path in ("/admin", "/admin/tjenester", "/admin/ansatte", "/admin/tjenester/ppt-lister"):
        text = http.get(path).text
        assert not re.search(r'href="/saker', text), path
    assert http.get("/saker").status_code in (403, 404) or "Mine saker" not in http.get(
        "/saker").text



def test_the_staff_list_follows_the_chosen_service_at_once_and_also_without_javascript(
        adam: Admin, browser: Browser, server: Server):
    page = adam.page
    page.goto("/admin/ansatte")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_label("Vis ansatte i").select_option(label="Hauge skole")
    expect(page.locator("#ansatte-utvalg")).to_contain_text("Ansatte i Hauge skole: 1.")
    expect(page.locator("#ansatte-liste")).to_contain_text("Per Hansen")
    expect(page.locator("#ansatte-liste")).not_to_contain_text("Kari Nordmann")
    assert page.evaluate("window.stillTheSamePage === true")  # htmx: the list only
    assert "tjeneste=hauge-skole" in page.url  # and the address says so
    adam.check()
    assert page.evaluate("localStorage.length") == 0  # no copy of the page kept

    # Without JavaScript the button does the same, as a plain form.
    plain = browser.new_context(base_url=server.base_url, java_script_enabled=False)
    try:
        plain.add_cookies(adam.context.cookies())
        other = plain.new_page()
        other.goto("/admin/ansatte")
        other.get_by_label("Vis ansatte i").select_option(label="Hauge skole")
        other.get_by_role("button", name="Vis", exact=True).click()
        expect(other.locator("#ansatte-utvalg")).to_contain_text("Ansatte i Hauge skole: 1.")
        assert "tjeneste=hauge-skole" in other.url
    finally:
        plain.close()
