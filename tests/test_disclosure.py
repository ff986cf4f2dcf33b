"""Handbook tests for projections.disclosure: publishing counts without identifying anyone.

The policy (bti-domain.md section 4): hide counts 1-4 (threshold configurable, never
below 3); zero is published; hide further cells until no hidden value can be derived
by adding or subtracting published cells, totals and periods included; means only
over 5 or more answers; the same request on the same data gives the same answer.

The attacks below use their own exact solver (fractions, written here, sharing no
code with the module): every published cell and every relation of the table is a
linear equation, and a hidden cell is given away iff the equations pin it down.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from fractions import Fraction

import pytest

from projections.disclosure import (
    CellKey,
    Policy,
    Relation,
    derivable,
    grid_relations,
    mean_or_none,
    suppress,
)

ALL = "all"
YEAR = "2026"
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
QUARTERS = {f"{YEAR}-Q{q}": MONTHS[3 * q - 3 : 3 * q] for q in range(1, 5)}
HALVES = {f"{YEAR}-H1": MONTHS[:6], f"{YEAR}-H2": MONTHS[6:]}
PERIODS = {**{m: [m] for m in MONTHS}, **QUARTERS, **HALVES, YEAR: MONTHS}
SECTORS = [
    "annet", "barnehage", "barnevern", "bup", "fastlege",
    "helsestasjon", "nav", "ppt", "psykisk-helse", "skole",
]
LEVELS = ["0", "1", "2", "3"]

Interior = Mapping[tuple[str, str, str, str], int]  # (period, municipality, sector, level)


# --------------------------------------------------------------------------- tables


def table(
    interior: Interior,
    municipalities: list[str],
    sectors: list[str],
    levels: list[str],
    periods: Mapping[str, list[str]],
    *,
    flow: bool,
) -> dict[CellKey, int]:
    """The full grid with every margin. ``interior`` holds counts per base period
    (a month); a flow adds up the months of a period, a stock is the count at the
    end of the period (its last month). Absent interior cells are zero."""
    values: dict[CellKey, int] = {}
    for period, months in periods.items():
        if not flow:
            months = [months[-1]]
        for m in [*municipalities, ALL]:
            for s in [*sectors, ALL]:
                for lv in [*levels, ALL]:
                    values[CellKey(period, m, s, lv)] = sum(
                        interior.get((mo, mm, ss, ll), 0)
                        for mo in months
                        for mm in (municipalities if m == ALL else [m])
                        for ss in (sectors if s == ALL else [s])
                        for ll in (levels if lv == ALL else [lv])
                    )
    return values


def random_interior(
    rng: random.Random, municipalities: list[str], share_nonzero: float
) -> dict[tuple[str, str, str, str], int]:
    """Sparse monthly counts: most cells 0, the rest mostly small."""
    return {
        (mo, m, s, lv): rng.choice((1, 1, 1, 2, 2, 3, 4, 6, 9))
        for mo in MONTHS
        for m in municipalities
        for s in SECTORS
        for lv in LEVELS
        if rng.random() < share_nonzero
    }


# --------------------------------------------------------------------------- the attack


def attack(
    values: Mapping[CellKey, int], relations: Iterable[Relation], hidden: Iterable[CellKey]
) -> dict[CellKey, Fraction]:
    """Everything an attacker can work out exactly: the hidden cells whose value the
    published cells and the relations determine, with that value.

    Unknowns are the hidden cells. Each relation total - sum(parts) = 0 becomes, after
    putting in the published values, an equation over the unknowns. Gauss-Jordan
    elimination over the rationals; an unknown is determined iff a fully reduced
    equation has it as its only unknown."""
    names = sorted(set(hidden))
    unknown = {k: i for i, k in enumerate(names)}
    pivots: dict[int, tuple[dict[int, Fraction], Fraction]] = {}  # pivot -> (row, rhs)
    holding: dict[int, set[int]] = {}  # unknown -> the pivots whose rows hold it
    for rel in relations:
        coefs: dict[int, int] = {}
        rhs = Fraction(0)
        for cell, coef in [(rel.total, 1), *[(p, -1) for p in rel.parts]]:
            if cell in unknown:
                coefs[unknown[cell]] = coefs.get(unknown[cell], 0) + coef
            else:
                rhs -= coef * values[cell]
        row = {c: Fraction(v) for c, v in coefs.items() if v}
        for col in [c for c in row if c in pivots]:  # reduce by the pivots so far
            if col in row:
                prow, prhs = pivots[col]
                f = row[col]
                for c, v in prow.items():
                    nv = row.get(c, 0) - f * v
                    if nv:
                        row[c] = nv
                    else:
                        row.pop(c, None)
                rhs -= f * prhs
        if not row:
            assert rhs == 0, "the relations must hold for the true values"
            continue
        col = min(row, key=lambda c: (len(holding.get(c, ())), c))  # least work
        inv = 1 / row[col]
        row = {c: v * inv for c, v in row.items()}
        rhs *= inv
        for pc in list(holding.get(col, ())):  # clear the new pivot from the others
            prow, prhs = pivots[pc]
            f = prow[col]
            for c, v in row.items():
                nv = prow.get(c, 0) - f * v
                if nv:
                    if c not in prow:
                        holding.setdefault(c, set()).add(pc)
                    prow[c] = nv
                else:
                    prow.pop(c, None)
                    holding[c].discard(pc)
            pivots[pc] = (prow, prhs - f * rhs)
        pivots[col] = (row, rhs)
        for c in row:
            holding.setdefault(c, set()).add(col)
    return {names[col]: rhs for col, (row, rhs) in pivots.items() if len(row) == 1}


def primary_only(values: Mapping[CellKey, int], policy: Policy = Policy()) -> set[CellKey]:
    return {k for k, v in values.items() if 1 <= v < policy.threshold}


def assert_safe(
    values: Mapping[CellKey, int], relations: list[Relation], policy: Policy = Policy()
) -> frozenset[CellKey]:
    hidden = suppress(values, relations, policy)
    assert primary_only(values, policy) <= hidden, "every small count is hidden"
    found = attack(values, relations, hidden)
    assert not found, f"{len(found)} hidden cells can be worked out, e.g. {min(found)}"
    return hidden


# --------------------------------------------------------------------------- primary


def test_a_count_of_one_to_four_children_is_never_published() -> None:
    interior = {(YEAR, "4225", s, "1"): n for s, n in zip(SECTORS, [1, 2, 3, 4, 5, 6, 9, 12])}
    values = table(interior, ["4225"], SECTORS, LEVELS, {YEAR: [YEAR]}, flow=False)
    hidden = suppress(values, grid_relations(values, additive_over_time=False), Policy())
    assert {k for k, v in values.items() if 1 <= v <= 4} <= hidden
    assert all(values[k] not in (1, 2, 3, 4) for k in values.keys() - hidden)


def test_zero_is_published() -> None:
    interior = {(YEAR, "4225", "skole", "1"): 7, (YEAR, "4225", "ppt", "2"): 12}
    values = table(interior, ["4225"], SECTORS, LEVELS, {YEAR: [YEAR]}, flow=False)
    hidden = suppress(values, grid_relations(values, additive_over_time=False), Policy())
    assert hidden == frozenset()
    assert sum(1 for v in values.values() if v == 0) > 0


def test_the_threshold_is_configurable() -> None:
    interior = {(YEAR, "4225", s, "1"): n for s, n in zip(SECTORS, [3, 4, 5, 9, 10, 11, 20])}
    values = table(interior, ["4225"], SECTORS, LEVELS, {YEAR: [YEAR]}, flow=False)
    relations = grid_relations(values, additive_over_time=False)
    strict = suppress(values, relations, Policy(threshold=10))
    assert {k for k, v in values.items() if 1 <= v <= 9} <= strict
    lenient = assert_safe(values, relations, Policy(threshold=3))
    assert any(values[k] in (3, 4) for k in values.keys() - lenient), "3 and 4 may be shown"
    assert len(lenient) < len(strict)


@pytest.mark.parametrize("threshold", [2, 1, 0, -5])
def test_the_threshold_is_never_below_three(threshold: int) -> None:
    with pytest.raises(ValueError, match="at least 3"):
        Policy(threshold=threshold)


def test_a_threshold_of_three_is_the_lowest_allowed() -> None:
    assert Policy(threshold=3).threshold == 3


# --------------------------------------------------------------------------- means


def test_means_are_published_only_over_five_or_more_answers() -> None:
    policy = Policy()
    assert mean_or_none(16.0, 4, policy) is None
    assert mean_or_none(0.0, 0, policy) is None
    assert mean_or_none(20.0, 5, policy) == 4.0
    assert mean_or_none(35.0, 10, policy) == 3.5


def test_the_answer_floor_for_means_is_configurable_but_not_below_three() -> None:
    assert mean_or_none(9.0, 3, Policy(min_answers_for_mean=3)) == 3.0
    with pytest.raises(ValueError):
        Policy(min_answers_for_mean=2)


# --------------------------------------------------------------------------- tempting tables


def test_all_sectors_minus_the_other_sectors_does_not_reveal_one_child() -> None:
    # one child at PPT in 4225; every other sector has plenty
    interior = {(YEAR, "4225", s, "1"): 20 + i for i, s in enumerate(SECTORS) if s != "ppt"}
    interior[(YEAR, "4225", "ppt", "1")] = 1
    values = table(interior, ["4225"], SECTORS, LEVELS, {YEAR: [YEAR]}, flow=False)
    relations = grid_relations(values, additive_over_time=False)
    ppt = CellKey(YEAR, "4225", "ppt", "1")
    assert attack(values, relations, primary_only(values))[ppt] == 1, "the naive table leaks"
    hidden = assert_safe(values, relations)
    assert ppt in hidden


def test_a_year_minus_three_quarters_does_not_reveal_a_quarter() -> None:
    # one child in skole, level 2, in January only; many children in the other quarters
    interior = {(mo, "4225", "skole", "2"): 9 for mo in MONTHS[3:]}
    interior[(MONTHS[0], "4225", "skole", "2")] = 1
    for mo in MONTHS:
        interior[(mo, "4225", "barnehage", "2")] = 8
    values = table(interior, ["4225"], SECTORS, LEVELS, PERIODS, flow=True)
    relations = grid_relations(values, additive_over_time=True)
    q1 = CellKey(f"{YEAR}-Q1", "4225", "skole", "2")
    assert values[q1] == 1
    assert q1 in attack(values, relations, primary_only(values)), "the naive table leaks"
    hidden = assert_safe(values, relations)
    assert q1 in hidden


def test_a_child_moving_between_quarters_is_not_revealed() -> None:
    # the child is counted in Q1 at level 1 and in Q2 at level 2 (flows: during the period)
    interior = {(mo, m, "skole", lv): 6 for mo in MONTHS for m in ("4201", "4225") for lv in LEVELS}
    interior[(MONTHS[1], "4225", "bup", "1")] = 1
    interior[(MONTHS[4], "4225", "bup", "2")] = 1
    values = table(interior, ["4201", "4225"], SECTORS, LEVELS, PERIODS, flow=True)
    relations = grid_relations(values, additive_over_time=True)
    assert attack(values, relations, primary_only(values)), "the naive table leaks"
    assert_safe(values, relations)


def test_a_municipality_with_a_single_small_cell_is_not_revealed() -> None:
    municipalities = ["4201", "4202", "4225"]
    interior = {
        (YEAR, m, s, lv): 5 + (i + j) % 7
        for m in ("4201", "4202")
        for i, s in enumerate(SECTORS)
        for j, lv in enumerate(LEVELS)
    }
    interior[(YEAR, "4225", "barnevern", "3")] = 2  # nothing else in 4225
    values = table(interior, municipalities, SECTORS, LEVELS, {YEAR: [YEAR]}, flow=False)
    relations = grid_relations(values, additive_over_time=False)
    assert attack(values, relations, primary_only(values)), "the naive table leaks"
    hidden = assert_safe(values, relations)
    assert CellKey(YEAR, "4225", ALL, ALL) in hidden  # the municipality total is 2 too


def test_a_sector_with_one_small_count_is_not_revealed_by_its_totals() -> None:
    # skole has 4 children, all at level 0 in 4225: every skole total is 4 too, among
    # published zeros; the other sectors' published counts must not give them away
    interior = {(YEAR, m, s, lv): 7 for m in ("4201", "4225") for s in SECTORS[:5] for lv in LEVELS}
    interior[(YEAR, "4225", "skole", "0")] = 4
    values = table(interior, ["4201", "4225"], SECTORS, LEVELS, {YEAR: [YEAR]}, flow=False)
    relations = grid_relations(values, additive_over_time=False)
    assert attack(values, relations, primary_only(values)), "the naive table leaks"
    hidden = assert_safe(values, relations)
    assert CellKey(YEAR, ALL, "skole", ALL) in hidden


def test_the_attack_solver_finds_what_differencing_finds() -> None:
    # the solver is the referee, so check it on a leak worked out by hand:
    # 4225/all = 30 published, 4225/skole = 27 published, 4225/ppt = 3 hidden
    a, b, total = (CellKey(YEAR, "4225", s, ALL) for s in ("ppt", "skole", ALL))
    values = {a: 3, b: 27, total: 30}
    relation = Relation(total, (a, b))
    assert attack(values, [relation], {a}) == {a: 3}
    assert attack(values, [relation], {a, b}) == {}
    assert attack(values, [relation], {a, b, total}) == {}


# --------------------------------------------------------------------------- randomized


MUNICIPALITIES = ["4201", "4202", "4203", "4225"]


def random_table(
    seed: int, municipalities: int, share_nonzero: float, *, flow: bool
) -> tuple[dict[CellKey, int], list[Relation]]:
    """A year of a realistic, sparse indicator: municipalities x 10 sectors x 4
    levels x 19 periods, margins included (5225 cells with 4 municipalities)."""
    munis = MUNICIPALITIES[:municipalities]
    interior = random_interior(random.Random(seed), munis, share_nonzero)
    values = table(interior, munis, SECTORS, LEVELS, PERIODS, flow=flow)
    return values, grid_relations(values, additive_over_time=flow)


@pytest.mark.parametrize(
    ("seed", "municipalities", "share_nonzero", "threshold"),
    [
        (1, 3, 0.15, 5),
        (2, 4, 0.08, 5),
        (3, 4, 0.3, 5),
        (4, 4, 0.15, 3),
        (5, 3, 0.4, 10),
    ],
)
def test_random_sparse_stock_tables_leak_nothing(
    seed: int, municipalities: int, share_nonzero: float, threshold: int
) -> None:
    values, relations = random_table(seed, municipalities, share_nonzero, flow=False)
    policy = Policy(threshold=threshold)
    assert attack(values, relations, primary_only(values, policy)), "the naive table leaks"
    hidden = assert_safe(values, relations, policy)
    assert all(values[k] > 0 for k in hidden), "no zero is hidden"


@pytest.mark.parametrize(
    ("seed", "municipalities", "share_nonzero", "threshold"),
    [
        (11, 3, 0.1, 5),
        (12, 4, 0.05, 5),
        (13, 4, 0.2, 5),
        (14, 3, 0.05, 3),
        (15, 4, 0.12, 3),
        (16, 4, 0.3, 10),
    ],
)
def test_random_sparse_flow_tables_leak_nothing(
    seed: int, municipalities: int, share_nonzero: float, threshold: int
) -> None:
    values, relations = random_table(seed, municipalities, share_nonzero, flow=True)
    policy = Policy(threshold=threshold)
    assert attack(values, relations, primary_only(values, policy)), "the naive table leaks"
    hidden = assert_safe(values, relations, policy)
    assert all(values[k] > 0 for k in hidden), "no zero is hidden"
    assert derivable(relations, hidden) == frozenset()


def test_the_audit_flags_what_the_attack_finds() -> None:
    values, relations = random_table(21, 2, 0.1, flow=True)
    naive = primary_only(values)
    assert derivable(relations, naive) == frozenset(attack(values, relations, naive))
    rng = random.Random(22)
    for _ in range(5):  # any pattern, zeros included
        cells = {k for k in values if rng.random() < 0.3}
        assert derivable(relations, cells) == frozenset(attack(values, relations, cells))


def test_small_tables_of_every_shape_leak_nothing() -> None:
    # one to four municipalities, one to five sectors, one to four levels, a whole or
    # half a year, stocks and flows, thresholds 3 to 10
    first_half = {*MONTHS[:6], f"{YEAR}-Q1", f"{YEAR}-Q2", f"{YEAR}-H1"}
    half_year = {p: m for p, m in PERIODS.items() if p in first_half}
    for seed in range(40):
        rng = random.Random(1000 + seed)
        munis = MUNICIPALITIES[: rng.randint(1, 4)]
        sectors = SECTORS[: rng.randint(1, 5)]
        levels = LEVELS[: rng.randint(1, 4)]
        flow = rng.random() < 0.5
        share = rng.choice([0.05, 0.1, 0.2, 0.4, 0.7])
        interior = {
            (mo, m, s, lv): rng.choice((1, 1, 2, 3, 4, 5, 7, 12))
            for mo in MONTHS
            for m in munis
            for s in sectors
            for lv in levels
            if rng.random() < share
        }
        periods = PERIODS if rng.random() < 0.5 else half_year
        values = table(interior, munis, sectors, levels, periods, flow=flow)
        policy = Policy(threshold=rng.choice([3, 5, 5, 10]))
        hidden = assert_safe(values, grid_relations(values, additive_over_time=flow), policy)
        assert all(values[k] > 0 for k in hidden), "no zero is hidden"


# --------------------------------------------------------------------------- determinism


def test_the_same_table_always_gets_the_same_cells_hidden() -> None:
    values, relations = random_table(5, 3, 0.1, flow=True)
    first = suppress(values, relations, Policy())

    items = list(values.items())
    random.Random(99).shuffle(items)
    shuffled_values = dict(items)
    shuffled_relations = [Relation(r.total, tuple(reversed(r.parts))) for r in relations]
    random.Random(98).shuffle(shuffled_relations)

    assert suppress(values, relations, Policy()) == first
    assert suppress(shuffled_values, shuffled_relations, Policy()) == first
    assert grid_relations(shuffled_values, additive_over_time=True) == relations


def pattern(hidden: Iterable[CellKey], period: str) -> set[tuple[str, str, str]]:
    return {(k.municipality, k.sector, k.level) for k in hidden if k.period == period}


def data(values: Mapping[CellKey, int], period: str) -> set[tuple[str, str, str, int]]:
    return {(k.municipality, k.sector, k.level, v) for k, v in values.items() if k.period == period}


def test_identical_periods_get_the_same_pattern() -> None:
    # a stock at the end of 2026-03 and at the end of 2026-Q1 is the same data
    values, relations = random_table(8, 3, 0.12, flow=False)
    hidden = assert_safe(values, relations)
    for a, b in [(f"{YEAR}-03", f"{YEAR}-Q1"), (f"{YEAR}-12", f"{YEAR}-Q4"), (f"{YEAR}-Q4", YEAR)]:
        assert data(values, a) == data(values, b)
        assert pattern(hidden, a) == pattern(hidden, b)
        assert pattern(hidden, a), "the example is not trivial"


def test_a_period_asked_for_alone_gets_the_pattern_it_has_in_the_whole_table() -> None:
    values, relations = random_table(9, 4, 0.12, flow=False)
    whole = suppress(values, relations, Policy())
    march = {k: v for k, v in values.items() if k.period == f"{YEAR}-03"}
    alone = suppress(march, grid_relations(march, additive_over_time=False), Policy())
    assert alone == {k for k in whole if k.period == f"{YEAR}-03"}


def test_identical_years_of_a_flow_get_the_same_pattern() -> None:
    values, _ = random_table(10, 3, 0.1, flow=True)
    last_year = {CellKey("2025" + k.period[4:], *tuple(k)[1:]): v for k, v in values.items()}
    both = {**values, **last_year}
    hidden = assert_safe(both, grid_relations(both, additive_over_time=True))
    for period in PERIODS:
        assert pattern(hidden, period) == pattern(hidden, "2025" + period[4:])
    assert pattern(hidden, YEAR)


# --------------------------------------------------------------------------- no over-suppression


def test_a_table_of_large_counts_is_published_whole() -> None:
    rng = random.Random(3)
    munis = ["4201", "4225"]
    interior = {
        (mo, m, s, lv): rng.randint(5, 30)
        for mo in MONTHS
        for m in munis
        for s in SECTORS
        for lv in LEVELS
    }
    for flow in (False, True):
        values = table(interior, munis, SECTORS, LEVELS, PERIODS, flow=flow)
        relations = grid_relations(values, additive_over_time=flow)
        assert suppress(values, relations, Policy()) == frozenset()


def test_secondary_suppression_hides_few_cells_for_one_small_count() -> None:
    # one small count in a table of large ones: a rectangle of four cells is enough
    interior = {(YEAR, m, s, "1"): 20 for m in ("4201", "4225") for s in SECTORS}
    interior[(YEAR, "4225", "ppt", "1")] = 2
    values = table(interior, ["4201", "4225"], SECTORS, ["1"], {YEAR: [YEAR]}, flow=False)
    hidden = assert_safe(values, grid_relations(values, additive_over_time=False))
    assert len(hidden) <= 8


# --------------------------------------------------------------------------- relations


def test_stocks_only_add_up_along_the_dimensions_and_flows_along_time_too() -> None:
    values = table({}, ["4225"], ["skole"], ["1"], PERIODS, flow=True)
    stock = grid_relations(values, additive_over_time=False)
    flow = grid_relations(values, additive_over_time=True)
    key = lambda period: CellKey(period, "4225", "skole", "1")  # noqa: E731
    assert Relation(key(YEAR), (key(f"{YEAR}-H1"), key(f"{YEAR}-H2"))) in flow
    assert Relation(key(f"{YEAR}-H2"), (key(f"{YEAR}-Q3"), key(f"{YEAR}-Q4"))) in flow
    assert Relation(key(f"{YEAR}-Q1"), tuple(key(m) for m in MONTHS[:3])) in flow
    assert all(len({p.period for p in (r.total, *r.parts)}) == 1 for r in stock)
    assert set(stock) < set(flow)
    sector_margin = Relation(CellKey(YEAR, "4225", ALL, "1"), (key(YEAR),))
    assert sector_margin in stock


def test_a_missing_period_level_is_bridged_by_the_periods_below_it() -> None:
    # no half-years in the table: the year adds up from the quarters
    periods = {p: months for p, months in PERIODS.items() if "-H" not in p}
    values = table({}, ["4225"], ["skole"], ["1"], periods, flow=True)
    key = lambda period: CellKey(period, "4225", "skole", "1")  # noqa: E731
    year = Relation(key(YEAR), tuple(key(f"{YEAR}-Q{q}") for q in range(1, 5)))
    assert year in grid_relations(values, additive_over_time=True)


def test_unknown_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="period"):
        grid_relations([CellKey("2026-W12", ALL, ALL, ALL)], additive_over_time=True)


def test_a_table_that_does_not_add_up_is_refused() -> None:
    a, b, total = (CellKey(YEAR, "4225", s, ALL) for s in ("ppt", "skole", ALL))
    with pytest.raises(ValueError, match="does not hold"):
        suppress({a: 3, b: 27, total: 31}, [Relation(total, (a, b))], Policy())
    with pytest.raises(ValueError, match="negative"):
        suppress({a: -1, b: 1, total: 0}, [Relation(total, (a, b))], Policy())
    with pytest.raises(ValueError, match="no value"):
        suppress({a: 3, total: 3}, [Relation(total, (a, b))], Policy())
