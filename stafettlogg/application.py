"""The stafettlogg application: commands and queries over the event-sourced BTI model.

A thin service layer. Each command loads the aggregates it touches, seals the
personal data it was given, asks the domain to act (the domain holds every rule),
and saves all new events in one transaction. A save that loses a race with another
writer is refused as a whole with `ConcurrentModification`: nothing half-done is
ever stored. Time comes from `clock` unless the caller passes `at`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, NamedTuple, TypedDict, TypeVar, Unpack
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import Mapper
from eventsourcing.utils import Environment

from domain import errors
from domain.access import may_do_case_work, may_see_case, may_see_content
from domain.access_log import AccessLog, access_log_id
from domain.aggregate import Aggregate
from domain.case import Case
from domain.child import Child
from domain.national_id import InvalidNationalId, normalise_national_id
from domain.services import DIRECTORY_ID, ServiceDirectory, ServiceInfo
from domain.values import Actor, age_band, age_on
from projections.case_log import LogItem, case_log
from projections.case_views import CASE_COLUMNS, CaseFacts, facts_from_rows
from stafettlogg.backends import backend_for, open_key_store
from stafettlogg.idempotency import Idempotency, IdempotencyRecord, record_id
from stafettlogg.keys import BlindIndex, ChildKeyStore, KeyFile, KeyShredded, Sealer
from stafettlogg.mapper import MsgspecMapper, topic_of
from stafettlogg.protocol import IdempotencyKeyReused, VersionMismatch
from stafettlogg.settings import Settings
from stafettlogg.statistics import StatisticsService
from stafettlogg.unit_of_work import UnitOfWork

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

SHREDDED = "[slettet]"
# The inbox shows consents that end within this many days.
CONSENT_WARNING_DAYS = 14


class Outcome(NamedTuple):
    """What a command did: the case right after it, and what it made (an id), if anything.

    `replayed` is true when the answer is the remembered one of an earlier request
    with the same Idempotency-Key: then nothing new was recorded."""

    case: Case
    result: Any = None
    replayed: bool = False


class CommandOptions(TypedDict, total=False):
    at: datetime | None
    expected_version: int | None
    idempotency: Idempotency | None


def utc_now() -> datetime:
    return datetime.now(UTC)


class Stafettlogg(Application[UUID]):
    """The event-sourced application behind the API and the CLI."""

    name = "stafettlogg"
    is_snapshotting_enabled = True
    snapshotting_projectors: ClassVar[dict[type, Any]] = {
        Case: Case.project,
        Child: Child.project,
        ServiceDirectory: ServiceDirectory.project,
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
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.keys = KeyFile.load_or_create(settings.key_file)
        self.blind_index = BlindIndex(self.keys.index_key)
        self.backend = backend_for(settings)
        # Loading, saving and retrying: every command goes through it.
        self.uow = self.construct_unit_of_work()
        # Take a snapshot of a case every N events, so that long cases load fast.
        self.snapshotting_intervals = {  # type: ignore[misc]
            Case: settings.snapshot_interval,
            ServiceDirectory: settings.snapshot_interval,
        }
        try:
            super().__init__(env=self._persistence_env())
        except BaseException:
            factory = getattr(self, "factory", None)  # made before the tables were
            if factory is not None:
                factory.close()
            raise
        try:
            self.backend.check_key_file(self, self.keys.fingerprint)
            self.key_store = self._open_key_store(settings)
            self.sealer = Sealer(self.key_store)
            # Read models and anonymised statistics, fed from the notification log.
            self.statistics = StatisticsService(self)
        except BaseException:
            # A database that does not answer (or a wrong key file): close what was opened.
            if hasattr(self, "key_store"):
                self.key_store.close()
            super().close()
            raise

    # Wiring ---------------------------------------------------------------------------

    def _persistence_env(self) -> dict[str, str]:
        return {
            **self.backend.persistence_env(),
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": self.keys.store_cipher_key_b64,
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
            "AGGREGATE_CACHE_MAXSIZE": "2000",
            "IS_SNAPSHOTTING_ENABLED": "y",
        }

    def _open_key_store(self, settings: Settings) -> ChildKeyStore:
        """The children's keys, where the backend keeps them."""
        return open_key_store(self.backend, self, self.keys.master_key)

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

    def close(self) -> None:
        self.statistics.close()
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
    ) -> Outcome:
        """Run one domain command on a case and save all it records, or nothing.

        The command's events, a line in the case's access log, the child's events when
        the case closes and the idempotency record are saved in one transaction. If
        another writer got there first, the command runs again on the new state (its
        rules are checked again); with `expected_version` (If-Match) a changed case is
        refused instead.
        """
        now = self._now(at)

        def attempt() -> tuple[Outcome, list[Aggregate]]:
            case = self._visible_case(actor, case_id, now.date())
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
        """Register a service; the flag says whether this is a remembered answer."""
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
        """Services named in a request; an unknown id is bad input in that field."""
        directory = self._directory()
        try:
            return [directory.get(i) for i in ids]
        except errors.UnknownService:
            raise errors.InvalidValue(field, "Tjenesten er ikke registrert.") from None

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
        if birth_date is not None and birth_date > now.date():
            raise errors.InvalidValue("child.birth_date", "Fødselsdatoen kan ikke være fram i tid.")
        number: str | None = None
        if national_id:
            try:
                number = normalise_national_id(national_id)
            except InvalidNationalId as exc:
                raise errors.InvalidValue("child.national_id", str(exc)) from None
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
        child_id = self.blind_index.child_id(
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
            case = Case.open(
                actor,
                case_id=case_id,
                child_id=child_id,
                service=service,
                municipality=municipality,
                age_band=age_band(age_on(birth_date, now.date())),
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

    # Case commands --------------------------------------------------------------------

    def _seal(self, case: Case, text: str | None, field: str, *, required: bool = True) -> Any:
        if text is None or not text.strip():
            if required:
                raise errors.InvalidValue(field, "Teksten må fylles ut.")
            return None
        return self.sealer.seal(case.state.child_id, text)

    def _child_age(self, case: Case, on: date) -> int | None:
        """The child's age today, from the sealed birth date (None when unknown)."""
        opened = next(iter(self.events.get(case.id, lte=1)))
        raw = self._open(case.state.child_id, opened.birth_date)  # type: ignore[attr-defined]
        if raw is None or raw == SHREDDED:
            return None
        return age_on(date.fromisoformat(raw), on)

    def record_level0_step(
        self, actor: Actor, case_id: UUID, *, step: str, text: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "level0-step",
            lambda c, now: c.record_level0_step(
                actor, step=step, text=self._seal(c, text, "text"), at=now
            ),
            **options,
        )

    def change_level(
        self, actor: Actor, case_id: UUID, *, level: int, reason: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "change-level",
            lambda c, now: c.change_level(
                actor, level=level, reason=self._seal(c, reason, "reason"), at=now
            ),
            **options,
        )

    def add_entry(
        self, actor: Actor, case_id: UUID, *, kind: str, text: str,
        corrects: UUID | None = None, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "add-entry",
            lambda c, now: c.add_entry(
                actor, kind=kind, text=self._seal(c, text, "text"), corrects=corrects, at=now
            ),
            **options,
        )

    def register_consent(
        self, actor: Actor, case_id: UUID, *, given_by: str, services: list[str],
        purpose: str, valid_until: date, form: str, child_view: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        infos = self._services(services, "services")

        def command(c: Case, now: datetime) -> UUID:
            return c.register_consent(
                actor,
                given_by=given_by,
                services=infos,
                purpose=self._seal(c, purpose, "purpose"),
                valid_until=valid_until,
                form=form,
                child_age=self._child_age(c, now.date()),
                youth_consent_age=self.settings.youth_consent_age_for(c.state.municipality),
                child_view=self._seal(c, child_view, "child_view", required=False),
                at=now,
            )

        return self._change_case(actor, case_id, "register-consent", command, **options)

    def withdraw_consent(
        self, actor: Actor, case_id: UUID, consent_id: UUID, *, reason: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "withdraw-consent",
            lambda c, now: c.withdraw_consent(
                actor, consent_id=consent_id,
                reason=self._seal(c, reason, "reason", required=False), at=now,
            ),
            **options,
        )

    def add_participant(
        self, actor: Actor, case_id: UUID, *, service: str, user: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(service, "service")
        return self._change_case(
            actor, case_id, "add-participant",
            lambda c, now: c.add_participant(actor, service=info, contact_user=user, at=now),
            **options,
        )

    def remove_participant(
        self, actor: Actor, case_id: UUID, *, service: str, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "remove-participant",
            lambda c, now: c.remove_participant(actor, service_id=service, at=now),
            **options,
        )

    def request_handover(
        self, actor: Actor, case_id: UUID, *, to_user: str, to_service: str,
        note: str | None = None, **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(to_service, "to_service")
        return self._change_case(
            actor, case_id, "request-handover",
            lambda c, now: c.request_handover(
                actor, to_user=to_user, to_service=info,
                note=self._seal(c, note, "note", required=False), at=now,
            ),
            **options,
        )

    def accept_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "accept-handover",
            lambda c, now: c.accept_handover(actor, handover_id=handover_id, at=now),
            **options,
        )

    def decline_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, *, reason: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "decline-handover",
            lambda c, now: c.decline_handover(
                actor, handover_id=handover_id,
                reason=self._seal(c, reason, "reason", required=False), at=now,
            ),
            **options,
        )

    def cancel_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "cancel-handover",
            lambda c, now: c.cancel_handover(actor, handover_id=handover_id, at=now),
            **options,
        )

    def appoint_coordinator(
        self, actor: Actor, case_id: UUID, *, user: str, service: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(service, "service")
        return self._change_case(
            actor, case_id, "appoint-coordinator",
            lambda c, now: c.appoint_coordinator(actor, user=user, service=info, at=now),
            **options,
        )

    def release_coordinator(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "release-coordinator",
            lambda c, now: c.release_coordinator(actor, at=now),
            **options,
        )

    def establish_responsibility_group(
        self, actor: Actor, case_id: UUID, *, services: list[str],
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        infos = self._services(services, "services")
        return self._change_case(
            actor, case_id, "establish-responsibility-group",
            lambda c, now: c.establish_responsibility_group(actor, services=infos, at=now),
            **options,
        )

    def dissolve_responsibility_group(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "dissolve-responsibility-group",
            lambda c, now: c.dissolve_responsibility_group(actor, at=now),
            **options,
        )

    def start_individual_plan(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "start-individual-plan",
            lambda c, now: c.start_individual_plan(actor, at=now),
            **options,
        )

    def end_individual_plan(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "end-individual-plan",
            lambda c, now: c.end_individual_plan(actor, at=now),
            **options,
        )

    def hold_meeting(
        self, actor: Actor, case_id: UUID, *, held_on: date, services: list[str],
        minutes: str, **options: Unpack[CommandOptions],
    ) -> Outcome:
        infos = self._services(services, "services")
        return self._change_case(
            actor, case_id, "hold-meeting",
            lambda c, now: c.hold_meeting(
                actor, held_on=held_on, services=infos,
                minutes=self._seal(c, minutes, "minutes"), at=now,
            ),
            **options,
        )

    def agree_action(
        self, actor: Actor, case_id: UUID, *, description: str, responsible_service: str,
        evaluate_by: date, **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(responsible_service, "responsible_service")
        return self._change_case(
            actor, case_id, "agree-action",
            lambda c, now: c.agree_action(
                actor, description=self._seal(c, description, "description"),
                responsible_service=info, evaluate_by=evaluate_by, at=now,
            ),
            **options,
        )

    def evaluate_action(
        self, actor: Actor, case_id: UUID, action_id: UUID, *, outcome: str, text: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "evaluate-action",
            lambda c, now: c.evaluate_action(
                actor, action_id=action_id, outcome=outcome,
                text=self._seal(c, text, "text"), at=now,
            ),
            **options,
        )

    def record_satisfaction(
        self, actor: Actor, case_id: UUID, *, respondent: str, score: int,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "record-satisfaction",
            lambda c, now: c.record_satisfaction(actor, respondent=respondent, score=score, at=now),
            **options,
        )

    def close_case(
        self, actor: Actor, case_id: UUID, *, reason: str, note: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "close-case",
            lambda c, now: c.close(
                actor, reason=reason, note=self._seal(c, note, "note", required=False), at=now
            ),
            **options,
        )

    def expire_consents(self, case_id: UUID, *, at: datetime | None = None) -> list[UUID]:
        """Record consents whose period has ended (also done before every command)."""
        now = self._now(at)
        case = self.get_case(case_id)
        expired = case.expire_consents(now)
        if expired:
            self.uow.save(case)
        return expired

    # Queries --------------------------------------------------------------------------

    def case_ids(self, after: int = 0) -> Iterator[UUID]:
        """Every case, oldest first (read from the notification log)."""
        for _, case_id in self._case_positions(after):
            yield case_id

    def _case_positions(self, after: int) -> Iterator[tuple[int, UUID]]:
        topic = topic_of(Case.created_by)
        start = after + 1
        while True:
            batch = self.recorder.select_notifications(start, 500, topics=[topic])
            if not batch:
                return
            for notification in batch:
                yield notification.id, UUID(str(notification.originator_id))
            start = batch[-1].id + 1

    def list_cases(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        level: int | None = None,
        holder_me: bool = False,
        limit: int = 50,
        after: int = 0,
    ) -> tuple[list[CaseFacts], int | None]:
        """The cases the actor may see, oldest first, a page at a time (from the case list).

        Returns the page and the position to continue after (None on the last page).
        A listing shows no personal data, so it is not an access to a case's content.
        """
        self._require_case_work(actor)
        today = self.clock().date()
        page: list[CaseFacts] = []
        position = after
        while True:
            candidates = self._case_rows(
                actor, status=status, level=level, holder_me=holder_me, after=position,
                limit=max(limit * 2, 100),
            )
            if not candidates:
                return page, None
            for facts in candidates:
                position = facts.position
                if not may_see_case(facts, actor, today):
                    continue
                if len(page) == limit:
                    return page, page[-1].position
                page.append(facts)

    def _case_rows(
        self, actor: Actor, *, status: str | None = None, level: int | None = None,
        holder_me: bool = False, after: int = 0, limit: int = 100,
        case_ids: list[str] | None = None,
    ) -> list[CaseFacts]:
        """Rows of the case list that may be visible to the actor (the rules decide)."""
        self.statistics.catch_up()  # read your own writes
        scope = sorted(actor.municipalities)
        if not scope:
            return []
        where = [f"c.municipality IN ({','.join('?' * len(scope))})", "c.position > ?"]
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
        if case_ids is not None:
            where.append(f"c.case_id IN ({','.join('?' * len(case_ids))})")
            params += case_ids
        views = self.statistics.views
        rows = views.read(
            f"SELECT {CASE_COLUMNS} FROM cv_cases c WHERE {' AND '.join(where)}"  # noqa: S608
            " ORDER BY c.position LIMIT ?",
            (*params, limit),
        )
        ids = [r[0] for r in rows]
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        participants = views.read(
            f"SELECT case_id, service FROM cv_participants WHERE case_id IN ({marks})", ids  # noqa: S608
        )
        consents = views.read(
            "SELECT consent_id, case_id, services, valid_until, status FROM cv_consents"  # noqa: S608
            f" WHERE case_id IN ({marks})",
            ids,
        )
        return facts_from_rows(rows, participants, consents)

    def read_case(self, actor: Actor, case_id: UUID, *, action: str = "read-case") -> Case:
        """A case as its reader may see it; the read is recorded in its access log."""
        now = self.clock()
        case = self._visible_case(actor, case_id, now.date())
        self._log_read(actor, case_id, action, now)
        return case

    def may_see_content(self, actor: Actor, case: Case) -> bool:
        return may_see_content(case, actor, self.clock().date())

    def read_log(self, actor: Actor, case_id: UUID) -> list[dict[str, Any]]:
        """The case log, for the services taking part; recorded in the access log."""
        now = self.clock()
        case = self._visible_case(actor, case_id, now.date())
        if not may_see_content(case, actor, now.date()):
            raise errors.Forbidden("Bare tjenester som er med i saken, kan lese loggen.")
        self._log_read(actor, case_id, "read-log", now)
        return self.case_log(case_id)

    def read_access_log(self, actor: Actor, case_id: UUID) -> list[dict[str, Any]]:
        """Who read or changed the case; reading it is itself recorded."""
        now = self.clock()
        self._visible_case(actor, case_id, now.date())
        self._log_read(actor, case_id, "read-access-log", now)
        self.statistics.catch_up()
        return [
            {
                "at": datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC),
                "user": user,
                "role": role,
                "service": service,
                "action": action,
            }
            for at, user, role, service, action in self.statistics.views.read(
                'SELECT at, "user", role, service, action FROM cv_access WHERE case_id = ?'
                " ORDER BY seq",
                (str(case_id),),
            )
        ]

    def inbox(self, actor: Actor) -> dict[str, list[dict[str, Any]]]:
        """What waits for the caller: handovers to them, overdue actions, ending consents."""
        self._require_case_work(actor)
        today = self.clock().date()
        soon = today + timedelta(days=CONSENT_WARNING_DAYS)
        views = self.statistics.views
        self.statistics.catch_up()
        open_cases = [
            f for f in self._case_rows(actor, status="open", limit=1_000_000)
            if may_see_case(f, actor, today)
        ]
        handovers = [
            {"case": f.id, "handover": f}
            for f in open_cases if f.pending_recipient == (actor.user, actor.service)
        ]
        readable = {str(f.id): f for f in open_cases if may_see_content(f, actor, today)}
        actions = [
            {"case": UUID(case_id), "id": UUID(action_id), "responsible_service": service,
             "evaluate_by": date.fromisoformat(by)}
            for action_id, case_id, service, by in views.read(
                "SELECT action_id, case_id, responsible_service, evaluate_by FROM cv_actions"
                " WHERE responsible_service = ? AND status = 'open' AND evaluate_by < ?"
                " ORDER BY evaluate_by, action_id",
                (actor.service, today.isoformat()),
            )
            if case_id in readable
        ]
        consents = [
            {"case": f.id, "id": UUID(consent_id), "services": sorted(services),
             "valid_until": until}
            for f in readable.values()
            for consent_id, (services, until, status) in sorted(f.consents.items())
            if status == "active" and today <= until <= soon
        ]
        return {"handovers": handovers, "actions_due": actions, "consents_expiring": consents}

    def open_case_for_child(self, child_id: UUID) -> UUID | None:
        try:
            return self.uow.load(Child, child_id).open_case
        except AggregateNotFoundError:
            return None

    def _open(self, child_id: UUID, sealed: bytes | None) -> str | None:
        try:
            return self.sealer.open(child_id, sealed)
        except KeyShredded:
            return SHREDDED

    def child_details(self, case_id: UUID) -> dict[str, Any]:
        """The child's personal data, opened. Only for someone who may see the case."""
        case = self.get_case(case_id)
        opened = next(iter(self.events.get(case_id, lte=1)))
        child_id = case.state.child_id
        birth = self._open(child_id, opened.birth_date)  # type: ignore[attr-defined]
        return {
            "name": self._open(child_id, opened.child_name),  # type: ignore[attr-defined]
            "birth_date": birth,
            "national_id": self._open(child_id, opened.national_id),  # type: ignore[attr-defined]
            "concern": self._open(child_id, opened.concern),  # type: ignore[attr-defined]
        }

    def case_log(self, case_id: UUID) -> list[dict[str, Any]]:
        """Every recorded step, in order, with its free text opened."""
        case = self.get_case(case_id)
        items: list[LogItem] = case_log(self.events.get(case_id))
        return [
            {
                "seq": item.seq,
                "at": item.at,
                "kind": item.kind,
                "user": item.user,
                "service": item.service,
                "text": self._open(case.state.child_id, item.sealed_text),
                **item.details,
            }
            for item in items
        ]

    def forget_child(self, case_id: UUID) -> None:
        """Delete the child's data key: every sealed field of the child becomes unreadable."""
        self.key_store.shred(self.get_case(case_id).state.child_id)


def _parse_result(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        return raw
