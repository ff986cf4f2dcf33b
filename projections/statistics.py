"""The statistics projection: the facts the outcome indicators are counted from.

Reads case events only, and keeps nothing that identifies anyone: no names, no
identity numbers, no free text, no birth dates. What it keeps per case is a
pseudonymous child id (to count each child once), the municipality, and the
case's state over time as intervals (level, the holder's sector, whether it has a
koordinator, an ansvarsgruppe, an individual plan), plus one row per counted
happening (a case opened, a meeting, a handover completed, ...). Exact times stay
inside the view database; published tables only ever show counts per period.

Tables:
* `stat_cases`: one row per case with its current state (for the next event);
* `stat_intervals`: [start, end) intervals of an open case's state, for stocks
  "as at the end of the period";
* `stat_flows`: one row per happening, for flows "during the period", with the
  municipality, sector and level it is counted under and a value (days, a score).
* `stat_changes`: per month (`2026-03`), a counter that moves whenever a row that
  counts in that month is written, so published months are recounted only when
  their facts changed (which, once a month has ended, they do not).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from domain.calendar import day_of
from domain import events as ev
from domain.aggregate import DomainEvent


def instant(moment: datetime) -> str:
    """A sortable UTC text form of an instant."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def days_between(start: str, end: datetime) -> float:
    began = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    return round((end - began).total_seconds() / 86400, 3)


def calendar_days_between(start: str, end: datetime) -> int:
    """Whole calendar days (Norwegian dates, `domain.calendar.day_of`) from an instant to
    another, as the domain counts deadlines: a decision on the 14th day after the
    opening is within 14 days."""
    began = datetime.strptime(start, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    return (day_of(end) - day_of(began)).days


class StatisticsProjection:
    name = "statistics"
    topics = frozenset(
        cls.__name__
        for cls in (
            ev.CaseOpened,
            ev.Level0StepRecorded,
            ev.LevelChanged,
            ev.HandoverRequested,
            ev.HandoverAccepted,
            ev.HandoverDeclined,
            ev.HandoverCancelled,
            ev.CoordinatorAppointed,
            ev.CoordinatorReleased,
            ev.ResponsibilityGroupEstablished,
            ev.ResponsibilityGroupDissolved,
            ev.IndividualPlanStarted,
            ev.IndividualPlanEnded,
            ev.MeetingHeld,
            ev.ServiceBroughtInByLaw,
            ev.ActionAgreed,
            ev.ActionEvaluated,
            ev.SatisfactionAnswered,
            ev.CaseClosed,
        )
    )

    def create(self, db: sqlite3.Connection) -> None:
        db.execute(
            """CREATE TABLE IF NOT EXISTS stat_cases (
                case_id TEXT PRIMARY KEY, child_id TEXT NOT NULL, municipality TEXT NOT NULL,
                opened_at TEXT NOT NULL, status TEXT NOT NULL, level INTEGER NOT NULL,
                sector TEXT NOT NULL, coordinator INTEGER NOT NULL, grp INTEGER NOT NULL,
                plan INTEGER NOT NULL, level0_since TEXT, handover_requested_at TEXT)"""
        )
        db.execute(
            """CREATE TABLE IF NOT EXISTS stat_intervals (
                case_id TEXT NOT NULL, child_id TEXT NOT NULL, municipality TEXT NOT NULL,
                start TEXT NOT NULL, "end" TEXT, level INTEGER NOT NULL, sector TEXT NOT NULL,
                coordinator INTEGER NOT NULL, grp INTEGER NOT NULL, plan INTEGER NOT NULL)"""
        )
        db.execute(
            "CREATE INDEX IF NOT EXISTS stat_intervals_open ON stat_intervals (case_id, \"end\")"
        )
        db.execute(
            """CREATE TABLE IF NOT EXISTS stat_flows (
                kind TEXT NOT NULL, at TEXT NOT NULL, municipality TEXT NOT NULL,
                sector TEXT NOT NULL, level INTEGER NOT NULL, value DOUBLE PRECISION, detail TEXT)"""
        )
        db.execute("CREATE INDEX IF NOT EXISTS stat_flows_at ON stat_flows (at)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS stat_actions (action_id TEXT PRIMARY KEY, evaluated INTEGER NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS stat_changes (month TEXT PRIMARY KEY, changes INTEGER NOT NULL)"
        )

    def clear(self, db: sqlite3.Connection) -> None:
        for table in ("stat_cases", "stat_intervals", "stat_flows", "stat_actions", "stat_changes"):
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    # --- applying events ----------------------------------------------------------

    def apply(self, db: sqlite3.Connection, event: DomainEvent, position: int) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(db, event)

    def _case(self, db: sqlite3.Connection, case_id: object) -> sqlite3.Row | tuple:
        row = db.execute(
            "SELECT child_id, municipality, opened_at, status, level, sector, coordinator, grp, plan,"
            " level0_since, handover_requested_at FROM stat_cases WHERE case_id = ?",
            (str(case_id),),
        ).fetchone()
        assert row is not None, "an event of a case that was never opened"
        return row

    def _changed(self, db: sqlite3.Connection, at: str) -> None:
        """Something that counts from the month of `at` on has changed."""
        db.execute(
            "INSERT INTO stat_changes (month, changes) VALUES (?, 1)"
            " ON CONFLICT (month) DO UPDATE SET changes = stat_changes.changes + 1",
            (at[:7],),
        )

    def _flow(
        self, db: sqlite3.Connection, kind: str, event: ev.CaseEvent, *,
        at: str | None = None, sector: str | None = None, level: int | None = None,
        value: float | None = None, detail: str | None = None,
    ) -> None:
        row = self._case(db, event.originator_id)
        at = at or instant(event.timestamp)
        self._changed(db, at)
        db.execute(
            "INSERT INTO stat_flows (kind, at, municipality, sector, level, value, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                kind,
                at,
                row[1],
                sector if sector is not None else row[5],
                level if level is not None else row[4],
                value,
                detail,
            ),
        )

    def _change(self, db: sqlite3.Connection, event: ev.CaseEvent, **changes: object) -> None:
        """Move the case's state: close the current interval, open a new one."""
        case_id = str(event.originator_id)
        when = instant(event.timestamp)
        self._changed(db, when)
        db.execute(
            f"UPDATE stat_cases SET {', '.join(f'{k} = ?' for k in changes)} WHERE case_id = ?",  # noqa: S608
            (*changes.values(), case_id),
        )
        db.execute(
            'UPDATE stat_intervals SET "end" = ? WHERE case_id = ? AND "end" IS NULL',
            (when, case_id),
        )
        row = self._case(db, case_id)
        if row[3] == "open":
            db.execute(
                "INSERT INTO stat_intervals (case_id, child_id, municipality, start, \"end\", level,"
                " sector, coordinator, grp, plan) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
                (case_id, row[0], row[1], when, row[4], row[5], row[6], row[7], row[8]),
            )

    def _on_CaseOpened(self, db: sqlite3.Connection, e: ev.CaseOpened) -> None:
        when = instant(e.timestamp)
        self._changed(db, when)
        db.execute(
            "INSERT INTO stat_cases (case_id, child_id, municipality, opened_at, status, level,"
            " sector, coordinator, grp, plan, level0_since) VALUES (?, ?, ?, ?, 'open', 0, ?, 0, 0, 0, ?)",
            (str(e.originator_id), str(e.child_id), e.municipality, when, e.sector, when),
        )
        db.execute(
            "INSERT INTO stat_intervals (case_id, child_id, municipality, start, \"end\", level,"
            " sector, coordinator, grp, plan) VALUES (?, ?, ?, ?, NULL, 0, ?, 0, 0, 0)",
            (str(e.originator_id), str(e.child_id), e.municipality, when, e.sector),
        )
        self._flow(db, "case_opened", e, sector=e.sector, level=0)

    def _on_Level0StepRecorded(self, db: sqlite3.Connection, e: ev.Level0StepRecorded) -> None:
        if e.step == "beslutning":
            since = self._case(db, e.originator_id)[9]
            self._flow(
                db, "level0_decision", e, level=0, value=calendar_days_between(since, e.timestamp)
            )

    def _on_LevelChanged(self, db: sqlite3.Connection, e: ev.LevelChanged) -> None:
        extra = {"level0_since": instant(e.timestamp)} if e.to_level == 0 else {}
        self._change(db, e, level=e.to_level, **extra)
        self._flow(db, "level_transition", e, level=e.to_level, detail=f"{e.from_level}-{e.to_level}")

    def _on_HandoverRequested(self, db: sqlite3.Connection, e: ev.HandoverRequested) -> None:
        db.execute(
            "UPDATE stat_cases SET handover_requested_at = ? WHERE case_id = ?",
            (instant(e.timestamp), str(e.originator_id)),
        )

    def _on_HandoverAccepted(self, db: sqlite3.Connection, e: ev.HandoverAccepted) -> None:
        row = self._case(db, e.originator_id)
        requested, from_sector = row[10], row[5]
        self._change(db, e, sector=e.to_sector, handover_requested_at=None)
        # detail: the sector the baton left (the stock-flow identity needs it).
        self._flow(
            db, "handover_completed", e, sector=e.to_sector,
            value=days_between(requested, e.timestamp) if requested else None,
            detail=from_sector,
        )

    def _on_HandoverDeclined(self, db: sqlite3.Connection, e: ev.HandoverDeclined) -> None:
        db.execute(
            "UPDATE stat_cases SET handover_requested_at = NULL WHERE case_id = ?",
            (str(e.originator_id),),
        )

    _on_HandoverCancelled = _on_HandoverDeclined

    def _on_CoordinatorAppointed(self, db: sqlite3.Connection, e: ev.CoordinatorAppointed) -> None:
        self._change(db, e, coordinator=1)

    def _on_CoordinatorReleased(self, db: sqlite3.Connection, e: ev.CoordinatorReleased) -> None:
        self._change(db, e, coordinator=0)

    def _on_ResponsibilityGroupEstablished(
        self, db: sqlite3.Connection, e: ev.ResponsibilityGroupEstablished
    ) -> None:
        self._change(db, e, grp=1)

    def _on_ResponsibilityGroupDissolved(
        self, db: sqlite3.Connection, e: ev.ResponsibilityGroupDissolved
    ) -> None:
        self._change(db, e, grp=0)

    def _on_IndividualPlanStarted(self, db: sqlite3.Connection, e: ev.IndividualPlanStarted) -> None:
        self._change(db, e, plan=1)

    def _on_IndividualPlanEnded(self, db: sqlite3.Connection, e: ev.IndividualPlanEnded) -> None:
        self._change(db, e, plan=0)

    def _on_MeetingHeld(self, db: sqlite3.Connection, e: ev.MeetingHeld) -> None:
        # Counted in the month it was held; a meeting recorded after that month has
        # ended counts in the month it was recorded, so that an ended (published)
        # month never changes.
        recorded = instant(e.timestamp)
        held = f"{e.held_on.isoformat()}T12:00:00.000000"
        self._flow(db, "meeting", e, at=held if held[:7] == recorded[:7] else recorded)

    def _on_ServiceBroughtInByLaw(self, db: sqlite3.Connection, e: ev.ServiceBroughtInByLaw) -> None:
        # Counted under the sector of the service brought in, at the case's level.
        self._flow(db, "statutory_sharing", e, sector=e.sector)

    def _on_ActionAgreed(self, db: sqlite3.Connection, e: ev.ActionAgreed) -> None:
        db.execute(
            "INSERT INTO stat_actions (action_id, evaluated) VALUES (?, 0) ON CONFLICT DO NOTHING",
            (str(e.action_id),),
        )

    def _on_ActionEvaluated(self, db: sqlite3.Connection, e: ev.ActionEvaluated) -> None:
        # An action counts once, at its first evaluation: was it evaluated by its date?
        first = db.execute(
            "UPDATE stat_actions SET evaluated = 1 WHERE action_id = ? AND evaluated = 0",
            (str(e.action_id),),
        ).rowcount
        if first:
            self._flow(db, "action_evaluated", e, value=1.0 if e.evaluated_by_date else 0.0)

    def _on_SatisfactionAnswered(self, db: sqlite3.Connection, e: ev.SatisfactionAnswered) -> None:
        self._flow(db, "satisfaction", e, value=float(e.score), detail=e.respondent)

    def _on_CaseClosed(self, db: sqlite3.Connection, e: ev.CaseClosed) -> None:
        opened = self._case(db, e.originator_id)[2]
        self._flow(db, "case_closed", e, value=days_between(opened, e.timestamp), detail=e.reason)
        self._change(db, e, status="closed")
