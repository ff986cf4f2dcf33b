"""The stafettlogg application: commands and queries over the event-sourced BTI model.

A thin service layer. Each command loads the aggregates it touches, seals the
personal data it was given, asks the domain to act (the domain holds every rule),
and saves all new events in one transaction, through the one unit of work
(`stafettlogg/unit_of_work.py`): a save that loses a race with another writer is
refused as a whole and the command runs again on the new state; nothing half-done
is ever stored. Time comes from `clock` unless the caller passes `at`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Mapper
from eventsourcing.utils import Environment

from domain.calendar import day_of
from domain import errors
from domain.access import may_do_case_work, may_manage_services, may_see_case
from domain.access_log import AccessLog, access_log_id
from domain.aggregate import Aggregate
from domain.case import Case
from domain.child import Child
from domain.implementation_plan import ImplementationPlan
from domain.national_id import checked_national_id
from domain.services import DIRECTORY_ID, ServiceDirectory, ServiceInfo
from domain.staff import StaffDirectory
from domain.values import Actor, age_band, age_on
from stafettlogg.archive_reads import ArchiveReads
from stafettlogg.backends import backend_for, open_key_store
from stafettlogg.case_commands import SHREDDED, CaseCommands
from stafettlogg.case_reads import CaseReads
from stafettlogg.erasure import ErasureCommands
from stafettlogg.family_reads import FamilyReads
from stafettlogg.idempotency import Idempotency, IdempotencyRecord, record_id
from stafettlogg.keys import BlindIndex, ChildKeyStore, KeyFile, KeyFileWatch, Sealer
from stafettlogg.mapper import MsgspecMapper
from stafettlogg.notice_commands import NoticeCommands
from stafettlogg.notices import NoticeSender
from stafettlogg.plan_commands import PlanCommands
from stafettlogg.survey_commands import SurveyCommands
from stafettlogg.sweep import NightlySweep
from stafettlogg.training_commands import TrainingCommands
from stafettlogg.protocol import CommandOptions, IdempotencyKeyReused, Outcome, VersionMismatch
from stafettlogg.read_models import ReadModels
from stafettlogg.settings import Settings
from stafettlogg.staff_commands import StaffCommands
from stafettlogg.statistics import StatisticsService
from stafettlogg.unit_of_work import UnitOfWork

__all__ = ["SHREDDED", "CommandOptions", "Outcome", "Stafettlogg", "utc_now"]

def utc_now() -> datetime:
    return datetime.now(UTC)


class Stafettlogg(CaseCommands, CaseReads, FamilyReads, StaffCommands, NoticeCommands,
                  TrainingCommands, SurveyCommands, PlanCommands, ErasureCommands,
                  ArchiveReads,
                  Application[UUID]):
    """The event-sourced application behind the API and the CLI: its wiring, the
    services, opening a case and the one way a case command is run
    (`_change_case`); the case commands are in `stafettlogg/case_commands.py`, the
    reads in `stafettlogg/case_reads.py`, the family's reads in
    `stafettlogg/family_reads.py`, the staff directory in `stafettlogg/staff_commands.py`."""

    name = "stafettlogg"
    is_snapshotting_enabled = True
    snapshotting_projectors: ClassVar[dict[type, Any]] = {
        Case: Case.project,
        Child: Child.project,
        ServiceDirectory: ServiceDirectory.project,
        StaffDirectory: StaffDirectory.project,
        ImplementationPlan: ImplementationPlan.project,
    }

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], UUID] = uuid4,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.new_id = new_id
        # A closed survey round's results, worked out once (survey_commands.py).
        self.survey_results_cache: dict[UUID, Any] = {}
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The key file as it is now: a rotation of the master key or the token secret
        # reaches this process without a restart (stafettlogg/key_rotation.py).
        self.key_watch = KeyFileWatch(settings.key_file, KeyFile.load_or_create(settings.key_file))
        started_with = self.key_watch.current()
        self.blind_index = BlindIndex(started_with.index_key, started_with.old_index_keys)
        self.backend = backend_for(settings)
        # Loading, saving and retrying: every command goes through it.
        self.uow = self.construct_unit_of_work()
        # Take a snapshot of a case every N events, so that long cases load fast.
        self.snapshotting_intervals = {  # type: ignore[misc]
            Case: settings.snapshot_interval,
            ServiceDirectory: settings.snapshot_interval,
            StaffDirectory: settings.snapshot_interval,
            ImplementationPlan: settings.snapshot_interval,
        }
        try:
            super().__init__(env=self._persistence_env())
        except BaseException:
            factory = getattr(self, "factory", None)  # made before the tables were
            if factory is not None:
                factory.close()
            raise
        try:
            self.backend.check_key_file(self, started_with)
            self.key_store = self._open_key_store(settings)
            self.sealer = Sealer(self.key_store)
            # Read models fed from the notification log, and the statistics released
            # from them.
            self.read_models = ReadModels(self, self.view_database())
            self.statistics = StatisticsService(self, self.read_models)
            # The notices' sender (stafettlogg/notices.py), running only with an SMTP host.
            self.notices = NoticeSender(self)
            # The nightly sweep (stafettlogg/sweep.py): consent expiries and reminders.
            self.sweep = NightlySweep(self)
        except BaseException:
            # A database that does not answer (or a wrong key file): close what was opened.
            if hasattr(self, "read_models"):
                self.read_models.close()
            if hasattr(self, "key_store"):
                self.key_store.close()
            super().close()
            raise

    # Wiring ---------------------------------------------------------------------------

    def _persistence_env(self) -> dict[str, str]:
        return {
            **self.backend.persistence_env(),
            # AES-GCM with the key ring of `keys rotate store` (stafettlogg/keys.py).
            "CIPHER_TOPIC": "stafettlogg.keys:KeyRingCipher",
            "CIPHER_KEY": self.keys.store_cipher_key_b64,
            "CIPHER_OLD_KEYS": self.keys.old_store_cipher_keys_b64,
            "CIPHER_KEY_FILE": str(self.settings.key_file),
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
            "AGGREGATE_CACHE_MAXSIZE": "2000",
            "IS_SNAPSHOTTING_ENABLED": "y",
        }

    def _open_key_store(self, settings: Settings) -> ChildKeyStore:
        """The children's keys, where the backend keeps them."""
        return open_key_store(self.backend, self, self.keys,
                              reload=lambda: self.key_watch.current().master_keys())

    @property
    def keys(self) -> KeyFile:
        """The key file as it is now (read again after a rotation)."""
        return self.key_watch.current()

    def view_database(self) -> Any:
        """Where the views live: a SQLite path, or the event store's PostgreSQL database."""
        return self.backend.view_database(self)

    def check_store(self, timeout: float = 2.0) -> None:
        """Raise unless the event store answers (within `timeout` seconds on PostgreSQL)."""
        self.backend.ping(self, timeout)

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Settings are the only reader of the process environment: do not let stray
        # variables (CIPHER_KEY, SQLITE_DBNAME, ...) reconfigure the event store.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=MsgspecMapper)

    def start_background(
        self,
        on_error: Callable[[BaseException], None] | None = None,
        *,
        release_in_process: Callable[[Settings, int], None] | None = None,
    ) -> None:
        """Keep the views current, release ended months (in a thread, or in
        `release_in_process`), run the nightly sweep and send the notices while the
        service runs."""
        self.read_models.start_following(on_error=on_error)
        self.statistics.start_releasing(on_error, in_process=release_in_process)
        self.sweep.start(on_error)
        if self.settings.smtp.enabled:
            self.notices.start(on_error)

    def stop_background(self) -> None:
        self.notices.stop()
        self.sweep.stop()
        self.read_models.stop_following()
        self.statistics.stop_releasing()

    def close(self) -> None:
        self.statistics.close()
        self.read_models.close()
        super().close()
        self.key_store.close()

    # Loading and saving ------------------------------------------------------------------

    def construct_unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self)

    def get_case(self, case_id: UUID) -> Case:
        try:
            return self.uow.load(Case, case_id)
        except AggregateNotFoundError:
            raise errors.NotFound("Saken finnes ikke.") from None

    def case_at(self, case_id: UUID, version: int) -> Case:
        """The case as it was right after a given version."""
        return self.repository.get(case_id, version=version, projector_func=Case.project)

    def _now(self, at: datetime | None) -> datetime:
        return at if at is not None else self.clock()

    @staticmethod
    def _require_case_work(actor: Actor) -> None:
        if not may_do_case_work(actor):
            raise errors.Forbidden()

    def _visible_case(self, actor: Actor, case_id: UUID, on: date) -> Case:
        """The case, if the actor may see it; otherwise it does not exist for them."""
        self._require_case_work(actor)
        case = self.get_case(case_id)
        if not may_see_case(case, actor, on):
            raise errors.NotFound("Saken finnes ikke.")
        return case

    def _access_log(self, case_id: UUID, at: datetime) -> AccessLog:
        return self.uow.load_or_start(
            AccessLog, access_log_id(case_id), lambda: AccessLog.start(case_id, at)
        )

    def _log_read(self, actor: Actor, case_id: UUID, action: str, at: datetime) -> None:
        """Record a read in the case's access log; a read that cannot be logged fails."""

        def attempt() -> tuple[None, list[Aggregate]]:
            log = self._access_log(case_id, at)
            log.record(actor, action, at)
            return None, [log]

        self.uow.retrying(case_id, attempt)

    def _replay(self, actor: Actor, idempotency: Idempotency | None) -> IdempotencyRecord | None:
        if idempotency is None:
            return None
        try:
            record = self.uow.load(IdempotencyRecord, record_id(actor.user, idempotency.key))
        except AggregateNotFoundError:
            return None
        if record.state.fingerprint != idempotency.fingerprint:
            raise IdempotencyKeyReused()
        return record

    def _change_case(
        self,
        actor: Actor,
        case_id: UUID,
        action: str,
        command: Callable[[Case, datetime], Any],
        *,
        at: datetime | None = None,
        expected_version: int | None = None,
        idempotency: Idempotency | None = None,
        visible: Callable[[Case], None] | None = None,
    ) -> Outcome:
        """Run one domain command on a case and save all it records, or nothing.

        The command's events, a line in the case's access log, the child's events when
        the case closes and the idempotency record are saved in one transaction. If
        another writer got there first, the command runs again on the new state (its
        rules are checked again); with `expected_version` (If-Match) a changed case is
        refused instead. `visible` decides whether the actor may see the case, when it is
        not a staff member (the family's pages): it raises NotFound if not.
        """
        now = self._now(at)

        def attempt() -> tuple[Outcome, list[Aggregate]]:
            if visible is None:
                case = self._visible_case(actor, case_id, day_of(now))
            else:
                case = self.get_case(case_id)
                visible(case)
            # Looked for after the case is read, on every try: a record is saved with
            # the events it answers, so a case that shows them shows the record too.
            record = self._replay(actor, idempotency)
            if record is not None:
                replayed = self.case_at(case_id, record.state.version)
                return Outcome(replayed, _parse_result(record.state.result), replayed=True), []
            # Checked on every try: a write that lost a race to another one is refused.
            if expected_version is not None and case.version != expected_version:
                raise VersionMismatch()
            case.expire_consents(now)
            result = command(case, now)
            log = self._access_log(case_id, now)
            log.record(actor, action, now)
            changed: list[Aggregate] = [case, log]
            if not case.is_open:
                child = self.uow.load(Child, case.state.child_id)
                child.end_case(case.id, now)
                changed.append(child)
            if idempotency is not None:
                changed.append(
                    IdempotencyRecord.create(
                        actor.user, idempotency, target=str(case.id), version=case.version,
                        result=None if result is None else str(result), at=now,
                    )
                )
            return Outcome(case, result), changed

        return self.uow.retrying(case_id, attempt)

    # Services -------------------------------------------------------------------------

    def _directory(self) -> ServiceDirectory:
        return self.uow.load_or_start(ServiceDirectory, DIRECTORY_ID, ServiceDirectory.empty)

    def register_service(
        self,
        actor: Actor,
        *,
        service_id: str,
        name: str,
        sector: str,
        municipalities: list[str],
        at: datetime | None = None,
        idempotency: Idempotency | None = None,
    ) -> ServiceInfo:
        return self.register_service_outcome(
            actor, service_id=service_id, name=name, sector=sector,
            municipalities=municipalities, at=at, idempotency=idempotency,
        )[0]

    def register_service_outcome(
        self,
        actor: Actor,
        *,
        service_id: str,
        name: str,
        sector: str,
        municipalities: list[str],
        at: datetime | None = None,
        idempotency: Idempotency | None = None,
    ) -> tuple[ServiceInfo, bool]:
        """Register a service (admins only); the flag says whether this is a
        remembered answer."""
        if not may_manage_services(actor):
            raise errors.Forbidden("Bare en administrator kan registrere tjenester.")
        now = self._now(at)

        def attempt() -> tuple[tuple[ServiceInfo, bool], list[Aggregate]]:
            record = self._replay(actor, idempotency)
            if record is not None:
                return (self.service(record.state.target), True), []
            directory = self._directory()
            info = directory.register(
                actor,
                service_id=service_id,
                name=name,
                sector=sector,
                municipalities=municipalities,
                at=now,
            )
            changed: list[Aggregate] = [directory]
            if idempotency is not None:
                changed.append(
                    IdempotencyRecord.create(
                        actor.user, idempotency, target=info.id, version=directory.version,
                        result=None, at=now,
                    )
                )
            return (info, False), changed

        return self.uow.retrying(DIRECTORY_ID, attempt)

    def list_services(self) -> list[ServiceInfo]:
        return self._directory().all()

    def service(self, service_id: str) -> ServiceInfo:
        return self._directory().get(service_id)

    def _service(self, service_id: str, field: str) -> ServiceInfo:
        return self._services([service_id], field)[0]

    def _services(self, ids: list[str], field: str) -> list[ServiceInfo]:
        """Services named in a request that brings them into a case: an unknown or a
        closed one is bad input in that field (`ServiceDirectory.usable`)."""
        directory = self._directory()
        return [directory.usable(i, field) for i in ids]

    def _known_service(self, service_id: str, field: str) -> ServiceInfo:
        """A registered service, closed or not (the staff directory decides)."""
        try:
            return self._directory().get(service_id)
        except errors.UnknownService:
            raise errors.InvalidValue(field, "Tjenesten er ikke registrert.") from None

    def rename_service(self, actor: Actor, service_id: str, name: str,
                       at: datetime | None = None) -> ServiceInfo:
        """Give a service a new name (admins only); the same name records nothing."""
        return self._change_directory(actor, lambda d, now: d.rename(
            actor, service_id=service_id, name=name, at=now), at)

    def close_service(self, actor: Actor, service_id: str,
                      at: datetime | None = None) -> ServiceInfo:
        """Close (legge ned) a service (admins only); a closed one stays closed."""
        return self._change_directory(actor, lambda d, now: d.close(
            actor, service_id=service_id, at=now), at)

    def change_service(self, actor: Actor, service_id: str, *, name: str | None = None,
                       active: bool | None = None, at: datetime | None = None
                       ) -> ServiceInfo:
        """A new name and/or closing (`active=False`), in one save. A closed service is
        not reopened: `active=True` on one is invalid-value naming `active`."""

        def command(directory: ServiceDirectory, now: datetime) -> ServiceInfo:
            info = directory.get(service_id)
            if active is True and not info.active:
                raise errors.InvalidValue(
                    "active", "En nedlagt tjeneste kan ikke åpnes igjen. "
                              "Registrer en ny tjeneste i stedet.")
            if name is not None:
                info = directory.rename(actor, service_id=service_id, name=name, at=now)
            if active is False:
                info = directory.close(actor, service_id=service_id, at=now)
            return info

        return self._change_directory(actor, command, at)

    def _change_directory(
        self, actor: Actor, command: Callable[[ServiceDirectory, datetime], ServiceInfo],
        at: datetime | None,
    ) -> ServiceInfo:
        if not may_manage_services(actor):
            raise errors.Forbidden("Bare en administrator kan endre tjenester.")
        now = self._now(at)

        def attempt() -> tuple[ServiceInfo, list[Aggregate]]:
            directory = self._directory()
            try:
                return command(directory, now), [directory]
            except errors.UnknownService:
                raise errors.NotFound("Tjenesten er ikke registrert.") from None

        return self.uow.retrying(DIRECTORY_ID, attempt)

    # Opening a case -------------------------------------------------------------------

    def open_case(self, actor: Actor, **fields: Any) -> Case:
        """Open a case (see `open_case_outcome`) and return it."""
        return self.open_case_outcome(actor, **fields).case

    def _replayed_opening(self, record: IdempotencyRecord) -> Outcome:
        return Outcome(
            self.case_at(UUID(record.state.target), record.state.version), None, replayed=True
        )

    def open_case_outcome(
        self,
        actor: Actor,
        *,
        child_name: str,
        concern: str,
        birth_date: date | None = None,
        national_id: str | None = None,
        municipality: str | None = None,
        at: datetime | None = None,
        idempotency: Idempotency | None = None,
    ) -> Outcome:
        """Open a case at level 0; the caller becomes holder. One open case per child.

        Returns the new case (or, for a repeated Idempotency-Key, the remembered one)."""
        self._require_case_work(actor)
        record = self._replay(actor, idempotency)
        if record is not None:
            return self._replayed_opening(record)
        now = self._now(at)
        if not child_name.strip():
            raise errors.InvalidValue("child.name", "Barnets navn må fylles ut.")
        if not concern.strip():
            raise errors.InvalidValue("concern", "Bekymringen må beskrives.")
        if birth_date is not None and birth_date > day_of(now):
            raise errors.InvalidValue("child.birth_date", "Fødselsdatoen kan ikke være fram i tid.")
        number = checked_national_id(national_id, "child.national_id")
        if actor.service is None:
            raise errors.NotParticipant("Du må handle for en tjeneste for å opprette en sak.")
        service = self._service(actor.service, "service")
        if municipality is None:
            if len(service.municipalities) != 1:
                raise errors.InvalidValue(
                    "municipality",
                    "Tjenesten betjener flere kommuner: oppgi barnets kommune.",
                )
            municipality = service.municipalities[0]
        child_id = self.known_child_id(
            national_id=number, name=child_name, birth_date=birth_date
        ) or self.new_id()
        case_id = self.new_id()
        return self._open_case(
            actor, case_id=case_id, child_id=child_id, service=service,
            municipality=municipality, child_name=child_name, concern=concern,
            birth_date=birth_date, number=number, idempotency=idempotency, now=now,
        )

    def _open_case(
        self, actor: Actor, *, case_id: UUID, child_id: UUID, service: ServiceInfo,
        municipality: str, child_name: str, concern: str, birth_date: date | None,
        number: str | None, idempotency: Idempotency | None, now: datetime,
    ) -> Outcome:
        """Open the case and start (or continue) the child, taking turns on the child:
        someone registering the same child (or sending the same request) at the same
        moment makes this look again, and the rules decide."""
        seal = self.sealer.seal

        def attempt() -> tuple[Outcome, list[Aggregate]]:
            record = self._replay(actor, idempotency)
            if record is not None:
                return self._replayed_opening(record), []
            child = self.uow.load_or_start(Child, child_id, lambda: Child.register(child_id, now))
            child.start_case(case_id, now)
            if child.state.erased_at is not None:  # a new key, never the erased one
                self.key_store.drop_cached(child_id)
            case = Case.open(
                actor,
                case_id=case_id,
                child_id=child_id,
                service=service,
                municipality=municipality,
                age_band=age_band(age_on(birth_date, day_of(now))),
                child_name=seal(child_id, child_name.strip()),
                birth_date=seal(child_id, birth_date.isoformat()) if birth_date else None,
                national_id=seal(child_id, number) if number else None,
                concern=seal(child_id, concern),
                at=now,
            )
            log = AccessLog.start(case_id, now)
            log.record(actor, "open-case", now)
            changed: list[Aggregate] = [case, child, log]
            if idempotency is not None:
                changed.append(
                    IdempotencyRecord.create(
                        actor.user, idempotency, target=str(case_id), version=case.version,
                        result=None, at=now,
                    )
                )
            return Outcome(case), changed

        return self.uow.retrying(child_id, attempt)

    def known_child_id(
        self, *, national_id: str | None, name: str, birth_date: date | None
    ) -> UUID | None:
        """The child's id by the blind index; after `keys rotate index`, the id under an
        older key when the child is known by it (aggregate ids are never renamed)."""
        variants = self.blind_index.variants()
        ids = [v.child_id(national_id=national_id, name=name, birth_date=birth_date)
               for v in variants]
        if ids[0] is None or len(ids) == 1:
            return ids[0]
        for candidate in ids:
            try:
                self.uow.load(Child, candidate)  # type: ignore[arg-type]
            except AggregateNotFoundError:
                continue
            return candidate
        return ids[0]

    def forget_child(self, case_id: UUID) -> None:
        """Delete the child's data key: every sealed field of the child becomes unreadable.
        Records nothing and checks no rule: the erasure the service offers is
        `erase_child_data` (stafettlogg/erasure.py)."""
        self.key_store.shred(self.get_case(case_id).state.child_id)


def _parse_result(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        return raw
