"""The staff survey's pages (`/undersokelser` for admins, `/undersokelse` for staff), in
Chromium against the real server, with a real OIDC provider for the admin's sign-in,
and over plain HTTP.

An admin (Adam) opens a round for Lyngdal, issues codes for a service and sees them
once on a printable page. A staff member, not signed in, answers on a 375 px phone by
keyboard alone: a missing answer is named and nothing is recorded, then the answer is
recorded and the admin's page says 1 of 2. The same code again is refused in
Norwegian, tied to the field. No code is ever in a URL the browser visited, in a
page's title, or in the server's log. Every page: axe-core finds no WCAG 2.1 A/AA
violation, nothing is asked of another host, no console error, no horizontal scroll
at 375 px. A worker gets 403; a survey form posted without its visit's token is
refused.

Screenshots are written to the directory `STAFETTLOGG_SCREENSHOTS` names, when set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ADMIN
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with
from tests.web.test_admin import csrf_of

LOGINS = {"adam": "adam-sub", "kari": "kari-sub"}
TODAY = datetime.now(UTC).date()
SHOTS = os.environ.get("STAFETTLOGG_SCREENSHOTS")
# What the tests hand on to the next, in module order: the codes Adam was shown.
ISSUED: dict[str, list[str]] = {}


def register_the_admin(app) -> None:
    app.register_staff(ADMIN, staff_id="adam", name="Adam Admin", service=None,
                       roles=["admin"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("survey"), provider, LOGINS,
                         prepare=register_the_admin) as running:
        yield running


class Visitor(Person):
    """A browser on the survey's pages, each page it reaches checked; the URLs of every
    page it visited kept."""

    def __init__(self, browser: Browser, server: Server, provider: str) -> None:
        super().__init__(browser, server, provider, LOGINS)
        self.visited: list[str] = []
        self.titles: list[str] = []
        self.page.on("framenavigated", lambda frame: frame == self.page.main_frame
                     and self.visited.append(frame.url))

    def check(self, *, refused: bool = False) -> None:
        super().check(refused=refused)
        self.titles.append(self.page.title())

    def submit(self, button: str, *, refused: bool = False) -> None:
        self.press(self.page.get_by_role("button", name=button, exact=True))
        self.check(refused=refused)
        if refused:
            self.console.clear()

    def shot(self, name: str) -> None:
        if SHOTS:
            Path(SHOTS).mkdir(parents=True, exist_ok=True)
            width = self.page.viewport_size["width"] if self.page.viewport_size else 0
            self.page.screenshot(path=str(Path(SHOTS) / f"survey-{name}-{width}.png"),
                                 full_page=True)
            # A long page at a phone's width in parts too, to be looked at.
            height = self.page.evaluate("document.documentElement.scrollHeight")
            for part, top in enumerate(range(0, height if width < 500 else 0, 1200)):
                self.page.screenshot(
                    path=str(Path(SHOTS) / f"survey-{name}-{width}-{part + 1}.png"),
                    full_page=True, clip={"x": 0, "y": top, "width": width,
                                          "height": min(1200, height - top)})

    def fits(self, width: int = 375) -> None:
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{self.page.url} is {scroll} px wide at {width}"

    def no_code_seen(self, codes: list[str]) -> None:
        """No code (as issued, or as its 16 letters) in a URL visited or a title."""
        for code in codes:
            for form in (code, code.replace("-", ""), code.lower()):
                assert not any(form in url for url in [*self.visited, self.page.url]), code
                assert not any(form in title for title in [*self.titles, self.page.title()])


@pytest.fixture
def adam(browser: Browser, server: Server, provider: str) -> Iterator[Visitor]:
    person = Visitor(browser, server, provider)
    person.sign_in("adam", "/admin")
    yield person
    person.close()


@pytest.fixture
def phone(browser: Browser, server: Server, provider: str) -> Iterator[Visitor]:
    """A staff member's phone, 375 px wide, not signed in."""
    person = Visitor(browser, server, provider)
    person.page.set_viewport_size({"width": 375, "height": 800})
    yield person
    person.close()


def the_round(server: Server):
    app = server.app()
    try:
        rounds = app.survey_rounds(ADMIN)
        assert len(rounds) == 1
        return rounds[0]
    finally:
        app.close()


def dotted(day) -> str:
    return f"{day:%d.%m.%Y}"


def test_an_admin_opens_a_round_and_sees_the_codes_once(adam: Visitor, server: Server):
    page = adam.page
    page.get_by_role("link", name="Undersøkelser").click()
    expect(page.get_by_role("heading", name="Undersøkelser", level=1)).to_be_visible()
    adam.check()
    expect(page.get_by_text("Ingen undersøkelse er opprettet ennå.")).to_be_visible()
    page.get_by_label("Kommune").select_option(label="Lyngdal")
    adam.submit("Velg tjenester")
    expect(page.get_by_role("heading", name="Opprett en undersøkelse i Lyngdal")).to_be_visible()
    # The municipality's services, every one ticked to begin with; only Lyngdal's.
    boxes = page.get_by_role("group", name="Tjenester som er med").get_by_role("checkbox")
    expect(boxes).to_have_count(4)
    for name in ("Solsikken barnehage", "Hauge skole", "PPT Lister"):
        page.get_by_label(name).uncheck()

    # No days: each named by its field, what was chosen kept.
    adam.submit("Opprett undersøkelsen", refused=True)
    summary = page.locator(".ds-error-summary")
    expect(summary).to_contain_text("Skriv første dag.")
    expect(summary).to_contain_text("Skriv siste dag.")
    expect(page.get_by_label("Første dag")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Helsestasjonen i Lyngdal")).to_be_checked()
    expect(page.get_by_label("Hauge skole")).not_to_be_checked()
    page.get_by_label("Første dag").fill(dotted(TODAY))
    page.get_by_label("Siste dag").fill(dotted(TODAY - timedelta(days=1)))
    adam.submit("Opprett undersøkelsen", refused=True)
    expect(summary).to_contain_text("Siste dag kan ikke være før første dag.")
    page.get_by_label("Siste dag").fill(dotted(TODAY + timedelta(days=14)))
    page.get_by_label("Spør om rolle").check()
    adam.submit("Opprett undersøkelsen")
    expect(page.get_by_role("status")).to_contain_text("Undersøkelsen er opprettet.")
    expect(page.get_by_role("heading", name="Undersøkelse i Lyngdal", level=1)).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Helsestasjonen i Lyngdal"))
    expect(row).to_contain_text("0 av 0")
    adam.shot("runde")

    # Codes for the health centre: one per active staff member (Hanne and Kim).
    expect(page.get_by_text("Helsestasjonen i Lyngdal: 2")).to_be_visible()
    page.get_by_label("Tjeneste", exact=True).select_option(label="Helsestasjonen i Lyngdal")
    adam.submit("Lag kodene")
    expect(page.get_by_role("heading", name="Koder til undersøkelsen", level=1)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("vises bare denne ene gangen")
    slips = page.locator(".kodelapp")
    expect(slips).to_have_count(2)
    expect(slips.first).to_contain_text(f"Gå til {server.base_url}/undersokelse og skriv inn "
                                        "koden")
    codes = [c.strip() for c in page.locator(".kode").all_inner_texts()]
    assert all(re.fullmatch(r"[A-Z2-9]{4}(-[A-Z2-9]{4}){3}", c) for c in codes), codes
    assert page.url.endswith("/koder")  # the page answers the POST: no code in its URL
    adam.shot("koder")
    # On paper: the slips only, no menu.
    page.emulate_media(media="print")
    assert page.locator(".sidehode").is_hidden()
    assert page.locator(".kodelapp").first.is_visible()
    adam.shot("koder-utskrift")
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 375, "height": 800})
    adam.fits()
    adam.shot("koder")
    page.set_viewport_size({"width": 1280, "height": 900})
    adam.no_code_seen(codes)
    # A reload posts the form again: no new codes, and the page says why.
    with page.expect_navigation():
        page.reload()
    expect(page.get_by_role("alert")).to_contain_text("allerede laget og vist én gang")
    adam.console.clear()
    assert sum(s.invited for s in the_round(server).services) == 2
    ISSUED["hs-lyngdal"] = codes

    # The list of rounds: Lyngdal, open, 0 of 2.
    page.goto("/undersokelser")
    adam.check()
    listed = page.get_by_role("row", name=re.compile("Lyngdal"))
    expect(listed).to_contain_text("Åpen")
    expect(listed).to_contain_text("0 av 2 (0 %)")
    adam.shot("runder")


def tab_to(page: Page, condition: str, limit: int = 120) -> None:
    """Press Tab until the focused element `el` meets the condition (JavaScript)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"(() => {{ const el = document.activeElement; return {condition}; }})()"):
            return
    pytest.fail(f"Tab never reached an element where {condition}")


def choose(page: Page, group: str, position: int) -> None:
    """By keyboard: Tab into the radio group `group`, and choose its answer number
    `position` (1-based): Space for the first, the arrow keys for the others."""
    tab_to(page, f"el.type === 'radio' && el.name === {group!r}")
    if position == 1:
        page.keyboard.press("Space")
    else:
        for _ in range(position - 1):
            page.keyboard.press("ArrowDown")
    checked = page.locator(f"input[name='{group}']:checked")
    expect(checked).to_have_count(1)
    assert page.evaluate(f"[...document.getElementsByName({group!r})].findIndex(r => r.checked)"
                         ) == position - 1, group


def send(person: Visitor, *, refused: bool = False) -> None:
    """Tab to the form's button and press Enter; wait for the page that answers."""
    page = person.page
    tab_to(page, "el.type === 'submit'")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    person.check(refused=refused)
    if refused:
        person.console.clear()


DRIVERS = ("opplaering", "ovelse", "felles-tid", "ledelsesplan", "forventninger",
           "ressurser", "lederstotte")
RESULTS = ("kunnskap-handlingsveileder", "kunnskap-tegn", "trygg-bekymring",
           "brukermedvirkning", "koble-inn")


def test_a_staff_member_answers_on_a_phone_by_keyboard_alone(phone: Visitor, server: Server):
    codes = ISSUED["hs-lyngdal"]
    page = phone.page
    page.goto("/undersokelse")
    phone.check()
    phone.fits()
    phone.shot("kode")
    expect(page.get_by_role("heading", name="Spørreundersøkelse om BTI", level=1)).to_be_visible()
    tab_to(page, "el.name === 'code'")
    page.keyboard.type(codes[0].lower().replace("-", " "))  # as typed on a phone
    page.keyboard.press("Enter")
    page.wait_for_selector("form[action='/undersokelse/svar']")
    phone.check()
    phone.fits()
    expect(page.get_by_text("Selvvurdering tilpasset fra Levels of Use (CBAM, Hall og Hord)")
           ).to_be_visible()
    expect(page.get_by_role("group", name="Hvilket nivå passer best for enheten din nå?")
           .get_by_role("radio")).to_have_count(8)
    expect(page.get_by_role("radio", name="6. Forbedring")).to_be_visible()
    phone.shot("skjema")

    # Everything but the last result item, by keyboard.
    choose(page, "level_of_use", 6)
    for i, driver in enumerate(DRIVERS):
        choose(page, f"drivers.{driver}", (1, 3, 4, 5)[i % 4])  # 5th is "Vet ikke"
    for item in RESULTS[:-1]:
        choose(page, f"results.{item}", 4)
    choose(page, "role", 1)
    send(phone, refused=True)
    summary = page.locator(".ds-error-summary")
    expect(summary).to_contain_text("Ett spørsmål mangler svar.")
    expect(summary).to_contain_text("Jeg vet hvordan jeg kobler inn andre tjenester: "
                                    "Velg et svar, eller «Vet ikke».")
    link = summary.get_by_role("link")
    expect(link).to_have_attribute("href", "#svar-results-koble-inn-1")
    expect(page.locator("#svar-results-koble-inn-1")).to_have_count(1)
    expect(page.get_by_role("group", name="Jeg vet hvordan jeg kobler inn andre tjenester.")
           ).to_have_attribute("aria-invalid", "true")
    # What was chosen is kept.
    expect(page.get_by_role("radio", name="6. Forbedring")).to_be_checked()
    expect(page.locator("input[name='drivers.ledelsesplan'][value='vet-ikke']")).to_be_checked()
    expect(page.locator("input[name='role'][value='medarbeider']")).to_be_checked()
    phone.fits()
    phone.shot("skjema-feil")
    view = the_round(server)
    assert view.answered == 0  # nothing recorded

    # The missing one, by keyboard from the top of the page as it came back, and sent.
    choose(page, "results.koble-inn", 5)  # "Vet ikke"
    send(phone)
    expect(page.get_by_role("heading", name="Takk for svaret", level=1)).to_be_visible()
    phone.fits()
    phone.shot("takk")
    phone.no_code_seen(codes)
    view = the_round(server)
    assert view.answered == 1
    assert not any(
        form in server.output() for c in codes for form in (c, c.replace("-", "")))


def test_the_admin_sees_one_of_two(adam: Visitor, server: Server):
    page = adam.page
    page.goto("/undersokelser")
    listed = page.get_by_role("row", name=re.compile("Lyngdal"))
    expect(listed).to_contain_text("1 av 2 (50 %)")
    listed.get_by_role("link").click()
    expect(page.get_by_role("row", name=re.compile("Helsestasjonen i Lyngdal"))
           ).to_contain_text("1 av 2 (50 %)")
    adam.check()
    page.set_viewport_size({"width": 375, "height": 800})
    for url in ("/undersokelser", page.url, "/undersokelser/ny?kommune=4225", "/admin"):
        page.goto(url)
        adam.check()
        adam.fits()


def test_a_used_code_is_refused_by_its_field(phone: Visitor, server: Server):
    code = ISSUED["hs-lyngdal"][0]
    page = phone.page
    page.goto("/undersokelse")
    page.get_by_label("Kode").fill(code)
    phone.submit("Gå videre", refused=True)
    field = page.get_by_label("Kode")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#kode-code-feil")).to_have_text(
        "Koden er brukt eller finnes ikke. Sjekk at du har skrevet den riktig.")
    expect(page.locator(".ds-error-summary").get_by_role("link")).to_have_attribute(
        "href", "#kode-code")
    phone.fits()
    phone.shot("kode-brukt")
    page.get_by_label("Kode").fill("ABCD-EFGH-JKMN-PQRS")
    phone.submit("Gå videre", refused=True)
    expect(page.locator("#kode-code-feil")).to_contain_text("Koden er brukt eller finnes ikke.")
    phone.no_code_seen(ISSUED["hs-lyngdal"])
    assert the_round(server).answered == 1


def test_a_worker_has_no_survey_admin_pages(browser: Browser, server: Server, provider: str):
    kari = Visitor(browser, server, provider)
    try:
        kari.sign_in("kari", "/saker")
        view = the_round(server)
        for path in ("/undersokelser", f"/undersokelser/{view.id}",
                     "/undersokelser/ny?kommune=4225"):
            answer = kari.page.goto(path)
            assert answer is not None and answer.status == 403, path
            expect(kari.page.get_by_role("heading", level=1)).to_have_text(
                "Du har ikke tilgang til denne siden")
        kari.check(refused=True)
    finally:
        kari.close()


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as c:
        yield c


def test_the_survey_forms_want_their_visit_s_token(http: httpx.Client, server: Server):
    code = ISSUED["hs-lyngdal"][1]
    # Without a visit: refused before the code is looked at.
    assert http.post("/undersokelse", data={"code": code}).status_code == 403
    first = http.get("/undersokelse")
    assert first.status_code == 200
    assert "stafettlogg_undersokelse" in first.headers["set-cookie"]
    assert "path=/undersokelse" in first.headers["set-cookie"].lower()
    token = csrf_of(first.text)
    assert http.post("/undersokelse", data={"code": code, "_csrf": "forged"}).status_code == 403
    form = http.post("/undersokelse", data={"code": code, "_csrf": token})
    assert form.status_code == 200 and 'name="level_of_use"' in form.text
    assert code not in first.text
    # The answer's form with another browser's token: refused, nothing recorded.
    with httpx.Client(base_url=server.base_url, timeout=10) as other:
        other.get("/undersokelse")
        answer = other.post("/undersokelse/svar", data={"code": code, "_csrf": token,
                                                        "level_of_use": "3"})
    assert answer.status_code == 403
    assert the_round(server).answered == 1


def test_the_admin_closes_the_round_and_its_codes_answer_no_more(adam: Visitor,
                                                                  phone: Visitor,
                                                                  server: Server):
    page = adam.page
    page.goto(f"/undersokelser/{the_round(server).id}")
    adam.submit("Avslutt undersøkelsen")
    expect(page.get_by_role("status")).to_contain_text("Undersøkelsen er avsluttet.")
    assert page.get_by_role("button", name="Lag kodene").count() == 0
    page.goto("/undersokelser")
    expect(page.get_by_role("row", name=re.compile("Lyngdal"))).to_contain_text("Avsluttet")
    # The unused code: refused by its field.
    phone.page.goto("/undersokelse")
    phone.page.get_by_label("Kode").fill(ISSUED["hs-lyngdal"][1])
    phone.submit("Gå videre", refused=True)
    expect(phone.page.locator("#kode-code-feil")).to_have_text("Undersøkelsen er avsluttet.")
    assert the_round(server).answered == 1
