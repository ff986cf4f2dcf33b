"""Statistics for evaluators: the issue's promises, checked on a real encrypted store.

What an evaluator is promised (bti-domain.md sections 3-4, api-contract.md "Statistics"):

* the indicator grid (municipality x sector x level, with "all" margins, for every
  month, quarter, half-year and year) counts what happened: flows *during* the period,
  stocks *as at the end* of it, each child once per cell. Checked against an
  independent replay of the events written here (nothing of `projections/` is reused
  for the expected numbers, not even the period arithmetic);
* published cells equal those counts wherever they are not hidden, every published
  count is 0 or at least the threshold, means and medians need 5 answers;
* no hidden cell can be worked out by adding or subtracting published cells, totals
  and periods: an attacker's linear algebra over exact fractions (written here, not
  the engine under test) finds nothing, on the demo and on small data sets built to
  tempt differencing;
* the views are kept exactly once: a projection that dies between writing its rows
  and writing its position counts nothing twice after a restart, and a rebuild (also
  through `stafettlogg projections rebuild`) equals the incrementally kept view;
* the same request on the same data gives the same answer, also in another process.

This file holds the replay, the attacker's algebra and the small data sets; the tests
on the demo are in tests/statistics_demo/, on one demo store built and released
once per session (tests/demo_store.py) and copied for each of those files, so that
the files can run in different workers.

Boundary convention, stated once: "as at the end of the period" is the state once
everything recorded *during* the period has happened, before anything of the next
period: a change at exactly 00:00:00 UTC on the first day of the next period belongs
to the next period, as a flow does. That keeps stock(end) = stock(start) + flows.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from fractions import Fraction
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.calendar import day_of
from domain import events as ev
from domain.values import CLOSE_REASONS, SECTORS, Actor
from projections.protection import Policy
from projections.system import CellKey
from projections.indicators import count_year
from projections.publication import Publisher, Released
from projections.runner import ViewStore
from projections.statistics import StatisticsProjection
from stafettlogg.application import Stafettlogg
from stafettlogg.read_models import NotificationSource, ReadModels
from stafettlogg.statistics import StatisticsService
from tests.conftest import ADMIN, KARI, PER, MovableClock, register_staff, settings_for

ROOT = Path(__file__).resolve().parents[1]

SEED = 11
CHILDREN = 120
SCOPE = ("4206", "4207", "4225", "4227")  # the demo's municipalities
YEARS = (2025, 2026)  # the demo runs from 2025-01-01 to 2026-10-31
THRESHOLD = 5
ALL = "all"
LEVELS = ("0", "1", "2", "3")
STAT_TABLES = ("stat_cases", "stat_intervals", "stat_flows", "stat_actions")

EVALUATOR = Actor(user="evi", roles=frozenset({"evaluator"}), municipalities=frozenset(SCOPE))

CLOSED = {f"cases_closed_{r.replace('-', '_')}": r for r in CLOSE_REASONS}
FLOWS = (
    "cases_opened", "interdisciplinary_meetings", "handovers_completed", "satisfaction_answers",
    "level_transitions", "level0_decisions", "level0_decisions_within_14_days",
    "actions_evaluated", "actions_evaluated_by_date", *CLOSED,
)
STOCKS: dict[str, Callable[[CaseState], bool]] = {}  # filled below CaseState
MEASURES = ("handover_days_median", "case_duration_days_median", "satisfaction_mean")
# The brief's minimum; the replay checks every count indicator (CHECKED).
REQUIRED = (
    "cases_opened", "interdisciplinary_meetings", "handovers_completed", "level_transitions",
    "actions_evaluated_by_date", *CLOSED, "children_with_holder",
    "children_with_individual_plan", "children_with_coordinator",
)

CHECKED = (*FLOWS, "children_with_holder", "children_with_coordinator",
           "children_with_responsibility_group", "children_with_individual_plan")
# Only ended periods are published; the demo's service lives on this day.
TODAY = date(2026, 11, 22)

Cell = tuple[str, str, str, str]  # period label, municipality, sector, level ("all" margins)


# --- periods, written independently of projections/periods.py -----------------------


def month_start(year: int, month: int) -> datetime:
    """The first instant (UTC) of a month; month 13 is January of the next year."""
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=UTC)


def periods_of(year: int) -> dict[str, tuple[datetime, datetime]]:
    """Every published period of a year: label -> [first instant, first instant after)."""
    out = {str(year): (month_start(year, 1), month_start(year, 13))}
    for h in (1, 2):
        out[f"{year}-H{h}"] = (month_start(year, 6 * h - 5), month_start(year, 6 * h + 1))
    for q in range(1, 5):
        out[f"{year}-Q{q}"] = (month_start(year, 3 * q - 2), month_start(year, 3 * q + 1))
    for m in range(1, 13):
        out[f"{year}-{m:02d}"] = (month_start(year, m), month_start(year, m + 1))
    return out


def spread(label: str, municipality: str, sector: str, level: str) -> Iterator[Cell]:
    """The cells one child or happening is counted in: its own and every margin."""
    for m in (municipality, ALL):
        for s in (sector, ALL):
            for lv in (level, ALL):
                yield (label, m, s, lv)


# --- the independent replay of the events ------------------------------------------


@dataclass(frozen=True)
class CaseState:
    """What a stock needs of an open case: its level, the holder's sector, three flags."""

    level: int
    sector: str
    coordinator: bool = False
    group: bool = False
    plan: bool = False


STOCKS.update({
    "children_with_holder": lambda s: True,
    "children_with_coordinator": lambda s: s.coordinator,
    "children_with_responsibility_group": lambda s: s.group,
    "children_with_individual_plan": lambda s: s.plan,
})


@dataclass(frozen=True)
class Happening:
    indicator: str
    at: datetime
    municipality: str
    sector: str
    level: int
    value: float | None = None


@dataclass
class Timeline:
    child: UUID
    municipality: str
    steps: list[tuple[datetime, CaseState | None]]  # the state after each event (None: closed)

    def state_before(self, moment: datetime) -> CaseState | None:
        """The case after every event recorded before `moment` (None: not open then)."""
        state = None
        for at, after in self.steps:
            if at >= moment:
                break
            state = after
        return state


@dataclass
class Replay:
    happenings: list[Happening]
    timelines: list[Timeline]


def all_events(app: Stafettlogg) -> Iterator[Any]:
    """Every stored event, in the order of the notification log."""
    start = 1
    while batch := app.recorder.select_notifications(start, 500):
        for notification in batch:
            yield app.mapper.to_domain_event(notification)
        start = batch[-1].id + 1


def case_histories(app: Stafettlogg) -> dict[UUID, list[ev.CaseEvent]]:
    histories: dict[UUID, list[ev.CaseEvent]] = defaultdict(list)
    for event in all_events(app):
        if isinstance(event, ev.CaseEvent):
            histories[event.originator_id].append(event)
    for history in histories.values():
        history.sort(key=lambda e: e.originator_version)
    return histories


def days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def replay(app: Stafettlogg) -> Replay:
    """Walk every case's events and note each counted happening and each state change."""
    happenings: list[Happening] = []
    timelines: list[Timeline] = []
    for history in case_histories(app).values():
        opened = history[0]
        assert isinstance(opened, ev.CaseOpened)
        municipality = opened.municipality
        state: CaseState | None = None
        steps: list[tuple[datetime, CaseState | None]] = []
        level0_since = opened.timestamp
        requested: dict[UUID, datetime] = {}
        evaluate_by: dict[UUID, date] = {}
        evaluated: set[UUID] = set()

        def happen(indicator: str, at: datetime, value: float | None = None) -> None:
            assert state is not None
            happenings.append(
                Happening(indicator, at, municipality, state.sector, state.level, value)
            )

        for e in history:
            t = e.timestamp
            assert not steps or t >= steps[-1][0], "a case's events go forward in time"
            if isinstance(e, ev.CaseOpened):
                state = CaseState(level=0, sector=e.sector)
                happen("cases_opened", t)
            elif isinstance(e, ev.Level0StepRecorded):
                if e.step == "beslutning":
                    happen("level0_decisions", t)
                    # "decide within 14 days" counts calendar days in Norway, as the
                    # domain's overdue rule does (Case.level0_decision_overdue).
                    if (day_of(t) - day_of(level0_since)).days <= 14:
                        happen("level0_decisions_within_14_days", t)
            elif isinstance(e, ev.LevelChanged):
                state = replace(state, level=e.to_level)
                if e.to_level == 0:
                    level0_since = t
                happen("level_transitions", t)
            elif isinstance(e, ev.HandoverRequested):
                requested[e.handover_id] = t
            elif isinstance(e, ev.HandoverAccepted):
                state = replace(state, sector=e.to_sector)  # counted under the receiver
                happen("handovers_completed", t)
                happen("handover_days_median", t, days(requested[e.handover_id], t))
            elif isinstance(e, ev.CoordinatorAppointed):
                state = replace(state, coordinator=True)
            elif isinstance(e, ev.CoordinatorReleased):
                state = replace(state, coordinator=False)
            elif isinstance(e, ev.ResponsibilityGroupEstablished):
                state = replace(state, group=True)
            elif isinstance(e, ev.ResponsibilityGroupDissolved):
                state = replace(state, group=False)
            elif isinstance(e, ev.IndividualPlanStarted):
                state = replace(state, plan=True)
            elif isinstance(e, ev.IndividualPlanEnded):
                state = replace(state, plan=False)
            elif isinstance(e, ev.MeetingHeld):
                # Counted in the month it was held; written down after that month had
                # ended, in the month it was written down (an ended month never changes).
                held = datetime.combine(e.held_on, time(12), UTC)
                late = (held.year, held.month) != (t.year, t.month)
                happen("interdisciplinary_meetings", t if late else held)
            elif isinstance(e, ev.ActionAgreed):
                evaluate_by[e.action_id] = e.evaluate_by
            elif isinstance(e, ev.ActionEvaluated):
                if e.action_id not in evaluated:  # an action counts at its first evaluation
                    evaluated.add(e.action_id)
                    happen("actions_evaluated", t)
                    if t.date() <= evaluate_by[e.action_id]:
                        happen("actions_evaluated_by_date", t)
            elif isinstance(e, ev.SatisfactionAnswered):
                happen("satisfaction_answers", t)
                happen("satisfaction_mean", t, float(e.score))
            elif isinstance(e, ev.CaseClosed):
                assert state is not None and e.level == state.level
                happen(f"cases_closed_{e.reason.replace('-', '_')}", t)
                happen("case_duration_days_median", t, days(opened.timestamp, t))
                state = None
            steps.append((t, state))
        timelines.append(Timeline(opened.child_id, municipality, steps))
    return Replay(happenings, timelines)


@dataclass
class Expected:
    counts: dict[str, Counter[Cell]]
    samples: dict[str, dict[Cell, list[float]]]


def expected(rp: Replay, year: int, scope: Sequence[str]) -> Expected:
    """Every indicator of a year for `scope`, counted from the replay."""
    periods = periods_of(year)
    counts: dict[str, Counter[Cell]] = defaultdict(Counter)
    samples: dict[str, dict[Cell, list[float]]] = defaultdict(lambda: defaultdict(list))
    for h in rp.happenings:
        if h.municipality not in scope:
            continue
        for label, (start, end) in periods.items():
            if start <= h.at < end:
                for cell in spread(label, h.municipality, h.sector, str(h.level)):
                    if h.indicator in MEASURES:
                        assert h.value is not None
                        samples[h.indicator][cell].append(h.value)
                    else:
                        counts[h.indicator][cell] += 1
    for label, (_, end) in periods.items():
        children: dict[tuple[str, Cell], set[UUID]] = defaultdict(set)
        for tl in rp.timelines:
            if tl.municipality not in scope:
                continue
            state = tl.state_before(end)
            if state is None:
                continue
            for indicator, holds in STOCKS.items():
                if holds(state):
                    for cell in spread(label, tl.municipality, state.sector, str(state.level)):
                        children[(indicator, cell)].add(tl.child)
        for (indicator, cell), kids in children.items():
            counts[indicator][cell] = len(kids)
    return Expected(counts, samples)


def grid(year: int, scope: Sequence[str]) -> list[Cell]:
    return [
        (p, m, s, lv)
        for p in periods_of(year)
        for m in (*scope, ALL)
        for s in (*SECTORS, ALL)
        for lv in (*LEVELS, ALL)
    ]


def ended(period: str, today: date) -> bool:
    return periods_of(int(period[:4]))[period][1].date() <= today


def as_cell(key: CellKey) -> Cell:
    return (key.period, key.municipality, key.sector, key.level)


def differences(
    got: Mapping[str, Mapping[CellKey, int]], want: Expected, year: int, scope: Sequence[str],
    indicators: Iterable[str],
) -> list[str]:
    cells = grid(year, scope)
    out = []
    for indicator in indicators:
        table = {as_cell(k): v for k, v in got[indicator].items()}
        assert set(table) == set(cells), f"{indicator}: not the fixed grid"
        extra = set(want.counts[indicator]) - set(cells)
        out += [f"{indicator} {c}: counted outside the grid" for c in sorted(extra)]
        out += [
            f"{indicator} {c}: view {table[c]}, replay {want.counts[indicator][c]}"
            for c in cells
            if table[c] != want.counts[indicator][c]
        ]
    return out


# --- an attacker's linear algebra over exact fractions --------------------------------


def derivable(hidden: set[Any], equations: Iterable[Mapping[Any, int]]) -> set[Any]:
    """The hidden cells whose value follows from the published ones.

    Each equation is `sum(coef * value(cell)) == 0`. Published cells are constants, so
    only the hidden part of each equation matters: a hidden cell `h` is determined iff
    the unit vector e_h lies in the row space of the hidden parts, i.e. iff the fully
    reduced row echelon form has a row with `h` alone. The basis is kept fully reduced
    (Gauss-Jordan) as equations come in.
    """
    basis: dict[Any, dict[Any, Fraction]] = {}  # pivot -> row, row[pivot] == 1
    rows_with: dict[Any, set[Any]] = defaultdict(set)  # non-pivot column -> pivots of rows
    for equation in equations:
        row = {c: Fraction(v) for c, v in equation.items() if v and c in hidden}
        for pivot in [c for c in row if c in basis]:
            factor = row.pop(pivot)
            for c, v in basis[pivot].items():
                if c == pivot:
                    continue
                new = row.get(c, 0) - factor * v
                if new:
                    row[c] = new
                else:
                    row.pop(c, None)
        if not row:
            continue
        pivot = min(row, key=lambda c: (len(rows_with[c]), repr(c)))
        scale = row[pivot]
        row = {c: v / scale for c, v in row.items()}
        for other in list(rows_with.pop(pivot, ())):
            target = basis[other]
            factor = target.pop(pivot)
            for c, v in row.items():
                if c == pivot:
                    continue
                new = target.get(c, 0) - factor * v
                if new:
                    if c not in target:
                        rows_with[c].add(other)
                    target[c] = new
                elif c in target:
                    del target[c]
                    rows_with[c].discard(other)
        basis[pivot] = row
        for c in row:
            if c != pivot:
                rows_with[c].add(pivot)
    return {pivot for pivot, row in basis.items() if len(row) == 1}


def table_equations(kind: str, year: int, scope: Sequence[str]) -> list[dict[Cell, int]]:
    """What anyone knows of a table of a year: margins, and how periods relate.

    Margins along every dimension, for every period. Flows (during the period): a year
    is its halves, its quarters and its months; a half its quarters; a quarter its
    months. Stocks (as at the end): periods that end at the same instant are equal
    (the year, H2, Q4 and December; H1, Q2 and June; Q1 and March; Q3 and September).
    """
    periods = periods_of(year)
    dims: list[list[str]] = [list(scope), list(SECTORS), list(LEVELS)]
    equations: list[dict[Cell, int]] = []
    for label in periods:
        for d in range(3):
            others = [i for i in range(3) if i != d]
            for a in (*dims[others[0]], ALL):
                for b in (*dims[others[1]], ALL):
                    def cell(value: str, a: str = a, b: str = b) -> Cell:
                        coords = [""] * 3
                        coords[d], coords[others[0]], coords[others[1]] = value, a, b
                        return (label, coords[0], coords[1], coords[2])
                    equation = {cell(ALL): 1}
                    for value in dims[d]:
                        equation[cell(value)] = -1
                    equations.append(equation)
    coords = [(m, s, lv) for m in (*scope, ALL) for s in (*SECTORS, ALL) for lv in (*LEVELS, ALL)]
    y = str(year)
    if kind == "flow":
        months = [f"{y}-{m:02d}" for m in range(1, 13)]
        sums = {
            y: [[f"{y}-H1", f"{y}-H2"], [f"{y}-Q{q}" for q in range(1, 5)], months],
            f"{y}-H1": [[f"{y}-Q1", f"{y}-Q2"], months[:6]],
            f"{y}-H2": [[f"{y}-Q3", f"{y}-Q4"], months[6:]],
            **{f"{y}-Q{q}": [months[3 * q - 3: 3 * q]] for q in range(1, 5)},
        }
        for c in coords:
            for total, splits in sums.items():
                for parts in splits:
                    equations.append({(total, *c): 1, **{(p, *c): -1 for p in parts}})
    else:
        by_end: dict[datetime, list[str]] = defaultdict(list)
        for label, (_, end) in periods.items():
            by_end[end].append(label)
        for labels in by_end.values():
            for a, b in zip(labels, labels[1:], strict=False):
                for c in coords:
                    equations.append({(a, *c): 1, (b, *c): -1})
    return equations


def holds(equations: Iterable[Mapping[Any, int]], values: Mapping[Any, int]) -> list[Mapping]:
    return [eq for eq in equations if sum(v * values[c] for c, v in eq.items()) != 0]


def published_tables(cells: Iterable[Any]) -> dict[str, dict[Cell, Any]]:
    tables: dict[str, dict[Cell, Any]] = defaultdict(dict)
    for c in cells:
        tables[c.indicator][(c.period, c.municipality, c.sector, c.level)] = c
    return tables


def kind_of(indicator: str) -> str:
    if indicator in STOCKS:
        return "stock"
    return "measure" if indicator in MEASURES else "flow"


def attack(cells: Sequence[Any], year: int, scope: Sequence[str]) -> dict[str, set[Cell]]:
    """Per count indicator, the hidden cells the published table gives away. Cells of
    periods not published (not ended) are unknowns too."""
    found = {}
    for indicator, table in published_tables(cells).items():
        kind = kind_of(indicator)
        if kind == "measure":
            continue
        hidden = {cell for cell, c in table.items() if c.suppressed}
        unknown = {cell for cell in grid(year, scope) if cell not in table}
        found[indicator] = derivable(hidden | unknown, table_equations(kind, year, scope)) - unknown
    return found


# --- views ------------------------------------------------------------------------


def snapshot(store: ViewStore) -> dict[str, Counter[tuple[Any, ...]]]:
    """The statistics view's tables as multisets of rows, and its position."""
    out: dict[str, Counter[tuple[Any, ...]]] = {
        table: Counter(store.read(f"SELECT * FROM {table}"))  # noqa: S608 - fixed names
        for table in STAT_TABLES
    }
    out["position"] = Counter({store.position("statistics"): 1})
    return out


def rebuilt(app: Stafettlogg, path: Path) -> dict[str, Counter[tuple[Any, ...]]]:
    """A fresh view in another file, read from the first event."""
    store = ViewStore(str(path))
    try:
        store.rebuild(StatisticsProjection(), NotificationSource(app))
        return snapshot(store)
    finally:
        store.close()


class Capped:
    """The notification log as it was when it ended at `cap`."""

    def __init__(self, source: NotificationSource, cap: int) -> None:
        self.source = source
        self.cap = cap

    def select(self, after: int, limit: int) -> list[Any]:
        return [n for n in self.source.select(after, limit) if n.id <= self.cap]

    def decode(self, notification: Any) -> Any:
        return self.source.decode(notification)

    def last_position(self) -> int:
        return min(self.cap, self.source.last_position())


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFETTLOGG_")}
    env["STAFETTLOGG_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


pytestmark = pytest.mark.slow


# --- the attack on published tables ---------------------------------------------------


def test_the_attackers_solver_finds_what_differencing_finds() -> None:
    """The solver is not blind: a 2x2 table with margins gives away what it should."""
    def eqs(rows: int, cols: int) -> list[dict[tuple[int, int], int]]:
        out = []
        for r in range(rows + 1):
            out.append({(r, cols): 1, **{(r, c): -1 for c in range(cols)}})
        for c in range(cols + 1):
            out.append({(rows, c): 1, **{(r, c): -1 for r in range(rows)}})
        return out

    assert derivable({(0, 0)}, eqs(2, 2)) == {(0, 0)}  # a total minus the other part
    assert derivable({(0, 0), (0, 1)}, eqs(2, 2)) == {(0, 0), (0, 1)}  # via the columns
    assert derivable({(0, 0), (0, 2)}, eqs(2, 2)) == {(0, 0), (0, 2)}  # a total too
    assert derivable({(0, 0), (0, 1), (1, 0), (1, 1)}, eqs(2, 2)) == set()  # a block
    # A year minus three quarters is the fourth (the time relations of a flow).
    y = [{("Y",): 1, ("Q1",): -1, ("Q2",): -1, ("Q3",): -1, ("Q4",): -1}]
    assert derivable({("Q4",)}, y) == {("Q4",)}
    assert derivable({("Q4",), ("Y",)}, y) == set()
    # Chains through several equations, with coefficients other than 1.
    chain = [{"a": 1, "b": -1}, {"b": 2, "c": -1}, {"c": 1, "d": 1, "e": -1}]
    assert derivable({"a", "b", "c", "d"}, chain) == set()
    assert derivable({"a", "b", "c"}, chain) == {"a", "b", "c"}  # c = e - d
    assert derivable({"a", "b", "c", "d"}, [*chain, {"d": 1}]) == {"a", "b", "c", "d"}


def ask_year(app: Stafettlogg, actor: Actor, year: int) -> list[Any]:
    """Everything an evaluator can get for a year: every ended period, as the service
    answers."""
    today = app.clock().date()
    return [
        c for period in periods_of(year) if ended(period, today)
        for c in app.statistics.indicators(
            actor, period=period, municipality=None, table="indicators"
        ).cells
    ]


# --- small data sets that tempt differencing ---------------------------------------

HANNE = Actor(user="hanne", service="hs-lyngdal", roles=frozenset({"worker"}),
              municipalities=frozenset({"4225"}))
KIM = Actor(user="kim", service="hs-lyngdal", roles=frozenset({"worker", "coordinator"}),
            municipalities=frozenset({"4225"}))


def at(day: str, hour: int = 10) -> datetime:
    return datetime.combine(date.fromisoformat(day), time(hour), UTC)


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Stafettlogg]:
    # Early 2027: every period of 2026 has ended and is published.
    app = Stafettlogg(settings_for(tmp_path / "var"), clock=MovableClock(at("2027-01-05")))
    for service_id, name, sector, municipalities in [
        ("bhg-solsikken", "Solsikken barnehage", "barnehage", ["4225"]),
        ("hauge-skole", "Hauge skole", "skole", ["4225"]),
        ("ppt-lister", "PPT Lister", "ppt", ["4225", "4227"]),
        ("hs-lyngdal", "Helsestasjonen i Lyngdal", "helsestasjon", ["4225"]),
    ]:
        app.register_service(ADMIN, service_id=service_id, name=name, sector=sector,
                             municipalities=municipalities, at=at("2025-12-01"))
    register_staff(app, at=at("2025-12-01"))
    yield app
    app.close()


def open_case(app: Stafettlogg, actor: Actor, name: str, day: str, hour: int = 10) -> UUID:
    return app.open_case(
        actor, child_name=name, concern=f"Vi undrer oss over {name}.", at=at(day, hour)
    ).id


def decide(app: Stafettlogg, actor: Actor, case_id: UUID, day: str) -> None:
    for step in ("vurdering", "konkretisering", "deling", "beslutning"):
        app.record_level0_step(actor, case_id, step=step, text=f"Steg {step}.", at=at(day))


LYNGDAL = Actor(user="eva", roles=frozenset({"evaluator"}), municipalities=frozenset({"4225"}))


def publish_small(app: Stafettlogg, year: int = 2026) -> tuple[list[Any], Expected]:
    app.statistics.release()
    return ask_year(app, LYNGDAL, year), expected(replay(app), year, ("4225",))


def check_small(cells: Sequence[Any], want: Expected, year: int = 2026) -> None:
    for c in cells:
        if kind_of(c.indicator) == "measure":
            continue
        true = want.counts[c.indicator][(c.period, c.municipality, c.sector, c.level)]
        assert c.suppressed or c.value == true, c
        assert c.suppressed or c.value == 0 or c.value >= THRESHOLD, c
        assert not (0 < true < THRESHOLD) or c.suppressed, c
    found = attack(cells, year, ("4225",))
    assert {i: sorted(f) for i, f in found.items() if f} == {}


def value_of(cells: Sequence[Any], indicator: str, cell: Cell) -> Any:
    (c,) = [c for c in cells if c.indicator == indicator
            and (c.period, c.municipality, c.sector, c.level) == cell]
    return None if c.suppressed else c.value


def test_one_child_at_the_helsestasjon_among_many_in_barnehage(small: Stafettlogg) -> None:
    """12 barnehage cases and one helsestasjon case in February: 'all' minus barnehage
    would be the helsestasjon child."""
    for i in range(12):
        open_case(small, KARI, f"Barn Bhg{i:02d} Testesen", f"2026-02-{2 + i:02d}")
    lonely = open_case(small, HANNE, "Ensom Helsestasjonsbarn", "2026-02-16")
    decide(small, HANNE, lonely, "2026-02-20")
    cells, want = publish_small(small)
    assert want.counts["cases_opened"][("2026-02", "4225", "helsestasjon", "0")] == 1
    for indicator, period in [("cases_opened", "2026-02"), ("cases_opened", "2026"),
                              ("children_with_holder", "2026-02"),
                              ("children_with_holder", "2026")]:
        assert value_of(cells, indicator, (period, "4225", "helsestasjon", "0")) is None
        assert value_of(cells, indicator, (period, ALL, "helsestasjon", ALL)) is None
    check_small(cells, want)


def test_one_child_moving_between_quarters(small: Stafettlogg) -> None:
    """Cases opened in Q1, one handed over from barnehage to skole in Q2, and one more
    opened in Q2: the year minus Q1, or Q2's stock minus Q1's, must not point at it."""
    cases = [open_case(small, KARI, f"Barn Kvartal{i:02d} Testesen", f"2026-01-{5 + i:02d}")
             for i in range(8)]
    for i in range(6):
        open_case(small, PER, f"Elev Kvartal{i:02d} Testesen", f"2026-02-{2 + i:02d}")
    mover = cases[0]
    small.register_consent(
        KARI, mover, given_by="guardian", services=["hauge-skole"],
        purpose="Overføring til skolen.", valid_until=date(2026, 12, 31), form="written",
        at=at("2026-04-20"),
    )
    handover = small.request_handover(
        KARI, mover, to_user="per", to_service="hauge-skole", at=at("2026-04-21")
    ).result
    small.accept_handover(PER, mover, handover, at=at("2026-05-04"))
    open_case(small, KARI, "Sen Kvartal Testesen", "2026-04-08")
    cells, want = publish_small(small)
    assert want.counts["handovers_completed"][("2026-05", "4225", "skole", "0")] == 1
    assert want.counts["cases_opened"][("2026-Q2", "4225", ALL, ALL)] == 1
    assert value_of(cells, "handovers_completed", ("2026", ALL, ALL, ALL)) is None
    assert value_of(cells, "cases_opened", ("2026-Q2", ALL, ALL, ALL)) is None
    # The year minus Q1 would be Q2: one of the two is hidden.
    assert None in (value_of(cells, "cases_opened", ("2026", ALL, ALL, ALL)),
                    value_of(cells, "cases_opened", ("2026-Q1", ALL, ALL, ALL)))
    check_small(cells, want)


def test_asking_again_later_in_the_year_gives_no_hidden_cell_away(small: Stafettlogg) -> None:
    """An evaluator fetches Q1 in April and again in November: Q1's counts are the same,
    so together the two answers must not give away what each hides."""
    open_case(small, HANNE, "Januar Helsestasjonsbarn", "2026-01-14")
    for i in range(2):
        open_case(small, KARI, f"Mars Bhg{i} Testesen", f"2026-03-{10 + i}")
        open_case(small, HANNE, f"Mars Hs{i} Testesen", f"2026-03-{12 + i}")
    open_case(small, PER, "Mars Skole Testesen", "2026-03-16")
    q1 = ("2026-Q1", "2026-01", "2026-02", "2026-03")

    def ask() -> dict[tuple[str, ...], Any]:
        small.statistics.release()
        return {
            (c.indicator, c.period, c.municipality, c.sector, c.level): c
            for period in q1
            for c in small.statistics.indicators(
                LYNGDAL, period=period, municipality=None, table="indicators"
            ).cells
            if c.indicator == "cases_opened"
        }

    small.clock.now = at("2026-04-15")  # type: ignore[attr-defined]
    april = ask()
    open_case(small, HANNE, "August Helsestasjonsbarn", "2026-08-17")
    open_case(small, KARI, "Oktober Barnehagebarn", "2026-10-05")
    small.clock.now = at("2026-11-20")  # type: ignore[attr-defined]
    november = ask()
    assert {k: c.value for k, c in april.items() if not c.suppressed and not
            november[k].suppressed} == {k: c.value for k, c in november.items()
                                        if not c.suppressed and not april[k].suppressed}
    hidden = {k for k in april if april[k].suppressed and november[k].suppressed}
    equations = [
        {("cases_opened", *cell): v for cell, v in eq.items()}
        for eq in table_equations("flow", 2026, ("4225",))
        if all(cell[0] in q1 for cell in eq)
    ]
    assert sorted(derivable(hidden, equations)) == []


def test_a_mean_needs_five_answers(small: Stafettlogg) -> None:
    cases = [open_case(small, KARI, f"Barn Svar{i} Testesen", "2026-03-02") for i in range(6)]
    for i, case_id in enumerate(cases[:4]):
        small.record_satisfaction(KARI, case_id, respondent="guardian", score=i + 1,
                                  at=at("2026-03-10"))
    cells, _ = publish_small(small)
    assert value_of(cells, "satisfaction_mean", ("2026-03", ALL, ALL, ALL)) is None
    small.record_satisfaction(KARI, cases[4], respondent="guardian", score=5, at=at("2026-03-11"))
    cells, _ = publish_small(small)
    assert value_of(cells, "satisfaction_mean", ("2026-03", ALL, ALL, ALL)) == 3.0
    assert value_of(cells, "satisfaction_mean", ("2026-04", ALL, ALL, ALL)) is None


def test_the_end_of_a_period_is_its_last_instant_and_nothing_of_the_next(
    small: Stafettlogg,
) -> None:
    """A case opened at exactly 00:00 UTC on 1 April is April's, also as a stock; a case
    closed at exactly that instant was open for the whole of March."""
    early = [open_case(small, KARI, f"Barn Grense{i} Testesen", "2026-03-02") for i in range(6)]
    decide(small, KARI, early[0], "2026-03-03")
    midnight = datetime(2026, 4, 1, tzinfo=UTC)
    small.close_case(KARI, early[0], reason="concern-resolved", at=midnight)
    for i in range(5):
        small.open_case(KARI, child_name=f"Barn Midnatt{i} Testesen", concern="Undring.",
                        at=midnight)
    small.statistics.release()
    counts, _ = count_year(small.read_models.views, 2026, ("4225",))

    def n(indicator: str, period: str) -> int:
        return counts[indicator][CellKey(period, ALL, ALL, ALL)]

    assert n("children_with_holder", "2026-03") == 6  # early[0] still open at 24:00
    assert n("children_with_holder", "2026-Q1") == 6
    assert n("children_with_holder", "2026-04") == 10
    assert n("cases_opened", "2026-03") == 6 and n("cases_opened", "2026-04") == 5
    assert n("cases_closed_concern_resolved", "2026-04") == 1
    assert n("cases_closed_concern_resolved", "2026-Q1") == 0
    want = expected(replay(small), 2026, ("4225",))
    assert differences(counts, want, 2026, ("4225",), (*FLOWS, *STOCKS)) == []


def test_a_child_is_counted_once_when_two_of_its_cases_overlap_at_a_month_end(
    small: Stafettlogg,
) -> None:
    """A case closed on 10 April is written down first; the child's new case is then
    written down as opened on 20 March. At the end of March both were open: the child
    is one child with a stafettholder, not two."""
    number = "02013299997"
    first = small.open_case(KARI, child_name="Ingrid Aasen", concern="Uro.",
                            national_id=number, at=at("2026-03-02")).id
    decide(small, KARI, first, "2026-03-05")
    small.close_case(KARI, first, reason="other", at=at("2026-04-10"))
    second = small.open_case(KARI, child_name="Ingrid Aasen", concern="Ny uro.",
                             national_id=number, at=at("2026-03-20")).id
    assert small.get_case(second).state.child_id == small.get_case(first).state.child_id
    small.read_models.catch_up()
    counts, _ = count_year(small.read_models.views, 2026, ("4225",))

    for cell in [("2026-03", ALL, ALL, ALL), ("2026-03", "4225", "barnehage", "0"),
                 ("2026-Q1", ALL, ALL, ALL)]:
        assert counts["children_with_holder"][CellKey(*cell)] == 1, cell
    assert counts["cases_opened"][CellKey("2026-03", ALL, ALL, ALL)] == 2


def test_a_level0_decision_on_the_14th_day_is_within_14_days(small: Stafettlogg) -> None:
    case_id = open_case(small, KARI, "Barn Fjortendag Testesen", "2026-03-02", hour=9)
    assert not small.get_case(case_id).level0_decision_overdue(date(2026, 3, 16))
    assert small.get_case(case_id).level0_decision_overdue(date(2026, 3, 17))
    for step in ("vurdering", "konkretisering", "deling", "beslutning"):
        small.record_level0_step(KARI, case_id, step=step, text=f"Steg {step}.",
                                 at=at("2026-03-16", 15))
    small.statistics.release()
    counts, _ = count_year(small.read_models.views, 2026, ("4225",))
    cell = CellKey("2026-03", ALL, ALL, ALL)
    assert counts["level0_decisions"][cell] == 1
    assert counts["level0_decisions_within_14_days"][cell] == 1


def test_a_level0_decision_after_midnight_in_norway_on_the_15th_day_is_late(
    small: Stafettlogg,
) -> None:
    """23:30 UTC on 16 March is 00:30 on 17 March in Norway: the 15th day, overdue for
    the domain and not within 14 days for the statistics."""
    case_id = open_case(small, KARI, "Barn Midnatt Testesen", "2026-03-02", hour=9)
    decided = datetime(2026, 3, 16, 23, 30, tzinfo=UTC)
    assert small.get_case(case_id).level0_decision_overdue(day_of(decided))
    for step in ("vurdering", "konkretisering", "deling", "beslutning"):
        small.record_level0_step(KARI, case_id, step=step, text=f"Steg {step}.", at=decided)
    small.statistics.release()
    counts, _ = count_year(small.read_models.views, 2026, ("4225",))
    cell = CellKey("2026-03", ALL, ALL, ALL)
    assert counts["level0_decisions"][cell] == 1
    assert counts["level0_decisions_within_14_days"][cell] == 0


# --- determinism ------------------------------------------------------------------


def test_tables_of_another_policy_are_withdrawn_and_released_again(small: Stafettlogg) -> None:
    """A release is stored with the version of the rule it was made under. Tables of
    the first rule (the old `stat_releases`) are withdrawn when the service starts,
    and a table of another version or threshold is never served: the ended months
    are released again under the rule in force, from the first month on."""
    for i in range(5):
        open_case(small, KARI, f"Barn Versjon{i:02d} Testesen", f"2026-02-{2 + i:02d}")
    lonely = open_case(small, HANNE, "Ensom Versjonsbarn", "2026-02-16")
    views = small.read_models.views
    with views.database.transaction(None) as db:  # what the first rule left behind
        db.execute("CREATE TABLE stat_releases (month TEXT PRIMARY KEY,"
                   " fingerprint TEXT NOT NULL, hidden TEXT NOT NULL)")
        db.execute("INSERT INTO stat_releases VALUES ('2026-02', 'old', '[]')")
    assert small.statistics.release() == 11  # February to December 2026
    first = small.statistics.released.table("2026-02")
    assert first is not None
    stored = views.read("SELECT DISTINCT policy FROM stat_release")
    assert stored == [("v3-t5-m5",)]
    # A new service: the old rule's table is gone, the releases are read back.
    reopened = ReadModels(small, small.view_database())
    again = StatisticsService(small, reopened)
    try:
        assert reopened.views.read(
            "SELECT name FROM sqlite_master WHERE name = 'stat_releases'") == []
        assert again.released.table("2026-02") == first
        # Under a stricter rule (another policy), nothing stored is served ...
        stricter = Policy(threshold=6)
        assert Released(views, stricter).table("2026-02") is None
        # ... until the months are released again under it, from the first one.
        assert Publisher(views, stricter).release(date(2027, 1, 5)) == 11
        assert views.read("SELECT DISTINCT policy FROM stat_release") == [("v3-t6-m5",)]
        table = Released(views, stricter).table("2026-02")
        assert table is not None
        shown = [c.value for c in table.cells(("4225",))
                 if kind_of(c.indicator) != "measure" and not c.suppressed]
        assert shown and all(v == 0 or v >= 6 for v in shown)  # the stricter rule's table
        assert Released(views, Policy()).table("2026-02") is None
    finally:
        reopened.close()
    del lonely


# --- exactly once -------------------------------------------------------------------


def story(app: Stafettlogg, step: Callable[[], None]) -> None:
    """Commands of every kind the statistics read, with `step()` after each one."""
    def go(result: Any = None) -> Any:
        step()
        return result

    kids = [go(open_case(app, KARI, f"Barn Steg{i} Testesen", f"2026-01-{5 + i:02d}"))
            for i in range(6)]
    school = [go(open_case(app, PER, f"Elev Steg{i} Testesen", f"2026-02-{2 + i:02d}"))
              for i in range(3)]
    for case_id in kids:
        go(decide(app, KARI, case_id, "2026-01-15"))
    for case_id in school:
        go(decide(app, PER, case_id, "2026-03-01"))  # later than 14 days
    a, b, c, d, *_ = kids
    go(app.change_level(KARI, a, level=1, reason="Tiltak i barnehagen.", at=at("2026-01-20")))
    action = go(app.agree_action(KARI, a, description="Språkgruppe.",
                                 responsible_service="bhg-solsikken",
                                 evaluate_by=date(2026, 2, 20), at=at("2026-01-21")).result)
    go(app.evaluate_action(KARI, a, action, outcome="continue", text="Går bra.",
                           at=at("2026-02-18")))
    go(app.evaluate_action(KARI, a, action, outcome="completed", text="Ferdig.",
                           at=at("2026-03-18")))  # counted once, at the first evaluation
    late = go(app.agree_action(KARI, b, description="Samtaler.", responsible_service=
                               "bhg-solsikken", evaluate_by=date(2026, 2, 1),
                               at=at("2026-01-22")).result)
    go(app.evaluate_action(KARI, b, late, outcome="stopped", text="Sent.", at=at("2026-02-10")))
    go(app.register_consent(KARI, c, given_by="guardian", services=["hauge-skole", "ppt-lister",
                            "hs-lyngdal"], purpose="Samarbeid.", valid_until=date(2026, 12, 31),
                            form="written", at=at("2026-02-01")))
    go(app.add_participant(KARI, c, service="ppt-lister", at=at("2026-02-02")))
    go(app.add_participant(KARI, c, service="hs-lyngdal", at=at("2026-02-02")))
    go(app.change_level(KARI, c, level=3, reason="Sammensatt.", at=at("2026-02-03")))
    go(app.establish_responsibility_group(KARI, c, services=["ppt-lister", "hs-lyngdal"],
                                          at=at("2026-02-04")))
    go(app.appoint_coordinator(KIM, c, user="hanne", service="hs-lyngdal", at=at("2026-02-05")))
    go(app.start_individual_plan(KARI, c, at=at("2026-02-06")))
    go(app.hold_meeting(KARI, c, held_on=date(2026, 2, 6), services=["ppt-lister"],
                        minutes="Møte.", at=at("2026-02-09")))
    handover = go(app.request_handover(KARI, c, to_user="per", to_service="hauge-skole",
                                       at=at("2026-03-20")).result)
    go(app.accept_handover(PER, c, handover, at=at("2026-04-02")))
    go(app.release_coordinator(PER, c, at=at("2026-05-01")))
    go(app.end_individual_plan(PER, c, at=at("2026-05-02")))
    go(app.dissolve_responsibility_group(PER, c, at=at("2026-05-03")))
    go(app.change_level(PER, c, level=0, reason="Tilbake.", at=at("2026-05-04")))
    go(app.record_satisfaction(KARI, d, respondent="guardian", score=4, at=at("2026-05-05")))
    go(app.register_consent(KARI, d, given_by="guardian", services=["hauge-skole"],
                            purpose="Skolestart.", valid_until=date(2026, 12, 31), form="oral",
                            at=at("2026-05-06")))
    declined = go(app.request_handover(KARI, d, to_user="per", to_service="hauge-skole",
                                       at=at("2026-05-07")).result)
    go(app.decline_handover(PER, d, declined, reason="Ikke ennå.", at=at("2026-05-08")))
    cancelled = go(app.request_handover(KARI, d, to_user="per", to_service="hauge-skole",
                                        at=at("2026-05-09")).result)
    go(app.cancel_handover(KARI, d, cancelled, at=at("2026-05-10")))
    for case_id, reason in zip(kids[3:], ("moved-away", "family-declined", "other"),
                               strict=True):
        go(app.close_case(KARI, case_id, reason=reason, at=at("2026-06-01")))
    # The same child again after its case closed: a new case, the same child.
    again = {"child_name": "Barn Igjen Testesen", "birth_date": date(2021, 5, 5)}
    first = go(app.open_case(KARI, **again, concern="Undring.", at=at("2026-06-10")).id)
    go(decide(app, KARI, first, "2026-06-11"))
    go(app.close_case(KARI, first, reason="concern-resolved", at=at("2026-06-12")))
    second = go(app.open_case(KARI, **again, concern="Ny undring.", at=at("2026-06-20")).id)
    assert app.get_case(second).state.child_id == app.get_case(first).state.child_id


def test_a_view_kept_step_by_step_equals_a_rebuild(small: Stafettlogg, tmp_path: Path) -> None:
    source = NotificationSource(small)
    stepwise = ViewStore(str(tmp_path / "stepwise.sqlite3"))
    reads: list[int] = []
    # Meanwhile the application's own follower thread keeps its view current, too.
    small.read_models.start_following(interval=0.001)
    try:
        story(small, lambda: reads.append(stepwise.process(StatisticsProjection(), source)))
    finally:
        small.read_models.stop_following()
    reads.append(stepwise.process(StatisticsProjection(), source))
    assert sum(reads) == source.last_position()
    assert len([r for r in reads if r]) > 40  # really in small steps
    fresh = rebuilt(small, tmp_path / "fresh.sqlite3")
    assert snapshot(stepwise) == fresh
    small.read_models.catch_up()
    assert snapshot(small.read_models.views) == fresh
    # And the counts of the story are what its events say.
    counts, _ = count_year(small.read_models.views, 2026, ("4225",))
    want = expected(replay(small), 2026, ("4225",))
    assert differences(counts, want, 2026, ("4225",), (*FLOWS, *STOCKS)) == []
    assert want.counts["level0_decisions_within_14_days"][("2026", ALL, ALL, ALL)] == 7
    assert want.counts["actions_evaluated_by_date"][("2026", ALL, ALL, ALL)] == 1
    assert want.counts["handovers_completed"][("2026-04", "4225", "skole", "3")] == 1
    stepwise.close()
