"""Statistics on the demo: the counts, the published cells and measures, no identities.

The promises and the independent replay are tests/test_statistics.py's; the demo,
built and released once per session, is tests/demo_store.py's.
"""

from __future__ import annotations

import json
import re
import statistics as pystats
from collections import Counter

import pytest

from domain.values import CLOSE_REASONS
from projections.indicators import count_year
from projections.system import CellKey
from stafettlogg.application import Stafettlogg
from tests.demo_store import Demo
from tests.test_statistics import (
    ALL,
    CHECKED,
    CHILDREN,
    CLOSED,
    EVALUATOR,
    FLOWS,
    MEASURES,
    REQUIRED,
    SCOPE,
    STAT_TABLES,
    STOCKS,
    THRESHOLD,
    YEARS,
    ask_year,
    differences,
    expected,
    kind_of,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("year", YEARS)
def test_the_counts_are_what_the_events_say_for_every_period_and_cell(
    demo: Demo, year: int
) -> None:
    """count_year (unpublished) equals the replay: every period, cell and margin."""
    counts, _ = count_year(demo.app.read_models.views, year, SCOPE)
    want = expected(demo.replay, year, SCOPE)
    assert set(FLOWS) | set(STOCKS) <= set(counts)
    assert differences(counts, want, year, SCOPE, CHECKED) == []
    # Not vacuous: the demo gives every indicator the brief names something to count.
    year_total = {i: want.counts[i][(str(year), ALL, ALL, ALL)] for i in REQUIRED}
    assert [i for i, n in year_total.items() if n == 0 and i not in CLOSED] == []
    assert year_total["cases_closed_concern_resolved"] > 0



def test_a_smaller_scope_counts_only_its_own_municipalities_in_all(demo: Demo) -> None:
    scope = ("4225", "4227")
    counts, _ = count_year(demo.app.read_models.views, 2026, scope)
    want = expected(demo.replay, 2026, scope)
    assert differences(counts, want, 2026, scope, CHECKED) == []
    everywhere = expected(demo.replay, 2026, SCOPE)
    assert want.counts["children_with_holder"][("2026-06", ALL, ALL, ALL)] < (
        everywhere.counts["children_with_holder"][("2026-06", ALL, ALL, ALL)]
    )



@pytest.mark.parametrize("year", YEARS)
def test_published_cells_are_the_counts_unless_hidden_and_never_small(
    demo: Demo, year: int
) -> None:
    """Against count_year's counts (checked against the replay above)."""
    counts, _ = count_year(demo.app.read_models.views, year, SCOPE)
    cells = ask_year(demo.app, EVALUATOR, year)
    problems = []
    hidden = published = 0
    for c in cells:
        if kind_of(c.indicator) == "measure":
            continue
        true = counts[c.indicator][CellKey(c.period, c.municipality, c.sector, c.level)]
        if c.suppressed:
            hidden += 1
            if c.value is not None:
                problems.append(f"{c}: hidden but has a value")
        else:
            published += 1
            if c.value != true:
                problems.append(f"{c}: published {c.value}, true {true}")
            if 0 < c.value < THRESHOLD:
                problems.append(f"{c}: a count of {c.value} is published")
        if 0 < true < THRESHOLD and not c.suppressed:
            problems.append(f"{c}: true count {true} is not hidden")
    assert problems == []
    assert hidden > 0 and published > hidden  # something to protect, and something to see



@pytest.mark.parametrize("period", ["2026-05", "2026-Q2", "2026-H1", "2025", "2025-Q4"])
def test_the_service_answers_the_published_grid_of_the_period(demo: Demo, period: str) -> None:
    year = int(period[:4])
    counts, _ = count_year(demo.app.read_models.views, year, SCOPE)
    table = demo.app.statistics.indicators(
        EVALUATOR, period=period, municipality=None, table="indicators"
    )
    assert table.period == period
    assert table.policy.threshold == THRESHOLD
    stored = demo.app.statistics.released.table(period)
    assert stored is not None and table.cells == stored.cells(SCOPE)
    keys = {(c.indicator, c.municipality, c.sector, c.level) for c in table.cells}
    assert len(keys) == len(table.cells)
    assert {c.indicator for c in table.cells} >= {*REQUIRED, *MEASURES}
    for c in table.cells:
        assert c.municipality in (*SCOPE, ALL)
        if kind_of(c.indicator) != "measure" and not c.suppressed:
            assert c.value == counts[c.indicator][CellKey(period, c.municipality, c.sector, c.level)]
            assert c.value == 0 or c.value >= THRESHOLD
    # One municipality is a slice of the same answer, not a table of its own.
    one = demo.app.statistics.indicators(
        EVALUATOR, period=period, municipality="4207", table="indicators"
    )
    assert one.cells == [c for c in table.cells if c.municipality == "4207"]



@pytest.mark.parametrize("year", YEARS)
def test_means_and_medians_are_published_only_over_five_answers(demo: Demo, year: int) -> None:
    want = expected(demo.replay, year, SCOPE)
    cells = ask_year(demo.app, EVALUATOR, year)
    summary = {"handover_days_median": pystats.median, "case_duration_days_median":
               pystats.median, "satisfaction_mean": pystats.fmean}
    # A measure is shown only where the counts behind it are (and from 5 answers), so
    # that a hidden measure says nothing about a hidden count.
    behind = {"handover_days_median": ("handovers_completed",),
              "satisfaction_mean": ("satisfaction_answers",),
              "case_duration_days_median": tuple(
                  f"cases_closed_{r.replace('-', '_')}" for r in CLOSE_REASONS)}
    hidden = {(c.indicator, c.period, c.municipality, c.sector, c.level)
              for c in cells if c.suppressed}
    seen = Counter()
    for c in cells:
        if c.indicator not in MEASURES:
            continue
        where = (c.period, c.municipality, c.sector, c.level)
        answers = want.samples[c.indicator].get(where, [])
        counts_shown = not any((count, *where) in hidden for count in behind[c.indicator])
        if len(answers) < 5 or not counts_shown:
            assert (c.value, c.suppressed) == (None, True), c
            seen["hidden", len(answers) > 0] += 1
            seen["hidden beside its hidden count", len(answers) >= 5] += 1
        else:
            assert not c.suppressed, c
            # The view keeps days to 3 decimals and the table shows 1: allow the rounding.
            assert abs(c.value - summary[c.indicator](answers)) <= 0.0505, c
            seen["published"] += 1
    assert seen["hidden", True] > 0
    # The link is exercised: 5 or more answers, hidden because their count is.
    assert seen["hidden beside its hidden count", True] > 0
    if year == YEARS[-1]:  # the demo's first year is too small to show any measure
        assert seen["published"] > 0



DATE = re.compile(r"\d{4}-\d{2}-\d{2}")



def identities(app: Stafettlogg) -> tuple[set[str], set[str]]:
    """The demo children's names, birth dates and national ids; and free texts."""
    people: set[str] = set()
    texts: set[str] = set()
    for case_id in app.case_ids():
        details = app.child_details(case_id)
        people.update(v for v in (details.name, details.birth_date, details.national_id) if v)
        texts.update(item.text for item in app.case_log(case_id) if item.text)
    return people, {t for t in texts if len(t) >= 12}



def test_neither_view_nor_table_holds_an_identity_a_date_or_free_text(demo: Demo) -> None:
    people, texts = identities(demo.app)
    assert len(people) > 2 * CHILDREN / 2 and len(texts) > 100
    # Every distinct value that stands anywhere in a published table or the view.
    published = "\n".join(sorted({
        json.dumps(v, ensure_ascii=False)
        for year in YEARS
        for c in ask_year(demo.app, EVALUATOR, year)
        for v in c.__dict__.values()
    }))
    assert not DATE.search(published)
    view_text = "\n".join(sorted({
        str(v)
        for table in STAT_TABLES
        for row in demo.app.read_models.views.read(f"SELECT * FROM {table}")  # noqa: S608
        for v in row
    }))
    # (The view keeps exact instants of events, by design, so a birth date that is also
    # the day of some event may appear there; names, numbers and texts never.)
    for haystack, look_for in ((published, people),
                               (view_text, {p for p in people if not DATE.fullmatch(p)})):
        assert [p for p in look_for if p in haystack] == []
        assert [t for t in texts if t in haystack] == []
    # Words of names do not leak either (e.g. a first name as a "detail").
    names = {w for p in people if not DATE.fullmatch(p) and not p.isdigit() for w in p.split()}
    assert [w for w in names if len(w) > 3 and re.search(rf"\b{re.escape(w)}\b", published)] == []


