"""Request and response bodies of the HTTP API (contract version 1), as msgspec Structs.

Requests refuse unknown fields and check types, vocabularies and sizes before any
command runs; the 400 answer names the field and the rule. Responses are built
from the domain's state by the `*_out` functions here, and only
`case_out(..., content=True)` adds the child's personal data.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.case import Case, Consent
from projections.case_views import CaseFacts
from domain.services import ServiceInfo
from domain.values import CloseReason, EntryKind, EvaluationOutcome, Level0Step, Sector

Text = Annotated[str, Meta(min_length=1, max_length=20_000)]
ShortText = Annotated[str, Meta(min_length=1, max_length=2_000)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Id = Annotated[str, Meta(min_length=1, max_length=100)]
ServiceId = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")]
Municipality = Annotated[str, Meta(pattern=r"^[0-9]{4}$")]
ServiceList = Annotated[list[ServiceId], Meta(min_length=1, max_length=50)]


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies: an unknown field is an error, not silently dropped."""


# --- requests -----------------------------------------------------------------------


class ChildIn(Body):
    name: Name
    birth_date: date | None = None
    national_id: Annotated[str, Meta(max_length=20)] | None = None


class OpenCaseIn(Body):
    child: ChildIn
    concern: Text
    municipality: Municipality | None = None


class EntryIn(Body):
    kind: EntryKind
    text: Text
    corrects: UUID | None = None


class Level0StepIn(Body):
    step: Level0Step
    text: Text


class LevelIn(Body):
    level: Annotated[int, Meta(ge=0, le=3)]
    reason: Text


class ConsentIn(Body):
    given_by: Literal["guardian", "child"]
    services: ServiceList
    purpose: ShortText
    valid_until: date
    form: Literal["oral", "written"]
    child_view: Text | None = None


class ReasonIn(Body):
    reason: ShortText | None = None


class ParticipantIn(Body):
    service: ServiceId
    user: Id | None = None
    role: Literal["participant", "responsibility-group", "coordinator"] | None = None


class HandoverIn(Body):
    to_user: Id
    to_service: ServiceId
    note: Text | None = None


class CoordinatorIn(Body):
    user: Id
    service: ServiceId


class GroupIn(Body):
    services: ServiceList


class MeetingIn(Body):
    held_on: date
    services: ServiceList
    minutes: Text


class ActionIn(Body):
    description: Text
    responsible_service: ServiceId
    evaluate_by: date


class EvaluationIn(Body):
    outcome: EvaluationOutcome
    text: Text


class SatisfactionIn(Body):
    respondent: Literal["guardian", "child"]
    score: Annotated[int, Meta(ge=1, le=5)]


class CloseIn(Body):
    reason: CloseReason
    note: Text | None = None


class ServiceIn(Body):
    id: ServiceId
    name: Name
    sector: Sector
    municipalities: Annotated[list[Municipality], Meta(min_length=1, max_length=50)]


# --- responses ----------------------------------------------------------------------


class ServiceOut(msgspec.Struct):
    id: str
    name: str
    sector: str
    municipalities: list[str]
    inter_municipal: bool


class ServiceList_(msgspec.Struct):
    items: list[ServiceOut]


class HolderOut(msgspec.Struct):
    user: str
    service: str


class PendingHandoverOut(msgspec.Struct):
    id: UUID
    to_user: str
    to_service: str
    requested_by: str
    requested_at: datetime
    status: str = "pending"


class ParticipantOut(msgspec.Struct):
    service: str
    sector: str
    role: str
    user: str | None
    since: datetime


class ConsentOut(msgspec.Struct):
    id: UUID
    given_by: str
    services: list[str]
    valid_until: date
    form: str
    status: str


class CoordinatorOut(msgspec.Struct):
    user: str
    service: str


class ActionOut(msgspec.Struct):
    id: UUID
    responsible_service: str
    evaluate_by: date
    status: str


class ChildOut(msgspec.Struct):
    name: str | None
    birth_date: str | None
    has_national_id: bool


class CaseOut(msgspec.Struct):
    id: UUID
    status: str
    level: int
    municipality: str
    age_band: str
    opened_at: datetime
    closed_at: datetime | None
    holder: HolderOut
    pending_handover: PendingHandoverOut | None
    participants: list[ParticipantOut]
    consents: list[ConsentOut]
    coordinator: CoordinatorOut | None
    responsibility_group: bool
    responsibility_group_services: list[str]
    individual_plan: bool
    actions: list[ActionOut]
    level0_decision_overdue: bool
    version: int
    child: ChildOut | None = None
    concern: str | None = None


class ServiceRef(msgspec.Struct):
    service: str


class ConsentSummaryOut(msgspec.Struct):
    id: UUID
    services: list[str]
    valid_until: date
    status: str


class CaseSummaryOut(msgspec.Struct):
    """A case as the case list shows it: no personal data, no free text."""

    id: UUID
    status: str
    level: int
    municipality: str
    opened_at: datetime
    closed_at: datetime | None
    holder: HolderOut
    pending_handover: PendingHandoverOut | None
    participants: list[ServiceRef]
    consents: list[ConsentSummaryOut]
    coordinator: CoordinatorOut | None
    responsibility_group: bool
    individual_plan: bool
    version: int


class CaseListOut(msgspec.Struct):
    items: list[CaseSummaryOut]
    next: str | None


class LogEntryOut(msgspec.Struct):
    seq: int
    at: datetime
    kind: str
    user: str
    service: str | None
    text: str | None
    details: dict[str, Any]


class LogOut(msgspec.Struct):
    entries: list[LogEntryOut]


class AccessLineOut(msgspec.Struct):
    at: datetime
    user: str
    role: str
    service: str | None
    action: str


class AccessLogOut(msgspec.Struct):
    items: list[AccessLineOut]


class CreatedOut(msgspec.Struct):
    """What a step that adds something answers: its id, its kind, and the case version."""

    id: UUID | None
    kind: str
    case: UUID
    version: int


class HandoverOut(msgspec.Struct):
    """A handover as requested: `pending` until the named recipient answers."""

    id: UUID
    status: str
    to_user: str
    to_service: str
    case: UUID
    version: int


class InboxHandoverOut(msgspec.Struct):
    case: UUID
    id: UUID
    to_user: str
    to_service: str
    requested_by: str
    requested_at: datetime


class InboxActionOut(msgspec.Struct):
    case: UUID
    id: UUID
    responsible_service: str
    evaluate_by: date


class InboxConsentOut(msgspec.Struct):
    case: UUID
    id: UUID
    services: list[str]
    valid_until: date


class InboxOut(msgspec.Struct):
    handovers: list[InboxHandoverOut]
    actions_due: list[InboxActionOut]
    consents_expiring: list[InboxConsentOut]


class FieldError(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str | None = None
    errors: list[FieldError] | None = None


class Health(msgspec.Struct):
    status: str


# --- building responses -------------------------------------------------------------


def service_out(info: ServiceInfo) -> ServiceOut:
    return ServiceOut(
        id=info.id,
        name=info.name,
        sector=info.sector,
        municipalities=list(info.municipalities),
        inter_municipal=info.inter_municipal,
    )


def consent_out(case: Case, consent: Consent, on: date) -> ConsentOut:
    return ConsentOut(
        id=consent.id,
        given_by=consent.given_by,
        services=list(consent.services),
        valid_until=consent.valid_until,
        form=consent.form,
        status=case.consent_status(consent, on),
    )


def case_out(
    case: Case, on: date, *, child: dict[str, Any] | None = None
) -> CaseOut:
    """The contract's case object; `child` (opened personal data) only for content readers."""
    s = case.state
    pending = s.pending_handover
    return CaseOut(
        id=case.id,
        status=s.status,
        level=s.level,
        municipality=s.municipality,
        age_band=s.age_band,
        opened_at=s.opened_at,
        closed_at=s.closed_at,
        holder=HolderOut(user=s.holder_user, service=s.holder_service),
        pending_handover=None if pending is None else PendingHandoverOut(
            id=pending.id,
            to_user=pending.to_user,
            to_service=pending.to_service,
            requested_by=pending.requested_by,
            requested_at=pending.requested_at,
        ),
        participants=[
            ParticipantOut(
                service=p.service, sector=p.sector, role=p.role, user=p.user, since=p.since
            )
            for p in s.participants.values()
            if case.is_taking_part(p.service, on)
        ],
        consents=[consent_out(case, c, on) for c in s.consents.values()],
        coordinator=None if s.coordinator is None else CoordinatorOut(
            user=s.coordinator.user, service=s.coordinator.service
        ),
        responsibility_group=s.responsibility_group is not None,
        responsibility_group_services=list(s.responsibility_group or ()),
        individual_plan=s.individual_plan,
        actions=[
            ActionOut(
                id=a.id,
                responsible_service=a.responsible_service,
                evaluate_by=a.evaluate_by,
                status=a.status,
            )
            for a in s.actions.values()
        ],
        level0_decision_overdue=case.level0_decision_overdue(on),
        version=case.version,
        child=None if child is None else ChildOut(
            name=child["name"],
            birth_date=child["birth_date"],
            has_national_id=child["national_id"] is not None,
        ),
        concern=None if child is None else child["concern"],
    )


def _instant(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


def case_summary_out(f: CaseFacts, on: date) -> CaseSummaryOut:
    """A row of the case list, with participants and consents as of a day."""
    return CaseSummaryOut(
        id=f.id,
        status=f.status,
        level=f.level,
        municipality=f.municipality,
        opened_at=_instant(f.opened_at),  # type: ignore[arg-type]
        closed_at=_instant(f.closed_at),
        holder=HolderOut(user=f.holder_user, service=f.holder_service),
        pending_handover=None if f.pending_id is None else PendingHandoverOut(
            id=UUID(f.pending_id),
            to_user=f.pending_to_user or "",
            to_service=f.pending_to_service or "",
            requested_by=f.pending_requested_by or "",
            requested_at=_instant(f.pending_requested_at),  # type: ignore[arg-type]
        ),
        participants=[
            ServiceRef(service=s) for s in sorted(f.participants) if f.is_taking_part(s, on)
        ],
        consents=[
            ConsentSummaryOut(
                id=UUID(consent_id),
                services=sorted(services),
                valid_until=until,
                status=status if status != "active" or until >= on else "expired",
            )
            for consent_id, (services, until, status) in sorted(f.consents.items())
        ],
        coordinator=None if f.coordinator_user is None else CoordinatorOut(
            user=f.coordinator_user, service=f.coordinator_service or ""
        ),
        responsibility_group=f.responsibility_group,
        individual_plan=f.individual_plan,
        version=f.version,
    )
