"""Protection of published counts against an attacker who reasons with whole numbers.

The rule (docs/indicators.md, "How the numbers are protected"): for every hidden
count of 1 .. threshold-1, the whole numbers it could be, given everything that is
published and every relation between the numbers, must reach the threshold and
span at least ``threshold`` values. With x the true count, U how far it could be
higher and D how far lower, that is

    x + U >= threshold   (upper protection level: threshold - x)
    U + D >= threshold - 1   (protection interval: threshold values)

This module is the arithmetic, and knows nothing of BTI: it takes a `System` (the
cells of one release, the unknown quantities an attacker may reason with, the
linear relations between them, and the inequalities), and decides which of the
release's cells to hide.

How it is proved
----------------
A cell is protected when there is another table, in whole numbers, that agrees
with everything published and every relation, and in which the cell is
``threshold - x`` or more higher (and one in which it is lower, when that is
needed for the interval). Such a table is kept as a *certificate*: the change
``delta`` from the true table over the hidden cells and the unknowns, with
``A delta = 0`` for every relation, ``value + delta >= 0`` and the inequalities
kept. A certificate found for one cell protects every other cell it moves far
enough, too. Certificates are found by linear programming (HiGHS), several cells
at once where one program can move them all, and the move they prove is rounded
down to a whole number (linear programming plus rounding). A linear program's
table may hold fractions in other cells; that a whole-number table reaches as far
is what the independent auditor of the tests confirms with integer programs (on
these relations, sums and balances, the optimal tables are almost always whole).

A release is worked out against the certificates of earlier releases: a relation
of this release that also holds earlier cells (a stock at the end of the previous
month, a quarter of the half-year released now) must hold for every earlier
certificate too. The part of an earlier certificate on those earlier cells is its
*frontier*; this release finds an *extension* of each frontier over its own cells,
hiding more if it must, so that every earlier certificate stays a table an
attacker cannot rule out. Earlier releases are never worked out again: the cost
of a release depends on its own size and on the frontiers it inherits, not on the
length of the history.

Which cells are hidden
----------------------
1. Every count of 1 .. threshold-1 (primary).
2. For each such cell that no certificate protects yet (smallest counts first,
   then the key; after a first attempt at all of them together), the cheapest change of the published cells that protects it is
   found by linear programming (each published cell costs its `weight` per unit
   of change: totals and long periods cost more than detail, so detail is hidden
   first), and the published cells it changes are hidden. The same for every
   frontier that cannot be extended.
3. Then each added cell is tried published again, the most costly first: if every
   sensitive cell and every frontier still has a certificate without it, it stays
   published. After this pass un-hiding any one added cell breaks the rule for
   some cell: the pattern is locally minimal.

Zeros may be hidden as complements, so that a hidden cell is not known to be
non-zero; the attacker is taken to know only that a hidden count is >= 0.

Deterministic: the same system gives the same hidden cells (HiGHS runs
single-threaded; everything is visited in a fixed order).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import scipy.sparse as sp

def _without_banner() -> None:
    """HiGHS prints a banner on standard output when its first instance is made, in
    every process; make that instance with the output sent nowhere (a service's or a
    tool's standard output is its own)."""
    sys.stdout.flush()
    saved = os.dup(1)
    nowhere = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(nowhere, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(nowhere)


_without_banner()
INF = highspy.kHighsInf
MIN_THRESHOLD = 3
# Certificates are whole numbers; solver output within this of an integer is one.
_TOLERANCE = 1e-6
# Cost per unit of change of a cell that is hidden already, or an unknown: small,
# so that certificates stay sparse, but not zero.
_HIDDEN_COST = 1e-3
# Cost per unit of change of a cell that later releases' relations reach (the
# holders at the end of the month): a certificate that moves it is an obligation
# for the next release, which must extend it.
_LASTING_COST = 2e-2


@dataclass(frozen=True)
class Policy:
    """What is published and how it is protected.

    Counts 1 .. threshold-1 are hidden, and further cells until each of them has
    the protection interval described in the module docstring; a mean or median
    is published only where the count behind it is, and from `min_answers_for_mean`
    answers.
    """

    threshold: int = 5
    min_answers_for_mean: int = 5
    # The version of the rule. Releases are stored with it; a release made under
    # another version is never served (docs/indicators.md, "Policy versions").
    version: int = 3

    def __post_init__(self) -> None:
        for name in ("threshold", "min_answers_for_mean"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer")
            if value < MIN_THRESHOLD:
                raise ValueError(
                    f"{name} must be at least {MIN_THRESHOLD} (got {value}): "
                    "counts of 1 or 2 children can point at a family"
                )

    @property
    def zeros_may_be_hidden(self) -> bool:
        return True

    def sensitive(self, value: int) -> bool:
        return 1 <= value < self.threshold

    def protected(self, value: int, up: float, down: float) -> bool:
        """Whether a hidden count `value` that could be `up` higher and `down`
        lower (in whole numbers) is protected."""
        t = self.threshold
        return value + up >= t and up + down >= t - 1

    def describe(self) -> str:
        t = self.threshold
        return (
            f"Tall fra 1 til {t - 1} vises ikke. Et skjult tall kan, ut fra alt som er "
            f"publisert, være minst {t}, og ligger for en angriper blant minst {t} mulige "
            "hele tall. Også nuller kan være skjult."
        )


# --------------------------------------------------------------------------- the system

Key = Hashable
Term = tuple[int, int]  # (variable, coefficient)


@dataclass
class System:
    """One release's cells and what an attacker knows about them.

    Variables are the release's cells (`cells`) and the unknown quantities an
    attacker may reason with but that are never published (`unknowns`, for
    example the handovers that left a sector). `rows` are equalities
    ``sum(c * delta[v]) + sum(c * frontier[k]) == 0`` over a change ``delta`` of
    the variables; `old` holds, per row, the terms of cells of earlier releases
    (their change is given by a frontier, zero for a new certificate).
    `inequalities` are ``sum(c * value[v]) <= bound`` over the true values (kept
    by every certificate). `values` are the true counts. `weights` are the cost
    of hiding each cell (unknowns are never published).
    """

    keys: list[Key]
    values: list[int]
    unknown: list[bool]
    weights: list[float]
    rows: list[list[Term]]
    old: list[list[tuple[Key, int]]]
    inequalities: list[tuple[list[Term], int]]
    # Cells that may never be hidden or moved (known to be zero by definition).
    fixed: set[int] = field(default_factory=set)
    # An extension to try before any linear program: the change of this release's
    # variables that a frontier implies by the structure of the relations (a
    # quarter moves as the sum of its months, a stock as the month before), or
    # None. It is checked like any other certificate before it is used.
    hint: Callable[[Mapping[Key, float]], dict[int, float] | None] | None = None
    # Cells that relations of later releases reach (kept sparse in certificates).
    lasting: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        self.index = {k: i for i, k in enumerate(self.keys)}
        n = len(self.keys)
        self.rows_of: list[list[int]] = [[] for _ in range(n)]
        for r, row in enumerate(self.rows):
            for v, _ in row:
                self.rows_of[v].append(r)
        self.old_rows: dict[Key, list[int]] = {}
        for r, terms in enumerate(self.old):
            for k, _ in terms:
                self.old_rows.setdefault(k, []).append(r)
        self.ineq_of: list[list[int]] = [[] for _ in range(n)]
        for q, (terms, _) in enumerate(self.inequalities):
            for v, _ in terms:
                self.ineq_of[v].append(q)
        # Relations and inequalities as one list of links, for walking the system:
        # link r < len(rows) is a relation, the others inequalities.
        offset = len(self.rows)
        self.members: list[list[int]] = [[v for v, _ in row] for row in self.rows] + [
            [v for v, _ in terms] for terms, _ in self.inequalities
        ]
        self.links: list[list[int]] = [
            self.rows_of[v] + [offset + q for q in self.ineq_of[v]] for v in range(n)
        ]
        # Every link as one sparse matrix (relations, then inequalities), with its
        # bounds on a change: == 0 for a relation, <= slack for an inequality.
        data: list[float] = []
        indices: list[int] = []
        indptr = [0]
        upper: list[float] = []
        for row in self.rows:
            for v, c in row:
                indices.append(v)
                data.append(float(c))
            indptr.append(len(indices))
            upper.append(0.0)
        for terms, bound in self.inequalities:
            for v, c in terms:
                indices.append(v)
                data.append(float(c))
            indptr.append(len(indices))
            upper.append(float(bound - sum(c * self.values[v] for v, c in terms)))
        self.matrix = sp.csr_matrix(
            (np.array(data), np.array(indices, np.int64), np.array(indptr, np.int64)),
            shape=(len(indptr) - 1, n),
        ).tocsc()
        self.link_upper = np.array(upper)
        self.link_lower = np.where(np.arange(len(upper)) < offset, 0.0, -INF)
        self.value_array = np.array(self.values, float)

    def holds(self, delta: Mapping[int, float], rhs: Mapping[int, float]) -> bool:
        """Whether `delta` keeps every relation (with right-hand sides `rhs`), every
        inequality and every bound (counts >= 0, known zeros unchanged)."""
        if any(v in self.fixed or self.values[v] + d < -_TOLERANCE for v, d in delta.items()):
            return False
        vector = np.zeros(len(self.keys))
        for v, d in delta.items():
            vector[v] = d
        moved = self.matrix @ vector
        target = np.zeros(len(self.link_upper))
        for r, b in rhs.items():
            target[r] = b
        offset = len(self.rows)
        equal = np.abs(moved[:offset] - target[:offset]) <= _TOLERANCE
        within = moved[offset:] <= self.link_upper[offset:] + _TOLERANCE
        return bool(equal.all() and within.all())


@dataclass(frozen=True)
class Certificate:
    """A change of the release's variables that keeps every relation and bound,
    given the frontier `extends` (None: no earlier cells change)."""

    delta: Mapping[int, int]
    extends: int | None = None


@dataclass
class Outcome:
    hidden: set[int]  # the release's cells to hide (primary and complements)
    certificates: list[Certificate]
    # frontier number -> its extension (an index into certificates)
    extensions: dict[int, int]
    # sensitive cell -> (certificate giving U, certificate giving D or None)
    proofs: dict[int, tuple[int, int | None]]
    up: dict[int, int]
    down: dict[int, int]
    solves: int = 0


class UnprotectableError(RuntimeError):
    """No pattern protects a cell: a bug in the system (hiding every cell of a
    release always leaves room), never an expected outcome."""


# --------------------------------------------------------------------------- the solver


def _floor(value: float) -> int:
    return int(math.floor(value + _TOLERANCE))


def _dead(s: System, free: set[int], active: Iterable[int] = ()) -> set[int]:
    """Free variables held at zero by a relation all of whose free members are zero
    and on the same side (they can only grow, and their sum may not): an out-flow
    whose published sum is 0, say. Leaving them out changes no solution."""
    zero = {u for u in free if s.values[u] == 0}
    dead: set[int] = set()
    # A relation with a right-hand side (a frontier) holds nobody at zero.
    rows = sorted({r for u in zero for r in s.rows_of[u]} - set(active))
    changed = True
    while changed:
        changed = False
        for r in rows:
            members = [(u, c) for u, c in s.rows[r] if u in free and u not in dead]
            if members and all(u in zero for u, _ in members) and (
                all(c > 0 for _, c in members) or all(c < 0 for _, c in members)
            ):
                dead.update(u for u, _ in members)
                changed = True
    return dead


def _neighbourhood(
    s: System, free: set[int], seeds: Iterable[int], rows: Iterable[int], depth: int | None
) -> list[int]:
    """The free variables within `depth` links (relations or inequalities) of the
    seeds and rows."""
    found = {v for v in seeds if v in free}
    reach = set(rows)
    for v in found:
        reach.update(s.links[v])
    seen: set[int] = set()
    while reach and (depth is None or depth > 0):
        seen |= reach
        new = {u for r in reach for u in s.members[r] if u in free} - found
        found |= new
        reach = {r for u in new for r in s.links[u]} - seen
        if depth is not None:
            depth -= 1
    return sorted(found)


def _local(
    s: System,
    variables: Sequence[int],
    *,
    objective: Mapping[int, float] | None = None,
    bounds: Mapping[int, tuple[float, float]] | None = None,
    rhs: Mapping[int, float] | None = None,
    extra: Sequence[int] = (),
    penalised: set[int] | frozenset[int] = frozenset(),
    base: Mapping[int, float] | None = None,
) -> dict[int, float] | None:
    """A small linear program over changes of `variables` (free: change >= -value;
    every other variable unchanged) and of `extra` (published cells that may change
    at their weight per unit: the candidates to hide). `penalised` free variables
    (complements) change at a small cost, so that a solution moves them only when
    it must. Returns the changes, or None when there is none."""
    plain = [v for v in variables if v not in penalised]
    soft = sorted(v for v in variables if v in penalised)
    taken = set(variables)
    extra = [e for e in extra if e not in taken]
    split = [*soft, *extra]
    n, m = len(plain), len(split)
    values = s.value_array
    if base:  # a change already made: the bounds are around it, and so are the links
        values = values.copy()
        for v, d in base.items():
            values[v] += d
    plain_idx = np.array(plain, np.int64)
    split_idx = np.array(split, np.int64)
    lower = np.concatenate([-values[plain_idx], np.zeros(2 * m)])
    upper = np.concatenate([np.full(n, INF), np.empty(2 * m)])
    upper[n::2] = INF
    upper[n + 1::2] = values[split_idx] if m else []
    cost = np.zeros(n + 2 * m)
    if m:
        weights = np.array([
            (_LASTING_COST if e in s.lasting else _HIDDEN_COST)
            if (e in penalised or s.unknown[e]) else s.weights[e]
            for e in split
        ])
        cost[n::2] = weights
        cost[n + 1::2] = weights
    position = {v: i for i, v in enumerate(plain)}
    spos = {v: n + 2 * i for i, v in enumerate(split)}
    for v, (lo, hi) in (bounds or {}).items():
        if v in position:
            i = position[v]
            lower[i], upper[i] = max(lower[i], lo), min(upper[i], hi)
        elif v in spos:
            j = spos[v]
            if lo > 0:
                lower[j], upper[j + 1] = lo, 0.0
            elif hi < 0:
                lower[j + 1], upper[j] = -hi, 0.0
            else:
                upper[j], upper[j + 1] = min(upper[j], max(hi, 0.0)), min(upper[j + 1], max(-lo, 0.0))
    for v, c in (objective or {}).items():
        if v in position:
            cost[position[v]] += c
        else:
            cost[spos[v]] += c
            cost[spos[v] + 1] -= c
    # Columns in order: plain, then for each split variable its increase and its
    # decrease (the same column, negated), cut straight from the system's matrix.
    columns = np.concatenate([plain_idx, np.repeat(split_idx, 2)])
    starts, ends = s.matrix.indptr[columns], s.matrix.indptr[columns + 1]
    lengths = ends - starts
    take = np.repeat(ends - np.cumsum(lengths), lengths) + np.arange(int(lengths.sum()))
    sign = np.ones(len(columns))
    sign[n + 1::2] = -1.0
    rows_of = s.matrix.indices[take]
    values_of = s.matrix.data[take] * np.repeat(sign, lengths)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    rhs = rhs or {}
    used = np.unique(rows_of)
    if rhs:
        used = np.union1d(used, np.array(sorted(rhs), np.int64))
    index = np.searchsorted(used, rows_of)
    row_lower = s.link_lower[used].copy()
    row_upper = s.link_upper[used].copy()
    offset = len(s.rows)
    for r, b in rhs.items():
        if not b:
            continue
        i = int(np.searchsorted(used, r))
        if r < offset:
            row_lower[i] = row_upper[i] = b
        else:  # an inequality: the room left by a change already made
            row_upper[i] -= b
    lp = highspy.HighsLp()
    lp.num_col_ = n + 2 * m
    lp.num_row_ = len(used)
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = row_lower
    lp.row_upper_ = row_upper
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = indptr.astype(np.int32)
    lp.a_matrix_.index_ = index.astype(np.int32)
    lp.a_matrix_.value_ = values_of.astype(float)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    x = np.asarray(h.getSolution().col_value)
    out = {plain[i]: float(x[i]) for i in np.nonzero(np.abs(x[:n]) > _TOLERANCE)[0]}
    if m:
        d = x[n::2] - x[n + 1::2]
        for i in np.nonzero(np.abs(d) > _TOLERANCE)[0]:
            out[split[i]] = float(d[i])
    return out


_DEPTHS: tuple[int | None, ...] = (2, 3, None)
# Complements hidden before the sensitive cells are proved together again.
_BATCH_AFTER = 8
# A cell's cheapest change that moves this few published cells by whole units hides
# them all at once; a larger one, the cell it leans on most.
_AT_ONCE = 4


def protect(
    system: System,
    policy: Policy,
    frontiers: Sequence[Mapping[Key, int]] = (),
) -> Outcome:
    """Hide the release's cells so that every sensitive cell is protected and every
    frontier of an earlier certificate is extended."""
    return _Release(system, policy, frontiers).run()


class _Release:
    def __init__(
        self, system: System, policy: Policy, frontiers: Sequence[Mapping[Key, int]]
    ) -> None:
        s = self.s = system
        self.policy = policy
        self.frontiers = frontiers
        self.t = policy.threshold
        n = len(s.keys)
        self.sensitive = sorted(
            (v for v in range(n) if not s.unknown[v] and v not in s.fixed
             and policy.sensitive(s.values[v])),
            key=lambda v: (s.values[v], s.keys[v]),
        )
        self.is_sensitive = set(self.sensitive)
        self.free: set[int] = set()
        self._alive: set[int] | None = None
        self.solves = 0
        self.complements: set[int] = set()
        self.certificates: list[Certificate] = []
        self.users: dict[int, set[int]] = {}  # variable -> certificates that move it
        self.up: dict[int, int] = dict.fromkeys(self.sensitive, 0)
        self.down: dict[int, int] = dict.fromkeys(self.sensitive, 0)
        self.proof_up: dict[int, int] = {}
        self.proof_down: dict[int, int] = {}
        self.extensions: dict[int, int] = {}
        self.selections = 0
        self.chosen_for: dict[int, int] = {}  # complement -> the cell it was hidden for

    # -- bookkeeping ---------------------------------------------------------------

    def record(self, delta: Mapping[int, float], extends: int | None) -> int:
        number = len(self.certificates)
        self.certificates.append(Certificate(dict(delta), extends))
        for v, d in delta.items():
            self.users.setdefault(v, set()).add(number)
            if v in self.is_sensitive:
                amount = _floor(abs(d))
                if d > 0 and amount > self.up[v]:
                    self.up[v], self.proof_up[v] = amount, number
                elif d < 0 and amount > self.down[v]:
                    self.down[v], self.proof_down[v] = amount, number
        return number

    def forget(self, number: int) -> None:
        for u in self.certificates[number].delta:
            self.users[u].discard(number)
        self.certificates[number] = Certificate({}, self.certificates[number].extends)

    def protected(self, v: int) -> bool:
        return self.policy.protected(self.s.values[v], self.up[v], self.down[v])

    def hide(self, cells: Iterable[int]) -> None:
        s = self.s
        new = [c for c in cells if c not in self.free and c not in s.fixed]
        self.complements.update(c for c in new if not s.unknown[c])
        self.free.update(new)

    @property
    def alive(self) -> set[int]:
        """The free variables that can move at all."""
        if self._alive is None or self._alive_of != len(self.free) or self._alive_hash != hash(
                frozenset(self.free)):
            self._alive = self.free - _dead(self.s, self.free)
            self._alive_of = len(self.free)
            self._alive_hash = hash(frozenset(self.free))
        return self._alive

    def live(self, rhs: Mapping[int, float]) -> set[int]:
        return self.alive if not rhs else self.free - _dead(self.s, self.free, rhs)

    def local(self, variables: Sequence[int], **kw: object) -> dict[int, float] | None:
        self.solves += 1
        soft = frozenset(v for v in variables if v in self.complements)
        return _local(self.s, variables, penalised=soft, **kw)  # type: ignore[arg-type]

    def extreme(self, v: int, sign: int, want: int) -> None:
        """Certificates moving v in direction `sign`, as far as `want`: looked for
        near v, then in everything it is linked to."""
        x = float(self.s.values[v])
        bound = (0.0, float(want)) if sign > 0 else (-min(float(want), x), 0.0)
        last = -1
        for depth in _DEPTHS:
            variables = _neighbourhood(self.s, self.alive, [v], (), depth)
            if len(variables) == last:
                return
            last = len(variables)
            delta = self.local(variables, objective={v: -float(sign)}, bounds={v: bound})
            if delta is None:
                continue
            amount = _floor(sign * delta.get(v, 0.0))
            if amount > 0:
                self.record(delta, None)
            if amount >= want:
                return

    def room(self, v: int, sign: int) -> float:
        """An upper bound on how far v can move in direction `sign`, from each of
        its relations and inequalities alone (the others' free members can give at
        most their values one way, anything the other way)."""
        s, free = self.s, self.free
        best = INF
        offset = len(s.rows)
        for link in s.links[v]:
            if link < offset:
                terms, slack, equality = s.rows[link], 0.0, True
            else:
                terms, bound = s.inequalities[link - offset]
                slack = float(bound - sum(c * s.values[u] for u, c in terms))
                equality = False
            cv = sign * sum(c for u, c in terms if u == v)
            if not cv:
                continue
            # cv * a + sum(others) (= 0 | <= slack): others must give -cv * a.
            give = 0.0  # how far the others can go in the needed direction
            for u, c in terms:
                if u == v or u not in free:
                    continue
                if (c > 0) == (cv > 0):  # u must decrease: by at most its value
                    give += abs(c) * s.values[u]
                else:  # u may increase without end
                    give = INF
                    break
            if equality or cv > 0:
                limit = (give + (slack if not equality else 0.0)) / abs(cv)
                best = min(best, limit)
        return best

    def hopeless(self, v: int) -> bool:
        """Whether v surely cannot be protected with the cells hidden now."""
        x = self.s.values[v]
        up = min(self.room(v, +1), self.t)
        down = min(self.room(v, -1), x)
        return not self.policy.protected(x, _floor(up), _floor(down))

    def prove_together(self, rounds: int = 6, cells: Sequence[int] | None = None) -> None:
        """Certificates that move many sensitive cells up at once: one linear program
        for all of them (each capped where it is protected), again for those left,
        while it helps. Fewer certificates, so fewer for later releases to extend."""
        want = self.t - 1
        pending = [v for v in (self.sensitive if cells is None else cells)
                   if not self.protected(v)]
        for _ in range(rounds):
            if not pending:
                return
            variables = _neighbourhood(self.s, self.alive, pending, (), None)
            delta = self.local(
                variables,
                objective={v: -1.0 for v in pending},
                bounds={v: (-float(self.s.values[v]), float(want)) for v in pending},
            )
            if delta is None:
                return
            before = len(pending)
            self.record(delta, None)
            pending = [v for v in pending if not self.protected(v)]
            if len(pending) > before * 0.9:
                return

    def prove(self, v: int) -> bool:
        """Find certificates for v with the cells hidden now; whether it is protected."""
        if self.protected(v):
            return True
        x = self.s.values[v]
        self.extreme(v, +1, self.t - 1)
        if self.protected(v):
            return True
        if x + self.up[v] >= self.t:
            self.extreme(v, -1, min(x, self.t - 1 - self.up[v]))
        return self.protected(v)

    def frontier_rows(self, frontier: Mapping[Key, int]) -> dict[int, float]:
        s = self.s
        rhs: dict[int, float] = {}
        for k, d in frontier.items():
            for r in s.old_rows.get(k, ()):
                coef = sum(c for kk, c in s.old[r] if kk == k)
                rhs[r] = rhs.get(r, 0.0) - coef * d
        return {r: b for r, b in rhs.items() if b}

    def extend(self, number: int, *, choose: bool) -> int | None:
        """A certificate extending frontier `number` over this release's cells."""
        rhs = self.frontier_rows(self.frontiers[number])
        if not rhs:
            return self.record({}, number)
        hint = self.s.hint(self.frontiers[number]) if self.s.hint is not None else None
        if hint is not None and not self.s.holds(hint, rhs):
            hint = self.repair(hint, rhs)
        if hint is not None and all(v in self.free for v in hint):
            return self.record(hint, number)
        if hint is not None and choose:
            # The structural extension, hiding the cells it moves: one step, where a
            # search for a cheaper one would cost a linear program per frontier.
            self.hide(hint)
            return self.record(hint, number)
        while True:
            last = -1
            for depth in _DEPTHS:
                variables = _neighbourhood(self.s, self.live(rhs), (), rhs, depth)
                if len(variables) == last:
                    break
                last = len(variables)
                delta = self.local(variables, rhs=rhs)
                if delta is not None:
                    return self.record(delta, number)
            if not choose:
                return None
            chosen = self.choose(None, rhs)
            if not chosen:
                raise UnprotectableError(f"frontier {number} cannot be extended")
            self.hide(chosen)

    def repair(self, hint: Mapping[int, float], rhs: Mapping[int, float]) -> dict[int, float] | None:
        """The structural extension where it holds, and a small linear program for the
        rest: the moves that would take a count below zero or break an inequality
        are taken back, and what they left undone is found near them."""
        s = self.s
        bad = {v for v, d in hint.items() if s.values[v] + d < -_TOLERANCE}
        offset = len(s.rows)
        vector = np.zeros(len(s.keys))
        for v, d in hint.items():
            vector[v] = d
        moved = s.matrix @ vector
        for q in np.nonzero(moved[offset:] > s.link_upper[offset:] + _TOLERANCE)[0]:
            bad.update(v for v, _ in s.inequalities[int(q)][0] if v in hint)
        # Take back whole columns of margins with each bad cell: the cells it adds to.
        keep = {v: d for v, d in hint.items() if v not in bad}
        for v in bad:
            vector[v] = 0.0
        moved = s.matrix @ vector
        target = np.zeros(offset)
        for r, b in rhs.items():
            target[r] = b
        gap = target - moved[:offset]
        residual = {int(r): float(gap[r]) for r in np.nonzero(np.abs(gap) > _TOLERANCE)[0]}
        residual.update({int(q) + offset: float(moved[offset + q])
                         for q in np.nonzero(moved[offset:])[0]})
        free = self.free | set(keep)
        rows = [r for r in residual if r < offset]
        last = -1
        for depth in _DEPTHS:
            variables = _neighbourhood(s, free, (), rows, depth)
            if len(variables) == last:
                break
            last = len(variables)
            delta = self.local(variables, rhs=residual, base=keep)
            if delta is not None:
                out = dict(keep)
                for v, d in delta.items():
                    out[v] = out.get(v, 0.0) + d
                out = {v: d for v, d in out.items() if abs(d) > _TOLERANCE}
                return out if s.holds(out, rhs) else None
        return None

    def choose(self, target: tuple[int, int, int] | None, rhs: Mapping[int, float]) -> set[int]:
        """The published cells to hide: the cheapest change of them (each at its
        weight per unit) that lets the target move enough or the frontier be
        extended, among the cells near the target, then further."""
        s = self.s
        seeds = [target[0]] if target else []
        # Every hidden cell may move here, even one held at zero now: a cell hidden
        # by this choice can free it.
        live = self.free
        movable = set(range(len(s.keys))) - s.fixed
        last = -1
        for depth in (2, 4, None):
            near = _neighbourhood(s, movable, seeds, rhs, depth)
            variables = [u for u in near if u in live]
            extra = [u for u in near if u not in self.free]
            if target is not None and target[0] not in self.free and target[0] not in extra:
                extra.append(target[0])
            if len(near) == last:
                continue
            last = len(near)
            bounds = None
            if target is not None:
                v, sign, amount = target
                bounds = {v: (float(amount), INF) if sign > 0 else (-INF, -float(amount))}
            self.selections += 1
            sol = _local(s, variables, bounds=bounds, rhs=rhs, extra=extra)
            if sol is not None:
                # Hide one cell at a time, the one the change leans on most: a linear
                # program spreads a change over several cells as gladly as over one.
                moved = [u for u in sol if u not in self.free]
                if not moved:
                    return set()
                if target is None:
                    # A frontier: every cell the change leans on, in one step (the
                    # pass that publishes complements again takes back the spare).
                    return set(moved)
                leaning = [u for u in moved if abs(sol[u]) >= 1 - _TOLERANCE]
                if len(leaning) <= _AT_ONCE:
                    return set(leaning or moved)
                best = max(moved, key=lambda u: (abs(sol[u]), -s.weights[u], s.keys[u]))
                return {best}
        return set()

    # -- the three steps -------------------------------------------------------------

    def run(self) -> Outcome:
        s = self.s
        self.free.update(self.sensitive)
        self.free.update(u for u in range(len(s.keys)) if s.unknown[u])
        for number in range(len(self.frontiers)):
            self.extensions[number] = self.extend(number, choose=True)  # type: ignore[assignment]
        self.prove_together()
        added = 0
        for v in self.sensitive:
            while not self.prove(v):
                chosen = self.choose((v, +1, self.t - 1), {})
                if not chosen:
                    raise UnprotectableError(f"cell {s.keys[v]!r} cannot be protected")
                for c in chosen:
                    self.chosen_for.setdefault(c, v)
                self.hide(chosen)
                added += len(chosen)
            if added >= _BATCH_AFTER:  # what the new complements protect, all at once
                self.prove_together()
                added = 0
        for c in sorted(self.complements, key=lambda v: (-s.weights[v], s.keys[v])):
            if self.try_publish(c):
                self.complements.discard(c)
        return Outcome(
            hidden=set(self.sensitive) | self.complements,
            certificates=self.certificates,
            extensions=self.extensions,
            proofs={v: (self.proof_up[v], self.proof_down.get(v)) for v in self.sensitive},
            up=self.up,
            down=self.down,
            solves=self.solves + self.selections,
        )

    def try_publish(self, c: int) -> bool:
        """Publish complement c again if every cell and frontier keeps a certificate."""
        broken = set(self.users.get(c, ()))
        self.free.discard(c)
        if not broken:
            return True
        saved = (dict(self.up), dict(self.down), dict(self.proof_up), dict(self.proof_down),
                 dict(self.extensions), len(self.certificates))
        ok = True
        # Cheap first: a cell that one relation alone now pins keeps the complement.
        users = [v for v in self.sensitive
                 if self.proof_up.get(v) in broken or self.proof_down.get(v) in broken]
        if any(self.hopeless(v) for v in users):
            self.free.add(c)
            return False
        for number, cert in sorted(self.extensions.items()):
            if cert in broken:
                extension = self.extend(number, choose=False)
                if extension is None:
                    ok = False
                    break
                self.extensions[number] = extension
        if ok:
            affected = [v for v in self.sensitive
                        if self.proof_up.get(v) in broken or self.proof_down.get(v) in broken]
            for v in affected:
                self.up[v] = self.down[v] = 0
                self.proof_up.pop(v, None)
                self.proof_down.pop(v, None)
                for number in sorted(self.users.get(v, ())):
                    if number in broken:
                        continue
                    d = self.certificates[number].delta.get(v, 0)
                    if d > self.up[v]:
                        self.up[v], self.proof_up[v] = d, number
                    elif -d > self.down[v]:
                        self.down[v], self.proof_down[v] = -d, number
            # The cell the complement was hidden for first: the likeliest to need it.
            first = self.chosen_for.get(c)
            affected.sort(key=lambda v: (v != first, self.s.values[v], self.s.keys[v]))
            if any(self.hopeless(v) for v in affected):
                ok = False
            if ok and len(affected) > 3:
                self.prove_together(rounds=2, cells=affected)
            for v in affected if ok else ():
                if not self.prove(v):
                    ok = False
                    break
        if ok:
            for number in broken:
                self.forget(number)
            return True
        for number in range(saved[5], len(self.certificates)):
            for u in self.certificates[number].delta:
                self.users[u].discard(number)
        del self.certificates[saved[5]:]
        self.up, self.down, self.proof_up, self.proof_down, self.extensions = (
            saved[0], saved[1], saved[2], saved[3], saved[4])
        self.free.add(c)
        return False
