"""The implementation plans' read model: the plans, their activities and the latest
status of each activity for each unit and period.

A projection of events (`PlanStarted`, `PlanRhythmChanged`, `ActivityAdded`,
`ActivityChanged`, `ActivityRemoved`, `StatusReported`). A report replaces the one
before it for the same activity, unit and period (the latest wins). The leaders'
notes are not kept here: they are free text, read from the plan itself by the admins
and leaders of the municipality only (`stafettlogg/plan_commands.py`), and the view
database, which the statistics read, never holds them.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from domain.aggregate import DomainEvent
from domain.implementation_plan import (
    ActivityAdded,
    ActivityChanged,
    ActivityRemoved,
    PlanRhythmChanged,
    PlanStarted,
    StatusReported,
)


class ImplementationPlanProjection:
    name = "implementation-plan"
    topics = frozenset(cls.__name__ for cls in (
        PlanStarted, PlanRhythmChanged, ActivityAdded, ActivityChanged, ActivityRemoved,
        StatusReported))
    TABLES = ("ip_plans", "ip_activities", "ip_activity_services", "ip_reports")

    def create(self, db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS ip_plans (plan_id TEXT PRIMARY KEY,"
                   " municipality TEXT NOT NULL, rhythm TEXT NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS ip_activities (activity_id TEXT PRIMARY KEY,"
                   " plan_id TEXT NOT NULL, position BIGINT NOT NULL, title TEXT NOT NULL,"
                   " responsible TEXT NOT NULL, due TEXT NOT NULL,"
                   " all_services INTEGER NOT NULL)")
        db.execute("CREATE TABLE IF NOT EXISTS ip_activity_services (activity_id TEXT NOT NULL,"
                   " service TEXT NOT NULL, PRIMARY KEY (activity_id, service))")
        db.execute("CREATE TABLE IF NOT EXISTS ip_reports (activity_id TEXT NOT NULL,"
                   " service TEXT NOT NULL, period TEXT NOT NULL, status TEXT NOT NULL,"
                   " reported_on TEXT NOT NULL, PRIMARY KEY (activity_id, service, period))")

    def clear(self, db: sqlite3.Connection) -> None:
        for table in self.TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def apply(self, db: sqlite3.Connection, event: DomainEvent, position: int) -> None:
        plan = str(event.originator_id)
        if isinstance(event, PlanStarted):
            db.execute("INSERT INTO ip_plans (plan_id, municipality, rhythm) VALUES (?, ?, ?)"
                       " ON CONFLICT DO NOTHING", (plan, event.municipality, event.rhythm))
        elif isinstance(event, PlanRhythmChanged):
            db.execute("UPDATE ip_plans SET rhythm = ? WHERE plan_id = ?", (event.rhythm, plan))
        elif isinstance(event, ActivityAdded | ActivityChanged):
            activity = str(event.activity_id)
            if isinstance(event, ActivityAdded):
                db.execute("INSERT INTO ip_activities (activity_id, plan_id, position, title,"
                           " responsible, due, all_services) VALUES (?, ?, ?, ?, ?, ?, ?)"
                           " ON CONFLICT DO NOTHING",
                           (activity, plan, position, event.title, event.responsible,
                            event.due.isoformat(), int(event.all_services)))
            else:
                db.execute("UPDATE ip_activities SET title = ?, responsible = ?, due = ?,"
                           " all_services = ? WHERE activity_id = ?",
                           (event.title, event.responsible, event.due.isoformat(),
                            int(event.all_services), activity))
            db.execute("DELETE FROM ip_activity_services WHERE activity_id = ?", (activity,))
            for service in event.services:
                db.execute("INSERT INTO ip_activity_services (activity_id, service)"
                           " VALUES (?, ?) ON CONFLICT DO NOTHING", (activity, service))
        elif isinstance(event, ActivityRemoved):
            activity = str(event.activity_id)
            for table in ("ip_activities", "ip_activity_services", "ip_reports"):
                db.execute(f"DELETE FROM {table} WHERE activity_id = ?",  # noqa: S608
                           (activity,))
        elif isinstance(event, StatusReported):
            key = (str(event.activity_id), event.service, event.period)
            db.execute("DELETE FROM ip_reports WHERE activity_id = ? AND service = ?"
                       " AND period = ?", key)
            db.execute("INSERT INTO ip_reports (activity_id, service, period, status,"
                       " reported_on) VALUES (?, ?, ?, ?, ?)",
                       (*key, event.status, event.timestamp.date().isoformat()))


# --- the queries -------------------------------------------------------------------------


def statuses_for(views: Any, plan_id: str, period: str) -> dict[tuple[str, str], str]:
    """(activity id, service) -> the latest status reported for the period."""
    return {(a, s): status for a, s, status in views.read(
        "SELECT r.activity_id, r.service, r.status FROM ip_reports r JOIN ip_activities a"
        " ON a.activity_id = r.activity_id WHERE a.plan_id = ? AND r.period = ?",
        (plan_id, period))}
