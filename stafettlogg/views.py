"""The view model: what a reader is shown of a case, decided once for every page
and every API answer.

The application builds these (`Stafettlogg.read_case_view`, `case_list`,
`read_log`, `read_access_log`, `inbox`) with the access rules applied: a reader
who may not see the child's personal data gets `child=None`; only services still
taking part on the day are listed; a consent's status is as of the day (one whose
last day has passed is expired, recorded or not); the level-0 decision is overdue
by the domain's deadline. The JSON API (`stafettlogg/web/schemas.py`) and the
pages render these without deciding anything again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import msgspec

from domain.case import Case
from domain.consent import consent_status
from domain.staff import StaffMember
from projections.case_queries import AccessLine, DueAction, instant_of
from projections.case_views import CaseFacts

__all__ = [
    "AccessLine", "ActionView", "ArchiveConsent", "ArchiveRecord", "CaseListView", "CasePageView", "CaseSummaryView", "CaseView",
    "ChildDetails", "ConsentView", "GuardianView", "CoordinatorOverviewView", "CoordinatorView", "DueAction", "ExpiringConsent",
    "InboxHandover", "InboxView", "LogEntryView", "LogView", "OverviewRow", "ParticipantView",
    "PendingHandoverView", "StaffListView", "StaffView", "WorklistView", "case_summary_view",
    "case_view", "staff_view",
]


class ChildDetails(msgspec.Struct, frozen=True):
    """The child's personal data, opened (`[slettet]` once the child is forgotten)."""

    name: str | None
    birth_date: str | None
    national_id: str | None
    concern: str | None

    @property
    def has_national_id(self) -> bool:
        return self.national_id is not None


class PendingHandoverView(msgspec.Struct, frozen=True):
    id: UUID
    to_user: str
    to_service: str
    requested_by: str
    requested_at: datetime


class ParticipantView(msgspec.Struct, frozen=True):
    service: str
    sector: str
    role: str
    user: str | None
    since: datetime


class ConsentView(msgspec.Struct, frozen=True):
    id: UUID
    given_by: str
    services: list[str]
    valid_until: date
    form: str
    status: str  # active, expired or withdrawn, as of the day


class CoordinatorView(msgspec.Struct, frozen=True):
    user: str
    service: str


class ActionView(msgspec.Struct, frozen=True):
    id: UUID
    responsible_service: str
    evaluate_by: date
    status: str


class StatutoryAccessView(msgspec.Struct, frozen=True):
    """A service taking part without consent, on a statutory basis."""

    service: str
    basis: str
    since: datetime


class GuardianView(msgspec.Struct, frozen=True):
    """A guardian on the case; the name only for a reader who may see the child."""

    id: UUID
    relation: str
    since: datetime
    can_sign_in: bool  # recorded with a fødselsnummer
    name: str | None = None


class CaseView(msgspec.Struct, frozen=True):
    """A case as its reader may see it on a day."""

    id: UUID
    status: str
    level: int
    municipality: str
    age_band: str
    opened_at: datetime
    closed_at: datetime | None
    holder_user: str
    holder_service: str
    pending_handover: PendingHandoverView | None
    participants: list[ParticipantView]
    consents: list[ConsentView]
    coordinator: CoordinatorView | None
    responsibility_group_services: list[str] | None
    individual_plan: bool
    actions: list[ActionView]
    level0_decision_overdue: bool
    version: int
    child: ChildDetails | None = None
    guardians: list[GuardianView] = []
    statutory_access: list[StatutoryAccessView] = []


def case_view(case: Case, on: date, child: ChildDetails | None = None,
              open_sealed: Callable[[bytes], str | None] | None = None) -> CaseView:
    """The view of a case on a day; `child` (and, opened by `open_sealed`, the guardians'
    names) only for a reader who may see them."""
    s = case.state
    pending = s.pending_handover
    return CaseView(
        id=case.id,
        status=s.status,
        level=s.level,
        municipality=s.municipality,
        age_band=s.age_band,
        opened_at=s.opened_at,
        closed_at=s.closed_at,
        holder_user=s.holder_user,
        holder_service=s.holder_service,
        pending_handover=None if pending is None else PendingHandoverView(
            id=pending.id, to_user=pending.to_user, to_service=pending.to_service,
            requested_by=pending.requested_by, requested_at=pending.requested_at,
        ),
        participants=[
            ParticipantView(service=p.service, sector=p.sector, role=p.role, user=p.user,
                            since=p.since)
            for p in s.participants.values()
            if case.is_taking_part(p.service, on)
        ],
        consents=[
            ConsentView(id=c.id, given_by=c.given_by, services=list(c.services),
                        valid_until=c.valid_until, form=c.form,
                        status=case.consent_status(c, on))
            for c in s.consents.values()
        ],
        coordinator=None if s.coordinator is None else CoordinatorView(
            user=s.coordinator.user, service=s.coordinator.service
        ),
        responsibility_group_services=(
            None if s.responsibility_group is None else list(s.responsibility_group)
        ),
        individual_plan=s.individual_plan,
        actions=[
            ActionView(id=a.id, responsible_service=a.responsible_service,
                       evaluate_by=a.evaluate_by, status=a.status)
            for a in s.actions.values()
        ],
        level0_decision_overdue=case.level0_decision_overdue(on),
        version=case.version,
        child=child,
        guardians=[
            GuardianView(id=g.id, relation=g.relation, since=g.since,
                         can_sign_in=g.login is not None,
                         name=open_sealed(g.name) if open_sealed and g.name else None)
            for g in s.guardians.values()
        ],
        statutory_access=[
            StatutoryAccessView(service=service, basis=a.basis, since=a.since)
            for service, a in s.by_law.items()
        ],
    )


class ConsentSummaryView(msgspec.Struct, frozen=True):
    id: UUID
    services: list[str]
    valid_until: date
    status: str


class CaseSummaryView(msgspec.Struct, frozen=True):
    """A case as the case list shows it: no personal data, no free text."""

    id: UUID
    status: str
    level: int
    municipality: str
    opened_at: datetime
    closed_at: datetime | None
    holder_user: str
    holder_service: str
    pending_handover: PendingHandoverView | None
    participants: list[str]  # services taking part on the day
    consents: list[ConsentSummaryView]
    coordinator: CoordinatorView | None
    responsibility_group: bool
    individual_plan: bool
    version: int


def case_summary_view(f: CaseFacts, on: date) -> CaseSummaryView:
    """A row of the case list, with participants and consents as of a day."""
    return CaseSummaryView(
        id=f.id,
        status=f.status,
        level=f.level,
        municipality=f.municipality,
        opened_at=instant_of(f.opened_at),
        closed_at=None if f.closed_at is None else instant_of(f.closed_at),
        holder_user=f.holder_user,
        holder_service=f.holder_service,
        pending_handover=None if f.pending_id is None else PendingHandoverView(
            id=UUID(f.pending_id),
            to_user=f.pending_to_user or "",
            to_service=f.pending_to_service or "",
            requested_by=f.pending_requested_by or "",
            requested_at=instant_of(f.pending_requested_at or ""),
        ),
        participants=[s for s in sorted(f.participants) if f.is_taking_part(s, on)],
        consents=[
            ConsentSummaryView(id=UUID(consent_id), services=sorted(services), valid_until=until,
                               status=consent_status(status, until, on))
            for consent_id, (services, until, status) in sorted(f.consents.items())
        ],
        coordinator=None if f.coordinator_user is None else CoordinatorView(
            user=f.coordinator_user, service=f.coordinator_service or ""
        ),
        responsibility_group=f.responsibility_group,
        individual_plan=f.individual_plan,
        version=f.version,
    )


class CaseListView(msgspec.Struct, frozen=True):
    items: list[CaseSummaryView]
    next: int | None  # the position to continue after; None on the last page


class LogEntryView(msgspec.Struct, frozen=True):
    """One recorded step, its free text opened (`[slettet]` once forgotten)."""

    seq: int
    at: datetime
    kind: str
    user: str
    service: str | None
    text: str | None
    details: dict[str, Any]
    withheld: bool = False  # kept from the guardians, at the child's request


class LogView(msgspec.Struct, frozen=True):
    entries: list[LogEntryView]


class InboxHandover(msgspec.Struct, frozen=True):
    """A baton waiting for the reader to accept or decline."""

    case: UUID
    id: UUID
    to_user: str
    to_service: str
    requested_by: str
    requested_at: datetime


class ExpiringConsent(msgspec.Struct, frozen=True):
    case: UUID
    id: UUID
    services: list[str]
    valid_until: date


class InboxView(msgspec.Struct, frozen=True):
    """What waits for the reader: batons, actions past their date, consents ending."""

    handovers: list[InboxHandover]
    actions_due: list[DueAction]
    consents_expiring: list[ExpiringConsent]


class CasePageView(msgspec.Struct, frozen=True):
    """The case page: the case, and its log for those who may read it (else None);
    `archive`: the reader may take the archive package (a closed case's holder or
    coordinator)."""

    case: CaseView
    log: list[LogEntryView] | None
    archive: bool = False


class WorklistView(msgspec.Struct, frozen=True):
    """"Mine saker": open cases the reader holds, open cases their service takes part
    in, the inbox, and the child's name of each case the reader may see it for."""

    holding: list[CaseSummaryView]
    taking_part: list[CaseSummaryView]
    inbox: InboxView
    child_names: dict[UUID, str]


class OverviewRow(msgspec.Struct, frozen=True):
    """An open case in the coordinator's overview, with what needs attention."""

    case: CaseSummaryView
    child_name: str | None  # only where the coordinator's service takes part
    last_activity: datetime
    handover_waits: bool
    decision_overdue: bool
    quiet: bool
    holder_deactivated: bool
    overdue_actions: int

    @property
    def needs_attention(self) -> bool:
        return (self.handover_waits or self.decision_overdue or self.quiet
                or self.holder_deactivated or self.overdue_actions > 0)


class CoordinatorOverviewView(msgspec.Struct, frozen=True):
    """The open cases of the coordinator's municipalities, counted by level and by
    the holder's service, each with its flags."""

    rows: list[OverviewRow]
    by_level: dict[int, int]
    by_service: dict[str, int]


class StaffView(msgspec.Struct, frozen=True):
    """A staff member as the reader may see them: everyone signed in sees the id,
    the name, the service and whether they are active; an admin sees the rest too
    (never the login subject itself: only whether there is one)."""

    id: str
    name: str
    service: str | None
    active: bool
    email: str | None = None
    roles: tuple[str, ...] | None = None
    municipalities: tuple[str, ...] | None = None
    has_login: bool | None = None


class StaffListView(msgspec.Struct, frozen=True):
    items: list[StaffView]
    next: int | None


def staff_view(member: StaffMember, *, full: bool) -> StaffView:
    if not full:
        return StaffView(id=member.id, name=member.name, service=member.service,
                         active=member.active)
    return StaffView(
        id=member.id, name=member.name, service=member.service, active=member.active,
        email=member.email, roles=member.roles, municipalities=member.municipalities,
        has_login=member.login is not None,
    )


# --- the archive package of a closed case (stafettlogg/archive_reads.py) ---------------


class ArchiveConsent(msgspec.Struct, frozen=True):
    """A consent of the case as it stood when the case was closed, its texts opened."""

    id: UUID
    given_by: str
    services: list[str]
    given_at: datetime
    valid_until: date
    form: str
    status: str  # active, expired or withdrawn, on the day the case was closed
    purpose: str | None
    child_view: str | None


class ArchiveRecord(msgspec.Struct, frozen=True):
    """Everything the archive package of a closed case holds, as the case was when it
    was closed: the case (on its closing day, with the child and the guardians), every
    step of the log, the consents, and the access log up to and including the closing.
    Made only for a reader who may take it (or for the operator's export)."""

    case: CaseView
    log: list[LogEntryView]
    consents: list[ArchiveConsent]
    access: list[AccessLine]
    closed_at: datetime
    closed_by: str
    close_reason: str
    opened_by: str
    municipality_name: str

    @property
    def withheld(self) -> list[LogEntryView]:
        """The entries kept from the guardians at the child's request."""
        return [e for e in self.log if e.withheld]

