"""Read models for case work: the case list, the inbox and the access-log listing.

Rows hold only what lists and the inbox show and what the access rules need (which
services take part, which consents cover whom until when, who a pending handover is
for); no personal data and no free text. `CaseFacts` gives the domain's access
rules (`domain/access.py`) the same questions a `Case` answers, so that who may see
a row is decided by the same code as who may see the case. The SQL runs on SQLite
and PostgreSQL alike (`ON CONFLICT DO NOTHING`, the column "user" quoted). The
queries over these tables are beside them, in `projections/case_queries.py`.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from uuid import UUID

import msgspec

from domain import events as ev
from domain.aggregate import DomainEvent
from domain.consent import is_consent_active
from projections.statistics import instant


class CaseFacts(msgspec.Struct, kw_only=True):
    """A case as the case list knows it (a row of the views, typed)."""

    id: UUID
    position: int
    municipality: str
    status: str
    level: int
    holder_user: str
    holder_service: str
    opened_by_service: str
    opened_at: str
    closed_at: str | None
    version: int
    coordinator_user: str | None
    coordinator_service: str | None
    responsibility_group: bool
    individual_plan: bool
    pending_id: str | None
    pending_to_user: str | None
    pending_to_service: str | None
    pending_requested_by: str | None
    pending_requested_at: str | None
    participants: set[str] = msgspec.field(default_factory=set)
    # consent id -> (services, valid_until, status)
    consents: dict[str, tuple[set[str], date, str]] = msgspec.field(default_factory=dict)
    # Services brought in without consent, on a statutory basis.
    by_law: set[str] = msgspec.field(default_factory=set)

    # The questions domain/access.py asks of a case --------------------------------

    @property
    def pending_recipient(self) -> tuple[str, str] | None:
        if self.pending_to_user is None or self.pending_to_service is None:
            return None
        return self.pending_to_user, self.pending_to_service

    def has_access(self, service_id: str | None, on: date) -> bool:
        if service_id is None:
            return False
        if service_id in (self.opened_by_service, self.holder_service) or service_id in self.by_law:
            return True
        return any(
            service_id in services
            and is_consent_active(withdrawn=status != "active", valid_until=until, on=on)
            for services, until, status in self.consents.values()
        )

    def is_taking_part(self, service_id: str | None, on: date) -> bool:
        return service_id in self.participants and self.has_access(service_id, on)


class CaseViewsProjection:
    name = "case_views"
    topics = frozenset(
        cls.__name__
        for cls in (
            ev.CaseOpened, ev.LevelChanged, ev.ConsentGiven, ev.ConsentWithdrawn,
            ev.ConsentExpired, ev.ServiceJoined, ev.ServiceLeft, ev.ServiceBroughtInByLaw,
            ev.HandoverRequested,
            ev.HandoverAccepted, ev.HandoverDeclined, ev.HandoverCancelled,
            ev.CoordinatorAppointed, ev.CoordinatorReleased, ev.ResponsibilityGroupEstablished,
            ev.ResponsibilityGroupDissolved, ev.IndividualPlanStarted, ev.IndividualPlanEnded,
            ev.ActionAgreed, ev.ActionEvaluated, ev.CaseClosed, ev.EntryAdded,
            ev.Level0StepRecorded, ev.MeetingHeld, ev.SatisfactionAnswered,
            ev.GuardianRecorded, ev.GuardianRemoved, ev.EntryWithheld,
            ev.AccessLogStarted, ev.AccessRecorded, ev.ChildDataErased,
        )
    )
    TABLES = (
        "cv_cases", "cv_participants", "cv_consents", "cv_actions", "cv_access_logs", "cv_access",
        "cv_guardians", "cv_by_law", "cv_erasures",
    )

    def create(self, db: sqlite3.Connection) -> None:
        db.execute(
            """CREATE TABLE IF NOT EXISTS cv_cases (
                case_id TEXT PRIMARY KEY, position BIGINT NOT NULL, municipality TEXT NOT NULL,
                status TEXT NOT NULL, level INTEGER NOT NULL, holder_user TEXT NOT NULL,
                holder_service TEXT NOT NULL, opened_by_service TEXT NOT NULL,
                opened_at TEXT NOT NULL, closed_at TEXT, version INTEGER NOT NULL,
                coordinator_user TEXT, coordinator_service TEXT, grp INTEGER NOT NULL,
                plan INTEGER NOT NULL, pending_id TEXT, pending_to_user TEXT,
                pending_to_service TEXT, pending_requested_by TEXT, pending_requested_at TEXT)"""
        )
        db.execute("CREATE INDEX IF NOT EXISTS cv_cases_position ON cv_cases (position)")
        db.execute(
            "CREATE INDEX IF NOT EXISTS cv_cases_pending ON cv_cases (pending_to_user, pending_to_service)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_participants (case_id TEXT NOT NULL,"
            " service TEXT NOT NULL, PRIMARY KEY (case_id, service))"
        )
        db.execute("CREATE INDEX IF NOT EXISTS cv_participants_service ON cv_participants (service)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_by_law (case_id TEXT NOT NULL,"
            " service TEXT NOT NULL, PRIMARY KEY (case_id, service))"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_consents (consent_id TEXT PRIMARY KEY,"
            " case_id TEXT NOT NULL, services TEXT NOT NULL, valid_until TEXT NOT NULL,"
            " status TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS cv_consents_case ON cv_consents (case_id)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_actions (action_id TEXT PRIMARY KEY,"
            " case_id TEXT NOT NULL, responsible_service TEXT NOT NULL,"
            " evaluate_by TEXT NOT NULL, status TEXT NOT NULL)"
        )
        db.execute(
            "CREATE INDEX IF NOT EXISTS cv_actions_due ON cv_actions (responsible_service, status)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_access_logs (log_id TEXT PRIMARY KEY, case_id TEXT NOT NULL)"
        )
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_access (case_id TEXT NOT NULL, seq INTEGER NOT NULL,"
            ' at TEXT NOT NULL, "user" TEXT NOT NULL, role TEXT NOT NULL, service TEXT,'
            " action TEXT NOT NULL, PRIMARY KEY (case_id, seq))"
        )

        # The guardians who can sign in (a blind index of their fødselsnummer), by case.
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_guardians (guardian_id TEXT PRIMARY KEY,"
            " login TEXT NOT NULL, case_id TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS cv_guardians_login ON cv_guardians (login)")

        # The cases whose child's data was erased (docs/operations.md, "Retention and
        # erasure"): when and why, for the nightly sweep.
        db.execute(
            "CREATE TABLE IF NOT EXISTS cv_erasures (case_id TEXT PRIMARY KEY,"
            " erased_at TEXT NOT NULL, reason TEXT NOT NULL)"
        )

    def clear(self, db: sqlite3.Connection) -> None:
        for table in self.TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def apply(self, db: sqlite3.Connection, event: DomainEvent, position: int) -> None:
        name = type(event).__name__
        if name in ("AccessLogStarted", "AccessRecorded"):
            getattr(self, f"_on_{name}")(db, event)
            return
        case_id = str(event.originator_id)
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(db, event, case_id, position)
        if name != "CaseOpened":
            db.execute(
                "UPDATE cv_cases SET version = ? WHERE case_id = ?",
                (event.originator_version, case_id),
            )

    def _set(self, db: sqlite3.Connection, case_id: str, **values: object) -> None:
        db.execute(
            f"UPDATE cv_cases SET {', '.join(f'{k} = ?' for k in values)} WHERE case_id = ?",  # noqa: S608
            (*values.values(), case_id),
        )

    def _on_CaseOpened(self, db: sqlite3.Connection, e: ev.CaseOpened, case_id: str, position: int) -> None:
        db.execute(
            "INSERT INTO cv_cases (case_id, position, municipality, status, level, holder_user,"
            " holder_service, opened_by_service, opened_at, version, grp, plan)"
            " VALUES (?, ?, ?, 'open', 0, ?, ?, ?, ?, ?, 0, 0)",
            (case_id, position, e.municipality, e.user, e.service, e.service,
             instant(e.timestamp), e.originator_version),
        )
        db.execute("INSERT INTO cv_participants (case_id, service) VALUES (?, ?)", (case_id, e.service))

    def _on_LevelChanged(self, db: sqlite3.Connection, e: ev.LevelChanged, case_id: str, _: int) -> None:
        self._set(db, case_id, level=e.to_level)

    def _on_ConsentGiven(self, db: sqlite3.Connection, e: ev.ConsentGiven, case_id: str, _: int) -> None:
        db.execute(
            "INSERT INTO cv_consents (consent_id, case_id, services, valid_until, status)"
            " VALUES (?, ?, ?, ?, 'active')",
            (str(e.consent_id), case_id, "\n".join(e.services), e.valid_until.isoformat()),
        )

    def _on_ConsentWithdrawn(self, db: sqlite3.Connection, e: ev.ConsentWithdrawn, case_id: str, _: int) -> None:
        db.execute("UPDATE cv_consents SET status = 'withdrawn' WHERE consent_id = ?", (str(e.consent_id),))

    def _on_ConsentExpired(self, db: sqlite3.Connection, e: ev.ConsentExpired, case_id: str, _: int) -> None:
        db.execute("UPDATE cv_consents SET status = 'expired' WHERE consent_id = ?", (str(e.consent_id),))

    def _on_ServiceJoined(self, db: sqlite3.Connection, e: ev.ServiceJoined, case_id: str, _: int) -> None:
        db.execute(
            "INSERT INTO cv_participants (case_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (case_id, e.joined_service),
        )

    def _on_ServiceBroughtInByLaw(
        self, db: sqlite3.Connection, e: ev.ServiceBroughtInByLaw, case_id: str, _: int
    ) -> None:
        db.execute(
            "INSERT INTO cv_by_law (case_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (case_id, e.brought_in_service),
        )

    def _on_ServiceLeft(self, db: sqlite3.Connection, e: ev.ServiceLeft, case_id: str, _: int) -> None:
        for table in ("cv_participants", "cv_by_law"):
            db.execute(
                f"DELETE FROM {table} WHERE case_id = ? AND service = ?",  # noqa: S608
                (case_id, e.left_service),
            )

    def _on_HandoverRequested(self, db: sqlite3.Connection, e: ev.HandoverRequested, case_id: str, _: int) -> None:
        self._set(
            db, case_id, pending_id=str(e.handover_id), pending_to_user=e.to_user,
            pending_to_service=e.to_service, pending_requested_by=e.user,
            pending_requested_at=instant(e.timestamp),
        )

    def _no_pending(self, db: sqlite3.Connection, case_id: str) -> None:
        self._set(
            db, case_id, pending_id=None, pending_to_user=None, pending_to_service=None,
            pending_requested_by=None, pending_requested_at=None,
        )

    def _on_HandoverAccepted(self, db: sqlite3.Connection, e: ev.HandoverAccepted, case_id: str, _: int) -> None:
        (to_user, to_service) = db.execute(
            "SELECT pending_to_user, pending_to_service FROM cv_cases WHERE case_id = ?", (case_id,)
        ).fetchone()
        self._set(db, case_id, holder_user=to_user, holder_service=to_service)
        self._no_pending(db, case_id)
        db.execute(
            "INSERT INTO cv_participants (case_id, service) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (case_id, to_service),
        )

    def _on_HandoverDeclined(self, db: sqlite3.Connection, e: DomainEvent, case_id: str, _: int) -> None:
        self._no_pending(db, case_id)

    _on_HandoverCancelled = _on_HandoverDeclined

    def _on_CoordinatorAppointed(self, db: sqlite3.Connection, e: ev.CoordinatorAppointed, case_id: str, _: int) -> None:
        self._set(db, case_id, coordinator_user=e.coordinator_user, coordinator_service=e.coordinator_service)

    def _on_CoordinatorReleased(self, db: sqlite3.Connection, e: DomainEvent, case_id: str, _: int) -> None:
        self._set(db, case_id, coordinator_user=None, coordinator_service=None)

    def _on_ResponsibilityGroupEstablished(self, db: sqlite3.Connection, e: DomainEvent, case_id: str, _: int) -> None:
        self._set(db, case_id, grp=1)

    def _on_ResponsibilityGroupDissolved(self, db: sqlite3.Connection, e: DomainEvent, case_id: str, _: int) -> None:
        self._set(db, case_id, grp=0)

    def _on_IndividualPlanStarted(self, db: sqlite3.Connection, e: DomainEvent, case_id: str, _: int) -> None:
        self._set(db, case_id, plan=1)

    def _on_IndividualPlanEnded(self, db: sqlite3.Connection, e: DomainEvent, case_id: str, _: int) -> None:
        self._set(db, case_id, plan=0)

    def _on_ActionAgreed(self, db: sqlite3.Connection, e: ev.ActionAgreed, case_id: str, _: int) -> None:
        db.execute(
            "INSERT INTO cv_actions (action_id, case_id, responsible_service, evaluate_by, status)"
            " VALUES (?, ?, ?, ?, 'open')",
            (str(e.action_id), case_id, e.responsible_service, e.evaluate_by.isoformat()),
        )

    def _on_ActionEvaluated(self, db: sqlite3.Connection, e: ev.ActionEvaluated, case_id: str, _: int) -> None:
        if e.outcome in ("completed", "stopped"):
            db.execute("UPDATE cv_actions SET status = ? WHERE action_id = ?", (e.outcome, str(e.action_id)))

    def _on_GuardianRecorded(self, db: sqlite3.Connection, e: ev.GuardianRecorded, case_id: str, _: int) -> None:
        if e.login is not None:
            db.execute(
                "INSERT INTO cv_guardians (guardian_id, login, case_id) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (str(e.guardian_id), e.login, case_id),
            )

    def _on_GuardianRemoved(self, db: sqlite3.Connection, e: ev.GuardianRemoved, case_id: str, _: int) -> None:
        db.execute("DELETE FROM cv_guardians WHERE guardian_id = ?", (str(e.guardian_id),))

    def _on_CaseClosed(self, db: sqlite3.Connection, e: ev.CaseClosed, case_id: str, _: int) -> None:
        self._set(db, case_id, status="closed", closed_at=instant(e.timestamp))
        self._no_pending(db, case_id)

    def _on_ChildDataErased(self, db: sqlite3.Connection, e: ev.ChildDataErased, case_id: str, _: int) -> None:
        db.execute(
            "INSERT INTO cv_erasures (case_id, erased_at, reason) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (case_id, instant(e.timestamp), e.reason),
        )

    def _on_AccessLogStarted(self, db: sqlite3.Connection, e: ev.AccessLogStarted) -> None:
        db.execute(
            "INSERT INTO cv_access_logs (log_id, case_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (str(e.originator_id), str(e.case_id)),
        )

    def _on_AccessRecorded(self, db: sqlite3.Connection, e: ev.AccessRecorded) -> None:
        (case_id,) = db.execute(
            "SELECT case_id FROM cv_access_logs WHERE log_id = ?", (str(e.originator_id),)
        ).fetchone()
        db.execute(
            'INSERT INTO cv_access (case_id, seq, at, "user", role, service, action)'
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case_id, e.originator_version, instant(e.timestamp), e.user, e.role, e.service, e.action),
        )
