"""Statistics on the demo: no hidden cell of the published tables can be worked out.

An attacker's linear algebra over exact fractions (tests/test_statistics.py, not the
engine under test) on every published table of the demo, built and released once per
session (tests/demo_store.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.values import SECTORS, Actor
from projections.indicators import count_year
from projections.system import CellKey
from tests.demo_store import Demo
from tests.test_statistics import (
    ALL,
    CLOSED,
    EVALUATOR,
    FLOWS,
    LEVELS,
    SCOPE,
    STOCKS,
    THRESHOLD,
    TODAY,
    YEARS,
    Cell,
    as_cell,
    ask_year,
    attack,
    derivable,
    ended,
    grid,
    holds,
    kind_of,
    published_tables,
    table_equations,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("year", YEARS)
def test_no_hidden_cell_of_a_published_year_can_be_worked_out(demo: Demo, year: int) -> None:
    """Every table of a year (all periods), its margins and period sums: nothing follows."""
    counts, _ = count_year(demo.app.read_models.views, year, SCOPE)
    cells = ask_year(demo.app, EVALUATOR, year)
    for kind in ("stock", "flow"):  # the attacker's equations are true of the data
        for indicator in (i for i in counts if kind_of(i) == kind):
            values = {as_cell(k): v for k, v in counts[indicator].items()}
            assert holds(table_equations(kind, year, SCOPE), values) == [], indicator
    found = attack(cells, year, SCOPE)
    assert set(found) >= {*FLOWS, *STOCKS}
    # A complement (a zero, or 5 or more, hidden to protect others) may follow from
    # the published numbers; a count of 1-4 never does.
    small = {i: sorted(c for c in f if 0 < counts[i][CellKey(*c)] < THRESHOLD)[:5]
             for i, f in found.items()}
    assert {i: f for i, f in small.items() if f} == {}



def test_stocks_and_flows_together_give_no_hidden_cell_away(demo: Demo) -> None:
    """One evaluator, all ended periods of both years: children with a holder at the end
    of a month = the month before + cases opened - cases closed, per municipality (one
    open case per child), over the year boundary too."""
    indicators = ("children_with_holder", "cases_opened", *CLOSED)
    truth: dict[tuple[str, ...], int] = {}
    hidden: set[tuple[str, ...]] = set()
    equations: list[dict[tuple[str, ...], int]] = []
    for year in YEARS:
        counts, _ = count_year(demo.app.read_models.views, year, SCOPE)
        cells = ask_year(demo.app, EVALUATOR, year)
        shown = {(c.indicator, c.period, c.municipality, c.sector, c.level): c for c in cells}
        for indicator in indicators:
            for cell in grid(year, SCOPE):
                c = shown.get((indicator, *cell))
                if c is None or c.suppressed:  # hidden, or a period not ended
                    hidden.add((indicator, *cell))
        for indicator in indicators:
            for k, v in counts[indicator].items():
                truth[(indicator, *as_cell(k))] = v
            equations += [
                {(indicator, *cell): v for cell, v in eq.items()}
                for eq in table_equations(kind_of(indicator), year, SCOPE)
            ]
    months = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13)]
    stock_flow = []
    for before, month in zip(months, months[1:], strict=False):
        for m in (*SCOPE, ALL):
            eq = {
                ("children_with_holder", month, m, ALL, ALL): 1,
                ("children_with_holder", before, m, ALL, ALL): -1,
                ("cases_opened", month, m, ALL, ALL): -1,
            }
            eq.update({(i, month, m, ALL, ALL): 1 for i in CLOSED})
            stock_flow.append(eq)
    assert holds(stock_flow, truth) == []  # the relation is true of the data
    found = derivable(hidden, equations + stock_flow)
    small = sorted(k for k in found if 0 < truth[k] < THRESHOLD and ended(k[1], TODAY))
    assert small == []
    assert len(hidden) > 0



def test_the_holders_balance_per_sector_and_level_gives_no_hidden_cell_away(demo: Demo) -> None:
    """The attacker's finest equations: in every (municipality, sector, level) and month,
    holders at the end = holders before + opened + handovers in + level changes in
    - handovers out - level changes out - closed. The outgoing ones are published
    nowhere (unknowns), but they add up to the published handovers and level changes
    (and are known zeros where those are a published 0)."""
    indicators = ("children_with_holder", "cases_opened", "handovers_completed",
                  "level_transitions", *CLOSED)
    truth: dict[tuple[str, ...], int] = {}
    hidden: set[tuple[str, ...]] = set()
    unknown: set[tuple[str, ...]] = set()
    equations: list[dict[tuple[str, ...], int]] = []
    for year in YEARS:
        counts, _ = count_year(demo.app.read_models.views, year, SCOPE)
        shown = {(c.indicator, c.period, c.municipality, c.sector, c.level): c
                 for c in ask_year(demo.app, EVALUATOR, year)}
        for indicator in indicators:
            for cell in grid(year, SCOPE):
                c = shown.get((indicator, *cell))
                if c is None or c.suppressed:
                    hidden.add((indicator, *cell))
            for k, v in counts[indicator].items():
                truth[(indicator, *as_cell(k))] = v
            equations += [
                {(indicator, *cell): v for cell, v in eq.items()}
                for eq in table_equations(kind_of(indicator), year, SCOPE)
            ]
    months = [f"{y}-{m:02d}" for y in YEARS for m in range(1, 13) if ended(f"{y}-{m:02d}", TODAY)]
    for n, month in enumerate(months):
        for m in SCOPE:
            for lv in LEVELS:
                handed = ("handovers_completed", month, m, ALL, lv)
                outs = [("_out_h", month, m, s, lv) for s in SECTORS]
                equations.append({handed: 1, **{o: -1 for o in outs}})
                if handed in hidden or truth[handed]:
                    unknown.update(outs)
            for s in SECTORS:
                changed = ("level_transitions", month, m, s, ALL)
                outs = [("_out_t", month, m, s, lv) for lv in LEVELS]
                equations.append({changed: 1, **{o: -1 for o in outs}})
                if changed in hidden or truth[changed]:
                    unknown.update(outs)
            for s in SECTORS:
                for lv in LEVELS:
                    eq = {("children_with_holder", month, m, s, lv): 1,
                          ("cases_opened", month, m, s, lv): -1,
                          ("handovers_completed", month, m, s, lv): -1,
                          ("level_transitions", month, m, s, lv): -1,
                          ("_out_h", month, m, s, lv): 1, ("_out_t", month, m, s, lv): 1,
                          **{(i, month, m, s, lv): 1 for i in CLOSED}}
                    if n:
                        eq[("children_with_holder", months[n - 1], m, s, lv)] = -1
                    equations.append(eq)
    found = derivable(hidden | unknown, equations) - unknown
    small = sorted(k for k in found if 0 < truth[k] < THRESHOLD and ended(k[1], TODAY))
    assert small == []
    assert unknown  # there were handovers and level changes to reason about



def test_evaluators_of_different_municipalities_together_learn_no_hidden_cell(
    demo: Demo,
) -> None:
    lyngdal = Actor(user="eva", roles=frozenset({"evaluator"}), municipalities=frozenset({"4225"}))
    region = Actor(
        user="reg", roles=frozenset({"evaluator"}), municipalities=frozenset({"4225", "4227"})
    )
    year = 2026
    known: dict[tuple[str, ...], Any] = {}
    hidden: set[tuple[str, ...]] = set()
    unknown: set[tuple[str, ...]] = set()  # periods not ended: never published
    equations: list[dict[tuple[str, ...], int]] = []
    for actor in (lyngdal, region):
        scope = tuple(sorted(actor.municipalities))
        total = "all:" + "+".join(scope)  # "all" means this evaluator's municipalities

        def key(indicator: str, cell: Cell, total: str = total) -> tuple[str, ...]:
            p, m, s, lv = cell
            return (indicator, p, total if m == ALL else m, s, lv)

        cells = ask_year(demo.app, actor, year)
        for indicator, table in published_tables(cells).items():
            kind = kind_of(indicator)
            if kind == "measure":
                continue
            for cell, c in table.items():
                if c.suppressed:
                    hidden.add(key(indicator, cell))
                else:
                    known[key(indicator, cell)] = c.value
            unknown.update(key(indicator, cell) for cell in grid(year, scope) if cell not in table)
            equations += [
                {key(indicator, cell): v for cell, v in eq.items()}
                for eq in table_equations(kind, year, scope)
            ]
    uncovered = sorted(hidden & set(known))  # hidden for one, published for the other
    found = sorted(derivable((hidden - set(known)) | unknown, equations) - unknown)
    # A complement (a zero, or 5 or more) may follow; a count of 1-4 never does.
    truth = {scope: count_year(demo.app.read_models.views, year, scope)[0]
             for scope in (("4225",), ("4225", "4227"), SCOPE)}

    def true(k: tuple[str, ...]) -> int:
        indicator, p, m, s, lv = k
        scope = tuple(m[4:].split("+")) if m.startswith("all:") else SCOPE
        return truth[scope][indicator][CellKey(p, ALL if m.startswith("all:") else m, s, lv)]

    small = [k for k in found if 0 < true(k) < THRESHOLD]
    assert (uncovered[:5], small[:5]) == ([], [])
    assert hidden


