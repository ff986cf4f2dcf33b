"""The statistics as people read them (stafettlogg/web/report.py): every indicator on the
dashboard once, periods and numbers as Norwegian readers write them, a hidden cell as
`:` and never 0."""

from __future__ import annotations

from projections.indicators import ALL, INDICATORS, LEVELS, PublishedCell
from projections.protection import Policy
from stafettlogg.web.report import SECTIONS, Place, number_text, period_name, places_of, report_of
from domain.values import SECTORS


def test_every_indicator_is_in_one_section_of_the_dashboard() -> None:
    listed = [key for *_, keys in SECTIONS for key in keys]
    assert sorted(listed) == sorted(i.key for i in INDICATORS)
    assert len(listed) == len(set(listed))


def test_periods_and_numbers_are_written_as_in_norwegian() -> None:
    assert [period_name(p) for p in ("2026", "2026-H2", "2026-Q3", "2026-03")] == [
        "2026", "2. halvår 2026", "3. kvartal 2026", "mars 2026"]
    assert number_text(12) == "12" and number_text(2.5) == "2,5"
    assert number_text(1234) == "1\u00a0234" and number_text(4.0) == "4"


def test_a_hidden_cell_is_a_colon_and_a_zero_is_a_zero() -> None:
    def hidden(i: str, s: str, lvl: str) -> bool:
        return (i, s, lvl) == ("cases_opened", "skole", "0")

    cells = [PublishedCell(i.key, "2026-Q1", "4225", s, lvl,
                           None if hidden(i.key, s, lvl) else 0, hidden(i.key, s, lvl))
             for i in INDICATORS for s in (*SECTORS, ALL) for lvl in (*LEVELS, ALL)]
    report = report_of(period="2026-Q1", place=Place("4225", "Lyngdal"), cells=cells,
                       policy=Policy(), released_at="")
    grid = next(g for g in report.indicators if g.key == "cases_opened")
    school = next(r for r in grid.rows if r.sector == "skole")
    assert school.figures[0].text == ":" and school.figures[1].text == "0"
    assert grid.has_hidden and report.period_name == "1. kvartal 2026"


def test_the_places_are_by_name_and_all_only_for_several() -> None:
    names = {"4225": "Lyngdal", "4227": "Kvinesdal"}.get
    assert [p.name for p in places_of(["4225", "4227"], names)] == [
        "Kvinesdal", "Lyngdal", "Alle mine kommuner"]
    assert [p.key for p in places_of(["4225"], names)] == ["4225"]


def test_the_dashboard_opens_on_the_newest_published_quarter() -> None:
    from datetime import date

    from projections.periods import periods_of_year
    from stafettlogg.statistics import PeriodChoice
    from stafettlogg.web.pages.statistics import _default_period

    today = date(2026, 12, 2)

    def choices(released: set[str] | None) -> list[PeriodChoice]:
        return [PeriodChoice(p.label, p.end <= today and (released is None or p.label in released),
                             None if p.end <= today else p.end)
                for year in (2026, 2025) for p in periods_of_year(year)]

    assert _default_period(choices(None)) == "2026-Q3"
    assert _default_period(choices({"2025-01", "2025-02"})) == "2025-02"  # no quarter yet
    assert _default_period(choices(set())) == "2026-12"  # nothing yet: the month running
