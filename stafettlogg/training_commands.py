"""The training register in the application: record and remove one training, import
an attendance list (preview first, then all of it or nothing), read the register and
the activity indicators (docs/implementation.md).

A mixin of `Stafettlogg` (`stafettlogg/application.py`). The rules are in
`domain/training.py`; the read model and the shares in `projections/training.py`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import msgspec

from domain.calendar import day_of
from domain import errors
from domain.staff import StaffMember
from domain.training import (
    TRAININGS,
    TrainingRecord,
    checked_training_date,
    may_record_training,
    training_record_id,
)
from domain.values import Actor
from domain.access import may_see_statistics
from projections.training import (
    Share,
    ShownShare,
    held_baton,
    protected_shares,
    shares_at,
    trainings_of,
)
from stafettlogg.attendance import AttendanceLine, read_day

if TYPE_CHECKING:
    from stafettlogg.settings import Settings
    from domain.aggregate import Aggregate
    from stafettlogg.unit_of_work import UnitOfWork

# The training names as an attendance list may write them (lower case), to their codes.
TRAINING_NAMES = {
    "handlingsveileder": "Handlingsveilederen og verktøyene i den",
    "tegn-og-signaler": "Tegn og signaler på bekymring",
    "ta-opp-bekymring": "Å ta opp en bekymring med barn og foreldre",
    "tilpasse-oppfolging": "Å tilpasse oppfølgingen i egen tjeneste",
    "tjenester-og-arenaer": "Kommunens tjenester og arenaer for å drøfte en bekymring",
    "stafettloggen": "Stafettloggen",
    "stafettholderrollen": "Rollen som stafettholder",
}
assert tuple(TRAINING_NAMES) == TRAININGS


class StaffTraining(msgspec.Struct, frozen=True):
    """One person's line of the register."""

    staff_id: str
    name: str
    service: str | None
    active: bool
    trainings: dict[str, list[date]]
    held_baton_since: date | None


class PreviewLine(msgspec.Struct, frozen=True):
    """A row of an attendance list, matched and checked."""

    line: int
    status: str  # "new", "recorded" (already in the register) or "error"
    staff_id: str | None = None
    name: str | None = None
    training: str | None = None
    on: date | None = None
    field: str | None = None  # with an error: the column it is about
    error: str | None = None


class AttendancePreview(msgspec.Struct, frozen=True):
    lines: list[PreviewLine]

    @property
    def new(self) -> int:
        return sum(x.status == "new" for x in self.lines)

    @property
    def recorded(self) -> int:
        return sum(x.status == "recorded" for x in self.lines)

    @property
    def errors(self) -> list[PreviewLine]:
        return [x for x in self.lines if x.status == "error"]

    @property
    def ok(self) -> bool:
        return bool(self.lines) and not self.errors


class AttendanceRefused(errors.InvalidValue):
    """An attendance list with rows that do not match: nothing of it is recorded."""

    code = "attendance-refused"

    def __init__(self, preview: AttendancePreview) -> None:
        super().__init__("file", f"{len(preview.errors)} av {len(preview.lines)} rader kan "
                                 "ikke registreres, så ingenting fra filen er registrert.")
        self.preview = preview


class TrainingCommands:
    if TYPE_CHECKING:
        uow: UnitOfWork
        read_models: Any
        settings: Settings

        def _now(self, at: datetime | None) -> datetime: ...
        def _staff(self) -> Any: ...
        def _known_service(self, service_id: str, field: str) -> Any: ...
        def list_staff(self, *, service: str | None = None,
                       active: bool | None = None) -> list[StaffMember]: ...

    # Recording one by one ----------------------------------------------------------

    def _training_record(self, staff_id: str) -> TrainingRecord:
        return self.uow.load_or_start(TrainingRecord, training_record_id(staff_id),
                                      lambda: TrainingRecord.start(staff_id))

    def record_training(self, actor: Actor, staff_id: str, *, training: str, on: date,
                        at: datetime | None = None) -> bool:
        """Record that a staff member had a training on a day; whether it was new."""
        now = self._now(at)

        def attempt() -> tuple[bool, list[Aggregate]]:
            member = self._staff().member(staff_id)
            record = self._training_record(staff_id)
            return record.record(actor, member, training=training, on=on, at=now), [record]

        return self.uow.retrying(training_record_id(staff_id), attempt)

    def remove_training(self, actor: Actor, staff_id: str, *, training: str, on: date,
                        at: datetime | None = None) -> None:
        now = self._now(at)

        def attempt() -> tuple[None, list[Aggregate]]:
            member = self._staff().member(staff_id)
            record = self._training_record(staff_id)
            record.remove(actor, member, training=training, on=on, at=now)
            return None, [record]

        self.uow.retrying(training_record_id(staff_id), attempt)

    # Reading the register ----------------------------------------------------------

    def _register_scope(self, actor: Actor, service: str | None) -> str | None:
        """The service whose staff `actor` may see in the register (None: everyone)."""
        if "admin" in actor.roles:
            return service
        if "leader" in actor.roles and actor.service is not None:
            if service not in (None, actor.service):
                raise errors.Forbidden("Du ser bare opplæringen i din egen tjeneste.")
            return actor.service
        raise errors.Forbidden("Bare administratorer og enhetsledere ser opplæringsregisteret.")

    def staff_training(self, actor: Actor, staff_id: str) -> StaffTraining:
        member = self._staff().member(staff_id)
        if not may_record_training(actor, member):
            raise errors.NotFound("Den ansatte finnes ikke i din tjeneste.")
        record = self._training_record(staff_id)
        held = held_baton(self.read_models.views)
        return StaffTraining(staff_id=member.id, name=member.name, service=member.service,
                             active=member.active,
                             trainings={t: list(d) for t, d in record.state.days.items()},
                             held_baton_since=held.get(member.id))

    def training_register(self, actor: Actor, *, service: str | None = None
                          ) -> list[StaffTraining]:
        """The active staff (of one service, or every one with a service) and their
        trainings, from the read model."""
        scope = self._register_scope(actor, service)
        self.read_models.catch_up()
        members = [m for m in self.list_staff(service=scope, active=True) if m.service]
        views = self.read_models.views
        had = trainings_of(views, [m.id for m in members])
        held = held_baton(views)
        return [StaffTraining(staff_id=m.id, name=m.name, service=m.service, active=m.active,
                              trainings={t: list(d) for t, d in had.get(m.id, {}).items()},
                              held_baton_since=held.get(m.id)) for m in members]

    def training_shares(self, actor: Actor, *, municipality: str, on: date) -> list[Share]:
        """The activity indicators of a municipality as at the end of a day (admins;
        a unit leader sees their own service, their own sector's total and the
        municipality's: another sector's total could be one service's numbers)."""
        scope = self._register_scope(actor, None)
        if scope is not None and municipality not in actor.municipalities:
            raise errors.Forbidden("Du ser bare tallene for din egen kommune.")
        self.read_models.catch_up()
        shares = shares_at(self.read_models.views, on, (municipality,))
        if scope is None:
            return shares
        sector = self._known_service(scope, "service").sector
        return [s for s in shares if s.service == scope
                or (s.service == "all" and s.sector in (sector, "all"))]

    def activity_indicators(self, actor: Actor, *, municipality: str,
                            on: date) -> list[ShownShare]:
        """The activity indicators of a municipality as at the end of a day, protected
        for evaluators (and admins) like the survey's results
        (`projections.training.protected_shares`)."""
        if "admin" not in actor.roles and not may_see_statistics(actor, (municipality,)):
            raise errors.Forbidden("Tallene er for evaluatorer i kommunen.")
        self.read_models.catch_up()
        return protected_shares(shares_at(self.read_models.views, on, (municipality,)),
                                self.settings.survey_min_answers)

    # Importing an attendance list ----------------------------------------------------

    def preview_attendance(self, actor: Actor, lines: list[AttendanceLine], *,
                           training: str | None = None, on: date | None = None,
                           at: datetime | None = None) -> AttendancePreview:
        """Each row matched against the directory and checked by the register's rules;
        nothing is recorded."""
        now = self._now(at)
        directory = self._staff()
        by_email = {m.email.lower(): m for m in directory.members() if m.email}
        seen: set[tuple[str, str, date]] = set()
        out = []
        for row in lines:
            checked = self._preview_line(actor, row, directory, by_email, training, on, now)
            if checked.status != "error":
                key = (checked.staff_id or "", checked.training or "", checked.on or day_of(now))
                if key in seen:
                    checked = msgspec.structs.replace(checked, status="recorded")
                seen.add(key)
            out.append(checked)
        return AttendancePreview(lines=out)

    def _preview_line(self, actor: Actor, row: AttendanceLine, directory: Any,
                      by_email: dict[str, StaffMember], training: str | None,
                      on: date | None, now: datetime) -> PreviewLine:
        def refused(field: str, message: str, member: StaffMember | None = None) -> PreviewLine:
            return PreviewLine(line=row.line, status="error", field=field, error=message,
                               staff_id=member.id if member else None,
                               name=member.name if member else None)

        member = directory.find(row.staff) if row.staff else None
        if member is None and row.email:
            member = by_email.get(row.email.lower())
        if member is None:
            who = row.staff or row.email
            if not who:
                return refused("ansatt", "Raden sier ikke hvem (ansatt-id eller e-post).")
            return refused("ansatt", f"«{who}» finnes ikke i ansattlisten.")
        if not member.active:
            return refused("ansatt", f"{member.name} er ikke lenger aktiv.", member)
        if not may_record_training(actor, member):
            return refused("ansatt", f"{member.name} hører ikke til din tjeneste.", member)
        code = training or _training_code(row.training)
        if code is None:
            if not row.training:
                return refused("opplæring", "Raden sier ikke hvilken opplæring.", member)
            return refused("opplæring", f"Ukjent opplæring «{row.training}».", member)
        day = on or (read_day(row.day) if row.day else None)
        if day is None:
            if not row.day:
                return refused("dato", "Raden har ingen dato.", member)
            return refused("dato", f"«{row.day}» er ikke en dato: skriv DD.MM.ÅÅÅÅ.", member)
        try:
            checked_training_date(day, now)
        except errors.InvalidValue as exc:
            return refused("dato", exc.message, member)
        record = self._training_record(member.id)
        status = "recorded" if day in record.state.days.get(code, []) else "new"
        return PreviewLine(line=row.line, status=status, staff_id=member.id, name=member.name,
                           training=code, on=day)

    def import_attendance(self, actor: Actor, lines: list[AttendanceLine], *,
                          training: str | None = None, on: date | None = None,
                          at: datetime | None = None) -> AttendancePreview:
        """Record every new row of the list in one save, or nothing when a row does not
        match (`AttendanceRefused`, with the preview)."""
        now = self._now(at)

        def attempt() -> tuple[AttendancePreview, list[Aggregate]]:
            preview = self.preview_attendance(actor, lines, training=training, on=on, at=now)
            if not preview.ok:
                raise AttendanceRefused(preview)
            directory = self._staff()
            records: dict[str, TrainingRecord] = {}
            for row in preview.lines:
                if row.status != "new":
                    continue
                assert row.staff_id and row.training and row.on
                record = records.get(row.staff_id) or self._training_record(row.staff_id)
                records[row.staff_id] = record
                record.record(actor, directory.member(row.staff_id), training=row.training,
                              on=row.on, at=now, source="import")
            return preview, list(records.values())

        # Versions protect each record; one lock keeps this process's imports in turn.
        return self.uow.retrying(training_record_id(""), attempt)


def _training_code(text: str) -> str | None:
    """A training's code from its code or its name, as a list may write it."""
    wanted = text.strip().lower()
    for code, name in TRAINING_NAMES.items():
        if wanted in (code, name.lower()):
            return code
    return None
