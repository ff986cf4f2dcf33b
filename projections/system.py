"""What an attacker knows about the published indicator tables, as linear relations.

`docs/indicators.md` ("What an attacker is assumed to know") lists it in words;
this module is the same list as arithmetic, for one release at a time (a quarter,
with its months, and the half-year and year it ends), over the cells of that
release and the unknown quantities that are never published:

* **Margins.** Every `all` cell is the sum of the cells it adds up, along
  municipality, sector and level, in every table and period.
* **Time.** For flows, a quarter is the sum of its months, a half-year of its
  quarters, a year of its halves. A stock of a quarter, half-year or year is the
  stock at the end of its last month: the same cell.
* **The holders' balance.** In every municipality, sector and level and every
  month, the children with a stafettholder at the end of the month are those at
  the end of the month before, plus cases opened, handovers and level changes in,
  minus handovers and level changes out, minus cases closed (all five reasons).
  The handovers and level changes *out* are never published; they are unknowns,
  >= 0, whose sums are published: the handovers out of all sectors at a level are
  the handovers completed at that level (a handover keeps the level), the level
  changes out of all levels of a sector are the level changes in that sector (a
  change keeps the sector), and since a change goes to another level, the
  changes into a level plus those out of it are at most all changes.
* **Inequalities between indicators**, cell by cell: children with a koordinator,
  with an ansvarsgruppe or with an individual plan are at most the children with
  a stafettholder; decisions within 14 days are at most the level-0 decisions;
  actions evaluated by their date are at most the actions evaluated.
* **Known zeros.** Cases are opened at level 0, and level-0 decisions are taken
  at level 0: those tables are zero at levels 1-3 by definition.
* Every count is a whole number >= 0. Stocks before the first month with data
  are zero.

The indicators fall into groups that share no relation; each group of a release
is one `System` (projections/protection.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from domain.values import SECTORS
from projections.protection import Key, System

ALL = "all"
LEVELS = ("0", "1", "2", "3")


class CellKey(NamedTuple):
    """One cell of a published table. Strings everywhere, so keys sort."""

    period: str  # "2026", "2026-H1", "2026-Q3", "2026-03"
    municipality: str  # "4225" or "all"
    sector: str  # "skole" ... or "all"
    level: str  # "0".."3" or "all"
    indicator: str = ""


HOLDERS = "children_with_holder"
STOCKS = (
    HOLDERS,
    "children_with_coordinator",
    "children_with_responsibility_group",
    "children_with_individual_plan",
)
OPENED = "cases_opened"
HANDOVERS = "handovers_completed"
TRANSITIONS = "level_transitions"
CLOSED_PREFIX = "cases_closed_"
# Unknowns: handovers out of a (municipality, sector, level), by the sector left
# (a handover keeps the level); level changes out of a (municipality, sector,
# level), by the level left (a level change keeps the sector).
HANDOVERS_OUT = "_handovers_out"
TRANSITIONS_OUT = "_transitions_out"

AT_MOST = (  # (smaller, larger), cell by cell
    ("children_with_coordinator", HOLDERS),
    ("children_with_responsibility_group", HOLDERS),
    ("children_with_individual_plan", HOLDERS),
    ("level0_decisions_within_14_days", "level0_decisions"),
    ("actions_evaluated_by_date", "actions_evaluated"),
)
LEVEL_ZERO_ONLY = ("cases_opened", "level0_decisions", "level0_decisions_within_14_days")


def groups(counted: Sequence[str]) -> list[tuple[str, ...]]:
    """The indicators in groups that share no relation, holders' group first."""
    closed = [k for k in counted if k.startswith(CLOSED_PREFIX)]
    balance = (*STOCKS, OPENED, HANDOVERS, TRANSITIONS, *closed)
    out = [balance]
    taken = set(balance)
    for small, large in AT_MOST:
        if small not in taken and large not in taken:
            out.append((large, small))
            taken.update((small, large))
    out += [(k,) for k in counted if k not in taken]
    return out


# --------------------------------------------------------------------------- periods


def is_month(period: str) -> bool:
    return len(period) == 7 and period[5] in "01"


def sub_periods(period: str) -> list[str]:
    """The periods a quarter, half-year or year is directly the sum of."""
    year = period[:4]
    if len(period) == 4:
        return [f"{year}-H1", f"{year}-H2"]
    if period[5] == "H":
        h = int(period[6])
        return [f"{year}-Q{2 * h - 1}", f"{year}-Q{2 * h}"]
    if period[5] == "Q":
        q = int(period[6])
        return [f"{year}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    return []


def last_month(period: str) -> str:
    year = period[:4]
    if len(period) == 4:
        return f"{year}-12"
    if period[5] == "H":
        return f"{year}-{6 * int(period[6]):02d}"
    if period[5] == "Q":
        return f"{year}-{3 * int(period[6]):02d}"
    return period


def month_before(month: str) -> str:
    year, m = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if m == 1 else f"{year}-{m - 1:02d}"


def rank(period: str) -> int:
    """0 month, 1 quarter, 2 half-year, 3 year."""
    if len(period) == 4:
        return 3
    return {"H": 2, "Q": 1}.get(period[5], 0)


# --------------------------------------------------------------------------- the builder


@dataclass(frozen=True)
class Kinds:
    """Which indicators are stocks (the rest are flows)."""

    stocks: frozenset[str]

    def canonical(self, key: CellKey) -> CellKey:
        """A stock of a quarter, half-year or year is its last month's cell."""
        if key.indicator in self.stocks and not is_month(key.period):
            return key._replace(period=last_month(key.period))
        return key


def _with_margins(key: CellKey) -> list[CellKey]:
    """A fine cell and every `all` cell it adds to."""
    return [key._replace(municipality=mm, sector=ss, level=ll)
            for mm in (key.municipality, ALL)
            for ss in (key.sector, ALL)
            for ll in (key.level, ALL)]


# A count of children with a stafettholder, once moved by a certificate, is carried
# by the holders' balance into every later month (projections/publication.py): it
# costs this many times another cell to hide.
HOLDERS_COST = 8


def weight(key: CellKey) -> float:
    """The cost of hiding a cell: totals cost more than detail (four times per
    `all`), longer periods more than shorter (twice per step), and the children with
    a stafettholder more than the flows of a month (`HOLDERS_COST`)."""
    totals = (key.municipality == ALL) + (key.sector == ALL) + (key.level == ALL)
    lasting = HOLDERS_COST if key.indicator == HOLDERS else 1
    return float(4**totals * 2 ** rank(key.period) * lasting)


def build(
    group: Sequence[str],
    periods: Sequence[str],
    municipalities: Sequence[str],
    values: Mapping[CellKey, int],
    kinds: Kinds,
    first_month: str,
) -> System:
    """The system of one group of indicators for a release of `periods` (the new
    periods, months first). `values` holds the counts of the new cells and the
    unknowns of the new months (missing means zero); earlier cells that the
    relations reach are terms of `System.old`."""
    months = [p for p in periods if is_month(p)]
    new = set(periods)
    coords = list(itertools.product((*municipalities, ALL), (*SECTORS, ALL), (*LEVELS, ALL)))
    keys: list[Key] = []
    index: dict[CellKey, int] = {}
    fixed: set[int] = set()

    def cell(key: CellKey) -> int:
        i = index.get(key)
        if i is None:
            i = index[key] = len(keys)
            keys.append(key)
        return i

    def grid() -> Iterable[tuple[str, str, str, str, str]]:
        """The release's published cells: (indicator, period, municipality, sector, level);
        a stock only in its months (longer periods are their last month's cell)."""
        for indicator in group:
            for period in periods:
                if indicator in kinds.stocks and not is_month(period):
                    continue
                for m, s, lvl in coords:
                    yield indicator, period, m, s, lvl

    for indicator, period, m, s, lvl in grid():
        i = cell(CellKey(period, m, s, lvl, indicator))
        if indicator in LEVEL_ZERO_ONLY and lvl not in ("0", ALL):
            fixed.add(i)
    n_cells = len(keys)
    balance = HOLDERS in group
    if balance:
        for month in months:
            for m in municipalities:
                for s in SECTORS:
                    for lvl in LEVELS:
                        cell(CellKey(month, m, s, lvl, HANDOVERS_OUT))
                        cell(CellKey(month, m, s, lvl, TRANSITIONS_OUT))

    rows: list[list[tuple[int, int]]] = []
    old: list[list[tuple[Key, int]]] = []

    def relation(terms: Iterable[tuple[CellKey, int]]) -> None:
        here: dict[int, int] = {}
        before: dict[CellKey, int] = {}
        for key, coef in terms:
            key = kinds.canonical(key)
            if key.period in new or (key.indicator in kinds.stocks and key.period in months):
                i = index[key]
                if i in fixed:
                    continue
                here[i] = here.get(i, 0) + coef
            else:
                before[key] = before.get(key, 0) + coef
        here = {i: c for i, c in here.items() if c}
        before = {k: c for k, c in before.items() if c}
        if here:
            rows.append(sorted(here.items()))
            old.append(sorted(before.items()))

    dims = (1, 2, 3)  # municipality, sector, level positions in CellKey
    domains = {1: municipalities, 2: SECTORS, 3: LEVELS}
    for indicator, period, m, s, lvl in grid():
        base = [period, m, s, lvl, indicator]
        for d in dims:
            if base[d] != ALL:
                continue
            parts = []
            for value in domains[d]:
                part = list(base)
                part[d] = value
                parts.append((CellKey(*part), 1))
            relation([(CellKey(*base), -1), *parts])
        if not is_month(period):  # a flow's quarter, half-year or year: its parts
            relation([
                (CellKey(period, m, s, lvl, indicator), -1),
                *((CellKey(sub, m, s, lvl, indicator), 1) for sub in sub_periods(period)),
            ])
    if balance:
        closed = [k for k in group if k.startswith(CLOSED_PREFIX)]
        for month in months:
            before = month_before(month)
            for m in municipalities:
                for s in SECTORS:
                    for lvl in LEVELS:
                        terms = [(CellKey(month, m, s, lvl, HOLDERS), 1)]
                        if month != first_month:
                            terms.append((CellKey(before, m, s, lvl, HOLDERS), -1))
                        terms += [
                            (CellKey(month, m, s, lvl, OPENED), -1),
                            (CellKey(month, m, s, lvl, HANDOVERS), -1),
                            (CellKey(month, m, s, lvl, TRANSITIONS), -1),
                            *((CellKey(month, m, s, lvl, c), 1) for c in closed),
                            (CellKey(month, m, s, lvl, HANDOVERS_OUT), 1),
                            (CellKey(month, m, s, lvl, TRANSITIONS_OUT), 1),
                        ]
                        relation(terms)
                    # As many level changes leave the levels as arrive in them.
                    relation([
                        (CellKey(month, m, s, ALL, TRANSITIONS), -1),
                        *((CellKey(month, m, s, lvl, TRANSITIONS_OUT), 1) for lvl in LEVELS),
                    ])
                for lvl in LEVELS:
                    relation([
                        (CellKey(month, m, ALL, lvl, HANDOVERS), -1),
                        *((CellKey(month, m, s, lvl, HANDOVERS_OUT), 1) for s in SECTORS),
                    ])

    inequalities: list[tuple[list[tuple[int, int]], int]] = []
    if balance:
        # A level change goes to another level: the changes into a level come from
        # the others, so changes into it plus changes out of it are at most all
        # changes (in that municipality and sector). With the sums above this is
        # all that whole numbers of changes from one level to another imply.
        for month in months:
            for m in municipalities:
                for s in SECTORS:
                    total = index[CellKey(month, m, s, ALL, TRANSITIONS)]
                    for lvl in LEVELS:
                        into = index[CellKey(month, m, s, lvl, TRANSITIONS)]
                        out = index[CellKey(month, m, s, lvl, TRANSITIONS_OUT)]
                        inequalities.append(([(into, 1), (out, 1), (total, -1)], 0))
    for small, large in AT_MOST:
        if small in group and large in group:
            for month in months:
                for m, s, lvl in coords:
                    a = index[CellKey(month, m, s, lvl, small)]
                    b = index[CellKey(month, m, s, lvl, large)]
                    if m != ALL and s != ALL and lvl != ALL:
                        inequalities.append(([(a, 1), (b, -1)], 0))

    stocks_before = month_before(months[0]) if months else None
    longer = sorted((p for p in periods if not is_month(p)), key=rank)

    def hint(frontier: Mapping[CellKey, float]) -> dict[int, float] | None:
        """The extension the structure gives: the holders at the end of this month
        move as those at the end of the month before (every flow unchanged), and a
        quarter, half-year or year moves as the sum of its parts."""
        moved: dict[CellKey, float] = {}
        for k, d in frontier.items():
            if k.indicator == HOLDERS and k.period == stocks_before and ALL not in k[1:4]:
                for key in _with_margins(k._replace(period=months[0])):
                    moved[key] = moved.get(key, 0.0) + d
        # Fewer children with a stafettholder may leave fewer with a koordinator (and
        # so on): those follow where they would be more than the holders.
        for k, d in list(moved.items()):
            if d >= 0 or ALL in k[1:4]:
                continue
            room = values.get(k, 0) + d
            for small, large in AT_MOST:
                if large != HOLDERS or small not in group:
                    continue
                over = values.get(k._replace(indicator=small), 0) - room
                if over > 0:
                    for key in _with_margins(k._replace(indicator=small)):
                        moved[key] = moved.get(key, 0.0) - over
        for period in longer:
            parts = set(sub_periods(period))
            for source in (frontier, dict(moved)):
                for k, d in source.items():
                    if k.period in parts and k.indicator not in kinds.stocks:
                        key = k._replace(period=period)
                        moved[key] = moved.get(key, 0.0) + d
        out: dict[int, float] = {}
        for key, d in moved.items():
            i = index.get(key)
            if i is None:
                return None
            if abs(d) > 1e-9:
                out[i] = d
        return out

    values_list = [int(values.get(k, 0)) for k in keys]  # type: ignore[arg-type]
    unknown = [i >= n_cells for i in range(len(keys))]
    weights = [weight(k) if i < n_cells else 0.0 for i, k in enumerate(keys)]  # type: ignore[arg-type]
    return System(
        keys=keys,
        values=values_list,
        unknown=unknown,
        weights=weights,
        rows=rows,
        old=old,
        inequalities=inequalities,
        fixed=fixed,
        hint=hint,  # type: ignore[arg-type]
        lasting=frozenset(
            i for i, k in enumerate(keys[:n_cells])
            if months and k.indicator == HOLDERS and k.period == months[-1]  # type: ignore[union-attr]
            and ALL not in k[1:4]  # type: ignore[index]
        ),
    )
