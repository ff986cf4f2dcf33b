"""The training register's pages (`/opplaering`), by clicking and typing in Chromium,
and over plain HTTP.

An admin (Adam) records a training for Per and sees it in the register, removes one
recorded by mistake, and imports attendance lists: one with a row that matches nobody
(every row shown, the bad one with its reason, nothing recorded) and a clean one
(previewed, recorded, and the shares change). A unit leader (Liv, Hauge skole) lands on
the register and sees only her own service; another service's person is a 404 to her,
and a row for them smuggled into the import's hidden fields is refused. A worker gets
403. Every page: axe-core finds no WCAG 2.1 A/AA violation, nothing is asked of another
host, no console error, and it fits a 375 px wide screen.

Screenshots of every page at 1280 and 375 px are written to the directory
`STAFETTLOGG_SCREENSHOTS` names, when it is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from domain.training import TRAININGS
from tests.conftest import ADMIN
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with
from tests.web.test_admin import csrf_of, sign_in

LOGINS = {"adam": "adam-sub", "liv": "liv-sub", "kari": "kari-sub"}
DAY = datetime.now(UTC).date() - timedelta(days=20)
EARLIER = DAY - timedelta(days=10)
SHOTS = os.environ.get("STAFETTLOGG_SCREENSHOTS")


def register_the_people(app) -> None:
    app.register_staff(ADMIN, staff_id="adam", name="Adam Admin", service=None,
                       roles=["admin"])
    app.register_staff(ADMIN, staff_id="liv", name="Liv Enhetsleder", service="hauge-skole",
                       roles=["leader"], municipalities=["4225"])
    app.change_staff(ADMIN, "hanne", email="hanne@lyngdal.kommune.no")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("training"), provider, LOGINS,
                         prepare=register_the_people) as running:
        yield running


class Trainer(Person):
    """An admin's or a unit leader's browser on the training pages."""

    def __init__(self, browser: Browser, server: Server, provider: str) -> None:
        super().__init__(browser, server, provider, LOGINS)

    def submit(self, button: str, *, refused: bool = False) -> None:
        """Press the button; a refusal (4xx) is the page's own status, then forgotten."""
        self.press(self.page.get_by_role("button", name=button, exact=True))
        self.check(refused=refused)
        if refused:
            self.console.clear()

    def says(self, text: str) -> None:
        expect(self.page.get_by_role("status")).to_contain_text(text)

    def upload(self, name: str, content: str, *, training: str | None = None,
               day: str = "") -> None:
        """The import form, filled in and sent: the preview (or the form again)."""
        self.page.goto("/opplaering/import")
        self.check()
        self.page.get_by_label("Deltakerliste (CSV eller Excel)").set_input_files(files=[{
            "name": name, "mimeType": "text/csv", "buffer": content.encode("utf-8")}])
        if training:
            self.page.get_by_label("Opplæring for hele listen").select_option(label=training)
        if day:
            self.page.get_by_label("Dato for hele listen").fill(day)
        self.press(self.page.get_by_role("button", name="Les listen og vis radene"))

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            width = self.page.viewport_size["width"] if self.page.viewport_size else 0
            self.page.screenshot(path=str(Path(SHOTS) / f"{name}-{width}.png"),
                                 full_page=True)


@pytest.fixture
def adam(browser: Browser, server: Server, provider: str) -> Iterator[Trainer]:
    person = Trainer(browser, server, provider)
    person.sign_in("adam", "/admin")
    yield person
    person.close()


@pytest.fixture
def liv(browser: Browser, server: Server, provider: str) -> Iterator[Trainer]:
    person = Trainer(browser, server, provider)
    person.sign_in("liv", "/opplaering")
    yield person
    person.close()


def days_of(server: Server, staff_id: str) -> dict[str, list]:
    app = server.app()
    try:
        return app.staff_training(ADMIN, staff_id).trainings
    finally:
        app.close()


def dotted(day) -> str:
    return f"{day:%d.%m.%Y}"


def test_an_admin_records_a_training_and_sees_it_in_the_register(adam: Trainer,
                                                                  server: Server):
    page = adam.page
    expect(page.get_by_role("link", name="Opplæring", exact=True).first).to_be_visible()
    page.get_by_role("navigation").get_by_role("link", name="Opplæring", exact=True).click()
    expect(page.get_by_role("heading", name="Opplæringsregister", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Opplæring", exact=True).first).to_have_attribute(
        "aria-current", "page")
    adam.check()
    adam.shot("register")
    table = page.get_by_role("table")
    expect(table.get_by_role("columnheader", name="Erfaring som stafettholder")).to_be_visible()
    expect(table.get_by_role("row")).to_have_count(1 + 6)  # every active member with a service

    page.get_by_label("Vis ansatte i").select_option("hauge-skole")
    adam.submit("Vis")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)  # Liv and Per
    per = page.locator("tbody tr", has_text="Per Hansen")
    expect(per).to_contain_text("Nei")  # never held a baton
    per.get_by_role("link", name="Per Hansen").click()
    expect(page.get_by_role("heading", name="Per Hansen", level=1)).to_be_visible()
    adam.check()
    expect(page.get_by_text("Ingen opplæring er registrert.")).to_be_visible()

    # Nothing chosen, then a day that is no day: told by the field, what was typed kept.
    adam.submit("Registrer opplæringen", refused=True)
    summary = page.locator(".ds-error-summary")
    expect(summary).to_contain_text("Velg hvilken opplæring.")
    expect(summary).to_contain_text("Skriv datoen for opplæringen.")
    expect(page.get_by_label("Opplæring", exact=True)).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Opplæring", exact=True).select_option(label="Stafettloggen")
    page.get_by_label("Dato", exact=True).fill("31.02.2026")
    adam.submit("Registrer opplæringen", refused=True)
    expect(summary).to_contain_text("Dato: Skriv en dato som dd.mm.åååå")
    expect(page.get_by_label("Dato", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Dato", exact=True)).to_have_value("31.02.2026")
    expect(page.get_by_label("Opplæring", exact=True)).to_have_value("stafettloggen")
    adam.shot("ansatt-feil")
    future = datetime.now(UTC).date() + timedelta(days=3)
    page.get_by_label("Dato", exact=True).fill(dotted(future))
    adam.submit("Registrer opplæringen", refused=True)
    expect(summary).to_contain_text("kan ikke være fram i tid")
    expect(page.get_by_label("Dato", exact=True)).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Dato", exact=True).fill(dotted(DAY))
    adam.submit("Registrer opplæringen")
    adam.says("Opplæringen er registrert.")
    expect(page.get_by_role("row", name=re.compile("Stafettloggen"))).to_contain_text(dotted(DAY))

    # One recorded by mistake, and removed.
    page.get_by_label("Opplæring", exact=True).select_option(label="Rollen som stafettholder")
    page.get_by_label("Dato", exact=True).fill(dotted(EARLIER))
    adam.submit("Registrer opplæringen")
    adam.shot("ansatt")
    adam.submit(f"Fjern «Rollen som stafettholder» {dotted(EARLIER)} fra registeret")
    adam.says("Opplæringen er fjernet fra registeret.")
    assert days_of(server, "per") == {"stafettloggen": [DAY]}

    # The register shows the first day.
    page.get_by_role("link", name="Opplæringsregister").click()
    per = page.locator("tbody tr", has_text="Per Hansen")
    expect(per).to_contain_text(dotted(DAY))
    adam.check()


def test_a_unit_leader_sees_only_her_own_service(liv: Trainer, server: Server):
    page = liv.page
    expect(page.get_by_role("heading", name="Opplæringsregister", level=1)).to_be_visible()
    liv.check()
    assert page.get_by_role("link", name="Administrasjon").count() == 0
    assert page.get_by_label("Vis ansatte i").count() == 0  # no other service to choose
    names = page.locator("tbody th").all_inner_texts()
    assert sorted(names) == ["Liv Enhetsleder", "Per Hansen"]
    liv.shot("register-leder")

    # Another service's staff: not found, to her.
    answer = page.goto("/opplaering/ansatte/kari")
    assert answer is not None and answer.status == 404
    liv.check(refused=True)
    liv.console.clear()
    answer = page.goto("/opplaering?tjeneste=bhg-solsikken")  # the filter is not hers
    assert answer is not None and answer.status == 200
    assert "Kari Nordmann" not in page.content()

    # Her own: she records.
    page.goto("/opplaering/ansatte/per")
    page.get_by_label("Opplæring", exact=True).select_option(label="Tegn og signaler på bekymring")
    page.get_by_label("Dato", exact=True).fill(dotted(DAY))
    liv.submit("Registrer opplæringen")
    liv.says("Opplæringen er registrert.")

    # The shares: her service and the totals, no other service.
    page.get_by_role("link", name="Opplæringsregister").click()
    page.get_by_role("link", name="Andeler med opplæring").click()
    liv.check()
    heads = page.locator("table.andeler tbody th").all_inner_texts()
    assert heads == ["Hele kommunen", "Skole og SFO i alt", "Hauge skole"], heads
    assert share_of(page, "tegn-og-signaler", "Hauge skole") == "50,0 % 1 av 2"


def test_a_worker_has_no_training_pages(browser: Browser, server: Server, provider: str):
    kari = Trainer(browser, server, provider)
    try:
        kari.sign_in("kari", "/saker")
        assert kari.page.get_by_role("link", name="Opplæring").count() == 0
        for path in ("/opplaering", "/opplaering/ansatte/kari", "/opplaering/import",
                     "/opplaering/andeler"):
            answer = kari.page.goto(path)
            assert answer is not None and answer.status == 403, path
            expect(kari.page.get_by_role("heading", level=1)).to_have_text(
                "Du har ikke tilgang til denne siden")
        kari.check(refused=True)
    finally:
        kari.close()


def test_a_list_with_a_bad_row_records_nothing(adam: Trainer, server: Server):
    page = adam.page
    adam.upload("kurs.csv", "navn;ansatt;dato\r\n"
                            f"Kari Nordmann;kari;{dotted(DAY)}\r\n"
                            f"Ola Ukjent;ola;{dotted(DAY)}\r\n"
                            "Pia Olsen;pia;i går\r\n",
                training="Å ta opp en bekymring med barn og foreldre")
    adam.check()
    adam.shot("forhandsvisning-feil")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Ingenting er registrert")
    expect(alert).to_contain_text("2 av 3 rader kan ikke registreres")
    expect(alert).to_contain_text("Linje 3, kolonnen «ansatt»: «ola» finnes ikke i ansattlisten.")
    expect(alert).to_contain_text("Linje 4, kolonnen «dato»: «i går» er ikke en dato")
    expect(page.get_by_role("row", name=re.compile("^2 "))).to_contain_text("Kari Nordmann")
    expect(page.get_by_role("row", name=re.compile("^2 "))).to_contain_text("Ny")
    assert page.get_by_role("button", name=re.compile("^Registrer")).count() == 0
    assert "ta-opp-bekymring" not in days_of(server, "kari")

    # A file that is no list: the form again, with the field named.
    adam.upload("tom.csv", "bare tekst\r\n")
    adam.check(refused=True)
    adam.console.clear()
    expect(page.locator(".ds-error-summary")).to_contain_text("Fil: Første rad må navngi")
    expect(page.get_by_label("Deltakerliste (CSV eller Excel)")).to_have_attribute(
        "aria-invalid", "true")


INDICATORS = ("handlingsveileder", "tegn-og-signaler", "ta-opp-bekymring",
              "tilpasse-oppfolging", "tjenester-og-arenaer", "stafettloggen",
              "erfaring-som-stafettholder", "stafettholdere-med-opplaering")


def share_of(page, indicator: str, row: str = "Hele kommunen") -> str:
    """The indicator's cell in the row: "33,3 % 2 av 6"."""
    cells = page.locator("table.andeler tbody tr", has=page.get_by_role(
        "rowheader", name=row, exact=True)).locator("td")
    return " ".join(cells.nth(INDICATORS.index(indicator)).inner_text().split())


def test_a_clean_list_is_previewed_and_recorded_and_the_shares_change(adam: Trainer,
                                                                       server: Server):
    page = adam.page
    page.goto("/opplaering/andeler")
    adam.check()
    adam.shot("andeler")
    name = "Kommunens tjenester og arenaer for å drøfte en bekymring"
    # 4225's active staff with a service: kari, per, pia, hanne, kim and liv.
    assert share_of(page, "tjenester-og-arenaer") == "0,0 % 0 av 6"

    adam.upload("kurs.csv", "navn;ansatt;e-post;dato\r\n"
                            f"Kari Nordmann;kari;;{dotted(DAY)}\r\n"
                            f"Hanne Berg;;HANNE@lyngdal.kommune.no;{DAY.isoformat()}\r\n",
                training=name)
    adam.check()
    adam.shot("forhandsvisning")
    expect(page.get_by_role("status")).to_contain_text("Ingenting er registrert ennå")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("Hanne Berg")
    expect(rows.nth(1)).to_contain_text("Ny")
    hidden = page.locator("form[action='/opplaering/import/registrer']").inner_html()
    assert "Hanne Berg" not in hidden and "lyngdal.kommune.no" not in hidden
    adam.submit("Registrer 2 opplæringer")
    adam.says("2 opplæringer er registrert fra deltakerlisten.")
    assert days_of(server, "hanne") == {"tjenester-og-arenaer": [DAY]}

    page.goto("/opplaering/andeler")
    adam.check()
    assert share_of(page, "tjenester-og-arenaer") == "33,3 % 2 av 6"
    # As at the training's day, before Liv was registered: five people then.
    page.get_by_label("Per dato").fill(dotted(DAY))
    adam.submit("Vis tallene")
    assert share_of(page, "tjenester-og-arenaer") == "40,0 % 2 av 5"
    assert share_of(page, "tjenester-og-arenaer", "Barnehage i alt") == "100,0 % 1 av 1"
    assert share_of(page, "tjenester-og-arenaer", "Hauge skole") == "0,0 % 0 av 1"  # Per
    assert share_of(page, "stafettholdere-med-opplaering") == "– 0 av 0"  # nobody held one
    page.goto(f"/opplaering/andeler?kommune=4225&dato={dotted(DAY - timedelta(days=1))}")
    assert share_of(page, "tjenester-og-arenaer") == "0,0 % 0 av 5"  # the day before

    # The same list again: nothing new, nothing to press.
    adam.upload("kurs.csv", "ansatt;dato\r\n" f"kari;{dotted(DAY)}\r\n", training=name)
    expect(page.get_by_role("row", name=re.compile("^2 "))).to_contain_text("Finnes fra før")
    assert page.get_by_role("button", name=re.compile("^Registrer")).count() == 0


def test_the_training_pages_fit_a_phone(adam: Trainer):
    page = adam.page
    page.set_viewport_size({"width": 375, "height": 800})
    app = adam.server.app()  # the longest word of the trainings' names in Per's table
    try:
        app.record_training(ADMIN, "per", training="handlingsveileder", on=DAY)
    finally:
        app.close()
    for url in ("/opplaering", "/opplaering/ansatte/per", "/opplaering/import",
                "/opplaering/andeler", "/admin"):
        page.goto(url)
        page.locator("details").evaluate_all("boxes => boxes.forEach(b => b.open = true)")
        adam.shot(url.strip("/").replace("/", "-"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} is {width} px wide at 375"
        # A person's trainings, with their remove buttons, in sight without scrolling.
        assert page.evaluate("[...document.querySelectorAll('.tabell-ramme')]"
                             ".filter(f => f.querySelector('.smal'))"
                             ".every(f => f.scrollWidth <= f.clientWidth)"), url
        adam.check()
    adam.upload("kurs.csv", "ansatt;opplæring;dato\r\n"
                            f"kim;Stafettloggen;{dotted(DAY)}\r\n"
                            f"ukjent;Stafettloggen;{dotted(DAY)}\r\n")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the preview is {width} px wide at 375"
    adam.check()
    adam.shot("forhandsvisning-feil")


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as c:
        yield c


def test_forms_without_the_token_or_with_smuggled_rows_record_nothing(http: httpx.Client,
                                                                       server: Server):
    assert sign_in(http, "liv-sub").status_code == 303
    page = http.get("/opplaering/ansatte/per")
    token = csrf_of(page.text)
    row = {"linje": "2", "ansatt": "kari", "opplaering": "stafettloggen",
           "dato": DAY.isoformat()}
    # Without the session's token: refused before anything is read.
    answer = http.post("/opplaering/import/registrer", data=row)
    assert answer.status_code == 403
    answer = http.post("/opplaering/import", files={"file": ("kurs.csv", b"ansatt\nper\n")},
                       data={"on": dotted(DAY), "training": "stafettloggen"})
    assert answer.status_code == 403
    # With it, but for a person of another service: checked again, and refused.
    answer = http.post("/opplaering/import/registrer", data={**row, "_csrf": token})
    assert answer.status_code == 409
    assert "hører ikke til din tjeneste" in answer.text
    assert "stafettloggen" not in days_of(server, "kari")
    answer = http.post("/opplaering/ansatte/kari", data={
        "_csrf": token, "training": "stafettloggen", "on": dotted(DAY)})
    assert answer.status_code == 404
    # The upload with the token is read and previewed (multipart, CSRF in the form),
    # for a training Per has not had yet whatever the other tests recorded.
    training = next(t for t in TRAININGS if t not in days_of(server, "per"))
    answer = http.post("/opplaering/import", files={"file": ("kurs.csv", b"ansatt\nper\n")},
                       data={"_csrf": token, "on": dotted(DAY), "training": training})
    assert answer.status_code == 200
    assert "Registrer 1 opplæring" in answer.text
    assert training not in days_of(server, "per")  # a preview records nothing
