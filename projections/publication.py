"""What evaluators get: the released tables, each worked out once and kept as released.

The rules, and why (docs/indicators.md, "How the numbers are protected"):

* **Only ended periods are published.** A month is released once it has ended
  (UTC), with the quarter, half-year and year it ends. A running total of an
  open period would change with every new case, and two looks at it a day apart
  would count the children of that day.
* **One pattern for the whole grid.** The hidden cells are worked out once over
  every municipality and the national total, never per evaluator. An evaluator
  gets the cells of their municipalities cut from it; their `all` is the national
  total when they act for every municipality, else the sum of their own
  published cells (hidden when one of them is hidden), which tells nothing new.
* **A released table never changes.** Months are released in order; a release
  works out only the cells of its own periods and keeps every earlier cell as it
  was published. It is stored (`stat_release`, `stat_table`) with the version of
  the protection rule and a fingerprint of the data it was made from, and served
  from there: a request reads one stored table, it never recounts or solves.
* **Protection across releases.** What a release publishes must not undo the
  protection of an earlier one: an earlier hidden cell's protection is a table
  an attacker cannot rule out (a *certificate*, `projections/protection.py`);
  the part of it on cells that later relations reach (the holders at the end of
  the month, the months of a quarter still running) is carried with the release,
  and the next release extends it over its own cells. So a release costs the
  same whatever the length of the history.

The attacker's knowledge as arithmetic is `projections/system.py`; the choice of
the hidden cells is `projections/protection.py`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from domain.values import SECTORS
from projections.indicators import (
    ALL,
    CLOSED,
    COUNTED,
    INDICATORS,
    LEVELS,
    MEASURE_RULES,
    MEASURED,
    Counts,
    PublishedCell,
    combine,
    count_month,
)
from projections.periods import Period, periods_of_year
from projections.protection import Policy, protect
from projections.runner import ViewStore
from projections.system import HOLDERS, CellKey, Kinds, build, groups, is_month

Month = tuple[int, int]  # (year, month)
KIND = {i.key: i.kind for i in INDICATORS}
KINDS = Kinds(frozenset(k for k, kind in KIND.items() if kind == "stock"))
# A measure is published only where the counts behind it are (docs/indicators.md):
# the number of records it is taken over is their sum.
MEASURE_COUNTS: dict[str, tuple[str, ...]] = {
    "handover_days_median": ("handovers_completed",),
    "satisfaction_mean": ("satisfaction_answers",),
    "case_duration_days_median": CLOSED,
}
# Releases made under the first rule (exact derivation only) were kept here; they
# are withdrawn (docs/indicators.md, "Policy versions").
WITHDRAWN_TABLES = ("stat_releases",)


def label(month: Month) -> str:
    return f"{month[0]}-{month[1]:02d}"


def _after(month: Month) -> Month:
    return (month[0] + 1, 1) if month[1] == 12 else (month[0], month[1] + 1)


def ending_with(month: Month) -> list[Period]:
    """The periods released when `month` ends: the month, and the quarter, half-year
    and year it ends, finest first."""
    end = Period(month[0], month[1], 1).end
    return sorted(
        (p for p in periods_of_year(month[0]) if p.end == end), key=lambda p: p.months
    )


def released_with(period: Period) -> Month:
    """The month whose release publishes `period`: its last."""
    return (period.year, period.first_month + period.months - 1)


def has_ended(period: Period, today: date) -> bool:
    return period.end <= today


def policy_id(policy: Policy) -> str:
    """What a stored release must have been made under to be served."""
    return f"v{policy.version}-t{policy.threshold}-m{policy.min_answers_for_mean}"


def coordinates(municipalities: Sequence[str]) -> list[tuple[str, str, str]]:
    """The grid of every table, in the order a stored table lists its cells."""
    return list(itertools.product((*municipalities, ALL), (*SECTORS, ALL), (*LEVELS, ALL)))


def _referenced_later(key: CellKey, month: Month) -> bool:
    """Whether a cell of a release up to `month` is a term of a relation of a later
    release: the holders at the end of `month` (next month's balance), and the flows
    of the months, quarters and half-year of the year that later periods add up."""
    year, m = month
    if key.indicator == HOLDERS:
        return key.period == label(month) and ALL not in key[1:4]
    if KIND.get(key.indicator) != "flow" or key.period[:4] != str(year) or m == 12:
        return False
    if is_month(key.period):
        return m % 3 != 0 and (int(key.period[5:7]) - 1) // 3 == (m - 1) // 3
    if key.period[5] == "Q":
        return m % 6 != 0 and (int(key.period[6]) - 1) // 2 == (m - 1) // 6
    return key.period == f"{year}-H1"  # a half-year: H1, until the year ends


# --------------------------------------------------------------------------- stored tables


@dataclass(frozen=True)
class Table:
    """One released period as served: counts (None where hidden) and measures (None
    where not published), over the grid of the municipalities of its release."""

    period: str
    municipalities: tuple[str, ...]
    released_at: str
    counts: dict[str, list[int | None]]
    measures: dict[str, list[float | None]]
    # The cuts asked for, kept with the table (a released table never changes).
    _cuts: dict[tuple[tuple[str, ...], str | None], list[PublishedCell]] = field(
        default_factory=dict, compare=False, repr=False)

    def to_json(self) -> str:
        return json.dumps({
            "municipalities": self.municipalities, "released_at": self.released_at,
            "counts": self.counts, "measures": self.measures,
        }, separators=(",", ":"))

    @classmethod
    def from_json(cls, period: str, text: str) -> Table:
        body = json.loads(text)
        return cls(period, tuple(body["municipalities"]), body["released_at"],
                   body["counts"], body["measures"])

    @classmethod
    def zeros(cls, period: str) -> Table:
        """The table of a period before the first case: every count 0, no measure."""
        return cls(period, (), "", {}, {})

    def _value(self, indicator: str, m: str, s: str, lvl: str) -> tuple[float | int | None, bool]:
        if m not in self.municipalities and (m != ALL or not self.municipalities):
            # no case there yet: zeros
            return (None, True) if indicator in MEASURED else (0, False)
        position = self._position(m, s, lvl)
        if indicator in MEASURED:
            value = self.measures[indicator][position]
            return value, value is None
        count = self.counts[indicator][position]
        return count, count is None

    def _position(self, m: str, s: str, lvl: str) -> int:
        mi = len(self.municipalities) if m == ALL else self.municipalities.index(m)
        si = len(SECTORS) if s == ALL else SECTORS.index(s)
        li = len(LEVELS) if lvl == ALL else LEVELS.index(lvl)
        return (mi * (len(SECTORS) + 1) + si) * (len(LEVELS) + 1) + li

    def cells(self, scope: Sequence[str], municipality: str | None = None) -> list[PublishedCell]:
        """The table for an evaluator's municipalities (or one of them)."""
        own = tuple(sorted(set(scope)))
        cut = self._cuts.get((own, municipality))
        if cut is None:
            cut = self._cuts[own, municipality] = self._cut(own, municipality)
        return cut

    def _cut(self, own: tuple[str, ...], municipality: str | None) -> list[PublishedCell]:
        national = set(own) >= set(self.municipalities)
        shown = (municipality,) if municipality else (*own, ALL)
        out: list[PublishedCell] = []
        for indicator in (*COUNTED, *MEASURED):
            measure = indicator in MEASURED
            for m in shown:
                for s in (*SECTORS, ALL):
                    for lvl in (*LEVELS, ALL):
                        if m != ALL or national:
                            value, hidden = self._value(indicator, m, s, lvl)
                        elif len(own) == 1:
                            value, hidden = self._value(indicator, own[0], s, lvl)
                        elif measure:  # a median of medians is no median
                            value, hidden = None, True
                        else:  # the sum of the evaluator's own published cells
                            parts = [self._value(indicator, o, s, lvl) for o in own]
                            hidden = any(h for _, h in parts)
                            value = None if hidden else sum(v or 0 for v, _ in parts)
                        out.append(PublishedCell(indicator, self.period, m, s, lvl, value, hidden))
        return out


class Released:
    """The stored tables, as requests read them: one row per request, no work."""

    def __init__(self, views: ViewStore, policy: Policy) -> None:
        self.views = views
        self.policy = policy
        self.policy_id = policy_id(policy)
        create_tables(views)
        self._cache: dict[str, tuple[str, Table]] = {}
        self._lock = threading.Lock()

    def table(self, period: str) -> Table | None:
        rows = self.views.read(
            "SELECT fingerprint FROM stat_table WHERE period = ? AND policy = ?",
            (period, self.policy_id),
        )
        if not rows:
            return None
        (fingerprint,) = rows[0]
        with self._lock:
            cached = self._cache.get(period)
            if cached is not None and cached[0] == fingerprint:
                return cached[1]
        rows = self.views.read(
            "SELECT body FROM stat_table WHERE period = ? AND fingerprint = ?",
            (period, fingerprint),
        )
        if not rows:  # released again meanwhile
            return self.table(period)
        table = Table.from_json(period, rows[0][0])
        with self._lock:
            self._cache[period] = (fingerprint, table)
        return table

    def latest(self) -> str | None:
        """The last month released under this policy."""
        rows = self.views.read(
            "SELECT max(month) FROM stat_release WHERE policy = ?", (self.policy_id,)
        )
        return rows[0][0] if rows else None


def create_tables(views: ViewStore) -> None:
    with views.database.transaction("ddl") as db:
        for old in WITHDRAWN_TABLES:
            db.execute(f"DROP TABLE IF EXISTS {old}")
        db.execute(
            "CREATE TABLE IF NOT EXISTS stat_release (month TEXT PRIMARY KEY, policy TEXT"
            " NOT NULL, fingerprint TEXT NOT NULL, released_at TEXT NOT NULL,"
            " hidden INTEGER NOT NULL, cells INTEGER NOT NULL, carry TEXT NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS stat_table (period TEXT PRIMARY KEY, month TEXT"
            " NOT NULL, policy TEXT NOT NULL, fingerprint TEXT NOT NULL, body TEXT NOT NULL)"
        )


# --------------------------------------------------------------------------- releasing


Carry = list[list[dict[CellKey, float]]]  # per group, the certificates carried


class Publisher:
    """Releases every ended month that is not released yet, in order, and stores it.

    A stored release is kept while the data of every month up to it is what it was
    and the rule is the same (a fingerprint chain that starts from the policy), so a
    restart works out nothing that is stored, and a change of an ended month (a
    rebuilt view with other events) releases again from that month on.
    """

    def __init__(self, views: ViewStore, policy: Policy) -> None:
        self.views = views
        self.policy = policy
        self.policy_id = policy_id(policy)
        self.groups = groups(COUNTED)
        self._counts: dict[Month, tuple[int, Counts]] = {}
        self._lock = threading.Lock()
        create_tables(views)

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

    def pending(self, today: date) -> list[Month]:
        """The ended months not released (validly) yet."""
        months, fingerprints = self._chain(today)
        stored = dict(self.views.read(
            "SELECT month, fingerprint FROM stat_release WHERE policy = ?", (self.policy_id,)
        ))
        for n, month in enumerate(months):
            if stored.get(label(month)) != fingerprints[n]:
                return months[n:]
        return []

    def _chain(self, today: date) -> tuple[list[Month], list[str]]:
        months = self.months(today)
        changes = dict(self.views.read("SELECT month, changes FROM stat_changes"))
        fingerprint = self.policy_id
        out = []
        for month in months:
            fingerprint = hashlib.sha256(
                f"{fingerprint}|{label(month)}|{changes.get(label(month), 0)}".encode()
            ).hexdigest()
            out.append(fingerprint)
        return months, out

    def release(
        self,
        today: date,
        *,
        stop: threading.Event | None = None,
        now: Callable[[], datetime] | None = None,
        progress: Callable[[str, float], None] | None = None,
    ) -> int:
        """Release the ended months not released yet, oldest first; how many were."""
        with self._lock:
            months, fingerprints = self._chain(today)
            stored = dict(self.views.read(
                "SELECT month, fingerprint FROM stat_release WHERE policy = ?",
                (self.policy_id,),
            ))
            start = 0
            while start < len(months) and stored.get(label(months[start])) == fingerprints[start]:
                start += 1
            with self.views.database.transaction(None) as db:
                # A release that no longer holds (other data, another rule) is withdrawn,
                # with every release after it.
                first = label(months[start]) if start < len(months) else "9999"
                db.execute("DELETE FROM stat_release WHERE month >= ? OR policy != ?",
                           (first, self.policy_id))
                db.execute("DELETE FROM stat_table WHERE month >= ? OR policy != ?",
                           (first, self.policy_id))
            if start == len(months):
                return 0
            carry = self._carried(months[start - 1]) if start else [[] for _ in self.groups]
            municipalities = tuple(m for (m,) in self.views.read(
                "SELECT DISTINCT municipality FROM stat_cases ORDER BY 1"))
            done = 0
            for n in range(start, len(months)):
                if stop is not None and stop.is_set():
                    break
                clock = now() if now else datetime.now(UTC)
                began = datetime.now(UTC)
                carry = self._release(months[n], months[0], fingerprints[n], carry,
                                      municipalities, clock)
                done += 1
                if progress is not None:
                    progress(label(months[n]), (datetime.now(UTC) - began).total_seconds())
            return done

    # -- one month --------------------------------------------------------------------

    def _month_counts(self, month: Month) -> Counts:
        (stamp,) = self.views.read(
            "SELECT coalesce(max(changes), 0) FROM stat_changes WHERE month = ?", (label(month),)
        )[0]
        cached = self._counts.get(month)
        if cached is None or cached[0] != stamp:
            cached = (stamp, count_month(self.views, *month))
            self._counts[month] = cached
        # Only the months of the running year are needed again.
        for old in [m for m in self._counts if m[0] < month[0]]:
            del self._counts[old]
        return cached[1]

    def _release(
        self,
        month: Month,
        first: Month,
        fingerprint: str,
        carry: Carry,
        municipalities: tuple[str, ...],
        now: datetime,
    ) -> Carry:
        periods = ending_with(month)
        values: dict[CellKey, int] = {}
        samples: dict[CellKey, list[float]] = {}
        for period in periods:
            if period.months == 1:
                counts = self._month_counts(month)
            else:
                counts = combine(period, [
                    self._month_counts((period.year, m))
                    for m in range(period.first_month, period.first_month + period.months)
                ])
            values.update(counts.counts)
            samples.update(counts.samples)
        labels = [p.label for p in periods]
        hidden: set[CellKey] = set()
        new_carry: Carry = []
        for g, group in enumerate(self.groups):
            system = build(group, labels, municipalities, values, KINDS, label(first))
            frontiers = carry[g] if g < len(carry) else []
            outcome = protect(system, self.policy, [
                {k: round(d) if abs(d - round(d)) < 1e-9 else d for k, d in f.items()}
                for f in frontiers
            ])
            hidden.update(system.keys[i] for i in outcome.hidden)  # type: ignore[misc]
            kept: list[dict[CellKey, float]] = []
            seen: set[tuple[tuple[CellKey, float], ...]] = set()

            def keep(delta: Mapping[CellKey, float]) -> None:
                part = {k: d for k, d in delta.items()
                        if abs(d) > 1e-9 and _referenced_later(k, month)}
                signature = tuple(sorted(part.items()))
                if part and signature not in seen:
                    seen.add(signature)
                    kept.append(part)

            for number, frontier in enumerate(frontiers):
                extension = outcome.certificates[outcome.extensions[number]].delta
                keep({**frontier, **{system.keys[i]: d for i, d in extension.items()}})  # type: ignore[misc]
            for up, down in outcome.proofs.values():
                for number in (up, down):
                    if number is not None:
                        keep({system.keys[i]: d  # type: ignore[misc]
                              for i, d in outcome.certificates[number].delta.items()})
            new_carry.append(kept)
        self._store(month, fingerprint, periods, municipalities, values, samples, hidden,
                    new_carry, now)
        return new_carry

    def _store(
        self,
        month: Month,
        fingerprint: str,
        periods: Sequence[Period],
        municipalities: tuple[str, ...],
        values: Mapping[CellKey, int],
        samples: Mapping[CellKey, list[float]],
        hidden: set[CellKey],
        carry: Carry,
        now: datetime,
    ) -> None:
        coords = coordinates(municipalities)
        released_at = now.astimezone(UTC).isoformat(timespec="seconds")
        bodies = []
        total = shown = 0
        for period in periods:
            counts: dict[str, list[int | None]] = {}
            for indicator in COUNTED:
                column: list[int | None] = []
                for m, s, lvl in coords:
                    key = KINDS.canonical(CellKey(period.label, m, s, lvl, indicator))
                    column.append(None if key in hidden else values.get(
                        CellKey(period.label, m, s, lvl, indicator), 0))
                counts[indicator] = column
                total += len(column)
                shown += sum(v is not None for v in column)
            measures: dict[str, list[float | None]] = {}
            for indicator in MEASURED:
                rule = MEASURE_RULES[indicator][1]
                behind = MEASURE_COUNTS[indicator]
                column_m: list[float | None] = []
                for position, (m, s, lvl) in enumerate(coords):
                    answers = samples.get(CellKey(period.label, m, s, lvl, indicator), [])
                    visible = all(counts[c][position] is not None for c in behind)
                    column_m.append(
                        round(rule(answers), 1)
                        if visible and len(answers) >= self.policy.min_answers_for_mean
                        else None
                    )
                measures[indicator] = column_m
            table = Table(period.label, municipalities, released_at, counts, measures)
            bodies.append((period.label, table.to_json()))
        carried = json.dumps([[[[*k, d] for k, d in cert.items()] for cert in group]
                              for group in carry], separators=(",", ":"))
        with self.views.database.transaction(None) as db:
            db.execute(
                "INSERT INTO stat_release (month, policy, fingerprint, released_at, hidden,"
                " cells, carry) VALUES (?, ?, ?, ?, ?, ?, ?)"
                # Another process's releaser may have stored the same release (it is a
                # pure function of the same data): keep the first.
                " ON CONFLICT (month) DO NOTHING",
                (label(month), self.policy_id, fingerprint, released_at, total - shown, total,
                 carried),
            )
            for period_label, body in bodies:
                db.execute(
                    "INSERT INTO stat_table (period, month, policy, fingerprint, body)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (period) DO NOTHING",
                    (period_label, label(month), self.policy_id, fingerprint, body),
                )

    def _carried(self, month: Month) -> Carry:
        (text,) = self.views.read(
            "SELECT carry FROM stat_release WHERE month = ?", (label(month),)
        )[0]
        return [
            [{CellKey(*term[:5]): float(term[5]) for term in cert} for cert in group]
            for group in json.loads(text)
        ]

    def hidden_share(self) -> tuple[int, int]:
        """Hidden and all cells of every stored release."""
        (hidden, cells) = self.views.read(
            "SELECT coalesce(sum(hidden), 0), coalesce(sum(cells), 0) FROM stat_release"
            " WHERE policy = ?", (self.policy_id,)
        )[0]
        return int(hidden), int(cells)
