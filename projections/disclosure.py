"""Disclosure control for published counts: which cells of a table to hide.

Pure and deterministic: the same table and relations always give the same hidden
cells, whatever order the caller built them in. Standard library only.

The policy (bti-domain.md section 4):

* **Primary suppression.** A count of 1 .. threshold-1 distinct children is hidden
  (default threshold 5, never below 3). Zero is published.
* **Secondary suppression.** Further cells are hidden until no hidden value can be
  derived by adding or subtracting published cells and the table's relations
  (a total equals the sum of its parts, along every dimension, and for flows a
  year equals its halves, a half its quarters, a quarter its months).
* **Means** only over ``min_answers_for_mean`` answers or more.

The criterion
-------------
Each relation ``total = sum(parts)`` is a row ``total - sum(parts) = 0``. Substitute
the published values: what is left is a linear system over the hidden cells. A hidden
cell ``h`` can be worked out exactly iff the unit vector ``e_h`` is in the row space of
that system restricted to the hidden cells, i.e. iff some combination of relations
touches ``h`` and published cells only. Equivalently, ``h`` is safe iff some change
of the hidden cells alone keeps every relation true and changes ``h``.

The algorithm
-------------
Each connected part of the relation system (a year of a flow, a period of a stock)
is solved on its own, so identical parts get identical patterns.

1. *Primary*: hide every count 1 .. threshold-1.
2. *Fast pass*: while a relation has exactly one hidden cell (which it gives away
   directly: all sectors minus the others), hide one more of its cells.
   Necessary, not sufficient.
3. *Exact pass*: Gaussian elimination over GF(p), p = 2**61 - 1, in sparse rows
   (dicts ``column -> coefficient``) holding published columns only:

   * *rest* rows: combinations of relations that touch no hidden cell;
   * *exposed* rows: ``a * h + (published cells)``, one per hidden cell ``h`` that
     can be derived (the row is the derivation).

   Hiding a cell ``c``: if some rest row touches ``c``, ``c`` itself can be derived:
   the sparsest such row becomes its exposed row and ``c`` is eliminated from every
   other row. Otherwise ``c`` is a free column of the hidden system: every exposed
   row through ``c`` now holds two hidden cells, so those cells are safe for good
   (hiding more cells only widens the set of tables that agree with what is
   published) and their rows are dropped. This is the fully reduced elimination of
   the hidden-cell system, one column at a time: the derivable cells are exactly
   the exposed rows, at every moment, never recomputed from scratch.

   The cells of steps 1-2 are hidden first; then, while a cell is exposed (lowest
   ``CellKey`` first), one published cell of its derivation is hidden, chosen by
   the rule below. Two things keep a year of a flow fast: relations that follow
   from the others are dropped before anything else (a table with margins states
   most sums several times over), and derivation rows are never rewritten: each is
   kept as the row it was made from plus the multiples of later pivot rows,
   computed column-wise for all of them at once.

Zeros are published and never hidden. They never need to be: a derivation adds up
the published cells in it to a non-zero hidden count, so one of them is non-zero.
(They are left out of the elimination altogether.) Complementary cells are chosen
by a fixed rule, in this order of preference:

1. a cell whose hiding protects at once (it cannot be derived itself);
2. a cell that is less of a total (fewer "all" coordinates, finer period);
3. a cell in fewer rest rows (closer to protecting at once);
4. a cell in more derivations (protects other exposed cells too; counted on the
   derivations as first found);
5. the smallest value, then the lowest ``CellKey``.

The fast pass uses the same spirit: the least of a total, then the cell in most
relations that give a cell away, then the smallest value, then the lowest key.
This always ends: each step hides one more cell, and with every non-zero cell
hidden nothing non-zero can be derived.

What this protects and what it does not
---------------------------------------
Protected: exact derivation of any hidden cell by linear combinations of published
cells and the given relations (differencing totals, a year minus its quarters, any
chain of these).

Not protected (callers and reviewers must know):

* interval bounds from non-negativity (e.g. ``h + c = 6`` with both hidden tells
  ``0 <= h <= 6``). Complements are never zeros, so a complement is at least
  ``threshold``, but the width of the feasible interval is not checked;
* insiders who know some of the children (the "singleton" problem: a worker who
  knows one child of a two-cell pair learns the other);
* relations the caller does not pass, e.g. between indicators (coordinator <=
  holder), or between patterns computed on different slices or at different times
  (a growing year): compute the pattern once over the full grid and slice it for
  every request;
* over GF(p) instead of the rationals, a derivation over Q is missed only if p
  divides the relevant minors, which for these +-1 sum relations does not happen
  in practice (the test suite cross-checks with exact fractions).
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple

__all__ = [
    "ALL",
    "CellKey",
    "Level",
    "Policy",
    "Relation",
    "derivable",
    "grid_relations",
    "mean_or_none",
    "suppress",
]

Level = int | Literal["all"]

ALL = "all"

#: The prime of the field the elimination runs in (a Mersenne prime).
P = (1 << 61) - 1

MIN_THRESHOLD = 3


class CellKey(NamedTuple):
    """One cell of a published table. Strings everywhere, so keys sort (as tuples:
    hashing and comparing them is most of the work of a large system)."""

    period: str  # "2026", "2026-H1", "2026-Q3", "2026-03"
    municipality: str  # "4225" or "all"
    sector: str  # "skole" ... or "all"
    level: str  # "0".."3" or "all"
    indicator: str = ""  # which table, when several tables are protected as one system


@dataclass(frozen=True)
class Relation:
    """``value(total) == sum(value(p) for p in parts) - sum(value(m) for m in minus)``;
    all integer counts. ``minus`` is for balances: a stock at the end of a month is
    the stock before plus what came in minus what went out."""

    total: CellKey
    parts: tuple[CellKey, ...]
    minus: tuple[CellKey, ...] = ()

    @property
    def members(self) -> tuple[CellKey, ...]:
        return (self.total, *self.parts, *self.minus)

    def holds(self, values: Mapping[CellKey, int]) -> bool:
        return values[self.total] == sum(values[p] for p in self.parts) - sum(
            values[m] for m in self.minus
        )


@dataclass(frozen=True)
class Policy:
    """Counts 1 .. threshold-1 are hidden; means need min_answers_for_mean answers."""

    threshold: int = 5
    min_answers_for_mean: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int):
            raise ValueError("threshold must be an integer")
        if self.threshold < MIN_THRESHOLD:
            raise ValueError(
                f"threshold must be at least {MIN_THRESHOLD} (got {self.threshold}): "
                "counts of 1 or 2 children can point at a family"
            )
        if isinstance(self.min_answers_for_mean, bool) or not isinstance(
            self.min_answers_for_mean, int
        ):
            raise ValueError("min_answers_for_mean must be an integer")
        if self.min_answers_for_mean < MIN_THRESHOLD:
            raise ValueError(
                f"min_answers_for_mean must be at least {MIN_THRESHOLD} "
                f"(got {self.min_answers_for_mean}): a mean of one or two answers reveals them"
            )


def mean_or_none(total: float, answers: int, policy: Policy) -> float | None:
    """The mean ``total / answers``, or None when there are too few answers to publish it."""
    if answers < 0:
        raise ValueError("answers must not be negative")
    if answers < policy.min_answers_for_mean:
        return None
    return total / answers


# --------------------------------------------------------------------------- periods

_YEAR = re.compile(r"^(\d{4})$")
_HALF = re.compile(r"^(\d{4})-H([12])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_RANGE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])\.\.\d{4}-(0[1-9]|1[0-2])$")


def _period_children(period: str) -> tuple[int, list[str]]:
    """(granularity, direct sub-periods): month 0, quarter 1, half 2, year 3."""
    if _MONTH.match(period):
        return 0, []
    if m := _QUARTER.match(period):
        y, q = m.group(1), int(m.group(2))
        return 1, [f"{y}-{month:02d}" for month in range(3 * q - 2, 3 * q + 1)]
    if m := _HALF.match(period):
        y, h = m.group(1), int(m.group(2))
        return 2, [f"{y}-Q{q}" for q in (2 * h - 1, 2 * h)]
    if m := _YEAR.match(period):
        y = m.group(1)
        return 3, [f"{y}-H1", f"{y}-H2"]
    if _RANGE.match(period):  # months so far of a period still running (never published)
        return 2, []
    raise ValueError(f"period {period!r} is not YYYY, YYYY-Hn, YYYY-Qn or YYYY-MM")


def _granularity(period: str) -> int:
    return _period_children(period)[0]


# --------------------------------------------------------------------------- relations


def grid_relations(keys: Iterable[CellKey], *, additive_over_time: bool) -> list[Relation]:
    """The relations of a table with margins, sorted.

    Margins: for every period and every combination of the other two dimensions'
    values (their "all" included), the "all" cell of each of municipality, sector
    and level equals the sum over that dimension's other values present in ``keys``.

    Time, only if ``additive_over_time`` (flows, "during the period"): for every
    (municipality, sector, level), year = H1 + H2, H1 = Q1 + Q2, H2 = Q3 + Q4 and
    each quarter = its three months. A sub-period that is absent is replaced by its
    own sub-periods when they are all present; a relation whose parts cannot be
    covered is left out. Stocks ("at the end of the period") get no time relations.

    ``keys`` should be the full grid, zeros included: a cell that is absent is
    taken as structurally empty. A margin with no parts present gives no relation.
    """
    by_table: dict[str, set[CellKey]] = {}
    for k in keys:
        _period_children(k.period)  # validates the period
        by_table.setdefault(k.indicator, set()).add(k)
    relations: set[Relation] = set()
    for key_set in by_table.values():
        _table_relations(key_set, additive_over_time, relations)
    return sorted(relations, key=lambda r: (r.total, r.parts, r.minus))


def _table_relations(
    key_set: set[CellKey], additive_over_time: bool, relations: set[Relation]
) -> None:
    """The relations of one table (one indicator) of ``grid_relations``."""
    table = next(iter(key_set)).indicator

    dims = ("municipality", "sector", "level")
    domains = {d: sorted({getattr(k, d) for k in key_set}) for d in dims}
    periods = sorted({k.period for k in key_set})

    for period in periods:
        for d in dims:
            others = [o for o in dims if o != d]
            values = [v for v in domains[d] if v != ALL]
            for a, b in itertools.product(domains[others[0]], domains[others[1]]):
                base = {"period": period, others[0]: a, others[1]: b, "indicator": table}
                total = CellKey(**base, **{d: ALL})
                if total not in key_set:
                    continue
                parts = tuple(
                    k for v in values if (k := CellKey(**base, **{d: v})) in key_set
                )
                if parts:
                    relations.add(Relation(total, parts))

    if additive_over_time:
        present = {k.period for k in key_set}
        coords = sorted({(k.municipality, k.sector, k.level) for k in key_set})  # one table
        for period in periods:
            _, children = _period_children(period)
            if not children:
                continue
            cover: list[str] = []
            for child in children:
                sub = _cover(child, present)
                if sub is None:
                    break
                cover.extend(sub)
            else:
                for m, s, lv in coords:
                    total = CellKey(period, m, s, lv, table)
                    if total not in key_set:
                        continue
                    parts = tuple(CellKey(p, m, s, lv, table) for p in cover)
                    if all(p in key_set for p in parts):
                        relations.add(Relation(total, parts))


def _cover(period: str, present: set[str]) -> list[str] | None:
    """Present periods that exactly partition ``period`` (itself if present)."""
    if period in present:
        return [period]
    _, children = _period_children(period)
    if not children:
        return None
    out: list[str] = []
    for child in children:
        sub = _cover(child, present)
        if sub is None:
            return None
        out.extend(sub)
    return out


# --------------------------------------------------------------------------- engine

_REST = -1
_GONE = -2


def _subtract(
    row: dict[int, int], f: int, items0: Sequence[tuple[int, int]]
) -> tuple[list[int], list[int]]:
    """``row -= f * row0`` in place over GF(P); the columns that appear and vanish."""
    appeared: list[int] = []
    vanished: list[int] = []
    get = row.get
    for col, v in items0:
        old = get(col)
        if old is None:  # fill-in; never zero: f, v != 0 mod a prime
            row[col] = -f * v % P
            appeared.append(col)
        else:
            new = (old - f * v) % P
            if new:
                row[col] = new
            else:
                del row[col]
                vanished.append(col)
    return appeared, vanished


class _Engine:
    """The hidden-cell system, reduced one hidden column at a time over GF(P).

    Rest rows (combinations of relations that touch no hidden cell) are kept
    reduced in place. A derivation row is never rewritten: it is kept as its base
    (the rest row it was made from) and the eliminations after it, so that the
    current row of an exposed cell h is

        R_h = base_h - sum over later ops k of lambda_k(h) * q_k

    where op k hid c_k through the rest row a_k * c_k + q_k, and lambda_k(h) =
    (R_h before op k)[c_k] / a_k, computed for all derivations at once, column-wise,
    when op k happens. (Rewriting every derivation at every step, the plain way,
    costs far more: most hidden cells of a sparse table are exposed at some point,
    with long derivations.)
    """

    def __init__(
        self,
        n_cells: int,
        relations: Sequence[Sequence[tuple[int, int]]],
        columns: Sequence[int],
        protect: Sequence[int] | None = None,
    ) -> None:
        """``columns[c]`` false: cell c stays published whatever happens, so it is
        substituted by its value at once (left out of the rows). Which cells can be
        derived does not depend on published cells at all; they are kept only as
        candidates to hide. ``protect[c]`` false: c may be hidden but need not be
        protected (an unpublished quantity the relations need, like the handovers
        out of a sector), so it never asks for a complement."""
        self.protect = protect
        self.hidden = bytearray(n_cells)
        self.rows: list[dict[int, int] | None] = []
        self.kind: list[int] = []  # _REST, _GONE, or the exposed cell it derives
        self.col_rest: list[set[int]] = [set() for _ in range(n_cells)]
        self.col_exp: list[set[int]] = [set() for _ in range(n_cells)]  # base rows
        self.exposed_row: dict[int, int] = {}  # exposed cell -> its base row
        self.heap: list[int] = []  # exposed cells (lazily cleaned)
        self.op_q: list[dict[int, int]] = []  # op k: q_k
        self.op_lam: list[dict[int, int]] = []  # op k: h -> lambda_k(h), for live h
        self.qcol: dict[int, list[tuple[int, int]]] = {}  # column x -> [(k, q_k[x])]
        self.lam_ops: dict[int, list[int]] = {}  # h -> the ops k with lambda_k(h) != 0
        for relation in relations:
            row = {c: v % P for c, v in relation if v % P and columns[c]}
            if row:
                self._add_rest(row)
        self._keep_a_basis()

    def _add_rest(self, row: dict[int, int]) -> None:
        r = len(self.rows)
        self.rows.append(row)
        self.kind.append(_REST)
        for c in row:
            self.col_rest[c].add(r)

    def _drop(self, r: int) -> None:
        row = self.rows[r]
        assert row is not None
        h = self.kind[r]
        index = self.col_rest if h == _REST else self.col_exp
        for c in row:
            index[c].discard(r)
        if h >= 0:
            del self.exposed_row[h]
            for k in self.lam_ops.pop(h, ()):
                del self.op_lam[k][h]
        self.kind[r] = _GONE
        self.rows[r] = None

    def _keep_a_basis(self) -> None:
        """Drop the relations that are combinations of the others (a table with
        margins states most sums several times over): dead weight that every
        elimination would otherwise update. Found by eliminating copies, columns in
        fewest rows first; the rows that serve as pivots are a basis, and they are
        kept as they are."""
        rows = {r: dict(row) for r, row in enumerate(self.rows) if row is not None}
        col_rows: dict[int, set[int]] = {}
        for r, row in rows.items():
            for col in row:
                col_rows.setdefault(col, set()).add(r)
        heap = [(len(rs), col) for col, rs in col_rows.items()]
        heapq.heapify(heap)
        pivots: set[int] = set()
        while heap:
            n, col = heapq.heappop(heap)
            cand = col_rows.pop(col, None)
            if cand is None:  # done already
                continue
            if len(cand) != n:  # stale entry: try again with the current count
                col_rows[col] = cand
                heapq.heappush(heap, (len(cand), col))
                continue
            if not cand:
                continue
            r0 = min(cand, key=lambda r: (len(rows[r]), r))
            row0 = rows.pop(r0)
            pivots.add(r0)
            for c2 in row0:
                if c2 != col:
                    col_rows[c2].discard(r0)
            inv = pow(row0[col], P - 2, P)
            items0 = [(c2, v) for c2, v in row0.items() if c2 != col]
            for r in sorted(cand - {r0}):
                row = rows[r]
                appeared, vanished = _subtract(row, row.pop(col) * inv % P, items0)
                for c2 in appeared:
                    col_rows[c2].add(r)
                for c2 in vanished:
                    col_rows[c2].discard(r)
                if not row:  # a combination of the pivots so far
                    del rows[r]
        for r, row in enumerate(self.rows):
            if row is not None and r not in pivots:
                self._drop(r)

    def hide(self, c: int) -> None:
        if self.hidden[c]:
            return
        self.hidden[c] = 1
        rest = self.col_rest[c]
        if not rest:
            # c is a free column: every derivation through c now has two hidden
            # cells in it, for good; those cells are safe.
            for r in sorted(self.exposed_row[h] for h in self.column(c)):
                self._drop(r)
            return
        # c can be derived: the sparsest rest row through c becomes its derivation,
        # and c is eliminated from the other rest rows.
        r0 = min(rest, key=lambda r: (len(self.rows[r]), r))  # type: ignore[arg-type]
        row0 = self.rows[r0]
        assert row0 is not None
        inv = pow(row0[c], P - 2, P)
        k = len(self.op_q)
        lam = {h: v * inv % P for h, v in self.column(c).items()}
        self.op_lam.append(lam)
        for h in lam:
            self.lam_ops.setdefault(h, []).append(k)
        items0 = list(row0.items())
        for r in sorted(rest - {r0}):
            row = self.rows[r]
            assert row is not None
            appeared, vanished = _subtract(row, row[c] * inv % P, items0)  # zeroes row[c]
            for col in appeared:
                self.col_rest[col].add(r)
            for col in vanished:
                self.col_rest[col].discard(r)
            if not row:  # cannot happen with a basis, but harmless
                self._drop(r)
        for col in row0:
            self.col_rest[col].discard(r0)
        del row0[c]  # q_k: empty only if the relations alone force c (to zero)
        self.kind[r0] = c
        for col, v in row0.items():
            self.col_exp[col].add(r0)
            self.qcol.setdefault(col, []).append((k, v))
        self.op_q.append(row0)
        self.exposed_row[c] = r0
        if self.protect is None or self.protect[c]:
            heapq.heappush(self.heap, c)

    def column(self, x: int) -> dict[int, int]:
        """The current non-zero entries R_h[x] of the derivations, by exposed cell."""
        out: dict[int, int] = {}
        rows, kind = self.rows, self.kind
        for r in self.col_exp[x]:
            out[kind[r]] = rows[r][x]  # type: ignore[index]
        op_lam = self.op_lam
        for k, v in self.qcol.get(x, ()):
            for h, lam in op_lam[k].items():
                out[h] = out.get(h, 0) - lam * v
        return {h: w for h, w in out.items() if w % P}

    def row_of(self, h: int) -> dict[int, int]:
        """The current derivation of the exposed cell h: its published cells."""
        base = self.rows[self.exposed_row[h]]
        assert base is not None
        out = dict(base)
        for k in self.lam_ops.get(h, ()):
            lam = self.op_lam[k][h]
            for col, v in self.op_q[k].items():
                out[col] = out.get(col, 0) - lam * v
        # The columns hidden since cancel exactly (that is what lambda is for);
        # they are left out rather than computed.
        hidden = self.hidden
        return {col: w % P for col, w in out.items() if w % P and not hidden[col]}

    def first_exposed(self) -> int | None:
        """The exposed cell with the lowest index, if any."""
        while self.heap:
            h = self.heap[0]
            if h in self.exposed_row:
                return h
            heapq.heappop(self.heap)
        return None


def _prepare(
    relations: Sequence[Relation], cells: Iterable[CellKey]
) -> tuple[list[CellKey], dict[CellKey, int], list[tuple[int, tuple[int, ...], tuple[int, ...]]]]:
    """Cells in CellKey order, their index, and the relations as sorted index tuples
    (so nothing depends on the order the caller built things in)."""
    keys = set(cells)
    for rel in relations:
        keys.update(rel.members)
    order = sorted(keys)
    index = {k: i for i, k in enumerate(order)}
    rels = sorted(
        {
            (
                index[r.total],
                tuple(sorted(index[p] for p in r.parts)),
                tuple(sorted(index[m] for m in r.minus)),
            )
            for r in relations
        }
    )
    return order, index, rels


Rel = tuple[int, tuple[int, ...], tuple[int, ...]]


def _components(
    n: int, rels: Sequence[Rel], unknown: Sequence[int]
) -> list[tuple[list[int], list[Rel]]]:
    """The connected parts of the relation system over its unknown cells (cells that
    are hidden or may be hidden; published constants join nothing): (cells,
    relations) each, in order. Relations with no unknown cell are left out."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for total, parts, minus in rels:
        a = -1
        for c in (total, *parts, *minus):
            if not unknown[c]:
                continue
            b = find(c)
            if a < 0:
                a = b
            elif a != b:
                parent[max(a, b)] = min(a, b)
                a = min(a, b)
    cells: dict[int, list[int]] = {}
    for i in range(n):
        if unknown[i]:
            cells.setdefault(find(i), []).append(i)
    groups: dict[int, list[Rel]] = {}
    for rel in rels:
        first = next((c for c in (rel[0], *rel[1], *rel[2]) if unknown[c]), None)
        if first is not None:
            groups.setdefault(find(first), []).append(rel)
    return [(cells[root], groups.get(root, [])) for root in sorted(cells)]


def suppress(
    values: Mapping[CellKey, int],
    relations: Sequence[Relation],
    policy: Policy,
    *,
    fixed_hidden: Iterable[CellKey] = (),
    fixed_published: Iterable[CellKey] = (),
    unprotected: Iterable[CellKey] = (),
    focus: Iterable[CellKey] | None = None,
) -> frozenset[CellKey]:
    """The cells to hide: primary (1 <= v < threshold) and secondary suppression.

    Every key named by a relation must have a value, and every relation must hold;
    otherwise ValueError (a table that does not add up cannot be protected by
    reasoning about its sums). Values are non-negative integers; zero is published.

    For a pattern that must stay as it was published (a released period):
    ``fixed_hidden`` cells are hidden from the start and ``fixed_published`` cells
    are never hidden as complements (unless a count of theirs is now small). The
    cells ``unprotected`` are unknowns the attacker does not see (quantities no
    table publishes, which the relations need); they are hidden, never published,
    and never protected. With ``focus``, only the parts of the system that hold a
    focus cell are worked out; the answer is the pattern of those parts.
    """
    for k, v in values.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"value of {k} must be an integer count, got {v!r}")
        if v < 0:
            raise ValueError(f"value of {k} must not be negative, got {v}")
    for rel in relations:
        for k in rel.members:
            if k not in values:
                raise ValueError(f"relation names {k}, which has no value")
        if not rel.holds(values):
            raise ValueError(f"relation does not hold: {rel.total} != sum of its parts")

    order, index, rels = _prepare(relations, values.keys())
    n = len(order)
    val = [values[k] for k in order]
    aux = bytearray(n)
    for k in unprotected:
        aux[index[k]] = 1
    hidden = bytearray(1 if 1 <= v < policy.threshold else 0 for v in val)
    for k in fixed_hidden:
        hidden[index[k]] = 1
    for i in range(n):
        hidden[i] |= aux[i]
    fixed = bytearray(n)
    for k in fixed_published:
        i = index[k]
        fixed[i] = not hidden[i]  # a small count is hidden whatever was published
    # Unknowns: what is hidden, and what may still be hidden (not zero, not fixed).
    unknown = bytearray(1 if hidden[i] or (val[i] and not fixed[i]) else 0 for i in range(n))
    wanted = None if focus is None else {index[k] for k in focus}
    out: set[CellKey] = set()
    for cells, part_rels in _components(n, rels, unknown):
        if wanted is not None and not wanted.intersection(cells):
            continue
        local = {g: i for i, g in enumerate(cells)}  # keeps CellKey order
        keys = [order[g] for g in cells]

        def loc(cs: tuple[int, ...], local: dict[int, int] = local) -> tuple[int, ...]:
            return tuple(local[c] for c in cs if unknown[c])

        local_rels = [(loc((t,)), loc(parts), loc(minus)) for t, parts, minus in part_rels]
        for i in _suppress_part(
            keys,
            [val[g] for g in cells],
            local_rels,
            policy,
            bytearray(hidden[g] for g in cells),
            bytearray(not aux[g] for g in cells),
        ):
            if not aux[cells[i]]:
                out.add(keys[i])
    return frozenset(out)


def _suppress_part(
    keys: Sequence[CellKey],
    val: Sequence[int],
    rels: Sequence[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]],
    policy: Policy,
    hidden: bytearray,
    protect: bytearray,
) -> list[int]:
    """Suppression in one connected part of unknown cells; cells are indices into
    ``keys``; the relations name unknown cells only (published constants are left
    out: which cells can be derived does not depend on their values)."""
    n = len(keys)
    totalness = [
        _granularity(k.period) + (k.municipality == ALL) + (k.sector == ALL) + (k.level == ALL)
        for k in keys
    ]
    rows = [(t[0] if t else -1, parts, minus) for t, parts, minus in rels]
    if not rows:
        return [i for i in range(n) if hidden[i]]
    engine_rels = [_as_row(t, parts, minus) for t, parts, minus in rows]

    # Cells fixed by published constants alone cannot be hidden usefully: hiding one
    # would expose it with nothing to hide in its stead. Such a cell is found when it
    # is picked as a complement (rarely: cells that can be derived come last); it
    # stays published and the part is worked out again.
    candidate = bytearray(1 for _ in range(n))
    initially = bytes(hidden)
    _singletons(hidden, rows, val, totalness, protect, candidate)
    while True:
        engine = _Engine(n, engine_rels, candidate, protect)
        # Finer, less aggregated cells first: the outcome does not depend on the
        # order, but the fill-in of the elimination does.
        for i in sorted((i for i in range(n) if hidden[i]), key=lambda i: (totalness[i], i)):
            engine.hide(i)
        fixed = None
        while (h := engine.first_exposed()) is not None:
            row = engine.row_of(h)
            if not row:
                if initially[h]:
                    # A small count that the published cells already fix: only
                    # possible if the data of a released period changed afterwards.
                    raise UnprotectableCell(keys[h])
                fixed = h
                break
            engine.hide(_complement(engine, row, val, totalness))
        if fixed is None:
            return [i for i in range(n) if engine.hidden[i]]
        candidate[fixed] = 0
        hidden[fixed] = 0


class UnprotectableCell(RuntimeError):
    """A small count is fixed by cells published earlier: the data of a released period
    changed after it was published."""

    def __init__(self, cell: CellKey) -> None:
        super().__init__(f"{cell} is fixed by cells published before")
        self.cell = cell


def _as_row(
    total: int, parts: tuple[int, ...], minus: tuple[int, ...]
) -> tuple[tuple[int, int], ...]:
    """A relation as a signed row over its unknown cells: total - parts + minus = const."""
    out: dict[int, int] = {}
    for c, sign in ((total, 1), *((p, -1) for p in parts), *((m, 1) for m in minus)):
        if c >= 0:
            out[c] = out.get(c, 0) + sign
    return tuple((c, v) for c, v in sorted(out.items()) if v)


def _complement(
    engine: _Engine, row: Mapping[int, int], val: Sequence[int], totalness: Sequence[int]
) -> int:
    """The published cell of a derivation to hide next (the fixed rule of the module doc)."""
    return min(
        row,
        key=lambda c: (
            bool(engine.col_rest[c]),  # derivable itself: does not protect at once
            totalness[c],  # details before totals
            len(engine.col_rest[c]),  # closer to protecting at once
            -len(engine.col_exp[c]),  # in more derivations: protects others too
            val[c],
            c,
        ),
    )


def _singletons(
    hidden: bytearray,
    rows: Sequence[tuple[int, tuple[int, ...], tuple[int, ...]]],
    val: Sequence[int],
    totalness: Sequence[int],
    protect: Sequence[int],
    candidate: Sequence[int],
) -> None:
    """The fast first pass: no relation may have exactly one hidden cell to protect.

    While one has, hide one more of its cells that may be hidden (the least of a
    total, then the one in most such relations, then the smallest, then the lowest
    key). Necessary, not sufficient: the exact pass follows.
    """
    members = [
        tuple(dict.fromkeys(c for c in (t, *parts, *minus) if c >= 0)) for t, parts, minus in rows
    ]
    by_cell: dict[int, list[int]] = {}
    for r, cells in enumerate(members):
        for c in cells:
            by_cell.setdefault(c, []).append(r)
    n_hidden = [sum(hidden[c] for c in cells) for cells in members]

    def gives_away(r: int) -> bool:
        return n_hidden[r] == 1 and any(hidden[c] and protect[c] for c in members[r])

    lonely = {r for r in range(len(members)) if gives_away(r)}
    while lonely:
        r = min(lonely)
        published = [c for c in members[r] if not hidden[c] and candidate[c]]
        if not published:  # left to the exact pass, which knows why
            lonely.discard(r)
            continue
        best = min(
            published,
            key=lambda c: (
                totalness[c],
                -sum(1 for q in by_cell[c] if q in lonely),
                val[c],
                c,
            ),
        )
        hidden[best] = 1
        for q in by_cell[best]:
            n_hidden[q] += 1
            if gives_away(q):
                lonely.add(q)
            else:
                lonely.discard(q)


def derivable(relations: Sequence[Relation], hidden: Iterable[CellKey]) -> frozenset[CellKey]:
    """The hidden cells whose value follows exactly from the published cells and the
    relations (an audit of a pattern; empty for any result of ``suppress``)."""
    hidden = set(hidden)
    order, index, rels = _prepare(relations, hidden)
    engine = _Engine(
        len(order), [_as_row(*rel) for rel in rels], bytearray(k in hidden for k in order)
    )
    for k in sorted(hidden):
        engine.hide(index[k])
    return frozenset(order[h] for h in engine.exposed_row)
