"""Queries over the case-work read models (`projections/case_views.py`).

Each returns typed rows: candidates for the case list and the inbox (`CaseFacts`,
which the access rules can question like a case), the lines of a case's access
log, and the actions past their evaluation date. The queries narrow by what the
caller's role and service could ever see, for speed; whether a row may be seen is
still decided by the application with `domain/access.py`. The SQL runs on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.values import Actor
from projections.case_views import CaseFacts
from projections.runner import ViewStore

CASE_COLUMNS = (
    "case_id, position, municipality, status, level, holder_user, holder_service,"
    " opened_by_service, opened_at, closed_at, version, coordinator_user, coordinator_service,"
    " grp, plan, pending_id, pending_to_user, pending_to_service, pending_requested_by,"
    " pending_requested_at"
)


class AccessLine(msgspec.Struct, frozen=True):
    """Who read or changed a case, when, in which role and for which service."""

    at: datetime
    user: str
    role: str
    service: str | None
    action: str


class DueAction(msgspec.Struct, frozen=True):
    """An open action whose evaluation date has passed."""

    case: UUID
    id: UUID
    responsible_service: str
    evaluate_by: date


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


def case_candidates(
    views: ViewStore, actor: Actor, *, status: str | None = None, level: int | None = None,
    holder_me: bool = False, after: int = 0, limit: int = 100,
) -> list[CaseFacts]:
    """Rows of the case list after `position`, oldest first, that the actor could see:
    in their municipalities and, unless they coordinate, where their service takes
    part or they are the named recipient of a pending handover."""
    scope = sorted(actor.municipalities)
    if not scope:
        return []
    where = [f"c.municipality IN ({_marks(scope)})", "c.position > ?"]
    params: list[Any] = [*scope, after]
    if not actor.is_coordinator:
        where.append(
            "(EXISTS (SELECT 1 FROM cv_participants p WHERE p.case_id = c.case_id"
            " AND p.service = ?) OR (c.pending_to_user = ? AND c.pending_to_service = ?))"
        )
        params += [actor.service, actor.user, actor.service]
    if status is not None:
        where.append("c.status = ?")
        params.append(status)
    if level is not None:
        where.append("c.level = ?")
        params.append(level)
    if holder_me:
        where.append("c.holder_user = ? AND c.holder_service = ?")
        params += [actor.user, actor.service]
    rows = views.read(
        f"SELECT {CASE_COLUMNS} FROM cv_cases c WHERE {' AND '.join(where)}"  # noqa: S608
        " ORDER BY c.position LIMIT ?",
        (*params, limit),
    )
    ids = [r[0] for r in rows]
    if not ids:
        return []
    participants = views.read(
        f"SELECT case_id, service FROM cv_participants WHERE case_id IN ({_marks(ids)})", ids  # noqa: S608
    )
    consents = views.read(
        "SELECT consent_id, case_id, services, valid_until, status FROM cv_consents"  # noqa: S608
        f" WHERE case_id IN ({_marks(ids)})",
        ids,
    )
    by_law = views.read(
        f"SELECT case_id, service FROM cv_by_law WHERE case_id IN ({_marks(ids)})", ids  # noqa: S608
    )
    return facts_from_rows(rows, participants, consents, by_law)


def facts_from_rows(
    rows: list[tuple[Any, ...]], participants: list[tuple[str, str]],
    consents: list[tuple[str, str, str, str, str]], by_law: list[tuple[str, str]] = (),
) -> list[CaseFacts]:
    """Build `CaseFacts` from rows of cv_cases, cv_participants, cv_consents and
    cv_by_law."""
    by_id: dict[str, CaseFacts] = {}
    ordered: list[CaseFacts] = []
    for r in rows:
        facts = CaseFacts(
            id=UUID(r[0]), position=r[1], municipality=r[2], status=r[3], level=r[4],
            holder_user=r[5], holder_service=r[6], opened_by_service=r[7], opened_at=r[8],
            closed_at=r[9], version=r[10], coordinator_user=r[11], coordinator_service=r[12],
            responsibility_group=bool(r[13]), individual_plan=bool(r[14]), pending_id=r[15],
            pending_to_user=r[16], pending_to_service=r[17], pending_requested_by=r[18],
            pending_requested_at=r[19],
        )
        by_id[r[0]] = facts
        ordered.append(facts)
    for case_id, service in participants:
        if case_id in by_id:
            by_id[case_id].participants.add(service)
    for case_id, service in by_law:
        if case_id in by_id:
            by_id[case_id].by_law.add(service)
    for consent_id, case_id, services, until, status in consents:
        if case_id in by_id:
            by_id[case_id].consents[consent_id] = (
                set(services.split("\n")), date.fromisoformat(until), status
            )
    return ordered


def access_lines(views: ViewStore, case_id: UUID) -> list[AccessLine]:
    """The case's access log, in the order it was written."""
    return [
        AccessLine(at=instant_of(at), user=user, role=role, service=service, action=action)
        for at, user, role, service, action in views.read(
            'SELECT at, "user", role, service, action FROM cv_access WHERE case_id = ?'
            " ORDER BY seq",
            (str(case_id),),
        )
    ]


def closed_between(views: ViewStore, start: date, end: date) -> list[UUID]:
    """The cases closed from `start` up to (not including) `end`, by the UTC date of
    the closing, in the order they were closed."""
    return [
        UUID(case_id)
        for (case_id,) in views.read(
            "SELECT case_id FROM cv_cases WHERE status = 'closed' AND closed_at >= ?"
            " AND closed_at < ? ORDER BY closed_at, case_id",
            (start.isoformat(), end.isoformat()),
        )
    ]


def overdue_actions(views: ViewStore, service: str | None, today: date) -> list[DueAction]:
    """Open actions of a service whose evaluation date is before `today`, earliest first."""
    return [
        DueAction(case=UUID(case_id), id=UUID(action_id), responsible_service=responsible,
                  evaluate_by=date.fromisoformat(by))
        for action_id, case_id, responsible, by in views.read(
            "SELECT action_id, case_id, responsible_service, evaluate_by FROM cv_actions"
            " WHERE responsible_service = ? AND status = 'open' AND evaluate_by < ?"
            " ORDER BY evaluate_by, action_id",
            (service, today.isoformat()),
        )
    ]


def instant_of(text: str) -> datetime:
    """An instant as the views store it (UTC, microseconds)."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def cases_of_guardian(views: ViewStore, login: str) -> list[UUID]:
    """The cases where a guardian with this blind index is recorded (and not removed),
    oldest first."""
    rows = views.read(
        "SELECT g.case_id FROM cv_guardians g JOIN cv_cases c ON c.case_id = g.case_id"
        " WHERE g.login = ? ORDER BY c.position",
        (login,),
    )
    return [UUID(case_id) for (case_id,) in rows]


class ClosedCase(msgspec.Struct, frozen=True):
    """A closed case whose child's data is not erased yet: where, and when it closed."""

    case: UUID
    municipality: str
    closed_at: datetime


def closed_unerased_cases(views: ViewStore, municipalities: set[str] | None) -> list[ClosedCase]:
    """Closed cases not erased, oldest closure first; only in these municipalities
    (None: in every one)."""
    rows = views.read(
        "SELECT c.case_id, c.municipality, c.closed_at FROM cv_cases c"
        " WHERE c.status = 'closed' AND c.closed_at IS NOT NULL AND NOT EXISTS"
        " (SELECT 1 FROM cv_erasures e WHERE e.case_id = c.case_id)"
        " ORDER BY c.closed_at, c.case_id", ())
    return [
        ClosedCase(case=UUID(case_id), municipality=municipality, closed_at=instant_of(closed))
        for case_id, municipality, closed in rows
        if municipalities is None or municipality in municipalities
    ]


def erased_since(views: ViewStore, since: datetime) -> list[UUID]:
    """The cases whose child's data was erased at or after `since`."""
    rows = views.read(
        "SELECT case_id FROM cv_erasures WHERE erased_at >= ? ORDER BY erased_at, case_id",
        (since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f"),))
    return [UUID(case_id) for (case_id,) in rows]
