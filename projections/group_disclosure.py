"""Disclosure control for results reported per group: a unit (service), its sector
and the municipality (docs/implementation.md, "How the results are protected").

The staff survey's results and the activity shares are reported per group, and the
groups nest: a sector's figures are the sum of its units', the municipality's the sum
of its sectors'. Two rules keep a person's answer from being read off them:

1. **Small groups.** Nothing is shown for a group with fewer than `minimum` members
   (answers, or active staff; default 5, never below 3). Which further groups to hide
   so that a hidden group's size cannot be worked out from its parent and its
   siblings is decided by the disclosure engine of the case statistics
   (`projections.protection.protect`): the sizes are a table of counts whose totals
   are sums, and every hidden size of 1 .. minimum-1 must, for an attacker who
   reasons with whole numbers, be able to reach `minimum` and lie among at least
   `minimum` possible values. A hidden group shows none of its figures.
2. **Everyone alike.** In a group of fewer than `UNIFORM_BELOW` (10) members a share
   of 0 % or 100 % (every answer in one category) is not shown: it would tell each
   member's answer. Such a figure is hidden, and then further groups' figures of the
   same question, until an integer program (HiGHS, through `scipy.optimize.milp`)
   finds a table, consistent with everything shown and with every sum, in which the
   hidden figure is not "everyone alike". The group whose figure is hidden beside it
   is the smallest shown sibling, else the parent.

Both are deterministic: the same figures give the same hidden cells.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from projections.protection import Policy, System, protect

UNIFORM_BELOW = 10

Group = Hashable


@dataclass(frozen=True)
class Hierarchy:
    """The groups, each with its parent (None for the top, the municipality), in the
    order they are reported."""

    parent: Mapping[Group, Group | None]

    @property
    def groups(self) -> list[Group]:
        return list(self.parent)

    def children(self) -> dict[Group, list[Group]]:
        out: dict[Group, list[Group]] = defaultdict(list)
        for g, p in self.parent.items():
            if p is not None:
                out[p].append(g)
        return out

    def depth(self, group: Group) -> int:
        d, p = 0, self.parent[group]
        while p is not None:
            d, p = d + 1, self.parent[p]
        return d


def small_groups(tree: Hierarchy, sizes: Mapping[Group, int], minimum: int) -> set[Group]:
    """The groups to hide under rule 1: those with 1 .. minimum-1 members and their
    complements, so that no hidden size can be worked out."""
    policy = Policy(threshold=minimum, min_answers_for_mean=minimum)
    if not any(policy.sensitive(sizes[g]) for g in tree.groups):
        return set()
    keys = tree.groups
    index = {g: i for i, g in enumerate(keys)}
    rows = [[(index[p], 1)] + [(index[c], -1) for c in kids]
            for p, kids in tree.children().items()]
    # A total costs more to hide than its parts: a unit is hidden before its sector.
    top = max(tree.depth(g) for g in keys)
    system = System(
        keys=keys, values=[sizes[g] for g in keys], unknown=[False] * len(keys),
        weights=[float(2 ** (top - tree.depth(g))) for g in keys],
        rows=rows, old=[[] for _ in rows], inequalities=[])
    return {keys[i] for i in protect(system, policy).hidden}


# "The sum of the counts of these categories could lie in [low, high]": a doubt an
# attacker must be left with about a hidden figure.
Doubt = tuple[frozenset[str], float, float]


@dataclass(frozen=True)
class Question:
    """One question's figures per group: the count in each category (they add up to
    the group's size), and the groups whose figure must stay in doubt."""

    categories: tuple[str, ...]
    counts: Mapping[Group, Mapping[str, int]]
    # group -> doubts, one of which must be possible in a whole-number table that
    # agrees with everything shown (for a share of 100 % "good": "not good" >= 1).
    doubts: Mapping[Group, list[Doubt]]


def all_in_one(counts: Mapping[str, int], size: int) -> list[Doubt] | None:
    """A distribution of a group under UNIFORM_BELOW with every answer in one
    category: one of the others must be possible; else None."""
    if 0 < size < UNIFORM_BELOW:
        full = [c for c, k in counts.items() if k == size]
        if full:
            return [(frozenset(c for c in counts if c != full[0]), 1, math.inf)]
    return None


def extreme_share(counts: Mapping[str, int], size: int, top: frozenset[str],
                  bottom: frozenset[str]) -> list[Doubt] | None:
    """A share (the categories `top` out of `bottom`) of 0 % or 100 % in a group under
    UNIFORM_BELOW: it must be possible that it is neither; else None."""
    denominator = sum(counts.get(c, 0) for c in bottom)
    if not 0 < size < UNIFORM_BELOW or denominator == 0:
        return None
    numerator = sum(counts.get(c, 0) for c in top)
    if numerator == denominator:
        return [(frozenset(bottom - top), 1, math.inf)]
    if numerator == 0:
        return [(frozenset(top), 1, math.inf)]
    return None


def unknown_count(counts: Mapping[str, int], categories: frozenset[str]) -> list[Doubt]:
    """The count of `categories` must not be pinned: another value must be possible."""
    k = sum(counts.get(c, 0) for c in categories)
    return [(categories, k + 1, math.inf), (categories, -math.inf, k - 1)]


def hidden_answers(tree: Hierarchy, sizes: Mapping[Group, int], size_hidden: set[Group],
                   question: Question) -> set[Group]:
    """The groups whose figures of `question` are hidden: those hidden for their size,
    those that show "everyone alike", and complements (rule 2)."""
    hidden = set(size_hidden) | set(question.doubts)
    flagged = [g for g in tree.groups if g in question.doubts and g not in size_hidden]
    while True:
        failing = next((g for g in flagged
                        if not _escapes(tree, sizes, size_hidden, hidden, question, g)), None)
        if failing is None:
            return hidden
        hidden.add(_complement(tree, sizes, hidden, failing))


def _complement(tree: Hierarchy, sizes: Mapping[Group, int], hidden: set[Group],
                group: Group) -> Group:
    """The next group to hide beside `group`: its smallest shown sibling, else the
    nearest shown ancestor, else the smallest shown group of all."""
    kids = tree.children()
    at: Group | None = group
    while at is not None:
        parent = tree.parent[at]
        siblings = ([s for s in kids.get(parent, []) if s not in hidden]
                    if parent is not None else [])
        if siblings:
            return min(siblings, key=lambda s: (sizes[s], tree.groups.index(s)))
        if parent is not None and parent not in hidden:
            return parent
        at = parent
    shown = [g for g in tree.groups if g not in hidden]
    if not shown:
        raise RuntimeError("every group is hidden and the figure is still known")
    return min(shown, key=lambda s: (sizes[s], tree.groups.index(s)))


def _escapes(tree: Hierarchy, sizes: Mapping[Group, int], size_hidden: set[Group],
             hidden: set[Group], question: Question, group: Group) -> bool:
    """Whether a whole-number table consistent with everything shown leaves one of
    `group`'s doubts possible."""
    return any(_possible(tree, sizes, size_hidden, hidden, question, group, doubt)
               for doubt in question.doubts[group])


def _possible(tree: Hierarchy, sizes: Mapping[Group, int], size_hidden: set[Group],
              hidden: set[Group], question: Question, group: Group, doubt: Doubt) -> bool:
    variables: dict[tuple[Group, str], int] = {}
    for g in tree.groups:
        if g in size_hidden:
            variables[(g, "")] = len(variables)
        if g in hidden:
            for c in question.categories:
                variables[(g, c)] = len(variables)
    rows: list[dict[int, float]] = []
    bounds: list[tuple[float, float]] = []

    def term(g: Group, c: str) -> tuple[int | None, float]:
        """A variable, or the shown value."""
        if (g, c) in variables:
            return variables[(g, c)], 0.0
        return None, float(sizes[g] if c == "" else question.counts[g].get(c, 0))

    def relation(items: list[tuple[Group, str, int]], low: float, high: float) -> None:
        row: dict[int, float] = defaultdict(float)
        constant = 0.0
        for g, c, coefficient in items:
            v, value = term(g, c)
            if v is None:
                constant += coefficient * value
            else:
                row[v] += coefficient
        if row:
            rows.append(dict(row))
            bounds.append((low - constant, high - constant))

    for parent, kids in tree.children().items():
        for c in ("", *question.categories):
            relation([(parent, c, 1)] + [(k, c, -1) for k in kids], 0, 0)
    for g in hidden:
        relation([(g, c, 1) for c in question.categories] + [(g, "", -1)], 0, 0)
    categories, low, high = doubt
    relation([(group, c, 1) for c in sorted(categories)], low, high)
    n = len(variables)
    matrix = np.zeros((len(rows), n))
    for r, row in enumerate(rows):
        for v, coefficient in row.items():
            matrix[r, v] = coefficient
    found = milp(np.zeros(n), integrality=np.ones(n),
                 bounds=Bounds(np.zeros(n), np.full(n, np.inf)),
                 constraints=LinearConstraint(matrix, [b[0] for b in bounds],
                                              [b[1] for b in bounds]))
    return bool(found.status == 0)
