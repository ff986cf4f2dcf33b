"""Statistics over HTTP, as an evaluator meets it (api-contract.md "Statistics").

`GET /api/v1/statistics/indicators[.csv|.xlsx]?period=P[&municipality=NNNN]` through
the real ASGI app, real tokens and a real encrypted store holding a small data set
of cases in Lyngdal (4225) and Kvinesdal (4227), made through the application's
commands. What is promised:

* an evaluator gets the grid of its own municipalities only ("all" means all of
  *its* municipalities), with the policy, hidden cells as `null` + `suppressed`;
  nobody else gets statistics (403), nobody without a token (401), a bad period or
  municipality is a 400 naming the field, in Norwegian; a period not released yet is
  a 503 at once, with Retry-After;
* the same grid as CSV and as an XLSX workbook;
* every request is recorded: who, which table, which period;
* while the app runs, a new case shows in the statistics within a second;
* no answer holds a name, an identity number, a birth date, an exact date, an id or
  a free text.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import pytest

from projections.system import CellKey
from projections.indicators import count_month
from projections.protection import Policy
from litestar.testing import AsyncTestClient

from domain.values import SECTORS, Actor
from stafettlogg.application import Stafettlogg
from stafettlogg.web.pages.words import SECTORS as SECTOR_NAMES
from stafettlogg.tokens import issue_token
from tests.api.conftest import NOW, Users, open_api_app
from tests.conftest import Backend
from tests.stores import postgres_schema
from tests.api.story import national_id_for

API = "/api/v1/statistics"
PROBLEM_JSON = "application/problem+json"
CONTRACT_INDICATORS = {
    "children_with_holder", "children_with_coordinator", "children_with_responsibility_group",
    "children_with_individual_plan", "interdisciplinary_meetings", "cases_opened",
    "handovers_completed", "satisfaction_answers",
}
CSV_COLUMNS = ["indicator", "label", "period", "municipality", "sector", "level", "value",
               "suppressed"]
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)

KARI = Actor(user="kari", service="bhg-solsikken", roles=frozenset({"worker"}),
             municipalities=frozenset({"4225"}))
PER = Actor(user="per", service="hauge-skole", roles=frozenset({"worker"}),
            municipalities=frozenset({"4225"}))
HANNE = Actor(user="hanne", service="hs-lyngdal", roles=frozenset({"worker"}),
              municipalities=frozenset({"4225"}))
OLA = Actor(user="ola", service="kvinesdal-skole", roles=frozenset({"worker"}),
            municipalities=frozenset({"4227"}))


def at(day: str, hour: int = 8) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


class DataSet:
    """What went into the store: for the expected counts and the privacy scan."""

    def __init__(self) -> None:
        self.people: list[str] = []  # names, national ids, birth dates
        self.texts: list[str] = []  # concerns, notes, minutes
        self.case_ids: list[str] = []


class Released(NamedTuple):
    app: Stafettlogg
    data_set: DataSet


class ReleasedStores:
    """The data set, built and released once per backend for the module's tests that
    only read it (releasing takes seconds); a test marked `own_store` (it writes, or
    counts what was recorded) gets a store of its own."""

    def __init__(self, stack: ExitStack, tmp: pytest.TempPathFactory) -> None:
        self.stack = stack
        self.tmp = tmp
        self.shared: dict[str, Released] = {}

    def build(self, backend: Backend) -> Released:
        data_set = DataSet()
        app = open_api_app(self.tmp.mktemp("statistics") / "var", backend)
        self.stack.callback(app.close)
        fill(app, data_set)
        return Released(app, data_set)

    def for_test(self, request: pytest.FixtureRequest, backend: Backend) -> Released:
        if request.node.get_closest_marker("own_store"):
            return self.build(backend)  # in the test's own schema on PostgreSQL
        if backend.name not in self.shared:
            own = (backend if backend.name == "sqlite"
                   else self.stack.enter_context(postgres_schema()))
            self.shared[backend.name] = self.build(own)
        return self.shared[backend.name]


@pytest.fixture(scope="module")
def released_stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReleasedStores]:
    with ExitStack() as stack:
        yield ReleasedStores(stack, tmp_path_factory)


@pytest.fixture
def released(request: pytest.FixtureRequest, backend: Backend,
             released_stores: ReleasedStores) -> Released:
    return released_stores.for_test(request, backend)


@pytest.fixture
def data_set(released: Released) -> DataSet:
    return released.data_set


@pytest.fixture
def stafettlogg(released: Released) -> Stafettlogg:
    return released.app


def fill(app: Stafettlogg, data_set: DataSet) -> None:
    """The data set (clock at NOW, 2026-03-02 09:00 UTC) with cases in two municipalities,
    every ended period then released.

    4225: 6 barnehage cases in January, 5 skole cases and 1 helsestasjon case in
    February, 6 barnehage cases on 1-2 March. 4227: 7 skole cases in February.
    """
    counter = iter(range(1, 1000))

    def open_case(actor: Actor, day: str, hour: int = 8) -> str:
        n = next(counter)
        birth = date(2015, 1, 1) + timedelta(days=37 * n)
        name = f"Statistikkbarn{n:02d} Hemmeligsen"
        national_id = national_id_for(birth) if n % 2 else None
        concern = f"Undring nummer {n}: barnet virker stille i friminuttene."
        case = app.open_case(actor, child_name=name, birth_date=birth, national_id=national_id,
                             concern=concern, at=at(day, hour))
        data_set.people += [name, birth.isoformat(), *([national_id] if national_id else [])]
        data_set.texts.append(concern)
        data_set.case_ids.append(str(case.id))
        return str(case.id)

    january = [open_case(KARI, f"2026-01-{5 + i:02d}") for i in range(6)]
    for i in range(5):
        open_case(PER, f"2026-02-{2 + i:02d}")
    open_case(HANNE, "2026-02-09")
    for i in range(6):
        open_case(KARI, f"2026-03-0{1 + i // 3}", hour=6 + i % 3)
    for i in range(7):
        open_case(OLA, f"2026-02-{10 + i:02d}")
    # A little history with free text in one January case.
    case_id = january[0]
    for step in ("vurdering", "konkretisering", "deling", "beslutning"):
        text = f"Nivå 0, steget {step}, for den stille eleven i januar."
        app.record_level0_step(KARI, UUID(case_id), step=step, text=text, at=at("2026-01-20"))
        data_set.texts.append(text)
    note = "Familien flytter til besteforeldrene i Bergen etter jul."
    app.close_case(KARI, UUID(case_id), reason="moved-away", note=note, at=at("2026-02-25"))
    data_set.texts.append(note)
    # Statistics publish ended periods only: the service now lives in early 2027,
    # when every period of 2026 has ended.
    app.clock = lambda: LATER
    app.statistics.release()  # as the service's releaser does in the background


LATER = datetime(2027, 1, 5, 9, tzinfo=UTC)


def evaluator_token(app: Stafettlogg, user: str, municipalities: list[str],
                    roles: list[str] | None = None) -> dict[str, str]:
    token = issue_token(app.settings, app.keys, sub=user, name=user.title(),
                        roles=roles or ["evaluator"], service=None,
                        municipalities=municipalities, now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


async def get(client: AsyncTestClient, headers: dict[str, str] | None, path: str = "",
              **params: str) -> Any:
    return await client.get(f"{API}/indicators{path}", params=params, headers=headers or {})


def cell_map(body: dict[str, Any]) -> dict[tuple[str, str, str, Any], dict[str, Any]]:
    out = {}
    for c in body["cells"]:
        key = (c["indicator"], c["municipality"], c["sector"], c["level"])
        assert key not in out, key
        out[key] = c
    return out


def is_problem(response: Any, status: int) -> bool:
    body = response.json()
    return (
        response.status_code == status
        and response.headers["content-type"].startswith(PROBLEM_JSON)
        and body["status"] == status
        and all(body.get(k) for k in ("type", "title", "detail"))
    )


# --- JSON ---------------------------------------------------------------------------


async def test_an_evaluator_gets_the_grid_of_its_own_municipality_per_contract(
    client: AsyncTestClient, users: Users
) -> None:
    response = await get(client, users.headers("eva"), period="2026-02")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["period"] == "2026-02"
    assert body["policy"]["threshold"] == 5
    # The rule as published: an attacker may not take a hidden cell to be non-zero.
    assert body["policy"]["zeros_may_be_hidden"] is True
    assert body["policy"]["version"] == 3
    assert set(body["policy"]["protection_levels"]) == {"upper", "interval"}
    assert "5" in body["policy"]["rule"]
    cells = cell_map(body)
    indicators = {c["indicator"] for c in body["cells"]}
    assert indicators >= CONTRACT_INDICATORS
    # The whole fixed grid: municipality (its own, and all) x sector x level.
    assert set(cells) == {
        (i, m, s, lv) for i in indicators for m in ("4225", "all") for s in (*SECTORS, "all")
        for lv in (0, 1, 2, 3, "all")
    }
    for c in body["cells"]:
        assert set(c) >= {"indicator", "municipality", "sector", "level", "value", "suppressed"}
        assert c["level"] in (0, 1, 2, 3, "all")  # an int, or "all"
        assert isinstance(c["suppressed"], bool)
        assert (c["value"] is None) == c["suppressed"]
        assert c["value"] is None or isinstance(c["value"], int | float)
    for key, c in cells.items():  # a count is 0 or at least the threshold
        if not key[0].endswith(("median", "mean")) and c["value"] is not None:
            assert c["value"] == 0 or c["value"] >= 5, c

    def value(indicator: str, m: str = "all", s: str = "all", lv: Any = "all") -> Any:
        return cells[(indicator, m, s, lv)]["value"]

    # End of February: 5 January cases still open, 5 skole, 1 helsestasjon. One case
    # was closed in February: with January's 6 and February's 6 opened, publishing
    # the 11 would give the one closing away, so one of those is hidden.
    assert value("children_with_holder") in (11, None)
    assert value("children_with_holder", "4225") == value("children_with_holder")
    assert value("cases_closed_moved_away") is None
    assert value("children_with_holder", s="barnehage") in (5, None)
    assert value("children_with_holder", s="helsestasjon") is None  # one child
    assert value("cases_opened", "4225", "helsestasjon", 0) is None
    # Kvinesdal's 7 cases are nowhere: "all" is all of the evaluator's municipalities.
    for (indicator, m, s, lv), c in cells.items():
        own = cells[(indicator, "4225", s, lv)]
        if m == "all" and c["value"] is not None and own["value"] is not None:
            assert c["value"] == own["value"], (indicator, s, lv)


async def test_all_means_all_of_the_evaluators_own_municipalities(
    client: AsyncTestClient, stafettlogg: Stafettlogg
) -> None:
    region = evaluator_token(stafettlogg, "rita", ["4225", "4227"])
    response = await get(client, region, period="2026-02")
    assert response.status_code == 200, response.text
    cells = cell_map(response.json())
    assert {m for _, m, _, _ in cells} == {"4225", "4227", "all"}
    # The national total of the two (it may be hidden: one child who moved away from
    # 4225 in February is protected by the totals around her).
    assert cells[("children_with_holder", "all", "all", "all")]["value"] in (11 + 7, None)
    assert cells[("children_with_holder", "4227", "skole", "all")]["value"] in (7, None)
    assert cells[("children_with_holder", "all", "skole", 0)]["value"] in (5 + 7, None)
    only = await get(client, region, period="2026-02", municipality="4227")
    assert only.status_code == 200
    assert {c["municipality"] for c in only.json()["cells"]} == {"4227"}
    # A slice of the same answer, not a table of its own.
    assert only.json()["cells"] == [
        c for c in response.json()["cells"] if c["municipality"] == "4227"
    ]


async def test_an_evaluator_may_not_ask_for_another_municipality(
    client: AsyncTestClient, users: Users
) -> None:
    for path in ("", ".csv", ".xlsx"):
        response = await get(client, users.headers("eva"), path, period="2026", municipality="4227")
        assert is_problem(response, 403), (path, response.text)
    own = await get(client, users.headers("eva"), period="2026", municipality="4225")
    assert own.status_code == 200
    assert {c["municipality"] for c in own.json()["cells"]} == {"4225"}


@pytest.mark.parametrize("user", ["kari", "kim", "adam", "pia"])
async def test_nobody_but_evaluators_gets_statistics(
    client: AsyncTestClient, users: Users, user: str
) -> None:
    for path in ("", ".csv", ".xlsx"):
        response = await get(client, users.headers(user), path, period="2026")
        assert is_problem(response, 403), (user, path, response.status_code)


async def test_no_token_is_401(client: AsyncTestClient) -> None:
    for path in ("", ".csv", ".xlsx"):
        response = await get(client, None, path, period="2026")
        assert is_problem(response, 401), path
    garbage = await get(client, {"Authorization": "Bearer abc.def.ghi"}, period="2026")
    assert is_problem(garbage, 401)


async def test_a_period_that_has_not_ended_is_503_saying_when_it_will_be(
    client: AsyncTestClient, users: Users, stafettlogg: Stafettlogg
) -> None:
    """A running total would change with every new case; only ended periods are
    published, and the answer says when this one will be."""
    recorded = stafettlogg.statistics.requests_of("eva")
    response = await get(client, users.headers("eva"), period="2027-01")
    assert is_problem(response, 503), response.text
    body = response.json()
    assert body["code"] == "not-released"
    assert "01.02.2027" in body["detail"] and "ikke over" in body["detail"]
    # Ask again when January has ended (the service lives on 5 January 2027).
    wait = int(response.headers["Retry-After"])
    assert 26 * 86400 < wait < 28 * 86400
    assert stafettlogg.statistics.requests_of("eva") == recorded  # nothing was answered


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "2026-H3", "26", "2026-3", "2026-Q1x",
                                    "", "2026-00", "2026-W10"])
async def test_a_bad_period_is_400_naming_the_field(
    client: AsyncTestClient, users: Users, period: str
) -> None:
    response = await get(client, users.headers("eva"), period=period)
    assert is_problem(response, 400), response.text
    body = response.json()
    assert "period" in body["detail"]
    assert [e["field"] for e in body.get("errors", [])] == ["period"]
    # For people, in Norwegian: what to write, not a regular expression.
    message = body["errors"][0]["message"]
    assert re.search(r"skriv|Måneden|Året", message), message
    assert not re.search(r"regex|Expected|\^|\$|\[0-9\]", message), message


async def test_a_bad_municipality_is_400_naming_the_field(
    client: AsyncTestClient, users: Users
) -> None:
    bad = await get(client, users.headers("eva"), period="2026", municipality="42")
    assert is_problem(bad, 400)
    assert "municipality" in bad.json()["detail"]
    assert [e["field"] for e in bad.json().get("errors", [])] == ["municipality"]
    assert "fire sifre" in bad.json()["errors"][0]["message"]


async def test_a_missing_period_is_400_naming_the_field(
    client: AsyncTestClient, users: Users
) -> None:
    missing = await client.get(f"{API}/indicators", headers=users.headers("eva"))
    assert is_problem(missing, 400)
    assert [e["field"] for e in missing.json().get("errors", [])] == ["period"]
    assert "period" in missing.json()["detail"]


# --- CSV and XLSX -------------------------------------------------------------------


def comparable(body: dict[str, Any]) -> dict[tuple[str, str, str, str], tuple[Any, bool]]:
    return {
        (c["indicator"], c["municipality"], c["sector"], str(c["level"])): (c["value"],
                                                                            c["suppressed"])
        for c in body["cells"]
    }


def number(text: str) -> int | float | None:
    if text == "":
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text else value


async def test_csv_is_the_same_grid_with_a_header_row(
    client: AsyncTestClient, users: Users
) -> None:
    as_json = await get(client, users.headers("eva"), period="2026-Q1")
    response = await get(client, users.headers("eva"), ".csv", period="2026-Q1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers.get("content-disposition", "")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == CSV_COLUMNS
    got = {}
    for row in rows[1:]:
        record = dict(zip(CSV_COLUMNS, row, strict=True))
        assert record["period"] == "2026-Q1"
        assert record["suppressed"] in ("ja", "nei")
        got[(record["indicator"], record["municipality"], record["sector"], record["level"])] = (
            number(record["value"]), record["suppressed"] == "ja"
        )
    assert len(got) == len(rows) - 1
    assert got == comparable(as_json.json())


def excel_csv(text: str) -> list[dict[str, str]]:
    """A `;`-separated CSV as Norwegian Excel reads it: a BOM first, decimal commas."""
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def norwegian_number(text: str) -> int | float | None:
    return None if text == "" else number(text.replace(",", "."))


async def test_csv_has_one_content_type_and_a_variant_for_norwegian_excel(
    client: AsyncTestClient, users: Users, stafettlogg: Stafettlogg
) -> None:
    plain = await get(client, users.headers("eva"), ".csv", period="2026-Q1")
    assert plain.headers["content-type"] == "text/csv; charset=utf-8"
    assert not plain.text.startswith("\ufeff") and plain.text.startswith("indicator,")
    as_json = comparable((await get(client, users.headers("eva"), period="2026-Q1")).json())

    excel = await get(client, users.headers("eva"), ".csv", period="2026-Q1", format="excel",
                      headings="nb")
    assert excel.status_code == 200
    assert excel.headers["content-type"] == "text/csv; charset=utf-8"
    assert excel.content.startswith(b"\xef\xbb\xbf")  # the BOM, as UTF-8
    rows = excel_csv(excel.text)
    assert list(rows[0]) == ["indikator", "navn", "periode", "kommune", "sektor", "nivå",
                             "verdi", "skjult"]
    # Eva evaluates Lyngdal alone: each cell once, no "all" rows that repeat 4225's.
    assert {r["kommune"] for r in rows} == {"4225"}
    got = {(r["indikator"], r["kommune"], r["sektor"], r["nivå"]):
           (norwegian_number(r["verdi"]), r["skjult"] == "ja") for r in rows}
    assert len(got) == len(rows)
    assert got == {k: v for k, v in as_json.items() if k[1] == "4225"}
    assert any(isinstance(v, int) and v > 0 for v, _ in got.values())

    # With English headings the same rows.
    english = excel_csv((await get(client, users.headers("eva"), ".csv", period="2026-Q1",
                                   format="excel")).text)
    assert list(english[0])[:2] == ["indicator", "label"] and len(english) == len(rows)
    region = evaluator_token(stafettlogg, "rita", ["4225", "4227"])
    for headers in (users.headers("eva"), region):
        bad = await get(client, headers, ".csv", period="2026-Q1", format="pdf")
        assert is_problem(bad, 400) and "format" in bad.json()["detail"]


def workbook(content: bytes) -> Any:
    from openpyxl import load_workbook

    return load_workbook(io.BytesIO(content))


async def test_xlsx_is_a_report_with_a_sheet_per_indicator_and_the_same_numbers(
    client: AsyncTestClient, users: Users, stafettlogg: Stafettlogg
) -> None:
    from projections.indicators import INDICATORS

    region = evaluator_token(stafettlogg, "rita", ["4225", "4227"])
    as_json = (await get(client, region, period="2026-02")).json()
    response = await get(client, region, ".xlsx", period="2026-02")
    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    book = workbook(response.content)
    assert book.sheetnames[0] == "Om tallene" and book.sheetnames[-1] == "Alle tall"
    assert len(book.sheetnames) == len(INDICATORS) + 2

    about = {row[0].value: row[1].value for row in book["Om tallene"].iter_rows(min_row=3)}
    assert about["Periode"] == "februar 2026 (2026-02)"
    assert about["Kommuner"] == "Kvinesdal (4227), Lyngdal (4225)"
    assert about["Terskel"].startswith("5:") and about["Regelens versjon"] == str(Policy().version)
    assert "Skjult tall" in about[":"]

    cells = {(c["indicator"], c["municipality"], c["sector"], str(c["level"])): c
             for c in as_json["cells"]}
    # Each indicator's sheet: a block per municipality by name, sector down, level across.
    sheet = book["Saker opprettet"]
    assert sheet["A1"].value == "Saker opprettet"
    assert sheet.freeze_panes == "B4"
    blocks = {sheet.cell(row, 1).value: row for row in range(1, sheet.max_row + 1)
              if sheet.cell(row, 1).value in ("Lyngdal", "Kvinesdal", "Alle mine kommuner")}
    assert list(blocks) == ["Kvinesdal", "Lyngdal", "Alle mine kommuner"]  # by name
    headers = [sheet.cell(blocks["Lyngdal"] + 1, col).value for col in range(1, 7)]
    assert headers == ["Sektor", "Nivå 0", "Nivå 1", "Nivå 2", "Nivå 3", "Alle nivåer"]
    assert sheet.cell(blocks["Lyngdal"] + 1, 1).font.b  # a bold header
    seen_hidden = seen_number = 0
    from domain.values import SECTORS

    for place, municipality in (("Lyngdal", "4225"), ("Kvinesdal", "4227"),
                                ("Alle mine kommuner", "all")):
        top = blocks[place] + 2
        for n, sector in enumerate((*SECTORS, "all")):
            for col, level in enumerate(("0", "1", "2", "3", "all"), start=2):
                cell = sheet.cell(top + n, col)
                expected = cells["cases_opened", municipality, sector, level]
                if expected["suppressed"]:
                    assert cell.value == ":" and cell.comment is not None
                    assert "personvern" in cell.comment.text
                    seen_hidden += 1
                else:
                    assert cell.value == expected["value"] and isinstance(cell.value, int)
                    seen_number += 1
    assert seen_number and seen_hidden  # both kinds are really there

    # The long table: every cell, numbers as numbers, names, and filters.
    long = book["Alle tall"]
    assert [c.value for c in long[1]] == ["Indikator", "Navn", "Periode", "Kommunenummer",
                                          "Kommune", "Sektor", "Nivå", "Verdi", "Skjult"]
    assert long.auto_filter.ref and long.freeze_panes == "A2"
    rows = list(long.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(as_json["cells"])
    sector_of = {name: code for code, name in SECTOR_NAMES.items()} | {"Alle sektorer": "all"}
    for indicator, _, period, municipality, name, sector, level, value, hidden in rows:
        c = cells[indicator, municipality, sector_of[sector], "all" if level == "alle" else str(level)]
        assert (value == ":" if c["suppressed"] else value == c["value"]), (c, value)
        assert period == "2026-02"
        assert name == {"4225": "Lyngdal", "4227": "Kvinesdal", "all": "Alle mine kommuner"}[
            municipality]
        assert isinstance(level, int) or level == "alle"
        assert (value == ":") == (hidden == "ja")
    shown = [r for r in rows if r[8] == "nei"]
    assert shown and all(isinstance(r[7], int | float) for r in shown)

    again = await get(client, region, ".xlsx", period="2026-02")
    assert again.content == response.content  # the same table is the same file


async def test_an_xlsx_for_one_municipality_has_no_row_twice(
    client: AsyncTestClient, users: Users
) -> None:
    response = await get(client, users.headers("eva"), ".xlsx", period="2026-Q1")
    book = workbook(response.content)
    rows = list(book["Alle tall"].iter_rows(min_row=2, values_only=True))
    assert {r[3] for r in rows} == {"4225"}
    keys = [(r[0], r[5], r[6]) for r in rows]
    assert len(keys) == len(set(keys))
    sheet = book["Med stafettholder"]
    places = [sheet.cell(row, 1).value for row in range(1, sheet.max_row + 1)]
    assert "Lyngdal" in places and "Alle mine kommuner" not in places


# --- every request is recorded --------------------------------------------------------


@pytest.mark.own_store
async def test_every_statistics_request_is_recorded(
    client: AsyncTestClient, users: Users, stafettlogg: Stafettlogg
) -> None:
    asked = [("", "2026"), (".csv", "2026-Q1"), (".xlsx", "2026-02"), ("", "2026-H1")]
    for path, period in asked:
        response = await get(client, users.headers("eva"), path, period=period)
        assert response.status_code == 200
    with_filter = await get(client, users.headers("eva"), period="2025", municipality="4225")
    assert with_filter.status_code == 200
    records = stafettlogg.statistics.requests_of("eva")
    assert [(r["table"], r["period"]) for r in records] == [
        ("indicators", "2026"), ("indicators.csv", "2026-Q1"), ("indicators.xlsx", "2026-02"),
        ("indicators", "2026-H1"), ("indicators", "2025"),
    ]
    for r in records:
        assert r["user"] == "eva"
        assert r["role"] == "evaluator"
        assert r["municipalities"] == ["4225"]
        assert r["refused"] is False
        assert isinstance(r["at"], datetime)
    # An evaluator asking for another municipality is refused, and that is recorded too.
    other = await get(client, users.headers("eva"), ".csv", period="2026-Q1", municipality="4227")
    assert is_problem(other, 403)
    last = stafettlogg.statistics.requests_of("eva")[-1]
    assert (last["table"], last["period"], last["municipalities"], last["refused"]) == (
        "indicators.csv", "2026-Q1", ["4227"], True)
    assert stafettlogg.statistics.requests_of("kari") == []
    await get(client, users.headers("kari"), period="2026")  # refused: not an evaluator
    assert stafettlogg.statistics.requests_of("kari") == []


# --- live -------------------------------------------------------------------------------


@pytest.mark.own_store
async def test_a_new_case_shows_in_the_statistics_within_a_second(
    client: AsyncTestClient, users: Users, as_user: Any, stafettlogg: Stafettlogg
) -> None:
    """Within a second the statistics view counts a new case; the month it belongs to
    is published when it has ended, with the case in it."""
    async def opened_in_january() -> Any:
        response = await get(client, users.headers("eva"), period="2027-01")
        assert response.status_code == 200, response.text
        return cell_map(response.json())[("cases_opened", "all", "all", "all")]

    assert (await get(client, users.headers("eva"), period="2027-01")).status_code == 503
    created = await as_user("kari", "post", "/api/v1/cases", json={
        "child": {"name": "Nykommer Levende Statistikk"},
        "concern": "En ny undring i januar.",
    })
    assert created.status_code == 201, created.text
    written = time.monotonic()
    stored = stafettlogg.recorder.max_notification_id()
    # The follower thread brings the views up to the write ...
    while stafettlogg.read_models.position() < stored and time.monotonic() - written < 1.0:
        await asyncio.sleep(0.01)
    caught_up = time.monotonic() - written
    assert stafettlogg.read_models.position() >= stored, f"not caught up after {caught_up:.2f} s"
    assert caught_up < 1.0
    # ... and counts it in its month, January 2027 (the service's today).
    counted = count_month(stafettlogg.read_models.views, 2027, 1)
    assert counted.counts[CellKey("2027-01", "4225", "barnehage", "0", "cases_opened")] == 1
    # When January has ended it is released in the background, and meanwhile every
    # request is answered at once: 503 with Retry-After, never held.
    stafettlogg.clock = lambda: datetime(2027, 2, 1, 0, 5, tzinfo=UTC)
    ended = time.monotonic()
    while True:
        response = await get(client, users.headers("eva"), period="2027-01")
        if response.status_code == 200:
            break
        assert is_problem(response, 503) and int(response.headers["Retry-After"]) > 0
        assert time.monotonic() - ended < 60, "January 2027 was never released"
        await asyncio.sleep(0.2)
    # One child, so hidden, not a zero.
    cell = await opened_in_january()
    assert (cell["value"], cell["suppressed"]) == (None, True)


# --- privacy ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_no_answer_holds_an_identity_a_date_an_id_or_free_text(
    client: AsyncTestClient, users: Users, stafettlogg: Stafettlogg, data_set: DataSet
) -> None:
    region = evaluator_token(stafettlogg, "rita", ["4225", "4227"])
    answers: list[str] = []
    asked = [("", "2026"), ("", "2026-Q1"), ("", "2026-02"), (".csv", "2026-02"),
             (".xlsx", "2026-02"), (".csv", "2026-01")]
    for headers in (users.headers("eva"), region):
        for path, period in asked:
            response = await get(client, headers, path, period=period)
            assert response.status_code == 200
            if path == ".xlsx":
                with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                    # docProps/core.xml holds when the file was made (the release time),
                    # nothing of a case.
                    answers += [archive.read(n).decode() for n in archive.namelist()
                                if n != "docProps/core.xml"]
            else:
                answers.append(response.text)
            answers.append(str(dict(response.headers)))
    text = "\n".join(answers)
    assert len(data_set.people) > 40 and len(data_set.texts) > 25
    assert [p for p in data_set.people if p in text] == []
    assert [t for t in data_set.texts if t in text] == []
    assert [w for p in data_set.people for w in p.split() if w.isalpha() and w in text] == []
    assert DATE.findall(text) == []  # no exact date and no birth date, in any form
    assert UUID_TEXT.findall(text) == []  # no case or child id
    assert [n for n in re.findall(r"\d{11}", text)] == []  # nothing like a fødselsnummer
    for user in ("kari", "hanne", "ola"):  # nor who did the work
        assert re.search(rf"\b{user}\b", text) is None
