"""The training register's read model, and the activity indicators as at a day.

A projection of events (never of aggregates): the trainings recorded
(`TrainingRecorded`, `TrainingRemoved`), the staff directory as it was on each day
(`StaffRegistered`, `StaffChanged`, `StaffDeactivated`, `StaffReactivated`), each
service's sector (`ServiceRegistered`), and who has held a baton (the worker who
opens a case holds it, `CaseOpened`; the one who accepts a handover takes it,
`HandoverAccepted`): "experienced as stafettholder" comes from the cases, never from
typing. No name or address is kept here, only staff ids.

`shares_at(views, day)` counts, for each municipality, sector and service, the
active staff on that day (those with a service: the denominator) and how many of
them had each training by that day (the numerator); "stafettholders trained in the
role" is counted among those who had held a baton by then. A person counts in each
municipality they act for, once per municipality.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date
from typing import Any, NamedTuple

from domain import events as ev
from domain.aggregate import DomainEvent
from domain.training import TRAININGS, TrainingRecorded, TrainingRemoved
from projections.group_disclosure import (
    Hierarchy,
    Question,
    extreme_share,
    hidden_answers,
    small_groups,
    unknown_count,
)

# The activity indicators, in the order of the indicator tables.
HELD_BATON = "erfaring-som-stafettholder"
HOLDERS_TRAINED = "stafettholdere-med-opplaering"
INDICATORS: tuple[str, ...] = (
    *(t for t in TRAININGS if t != "stafettholderrollen"), HELD_BATON, HOLDERS_TRAINED)
ALL = "all"

_STAFF_EVENTS = (ev.StaffRegistered, ev.StaffChanged, ev.StaffDeactivated, ev.StaffReactivated)


class TrainingProjection:
    name = "training"
    topics = frozenset(cls.__name__ for cls in (
        TrainingRecorded, TrainingRemoved, ev.ServiceRegistered, ev.CaseOpened,
        ev.HandoverAccepted, *_STAFF_EVENTS))
    TABLES = ("tr_trainings", "tr_staff", "tr_services", "tr_holders")

    def create(self, db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS tr_trainings (staff_id TEXT NOT NULL,"
                   " training TEXT NOT NULL, day TEXT NOT NULL,"
                   " PRIMARY KEY (staff_id, training, day))")
        # The directory as it was: one row per change (the last of a day wins).
        db.execute("CREATE TABLE IF NOT EXISTS tr_staff (staff_id TEXT NOT NULL,"
                   " day TEXT NOT NULL, position BIGINT NOT NULL, service TEXT,"
                   " municipalities TEXT NOT NULL, active INTEGER NOT NULL,"
                   " PRIMARY KEY (staff_id, position))")
        db.execute("CREATE TABLE IF NOT EXISTS tr_services (service_id TEXT PRIMARY KEY,"
                   " sector TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS tr_holders (staff_id TEXT PRIMARY KEY,"
                   " since TEXT NOT NULL)")

    def clear(self, db: sqlite3.Connection) -> None:
        for table in self.TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def apply(self, db: sqlite3.Connection, event: DomainEvent, position: int) -> None:
        day = event.timestamp.date().isoformat()
        if isinstance(event, TrainingRecorded):
            db.execute("INSERT INTO tr_trainings (staff_id, training, day) VALUES (?, ?, ?)"
                       " ON CONFLICT DO NOTHING",
                       (event.staff_id, event.training, event.on.isoformat()))
        elif isinstance(event, TrainingRemoved):
            db.execute("DELETE FROM tr_trainings WHERE staff_id = ? AND training = ? AND day = ?",
                       (event.staff_id, event.training, event.on.isoformat()))
        elif isinstance(event, ev.ServiceRegistered):
            db.execute("INSERT INTO tr_services (service_id, sector) VALUES (?, ?)"
                       " ON CONFLICT DO NOTHING", (event.service_id, event.sector))
        elif isinstance(event, ev.StaffDetailsEvent):
            active = 1 if isinstance(event, ev.StaffRegistered) else self._active(db, event.staff_id)
            self._staff_row(db, event.staff_id, day, position, event.service,
                            ",".join(event.municipalities), active)
        elif isinstance(event, ev.StaffDeactivated | ev.StaffReactivated):
            last = self._last(db, event.staff_id)
            if last is not None:
                self._staff_row(db, event.staff_id, day, position, last[0], last[1],
                                1 if isinstance(event, ev.StaffReactivated) else 0)
        elif isinstance(event, ev.CaseOpened | ev.HandoverAccepted):
            db.execute("INSERT INTO tr_holders (staff_id, since) VALUES (?, ?)"
                       " ON CONFLICT DO NOTHING", (event.user, day))

    @staticmethod
    def _staff_row(db: sqlite3.Connection, staff_id: str, day: str, position: int,
                   service: str | None, municipalities: str, active: int) -> None:
        db.execute("INSERT INTO tr_staff (staff_id, day, position, service, municipalities,"
                   " active) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                   (staff_id, day, position, service, municipalities, active))

    @staticmethod
    def _last(db: sqlite3.Connection, staff_id: str) -> tuple[str | None, str] | None:
        row = db.execute("SELECT service, municipalities FROM tr_staff WHERE staff_id = ?"
                         " ORDER BY position DESC LIMIT 1", (staff_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def _active(self, db: sqlite3.Connection, staff_id: str) -> int:
        row = db.execute("SELECT active FROM tr_staff WHERE staff_id = ?"
                         " ORDER BY position DESC LIMIT 1", (staff_id,)).fetchone()
        return 1 if row is None else int(row[0])


# --- the queries -------------------------------------------------------------------------


class Share(NamedTuple):
    """One cell of the activity indicators: `numerator` of `denominator` people."""

    municipality: str  # "4225"
    sector: str  # "skole" or "all"
    service: str  # a service id, or "all"
    indicator: str
    numerator: int
    denominator: int


class StaffOnDay(NamedTuple):
    staff_id: str
    service: str
    sector: str
    municipalities: tuple[str, ...]


def staff_on(views: Any, day: date) -> list[StaffOnDay]:
    """The active staff with a service, as the directory was at the end of `day`."""
    rows = views.read(
        "SELECT s.staff_id, s.service, s.municipalities, s.active, v.sector FROM tr_staff s"
        " LEFT JOIN tr_services v ON v.service_id = s.service WHERE s.day <= ?"
        " ORDER BY s.staff_id, s.position", (day.isoformat(),))
    last: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        last[row[0]] = row
    return [StaffOnDay(staff_id, service, sector or "annet",
                       tuple(m for m in municipalities.split(",") if m))
            for staff_id, service, municipalities, active, sector in last.values()
            if active and service]


def trained_by(views: Any, day: date) -> dict[str, set[str]]:
    """Each staff member's trainings had by `day`."""
    had: dict[str, set[str]] = defaultdict(set)
    for staff_id, training in views.read(
            "SELECT DISTINCT staff_id, training FROM tr_trainings WHERE day <= ?",
            (day.isoformat(),)):
        had[staff_id].add(training)
    return had


def holders_by(views: Any, day: date) -> set[str]:
    """The staff who had held a baton by `day`."""
    return {staff_id for (staff_id,) in views.read(
        "SELECT staff_id FROM tr_holders WHERE since <= ?", (day.isoformat(),))}


def shares_at(views: Any, day: date, municipalities: tuple[str, ...] | None = None
              ) -> list[Share]:
    """The activity indicators as at the end of `day`, per municipality, sector and
    service, and their totals (`all`), for the given municipalities (or every one)."""
    staff = staff_on(views, day)
    had = trained_by(views, day)
    held = holders_by(views, day)
    # (municipality, sector, service) -> the people counted there
    groups: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for person in staff:
        for municipality in person.municipalities:
            if municipalities is not None and municipality not in municipalities:
                continue
            for key in ((municipality, person.sector, person.service),
                        (municipality, person.sector, ALL), (municipality, ALL, ALL)):
                groups[key].add(person.staff_id)
    out: list[Share] = []
    for (municipality, sector, service), people in sorted(groups.items()):
        experienced = people & held
        for indicator in INDICATORS:
            if indicator == HELD_BATON:
                numerator, denominator = len(experienced), len(people)
            elif indicator == HOLDERS_TRAINED:
                numerator = sum("stafettholderrollen" in had.get(p, ()) for p in experienced)
                denominator = len(experienced)
            else:
                numerator = sum(indicator in had.get(p, ()) for p in people)
                denominator = len(people)
            out.append(Share(municipality, sector, service, indicator, numerator, denominator))
    return out


def trainings_of(views: Any, staff_ids: list[str] | None = None
                 ) -> dict[str, dict[str, list[date]]]:
    """The register: staff id -> training -> the days they had it, in order."""
    rows = views.read("SELECT staff_id, training, day FROM tr_trainings"
                      " ORDER BY staff_id, training, day", ())
    out: dict[str, dict[str, list[date]]] = defaultdict(lambda: defaultdict(list))
    wanted = None if staff_ids is None else set(staff_ids)
    for staff_id, training, day in rows:
        if wanted is None or staff_id in wanted:
            out[staff_id][training].append(date.fromisoformat(day))
    return out


def held_baton(views: Any) -> dict[str, date]:
    """Who has held a baton, and since when."""
    return {s: date.fromisoformat(d) for s, d in views.read(
        "SELECT staff_id, since FROM tr_holders", ())}


class ShownShare(NamedTuple):
    """A cell of the activity indicators as an evaluator sees it: None where hidden
    (the numerator alone, or both when the group is too small)."""

    municipality: str
    sector: str
    service: str
    indicator: str
    numerator: int | None
    denominator: int | None


def protected_shares(shares: list[Share], minimum: int) -> list[ShownShare]:
    """The activity indicators with the rules of the survey's results
    (projections/group_disclosure.py): nothing for a group of fewer than `minimum`
    active staff, or hidden beside one; no share of 0 % or 100 % in a group under 10
    that could be worked out. "Stafettholders trained in the role" counts among the
    stafettholders, whose number is the numerator of "experienced as stafettholder":
    it is hidden wherever that is, and where there are fewer than `minimum` of them
    (with complements, so that the number trained cannot be worked out)."""
    out: list[ShownShare] = []
    by_municipality: dict[str, list[Share]] = defaultdict(list)
    for s in shares:
        by_municipality[s.municipality].append(s)
    for municipality, cells in sorted(by_municipality.items()):
        cell = {(s.sector, s.service, s.indicator): s for s in cells}
        parents: dict[tuple[str, str], tuple[str, str] | None] = {}
        for s in sorted(cells, key=lambda s: (s.sector != ALL, s.sector, s.service != ALL,
                                              s.service)):
            parents[(s.sector, s.service)] = (
                None if s.sector == ALL else (ALL, ALL) if s.service == ALL else (s.sector, ALL))
        tree = Hierarchy(parents)
        staff = {g: cell[(*g, INDICATORS[0])].denominator for g in tree.groups}
        staff_hidden = small_groups(tree, staff, minimum)

        def hidden(indicator: str, sizes: dict, size_hidden: set, small: bool) -> set:
            counts = {g: {"yes": cell[(*g, indicator)].numerator,
                          "no": sizes[g] - cell[(*g, indicator)].numerator}
                      for g in tree.groups}
            doubts = {}
            for g in tree.groups:
                if g in size_hidden:
                    continue
                if small and 0 < sizes[g] < minimum:
                    doubts[g] = unknown_count(counts[g], frozenset({"yes"}))
                elif (d := extreme_share(counts[g], sizes[g], frozenset({"yes"}),
                                         frozenset({"yes", "no"}))) is not None:
                    doubts[g] = d
            return hidden_answers(tree, sizes, size_hidden, Question(("yes", "no"), counts, doubts))

        hidden_of = {i: hidden(i, staff, staff_hidden, False)
                     for i in INDICATORS if i != HOLDERS_TRAINED}
        holders = {g: cell[(*g, HELD_BATON)].numerator for g in tree.groups}
        hidden_of[HOLDERS_TRAINED] = hidden(HOLDERS_TRAINED, holders, hidden_of[HELD_BATON], True)
        for g in tree.groups:
            for indicator in INDICATORS:
                s = cell[(*g, indicator)]
                gone = g in hidden_of[indicator]
                size_gone = (g in staff_hidden if indicator != HOLDERS_TRAINED
                             else g in hidden_of[HELD_BATON])
                out.append(ShownShare(municipality, s.sector, s.service, indicator,
                                      None if gone else s.numerator,
                                      None if size_gone else s.denominator))
    return out
