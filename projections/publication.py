"""What evaluators get: released periods, one suppression pattern for the whole grid,
kept as it was once released.

The rules, and why (bti-domain.md section 4):

* **Only ended periods are published.** A month is released once it has ended
  (UTC), a quarter, half-year or year with its last month. A running total of an
  open period would change with every new case, and two looks at it a day apart
  would count the children of that day: a period outside the fixed grid.
* **One pattern for the whole grid.** Suppression is worked out once over every
  municipality and the national total, never per evaluator. An evaluator gets
  the cells of their municipalities cut from it; their `all` is the national total
  when they act for every municipality, else the sum of their own published
  cells (hidden when one of them is hidden), which tells nothing new. So two
  evaluators with overlapping municipalities can never combine two patterns.
* **A released pattern never changes.** Months are released in order; each
  release works out the cells of the periods that end with it, keeping every
  earlier cell as it was published (hidden stays hidden, published stays
  published), as Eurostat keeps patterns across periods. The Q1 table asked in
  April is the Q1 table asked in November. It is a pure function of the data of
  the ended months, so the same request on the same data gets the same answer,
  whoever asked before. Facts of an ended month do not change (every event is
  stamped when it is recorded; a meeting recorded after its month counts in the
  month it was recorded: `projections/statistics.py`).
* **Linked tables are one system.** Children with a stafettholder at the end of a
  month = those at the end of the month before + cases opened + handovers and
  level changes in - handovers and level changes out - cases closed, in every
  (municipality, sector, level). The outgoing handovers and level changes are
  not published; they enter the system as unknowns ("unprotected": they need no
  protection, but an attacker may reason with them: their sums are published).
  Zero published totals make them known zeros.

The arithmetic is in `projections/disclosure.py`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from domain.values import SECTORS
from projections.disclosure import CellKey, Policy, Relation, grid_relations, suppress
from projections.indicators import (
    ALL,
    CLOSED,
    COUNTED,
    HANDOVERS_OUT,
    INDICATORS,
    LEVELS,
    MEASURE_RULES,
    MEASURED,
    TRANSITIONS_OUT,
    Counts,
    PublishedCell,
    combine,
    count_month,
)
from projections.periods import Period, periods_of_year
from projections.runner import ViewStore

Month = tuple[int, int]  # (year, month)
KIND = {i.key: i.kind for i in INDICATORS}


def _label(month: Month) -> str:
    return f"{month[0]}-{month[1]:02d}"


def _previous(month: Month) -> Month:
    return (month[0] - 1, 12) if month[1] == 1 else (month[0], month[1] - 1)


def _after(month: Month) -> Month:
    return (month[0] + 1, 1) if month[1] == 12 else (month[0], month[1] + 1)


def ending_with(month: Month) -> list[Period]:
    """The periods released when `month` ends: the month, and the quarter, half-year
    and year it ends, finest first."""
    end = Period(month[0], month[1], 1).end
    return sorted(
        (p for p in periods_of_year(month[0]) if p.end == end), key=lambda p: p.months
    )


def has_ended(period: Period, today: date) -> bool:
    return period.end <= today


def _sub_periods(period: Period) -> list[str]:
    """The periods a quarter, half-year or year is directly the sum of."""
    step = {3: 1, 6: 3, 12: 6}[period.months]
    return [
        Period(period.year, first, step).label
        for first in range(period.first_month, period.first_month + period.months, step)
    ]


@dataclass(frozen=True)
class Release:
    """The state after a month's release: what every released cell shows."""

    month: Month
    fingerprint: str
    hidden: frozenset[CellKey]  # every hidden published cell, up to this month
    added: frozenset[CellKey]  # the cells this release hid
    # The relations that still hold an unknown cell, and the unpublished unknowns in
    # them, for the next release; None for a release read back from the store until
    # a next release needs them.
    live: tuple[Relation, ...] | None
    unknown_aux: frozenset[CellKey] | None


@dataclass
class Publication:
    """Every released period: counts, the hidden cells, and the measures."""

    months: tuple[Month, ...]
    municipalities: tuple[str, ...]
    values: dict[CellKey, int]  # non-zero counts of released cells
    hidden: frozenset[CellKey]
    measures: dict[CellKey, float]  # published measures only (enough answers)
    policy: Policy

    def cells(
        self, period: str, scope: Sequence[str], municipality: str | None = None
    ) -> list[PublishedCell]:
        """The table of an ended period for an evaluator's municipalities (or one). A
        period before the first case is all zeros."""
        own = tuple(sorted(set(scope)))
        national = set(own) >= set(self.municipalities)
        shown = (municipality,) if municipality else (*own, ALL)
        out: list[PublishedCell] = []
        for indicator in (*COUNTED, *MEASURED):
            measure = KIND[indicator] == "measure"
            for m in shown:
                for s in (*SECTORS, ALL):
                    for lvl in (*LEVELS, ALL):
                        if m != ALL or national:
                            key = CellKey(period, m, s, lvl, indicator)
                            value, hidden = self._cell(key, measure)
                        elif len(own) == 1:
                            value, hidden = self._cell(
                                CellKey(period, own[0], s, lvl, indicator), measure
                            )
                        elif measure:  # a median of medians is no median
                            value, hidden = None, True
                        else:  # the sum of the evaluator's own published cells
                            parts = [
                                self._cell(CellKey(period, o, s, lvl, indicator), False)
                                for o in own
                            ]
                            hidden = any(h for _, h in parts)
                            value = None if hidden else sum(v for v, _ in parts)
                        out.append(
                            PublishedCell(indicator, period, m, s, lvl, value, hidden)
                        )
        return out

    def _cell(self, key: CellKey, measure: bool) -> tuple[float | int | None, bool]:
        if measure:
            value = self.measures.get(key)
            return value, value is None
        if key in self.hidden:
            return None, True
        return self.values.get(key, 0), False


class Publisher:
    """Works out the released patterns month by month and remembers them.

    Counts of a month are kept until its facts change (the statistics view's
    `stat_changes` counter); a release is kept while the data of every month up to
    it is what it was (a fingerprint chain), so a request only recounts what moved
    and a new month only works out its own periods.
    """

    def __init__(self, views: ViewStore, policy: Policy) -> None:
        self.views = views
        self.policy = policy
        self._counts: dict[Month, tuple[int, Counts]] = {}
        self._releases: list[Release] = []
        self._lock = threading.Lock()
        self._last: tuple[tuple[Month, ...], tuple[tuple[str, int], ...]] | None = None
        self._publication: Publication | None = None
        # Releases are kept in the view database too, so that a restart need not work
        # them out again: a cache, checked against the fingerprint of the data.
        with views.database.transaction("ddl") as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS stat_releases (month TEXT PRIMARY KEY,"
                " fingerprint TEXT NOT NULL, hidden TEXT NOT NULL)"
            )

    # -- what has data and what has ended --------------------------------------------

    def months(self, today: date) -> list[Month]:
        """Every ended month from the first with data, in order."""
        (first,) = self.views.read("SELECT min(opened_at) FROM stat_cases")[0]
        if first is None:
            return []
        month = (int(first[:4]), int(first[5:7]))
        out: list[Month] = []
        while has_ended(Period(month[0], month[1], 1), today):
            out.append(month)
            month = _after(month)
        return out

    def publish(self, today: date) -> Publication:
        with self._lock:
            months = tuple(self.months(today))
            changes = tuple(
                (m, c) for m, c in self.views.read("SELECT month, changes FROM stat_changes")
                if m <= (_label(months[-1]) if months else "")
            )
            if self._publication is not None and self._last == (months, tuple(sorted(changes))):
                return self._publication
            publication = self._publish(months, dict(changes))
            self._last = (months, tuple(sorted(changes)))
            self._publication = publication
            return publication

    # -- the work ---------------------------------------------------------------------

    def _month_counts(self, month: Month, changes: dict[str, int]) -> Counts:
        stamp = changes.get(_label(month), 0)
        cached = self._counts.get(month)
        if cached is None or cached[0] != stamp:
            cached = (stamp, count_month(self.views, *month))
            self._counts[month] = cached
        return cached[1]

    def _publish(self, months: Sequence[Month], changes: dict[str, int]) -> Publication:
        municipalities = tuple(
            m for (m,) in self.views.read("SELECT DISTINCT municipality FROM stat_cases ORDER BY 1")
        )
        values: dict[CellKey, int] = {}
        samples: dict[CellKey, list[float]] = {}
        by_month: dict[Month, Counts] = {}
        fingerprint = f"{self.policy}"
        kept: list[Release] = []
        for n, month in enumerate(months):
            by_month[month] = self._month_counts(month, changes)
            step_values: dict[CellKey, int] = {}
            for period in ending_with(month):
                parts = [by_month.get((period.year, m)) for m in range(
                    period.first_month, period.first_month + period.months)]
                counts = combine(period, [p for p in parts if p is not None]) \
                    if period.months > 1 else by_month[month]
                step_values.update(counts.counts)
                samples.update(counts.samples)
            values.update(step_values)
            fingerprint = hashlib.sha256(
                (fingerprint + repr(sorted(step_values.items()))).encode()
            ).hexdigest()
            memo = self._releases[n] if n < len(self._releases) else None
            if memo is not None and memo.month == month and memo.fingerprint == fingerprint and (
                n == 0 or kept[-1] is self._releases[n - 1]
            ):
                kept.append(memo)
                continue
            before = kept[-1] if kept else None
            stored = self._stored(month, fingerprint)
            if stored is not None:
                kept.append(Release(
                    month, fingerprint, (before.hidden if before else frozenset()) | stored,
                    stored, None, None,
                ))
                continue
            if before is not None and before.live is None:
                self._restore(kept, values, municipalities)
                before = kept[-1]
            kept.append(self._release(before, month, fingerprint, values, municipalities))
        self._releases = kept
        measures = {
            key: round(MEASURE_RULES[key.indicator][1](answers), 1)
            for key, answers in samples.items()
            if len(answers) >= self.policy.min_answers_for_mean
        }
        return Publication(
            months=tuple(months),
            municipalities=municipalities,
            values=values,
            hidden=kept[-1].hidden if kept else frozenset(),
            measures=measures,
            policy=self.policy,
        )

    def _restore(
        self, kept: list[Release], values: dict[CellKey, int], municipalities: Sequence[str]
    ) -> None:
        """Give releases read back from the store their relations again, in order."""
        for n, release in enumerate(kept):
            if release.live is None:
                before = kept[n - 1] if n else None
                kept[n] = self._release(
                    before, release.month, release.fingerprint, values, municipalities,
                    known=release.added,
                )

    def _release(
        self,
        before: Release | None,
        month: Month,
        fingerprint: str,
        values: dict[CellKey, int],
        municipalities: Sequence[str],
        known: frozenset[CellKey] | None = None,
    ) -> Release:
        """Work out the cells of the periods that end with `month`, keeping every
        earlier released cell as it is (`known`: what this release hid, as stored)."""
        new_keys, relations, aux, virtual = _system_of(month, before, values, municipalities)
        members: set[CellKey] = set(new_keys)
        for rel in relations:
            members.update(rel.members)
        new = set(new_keys)
        old_hidden = before.hidden if before else frozenset()
        unknown_aux = ((before.unknown_aux if before else frozenset()) | aux) & members
        if known is not None:
            hidden = known
        else:
            small = {k for k, v in virtual.items() if 1 <= v < self.policy.threshold}
            hidden = suppress(
                {**{k: values.get(k, 0) for k in members}, **virtual},
                relations,
                self.policy,
                fixed_hidden=(old_hidden & members) | small,
                fixed_published=members - new - old_hidden - unknown_aux - virtual.keys(),
                unprotected=unknown_aux | (virtual.keys() - small),
                focus=new_keys,
            ) - virtual.keys()
            hidden -= old_hidden
            self._store(month, fingerprint, hidden)
        all_hidden = old_hidden | hidden
        unknown = all_hidden | unknown_aux
        # The months-so-far cells matter for this release only: later releases have
        # the real cells (a relation that only defines a free unknown tells nothing).
        live = tuple(
            r for r in relations
            if r.total not in virtual and any(k in unknown for k in r.members)
        )
        live_members = {k for r in live for k in r.members}
        return Release(
            month=month,
            fingerprint=fingerprint,
            hidden=frozenset(all_hidden),
            added=frozenset(hidden),
            live=live,
            unknown_aux=frozenset(unknown_aux & live_members),
        )


    def _stored(self, month: Month, fingerprint: str) -> frozenset[CellKey] | None:
        rows = self.views.read(
            "SELECT fingerprint, hidden FROM stat_releases WHERE month = ?", (_label(month),)
        )
        if not rows or rows[0][0] != fingerprint:
            return None
        return frozenset(CellKey(*cell) for cell in json.loads(rows[0][1]))

    def _store(self, month: Month, fingerprint: str, hidden: Iterable[CellKey]) -> None:
        with self.views.database.transaction(None) as db:
            db.execute(
                "INSERT INTO stat_releases (month, fingerprint, hidden) VALUES (?, ?, ?)"
                " ON CONFLICT (month) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " hidden = excluded.hidden",
                (_label(month), fingerprint, json.dumps(sorted(hidden))),
            )


def _system_of(
    month: Month,
    before: Release | None,
    values: dict[CellKey, int],
    municipalities: Sequence[str],
) -> tuple[list[CellKey], list[Relation], set[CellKey], dict[CellKey, int]]:
    """The cells a month's release adds, the relations of the system it is worked
    out in (the earlier ones that still hold an unknown, and its own), the
    unpublished cells that are unknowns to an attacker, and the months-so-far
    cells of the periods still running, with their values.

    Months-so-far: the quarter, half-year or year a month does not end will be
    published later as the sum of its months. Should the months still to come be
    empty, it equals the sum of the months released so far, so that sum must not
    be given away now if it is a small count. It is protected as if published."""
    label = _label(month)
    periods = ending_with(month)
    coords = [
        (m, s, lvl)
        for m in (*municipalities, ALL)
        for s in (*SECTORS, ALL)
        for lvl in (*LEVELS, ALL)
    ]
    new_keys = [
        CellKey(p.label, m, s, lvl, indicator)
        for p in periods
        for indicator in COUNTED
        for m, s, lvl in coords
    ]
    relations = list(before.live) if before else []
    relations += grid_relations(new_keys, additive_over_time=False)
    for period in periods[1:]:  # a quarter, a half-year, a year
        subs = _sub_periods(period)
        for indicator in COUNTED:
            for m, s, lvl in coords:
                total = CellKey(period.label, m, s, lvl, indicator)
                if KIND[indicator] == "flow":
                    parts = tuple(CellKey(sub, m, s, lvl, indicator) for sub in subs)
                else:  # a stock as at the end of its last month
                    parts = (CellKey(label, m, s, lvl, indicator),)
                relations.append(Relation(total, parts))

    # The holders' balance, per fine cell, with the unpublished outgoing flows.
    before_label = _label(_previous(month)) if before is not None else None
    aux: set[CellKey] = set()
    for m in municipalities:
        for s in SECTORS:
            for lvl in LEVELS:
                def cell(indicator: str, period: str = label) -> CellKey:
                    return CellKey(period, m, s, lvl, indicator)  # noqa: B023

                out_h, out_t = cell(HANDOVERS_OUT), cell(TRANSITIONS_OUT)
                if values.get(CellKey(label, m, ALL, lvl, "handovers_completed"), 0):
                    aux.add(out_h)
                if values.get(CellKey(label, m, s, ALL, "level_transitions"), 0):
                    aux.add(out_t)
                parts = [cell("cases_opened"), cell("handovers_completed"),
                         cell("level_transitions")]
                if before_label is not None:
                    parts.append(cell("children_with_holder", before_label))
                relations.append(Relation(
                    cell("children_with_holder"), tuple(parts),
                    (out_h, out_t, *(cell(c) for c in CLOSED)),
                ))
        for lvl in LEVELS:  # every handover leaves one sector (at the same level)
            relations.append(Relation(
                CellKey(label, m, ALL, lvl, "handovers_completed"),
                tuple(CellKey(label, m, s, lvl, HANDOVERS_OUT) for s in SECTORS),
            ))
        for s in SECTORS:  # every level change leaves one level (in the same sector)
            relations.append(Relation(
                CellKey(label, m, s, ALL, "level_transitions"),
                tuple(CellKey(label, m, s, lvl, TRANSITIONS_OUT) for lvl in LEVELS),
            ))
    virtual: dict[CellKey, int] = {}
    released = {p.label for p in periods}
    for first in sorted({p.first_month for p in periods_of_year(month[0])
                         if p.first_month < month[1] < p.first_month + p.months}):
        span = [f"{month[0]}-{m:02d}" for m in range(first, month[1] + 1)]
        if any(Period(month[0], first, len(span)).label == r for r in released):
            continue
        name = f"{span[0]}..{span[-1]}"
        for indicator in COUNTED:
            if KIND[indicator] != "flow":
                continue
            for m, s, lvl in coords:
                parts = tuple(CellKey(p, m, s, lvl, indicator) for p in span)
                key = CellKey(name, m, s, lvl, indicator)
                virtual[key] = sum(values.get(p, 0) for p in parts)
                relations.append(Relation(key, parts))
    return new_keys, relations, aux, virtual

