"""The implementation's figures for an evaluator (`/statistikk/innforing`, a round's
results, the comparison of two rounds, the files), in Chromium against the real
server, signed in through a real OIDC provider.

Eva, an evaluator for Lyngdal, opens the figures: the activity shares with a service
of three staff hidden (":"), two closed survey rounds; the results of the later one
(the Levels of Use as a chart and a table, a unit with four answers hidden); the two
side by side; the CSV with the same hidden figures. Every page: axe-core finds no
WCAG 2.1 A/AA violation, nothing is asked of another host, no horizontal scroll at
375 px. A worker gets 403.
"""

from __future__ import annotations

import csv
import io
import os
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from domain.survey import DRIVERS, RESULT_ITEMS, SurveyAnswer
from tests.conftest import ADMIN
from tests.web.people import Person
from tests.web.servers import Server, signing_in_with

LOGINS = {"eva": "eva-sub", "kari": "kari-sub"}
TODAY = datetime.now(UTC).date()
# Units of Lyngdal and how many answer in each round.
ANSWERS = {"hauge-skole": 4, "lyngdal-skole": 7, "kvas-skole": 6, "bhg-solsikken": 8,
           "hs-lyngdal": 6}


def prepare(app) -> None:
    app.register_staff(ADMIN, staff_id="eva", name="Eva Evaluator", service=None,
                       roles=["evaluator"], municipalities=["4225"])
    for service, name, staff in (("lyngdal-skole", "Lyngdal ungdomsskole", 7),
                                 ("kvas-skole", "Kvås skole", 3)):
        app.register_service(ADMIN, service_id=service, name=name, sector="skole",
                             municipalities=["4225"])
        for n in range(staff):
            app.register_staff(ADMIN, staff_id=f"{service}-{n}", name=f"Ansatt {n}",
                               service=service, roles=["worker"], municipalities=["4225"])
            if n % 2 == 0:
                app.record_training(ADMIN, f"{service}-{n}", training="handlingsveileder",
                                    on=TODAY - timedelta(days=3))
    rng = random.Random(4)
    for extra in (0, 1):  # two rounds, the later with one more answer in each unit
        survey = app.open_survey_round(ADMIN, municipality="4225", services=list(ANSWERS),
                                       opens_on=TODAY - timedelta(days=30 - 20 * extra),
                                       closes_on=TODAY + timedelta(days=7))
        for service, k in ANSWERS.items():
            codes = app.issue_survey_codes(ADMIN, survey.id, service=service, count=k + 2)
            for code in codes[:k + extra]:
                app.answer_survey(code, SurveyAnswer(
                    level_of_use=rng.randint(2, 7),
                    drivers={d: rng.choice([1, 2, 3, 4, None]) for d in DRIVERS},
                    results={r: rng.choice([1, 2, 3, 4]) for r in RESULT_ITEMS}))
        app.close_survey_round(ADMIN, survey.id)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("results"), provider, LOGINS,
                         prepare=prepare) as running:
        yield running


@pytest.fixture
def eva(browser: Browser, server: Server, provider: str) -> Iterator[Person]:
    person = Person(browser, server, provider, LOGINS)
    person.sign_in("eva", "/statistikk")
    yield person
    person.close()


SHOTS = os.environ.get("STAFETTLOGG_SCREENSHOTS")


def fits(person: Person, width: int) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        name = person.page.url.split("/")[-1].split("?")[0][:12]
        person.page.screenshot(path=str(Path(SHOTS) / f"results-{name}-{width}.png"),
                               full_page=True)
    scroll = person.page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{person.page.url} is {scroll} px wide at {width}"


def row(person: Person, name: str):
    return person.page.get_by_role("row").filter(
        has=person.page.get_by_role("rowheader", name=name, exact=True))


def test_an_evaluator_sees_the_implementation_beside_the_case_indicators(eva: Person) -> None:
    page = eva.page
    page.get_by_role("link", name="Innføring av BTI").click()
    page.wait_for_url("**/statistikk/innforing")
    eva.check()
    # The activity shares: Kvås skole has three staff, so nothing of it is shown.
    expect(row(eva, "Kvås skole")).to_contain_text(":")
    expect(row(eva, "Kvås skole")).not_to_contain_text("av 3")
    expect(row(eva, "Lyngdal ungdomsskole")).to_contain_text("4 av 7")

    # The later round's results.
    page.get_by_role("link", name="Undersøkelsen").first.click()
    eva.check()
    expect(page.get_by_role("heading", name="Nivå for bruk i enhetene")).to_be_visible()
    expect(page.get_by_role("img", name="Stolpediagram")).to_be_visible()
    expect(page.get_by_text("36 svar av 41 inviterte")).to_be_visible()
    hauge = row(eva, "Hauge skole").get_by_role("cell").all_inner_texts()
    assert hauge[0] == "5"  # five answers this time: shown
    # The file says the same.
    link = page.get_by_role("link", name="CSV").get_attribute("href")
    answer = page.request.get(link)
    assert answer.ok and answer.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(answer.text().lstrip("\ufeff")), delimiter=";"))
    assert lines[0] == ["gruppe", "sektor", "tjeneste", "mål", "kategori", "verdi"]
    assert ["Hele kommunen", "all", "all", "svar", "", "36"] in lines

    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        fits(eva, width)
        eva.check()

    # The two rounds side by side.
    page.goto("/statistikk/innforing")
    page.get_by_role("button", name="Sammenlign").click()
    page.wait_for_url("**/sammenlign?**")
    eva.check()
    expect(page.get_by_role("table", name="Svar per nivå for bruk, da og nå")).to_be_visible()
    expect(row(eva, "Hele kommunen")).to_contain_text("31")
    page.set_viewport_size({"width": 375, "height": 900})
    fits(eva, 375)


def test_the_earlier_round_hides_a_unit_of_four(eva: Person) -> None:
    page = eva.page
    page.goto("/statistikk/innforing")
    page.get_by_role("link", name="Undersøkelsen").last.click()
    eva.check()
    cells = row(eva, "Hauge skole").get_by_role("cell").all_inner_texts()
    assert set(cells) == {":"}, cells  # 4 answers: nothing at all
    expect(page.get_by_text("31 svar av 41 inviterte")).to_be_visible()


def test_a_worker_gets_403(browser: Browser, server: Server, provider: str) -> None:
    kari = Person(browser, server, provider, LOGINS)
    try:
        kari.sign_in("kari")
        answer = kari.page.goto("/statistikk/innforing")
        assert answer is not None and answer.status == 403
    finally:
        kari.close()
