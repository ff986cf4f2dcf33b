"""The evaluators' statistics pages, in Chromium, against the API's own numbers.

Eli evaluates Lyngdal (4225) and Kvinesdal (4227). In 2026 Lyngdal opened 8
kindergarten cases in January, 6 school cases in February and 3 at the health station
in March; the ended months are released before the server starts. Eli signs in through
a real OpenID Connect provider on 127.0.0.1 and lands on the dashboard; she chooses the
first quarter and Lyngdal, and every table shows what the API answers for the same
period and municipality (`:` where the API says suppressed, the same number elsewhere),
and every chart the same numbers as its table, with no bar for a hidden cell. She
changes to Kvinesdal and to a period that has not ended (the page says when it will be
published), does the same by keyboard alone, and takes the Excel report, the CSV for
Norwegian Excel and the PDF. Every page: no WCAG 2.1 A/AA violation (axe-core),
nothing from another host. Every table she looked at is in her statistics log. A
worker and an admin get no dashboard.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from domain.values import SECTORS, Actor
from stafettlogg.tokens import issue_token
from tests.conftest import ADMIN, KARI, PER
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with

LOGINS = {"eli": "eli-sub", "kari": "kari-sub", "adam": "adam-sub"}
HANNE_ACTOR = Actor(user="hanne", service="hs-lyngdal", roles=frozenset({"worker"}),
                             municipalities=frozenset({"4225"}))
LEVELS = ("0", "1", "2", "3", "all")


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(hour=9, tzinfo=UTC)


def prepare(app: Any) -> None:
    app.register_staff(ADMIN, staff_id="eli", name="Eli Evaluator", service=None,
                       roles=["evaluator"], municipalities=["4225", "4227"])
    app.register_staff(ADMIN, staff_id="adam", name="Adam Admin", service=None, roles=["admin"])
    births = iter(date(2016, 1, 1) + timedelta(days=41 * n) for n in range(100))
    for actor, days in ((KARI, [f"2026-01-{5 + i:02d}" for i in range(8)]),
                        (PER, [f"2026-02-{2 + i:02d}" for i in range(6)]),
                        (HANNE_ACTOR, ["2026-03-02", "2026-03-03", "2026-03-04"])):
        for day in days:
            app.open_case(actor, child_name="Statistikkbarn Hemmeligsen", birth_date=next(births),
                          national_id=None, concern="Barnet virker stille.", at=at(day))
    app.statistics.release()  # every ended month, as the server's releaser would


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("statistikk"), provider, LOGINS,
                         prepare=prepare) as running:
        yield running


@pytest.fixture(scope="module")
def api(server: Server) -> Any:
    """The API's answer for a period and municipality, with Eli's own token."""
    app = server.app()
    try:
        token = issue_token(app.settings, app.keys, sub="eli", name="Eli", roles=["evaluator"],
                            service=None, municipalities=["4225", "4227"], now=datetime.now(UTC))
    finally:
        app.close()

    def answer(period: str, municipality: str) -> dict[tuple[str, str, str], Any]:
        response = httpx.get(f"{server.base_url}/api/v1/statistics/indicators",
                             params={"period": period, "municipality": municipality},
                             headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 200, response.text
        return {(c["indicator"], c["sector"], str(c["level"])): c
                for c in response.json()["cells"]}

    return answer


class Evaluator(Person):
    def __init__(self, browser: Browser, server: Server, provider: str) -> None:
        super().__init__(browser, server, provider, LOGINS)

    def choose(self, period: str, place: str) -> None:
        page = self.page
        page.get_by_label("Periode", exact=True).select_option(label=period)
        page.get_by_label("Kommune", exact=True).select_option(label=place)
        self.press(page.get_by_role("button", name="Vis tallene"))
        self.check()


@pytest.fixture
def eli(browser: Browser, server: Server, provider: str) -> Iterator[Evaluator]:
    person = Evaluator(browser, server, provider)
    person.sign_in("eli", "/statistikk")
    yield person
    person.close()


def shown(cell: Any) -> str:
    """What a cell of the API should look like on the page."""
    if cell["suppressed"]:
        return ":"
    value = cell["value"]
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


def table_text(page: Page, indicator: str) -> dict[tuple[str, str], str]:
    """A table's cells as the reader sees them, by (sector, level)."""
    rows = page.locator(f"table[data-indikator='{indicator}'] tbody tr")
    out: dict[tuple[str, str], str] = {}
    for n in range(rows.count()):
        row = rows.nth(n)
        sector = row.get_attribute("data-sektor")
        cells = row.locator("td")
        for i, level in enumerate(LEVELS):
            visible = cells.nth(i).locator(":scope > span[aria-hidden=true]")
            out[sector, level] = ":" if visible.count() else cells.nth(i).inner_text().strip()
    return out


def chart_text(page: Page, indicator: str) -> dict[str, tuple[str, bool]]:
    """A chart's value per sector, and whether it draws a bar."""
    groups = page.locator(f"svg[data-indikator='{indicator}'] g.rad")
    return {
        groups.nth(n).get_attribute("data-sektor"): (
            groups.nth(n).locator("text.verdi").text_content().strip(),
            groups.nth(n).locator("rect").count() > 0,
        )
        for n in range(groups.count())
    }


def agrees_with_the_api(page: Page, answer: dict[tuple[str, str, str], Any]) -> tuple[int, int]:
    """Every table equals the API, every chart its table; (hidden, numbers) seen."""
    hidden = numbers = 0
    indicators = sorted({k[0] for k in answer})
    for indicator in indicators:
        table = table_text(page, indicator)
        assert len(table) == (len(SECTORS) + 1) * len(LEVELS), indicator
        for (sector, level), text in table.items():
            expected = shown(answer[indicator, sector, level])
            assert text == expected, (indicator, sector, level, text, expected)
            hidden += text == ":"
            numbers += text not in (":", "0")
        chart = chart_text(page, indicator)
        assert set(chart) == set(SECTORS)
        for sector, (text, bar) in chart.items():
            assert text == table[sector, "all"], (indicator, sector)
            if text == ":":
                assert not bar, (indicator, sector)  # no bar for a hidden cell
            elif text not in ("0", ":"):
                assert bar, (indicator, sector)
    return hidden, numbers


def test_an_evaluator_reads_the_tables_the_api_publishes(eli: Evaluator, server: Server,
                                                         api: Any) -> None:
    page = eli.page
    expect(page.get_by_role("heading", name="Statistikk", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Statistikk")).to_have_attribute("aria-current", "page")
    assert page.get_by_role("link", name="Mine saker").count() == 0

    # The municipalities by name, and all of hers together.
    options = page.get_by_label("Kommune", exact=True).locator("option").all_inner_texts()
    assert options == ["Kvinesdal", "Lyngdal", "Alle mine kommuner"]

    eli.choose("1. kvartal 2026", "Lyngdal")
    assert "periode=2026-Q1" in page.url and "kommune=4225" in page.url
    expect(page.get_by_text("Lyngdal, 1. kvartal 2026.")).to_be_visible()
    hidden, numbers = agrees_with_the_api(page, api("2026-Q1", "4225"))
    assert hidden and numbers  # both kinds are on the page
    # The 8 kindergarten cases of January and the 6 school cases are shown; the
    # health station's 3 are hidden, and a footnote says what ':' means.
    cases = table_text(page, "cases_opened")
    assert cases["barnehage", "0"] == "8" and cases["skole", "0"] == "6"
    assert cases["helsestasjon", "0"] == ":"
    expect(page.locator("#cases_opened .fotnote")).to_contain_text("skjult")
    # The process indicators have their own section; the months of the year theirs.
    expect(page.get_by_role("heading", name="Prosessindikatorer", level=2)).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Måned for måned i 2026"))).to_be_visible()
    months = page.locator("table[data-tabell=maaneder] thead th").all_inner_texts()
    assert months[1:4] == ["januar", "februar", "mars"]
    # Each month-by-month chart has the numbers of its row of the table.
    rows = page.locator("table[data-tabell=maaneder] tbody tr")
    assert rows.count() == 6
    for n in range(rows.count()):
        row = rows.nth(n)
        key = row.get_attribute("data-indikator")
        cells = [":" if c.locator("span[aria-hidden=true]").count() else c.inner_text().strip()
                 for c in row.locator("td").all()]
        bars = page.locator(f"svg.utvikling[data-indikator='{key}'] g.kolonne")
        assert [bars.nth(i).locator("text.verdi").text_content().strip()
                for i in range(bars.count())] == cells, key
        assert all(bars.nth(i).locator("rect").count() == 0
                   for i, text in enumerate(cells) if text == ":")
    assert rows.nth(1).locator("td").nth(0).inner_text() == "8"  # January's 8 cases

    eli.choose("februar 2026", "Kvinesdal")
    agrees_with_the_api(page, api("2026-02", "4227"))
    assert set(table_text(page, "cases_opened").values()) == {"0"}

    # A period that has not ended says when it will be published, and shows no table.
    running = [t for t in page.get_by_label("Periode", exact=True).locator("option").all_inner_texts()
               if "publiseres" in t]
    assert running
    page.get_by_label("Periode", exact=True).select_option(label=running[-1])
    eli.press(page.get_by_role("button", name="Vis tallene"))
    eli.check()
    day = re.search(r"publiseres (\d\d\.\d\d\.\d{4})", running[-1])[1]
    expect(page.get_by_role("status")).to_contain_text(day)
    assert page.locator("table.statistikk").count() == 0

    # Every table she looked at is in her statistics log.
    app = server.app()
    try:
        seen = [(r["table"], r["period"], r["municipalities"])
                for r in app.statistics.requests_of("eli")]
    finally:
        app.close()
    assert ("dashboard", "2026-Q1", ["4225"]) in seen
    assert ("dashboard", "2026-02", ["4227"]) in seen
    assert ("dashboard-months", "2026-01", ["4225"]) in seen


def test_by_keyboard_alone(eli: Evaluator, api: Any) -> None:
    page = eli.page

    def tab_to(selector: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({selector!r})"):
                assert page.evaluate("document.activeElement.matches(':focus-visible')")
                return
        pytest.fail(f"Tab never reached {selector}")

    tab_to("#valg-periode")
    page.keyboard.type("2. kvartal 2026")
    tab_to("#valg-kommune")
    page.keyboard.type("Lyngdal")
    tab_to("button[type=submit]:not(form[action='/logg-ut'] button)")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    eli.check()
    assert "periode=2026-Q2" in page.url and "kommune=4225" in page.url
    agrees_with_the_api(page, api("2026-Q2", "4225"))
    # The links to the files and the explanation are reached by Tab too.
    tab_to("a[href^='/statistikk/indikatorer.xlsx']")
    with page.expect_navigation():
        page.get_by_role("link", name="Om tallene og hvordan de beskyttes").focus()
        page.keyboard.press("Enter")
    eli.check()
    expect(page.get_by_role("heading", name="Slik beskyttes tallene")).to_be_visible()
    expect(page.get_by_text("Alle tall fra 1 til 4 skjules")).to_be_visible()


def test_the_files_to_hand_on(eli: Evaluator, api: Any) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    page = eli.page
    eli.choose("1. kvartal 2026", "Lyngdal")
    answer = api("2026-Q1", "4225")

    with page.expect_download() as got:
        page.get_by_role("link", name=re.compile("Excel-rapport")).click()
    assert got.value.suggested_filename == "indikatorer-2026-Q1-4225.xlsx"
    book = load_workbook(io.BytesIO(got.value.path().read_bytes()))
    sheet = book["Saker opprettet"]
    assert sheet["A4"].value == "Lyngdal"
    assert sheet["B6"].value == answer["cases_opened", "barnehage", "0"]["value"] == 8

    with page.expect_download() as got:
        page.get_by_role("link", name=re.compile("CSV for norsk Excel")).click()
    text = got.value.path().read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    assert {r["kommune"] for r in rows} == {"4225"}
    by_key = {(r["indikator"], r["sektor"], r["nivå"]): r for r in rows}
    assert by_key["cases_opened", "skole", "0"]["verdi"] == "6"
    assert by_key["cases_opened", "helsestasjon", "0"]["skjult"] == "ja"

    with page.expect_download() as got:
        page.get_by_role("link", name="Rapport som PDF").click()
    pdf = PdfReader(got.value.path())
    catalog = pdf.trailer["/Root"]
    assert "/StructTreeRoot" in catalog and catalog["/MarkInfo"]["/Marked"]  # tagged
    assert catalog["/Lang"] == "nb"
    words = " ".join(p.extract_text() for p in pdf.pages)
    assert "Indikatorer for BTI: Lyngdal, 1. kvartal 2026" in words
    assert "Saker opprettet" in words and "Prosessindikatorer" in words

    page.get_by_role("link", name="Utskriftsvennlig side").click()
    page.wait_for_url("**/statistikk/utskrift**")
    eli.check()
    assert table_text(page, "cases_opened")["barnehage", "0"] == "8"


@pytest.mark.parametrize(("who", "lands_on"), [("kari", "/saker"), ("adam", "/admin")])
def test_only_evaluators_get_the_dashboard(browser: Browser, server: Server, provider: str,
                                           who: str, lands_on: str) -> None:
    person = Person(browser, server, provider, LOGINS)
    try:
        person.sign_in(who, lands_on)
        assert person.page.get_by_role("link", name="Statistikk", exact=True).count() == 0
        for path in ("/statistikk", "/statistikk/om", "/statistikk/rapport.pdf?periode=2026",
                     "/statistikk/indikatorer.xlsx?periode=2026"):
            response = person.page.goto(path)
            assert response is not None and response.status == 403, path
            expect(person.page.get_by_role("heading", level=1)).to_have_text(
                "Du har ikke tilgang til denne siden")
        person.check(refused=True)
    finally:
        person.close()
