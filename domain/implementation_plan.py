"""The implementation plan of a municipality, and the unit leaders' reports on it.

The seed decks of BTI have each municipality make an implementation plan: activities
such as appointing a BTI contact in each unit, introducing the handlingsveileder,
training new staff at hiring, evaluating the use; each with a responsible and a time;
and they ask the unit leaders to report on them quarterly, half-yearly or yearly. One
plan per municipality (`ImplementationPlan`, its id from the municipality number).

The rules (docs/implementation.md, "The implementation plan and the leaders'
reports"):

* An admin keeps the plan: its reporting rhythm (`RHYTHMS`) and its activities. An
  activity has a title (required, at most `TITLE_MAX` characters), the services
  (units) it applies to (one, several, or all of the municipality's: then every
  service that serves the municipality when the plan is read), a responsible (free
  text such as "BTI-koordinator" or "enhetsleder": a role in the plan, not a person
  in the staff directory) and a due date.
* A unit leader (`leader`, with a service) reports the status of an activity for
  their own service only, and only on an activity that applies to it: not started,
  under way or done (`STATUSES`), with a short note (at most `NOTE_MAX` characters).
* A report is for a period of the plan's rhythm: `2026-Q4` (kvartalsvis), `2026-H2`
  (halvårlig) or `2026` (årlig); a period that has not begun is refused. A new
  report for the same activity, service and period replaces the one before it (the
  latest wins); the earlier ones stay in the history as events.

Time comes in as an argument; nothing here reads the clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal, get_args
from uuid import UUID, uuid5

import msgspec

from domain.calendar import day_of
from domain.aggregate import Aggregate, DomainEvent, Snapshot
from domain.errors import Forbidden, InvalidValue, NotFound
from domain.services import ServiceInfo
from domain.values import Actor

Rhythm = Literal["kvartalsvis", "halvårlig", "årlig"]
RHYTHMS: tuple[str, ...] = get_args(Rhythm)
Status = Literal["not-started", "under-way", "done"]
STATUSES: tuple[str, ...] = get_args(Status)
TITLE_MAX = 200
RESPONSIBLE_MAX = 100
NOTE_MAX = 500
# The earliest year a period or a due date can be in (BTI is younger; 1926 is a typo).
EARLIEST_YEAR = 2000

PLAN_NAMESPACE = UUID("3e9a1c74-52b8-4d0f-8a6e-9c2f7b1d4e53")
PERIOD_PATTERNS = {
    "kvartalsvis": re.compile(r"^(\d{4})-Q([1-4])$"),
    "halvårlig": re.compile(r"^(\d{4})-H([12])$"),
    "årlig": re.compile(r"^(\d{4})$"),
}
PERIOD_EXAMPLES = {"kvartalsvis": "2026-Q4", "halvårlig": "2026-H2", "årlig": "2026"}


def plan_id(municipality: str) -> UUID:
    return uuid5(PLAN_NAMESPACE, municipality)


class UnknownActivity(NotFound):
    code = "unknown-activity"
    default_message = "Aktiviteten finnes ikke i planen."


def require_plan_admin(actor: Actor) -> None:
    """Only an admin keeps the plan."""
    if "admin" not in actor.roles:
        raise Forbidden("Bare en administrator kan endre innføringsplanen.")


def may_read_plan(actor: Actor, municipality: str) -> bool:
    """Admins, and the unit leaders of the municipality (the notes are for them only)."""
    if "admin" in actor.roles:
        return True
    return ("leader" in actor.roles and actor.service is not None
            and municipality in actor.municipalities)


def period_start(period: str, rhythm: str) -> date:
    """The first day of a period written in the rhythm's way; InvalidValue otherwise."""
    found = PERIOD_PATTERNS[rhythm].match(period)
    if found is None:
        raise InvalidValue("period", f"Perioden skrives som {PERIOD_EXAMPLES[rhythm]}, fordi "
                                     f"planen rapporteres {rhythm}.")
    year = int(found.group(1))
    if year < EARLIEST_YEAR:
        raise InvalidValue("period", f"Perioden må være i {EARLIEST_YEAR} eller senere.")
    part = int(found.group(2)) if found.lastindex and found.lastindex >= 2 else 1
    months = {"kvartalsvis": 3, "halvårlig": 6, "årlig": 12}[rhythm]
    return date(year, 1 + (part - 1) * months, 1)


def period_of(day: date, rhythm: str) -> str:
    """The period of the rhythm that `day` is in."""
    if rhythm == "kvartalsvis":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if rhythm == "halvårlig":
        return f"{day.year}-H{1 if day.month <= 6 else 2}"
    return f"{day.year}"


def checked_period(period: str, rhythm: str, at: datetime) -> str:
    if period_start(period, rhythm) > day_of(at):
        raise InvalidValue("period", "Perioden har ikke begynt ennå, så det kan ikke "
                                     "rapporteres for den.")
    return period


def _text(value: str, field: str, limit: int, what: str, *, required: bool = True) -> str:
    text = " ".join(value.split())
    if required and not text:
        raise InvalidValue(field, f"{what} må fylles ut.")
    if len(text) > limit:
        raise InvalidValue(field, f"{what} kan ha høyst {limit} tegn.")
    return text


class ActivityDetails(msgspec.Struct, frozen=True, kw_only=True):
    """What an admin writes for an activity."""

    title: str
    responsible: str
    due: date
    all_services: bool = False
    services: tuple[str, ...] = ()


def _checked(details: ActivityDetails, municipality: str,
             infos: dict[str, ServiceInfo]) -> ActivityDetails:
    title = _text(details.title, "title", TITLE_MAX, "Tittelen")
    responsible = _text(details.responsible, "responsible", RESPONSIBLE_MAX, "Ansvarlig")
    if details.due.year < EARLIEST_YEAR:
        raise InvalidValue("due", f"Fristen må være i {EARLIEST_YEAR} eller senere.")
    services = tuple(dict.fromkeys(details.services))
    if details.all_services and services:
        raise InvalidValue("services", "Velg enten alle tjenestene eller noen av dem, "
                                       "ikke begge.")
    if not details.all_services and not services:
        raise InvalidValue("services", "Velg minst én tjeneste, eller alle.")
    for service in services:
        info = infos.get(service)
        if info is None:
            raise InvalidValue("services", f"Tjenesten «{service}» er ikke registrert.")
        if not info.serves(municipality):
            raise InvalidValue("services", f"{info.name} hører ikke til kommunen.")
        info.require_open("services")
    return ActivityDetails(title=title, responsible=responsible, due=details.due,
                           all_services=details.all_services, services=services)


# --- events -------------------------------------------------------------------------


class PlanStarted(DomainEvent, frozen=True, kw_only=True):
    """A municipality's plan is started, with its reporting rhythm."""

    municipality: str
    rhythm: Rhythm
    started_by: str


class PlanRhythmChanged(DomainEvent, frozen=True, kw_only=True):
    rhythm: Rhythm
    changed_by: str


class ActivityAdded(DomainEvent, frozen=True, kw_only=True):
    activity_id: UUID
    title: str
    services: tuple[str, ...]  # empty with `all_services`
    all_services: bool
    responsible: str
    due: date
    added_by: str


class ActivityChanged(DomainEvent, frozen=True, kw_only=True):
    """The activity as it is now (every field, not the difference)."""

    activity_id: UUID
    title: str
    services: tuple[str, ...]
    all_services: bool
    responsible: str
    due: date
    changed_by: str


class ActivityRemoved(DomainEvent, frozen=True, kw_only=True):
    activity_id: UUID
    removed_by: str


class StatusReported(DomainEvent, frozen=True, kw_only=True):
    """A unit leader's status of an activity for their service and a period. The note
    is the leader's free text: for the admins and leaders of the municipality only."""

    activity_id: UUID
    service: str
    period: str
    status: Status
    note: str
    reported_by: str


# --- state --------------------------------------------------------------------------


class Activity(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    title: str
    services: tuple[str, ...]
    all_services: bool
    responsible: str
    due: date

    def applies_to(self, service: ServiceInfo, municipality: str) -> bool:
        if self.all_services:
            return service.serves(municipality)
        return service.id in self.services


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """The latest report for an activity, a service and a period."""

    status: Status
    note: str
    reported_by: str
    reported_at: datetime


class PlanState(msgspec.Struct):
    municipality: str = ""
    rhythm: str = "halvårlig"
    # In the order they were added.
    activities: dict[str, Activity] = {}
    # "activity id|service|period" -> the latest report
    reports: dict[str, Report] = {}


class PlanSnapshot(Snapshot, frozen=True, kw_only=True):
    state: PlanState


def report_key(activity_id: UUID, service: str, period: str) -> str:
    return f"{activity_id}|{service}|{period}"


class ImplementationPlan(Aggregate):
    created_by = PlanStarted
    Snapshot = PlanSnapshot

    def __init__(self, id: UUID) -> None:  # noqa: A002 - eventsourcing's name
        super().__init__(id)
        self.state = PlanState()

    @classmethod
    def start(cls, actor: Actor, *, municipality: str, rhythm: str,
              at: datetime) -> ImplementationPlan:
        require_plan_admin(actor)
        if not re.fullmatch(r"[0-9]{4}", municipality):
            raise InvalidValue("municipality", "Kommunenummeret har fire sifre.")
        plan = cls(plan_id(municipality))
        plan._trigger(PlanStarted, at, municipality=municipality,
                      rhythm=_checked_rhythm(rhythm), started_by=actor.user)
        return plan

    # Commands: the plan (admins) ---------------------------------------------------

    def set_rhythm(self, actor: Actor, rhythm: str, at: datetime) -> None:
        """Reports already made for periods of the old rhythm stay as they were."""
        require_plan_admin(actor)
        if _checked_rhythm(rhythm) != self.state.rhythm:
            self._trigger(PlanRhythmChanged, at, rhythm=rhythm, changed_by=actor.user)

    def add_activity(self, actor: Actor, activity_id: UUID, details: ActivityDetails,
                     services: dict[str, ServiceInfo], at: datetime) -> Activity:
        require_plan_admin(actor)
        if str(activity_id) in self.state.activities:
            raise InvalidValue("activity", "Aktiviteten finnes allerede i planen.")
        d = _checked(details, self.state.municipality, services)
        self._trigger(ActivityAdded, at, activity_id=activity_id, title=d.title,
                      services=d.services, all_services=d.all_services,
                      responsible=d.responsible, due=d.due, added_by=actor.user)
        return self.activity(activity_id)

    def change_activity(self, actor: Actor, activity_id: UUID, details: ActivityDetails,
                        services: dict[str, ServiceInfo], at: datetime) -> Activity:
        require_plan_admin(actor)
        before = self.activity(activity_id)
        d = _checked(details, self.state.municipality, services)
        if (d.title, d.services, d.all_services, d.responsible, d.due) != (
                before.title, before.services, before.all_services, before.responsible,
                before.due):
            self._trigger(ActivityChanged, at, activity_id=activity_id, title=d.title,
                          services=d.services, all_services=d.all_services,
                          responsible=d.responsible, due=d.due, changed_by=actor.user)
        return self.activity(activity_id)

    def remove_activity(self, actor: Actor, activity_id: UUID, at: datetime) -> None:
        """The activity leaves the plan; its reports stay in the history."""
        require_plan_admin(actor)
        self.activity(activity_id)
        self._trigger(ActivityRemoved, at, activity_id=activity_id, removed_by=actor.user)

    # Commands: the reports (unit leaders) --------------------------------------------

    def report(self, actor: Actor, activity_id: UUID, service: ServiceInfo, *, period: str,
               status: str, note: str, at: datetime) -> None:
        """A unit leader's status of an activity for their own service and a period."""
        if not ("leader" in actor.roles and actor.service is not None):
            raise Forbidden("Bare enhetslederen for tjenesten kan rapportere status for den.")
        if actor.service != service.id:
            raise Forbidden("Du kan bare rapportere for din egen tjeneste.")
        if self.state.municipality not in actor.municipalities:
            raise Forbidden("Du kan bare rapportere på planen for din egen kommune.")
        activity = self.activity(activity_id)
        if not activity.applies_to(service, self.state.municipality):
            raise InvalidValue("activity", "Aktiviteten gjelder ikke for tjenesten din.")
        if status not in STATUSES:
            raise InvalidValue("status", "Velg ikke startet, pågår eller fullført.")
        checked_period(period, self.state.rhythm, at)
        text = _text(note, "note", NOTE_MAX, "Merknaden", required=False)
        self._trigger(StatusReported, at, activity_id=activity_id, service=service.id,
                      period=period, status=status, note=text, reported_by=actor.user)

    # Queries -----------------------------------------------------------------------

    @property
    def municipality(self) -> str:
        return self.state.municipality

    @property
    def rhythm(self) -> str:
        return self.state.rhythm

    def activities(self) -> list[Activity]:
        return list(self.state.activities.values())

    def activity(self, activity_id: UUID) -> Activity:
        found = self.state.activities.get(str(activity_id))
        if found is None:
            raise UnknownActivity()
        return found

    def latest(self, activity_id: UUID, service: str, period: str) -> Report | None:
        return self.state.reports.get(report_key(activity_id, service, period))

    def reports_of(self, period: str) -> dict[tuple[str, str], Report]:
        """(activity id, service) -> the latest report for the period, for the
        activities in the plan now."""
        out = {}
        for key, report in self.state.reports.items():
            activity, service, of = key.split("|")
            if of == period and activity in self.state.activities:
                out[(activity, service)] = report
        return out

    # Applying ----------------------------------------------------------------------

    def _on_PlanStarted(self, e: PlanStarted) -> None:
        self.state.municipality = e.municipality
        self.state.rhythm = e.rhythm

    def _on_PlanRhythmChanged(self, e: PlanRhythmChanged) -> None:
        self.state.rhythm = e.rhythm

    def _put(self, e: ActivityAdded | ActivityChanged) -> None:
        self.state.activities[str(e.activity_id)] = Activity(
            id=e.activity_id, title=e.title, services=e.services,
            all_services=e.all_services, responsible=e.responsible, due=e.due)

    def _on_ActivityAdded(self, e: ActivityAdded) -> None:
        self._put(e)

    def _on_ActivityChanged(self, e: ActivityChanged) -> None:
        self._put(e)

    def _on_ActivityRemoved(self, e: ActivityRemoved) -> None:
        del self.state.activities[str(e.activity_id)]

    def _on_StatusReported(self, e: StatusReported) -> None:
        self.state.reports[report_key(e.activity_id, e.service, e.period)] = Report(
            status=e.status, note=e.note, reported_by=e.reported_by, reported_at=e.timestamp)


def _checked_rhythm(rhythm: str) -> str:
    if rhythm not in RHYTHMS:
        raise InvalidValue("rhythm", "Velg kvartalsvis, halvårlig eller årlig.")
    return rhythm
