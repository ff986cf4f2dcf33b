"""The story of the API's end-to-end test, done only by clicking and typing, in Chromium.

A barnehage worker (Kari) opens a case, goes through the level-0 steps and decides,
records the guardians' consent for PPT, the school and the health station; PPT joins;
level 2; she hands the baton to the school worker (Per), who accepts in his own
browser; level 3 with a responsibility group, a koordinator (appointed by the
municipality's coordinator, Kim) and an individual plan; a meeting, an action and its
evaluation; the case is closed. Everyone signs in through a real OpenID Connect
provider on 127.0.0.1, each in their own browser context.

On every page and state the story visits: axe-core finds no WCAG 2.1 A/AA violation,
the page asks nothing of another host, the console has no error (a CSP violation is
one), and the answer carries the Content-Security-Policy.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.web.people import Person as BrowserPerson
from tests.web.servers import Server, signing_in_with

IN_A_YEAR = (date.today() + timedelta(days=365)).isoformat()
IN_A_MONTH = (date.today() + timedelta(days=30)).isoformat()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("story"), provider) as running:
        yield running


class Person(BrowserPerson):
    """A case worker's browser, and what they do on the case page."""

    # What people do on the case page ---------------------------------------------

    def open_form(self, title: str) -> Locator:
        """Open the form under its summary; the form, to fill in."""
        box = self.page.locator("details", has=self.page.locator("summary", has_text=title))
        box.locator("summary").click()
        return box

    def submit(self, button: str, within: Locator | None = None) -> None:
        self.press((within or self.page).get_by_role("button", name=button, exact=True))
        self.check()
        alert = self.page.locator(".ds-error-summary")
        assert alert.count() == 0, alert.first.inner_text()

    def level0_step(self, step: str, text: str) -> None:
        form = self.open_form("Steg på nivå 0")
        self.tick(form.get_by_label(re.compile(f"^{step}:")))
        form.get_by_label("Hva ble gjort eller vurdert?").fill(text)
        self.check()
        self.submit("Lagre steget", form)

    def change_level(self, level: int, reason: str) -> None:
        form = self.open_form("Endre nivå")
        self.tick(form.get_by_label(f"Nivå {level} –"))
        form.get_by_label("Begrunnelse").fill(reason)
        self.submit("Endre nivå", form)

    def log_says(self, text: str) -> None:
        expect(self.page.locator("#logg")).to_contain_text(text)



@pytest.fixture
def people(browser: Browser, server: Server, provider: str) -> Iterator[dict[str, Person]]:
    made: dict[str, Person] = {}

    class People(dict[str, Person]):
        def __missing__(self, name: str) -> Person:
            person = Person(browser, server, provider)
            person.sign_in(name)
            made[name] = person
            self[name] = person
            return person

    yield People()
    for person in made.values():
        person.close()


def test_the_whole_story_by_clicking_and_typing(people: dict[str, Person]):
    kari = people["kari"]
    page = kari.page

    # Kari opens a case.
    kari.press(page.get_by_role("link", name="Ny sak", exact=True))
    kari.check()
    page.get_by_label("Barnets fulle navn").fill("Ola Nordmann")
    page.get_by_label("Fødselsdato").fill("2019-05-04")
    page.get_by_label("Hva er du bekymret eller undrer deg over?").fill(
        "Ola virker urolig og trist i barnehagen.")
    page.get_by_role("button", name="Opprett saken").click()
    expect(page.get_by_role("heading", name="Ola Nordmann", level=1)).to_be_visible()
    assert "Ola" not in page.title() and "Ola" not in page.url
    kari.check()
    case_url = page.url

    # Level 0: the four steps, then the decision to go on.
    kari.level0_step("Vurdering", "Har sett at Ola trekker seg unna i lek.")
    kari.level0_step("Konkretisering", "Tre ganger siste uke, særlig etter helgen.")
    kari.level0_step("Deling", "Snakket med foreldrene og styreren.")
    kari.level0_step("Beslutning", "Vi går videre til tiltak i egen tjeneste.")
    kari.log_says("Steg på nivå 0: Beslutning")
    kari.change_level(1, "Tiltak i barnehagen sammen med familien.")

    # The guardians' consent for PPT, the school and the health station.
    form = kari.open_form("Registrer samtykke")
    kari.tick(form.get_by_label("Foresatte"))
    for service in ("PPT Lister", "Hauge skole", "Helsestasjonen i Lyngdal"):
        kari.tick(form.get_by_label(service))
    form.get_by_label("Formål", exact=True).fill("Samarbeid om Ola med PPT, skolen og helsestasjonen.")
    form.get_by_label("Gjelder til og med", exact=True).fill(IN_A_YEAR)
    kari.tick(form.get_by_label("Skriftlig"))
    kari.submit("Registrer samtykket", form)
    expect(page.locator("#samtykker-liste")).to_contain_text("Gyldig")

    # PPT joins; level 2.
    form = kari.open_form("Ta med en tjeneste")
    form.get_by_label("Tjeneste", exact=True).select_option(label="PPT Lister")
    form.get_by_label("Kontaktperson").select_option(value="pia")
    kari.submit("Ta med tjenesten", form)
    expect(page.locator("#tjenester").locator("..")).to_contain_text("PPT Lister")
    kari.change_level(2, "PPT gir råd om språk og samspill.")

    # Kari hands the baton to Per at the school; it stays with her until he accepts.
    form = kari.open_form("Send stafettpinnen videre")
    form.get_by_label("Mottaker", exact=True).select_option(value="per")
    form.get_by_label("Melding til mottakeren").fill("Ola begynner på skolen i august.")
    kari.submit("Send stafettpinnen", form)
    expect(page.locator("#overlevering")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Den blir hos Kari Nordmann")

    # Per sees the baton waiting in his own browser, and accepts.
    per = people["per"]
    expect(per.page.locator("main")).to_contain_text("Stafettpinner som venter på deg")
    per.press(per.page.get_by_role("link", name="Ola Nordmann").first)
    per.check()
    per.submit("Ta imot stafettpinnen")
    expect(per.page.locator("main")).to_contain_text("Per Hansen, Hauge skole")
    per.log_says("Stafettpinnen tatt imot")

    # Level 3: responsibility group, koordinator, individual plan.
    per.change_level(3, "Flere tjenester må samarbeide tett.")
    form = per.open_form("Opprett ansvarsgruppe")
    for service in ("Solsikken barnehage", "PPT Lister", "Hauge skole"):
        per.tick(form.get_by_label(service))
    per.submit("Opprett ansvarsgruppen", form)
    per.submit("Start individuell plan")
    expect(per.page.locator("main")).to_contain_text("Individuell plan")

    kim = people["kim"]
    kim.page.goto(case_url)
    kim.check()
    form = kim.open_form("Oppnevn koordinator")
    form.get_by_label("Koordinator", exact=True).select_option(value="pia")
    kim.submit("Oppnevn", form)
    expect(kim.page.locator("main")).to_contain_text("Pia Olsen, PPT Lister")

    # A meeting, an action and its evaluation; then Per closes the case.
    per.page.reload()
    per.check()
    form = per.open_form("Møte")
    form.get_by_label("Dato for møtet", exact=True).fill(date.today().isoformat())
    per.tick(form.get_by_label("Hauge skole"))
    per.tick(form.get_by_label("PPT Lister"))
    form.get_by_label("Referat", exact=True).fill("Ansvarsgruppen møttes og ble enige om tiltak.")
    per.submit("Lagre møtet", form)
    form = per.open_form("Nytt tiltak")
    form.get_by_label("Hva er tiltaket, og hva er målet?").fill("Språkgruppe to ganger i uken.")
    form.get_by_label("Ansvarlig tjeneste", exact=True).select_option(label="PPT Lister")
    form.get_by_label("Evalueres innen", exact=True).fill(IN_A_MONTH)
    per.submit("Lagre tiltaket", form)
    form = per.open_form("Evaluer et tiltak")
    form.get_by_label("Tiltak", exact=True).select_option(index=1)
    per.tick(form.get_by_label("Fullført"))
    form.get_by_label("Evaluering", exact=True).fill("Ola bruker språket mer i lek.")
    per.submit("Lagre evalueringen", form)
    per.log_says("Tiltak evaluert")

    form = per.open_form("Avslutt saken")
    per.tick(form.get_by_label("Bekymringen er løst"))
    per.submit("Avslutt saken", form)
    expect(per.page.locator("main")).to_contain_text("Saken er avsluttet og kan ikke endres")
    per.log_says("Saken ble avsluttet")
    per.check()  # the closed case's page, with its archive link

    # Per held the baton at the closing: the closed case's page offers him its archive
    # package, a plain link; the zip's PDF and arkivmelding belong together.
    link = per.page.get_by_role("link", name="Last ned arkivpakken")
    with per.page.expect_download() as got:
        link.click()
    download = got.value
    assert re.fullmatch(r"arkivpakke-[0-9a-f-]{36}\.zip", download.suggested_filename)
    with zipfile.ZipFile(download.path()) as package:
        assert sorted(package.namelist()) == [
            "arkivmelding.xml", "arkivmelding.xsd", "stafettlogg.pdf"]
        pdf = package.read("stafettlogg.pdf")
        assert hashlib.sha256(pdf).hexdigest().encode() in package.read("arkivmelding.xml")
    per.page.get_by_role("link", name="Tilgangslogg").click()
    expect(per.page.locator("main")).to_contain_text("lastet ned arkivpakken")
    per.check()


def test_a_refusal_is_shown_by_the_form_with_what_was_typed_kept(people: dict[str, Person]):
    kari = people["kari"]
    page = kari.page
    page.get_by_role("link", name="Ny sak", exact=True).click()
    page.get_by_label("Barnets fulle navn").fill("Eli Hansen")
    page.get_by_label("Hva er du bekymret eller undrer deg over?").fill("Eli gråter mye.")
    page.get_by_role("button", name="Opprett saken").click()
    # Level 1 before the decision: the domain refuses, in Norwegian, next to the form.
    form = kari.open_form("Endre nivå")
    kari.tick(form.get_by_label("Nivå 2 –"))
    form.get_by_label("Begrunnelse").fill("Vi trenger PPT.")
    form.get_by_role("button", name="Endre nivå", exact=True).click()
    summary = page.locator(".ds-error-summary")
    expect(summary).to_be_visible()
    assert "beslutning" in summary.inner_text().lower()
    expect(form.get_by_label("Begrunnelse")).to_have_value("Vi trenger PPT.")
    # Where the page opens (at the top, without JavaScript), it says so and leads to
    # the form's summary; the title says it too.
    assert page.title().startswith("Feil: ")
    page.get_by_role("link", name="Se hva som må rettes").click()
    assert page.url.endswith("-feilsammendrag")
    expect(summary).to_be_in_viewport()
    kari.check(refused=True)


def open_case(person: Person, name: str) -> str:
    page = person.page
    page.goto("/saker/ny")
    page.get_by_label("Barnets fulle navn").fill(name)
    page.get_by_label("Hva er du bekymret eller undrer deg over?").fill("Urolig i lek.")
    page.get_by_role("button", name="Opprett saken").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    return page.url


def test_the_coordinator_sees_the_overview_and_a_cases_access_log(people: dict[str, Person]):
    case_url = open_case(people["kari"], "Siri Fjell")
    kim = people["kim"]
    kim.press(kim.page.get_by_role("link", name="Oversikt", exact=True))
    expect(kim.page.get_by_role("heading", name="Oversikt over åpne saker")).to_be_visible()
    kim.check()
    # Kim's service takes no part: the case is there, without the child's name.
    assert "Siri Fjell" not in kim.page.content()
    kim.page.goto(case_url)
    kim.check()
    expect(kim.page.locator("main")).to_contain_text("Du ser bare oversikten")
    kim.press(kim.page.get_by_role("link", name="Tilgangslogg"))
    kim.check()
    log = kim.page.locator("table")
    expect(log).to_contain_text("Kari Nordmann")
    expect(log).to_contain_text("opprettet saken")
    expect(log).to_contain_text("Kim Lunde")  # his own look at the case is there too
    expect(log).to_contain_text("åpnet saken")


def test_a_case_that_is_not_yours_is_a_page_that_does_not_exist(people: dict[str, Person]):
    case_url = open_case(people["kari"], "Tor Fjell")
    per = people["per"]
    answer = per.page.goto(case_url)
    assert answer is not None and answer.status == 404
    expect(per.page.get_by_role("heading", name="Siden finnes ikke")).to_be_visible()
    assert "Tor Fjell" not in per.page.content()
    per.check(refused=True)


def test_a_stale_page_says_so_and_a_double_click_records_once(people: dict[str, Person]):
    kari = people["kari"]
    case_url = open_case(kari, "Mia Berg")
    other = kari.context.new_page()  # the same case open in a second tab
    other.goto(case_url)

    # A double click on "Lagre i loggen" records the entry once.
    form = kari.open_form("Skriv i loggen")
    kari.tick(form.get_by_label("Notat"))
    form.get_by_label("Tekst", exact=True).fill("Første notat.")
    form.get_by_role("button", name="Lagre i loggen").dblclick()
    kari.page.wait_for_load_state()
    expect(kari.page.locator("#logg")).to_contain_text("Første notat.")
    assert kari.page.locator("#logg li", has_text="Første notat.").count() == 1

    # The second tab still shows the case as it was: its form is refused, not saved.
    box = other.locator("details", has=other.locator("summary", has_text="Skriv i loggen"))
    box.locator("summary").click()
    kari.tick(box.get_by_label("Notat"))
    box.get_by_label("Tekst", exact=True).fill("Skrevet i en gammel fane.")
    box.get_by_role("button", name="Lagre i loggen").click()
    expect(other.locator(".ds-error-summary")).to_contain_text("endret av noen andre")
    expect(other.get_by_role("link", name="Last inn saken på nytt")).to_be_visible()
    expect(box.get_by_label("Tekst", exact=True)).to_have_value("Skrevet i en gammel fane.")
    assert "Skrevet i en gammel fane." not in other.locator("#logg").inner_text()
    other.close()


FOCUS_SHOWN = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const ringed = (node) => {
    const s = getComputedStyle(node);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
        || (s.boxShadow && s.boxShadow !== 'none');
  };
  // Designsystemet rings a radio's or checkbox's field (with its label), not the box.
  const field = el.matches('[type=radio],[type=checkbox]') ? el.closest('.ds-field') : null;
  const ring = ringed(el) || (field !== null && ringed(field));
  const names = [el.innerText, el.value, el.getAttribute('aria-label'), el.id, el.name];
  return {ring, text: names.filter(Boolean).join(' | ').trim().slice(0, 200), tag: el.tagName};
}"""


def tab_to(page: Page, text: str, limit: int = 200) -> None:
    """Press Tab until the element named `text` has focus; every stop shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_SHOWN)
        if focused is None:
            continue
        assert focused["ring"], f"focus not visible on {focused}"
        if text in focused["text"]:
            return
    pytest.fail(f"never reached {text!r} with Tab")


def test_the_case_work_by_keyboard_alone_with_focus_always_visible(people: dict[str, Person]):
    kari = people["kari"]
    page = kari.page
    page.goto("/saker")
    tab_to(page, "Ny sak")
    page.keyboard.press("Enter")
    page.wait_for_url("**/saker/ny")
    tab_to(page, "ny-child-name")
    page.keyboard.type("Ada Lie")
    tab_to(page, "ny-concern")
    page.keyboard.type("Ada sier lite i samlingsstund.")
    tab_to(page, "Opprett saken")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Ada Lie", level=1)).to_be_visible()
    kari.check()

    tab_to(page, "Steg på nivå 0")
    page.keyboard.press("Enter")  # opens the form
    tab_to(page, "vurdering")  # the first step
    page.keyboard.press("Space")
    tab_to(page, "niva0-text")
    page.keyboard.type("Ser at Ada trekker seg unna.")
    tab_to(page, "Lagre steget")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    kari.log_says("Steg på nivå 0: Vurdering")
    kari.check()

    # The decision: arrow keys move through a radio group.
    tab_to(page, "Steg på nivå 0")
    page.keyboard.press("Enter")
    tab_to(page, "vurdering")
    for _ in range(3):
        page.keyboard.press("ArrowDown")
    tab_to(page, "niva0-text")
    page.keyboard.type("Vi går videre til tiltak.")
    tab_to(page, "Lagre steget")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    kari.log_says("Steg på nivå 0: Beslutning")

    tab_to(page, "Endre nivå")
    page.keyboard.press("Enter")
    tab_to(page, "niva-level-1")
    page.keyboard.press("ArrowDown")  # level 1
    tab_to(page, "niva-reason")
    page.keyboard.type("Tiltak i barnehagen.")
    tab_to(page, "Endre nivå")  # the button, after the summary of the same name
    with page.expect_navigation():
        page.keyboard.press("Enter")
    kari.log_says("Nytt nivå: fra 0 til 1")

    tab_to(page, "Registrer samtykke")
    page.keyboard.press("Enter")
    tab_to(page, "guardian")
    page.keyboard.press("Space")
    tab_to(page, "hauge-skole")
    page.keyboard.press("Space")
    tab_to(page, "samtykke-purpose")
    page.keyboard.type("Overgang til skolen.")
    tab_to(page, "samtykke-valid-until")
    page.keyboard.type("31.12.2030")
    tab_to(page, "oral")  # Tab enters a radio group once; an arrow picks the next
    page.keyboard.press("ArrowDown")
    tab_to(page, "Registrer samtykket")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#samtykker-liste")).to_contain_text("31.12.2030")

    tab_to(page, "Send stafettpinnen videre")
    page.keyboard.press("Enter")
    tab_to(page, "stafett-to-user")
    page.keyboard.type("Per")  # a closed list picks the option typed
    tab_to(page, "Send stafettpinnen")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#overlevering")).to_be_visible()
    kari.check()

    # Per takes the baton, by keyboard too.
    per = people["per"]
    per.page.goto("/saker")
    tab_to(per.page, "Ada Lie")
    with per.page.expect_navigation():
        per.page.keyboard.press("Enter")
    tab_to(per.page, "Ta imot stafettpinnen")
    with per.page.expect_navigation():
        per.page.keyboard.press("Enter")
    expect(per.page.locator("main")).to_contain_text("Per Hansen, Hauge skole")
    per.check()

    # The rest of the story, by keyboard: level 2, PPT in under a new consent, level 3,
    # responsibility group, individual plan, koordinator, meeting, action, evaluation,
    # close.
    p = per.page

    def submit(button: str) -> None:
        tab_to(p, button)
        with p.expect_navigation():
            p.keyboard.press("Enter")
        refused = p.locator(".ds-error-summary")
        assert refused.count() == 0, refused.first.inner_text()

    def open_box(summary: str) -> None:
        tab_to(p, summary)
        p.keyboard.press("Enter")

    def new_level(level: int, reason: str) -> None:
        open_box("Endre nivå")
        tab_to(p, "niva-level-1")
        for _ in range(level):
            p.keyboard.press("ArrowDown")
        tab_to(p, "niva-reason")
        p.keyboard.type(reason)
        submit("Endre nivå")

    new_level(2, "Skolen og barnehagen samarbeider.")
    per.log_says("Nytt nivå: fra 1 til 2")
    open_box("Registrer samtykke")
    tab_to(p, "guardian")
    p.keyboard.press("Space")
    tab_to(p, "ppt-lister")
    p.keyboard.press("Space")
    tab_to(p, "samtykke-purpose")
    p.keyboard.type("Råd fra PPT.")
    tab_to(p, "samtykke-valid-until")
    p.keyboard.type("31.12.2030")
    tab_to(p, "oral")
    p.keyboard.press("Space")
    submit("Registrer samtykket")
    open_box("Ta med en tjeneste")
    tab_to(p, "tjeneste-service")
    p.keyboard.type("PPT")
    submit("Ta med tjenesten")
    new_level(3, "Flere tjenester må samarbeide.")
    open_box("Opprett ansvarsgruppe")
    for service in ("bhg-solsikken", "hauge-skole", "ppt-lister"):
        tab_to(p, service)
        p.keyboard.press("Space")
    submit("Opprett ansvarsgruppen")
    submit("Start individuell plan")
    expect(p.locator(".oversikt div", has_text="Individuell plan")).to_contain_text("Ja")

    kim = people["kim"]
    kim.page.goto(p.url.split("#")[0])
    k = kim.page
    tab_to(k, "Oppnevn koordinator")
    k.keyboard.press("Enter")
    tab_to(k, "koordinator-user")
    k.keyboard.type("Pia")
    tab_to(k, "Oppnevn")
    with k.expect_navigation():
        k.keyboard.press("Enter")
    expect(k.locator("main")).to_contain_text("Pia Olsen, PPT Lister")
    kim.check()

    p.reload()
    open_box("Møte")
    tab_to(p, "mote-held-on")
    p.keyboard.type(date.today().strftime("%d.%m.%Y"))
    tab_to(p, "mote-services-1")
    p.keyboard.press("Space")
    tab_to(p, "mote-minutes")
    p.keyboard.type("Ansvarsgruppen møttes.")
    submit("Lagre møtet")
    open_box("Nytt tiltak")
    tab_to(p, "tiltak-description")
    p.keyboard.type("Språkgruppe.")
    tab_to(p, "tiltak-responsible-service")
    p.keyboard.type("PPT")
    tab_to(p, "tiltak-evaluate-by")
    p.keyboard.type((date.today() + timedelta(days=30)).strftime("%d.%m.%Y"))
    submit("Lagre tiltaket")
    open_box("Evaluer et tiltak")
    tab_to(p, "evaluering--mål")
    p.keyboard.press("ArrowDown")
    tab_to(p, "continue")  # the first outcome; an arrow picks the next, Fullført
    p.keyboard.press("ArrowDown")
    tab_to(p, "evaluering-text")
    p.keyboard.type("Målet er nådd.")
    submit("Lagre evalueringen")
    per.log_says("Tiltak evaluert")
    open_box("Avslutt saken")
    tab_to(p, "concern-resolved")
    p.keyboard.press("Space")
    submit("Avslutt saken")
    expect(p.locator("main")).to_contain_text("Saken er avsluttet og kan ikke endres")
    per.check()


def test_the_case_pages_fit_a_phone(people: dict[str, Person]):
    kari = people["kari"]
    case_url = open_case(kari, "Lea Vik")
    kari.page.set_viewport_size({"width": 375, "height": 800})
    for url in ("/saker", "/saker/ny", case_url, case_url + "/tilgangslogg"):
        kari.page.goto(url)
        kari.page.locator("details").evaluate_all("boxes => boxes.forEach(b => b.open = true)")
        width = kari.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{url} is {width} px wide at 375"
        kari.check()


def test_an_entry_is_corrected_by_a_new_one_and_a_service_leaves_the_case(
        people: dict[str, Person]):
    kari = people["kari"]
    case_url = open_case(kari, "Jon Dal")
    form = kari.open_form("Skriv i loggen")
    kari.tick(form.get_by_label("Observasjon"))
    form.get_by_label("Tekst", exact=True).fill("Jon gråt i garderoben tirsdag.")
    kari.submit("Lagre i loggen", form)
    form = kari.open_form("Skriv i loggen")
    kari.tick(form.get_by_label("Notat"))
    form.get_by_label("Tekst", exact=True).fill("Rettelse: det var onsdag, ikke tirsdag.")
    form.get_by_label("Retter en tidligere innføring").select_option(index=1)
    kari.submit("Lagre i loggen", form)
    log = kari.page.locator("#logg")
    expect(log).to_contain_text("Jon gråt i garderoben tirsdag.")  # the log never changes
    expect(log.locator("li", has_text="Rettelse: det var onsdag")).to_contain_text(
        "Retter en tidligere innføring")

    # PPT is brought in under a consent, then leaves the case by its own choice.
    kari.level0_step("Beslutning", "Vi ber PPT om råd.")
    kari.change_level(1, "Tiltak i barnehagen.")
    form = kari.open_form("Registrer samtykke")
    kari.tick(form.get_by_label("Foresatte"))
    kari.tick(form.get_by_label("PPT Lister"))
    form.get_by_label("Formål", exact=True).fill("Råd fra PPT.")
    form.get_by_label("Gjelder til og med", exact=True).fill("31.12.2030")
    kari.tick(form.get_by_label("Muntlig"))
    kari.submit("Registrer samtykket", form)
    form = kari.open_form("Ta med en tjeneste")
    form.get_by_label("Tjeneste", exact=True).select_option(label="PPT Lister")
    kari.submit("Ta med tjenesten", form)

    pia = people["pia"]
    pia.page.goto(case_url)
    pia.check()
    pia.submit("Ta PPT Lister ut av saken")
    expect(pia.page.get_by_role("heading", name="Mine saker", level=1)).to_be_visible()
    kari.page.reload()
    expect(kari.page.locator("#tjenester").locator("..")).not_to_contain_text("PPT Lister")
    kari.log_says("Tjeneste ute av saken")


def test_a_service_is_brought_in_without_consent_only_naming_the_law_and_why(
        people: dict[str, Person]):
    kari = people["kari"]
    case_url = open_case(kari, "Eli Lov")
    # Without a reason the form says so, in Norwegian, naming the field; nothing is done.
    form = kari.open_form("Koble inn en tjeneste uten samtykke")
    form.get_by_label("Tjeneste", exact=True).select_option(label="Hauge skole")
    kari.tick(form.get_by_label("Opplysningsplikten til barnevernet", exact=False))
    kari.press(form.get_by_role("button", name="Koble inn tjenesten"))
    kari.check(refused=True)
    kari.console.clear()
    expect(kari.page.locator(".ds-error-summary")).to_contain_text("Begrunnelse")
    expect(kari.page.locator("#tjenester").locator("..")).not_to_contain_text("Hauge skole")
    form = kari.page.locator("details[open]", has=kari.page.get_by_role(
        "button", name="Koble inn tjenesten"))
    form.get_by_label("Begrunnelse", exact=True).fill("Meldt til barnevernet etter samtale med Eli.")
    kari.submit("Koble inn tjenesten", form)
    services = kari.page.locator("#tjenester").locator("..")
    expect(services).to_contain_text("Koblet inn uten samtykke")
    expect(services).to_contain_text("Hauge skole: Opplysningsplikten til barnevernet")
    kari.log_says("Tjeneste koblet inn uten samtykke, med lovhjemmel: Hauge skole")
    kari.log_says("Meldt til barnevernet etter samtale med Eli.")

    # The school sees the case now, without any consent.
    per = people["per"]
    per.page.goto(case_url)
    per.check()
    expect(per.page.get_by_role("heading", name="Eli Lov", level=1)).to_be_visible()
    per.log_says("Meldt til barnevernet etter samtale med Eli.")
