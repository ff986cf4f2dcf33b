"""Request and response bodies of the HTTP API (contract version 1), as msgspec Structs.

Requests refuse unknown fields and check types, vocabularies and sizes before any
command runs; the 400 answer names the field and the rule. Responses are the
contract's shapes of the view model (`stafettlogg/views.py`), mapped by the `*_out`
functions here without deciding anything: the view model has already left out what
the reader may not see.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec
from msgspec import Meta

from domain.services import ServiceInfo
from domain.values import (
    CloseReason, EntryKind, EvaluationOutcome, Level0Step, Sector, StatutoryBasis,
)
from stafettlogg.views import (
    AccessLine,
    CaseListView,
    CaseSummaryView,
    CaseView,
    CoordinatorView,
    InboxView,
    LogView,
    PendingHandoverView,
    StaffListView,
    StaffView,
)

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


class GuardianIn(Body):
    name: Name
    relation: Literal["mother", "father", "other"]
    national_id: Annotated[str, Meta(max_length=20)] | None = None


class WithholdIn(Body):
    reason: ShortText


class ParticipantIn(Body):
    service: ServiceId
    user: Id | None = None
    role: Literal["participant", "responsibility-group", "coordinator"] | None = None


class StatutorySharingIn(Body):
    """A service brought in without consent: the statutory basis and why."""

    service: ServiceId
    basis: StatutoryBasis
    reason: Text


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


StaffId = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$")]
Role = Literal["worker", "coordinator", "leader", "evaluator", "admin"]
Email = Annotated[str, Meta(max_length=254)]


class LoginIn(Body):
    subject: Annotated[str, Meta(min_length=1, max_length=255)]


class StaffIn(Body, kw_only=True):
    id: StaffId
    name: Name
    email: Email | None = None
    service: ServiceId | None = None
    roles: Annotated[list[Role], Meta(min_length=1, max_length=5)]
    municipalities: Annotated[list[Municipality], Meta(max_length=50)] = []
    login: LoginIn | None = None


class StaffPatchIn(Body, kw_only=True):
    """Only the fields sent change; `email`, `service` and `login` may be null."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    email: Email | None | msgspec.UnsetType = msgspec.UNSET
    service: ServiceId | None | msgspec.UnsetType = msgspec.UNSET
    roles: Annotated[list[Role], Meta(min_length=1, max_length=5)] | msgspec.UnsetType = (
        msgspec.UNSET)
    municipalities: Annotated[list[Municipality], Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET)
    login: LoginIn | None | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class ServiceIn(Body):
    id: ServiceId
    name: Name
    sector: Sector
    municipalities: Annotated[list[Municipality], Meta(min_length=1, max_length=50)]


class ServicePatchIn(Body, kw_only=True):
    """A new name, and/or `active: false` to close (legge ned) the service."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


# --- responses ----------------------------------------------------------------------


class ServiceOut(msgspec.Struct):
    id: str
    name: str
    sector: str
    municipalities: list[str]
    inter_municipal: bool
    active: bool


class ServiceList_(msgspec.Struct):
    items: list[ServiceOut]


class StaffOut(msgspec.Struct, omit_defaults=True):
    """Non-admins get id, name, service and active only."""

    id: str
    name: str
    service: str | None
    active: bool
    email: str | None = None
    roles: list[str] | None = None
    municipalities: list[str] | None = None
    has_login: bool | None = None


class StaffListOut(msgspec.Struct):
    items: list[StaffOut]
    next: str | None


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


class StatutoryAccessOut(msgspec.Struct):
    service: str
    basis: str
    since: datetime


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


class GuardianOut(msgspec.Struct):
    id: UUID
    relation: str
    since: datetime
    can_sign_in: bool
    name: str | None = None


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
    guardians: list[GuardianOut] = []
    statutory_access: list[StatutoryAccessOut] = []


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
    withheld: bool = False


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


class ReadyCheck(msgspec.Struct, omit_defaults=True):
    """One part of the service in /ready: `ok`, `not-ready` (the service cannot serve
    without it) or `degraded` (it serves, but this part does not work)."""

    status: str
    # The kind of an error waiting will not mend (`unknown-role`, `missing-database`...).
    cause: str | None = None
    detail: str | None = None
    # Views: events of the notification log not processed yet (the largest of the views).
    lag: int | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str | None = None
    errors: list[FieldError] | None = None
    # /ready only: each part of the service and whether it is ready.
    checks: dict[str, ReadyCheck] | None = None


class Health(msgspec.Struct):
    status: str


class Readiness(msgspec.Struct):
    """/ready when the service is ready: `ready`, and each part checked."""

    status: str
    checks: dict[str, ReadyCheck]


# --- building responses -------------------------------------------------------------


def staff_out(view: StaffView) -> StaffOut:
    full = view.roles is not None
    return StaffOut(
        id=view.id, name=view.name, service=view.service, active=view.active,
        email=view.email if full else None,
        roles=list(view.roles) if view.roles is not None else None,
        municipalities=list(view.municipalities) if view.municipalities is not None else None,
        has_login=view.has_login,
    )


def staff_list_out(view: StaffListView) -> StaffListOut:
    return StaffListOut(items=[staff_out(v) for v in view.items],
                        next=None if view.next is None else str(view.next))


def service_out(info: ServiceInfo) -> ServiceOut:
    return ServiceOut(
        id=info.id,
        name=info.name,
        sector=info.sector,
        municipalities=list(info.municipalities),
        inter_municipal=info.inter_municipal,
        active=info.active,
    )


def _pending_out(p: PendingHandoverView | None) -> PendingHandoverOut | None:
    if p is None:
        return None
    return PendingHandoverOut(
        id=p.id, to_user=p.to_user, to_service=p.to_service, requested_by=p.requested_by,
        requested_at=p.requested_at,
    )


def _coordinator_out(c: CoordinatorView | None) -> CoordinatorOut | None:
    return None if c is None else CoordinatorOut(user=c.user, service=c.service)


def case_out(view: CaseView) -> CaseOut:
    """The contract's case object, from the view model (which decided what shows)."""
    child = view.child
    return CaseOut(
        id=view.id,
        status=view.status,
        level=view.level,
        municipality=view.municipality,
        age_band=view.age_band,
        opened_at=view.opened_at,
        closed_at=view.closed_at,
        holder=HolderOut(user=view.holder_user, service=view.holder_service),
        pending_handover=_pending_out(view.pending_handover),
        participants=[
            ParticipantOut(service=p.service, sector=p.sector, role=p.role, user=p.user,
                           since=p.since)
            for p in view.participants
        ],
        consents=[
            ConsentOut(id=c.id, given_by=c.given_by, services=c.services,
                       valid_until=c.valid_until, form=c.form, status=c.status)
            for c in view.consents
        ],
        coordinator=_coordinator_out(view.coordinator),
        responsibility_group=view.responsibility_group_services is not None,
        responsibility_group_services=list(view.responsibility_group_services or ()),
        individual_plan=view.individual_plan,
        actions=[
            ActionOut(id=a.id, responsible_service=a.responsible_service,
                      evaluate_by=a.evaluate_by, status=a.status)
            for a in view.actions
        ],
        level0_decision_overdue=view.level0_decision_overdue,
        version=view.version,
        child=None if child is None else ChildOut(
            name=child.name, birth_date=child.birth_date, has_national_id=child.has_national_id,
        ),
        concern=None if child is None else child.concern,
        guardians=[GuardianOut(id=g.id, relation=g.relation, since=g.since,
                               can_sign_in=g.can_sign_in, name=g.name)
                   for g in view.guardians],
        statutory_access=[StatutoryAccessOut(service=a.service, basis=a.basis, since=a.since)
                          for a in view.statutory_access],
    )


def case_summary_out(view: CaseSummaryView) -> CaseSummaryOut:
    """A row of the case list."""
    return CaseSummaryOut(
        id=view.id,
        status=view.status,
        level=view.level,
        municipality=view.municipality,
        opened_at=view.opened_at,
        closed_at=view.closed_at,
        holder=HolderOut(user=view.holder_user, service=view.holder_service),
        pending_handover=_pending_out(view.pending_handover),
        participants=[ServiceRef(service=s) for s in view.participants],
        consents=[
            ConsentSummaryOut(id=c.id, services=c.services, valid_until=c.valid_until,
                              status=c.status)
            for c in view.consents
        ],
        coordinator=_coordinator_out(view.coordinator),
        responsibility_group=view.responsibility_group,
        individual_plan=view.individual_plan,
        version=view.version,
    )


def case_list_out(view: CaseListView) -> CaseListOut:
    return CaseListOut(
        items=[case_summary_out(c) for c in view.items],
        next=None if view.next is None else str(view.next),
    )


def log_out(view: LogView) -> LogOut:
    return LogOut(entries=[
        LogEntryOut(seq=e.seq, at=e.at, kind=e.kind, user=e.user, service=e.service,
                    text=e.text, details=e.details, withheld=e.withheld)
        for e in view.entries
    ])


def access_log_out(lines: list[AccessLine]) -> AccessLogOut:
    return AccessLogOut(items=[
        AccessLineOut(at=a.at, user=a.user, role=a.role, service=a.service, action=a.action)
        for a in lines
    ])


def inbox_out(view: InboxView) -> InboxOut:
    return InboxOut(
        handovers=[
            InboxHandoverOut(case=h.case, id=h.id, to_user=h.to_user, to_service=h.to_service,
                             requested_by=h.requested_by, requested_at=h.requested_at)
            for h in view.handovers
        ],
        actions_due=[
            InboxActionOut(case=a.case, id=a.id, responsible_service=a.responsible_service,
                           evaluate_by=a.evaluate_by)
            for a in view.actions_due
        ],
        consents_expiring=[
            InboxConsentOut(case=c.case, id=c.id, services=c.services, valid_until=c.valid_until)
            for c in view.consents_expiring
        ],
    )


# --- the training register (docs/api.md, "Training") ----------------------------------

TrainingCode = Literal[
    "handlingsveileder", "tegn-og-signaler", "ta-opp-bekymring", "tilpasse-oppfolging",
    "tjenester-og-arenaer", "stafettloggen", "stafettholderrollen",
]


class TrainingIn(Body):
    training: TrainingCode
    on: date


class StaffTrainingOut(msgspec.Struct):
    staff_id: str
    name: str
    service: str | None
    active: bool
    # training -> the days the person had it, oldest first
    trainings: dict[str, list[date]]
    held_baton_since: date | None


class TrainingRegisterOut(msgspec.Struct):
    items: list[StaffTrainingOut]


class AttendanceLineOut(msgspec.Struct):
    line: int
    status: Literal["new", "recorded", "error"]
    staff_id: str | None
    name: str | None
    training: str | None
    on: date | None
    field: str | None
    error: str | None


class AttendanceReportOut(msgspec.Struct):
    recorded: bool  # whether the new rows were recorded (never with an error, never on dry_run)
    new: int
    already_recorded: int
    errors: int
    lines: list[AttendanceLineOut]


class TrainingShareOut(msgspec.Struct):
    municipality: str
    sector: str
    service: str
    indicator: str
    numerator: int
    denominator: int
    share: float | None  # numerator / denominator, None when nobody is counted


class TrainingSharesOut(msgspec.Struct):
    on: date
    items: list[TrainingShareOut]


# --- the implementation plan (docs/api.md, "The implementation plan") -------------------

PlanRhythm = Literal["kvartalsvis", "halvårlig", "årlig"]
PlanStatus = Literal["not-started", "under-way", "done"]
PlanPeriod = Annotated[str, Meta(pattern=r"^[0-9]{4}(-Q[1-4]|-H[12])?$")]


class PlanRhythmIn(Body):
    rhythm: PlanRhythm


class PlanActivityIn(Body):
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    responsible: Annotated[str, Meta(min_length=1, max_length=100)]
    due: date
    # One or several of the municipality's services, or none with `all_services`.
    services: Annotated[list[ServiceId], Meta(max_length=200)] = []
    all_services: bool = False


class PlanActivityOut(msgspec.Struct):
    id: UUID
    title: str
    responsible: str
    due: date
    all_services: bool
    services: list[str]  # the services it applies to now


class PlanOut(msgspec.Struct):
    municipality: str
    rhythm: PlanRhythm
    current_period: str
    activities: list[PlanActivityOut]


class PlanReportIn(Body):
    activity: UUID
    period: PlanPeriod
    status: PlanStatus
    note: Annotated[str, Meta(max_length=500)] = ""
    # The reporting leader's own service; by default the one of their token.
    service: ServiceId | None = None


class PlanUnitsOut(msgspec.Struct):
    """The services under each status, and how many."""

    not_started: list[str]
    under_way: list[str]
    done: list[str]
    not_reported: list[str]
    counts: dict[str, int]


class PlanOverviewLineOut(msgspec.Struct):
    activity: PlanActivityOut
    units: PlanUnitsOut


class PlanOverviewOut(msgspec.Struct):
    municipality: str
    rhythm: PlanRhythm
    period: str
    items: list[PlanOverviewLineOut]
# --- the staff survey (docs/api.md, "Staff survey") ------------------------------------

ScaleAnswer = Annotated[int, Meta(ge=1, le=4)]


class SurveyRoundIn(Body):
    municipality: Municipality
    services: ServiceList
    opens_on: date
    closes_on: date
    asks_role: bool = False


class SurveyCodesIn(Body):
    service: ServiceId
    # None: one code for each active staff member of the service
    count: Annotated[int, Meta(ge=1, le=2000)] | None = None


class SurveyAnswerIn(Body):
    """One answer; a driver's or result item's None is "vet ikke"."""

    code: Annotated[str, Meta(min_length=1, max_length=40)]
    level_of_use: Annotated[int, Meta(ge=1, le=8)]
    drivers: dict[str, ScaleAnswer | None]
    results: dict[str, ScaleAnswer | None]
    role: Literal["medarbeider", "leder"] | None = None


class SurveyServiceOut(msgspec.Struct):
    service: str
    name: str
    sector: str
    invited: int  # codes issued
    answered: int


class SurveyRoundOut(msgspec.Struct):
    id: UUID
    municipality: str
    opens_on: date
    closes_on: date
    asks_role: bool
    status: Literal["waiting", "open", "closed"]
    invited: int
    answered: int
    services: list[SurveyServiceOut]


class SurveyRoundListOut(msgspec.Struct):
    items: list[SurveyRoundOut]


class SurveyCodesOut(msgspec.Struct):
    """The new codes, shown this once: they are not stored anywhere."""

    round_id: UUID
    service: str
    codes: list[str]


# --- the survey's results and the activity indicators, protected --------------------
# (docs/api.md, "Survey results"). `null` is a hidden figure, or one there is nothing
# to show for; the rules are in projections/survey_results.py and projections/training.py.

Hidden = Meta(description="null: hidden (too few in the group, or it could be worked out)")


class SurveyResultsRoundOut(msgspec.Struct):
    """A closed round whose results the caller may read. `answered` is `null` when the
    whole round has fewer answers than the minimum."""

    id: UUID
    municipality: str
    opens_on: date
    closes_on: date
    invited: int  # codes issued
    answered: Annotated[int | None, Hidden]


class SurveyResultsRoundListOut(msgspec.Struct):
    items: list[SurveyResultsRoundOut]


class LevelsOut(msgspec.Struct):
    """The Levels of Use: answers at levels 1..8, their median, mode(s) and mean."""

    counts: Annotated[list[int], Meta(description="answers at levels 1, 2, .., 8")]
    median: float
    modes: list[int]
    mean: float


class CorrelationOut(msgspec.Struct):
    """Spearman's rho between the Levels of Use and a driver, over the answers that
    rate the driver, with its two-sided p-value and a 95 % interval (Fisher's z)."""

    rho: float
    n: int
    p_value: float
    exact: Annotated[bool, Meta(description="true: a permutation test; false: the t-approximation")]
    low: Annotated[float | None, Meta(description="null: fewer than 4 pairs, or rho is ±1")]
    high: float | None


class DriverOut(msgspec.Struct):
    counts: Annotated[list[int], Meta(description="answers 1, 2, 3, 4")]
    dont_know: int
    correlation: Annotated[CorrelationOut | None, Meta(
        description="null: too few pairs, no variation, or the Levels of Use hidden")]


class ResultItemOut(msgspec.Struct):
    """A result item: the share answering 3 or 4 of those who answered 1-4, with its
    Wilson 95 % interval."""

    good: int
    answered: int  # answered 1-4
    dont_know: int
    share: Annotated[float | None, Meta(description="null: nobody answered 1-4")]
    low: float | None
    high: float | None


class GroupResultOut(msgspec.Struct):
    """A unit (`service`), a sector (`service` `all`) or the municipality (`sector` and
    `service` `all`). With `answered` `null` the group's figures are all hidden."""

    sector: str
    service: str
    invited: int
    answered: Annotated[int | None, Hidden]
    response_rate: Annotated[float | None, Meta(
        description="answered / invited; null when hidden or no code was issued")]
    levels: Annotated[LevelsOut | None, Hidden]
    drivers: Annotated[dict[str, DriverOut | None], Meta(
        description="by driver code; null: hidden")]
    results: Annotated[dict[str, ResultItemOut | None], Meta(
        description="by result item code; null: hidden")]


class SurveyResultsOut(msgspec.Struct):
    round: SurveyResultsRoundOut
    minimum: Annotated[int, Meta(description="the fewest answers a group needs to be shown")]
    groups: list[GroupResultOut]


class SurveyComparisonOut(msgspec.Struct):
    """Two closed rounds of one municipality, the earlier first."""

    earlier: SurveyResultsOut
    later: SurveyResultsOut


class ActivityIndicatorOut(msgspec.Struct):
    municipality: str
    sector: str
    service: str
    indicator: str
    numerator: Annotated[int | None, Hidden]
    denominator: Annotated[int | None, Hidden]
    share: Annotated[float | None, Meta(
        description="numerator / denominator to four decimals, where both are shown")]


class ActivityIndicatorsOut(msgspec.Struct):
    municipality: str
    on: date
    minimum: int
    items: list[ActivityIndicatorOut]
