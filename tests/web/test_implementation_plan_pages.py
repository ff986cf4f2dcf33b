"""The implementation plan's pages (`/innforing`), by clicking and typing in Chromium,
and over plain HTTP.

An admin (Adam) adds an activity for Hauge skole to Lyngdal's plan; the school's leader
(Liv), on a phone (375 px) and by keyboard only, reports "Pågår" with a note for the
current period; Adam's overview then shows Hauge skole under "Pågår", and the note. A
worker gets 403. Every page: axe-core finds no WCAG 2.1 A/AA violation, nothing is
asked of another host, no console error.

Screenshots are written to the directory `STAFETTLOGG_SCREENSHOTS` names, when set.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from domain.implementation_plan import period_of
from tests.conftest import ADMIN
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with
from tests.web.test_admin import csrf_of, sign_in

LOGINS = {"adam": "adam-sub", "liv": "liv-sub", "kari": "kari-sub"}
SHOTS = os.environ.get("STAFETTLOGG_SCREENSHOTS")
TITLE = "Utnevne en BTI-kontakt i hver enhet"
NOTE = "To av tre team har en BTI-kontakt."


def register_the_people(app) -> None:
    app.register_staff(ADMIN, staff_id="adam", name="Adam Admin", service=None,
                       roles=["admin"])
    app.register_staff(ADMIN, staff_id="liv", name="Liv Enhetsleder", service="hauge-skole",
                       roles=["leader"], municipalities=["4225"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("plan"), provider, LOGINS,
                         prepare=register_the_people) as running:
        yield running


class Planner(Person):
    def __init__(self, browser: Browser, server: Server, provider: str) -> None:
        super().__init__(browser, server, provider, LOGINS)

    def submit(self, button: str, *, refused: bool = False) -> None:
        self.press(self.page.get_by_role("button", name=button, exact=True))
        self.check(refused=refused)
        if refused:
            self.console.clear()

    def says(self, text: str) -> None:
        expect(self.page.get_by_role("status")).to_contain_text(text)

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            width = self.page.viewport_size["width"] if self.page.viewport_size else 0
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"),
                                 full_page=True)

    def fits(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{self.page.url} is {width} px wide at 375"


def cell(page, title: str, status: str):
    return page.locator("table.innforing tbody tr", has=page.get_by_role(
        "rowheader", name=title, exact=True)).locator(f"td[data-status='{status}']")


def test_an_admin_plans_a_leader_reports_by_keyboard_and_the_overview_shows_it(
        browser: Browser, server: Server, provider: str):
    adam = Planner(browser, server, provider)
    liv = Planner(browser, server, provider)
    try:
        adam.sign_in("adam", "/admin")
        page = adam.page
        page.get_by_role("navigation").get_by_role("link", name="Innføringsplan").click()
        expect(page.get_by_role("heading", name="Innføringsplan", level=1)).to_be_visible()
        adam.check()
        add = page.locator("section", has=page.get_by_role("heading", name="Legg til en aktivitet"))
        # Nothing filled in: each field says what is missing.
        adam.submit("Legg til aktiviteten", refused=True)
        summary = add.locator(".ds-error-summary")
        expect(summary).to_contain_text("Aktivitet: Skriv hva aktiviteten er.")
        expect(summary).to_contain_text("Tjenester: Velg minst én tjeneste, eller alle.")
        add = page.locator("section", has=page.get_by_role("heading", name="Legg til en aktivitet"))
        add.get_by_label("Aktivitet", exact=True).fill(TITLE)
        add.get_by_label("Ansvarlig", exact=True).fill("enhetsleder")
        add.get_by_label("Frist", exact=True).fill("31.12.2026")
        adam.tick(add.get_by_label("Hauge skole", exact=True))
        adam.submit("Legg til aktiviteten")
        adam.says("Aktiviteten er lagt til i planen.")
        expect(cell(page, TITLE, "not-reported")).to_contain_text("Hauge skole")
        link = page.get_by_role("link", name="andelene med opplæring i")
        expect(link).to_have_attribute("href", "/opplaering/andeler?kommune=4225")
        # The training and survey figures beside the reports.
        figures = page.locator("dl.nokkeltall")
        expect(figures).to_contain_text("Ingen avsluttet undersøkelse ennå.")
        expect(figures.locator("dt").first).to_be_visible()
        adam.shot("innforing-admin")

        # Liv, on a phone, by keyboard.
        liv.sign_in("liv", "/opplaering")
        phone = liv.page
        phone.set_viewport_size({"width": 375, "height": 800})
        phone.goto("/innforing")
        expect(phone.get_by_role("heading", name="Innføringsplan for Hauge skole",
                                 level=1)).to_be_visible()
        liv.check()
        liv.fits()
        section = phone.locator("section", has=phone.get_by_role("heading", name=TITLE))
        expect(section).to_contain_text("Ikke rapportert")
        section.get_by_label("Pågår").focus()
        phone.keyboard.press("Space")
        expect(section.get_by_label("Pågår")).to_be_checked()
        phone.keyboard.press("Tab")
        expect(section.get_by_label("Merknad")).to_be_focused()
        phone.keyboard.type(NOTE)
        phone.keyboard.press("Tab")
        expect(section.get_by_role("button", name=f"Rapporter status for «{TITLE}»")
               ).to_be_focused()
        with phone.expect_navigation():
            phone.keyboard.press("Enter")
        liv.check()
        liv.says("Statusen er rapportert.")
        section = phone.locator("section", has=phone.get_by_role("heading", name=TITLE))
        expect(section).to_contain_text("Pågår")
        expect(section).to_contain_text(NOTE)
        liv.fits()
        liv.shot("innforing-leder")
        # The admin's pages are not hers.
        answer = phone.goto("/innforing?kommune=4225&periode=2026")
        assert answer is not None and answer.status == 200
        assert phone.get_by_role("heading", name="Legg til en aktivitet").count() == 0

        page.reload()
        adam.check()
        expect(cell(page, TITLE, "under-way")).to_contain_text("Hauge skole")
        expect(cell(page, TITLE, "under-way")).to_contain_text("1")
        expect(cell(page, TITLE, "not-reported")).to_contain_text("0")
        expect(page.locator(".merknader")).to_contain_text(NOTE)
        page.set_viewport_size({"width": 375, "height": 800})
        adam.fits()
        adam.shot("innforing-admin")
    finally:
        adam.close()
        liv.close()


def test_a_worker_has_no_plan_pages(browser: Browser, server: Server, provider: str):
    kari = Planner(browser, server, provider)
    try:
        kari.sign_in("kari", "/saker")
        assert kari.page.get_by_role("link", name="Innføringsplan").count() == 0
        answer = kari.page.goto("/innforing")
        assert answer is not None and answer.status == 403
        expect(kari.page.get_by_role("heading", level=1)).to_have_text(
            "Du har ikke tilgang til denne siden")
        kari.check(refused=True)
    finally:
        kari.close()


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as c:
        yield c


def test_forms_without_the_token_or_for_another_unit_record_nothing(http: httpx.Client,
                                                                    server: Server):
    app = server.app()
    try:
        other = app.add_plan_activity(ADMIN, "4225", _details("Bare for barnehagen",
                                                              ("bhg-solsikken",)))
    finally:
        app.close()
    period = period_of(datetime.now(UTC).date(), "halvårlig")
    row = {"kommune": "4225", "activity": str(other.id), "period": period,
           "status": "done", "merknad": ""}
    assert sign_in(http, "liv-sub").status_code == 303
    token = csrf_of(http.get("/innforing").text)
    assert http.post("/innforing/rapport", data=row).status_code == 403  # no token
    answer = http.post("/innforing/rapport", data={**row, "_csrf": token})
    assert answer.status_code == 400
    assert "Aktiviteten gjelder ikke for tjenesten din." in answer.text
    assert http.post("/innforing/aktiviteter", data={
        "_csrf": token, "kommune": "4225", "title": "x", "responsible": "y",
        "due": "31.12.2026", "services": "alle"}).status_code == 403  # admins only
    app = server.app()
    try:
        assert app.plan_overview(ADMIN, "4225", period=period).lines[-1].counts["done"] == 0
    finally:
        app.close()


def test_an_admin_changes_the_rhythm_and_changes_and_removes_an_activity(
        browser: Browser, server: Server, provider: str):
    adam = Planner(browser, server, provider)
    try:
        adam.sign_in("adam", "/admin")
        page = adam.page
        page.goto("/innforing")
        adam.check()
        card = page.locator(".kortliste li", has=page.get_by_role("heading", name=TITLE))
        card.get_by_text("Endre aktiviteten").click()
        expect(card.get_by_label("Ansvarlig", exact=True)).to_have_value("enhetsleder")
        card.get_by_label("Ansvarlig", exact=True).fill("")
        card.get_by_label("Frist", exact=True).fill("31.02.2027")
        adam.submit(f"Lagre endringene i «{TITLE}»", refused=True)
        card = page.locator(".kortliste li", has=page.get_by_role("heading", name=TITLE))
        summary = card.locator(".ds-error-summary")
        expect(summary).to_contain_text("Ansvarlig: Skriv hvem som er ansvarlig")
        expect(summary).to_contain_text("Frist: Skriv en dato som dd.mm.åååå")
        expect(card.get_by_label("Frist", exact=True)).to_have_value("31.02.2027")
        card.get_by_label("Ansvarlig", exact=True).fill("BTI-koordinator")
        card.get_by_label("Frist", exact=True).fill("28.02.2027")
        adam.tick(card.get_by_label("Alle kommunens tjenester"))
        adam.submit(f"Lagre endringene i «{TITLE}»")
        adam.says("Aktiviteten er endret.")
        card = page.locator(".kortliste li", has=page.get_by_role("heading", name=TITLE))
        expect(card).to_contain_text("BTI-koordinator")
        expect(card).to_contain_text("28.02.2027")
        expect(card).to_contain_text("Alle kommunens tjenester")
        # Hauge skole's report stays; the other units have not reported.
        expect(cell(page, TITLE, "under-way")).to_contain_text("Hauge skole")
        expect(cell(page, TITLE, "not-reported")).to_contain_text("Solsikken barnehage")

        page.get_by_label("Enhetslederne rapporterer").select_option(label="Kvartalsvis")
        adam.submit("Lagre")
        adam.says("Hvor ofte planen rapporteres, er lagret.")
        period = period_of(datetime.now(UTC).date(), "kvartalsvis")
        expect(page.get_by_label("Periode")).to_have_value(period)
        expect(cell(page, TITLE, "under-way")).to_contain_text("0")  # a new period
        page.get_by_label("Periode").fill("2026-H2")
        adam.submit("Vis", refused=True)
        expect(page.locator(".ds-error-summary")).to_contain_text(
            "Perioden skrives som 2026-Q4, fordi planen rapporteres kvartalsvis.")

        page.goto("/innforing")
        adam.submit(f"Fjern «{TITLE}» fra planen")
        adam.says("Aktiviteten er fjernet fra planen.")
        assert page.get_by_role("heading", name=TITLE).count() == 0
    finally:
        adam.close()


def _details(title: str, services: tuple[str, ...]):
    from domain.implementation_plan import ActivityDetails
    return ActivityDetails(title=title, responsible="styrer", due=datetime(2026, 12, 31).date(),
                           services=services)
