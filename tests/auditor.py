"""An independent auditor of the published indicator tables: the attacker, rebuilt.

The producer (projections/protection.py, projections/system.py,
projections/publication.py) decides which cells to hide. This module does not reuse
any of its arithmetic: it is the attacker of docs/indicators.md ("What an attacker
is assumed to know"), written again from the words, and it looks only at what an
evaluator gets (the published cells of every released period of a year). For every
hidden count whose true value is 1 .. threshold-1 it works out the smallest and the
largest whole value the attacker cannot rule out, and reports the cell as *pinned*
when the largest is below the threshold or the interval spans fewer than
`threshold` whole values.

What the attacker knows (per indicator and period, over the grid municipality (each,
"all") x sector (SECTORS, "all") x level ("0".."3", "all")):

1. every count is a whole number >= 0 (a hidden one may be 0);
2. every "all" cell is the sum of its parts, along municipality, sector and level;
3. for flows a quarter is the sum of its months, a half-year of its quarters, a year
   of its halves; the stock of a quarter, half-year or year is the stock of its last
   month (the same number);
4. the holders' balance per municipality, sector, level and month, with the
   handovers and level changes *out* as unpublished unknowns >= 0 (whose sums are
   published), and holders before the first month with data at 0;
5. children with a koordinator / ansvarsgruppe / individual plan <= children with a
   holder; level-0 decisions within 14 days <= level-0 decisions; actions evaluated
   by their date <= actions evaluated (per fine cell and month);
6. cases opened and level-0 decisions (within 14 days or not) are 0 at levels 1-3;
7. a published measure stands on >= 5 records (its counts); with
   `measures_linked=False` (the weak rule: a measure is shown iff it has >= 5 records,
   whatever its count) a hidden measure says its records are <= 4.

Bounds are linear programs (HiGHS through scipy), rounded inwards (floor of the max,
ceiling of the min: valid for whole numbers), and confirmed by integer programs
(`scipy.optimize.milp`) on a sample. With the true counts given, the auditor checks
itself too: the true table must satisfy every relation it models (so that a pinned
cell is never an artefact of a wrong model), and every true value must lie inside
its bounds.

Only names are imported from the project (`projections.indicators`,
`domain.values`); nothing of how the producer reasons.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from domain.values import SECTORS
from projections.indicators import ALL, CLOSED, COUNTED, INDICATORS, LEVELS

KIND = {i.key: i.kind for i in INDICATORS}
STOCKS = tuple(k for k in COUNTED if KIND[k] == "stock")
FLOWS = tuple(k for k in COUNTED if KIND[k] == "flow")
MEASURES = tuple(i.key for i in INDICATORS if i.kind == "measure")
HOLDER = "children_with_holder"
FLAGGED = ("children_with_coordinator", "children_with_responsibility_group",
           "children_with_individual_plan")
BALANCE = (*STOCKS, "cases_opened", "handovers_completed", "level_transitions", *CLOSED)
# The records a measure is taken over (docs/indicators.md), written out again here.
RECORDS: dict[str, tuple[str, ...]] = {
    "handover_days_median": ("handovers_completed",),
    "satisfaction_mean": ("satisfaction_answers",),
    "case_duration_days_median": CLOSED,
}
AT_LEVEL0_ONLY = ("cases_opened", "level0_decisions", "level0_decisions_within_14_days")
AT_MOST = (  # (smaller, larger), per fine cell and month
    *((flag, HOLDER) for flag in FLAGGED),
    ("level0_decisions_within_14_days", "level0_decisions"),
    ("actions_evaluated_by_date", "actions_evaluated"),
)
HANDOVERS_OUT, TRANSITIONS_OUT = "<handovers out>", "<level changes out>"
EPS = 1e-6

Cell = tuple[str, str, str, str, str]  # indicator, period, municipality, sector, level


def groups() -> list[tuple[str, ...]]:
    """Indicators that share no relation: one system each."""
    out = [BALANCE, ("level0_decisions", "level0_decisions_within_14_days"),
           ("actions_evaluated", "actions_evaluated_by_date")]
    taken = {k for g in out for k in g}
    out += [(k,) for k in COUNTED if k not in taken]
    assert sorted(k for g in out for k in g) == sorted(COUNTED)
    return out


# --- periods, written again -------------------------------------------------------


def months_of(year: int) -> list[str]:
    return [f"{year}-{m:02d}" for m in range(1, 13)]


def parts_of(year: int) -> dict[str, list[str]]:
    """Every period longer than a month -> the periods it is the sum of (for flows)."""
    out: dict[str, list[str]] = {str(year): [f"{year}-H1", f"{year}-H2"]}
    for h in (1, 2):
        out[f"{year}-H{h}"] = [f"{year}-Q{q}" for q in (2 * h - 1, 2 * h)]
    for q in range(1, 5):
        out[f"{year}-Q{q}"] = [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    return out


def periods_of(year: int) -> list[str]:
    return [*parts_of(year), *months_of(year)]


def last_month(period: str, year: int) -> str:
    parts = parts_of(year)
    while period in parts:
        period = parts[period][-1]
    return period


# --- the report -------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    cell: Cell
    true: int
    low: int
    high: float  # math.inf when unbounded
    how: str  # "lp" (rounded) or "milp"

    def __str__(self) -> str:
        i, p, m, s, lvl = self.cell
        return (f"{i} {p} {m}/{s}/{lvl}: true {self.true}, could be {self.low}..{self.high}"
                f" ({self.how})")


@dataclass
class Report:
    hidden: int = 0  # hidden count cells, as published (a stock's periods counted each)
    checked: int = 0  # hidden cells with a true value 1 .. threshold-1 (distinct numbers)
    milp_checked: int = 0
    milp_unfinished: int = 0  # of those, integer programs not proved in MILP_SECONDS
    by_batch: int = 0  # of the checked, shown protected together (two programs a group)
    unchecked: int = 0  # small hidden cells left out by `at_most` (none by default)
    violations: list[Violation] = field(default_factory=list)
    bounds: dict[Cell, tuple[int, float]] = field(default_factory=dict)
    # Published counts that differ from the truth (a producer error, not a pin).
    mismatches: list[tuple[Cell, Any, int]] = field(default_factory=list)
    # The auditor's own sanity checks: empty, or the model is wrong.
    model_errors: list[str] = field(default_factory=list)

    @property
    def pinned(self) -> int:
        return len({v.cell for v in self.violations})

    def summary(self) -> str:
        return (f"hidden cells: {self.hidden}, small hidden cells checked: {self.checked} "
                f"({self.milp_checked} by integer programming ({self.milp_unfinished} not "
                f"finished in {MILP_SECONDS:.0f} s: LP bounds), {self.by_batch} together; "
                f"{self.unchecked} left out), cells pinned: {self.pinned}")

    def details(self, limit: int = 40) -> str:
        lines = [self.summary(), *map(str, self.violations[:limit])]
        lines += [f"mismatch {c}: published {v}, true {t}" for c, v, t in self.mismatches[:limit]]
        lines += self.model_errors[:limit]
        return "\n".join(lines)


class AuditError(Exception):
    """What is published is inconsistent with the model (no table fits it)."""


# --- the system -------------------------------------------------------------------


Var = tuple[str, str, str, str, str]  # like Cell; stocks at their last month


class System:
    """Variables with bounds, and rows lo <= sum(coef * var) <= hi."""

    def __init__(self) -> None:
        self.index: dict[Var, int] = {}
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, key: Var) -> int:
        n = self.index.get(key)
        if n is None:
            n = self.index[key] = len(self.lb)
            self.lb.append(0.0)
            self.ub.append(math.inf)
        return n

    def fix(self, key: Var, value: float) -> None:
        n = self.var(key)
        if not self.lb[n] - EPS <= value <= self.ub[n] + EPS:
            raise AuditError(f"{key} published as {value}, but known to be in "
                             f"[{self.lb[n]}, {self.ub[n]}]")
        self.lb[n] = self.ub[n] = float(value)

    def at_most(self, key: Var, value: float) -> None:
        n = self.var(key)
        if value < self.lb[n] - EPS:
            raise AuditError(f"{key} is {self.lb[n]} but known to be at most {value}")
        self.ub[n] = min(self.ub[n], float(value))

    def row(self, terms: Iterable[tuple[Var, float]], lo: float, hi: float) -> None:
        coefs: dict[int, float] = defaultdict(float)
        for key, c in terms:
            coefs[self.var(key)] += c
        self.rows.append(({k: c for k, c in coefs.items() if c}, lo, hi))


def cell_var(indicator: str, period: str, m: str, s: str, lvl: str, year: int) -> Var:
    if KIND[indicator] == "stock":
        period = last_month(period, year)
    return (indicator, period, m, s, lvl)


def build(
    group: Sequence[str],
    year: int,
    municipalities: Sequence[str],
    counts: Mapping[Cell, int | None],
    measures: Mapping[Cell, float | None],
    *,
    measures_linked: bool,
    min_records: int,
    start_empty: bool,
) -> System:
    """The attacker's system for one group of indicators over every period of a year."""
    sysm = System()
    munis, sectors, levels = (*municipalities, ALL), (*SECTORS, ALL), (*LEVELS, ALL)
    periods, months = periods_of(year), months_of(year)

    def v(indicator: str, period: str, m: str, s: str, lvl: str) -> Var:
        return cell_var(indicator, period, m, s, lvl, year)

    for indicator in group:
        for period in periods:
            for m in munis:
                for s in sectors:
                    for lvl in levels:
                        key = v(indicator, period, m, s, lvl)
                        sysm.var(key)
                        value = counts.get((indicator, period, m, s, lvl))
                        if value is not None:  # published
                            sysm.fix(key, value)
                        if indicator in AT_LEVEL0_ONLY and lvl not in ("0", ALL):
                            sysm.at_most(key, 0)
    # 2. margins
    for indicator in group:
        own = months if KIND[indicator] == "stock" else periods
        for period in own:
            for s in sectors:
                for lvl in levels:
                    sysm.row([(v(indicator, period, ALL, s, lvl), 1.0)]
                             + [(v(indicator, period, m, s, lvl), -1.0) for m in municipalities],
                             0, 0)
            for m in munis:
                for lvl in levels:
                    sysm.row([(v(indicator, period, m, ALL, lvl), 1.0)]
                             + [(v(indicator, period, m, s, lvl), -1.0) for s in SECTORS], 0, 0)
                for s in sectors:
                    sysm.row([(v(indicator, period, m, s, ALL), 1.0)]
                             + [(v(indicator, period, m, s, lvl), -1.0) for lvl in LEVELS], 0, 0)
    # 3. time (stocks: the same variable already)
    for indicator in group:
        if KIND[indicator] != "flow":
            continue
        for period, parts in parts_of(year).items():
            for m in munis:
                for s in sectors:
                    for lvl in levels:
                        sysm.row([(v(indicator, period, m, s, lvl), 1.0)]
                                 + [(v(indicator, p, m, s, lvl), -1.0) for p in parts], 0, 0)
    # 5. inequalities, fine cells and months
    for small, large in AT_MOST:
        if small in group and large in group:
            for month in months:
                for m in municipalities:
                    for s in SECTORS:
                        for lvl in LEVELS:
                            sysm.row([(v(small, month, m, s, lvl), 1.0),
                                      (v(large, month, m, s, lvl), -1.0)], -math.inf, 0)
    # 4. the holders' balance
    if HOLDER in group:
        first = _first_month_with_data(counts, year)
        for n, month in enumerate(months):
            for m in municipalities:
                for s in SECTORS:
                    for lvl in LEVELS:
                        terms: list[tuple[Var, float]] = [(v(HOLDER, month, m, s, lvl), 1.0)]
                        if n > 0:
                            terms.append((v(HOLDER, months[n - 1], m, s, lvl), -1.0))
                        elif not (start_empty or (first is not None and first > month)):
                            terms.append(((HOLDER, f"{year - 1}-12", m, s, lvl), -1.0))
                        terms += [(v(f, month, m, s, lvl), -1.0) for f in
                                  ("cases_opened", "handovers_completed", "level_transitions")]
                        terms += [(v(c, month, m, s, lvl), 1.0) for c in CLOSED]
                        terms += [((HANDOVERS_OUT, month, m, s, lvl), 1.0),
                                  ((TRANSITIONS_OUT, month, m, s, lvl), 1.0)]
                        sysm.row(terms, 0, 0)
                        # a change goes to another level: in + out <= all changes
                        sysm.row([(v("level_transitions", month, m, s, lvl), 1.0),
                                  ((TRANSITIONS_OUT, month, m, s, lvl), 1.0),
                                  (v("level_transitions", month, m, s, ALL), -1.0)],
                                 -math.inf, 0)
                for lvl in LEVELS:  # a handover keeps the level
                    sysm.row([((HANDOVERS_OUT, month, m, s, lvl), 1.0) for s in SECTORS]
                             + [(v("handovers_completed", month, m, ALL, lvl), -1.0)], 0, 0)
                for s in SECTORS:  # a level change keeps the sector
                    sysm.row([((TRANSITIONS_OUT, month, m, s, lvl), 1.0) for lvl in LEVELS]
                             + [(v("level_transitions", month, m, s, ALL), -1.0)], 0, 0)
    # 7. measures
    for measure, behind in RECORDS.items():
        if not set(behind) <= set(group):
            continue
        for period in periods:
            for m in munis:
                for s in sectors:
                    for lvl in levels:
                        shown = measures.get((measure, period, m, s, lvl))
                        terms = [(v(c, period, m, s, lvl), 1.0) for c in behind]
                        if shown is not None:
                            sysm.row(terms, min_records, math.inf)
                        elif not measures_linked and (measure, period, m, s, lvl) in measures:
                            sysm.row(terms, -math.inf, min_records - 1)
    return sysm


def _first_month_with_data(counts: Mapping[Cell, int | None], year: int) -> str | None:
    """The earliest month with a non-zero or hidden count (a hidden count is there
    only where something happened, or as a complement of something that did)."""
    months = set(months_of(year))
    found = [p for (_, p, *_), value in counts.items() if p in months and value != 0]
    return min(found) if found else None


# --- solving ----------------------------------------------------------------------


@dataclass
class Component:
    columns: list[int]  # variables of the system, in order
    a_eq: Any
    b_eq: np.ndarray
    a_ub: Any
    b_ub: np.ndarray
    lo: np.ndarray  # two-sided form, for milp
    hi: np.ndarray
    a: Any
    bounds: list[tuple[float, float | None]]


def _components(sysm: System) -> tuple[dict[int, int], list[Component]]:
    """Substitute the fixed variables, check the rows left with none free, and split
    the free variables into independent components."""
    lb, ub = np.array(sysm.lb), np.array(sysm.ub)
    free = ub - lb > EPS
    parent = list(range(len(lb)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    reduced: list[tuple[dict[int, float], float, float]] = []
    for coefs, lo, hi in sysm.rows:
        const = sum(c * lb[k] for k, c in coefs.items() if not free[k])
        terms = {k: c for k, c in coefs.items() if free[k]}
        if not terms:
            if not lo - EPS <= const <= hi + EPS:
                raise AuditError(f"published cells break a relation: {lo} <= {const} <= {hi}")
            continue
        keys = list(terms)
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
        reduced.append((terms, lo - const, hi - const))
    members: dict[int, list[int]] = defaultdict(list)
    for k in np.flatnonzero(free):
        members[find(int(k))].append(int(k))
    rows_of: dict[int, list[tuple[dict[int, float], float, float]]] = defaultdict(list)
    for terms, lo, hi in reduced:
        rows_of[find(next(iter(terms)))].append((terms, lo, hi))
    where: dict[int, int] = {}
    comps: list[Component] = []
    for root, cols in members.items():
        position = {k: n for n, k in enumerate(cols)}
        for k in cols:
            where[k] = len(comps)
        rows = rows_of.get(root, [])
        eq = [r for r in rows if r[2] - r[1] <= EPS]
        ineq = [r for r in rows if r[2] - r[1] > EPS]
        ub_rows: list[tuple[dict[int, float], float]] = []
        for terms, lo, hi in ineq:
            if hi < math.inf:
                ub_rows.append((terms, hi))
            if lo > -math.inf:
                ub_rows.append(({k: -c for k, c in terms.items()}, -lo))

        def matrix(rs: Sequence[tuple[dict[int, float], Any]], n: int = len(cols),
                   position: dict[int, int] = position) -> Any:
            data, ri, ci = [], [], []
            for r, (terms, *_) in enumerate(rs):
                for k, c in terms.items():
                    data.append(c)
                    ri.append(r)
                    ci.append(position[k])
            return sp.csr_array((data, (ri, ci)), shape=(len(rs), n))

        comps.append(Component(
            columns=cols,
            a_eq=matrix(eq) if eq else None,
            b_eq=np.array([r[1] for r in eq]),
            a_ub=matrix(ub_rows) if ub_rows else None,
            b_ub=np.array([r[1] for r in ub_rows]),
            lo=np.array([r[1] for r in rows]),
            hi=np.array([r[2] for r in rows]),
            a=matrix(rows) if rows else None,
            bounds=[(lb[k], None if ub[k] == math.inf else ub[k]) for k in cols],
        ))
    return where, comps


def _lp(comp: Component, column: int, sense: float,
        bounds: list[tuple[float, float | None]] | None = None) -> float:
    """The LP optimum of sense * x[column] (sense 1: min, -1: max), as a value of x."""
    c = np.zeros(len(comp.columns))
    c[column] = sense
    result = linprog(c, A_ub=comp.a_ub, b_ub=comp.b_ub if comp.a_ub is not None else None,
                     A_eq=comp.a_eq, b_eq=comp.b_eq if comp.a_eq is not None else None,
                     bounds=bounds or comp.bounds, method="highs")
    if result.status == 3:
        return -sense * math.inf
    if result.status != 0:
        raise AuditError(f"LP failed: {result.message}")
    return float(result.x[column])


# Seconds one integer program may take. Small tables take well under a second; one that
# does not finish leaves the cell to the LP's rounded bounds (the LP-plus-rounding
# attacker), and is counted in the report.
MILP_SECONDS = 5.0


def _milp(comp: Component, column: int, sense: float) -> float | None:
    """The integer optimum of sense * x[column], or None when it is not proved in
    `MILP_SECONDS`."""
    c = np.zeros(len(comp.columns))
    c[column] = sense
    lower = np.array([b[0] for b in comp.bounds])
    upper = np.array([np.inf if b[1] is None else b[1] for b in comp.bounds])
    constraints = [LinearConstraint(comp.a, comp.lo, comp.hi)] if comp.a is not None else []
    result = milp(c, integrality=np.ones(len(comp.columns)), bounds=Bounds(lower, upper),
                  constraints=constraints, options={"time_limit": MILP_SECONDS})
    if result.status == 3 or (result.status != 0 and "unbounded" in str(result.message).lower()):
        return -sense * math.inf
    if result.status == 1:  # the time limit
        return None
    if result.status != 0:
        raise AuditError(f"MILP failed: {result.message}")
    return float(result.x[column])


def _feasible(comp: Component, bounds: list[tuple[float, float | None]]) -> bool:
    result = linprog(np.zeros(len(comp.columns)), A_ub=comp.a_ub,
                     b_ub=comp.b_ub if comp.a_ub is not None else None, A_eq=comp.a_eq,
                     b_eq=comp.b_eq if comp.a_eq is not None else None, bounds=bounds,
                     method="highs")
    return result.status == 0


# --- the audit --------------------------------------------------------------------


def audit(
    cells: Iterable[Any],
    *,
    year: int,
    municipalities: Sequence[str] | None = None,
    truth: Mapping[str, Mapping[tuple, int]] | Mapping[Cell, int] | None = None,
    measures_linked: bool = True,
    threshold: int = 5,
    min_records: int = 5,
    milp_sample: int = 20,
    start_empty: bool = True,
    at_most: int | None = None,
) -> Report:
    """Audit the published cells (objects with indicator, period, municipality, sector,
    level, value, suppressed: `PublishedCell`) of every period of `year`.

    `truth`: the true counts, either as `count_year` gives them (indicator -> key whose
    first four fields are period, municipality, sector, level) or as Cell -> count.
    Without it every hidden cell is checked as if it were small.
    """
    counts: dict[Cell, int | None] = {}
    measures: dict[Cell, float | None] = {}
    seen_munis: set[str] = set()
    for c in cells:
        if c.period not in set(periods_of(year)):
            continue
        key = (c.indicator, c.period, c.municipality, c.sector, c.level)
        if c.municipality != ALL:
            seen_munis.add(c.municipality)
        if KIND[c.indicator] == "measure":
            measures[key] = None if c.suppressed else c.value
        else:
            counts[key] = None if c.suppressed else int(c.value)
    munis = tuple(municipalities) if municipalities is not None else tuple(sorted(seen_munis))
    true = _truth(truth)
    report = Report(hidden=sum(v is None for v in counts.values()))
    if true is not None:
        for key, value in counts.items():
            if value is not None and value != true.get(key, 0):
                report.mismatches.append((key, value, true.get(key, 0)))
    milp_left = milp_sample
    for group in groups():
        sysm = build(group, year, munis, counts, measures, measures_linked=measures_linked,
                     min_records=min_records, start_empty=start_empty)
        where, comps = _components(sysm)
        if true is not None:
            _check_truth(sysm, where, comps, true, year, report)
        # the distinct hidden numbers to check
        targets: dict[int, Cell] = {}
        for key, value in counts.items():
            if value is not None or key[0] not in group:
                continue
            n = sysm.index[cell_var(*key, year)]
            x = true.get(key, 0) if true is not None else None
            if n in where and n not in targets and (x is None or 0 < x < threshold):
                targets[n] = cell_var(*key, year)  # a stock by its last month
        certified = _certified_together(comps, where, targets, threshold)
        report.by_batch += len(certified)
        ordered = sorted(targets.items(), key=lambda t: t[1])
        alone = [item for item in ordered if item[0] not in certified]
        if at_most is not None and len(alone) > at_most:
            # Every n-th of the cells the joint programs left, in a fixed order.
            step = len(alone) / max(at_most, 1)
            sample = {alone[int(i * step)][0] for i in range(at_most)}
            report.unchecked += len(alone) - len(sample)
            ordered = [item for item in ordered if item[0] in certified or item[0] in sample]
        for n, key in ordered:
            comp = comps[where[n]]
            column = comp.columns.index(n)
            if n in certified:  # a whole table reaching 5, and one down to 1 or 0
                report.checked += 1
                report.bounds[key] = certified[n]
                continue
            high_lp = _lp(comp, column, -1.0)
            low_lp = _lp(comp, column, 1.0)
            high = math.floor(high_lp + EPS) if high_lp < math.inf else math.inf
            low = math.ceil(low_lp - EPS)
            how = "lp"
            if milp_left > 0:
                milp_left -= 1
                report.milp_checked += 1
                high_found = _milp(comp, column, -1.0)
                low_found = _milp(comp, column, 1.0)
                if high_found is None or low_found is None:
                    report.milp_unfinished += 1
                    high_found = high if high_found is None else high_found
                    low_found = low if low_found is None else low_found
                high_ip = round(high_found) if high_found < math.inf else math.inf
                low_ip = round(low_found)
                if high_ip > high or low_ip < low:
                    report.model_errors.append(
                        f"{key}: integer bounds {low_ip}..{high_ip} outside the LP's {low}..{high}")
                if (high_ip, low_ip) != (high, low):
                    high, low, how = high_ip, low_ip, "milp"
            report.checked += 1
            report.bounds[key] = (low, high)
            x = true.get(key, 0) if true is not None else None
            if x is not None and not low <= x <= high:
                report.model_errors.append(f"{key}: true {x} outside its bounds {low}..{high}")
            if high < threshold or high - low < threshold - 1:
                report.violations.append(Violation(key, x if x is not None else -1, low, high,
                                                   how))
    return report


def _certified_together(comps: list[Component], where: dict[int, int],
                        targets: Mapping[int, Cell], threshold: int, rounds: int = 40,
                        ) -> dict[int, tuple[int, int]]:
    """Cells shown protected by two linear programs per component instead of two per
    cell: one table in which many of them reach the threshold at once (each capped
    there), and one in which many are 1 or less, again for the cells left while it
    helps. A cell that reached both is protected (it can be `threshold` and it can be
    at most 1: `threshold` values or more). Returns the cells with those two values
    (not their extremes, which are at least as wide)."""
    by_comp: dict[int, list[int]] = defaultdict(list)
    for n in targets:
        by_comp[where[n]].append(n)
    out: dict[int, tuple[int, int]] = {}
    for c, members in sorted(by_comp.items()):
        comp = comps[c]
        kwargs = {"A_ub": comp.a_ub, "b_ub": comp.b_ub if comp.a_ub is not None else None,
                  "A_eq": comp.a_eq, "b_eq": comp.b_eq if comp.a_eq is not None else None,
                  "method": "highs"}
        highest: dict[int, float] = {}
        lowest: dict[int, float] = {}
        left = list(members)
        for _ in range(rounds):
            if len(left) < 4:
                break
            cols = [comp.columns.index(n) for n in left]
            capped = list(comp.bounds)
            for col in cols:
                lo, hi = capped[col]
                capped[col] = (lo, threshold if hi is None else min(hi, threshold))
            objective = np.zeros(len(comp.columns))
            objective[cols] = -1.0
            high = linprog(objective, bounds=capped, **kwargs)
            low = linprog(-objective, bounds=comp.bounds, **kwargs)
            if high.status != 0 or low.status != 0:
                break
            for n, col in zip(left, cols, strict=True):
                highest[n] = max(highest.get(n, -math.inf), float(high.x[col]))
                lowest[n] = min(lowest.get(n, math.inf), float(low.x[col]))
            done = [n for n in left if highest[n] >= threshold - EPS and lowest[n] <= 1 + EPS]
            for n in done:
                out[n] = (math.ceil(lowest[n] - EPS), math.floor(highest[n] + EPS))
            if len(done) < len(left) // 50 + 1:  # no longer worth it
                break
            left = [n for n in left if n not in out]
    return out


def _truth(truth: Any) -> dict[Cell, int] | None:
    if truth is None:
        return None
    out: dict[Cell, int] = {}
    for k, v in truth.items():
        if isinstance(k, str):  # count_year: indicator -> CellKey
            for key, value in v.items():
                out[(k, *tuple(key)[:4])] = int(value)
        else:
            out[tuple(k)] = int(v)  # type: ignore[assignment]
    return out


def _check_truth(sysm: System, where: dict[int, int], comps: list[Component],
                 true: Mapping[Cell, int], year: int, report: Report) -> None:
    """The true table must fit every relation of the model (the unpublished unknowns
    free): otherwise the model claims what is not so."""
    value_of: dict[int, int] = {}
    for key, n in sysm.index.items():
        if key[0] in (HANDOVERS_OUT, TRANSITIONS_OUT) or key[1] not in periods_of(year):
            continue
        value_of[n] = true.get(key, 0)  # type: ignore[arg-type]
    # fixed variables: the published value must be the truth
    for n, x in value_of.items():
        if n not in where and abs(sysm.lb[n] - x) > EPS:
            report.model_errors.append(f"truth breaks a bound: {n} = {x}")
    for comp in comps:
        bounds = [(value_of[k], value_of[k]) if k in value_of else b
                  for k, b in zip(comp.columns, comp.bounds, strict=True)]
        if not _feasible(comp, bounds):
            names = [key for key, n in sysm.index.items() if n in set(comp.columns[:5])]
            report.model_errors.append(f"the true table does not fit the model near {names}")
    # rows that hold only fixed variables were checked against the published values
    for coefs, lo, hi in sysm.rows:
        if all(k in value_of for k in coefs):
            total = sum(c * value_of[k] for k, c in coefs.items())
            if not lo - EPS <= total <= hi + EPS:
                keys = {n: key for key, n in sysm.index.items()}
                report.model_errors.append(
                    f"the truth breaks a relation over {[keys[k] for k in coefs]}")


# --- from an application ----------------------------------------------------------


def published_year(app: Any, actor: Any, year: int) -> list[Any]:
    """Every published cell of every period of a year, as the evaluator gets them."""
    out: list[Any] = []
    for period in periods_of(year):
        out += app.statistics.indicators(actor, period=period, municipality=None,
                                         table="indicators").cells
    return out


def municipalities_of(app: Any) -> tuple[str, ...]:
    return tuple(m for (m,) in app.read_models.views.read(
        "SELECT DISTINCT municipality FROM stat_cases ORDER BY 1"))


def audit_app(app: Any, year: int = 2026, *, measures_linked: bool = True,
              release: bool = True, **options: Any) -> Report:
    """Release (unless told not to), fetch the national tables, audit them against
    the true counts."""
    from domain.values import Actor
    from projections.indicators import count_year

    if release:
        app.statistics.release()
    munis = municipalities_of(app)
    actor = Actor(user="auditor", roles=frozenset({"evaluator"}), municipalities=frozenset(munis))
    cells = published_year(app, actor, year)
    counts, _ = count_year(app.read_models.views, year, munis)
    return audit(cells, year=year, municipalities=munis, truth=counts,
                 measures_linked=measures_linked, **options)


# --- hand-made tables -------------------------------------------------------------


@dataclass(frozen=True)
class MadeCell:
    indicator: str
    period: str
    municipality: str
    sector: str
    level: str
    value: int | None
    suppressed: bool


def made_up(
    fine: Mapping[tuple[str, str, str, str, str], int],
    *,
    year: int,
    municipalities: Sequence[str],
    hidden: Any,
    indicators: Sequence[str] | None = None,
) -> tuple[list[MadeCell], dict[Cell, int]]:
    """A published year made by hand: `fine` counts (indicator, month, municipality,
    sector, level) -> n, every margin and longer period worked out from them, every
    cell published except where `hidden(cell, value)` says. No measures. Returns the
    cells and the truth."""
    chosen = tuple(indicators) if indicators is not None else tuple(sorted({k[0] for k in fine}))
    munis, sectors, levels = (*municipalities, ALL), (*SECTORS, ALL), (*LEVELS, ALL)
    true: dict[Cell, int] = defaultdict(int)
    for (indicator, month, m, s, lvl), n in fine.items():
        for mm in (m, ALL):
            for ss in (s, ALL):
                for ll in (lvl, ALL):
                    true[(indicator, month, mm, ss, ll)] += n
    for indicator in chosen:
        for period, parts in reversed(list(parts_of(year).items())):  # quarters first
            for m in munis:
                for s in sectors:
                    for lvl in levels:
                        if KIND[indicator] == "stock":
                            value = true.get((indicator, last_month(period, year), m, s, lvl), 0)
                        else:
                            value = sum(true.get((indicator, p, m, s, lvl), 0) for p in parts)
                        if value:
                            true[(indicator, period, m, s, lvl)] = value
    cells = []
    for indicator in chosen:
        for period in periods_of(year):
            for m in munis:
                for s in sectors:
                    for lvl in levels:
                        key = (indicator, period, m, s, lvl)
                        value = true.get(key, 0)
                        hide = bool(hidden(key, value))
                        cells.append(MadeCell(*key, None if hide else value, hide))
    return cells, dict(true)
