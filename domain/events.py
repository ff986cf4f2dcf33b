"""The events of a BTI case, of a child and of the service directory.

Every event says what happened, to which case, when and by whom (`user`,
`service`). Personal data and free text travel only as `Sealed` bytes; in clear an
event carries just what statistics need: municipality, sector, service, level,
event type, dates and an age band.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar
from uuid import UUID

from domain.aggregate import DomainEvent
from domain.values import (
    AgeBand,
    CloseReason,
    ConsentForm,
    Consenter,
    EntryKind,
    ErasureReason,
    EvaluationOutcome,
    GuardianRelation,
    Level,
    Level0Step,
    ParticipantRole,
    Respondent,
    Sealed,
    StatutoryBasis,
    Sector,
)

# --- the case -------------------------------------------------------------------


class CaseEvent(DomainEvent, frozen=True, kw_only=True):
    """An event of a case, recorded by `user` acting for `service` (None: the system)."""

    user: str
    service: str | None


class CaseOpened(CaseEvent, frozen=True, kw_only=True):
    child_id: UUID
    municipality: str
    sector: Sector
    age_band: AgeBand
    child_name: Sealed
    birth_date: Sealed | None
    national_id: Sealed | None
    concern: Sealed


class Level0StepRecorded(CaseEvent, frozen=True, kw_only=True):
    step: Level0Step
    text: Sealed


class LevelChanged(CaseEvent, frozen=True, kw_only=True):
    from_level: Level
    to_level: Level
    reason: Sealed


class EntryAdded(CaseEvent, frozen=True, kw_only=True):
    entry_id: UUID
    kind: EntryKind
    text: Sealed
    corrects: UUID | None = None


class ConsentGiven(CaseEvent, frozen=True, kw_only=True):
    consent_id: UUID
    given_by: Consenter
    services: tuple[str, ...]
    purpose: Sealed
    valid_until: date
    form: ConsentForm
    child_view: Sealed | None = None


class ConsentWithdrawn(CaseEvent, frozen=True, kw_only=True):
    consent_id: UUID
    reason: Sealed | None


class ConsentExpired(CaseEvent, frozen=True, kw_only=True):
    consent_id: UUID
    valid_until: date


class ServiceJoined(CaseEvent, frozen=True, kw_only=True):
    joined_service: str
    sector: Sector
    role: ParticipantRole
    contact_user: str | None = None


class ServiceBroughtInByLaw(CaseEvent, frozen=True, kw_only=True):
    """A service is brought into the case without consent, on a statutory basis named
    by the holder or a coordinator, with a reason. It is followed by `ServiceJoined`."""

    brought_in_service: str
    sector: Sector
    basis: StatutoryBasis
    reason: Sealed


class ServiceLeft(CaseEvent, frozen=True, kw_only=True):
    """A service stops taking part: it left, or the consent that let it in ended."""

    left_service: str
    because_consent_ended: bool = False


class HandoverRequested(CaseEvent, frozen=True, kw_only=True):
    handover_id: UUID
    to_user: str
    to_service: str
    to_sector: Sector
    note: Sealed | None = None


class HandoverAccepted(CaseEvent, frozen=True, kw_only=True):
    handover_id: UUID
    from_user: str
    from_service: str
    to_sector: Sector


class HandoverDeclined(CaseEvent, frozen=True, kw_only=True):
    handover_id: UUID
    reason: Sealed | None


class HandoverCancelled(CaseEvent, frozen=True, kw_only=True):
    handover_id: UUID
    because_consent_ended: bool = False


class CoordinatorAppointed(CaseEvent, frozen=True, kw_only=True):
    coordinator_user: str
    coordinator_service: str


class CoordinatorReleased(CaseEvent, frozen=True, kw_only=True):
    coordinator_user: str
    because_consent_ended: bool = False


class ResponsibilityGroupEstablished(CaseEvent, frozen=True, kw_only=True):
    services: tuple[str, ...]


class ResponsibilityGroupDissolved(CaseEvent, frozen=True, kw_only=True):
    pass


class IndividualPlanStarted(CaseEvent, frozen=True, kw_only=True):
    pass


class IndividualPlanEnded(CaseEvent, frozen=True, kw_only=True):
    pass


class MeetingHeld(CaseEvent, frozen=True, kw_only=True):
    meeting_id: UUID
    held_on: date
    services: tuple[str, ...]
    minutes: Sealed


class ActionAgreed(CaseEvent, frozen=True, kw_only=True):
    action_id: UUID
    description: Sealed
    responsible_service: str
    evaluate_by: date


class ActionEvaluated(CaseEvent, frozen=True, kw_only=True):
    action_id: UUID
    outcome: EvaluationOutcome
    text: Sealed
    evaluated_by_date: bool


class SatisfactionAnswered(CaseEvent, frozen=True, kw_only=True):
    respondent: Respondent
    score: int


class CaseClosed(CaseEvent, frozen=True, kw_only=True):
    reason: CloseReason
    note: Sealed | None
    level: Level


class GuardianRecorded(CaseEvent, frozen=True, kw_only=True):
    """A guardian of the child, recorded by the holder. Name and fødselsnummer are
    sealed; `login` is the keyed blind index of the fødselsnummer, by which the guardian
    is found at sign-in, never the number itself (None without a number)."""

    guardian_id: UUID
    name: Sealed
    relation: GuardianRelation
    national_id: Sealed | None
    login: str | None


class GuardianRemoved(CaseEvent, frozen=True, kw_only=True):
    guardian_id: UUID


class EntryWithheld(CaseEvent, frozen=True, kw_only=True):
    """At the child's request (from 12), an entry is kept from the guardians."""

    entry_id: UUID
    reason: Sealed


class ChildDataErased(CaseEvent, frozen=True, kw_only=True):
    """The child's data key was destroyed (crypto-shredding): every sealed field of the
    case is unreadable from now on. No personal data: why (`reason`), the archive period
    that ran out (years, for `archive-period-ended`), and for a request its reference
    (`note`, e.g. the archive's journal number; checked to hold none of the child's or
    the guardians' personal data, docs/domain.md "Erasure"). The date is the event's."""

    reason: ErasureReason
    archive_years: int | None = None
    note: str | None = None


# --- the child ------------------------------------------------------------------


class ChildRegistered(DomainEvent, frozen=True, kw_only=True):
    """A child became known; the id is derived from a blind index, never the number."""


class ChildCaseStarted(DomainEvent, frozen=True, kw_only=True):
    case_id: UUID


class ChildCaseEnded(DomainEvent, frozen=True, kw_only=True):
    case_id: UUID


class ChildErased(DomainEvent, frozen=True, kw_only=True):
    """The child's data key is destroyed: the data of these cases (all of the child's)
    can no longer be read."""

    cases: tuple[UUID, ...]
    reason: ErasureReason


# --- the service directory ------------------------------------------------------


class ServiceRegistered(DomainEvent, frozen=True, kw_only=True):
    service_id: str
    name: str
    sector: Sector
    municipalities: tuple[str, ...]
    inter_municipal: bool
    registered_by: str


class ServiceRenamed(DomainEvent, frozen=True, kw_only=True):
    service_id: str
    name: str
    renamed_by: str


class ServiceClosed(DomainEvent, frozen=True, kw_only=True):
    """The service is laid down (lagt ned): it can no longer be brought into a case or
    have staff registered to it; the cases it is already in keep it."""

    service_id: str
    closed_by: str


# --- the access log of a case -----------------------------------------------------


class AccessLogStarted(DomainEvent, frozen=True, kw_only=True):
    case_id: UUID


class AccessRecorded(DomainEvent, frozen=True, kw_only=True):
    """One read or write of a case: who, in which role, for which service, what."""

    user: str
    role: str
    service: str | None
    action: str


# --- the statistics requests of an evaluator --------------------------------------


class StatisticsLogStarted(DomainEvent, frozen=True, kw_only=True):
    user: str


class StatisticsRequested(DomainEvent, frozen=True, kw_only=True):
    """One statistics request: who, for which municipalities, which table and period."""

    user: str
    role: str
    municipalities: tuple[str, ...]
    table: str
    period: str
    # A request the evaluator was not allowed (another municipality's statistics):
    # recorded too, so that attempts show.
    refused: bool = False

    schema_version: ClassVar[int] = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 had no `refused`: it recorded answered requests only."""
        state["refused"] = False


# --- the staff directory ----------------------------------------------------------
# Staff names and e-mail addresses are personal data of the staff: they stand in
# these events in clear and are encrypted at rest with the rest of the event store
# (the store cipher). A login subject never stands anywhere in clear: `login` is its
# keyed hash (the application's blind index), or None.


class StaffDetailsEvent(DomainEvent, frozen=True, kw_only=True):
    """A staff member's details, every field as it is after the event."""

    staff_id: str
    name: str
    email: str | None
    service: str | None
    roles: tuple[str, ...]
    municipalities: tuple[str, ...]
    login: str | None


class StaffRegistered(StaffDetailsEvent, frozen=True, kw_only=True):
    registered_by: str


class StaffChanged(StaffDetailsEvent, frozen=True, kw_only=True):
    changed_by: str


class StaffDeactivated(DomainEvent, frozen=True, kw_only=True):
    staff_id: str
    changed_by: str


class StaffReactivated(DomainEvent, frozen=True, kw_only=True):
    staff_id: str
    changed_by: str
