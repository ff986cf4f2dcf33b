"""The training register: which of the BTI trainings each staff member has had, and when.

The activity indicators (docs/implementation.md) are shares of employees trained in
the handlingsveileder and its tools, in signs and signals of concern, in raising a
concern with child and parents, in adapting follow-up in their own service, informed
about the municipality's services and the arenas for discussing a concern, trained
in the stafettlogg, and stafettholders trained in that role. Each person's record is
an aggregate of its own (`TrainingRecord`), so that it is event-sourced like
everything else and an import of many people is one atomic save.

The rules (docs/implementation.md, "The training register"):

* An admin records for anyone; a unit leader (`leader`) for the staff of their own
  service. Nobody else.
* A training is one of `TRAININGS`; its date is a day on which the person had it,
  not in the future and not before `EARLIEST`.
* Only an active member of the directory is recorded.
* Recording what is recorded already (the same training on the same day) records
  nothing, so an attendance list imported twice counts once. A record made by
  mistake is removed, which is an event too.
* "Experienced as stafettholder" is never recorded here: it comes from the cases'
  events (the person has held a baton).

Time comes in as an argument; nothing here reads the clock.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal, get_args
from uuid import UUID, uuid5

import msgspec

from domain.calendar import day_of
from domain.aggregate import Aggregate, DomainEvent, Snapshot
from domain.errors import Forbidden, InvalidValue
from domain.staff import StaffMember
from domain.values import Actor

Training = Literal[
    "handlingsveileder", "tegn-og-signaler", "ta-opp-bekymring", "tilpasse-oppfolging",
    "tjenester-og-arenaer", "stafettloggen", "stafettholderrollen",
]
TRAININGS: tuple[str, ...] = get_args(Training)
# The earliest day a training can be dated (BTI is younger; a typo such as 1924 is not).
EARLIEST = date(2000, 1, 1)
# How a record came in.
Source = Literal["manual", "import"]

TRAINING_NAMESPACE = UUID("0c3b8f5e-2d7a-4e61-9f1c-7a5e3b2d8c40")


def training_record_id(staff_id: str) -> UUID:
    return uuid5(TRAINING_NAMESPACE, staff_id)


def may_record_training(actor: Actor, member: StaffMember) -> bool:
    """An admin for anyone; a unit leader for the staff of their own service."""
    if "admin" in actor.roles:
        return True
    return ("leader" in actor.roles and actor.service is not None
            and actor.service == member.service)


def checked_training(training: str, field: str = "training") -> str:
    if training not in TRAININGS:
        raise InvalidValue(field, "Velg en av opplæringene i listen.")
    return training


def checked_training_date(on: date, at: datetime, field: str = "on") -> date:
    if on > day_of(at):
        raise InvalidValue(field, "Datoen for opplæringen kan ikke være fram i tid.")
    if on < EARLIEST:
        raise InvalidValue(field, f"Datoen for opplæringen må være {EARLIEST:%d.%m.%Y} eller senere.")
    return on


class TrainingRecorded(DomainEvent, frozen=True, kw_only=True):
    """A staff member had a training on a day."""

    staff_id: str
    training: Training
    on: date
    recorded_by: str
    source: Source = "manual"


class TrainingRemoved(DomainEvent, frozen=True, kw_only=True):
    """A training recorded by mistake is taken out of the register."""

    staff_id: str
    training: Training
    on: date
    removed_by: str


class TrainingState(msgspec.Struct):
    staff_id: str = ""
    # training -> the days the person had it, in order
    days: dict[str, list[date]] = {}


class TrainingSnapshot(Snapshot, frozen=True, kw_only=True):
    state: TrainingState


class TrainingRecord(Aggregate):
    created_by = TrainingRecorded
    Snapshot = TrainingSnapshot

    def __init__(self, id: UUID) -> None:  # noqa: A002 - eventsourcing's name
        super().__init__(id)
        self.state = TrainingState()

    @classmethod
    def start(cls, staff_id: str) -> TrainingRecord:
        record = cls(training_record_id(staff_id))
        record.state = TrainingState(staff_id=staff_id)
        return record

    # Commands ----------------------------------------------------------------------

    def record(self, actor: Actor, member: StaffMember, *, training: str, on: date,
               at: datetime, source: str = "manual") -> bool:
        """Record that `member` had `training` on `on`; whether anything was recorded."""
        self._may(actor, member)
        if not member.active:
            raise InvalidValue("staff", f"{member.name} er ikke lenger aktiv.")
        checked_training(training)
        checked_training_date(on, at)
        if on in self.state.days.get(training, []):
            return False
        self._trigger(TrainingRecorded, at, staff_id=member.id,  # type: ignore[arg-type]
                      training=training, on=on, recorded_by=actor.user, source=source)
        return True

    def remove(self, actor: Actor, member: StaffMember, *, training: str, on: date,
               at: datetime) -> None:
        self._may(actor, member)
        checked_training(training)
        if on not in self.state.days.get(training, []):
            raise InvalidValue("on", "Denne opplæringen er ikke registrert på den datoen.")
        self._trigger(TrainingRemoved, at, staff_id=member.id,  # type: ignore[arg-type]
                      training=training, on=on, removed_by=actor.user)

    # Queries -----------------------------------------------------------------------

    def had(self, training: str, by: date) -> bool:
        """Whether the person had `training` on or before `by`."""
        return any(day <= by for day in self.state.days.get(training, []))

    def first_days(self) -> dict[str, date]:
        """Each training the person has had, and the first day they had it."""
        return {t: days[0] for t, days in self.state.days.items() if days}

    @staticmethod
    def _may(actor: Actor, member: StaffMember) -> None:
        if not may_record_training(actor, member):
            raise Forbidden(
                "Bare en administrator, eller lederen for den ansattes tjeneste, kan "
                "registrere opplæring.")

    # Applying ----------------------------------------------------------------------

    def _on_TrainingRecorded(self, e: TrainingRecorded) -> None:
        self.state.staff_id = e.staff_id
        days = self.state.days.setdefault(e.training, [])
        days.append(e.on)
        days.sort()

    def _on_TrainingRemoved(self, e: TrainingRemoved) -> None:
        self.state.days[e.training].remove(e.on)
        if not self.state.days[e.training]:
            del self.state.days[e.training]
