"""The staff survey's results, per unit, sector and municipality, protected
(docs/implementation.md, "The survey's results").

For each group: the response rate; the Levels of Use distribution (answers per level
1-8), its median, its mode(s) and its mean (for comparison with earlier reports);
each driver's distribution (1-4 and "vet ikke") and Spearman's rho between the
Levels of Use and the driver, with n, a p-value and a 95 % interval; for each result
item the share answering 3 or 4 ("good", "confident") of those who answered 1-4, with
its Wilson 95 % interval.

Statistics, from scipy:

* rho is Spearman's, ties by average ranks, over the answers that rate the driver
  (a "vet ikke" leaves that pair out);
* its p-value (two-sided) is a permutation test of the pairings
  (`scipy.stats.permutation_test`) when n <= PERMUTATION_UP_TO: exact when n! is at
  most RESAMPLES, else RESAMPLES random pairings from a fixed seed (the same request,
  the same answer); above that, scipy's t-approximation, accurate for such n;
* its interval is Fisher's z on the ranks (`scipy.stats.pearsonr(...)
  .confidence_interval()` of the average ranks, which is rho itself), for n >= 4;
* the Wilson interval is `scipy.stats.binomtest(...).proportion_ci("wilson")`.

Protection (`projections.group_disclosure`): nothing for a group with fewer answers
than the minimum, or hidden beside one; a question's figures are hidden in a group of
fewer than 10 where every answer is the same (a share of 0 % or 100 %), and beside it
where they could be worked out. rho is shown only where its question's figures are,
from `minimum` pairs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
import numpy as np
from scipy import stats

from domain.survey import DRIVERS, LEVELS_OF_USE, RESULT_ITEMS
from projections.group_disclosure import (
    Hierarchy,
    Question,
    all_in_one,
    extreme_share,
    hidden_answers,
    small_groups,
)

ALL = "all"
PERMUTATION_UP_TO = 30
RESAMPLES = 9999
SEED = 2026
DONT_KNOW = "vet-ikke"
LEVELS = tuple(str(level) for level in LEVELS_OF_USE)
SCALE = ("1", "2", "3", "4")
GOOD = frozenset({"3", "4"})


class Answer(msgspec.Struct, frozen=True):
    """One answer as the read model keeps it."""

    service: str
    sector: str
    level_of_use: int
    drivers: dict[str, int | None]
    results: dict[str, int | None]


class Levels(msgspec.Struct, frozen=True):
    counts: list[int]  # answers at levels 1..8
    median: float
    modes: list[int]
    mean: float


class Correlation(msgspec.Struct, frozen=True):
    rho: float
    n: int
    p_value: float
    exact: bool  # the p-value is a permutation test (exact or sampled), not t
    low: float | None
    high: float | None


class Driver(msgspec.Struct, frozen=True):
    code: str
    counts: list[int]  # answers 1..4
    dont_know: int
    correlation: Correlation | None  # None: too few pairs, or no variation


class Item(msgspec.Struct, frozen=True):
    code: str
    good: int
    answered: int  # answered 1-4
    dont_know: int
    share: float | None  # None when nobody answered 1-4
    low: float | None
    high: float | None


class GroupResult(msgspec.Struct, frozen=True):
    """A group's results. `answered` None: the group's figures are hidden. A
    question's figures are None where they are hidden (or nothing is shown)."""

    sector: str  # "all" for the municipality
    service: str  # "all" for a sector and the municipality
    invited: int
    answered: int | None
    response_rate: float | None  # answered / invited; None when hidden or none invited
    levels: Levels | None
    drivers: dict[str, Driver | None]
    results: dict[str, Item | None]


def answers_of(views: Any, round_id: str) -> list[Answer]:
    """A round's answers from the read model (projections/survey.py)."""
    rows = views.read("SELECT service, sector, level_of_use, drivers, results"
                      " FROM sv_answers WHERE round_id = ? ORDER BY position", (round_id,))
    return [Answer(service, sector, level, json.loads(drivers), json.loads(results))
            for service, sector, level, drivers, results in rows]


def spearman(levels: Iterable[int], ratings: Iterable[int]) -> Correlation | None:
    """Spearman's rho with its p-value and interval; None when a side does not vary
    or there are fewer than 3 pairs."""
    x, y = np.asarray(list(levels), float), np.asarray(list(ratings), float)
    n = len(x)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    pearson = stats.pearsonr(rx, ry)
    rho = float(pearson.statistic)
    if n <= PERMUTATION_UP_TO:
        # One sample: the ratings' ranks, paired in every order with the levels' (n!
        # pairings; permuting both sides would count each pairing n! times).
        test = stats.permutation_test(
            (ry,), lambda y, axis=-1: _rank_correlation(rx, y, axis),
            permutation_type="pairings", vectorized=True, n_resamples=RESAMPLES,
            alternative="two-sided", rng=np.random.default_rng(SEED))
        p_value, exact = float(test.pvalue), True
    else:
        p_value, exact = float(stats.spearmanr(x, y).pvalue), False
    low = high = None
    if n >= 4 and abs(rho) < 1:
        interval = pearson.confidence_interval(confidence_level=0.95)
        low, high = float(interval.low), float(interval.high)
    return Correlation(rho=rho, n=n, p_value=min(p_value, 1.0), exact=exact, low=low, high=high)


def _rank_correlation(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Pearson's r of rank vectors along `axis` (a permutation of ranks is ranks)."""
    xm = x - x.mean(axis=axis, keepdims=True)
    ym = y - y.mean(axis=axis, keepdims=True)
    return (xm * ym).sum(axis=axis) / np.sqrt((xm ** 2).sum(axis=axis) * (ym ** 2).sum(axis=axis))


def wilson(good: int, answered: int) -> tuple[float, float]:
    interval = stats.binomtest(good, answered).proportion_ci(0.95, method="wilson")
    return float(interval.low), float(interval.high)


def levels_of(values: list[int]) -> Levels:
    counts = [values.count(level) for level in LEVELS_OF_USE]
    most = max(counts)
    return Levels(counts=counts, median=float(np.median(values)),
                  modes=[level for level, k in zip(LEVELS_OF_USE, counts, strict=True)
                         if k == most],
                  mean=float(np.mean(values)))


def round_results(answers: list[Answer], services: Mapping[str, str],
                  invited: Mapping[str, int], minimum: int) -> list[GroupResult]:
    """The results of a round: the municipality, then each sector followed by its
    units (the round's services, {service: sector}, with the codes issued to each)."""
    tree = Hierarchy(_parents(services))
    members: dict[tuple[str, str], list[Answer]] = {g: [] for g in tree.groups}
    for a in answers:
        for g in ((a.sector, a.service), (a.sector, ALL), (ALL, ALL)):
            members[g].append(a)
    sizes = {g: len(members[g]) for g in tree.groups}
    size_hidden = small_groups(tree, sizes, minimum)

    def question(categories: tuple[str, ...], category_of: Any, flag: Any) -> set:
        counts = {g: _counts(categories, (category_of(a) for a in members[g]))
                  for g in tree.groups}
        flagged = {g: f for g in tree.groups
                   if g not in size_hidden and (f := flag(counts[g], sizes[g])) is not None}
        return hidden_answers(tree, sizes, size_hidden, Question(categories, counts, flagged))

    hidden_levels = question(LEVELS, lambda a: str(a.level_of_use), all_in_one)
    hidden_drivers = {d: question((*SCALE, DONT_KNOW), lambda a, d=d: _rating(a.drivers, d),
                                  all_in_one) for d in DRIVERS}
    hidden_items = {r: question((*SCALE, DONT_KNOW), lambda a, r=r: _rating(a.results, r),
                                lambda c, n: extreme_share(c, n, GOOD, frozenset(SCALE)))
                    for r in RESULT_ITEMS}
    out = []
    for g in tree.groups:
        group = members[g]
        sector, service = g
        count = sum(invited.get(s, 0) for s, sec in services.items()
                    if sector in (ALL, sec) and service in (ALL, s))
        if g in size_hidden or not group:
            answered = None if g in size_hidden else 0
            out.append(GroupResult(sector, service, count, answered, _rate(answered, count),
                                   None, dict.fromkeys(DRIVERS), dict.fromkeys(RESULT_ITEMS)))
            continue
        levels_shown = g not in hidden_levels
        drivers: dict[str, Driver | None] = {}
        for d in DRIVERS:
            if g in hidden_drivers[d]:
                drivers[d] = None
                continue
            ratings = [a.drivers.get(d) for a in group]
            pairs = [(a.level_of_use, r) for a, r in zip(group, ratings, strict=True)
                     if r is not None]
            correlation = None
            if levels_shown and len(pairs) >= minimum:
                correlation = spearman([p[0] for p in pairs], [p[1] for p in pairs])
            drivers[d] = Driver(d, [ratings.count(v) for v in (1, 2, 3, 4)],
                                ratings.count(None), correlation)
        items: dict[str, Item | None] = {}
        for r in RESULT_ITEMS:
            if g in hidden_items[r]:
                items[r] = None
                continue
            ratings = [a.results.get(r) for a in group]
            answered = sum(v is not None for v in ratings)
            good = sum(v is not None and v >= 3 for v in ratings)
            low, high = wilson(good, answered) if answered else (None, None)
            items[r] = Item(r, good, answered, ratings.count(None),
                            good / answered if answered else None, low, high)
        out.append(GroupResult(
            sector, service, count, len(group), _rate(len(group), count),
            levels_of([a.level_of_use for a in group]) if levels_shown else None,
            drivers, items))
    return out


def _rate(answered: int | None, invited: int) -> float | None:
    return None if answered is None or invited == 0 else answered / invited


def _parents(services: Mapping[str, str]) -> dict[tuple[str, str], tuple[str, str] | None]:
    parents: dict[tuple[str, str], tuple[str, str] | None] = {(ALL, ALL): None}
    for sector in sorted(set(services.values())):
        parents[(sector, ALL)] = (ALL, ALL)
        for service in sorted(s for s, sec in services.items() if sec == sector):
            parents[(sector, service)] = (sector, ALL)
    return parents


def _rating(ratings: Mapping[str, int | None], code: str) -> str:
    value = ratings.get(code)
    return DONT_KNOW if value is None else str(value)


def _counts(categories: tuple[str, ...], values: Iterable[str]) -> dict[str, int]:
    counts = dict.fromkeys(categories, 0)
    for v in values:
        counts[v] += 1
    return counts


def mean_to_one_decimal(levels: Levels) -> str:
    """The mean as earlier reports give it (one decimal, comma)."""
    return f"{math.floor(levels.mean * 10 + 0.5) / 10:.1f}".replace(".", ",")
