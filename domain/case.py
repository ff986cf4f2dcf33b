"""The case (stafettlogg) of one child, and every rule of the brief that governs it.

Each public method is one thing a worker or coordinator does. It checks the rules,
then records events; the `_on_<Event>` methods only apply what was recorded. The
rules, in the order of `docs/architecture.md`:

* holder: an open case always has exactly one holder, which changes only when the
  named recipient accepts; at most one handover is pending; only the holder or a
  coordinator asks, only the recipient accepts or declines, only the asker or a
  coordinator cancels (`request_handover`, `accept_handover`, ...);
* consent: sharing with another service needs an active consent covering it;
  withdrawal or expiry ends the access of services no longer covered and cancels a
  pending handover to them; the opening service keeps its own access
  (`_require_access`, `_end_uncovered_access`);
* levels: leaving level 0 needs the decision step; level 2 needs two services,
  level 3 three (`change_level`);
* a closed case refuses every change (`_require_open`).

Time is always the `at` argument; nothing here reads the clock.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid5

import msgspec

from domain.calendar import day_of
from domain import errors
from domain.aggregate import Aggregate, Snapshot
from domain.consent import (
    YOUTH_CONSENT_AGE_RANGE,
    consent_status,
    is_consent_active,
    required_consenter,
)
from domain.events import (
    ActionAgreed,
    ActionEvaluated,
    CaseClosed,
    CaseEvent,
    CaseOpened,
    ChildDataErased,
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    CoordinatorAppointed,
    CoordinatorReleased,
    EntryAdded,
    EntryWithheld,
    GuardianRecorded,
    GuardianRemoved,
    HandoverAccepted,
    HandoverCancelled,
    HandoverDeclined,
    HandoverRequested,
    IndividualPlanEnded,
    IndividualPlanStarted,
    Level0StepRecorded,
    LevelChanged,
    MeetingHeld,
    ResponsibilityGroupDissolved,
    ResponsibilityGroupEstablished,
    SatisfactionAnswered,
    ServiceBroughtInByLaw,
    ServiceJoined,
    ServiceLeft,
)
from domain.services import ServiceInfo
from domain.values import (
    CLOSE_REASONS,
    ERASURE_REASONS,
    STAFF_CONSENT_FORMS,
    CONSENTERS,
    ENTRY_KINDS,
    EVALUATION_OUTCOMES,
    GUARDIAN_RELATIONS,
    LEVEL0_STEPS,
    WITHHOLD_FROM_AGE,
    LEVELS,
    RESPONDENTS,
    STATUTORY_BASES,
    Actor,
    AgeBand,
    ParticipantRole,
    Sealed,
    Sector,
)

# Services that must take part before a case may be at a level (brief, section 1).
MIN_SERVICES_FOR_LEVEL = {0: 1, 1: 1, 2: 2, 3: 3}
# Practice: a level-0 concern is decided within 14 days.
LEVEL0_DECISION_DAYS = 14
# The coordinator's overview (docs/domain.md, "The coordinator's overview"): a
# handover pending longer than this waits too long, and a case with no recorded
# step for this long has gone quiet.
HANDOVER_WAIT_DAYS = 7
QUIET_DAYS = 60

SYSTEM = Actor(user="system")


def may_ask_to_withhold(child_age: int | None) -> bool:
    """From 12 a child can ask that something is kept from the guardians; an unknown
    age cannot."""
    return child_age is not None and child_age >= WITHHOLD_FROM_AGE


# --- state ------------------------------------------------------------------------


class Participant(msgspec.Struct):
    service: str
    sector: Sector
    role: ParticipantRole
    user: str | None
    since: datetime


class Consent(msgspec.Struct):
    id: UUID
    given_by: str
    services: tuple[str, ...]
    valid_until: date
    form: str
    given_at: datetime
    status: str = "active"  # active, withdrawn, expired (as recorded)

    def is_active(self, on: date) -> bool:
        return is_consent_active(
            withdrawn=self.status != "active", valid_until=self.valid_until, on=on
        )


class Handover(msgspec.Struct):
    id: UUID
    to_user: str
    to_service: str
    to_sector: Sector
    requested_by: str
    requested_at: datetime


class Coordinator(msgspec.Struct):
    user: str
    service: str


class Action(msgspec.Struct):
    id: UUID
    responsible_service: str
    evaluate_by: date
    status: str = "open"  # open, completed, stopped


class StatutoryAccess(msgspec.Struct):
    """A service brought in without consent: on which statutory basis, since when."""

    basis: str
    since: datetime


class Guardian(msgspec.Struct):
    id: UUID
    relation: str
    login: str | None  # the blind index of the fødselsnummer, or None
    since: datetime
    name: bytes = b""  # sealed with the child's key


class CaseState(msgspec.Struct):
    child_id: UUID
    municipality: str
    opened_by_service: str
    opened_at: datetime
    age_band: AgeBand
    holder_user: str
    holder_service: str
    status: str = "open"
    level: int = 0
    decision_recorded: bool = False
    level0_steps: list[str] = []
    participants: dict[str, Participant] = {}
    consents: dict[UUID, Consent] = {}
    pending_handover: Handover | None = None
    handovers: list[UUID] = []
    coordinator: Coordinator | None = None
    responsibility_group: tuple[str, ...] | None = None
    individual_plan: bool = False
    actions: dict[UUID, Action] = {}
    entries: list[UUID] = []
    closed_at: datetime | None = None
    # The guardians recorded and not removed, and the entries kept from them.
    guardians: dict[UUID, Guardian] = {}
    withheld: list[UUID] = []
    # Services brought in without consent, on a statutory basis: service -> basis. Their
    # access lasts while they take part; a withdrawn or lapsed consent does not end it.
    by_law: dict[str, StatutoryAccess] = {}
    # When the child's data key was destroyed (docs/domain.md, "Erasure"): from then on
    # every sealed field of the case reads as erased.
    erased_at: datetime | None = None


class CaseSnapshot(Snapshot, frozen=True, kw_only=True):
    state: CaseState


# --- the aggregate ----------------------------------------------------------------


class Case(Aggregate):
    created_by = CaseOpened
    Snapshot = CaseSnapshot
    state: CaseState

    # Opening -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        actor: Actor,
        *,
        case_id: UUID,
        child_id: UUID,
        service: ServiceInfo,
        municipality: str,
        age_band: AgeBand,
        child_name: Sealed,
        birth_date: Sealed | None,
        national_id: Sealed | None,
        concern: Sealed,
        at: datetime,
    ) -> Case:
        """A worker of a service opens a case at level 0 and becomes its holder."""
        if actor.service != service.id:
            raise errors.NotParticipant("Du kan bare opprette saker for din egen tjeneste.")
        if not service.serves(municipality):
            raise errors.ServiceNotInMunicipality()
        if actor.municipalities and municipality not in actor.municipalities:
            raise errors.NotAuthorised("Du handler ikke for denne kommunen.")
        case = cls(case_id)
        case._trigger(
            CaseOpened,
            at,
            user=actor.user,
            service=service.id,
            child_id=child_id,
            municipality=municipality,
            sector=service.sector,
            age_band=age_band,
            child_name=child_name,
            birth_date=birth_date,
            national_id=national_id,
            concern=concern,
        )
        return case

    # Reading -----------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.state.status == "open"

    @property
    def municipality(self) -> str:
        return self.state.municipality

    @property
    def pending_recipient(self) -> tuple[str, str] | None:
        """Who a pending handover waits for: (user, service), or None."""
        pending = self.state.pending_handover
        return None if pending is None else (pending.to_user, pending.to_service)

    @property
    def holder(self) -> tuple[str, str]:
        """Who holds the baton: (user, service); on a closed case, who held it at the end."""
        return (self.state.holder_user, self.state.holder_service)

    @property
    def coordinator_of_case(self) -> tuple[str, str] | None:
        """The case's appointed coordinator: (user, service), or None."""
        c = self.state.coordinator
        return None if c is None else (c.user, c.service)

    @property
    def participating_services(self) -> list[str]:
        return list(self.state.participants)

    def is_taking_part(self, service_id: str | None, on: date) -> bool:
        """Taking part on a day: joined, and still covered (a lapsed consent counts
        at once, even before its expiry is recorded)."""
        return service_id in self.state.participants and self.has_access(service_id, on)

    def has_access(self, service_id: str | None, on: date) -> bool:
        """May this service see the case? Opening service, holder, brought in on a
        statutory basis, or covered by consent."""
        if service_id is None:
            return False
        if service_id in (self.state.opened_by_service, self.state.holder_service):
            return True
        if service_id in self.state.by_law:
            return True
        return any(c.is_active(on) and service_id in c.services for c in self.state.consents.values())

    def consent_status(self, consent: Consent, on: date) -> str:
        """`active`, `expired` or `withdrawn`, as of a day (expiry needs no event to count)."""
        return consent_status(consent.status, consent.valid_until, on)

    def level0_decision_overdue(self, on: date) -> bool:
        if self.state.level != 0 or self.state.decision_recorded:
            return False
        return (on - day_of(self.state.opened_at)).days > LEVEL0_DECISION_DAYS

    def handover_waits_too_long(self, on: date) -> bool:
        pending = self.state.pending_handover
        return pending is not None and (on - day_of(pending.requested_at)).days > HANDOVER_WAIT_DAYS

    def quiet(self, on: date) -> bool:
        """Open, and nothing recorded for `QUIET_DAYS` days."""
        last = self.modified_on or self.state.opened_at
        return self.is_open and (on - day_of(last)).days > QUIET_DAYS

    def overdue_actions(self, on: date) -> list[Action]:
        return [a for a in self.state.actions.values()
                if a.status == "open" and a.evaluate_by < on]

    # Guards --------------------------------------------------------------------------

    def _require_open(self) -> None:
        if not self.is_open:
            raise errors.CaseClosed()

    def _require_participant(self, actor: Actor) -> None:
        if actor.service is None or actor.service not in self.state.participants:
            raise errors.NotParticipant()

    def _is_municipality_coordinator(self, actor: Actor) -> bool:
        return actor.is_coordinator and self.state.municipality in actor.municipalities

    def _require_holder(self, actor: Actor) -> None:
        if actor.user != self.state.holder_user or actor.service != self.state.holder_service:
            raise errors.NotHolder("Bare stafettholderen kan gjøre dette.")

    def _require_holder_or_coordinator(self, actor: Actor) -> None:
        if self._is_municipality_coordinator(actor):
            return
        if (
            self.state.coordinator is not None
            and actor.user == self.state.coordinator.user
            and actor.service == self.state.coordinator.service
        ):
            return
        self._require_holder(actor)

    def _require_serves_municipality(self, service: ServiceInfo) -> None:
        """No case crosses municipalities except through a service that serves both."""
        if not service.serves(self.state.municipality):
            raise errors.ServiceNotInMunicipality()

    def _require_access(self, service: ServiceInfo, at: datetime) -> None:
        """Sharing with another service needs an active consent that covers it."""
        self._require_serves_municipality(service)
        if not self.has_access(service.id, day_of(at)):
            raise errors.ConsentRequired(
                f"Det finnes ikke noe gyldig samtykke som omfatter tjenesten {service.name}."
            )

    def _next_id(self) -> UUID:
        """Ids of things inside the case (entries, consents, ...) follow from the case."""
        return uuid5(self.id, str(self.version + 1))

    def _record(self, event_class: type[CaseEvent], actor: Actor, at: datetime, **fields) -> None:
        self._trigger(event_class, at, user=actor.user, service=actor.service, **fields)

    # Level 0 and levels --------------------------------------------------------------

    def record_level0_step(self, actor: Actor, *, step: str, text: Sealed, at: datetime) -> None:
        """The four level-0 steps; `beslutning` is the decision that lets the case move on."""
        self._require_open()
        self._require_participant(actor)
        if step not in LEVEL0_STEPS:
            raise errors.InvalidValue("step", f"Steg må være en av: {', '.join(LEVEL0_STEPS)}.")
        if self.state.level != 0:
            raise errors.WrongLevel()
        self._record(Level0StepRecorded, actor, at, step=step, text=text)

    def change_level(self, actor: Actor, *, level: int, reason: Sealed, at: datetime) -> None:
        """Move the concern to another level, with a reason."""
        self._require_open()
        self._require_holder(actor)
        if level not in LEVELS:
            raise errors.InvalidValue("level", "Nivå må være 0, 1, 2 eller 3.")
        if level == self.state.level:
            raise errors.AlreadyInState(f"Saken er allerede på nivå {level}.")
        if self.state.level == 0 and not self.state.decision_recorded:
            raise errors.DecisionRequired()
        needed = MIN_SERVICES_FOR_LEVEL[level]
        if len(self.state.participants) < needed:
            raise errors.TooFewServices(
                f"Nivå {level} krever minst {needed} tjenester i saken; "
                f"nå er det {len(self.state.participants)}."
            )
        self._record(
            LevelChanged, actor, at, from_level=self.state.level, to_level=level, reason=reason
        )

    # Log entries -----------------------------------------------------------------------

    def add_entry(
        self,
        actor: Actor,
        *,
        kind: str,
        text: Sealed,
        at: datetime,
        corrects: UUID | None = None,
    ) -> UUID:
        """Entries are append-only; a correction is a new entry pointing at the old one."""
        self._require_open()
        self._require_participant(actor)
        if kind not in ENTRY_KINDS:
            raise errors.InvalidValue("kind", f"Type må være en av: {', '.join(ENTRY_KINDS)}.")
        if corrects is not None and corrects not in self.state.entries:
            raise errors.NotFound("Innførselen som skal rettes, finnes ikke i saken.")
        entry_id = self._next_id()
        self._record(EntryAdded, actor, at, entry_id=entry_id, kind=kind, text=text, corrects=corrects)
        return entry_id

    # Guardians ----------------------------------------------------------------------------

    def record_guardian(
        self, actor: Actor, *, name: Sealed, relation: str, national_id: Sealed | None,
        login: str | None, at: datetime,
    ) -> UUID:
        """The holder records the child's guardians; one person is recorded once."""
        self._require_open()
        self._require_holder(actor)
        if relation not in GUARDIAN_RELATIONS:
            raise errors.InvalidValue(
                "relation", f"Relasjonen må være en av: {', '.join(GUARDIAN_RELATIONS)}.")
        if login is not None and any(g.login == login for g in self.state.guardians.values()):
            raise errors.GuardianExists()
        guardian_id = self._next_id()
        self._record(GuardianRecorded, actor, at, guardian_id=guardian_id, name=name,
                     relation=relation, national_id=national_id, login=login)
        return guardian_id

    def remove_guardian(self, actor: Actor, *, guardian_id: UUID, at: datetime) -> None:
        """Removing a guardian is recorded too; from then on they see nothing of the case."""
        self._require_open()
        self._require_holder(actor)
        if guardian_id not in self.state.guardians:
            raise errors.NotFound("Den foresatte finnes ikke i saken.")
        self._record(GuardianRemoved, actor, at, guardian_id=guardian_id)

    def guardian_of(self, login: str) -> Guardian | None:
        """The recorded guardian with this blind index, if any."""
        return next((g for g in self.state.guardians.values() if g.login == login), None)

    def withhold_entry(
        self, actor: Actor, *, entry_id: UUID, reason: Sealed, child_age: int | None,
        at: datetime,
    ) -> None:
        """From 12 a child can ask that an entry is kept from the guardians: a worker
        on the case marks it, with a reason, and the guardians never see it."""
        self._require_open()
        self._require_participant(actor)
        if entry_id not in self.state.entries:
            raise errors.NotFound("Innførselen finnes ikke i saken.")
        if not may_ask_to_withhold(child_age):
            raise errors.ChildTooYoung(WITHHOLD_FROM_AGE)
        if entry_id in self.state.withheld:
            return  # already kept from them: nothing new to record
        self._record(EntryWithheld, actor, at, entry_id=entry_id, reason=reason)

    # Consent ----------------------------------------------------------------------------

    def register_consent(
        self,
        actor: Actor,
        *,
        given_by: str,
        services: list[ServiceInfo],
        purpose: Sealed,
        valid_until: date,
        form: str,
        child_age: int | None,
        youth_consent_age: int,
        at: datetime,
        child_view: Sealed | None = None,
    ) -> UUID:
        """Record a consent: to services (not persons), for a purpose and a period."""
        self._require_open()
        self._require_participant(actor)
        if form not in STAFF_CONSENT_FORMS:
            raise errors.InvalidValue("form", "Samtykket er 'oral' eller 'written'.")
        return self._consent(actor, given_by=given_by, services=services, purpose=purpose,
                             valid_until=valid_until, form=form, child_age=child_age,
                             youth_consent_age=youth_consent_age, at=at,
                             child_view=child_view)

    def _consent(
        self, actor: Actor, *, given_by: str, services: list[ServiceInfo], purpose: Sealed,
        valid_until: date, form: str, child_age: int | None, youth_consent_age: int,
        at: datetime, child_view: Sealed | None,
    ) -> UUID:
        """Who consents follows the child's age (the youth-consent age of the
        municipality); a consent covers at least one service, for a period ahead."""
        if given_by not in CONSENTERS:
            raise errors.InvalidValue("given_by", "Samtykke gis av 'guardian' eller 'child'.")
        if youth_consent_age not in YOUTH_CONSENT_AGE_RANGE:
            raise errors.InvalidValue("youth_consent_age", "Samtykkealderen må være 12-18 år.")
        expected = required_consenter(child_age, youth_consent_age)
        if given_by != expected:
            who = "barnet selv" if expected == "child" else "foresatte"
            raise errors.WrongConsenter(
                f"Ut fra barnets alder må samtykket gis av {who} "
                f"(samtykkealder {youth_consent_age} år i kommunen)."
            )
        if not services:
            raise errors.InvalidConsent("Samtykket må omfatte minst én tjeneste.")
        if valid_until < day_of(at):
            raise errors.InvalidConsent("Gyldig til kan ikke være tilbake i tid.")
        for service in services:
            self._require_serves_municipality(service)
        consent_id = self._next_id()
        self._record(
            ConsentGiven,
            actor,
            at,
            consent_id=consent_id,
            given_by=given_by,
            services=tuple(dict.fromkeys(s.id for s in services)),
            purpose=purpose,
            valid_until=valid_until,
            form=form,
            child_view=child_view,
        )
        return consent_id

    def withdraw_consent(
        self, actor: Actor, *, consent_id: UUID, reason: Sealed | None, at: datetime
    ) -> None:
        """Consent can be withdrawn at any time; access it gave ends with it."""
        self._require_open()
        self._require_participant(actor)
        self._withdraw(actor, self._active_consent(consent_id), reason, at)

    def _active_consent(self, consent_id: UUID) -> Consent:
        consent = self.state.consents.get(consent_id)
        if consent is None:
            raise errors.NotFound("Samtykket finnes ikke i saken.")
        if consent.status != "active":
            raise errors.ConsentNotActive()
        return consent

    def _withdraw(self, actor: Actor, consent: Consent, reason: Sealed | None,
                  at: datetime) -> None:
        self._record(ConsentWithdrawn, actor, at, consent_id=consent.id, reason=reason)
        self._end_uncovered_access(at)

    # The family's own steps, signed in with ID-porten ------------------------------------

    def _family_member(self, actor: Actor) -> str:
        """Who in the family acts: `guardian` (one recorded on the case, not removed) or
        `child` (the young person, whom the application recognised by their number)."""
        if "guardian" in actor.roles:
            if not any(actor.user == f"foresatt-{g.id}" for g in self.state.guardians.values()):
                raise errors.Forbidden("Du er ikke registrert som foresatt i saken.")
            return "guardian"
        if "child" in actor.roles:
            return "child"
        raise errors.Forbidden("Bare familien kan gjøre dette.")

    def give_consent(
        self, actor: Actor, *, services: list[ServiceInfo], purpose: Sealed,
        valid_until: date, child_age: int | None, youth_consent_age: int, at: datetime,
    ) -> UUID:
        """A guardian or the young person gives consent themselves (form `digital`); who
        may give it follows the child's age, as for every consent."""
        self._require_open()
        given_by = self._family_member(actor)
        return self._consent(actor, given_by=given_by, services=services, purpose=purpose,
                             valid_until=valid_until, form="digital", child_age=child_age,
                             youth_consent_age=youth_consent_age, at=at, child_view=None)

    def withdraw_own_consent(self, actor: Actor, *, consent_id: UUID, at: datetime) -> None:
        """The family withdraws a consent the same kind of consenter gave (a guardian
        one of the guardians', the young person their own), with the same effects as
        any withdrawal."""
        self._require_open()
        member = self._family_member(actor)
        consent = self._active_consent(consent_id)
        if consent.given_by != member:
            whose = "de foresatte" if consent.given_by == "guardian" else "ungdommen selv"
            raise errors.Forbidden(f"Samtykket ble gitt av {whose}, og kan trekkes av dem.")
        self._withdraw(actor, consent, None, at)

    def add_family_note(self, actor: Actor, *, text: Sealed, at: datetime) -> UUID:
        """A guardian or the young person writes a note in the log."""
        self._require_open()
        self._family_member(actor)
        entry_id = self._next_id()
        self._record(EntryAdded, actor, at, entry_id=entry_id, kind="note", text=text,
                     corrects=None)
        return entry_id

    def answer_satisfaction(self, actor: Actor, *, score: int, at: datetime) -> None:
        """The family answers the satisfaction question themselves (1-5)."""
        self._require_open()
        respondent = self._family_member(actor)
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise errors.InvalidValue("score", "Tilfredshet er et tall fra 1 til 5.")
        self._record(SatisfactionAnswered, actor, at, respondent=respondent, score=score)

    def lapsed_consents(self, at: datetime) -> list[Consent]:
        """The active consents of an open case whose last day has passed at `at`: a
        consent holds to the end of its last day."""
        if not self.is_open:
            return []
        return [c for c in self.state.consents.values()
                if c.status == "active" and c.valid_until < day_of(at)]

    def expire_consents(self, at: datetime) -> list[UUID]:
        """Record the consents whose last day has passed, and end the access they gave."""
        expired = self.lapsed_consents(at)
        for consent in expired:
            self._record(
                ConsentExpired, SYSTEM, at, consent_id=consent.id, valid_until=consent.valid_until
            )
        if expired:
            self._end_uncovered_access(at)
        return [c.id for c in expired]

    def _end_uncovered_access(self, at: datetime) -> None:
        """After a consent ends: services no longer covered leave, their handover is cancelled."""
        on = day_of(at)
        pending = self.state.pending_handover
        if pending is not None and not self.has_access(pending.to_service, on):
            self._record(
                HandoverCancelled, SYSTEM, at, handover_id=pending.id, because_consent_ended=True
            )
        coordinator = self.state.coordinator
        if coordinator is not None and not self.has_access(coordinator.service, on):
            self._record(
                CoordinatorReleased,
                SYSTEM,
                at,
                coordinator_user=coordinator.user,
                because_consent_ended=True,
            )
        for service_id in list(self.state.participants):
            if not self.has_access(service_id, on):
                self._record(
                    ServiceLeft, SYSTEM, at, left_service=service_id, because_consent_ended=True
                )

    # Services taking part -----------------------------------------------------------

    def add_participant(
        self,
        actor: Actor,
        *,
        service: ServiceInfo,
        at: datetime,
        contact_user: str | None = None,
        role: ParticipantRole = "participant",
    ) -> None:
        """A service joins the case; it needs consent unless it opened the case."""
        self._require_open()
        self._require_holder_or_coordinator(actor)
        if service.id in self.state.participants:
            raise errors.AlreadyParticipant()
        self._require_access(service, at)
        self._record(
            ServiceJoined,
            actor,
            at,
            joined_service=service.id,
            sector=service.sector,
            role=role,
            contact_user=contact_user,
        )

    def bring_in_by_law(
        self, actor: Actor, *, service: ServiceInfo, basis: str, reason: Sealed, at: datetime
    ) -> None:
        """Bring a service in without consent: only as an explicit act of the holder or a
        coordinator, naming the statutory basis and a reason, and only where no consent
        or part in the case lets the service in already. The service then takes part
        as long as it does not leave, whatever becomes of the consents."""
        self._require_open()
        self._require_holder_or_coordinator(actor)
        if basis not in STATUTORY_BASES:
            raise errors.InvalidValue(
                "basis", "Lovhjemmelen må være en av: " + ", ".join(STATUTORY_BASES) + ".")
        self._require_serves_municipality(service)
        if service.id in self.state.participants or self.has_access(service.id, day_of(at)):
            raise errors.AccessWithoutLaw()
        self._record(ServiceBroughtInByLaw, actor, at, brought_in_service=service.id,
                     sector=service.sector, basis=basis, reason=reason)
        self._join_if_absent(actor, service, "participant", at)

    def remove_participant(self, actor: Actor, *, service_id: str, at: datetime) -> None:
        """A service leaves (itself, or by the holder); the holder's service stays."""
        self._require_open()
        if service_id not in self.state.participants:
            raise errors.NotFound("Tjenesten er ikke med i saken.")
        if actor.service != service_id:
            self._require_holder_or_coordinator(actor)
        if service_id == self.state.holder_service:
            raise errors.HolderServiceCannotLeave()
        pending = self.state.pending_handover
        if pending is not None and pending.to_service == service_id:
            self._record(HandoverCancelled, actor, at, handover_id=pending.id)
        coordinator = self.state.coordinator
        if coordinator is not None and coordinator.service == service_id:
            self._record(CoordinatorReleased, actor, at, coordinator_user=coordinator.user)
        self._record(ServiceLeft, actor, at, left_service=service_id)

    def _join_if_absent(
        self, actor: Actor, service: ServiceInfo, role: ParticipantRole, at: datetime
    ) -> None:
        if service.id not in self.state.participants:
            self._record(
                ServiceJoined, actor, at, joined_service=service.id, sector=service.sector, role=role
            )

    # Handover -----------------------------------------------------------------------

    def request_handover(
        self,
        actor: Actor,
        *,
        to_user: str,
        to_service: ServiceInfo,
        at: datetime,
        note: Sealed | None = None,
    ) -> UUID:
        """Only the holder or a coordinator asks; the baton stays until the recipient accepts."""
        self._require_open()
        if not self._is_municipality_coordinator(actor):
            self._require_holder(actor)
        if self.state.pending_handover is not None:
            raise errors.HandoverPending()
        if not to_user.strip():
            raise errors.InvalidValue("to_user", "Mottakeren må oppgis.")
        if to_user == self.state.holder_user and to_service.id == self.state.holder_service:
            raise errors.InvalidValue("to_user", "Mottakeren er allerede stafettholder.")
        self._require_access(to_service, at)
        handover_id = self._next_id()
        self._record(
            HandoverRequested,
            actor,
            at,
            handover_id=handover_id,
            to_user=to_user,
            to_service=to_service.id,
            to_sector=to_service.sector,
            note=note,
        )
        return handover_id

    def _pending(self, handover_id: UUID) -> Handover:
        if handover_id not in self.state.handovers:
            raise errors.NotFound("Overføringen finnes ikke i saken.")
        pending = self.state.pending_handover
        if pending is None or pending.id != handover_id:
            raise errors.NoPendingHandover()
        return pending

    def accept_handover(self, actor: Actor, *, handover_id: UUID, at: datetime) -> None:
        """The named recipient accepts, and only then becomes the holder."""
        self._require_open()
        pending = self._pending(handover_id)
        if actor.user != pending.to_user or actor.service != pending.to_service:
            raise errors.NotRecipient()
        if not self.has_access(pending.to_service, day_of(at)):
            raise errors.ConsentRequired(
                "Samtykket som omfattet mottakerens tjeneste, gjelder ikke lenger."
            )
        self._record(
            HandoverAccepted,
            actor,
            at,
            handover_id=handover_id,
            from_user=self.state.holder_user,
            from_service=self.state.holder_service,
            to_sector=pending.to_sector,
        )

    def decline_handover(
        self, actor: Actor, *, handover_id: UUID, reason: Sealed | None, at: datetime
    ) -> None:
        """The recipient declines; the holder keeps the baton."""
        self._require_open()
        pending = self._pending(handover_id)
        if actor.user != pending.to_user or actor.service != pending.to_service:
            raise errors.NotRecipient()
        self._record(HandoverDeclined, actor, at, handover_id=handover_id, reason=reason)

    def cancel_handover(self, actor: Actor, *, handover_id: UUID, at: datetime) -> None:
        """The one who asked, or a coordinator, takes the request back."""
        self._require_open()
        pending = self._pending(handover_id)
        if actor.user != pending.requested_by and not self._is_municipality_coordinator(actor):
            raise errors.NotRequester()
        self._record(HandoverCancelled, actor, at, handover_id=handover_id)

    # Coordinator, responsibility group, individual plan -----------------------------

    def appoint_coordinator(
        self, actor: Actor, *, user: str, service: ServiceInfo, at: datetime
    ) -> None:
        """A coordinator of the municipality appoints the case's koordinator."""
        self._require_open()
        if not self._is_municipality_coordinator(actor):
            raise errors.NotAuthorised("Bare en koordinator i kommunen kan oppnevne koordinator.")
        if not user.strip():
            raise errors.InvalidValue("user", "Koordinatoren må oppgis.")
        current = self.state.coordinator
        if current is not None and (current.user, current.service) == (user, service.id):
            raise errors.AlreadyInState("Denne koordinatoren er allerede oppnevnt.")
        self._require_access(service, at)
        self._join_if_absent(actor, service, "coordinator", at)
        self._record(
            CoordinatorAppointed, actor, at, coordinator_user=user, coordinator_service=service.id
        )

    def release_coordinator(self, actor: Actor, *, at: datetime) -> None:
        self._require_open()
        self._require_holder_or_coordinator(actor)
        if self.state.coordinator is None:
            raise errors.AlreadyInState("Saken har ingen koordinator.")
        self._record(CoordinatorReleased, actor, at, coordinator_user=self.state.coordinator.user)

    def establish_responsibility_group(
        self, actor: Actor, *, services: list[ServiceInfo], at: datetime
    ) -> None:
        """An ansvarsgruppe of services; each member needs consent and takes part."""
        self._require_open()
        self._require_holder_or_coordinator(actor)
        if self.state.responsibility_group is not None:
            raise errors.AlreadyInState("Saken har allerede en ansvarsgruppe.")
        if not services:
            raise errors.InvalidValue("services", "Ansvarsgruppen må ha minst én tjeneste.")
        for service in services:
            self._require_access(service, at)
        for service in services:
            self._join_if_absent(actor, service, "responsibility-group", at)
        self._record(
            ResponsibilityGroupEstablished,
            actor,
            at,
            services=tuple(dict.fromkeys(s.id for s in services)),
        )

    def dissolve_responsibility_group(self, actor: Actor, *, at: datetime) -> None:
        self._require_open()
        self._require_holder_or_coordinator(actor)
        if self.state.responsibility_group is None:
            raise errors.AlreadyInState("Saken har ingen ansvarsgruppe.")
        self._record(ResponsibilityGroupDissolved, actor, at)

    def start_individual_plan(self, actor: Actor, *, at: datetime) -> None:
        """One individual plan per person."""
        self._require_open()
        self._require_holder_or_coordinator(actor)
        if self.state.individual_plan:
            raise errors.AlreadyInState("Barnet har allerede en individuell plan.")
        self._record(IndividualPlanStarted, actor, at)

    def end_individual_plan(self, actor: Actor, *, at: datetime) -> None:
        self._require_open()
        self._require_holder_or_coordinator(actor)
        if not self.state.individual_plan:
            raise errors.AlreadyInState("Barnet har ingen individuell plan.")
        self._record(IndividualPlanEnded, actor, at)

    # Meetings, actions, satisfaction ------------------------------------------------

    def hold_meeting(
        self,
        actor: Actor,
        *,
        held_on: date,
        services: list[ServiceInfo],
        minutes: Sealed,
        at: datetime,
    ) -> UUID:
        """Minutes of a meeting; every service at the table needs consent."""
        self._require_open()
        self._require_participant(actor)
        if held_on > day_of(at):
            raise errors.InvalidValue("held_on", "Et møte kan ikke føres før det er holdt.")
        if not services:
            raise errors.InvalidValue("services", "Møtet må ha minst én tjeneste.")
        for service in services:
            self._require_access(service, at)
        meeting_id = self._next_id()
        self._record(
            MeetingHeld,
            actor,
            at,
            meeting_id=meeting_id,
            held_on=held_on,
            services=tuple(dict.fromkeys(s.id for s in services)),
            minutes=minutes,
        )
        return meeting_id

    def agree_action(
        self,
        actor: Actor,
        *,
        description: Sealed,
        responsible_service: ServiceInfo,
        evaluate_by: date,
        at: datetime,
    ) -> UUID:
        """A tiltak with a responsible service and a date by which it is evaluated."""
        self._require_open()
        self._require_participant(actor)
        if responsible_service.id not in self.state.participants:
            raise errors.NotParticipant("Ansvarlig tjeneste må være med i saken.")
        if evaluate_by < day_of(at):
            raise errors.InvalidValue("evaluate_by", "Evalueringsdatoen kan ikke være passert.")
        action_id = self._next_id()
        self._record(
            ActionAgreed,
            actor,
            at,
            action_id=action_id,
            description=description,
            responsible_service=responsible_service.id,
            evaluate_by=evaluate_by,
        )
        return action_id

    def evaluate_action(
        self, actor: Actor, *, action_id: UUID, outcome: str, text: Sealed, at: datetime
    ) -> None:
        self._require_open()
        self._require_participant(actor)
        action = self.state.actions.get(action_id)
        if action is None:
            raise errors.NotFound("Tiltaket finnes ikke i saken.")
        if outcome not in EVALUATION_OUTCOMES:
            raise errors.InvalidValue(
                "outcome", f"Utfall må være en av: {', '.join(EVALUATION_OUTCOMES)}."
            )
        if action.status != "open":
            raise errors.ActionClosed()
        self._record(
            ActionEvaluated,
            actor,
            at,
            action_id=action_id,
            outcome=outcome,
            text=text,
            evaluated_by_date=day_of(at) <= action.evaluate_by,
        )

    def record_satisfaction(self, actor: Actor, *, respondent: str, score: int, at: datetime) -> None:
        self._require_open()
        self._require_participant(actor)
        if respondent not in RESPONDENTS:
            raise errors.InvalidValue("respondent", "Svaret gis av 'guardian' eller 'child'.")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise errors.InvalidValue("score", "Tilfredshet er et tall fra 1 til 5.")
        self._record(SatisfactionAnswered, actor, at, respondent=respondent, score=score)

    # Closing --------------------------------------------------------------------------

    def close(self, actor: Actor, *, reason: str, note: Sealed | None, at: datetime) -> None:
        """The holder closes the case; at level 0 only after the decision."""
        self._require_open()
        self._require_holder(actor)
        if reason not in CLOSE_REASONS:
            raise errors.InvalidValue("reason", f"Årsak må være en av: {', '.join(CLOSE_REASONS)}.")
        if self.state.level == 0 and not self.state.decision_recorded:
            raise errors.DecisionRequired("Saken kan ikke avsluttes på nivå 0 før beslutningen er registrert.")
        if self.state.pending_handover is not None:
            raise errors.HandoverPending("Trekk eller avklar overføringen før saken avsluttes.")
        self._record(CaseClosed, actor, at, reason=reason, note=note, level=self.state.level)

    # Erasure --------------------------------------------------------------------------

    @property
    def is_erased(self) -> bool:
        return self.state.erased_at is not None

    def erase_child_data(self, actor: Actor, *, reason: str, at: datetime,
                         archive_years: int | None = None, note: str | None = None) -> None:
        """Record that the child's data key is destroyed. Only for a closed case (an open
        one is still being worked on), once."""
        if self.is_open:
            raise errors.CaseStillOpen()
        if self.is_erased:
            raise errors.AlreadyErased()
        if reason not in ERASURE_REASONS:
            raise errors.InvalidValue("reason", f"Årsak må være en av: {', '.join(ERASURE_REASONS)}.")
        self._record(ChildDataErased, actor, at, reason=reason, archive_years=archive_years,
                     note=note)

    # Applying events ------------------------------------------------------------------

    def _on_CaseOpened(self, e: CaseOpened) -> None:
        self.state = CaseState(
            child_id=e.child_id,
            municipality=e.municipality,
            opened_by_service=e.service,
            opened_at=e.timestamp,
            age_band=e.age_band,
            holder_user=e.user,
            holder_service=e.service,
            participants={
                e.service: Participant(
                    service=e.service, sector=e.sector, role="owner", user=e.user, since=e.timestamp
                )
            },
        )

    def _on_Level0StepRecorded(self, e: Level0StepRecorded) -> None:
        self.state.level0_steps.append(e.step)
        if e.step == "beslutning":
            self.state.decision_recorded = True

    def _on_LevelChanged(self, e: LevelChanged) -> None:
        self.state.level = e.to_level
        if e.to_level == 0:
            # Back at level 0, the way out again goes through a new decision.
            self.state.decision_recorded = False
            self.state.level0_steps = []

    def _on_EntryAdded(self, e: EntryAdded) -> None:
        self.state.entries.append(e.entry_id)

    def _on_GuardianRecorded(self, e: GuardianRecorded) -> None:
        self.state.guardians[e.guardian_id] = Guardian(e.guardian_id, e.relation, e.login,
                                                       e.timestamp, e.name)

    def _on_GuardianRemoved(self, e: GuardianRemoved) -> None:
        self.state.guardians.pop(e.guardian_id, None)

    def _on_EntryWithheld(self, e: EntryWithheld) -> None:
        self.state.withheld.append(e.entry_id)

    def _on_ConsentGiven(self, e: ConsentGiven) -> None:
        self.state.consents[e.consent_id] = Consent(
            id=e.consent_id,
            given_by=e.given_by,
            services=e.services,
            valid_until=e.valid_until,
            form=e.form,
            given_at=e.timestamp,
        )

    def _on_ConsentWithdrawn(self, e: ConsentWithdrawn) -> None:
        self.state.consents[e.consent_id].status = "withdrawn"

    def _on_ConsentExpired(self, e: ConsentExpired) -> None:
        self.state.consents[e.consent_id].status = "expired"

    def _on_ServiceJoined(self, e: ServiceJoined) -> None:
        self.state.participants[e.joined_service] = Participant(
            service=e.joined_service,
            sector=e.sector,
            role=e.role,
            user=e.contact_user,
            since=e.timestamp,
        )

    def _on_ServiceBroughtInByLaw(self, e: ServiceBroughtInByLaw) -> None:
        self.state.by_law[e.brought_in_service] = StatutoryAccess(e.basis, e.timestamp)

    def _on_ServiceLeft(self, e: ServiceLeft) -> None:
        self.state.participants.pop(e.left_service, None)
        self.state.by_law.pop(e.left_service, None)
        group = self.state.responsibility_group
        if group is not None and e.left_service in group:
            self.state.responsibility_group = tuple(s for s in group if s != e.left_service)

    def _on_HandoverRequested(self, e: HandoverRequested) -> None:
        self.state.handovers.append(e.handover_id)
        self.state.pending_handover = Handover(
            id=e.handover_id,
            to_user=e.to_user,
            to_service=e.to_service,
            to_sector=e.to_sector,
            requested_by=e.user,
            requested_at=e.timestamp,
        )

    def _on_HandoverAccepted(self, e: HandoverAccepted) -> None:
        pending = self.state.pending_handover
        assert pending is not None
        self.state.holder_user = pending.to_user
        self.state.holder_service = pending.to_service
        if pending.to_service not in self.state.participants:
            self.state.participants[pending.to_service] = Participant(
                service=pending.to_service,
                sector=pending.to_sector,
                role="holder",
                user=pending.to_user,
                since=e.timestamp,
            )
        self.state.pending_handover = None

    def _on_HandoverDeclined(self, e: HandoverDeclined) -> None:
        self.state.pending_handover = None

    def _on_HandoverCancelled(self, e: HandoverCancelled) -> None:
        self.state.pending_handover = None

    def _on_CoordinatorAppointed(self, e: CoordinatorAppointed) -> None:
        self.state.coordinator = Coordinator(user=e.coordinator_user, service=e.coordinator_service)

    def _on_CoordinatorReleased(self, e: CoordinatorReleased) -> None:
        self.state.coordinator = None

    def _on_ResponsibilityGroupEstablished(self, e: ResponsibilityGroupEstablished) -> None:
        self.state.responsibility_group = e.services

    def _on_ResponsibilityGroupDissolved(self, e: ResponsibilityGroupDissolved) -> None:
        self.state.responsibility_group = None

    def _on_IndividualPlanStarted(self, e: IndividualPlanStarted) -> None:
        self.state.individual_plan = True

    def _on_IndividualPlanEnded(self, e: IndividualPlanEnded) -> None:
        self.state.individual_plan = False

    def _on_MeetingHeld(self, e: MeetingHeld) -> None:
        pass

    def _on_ActionAgreed(self, e: ActionAgreed) -> None:
        self.state.actions[e.action_id] = Action(
            id=e.action_id, responsible_service=e.responsible_service, evaluate_by=e.evaluate_by
        )

    def _on_ActionEvaluated(self, e: ActionEvaluated) -> None:
        action = self.state.actions[e.action_id]
        if e.outcome in ("completed", "stopped"):
            action.status = e.outcome

    def _on_SatisfactionAnswered(self, e: SatisfactionAnswered) -> None:
        pass

    def _on_CaseClosed(self, e: CaseClosed) -> None:
        self.state.status = "closed"
        self.state.closed_at = e.timestamp
        self.state.pending_handover = None

    def _on_ChildDataErased(self, e: ChildDataErased) -> None:
        self.state.erased_at = e.timestamp
