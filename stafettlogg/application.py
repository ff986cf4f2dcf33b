"""The stafettlogg application: commands and queries over the event-sourced BTI model.

A thin service layer. Each command loads the aggregates it touches, seals the
personal data it was given, asks the domain to act (the domain holds every rule),
and saves all new events in one transaction. A save that loses a race with another
writer is refused as a whole with `ConcurrentModification`: nothing half-done is
ever stored. Time comes from `clock` unless the caller passes `at`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Mapper
from eventsourcing.utils import Environment

from domain import errors
from domain.aggregate import Aggregate
from domain.case import Case
from domain.child import Child
from domain.national_id import InvalidNationalId, normalise_national_id
from domain.services import DIRECTORY_ID, ServiceDirectory, ServiceInfo
from domain.values import Actor, age_band, age_on
from projections.case_log import LogItem, case_log
from stafettlogg.keys import BlindIndex, ChildKeyStore, KeyFile, KeyShredded, Sealer
from stafettlogg.mapper import MsgspecMapper, topic_of
from stafettlogg.settings import Settings

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

SHREDDED = "[slettet]"


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
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.keys = KeyFile.load_or_create(settings.key_file)
        self.blind_index = BlindIndex(self.keys.index_key)
        self.key_store = ChildKeyStore(settings.key_store, self.keys.master_key)
        self.sealer = Sealer(self.key_store)
        # Take a snapshot of a case every N events, so that long cases load fast.
        self.snapshotting_intervals = {  # type: ignore[misc]
            Case: settings.snapshot_interval,
            ServiceDirectory: settings.snapshot_interval,
        }
        super().__init__(env=self._persistence_env(settings))

    # Wiring ---------------------------------------------------------------------------

    def _persistence_env(self, settings: Settings) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": settings.sqlite_path,
            "SQLITE_LOCK_TIMEOUT": "30",
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": self.keys.store_cipher_key_b64,
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
            "AGGREGATE_CACHE_MAXSIZE": "2000",
            "IS_SNAPSHOTTING_ENABLED": "y",
        }

    def construct_env(self, name: str, env: Any = None) -> Environment:
        # Settings are the only reader of the process environment: do not let stray
        # variables (CIPHER_KEY, SQLITE_DBNAME, ...) reconfigure the event store.
        return Environment(name, dict(env or {}))

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=MsgspecMapper)

    def close(self) -> None:
        super().close()
        self.key_store.close()

    # Loading and saving ------------------------------------------------------------------

    def _load(self, cls: type[A], aggregate_id: UUID) -> A:
        aggregate = self.repository.get(aggregate_id, projector_func=cls.project)
        if not isinstance(aggregate, cls):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def _save(self, *aggregates: Aggregate) -> None:
        try:
            self.save(*aggregates)
        except IntegrityError:
            raise errors.ConcurrentModification() from None

    def get_case(self, case_id: UUID) -> Case:
        try:
            return self._load(Case, case_id)
        except AggregateNotFoundError:
            raise errors.NotFound("Saken finnes ikke.") from None

    def _now(self, at: datetime | None) -> datetime:
        return at if at is not None else self.clock()

    def _change_case(
        self,
        actor: Actor,
        case_id: UUID,
        command: Callable[[Case, datetime], T],
        *,
        at: datetime | None,
        expected_version: int | None,
    ) -> tuple[Case, T]:
        """Load, bring consents up to date, run one domain command, save all or nothing."""
        now = self._now(at)
        case = self.get_case(case_id)
        if expected_version is not None and case.version != expected_version:
            raise errors.ConcurrentModification(
                "Saken er endret siden du leste den. Les saken på nytt og prøv igjen."
            )
        case.expire_consents(now)
        result = command(case, now)
        if case.is_open:
            self._save(case)
        else:
            child = self._load(Child, case.state.child_id)
            child.end_case(case.id, now)
            self._save(case, child)
        return case, result

    # Services -------------------------------------------------------------------------

    def _directory(self) -> ServiceDirectory:
        try:
            return self._load(ServiceDirectory, DIRECTORY_ID)
        except AggregateNotFoundError:
            return ServiceDirectory.empty()

    def register_service(
        self,
        actor: Actor,
        *,
        service_id: str,
        name: str,
        sector: str,
        municipalities: list[str],
        at: datetime | None = None,
    ) -> ServiceInfo:
        directory = self._directory()
        info = directory.register(
            actor,
            service_id=service_id,
            name=name,
            sector=sector,
            municipalities=municipalities,
            at=self._now(at),
        )
        self._save(directory)
        return info

    def list_services(self) -> list[ServiceInfo]:
        return self._directory().all()

    def service(self, service_id: str) -> ServiceInfo:
        return self._directory().get(service_id)

    def _services(self, ids: list[str]) -> list[ServiceInfo]:
        directory = self._directory()
        return [directory.get(i) for i in ids]

    # Opening a case -------------------------------------------------------------------

    def open_case(
        self,
        actor: Actor,
        *,
        child_name: str,
        concern: str,
        birth_date: date | None = None,
        national_id: str | None = None,
        municipality: str | None = None,
        at: datetime | None = None,
    ) -> Case:
        """Open a case at level 0; the caller becomes holder. One open case per child."""
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
        service = self.service(actor.service)
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
        seal = self.sealer.seal
        for attempt in range(3):
            try:
                child = self._load(Child, child_id)
            except AggregateNotFoundError:
                child = Child.register(child_id, now)
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
            try:
                self._save(case, child)
            except errors.ConcurrentModification:
                # Someone registered the same child at the same moment: look again,
                # and the child's own rule decides (one open case per child).
                if attempt == 2:
                    raise
                continue
            return case
        raise errors.ConcurrentModification()  # pragma: no cover - loop always returns

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
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.record_level0_step(
                actor, step=step, text=self._seal(c, text, "text"), at=now
            ),
            at=at, expected_version=expected_version,
        )[0]

    def change_level(
        self, actor: Actor, case_id: UUID, *, level: int, reason: str,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.change_level(
                actor, level=level, reason=self._seal(c, reason, "reason"), at=now
            ),
            at=at, expected_version=expected_version,
        )[0]

    def add_entry(
        self, actor: Actor, case_id: UUID, *, kind: str, text: str,
        corrects: UUID | None = None, at: datetime | None = None,
        expected_version: int | None = None,
    ) -> UUID:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.add_entry(
                actor, kind=kind, text=self._seal(c, text, "text"), corrects=corrects, at=now
            ),
            at=at, expected_version=expected_version,
        )[1]

    def register_consent(
        self, actor: Actor, case_id: UUID, *, given_by: str, services: list[str],
        purpose: str, valid_until: date, form: str, child_view: str | None = None,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> UUID:
        infos = self._services(services)

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

        return self._change_case(
            actor, case_id, command, at=at, expected_version=expected_version
        )[1]

    def withdraw_consent(
        self, actor: Actor, case_id: UUID, consent_id: UUID, *, reason: str | None = None,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.withdraw_consent(
                actor, consent_id=consent_id,
                reason=self._seal(c, reason, "reason", required=False), at=now,
            ),
            at=at, expected_version=expected_version,
        )[0]

    def add_participant(
        self, actor: Actor, case_id: UUID, *, service: str, user: str | None = None,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        info = self.service(service)
        return self._change_case(
            actor, case_id,
            lambda c, now: c.add_participant(actor, service=info, contact_user=user, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def remove_participant(
        self, actor: Actor, case_id: UUID, *, service: str,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.remove_participant(actor, service_id=service, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def request_handover(
        self, actor: Actor, case_id: UUID, *, to_user: str, to_service: str,
        note: str | None = None, at: datetime | None = None,
        expected_version: int | None = None,
    ) -> UUID:
        info = self.service(to_service)
        return self._change_case(
            actor, case_id,
            lambda c, now: c.request_handover(
                actor, to_user=to_user, to_service=info,
                note=self._seal(c, note, "note", required=False), at=now,
            ),
            at=at, expected_version=expected_version,
        )[1]

    def accept_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, *,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.accept_handover(actor, handover_id=handover_id, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def decline_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, *, reason: str | None = None,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.decline_handover(
                actor, handover_id=handover_id,
                reason=self._seal(c, reason, "reason", required=False), at=now,
            ),
            at=at, expected_version=expected_version,
        )[0]

    def cancel_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, *,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.cancel_handover(actor, handover_id=handover_id, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def appoint_coordinator(
        self, actor: Actor, case_id: UUID, *, user: str, service: str,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        info = self.service(service)
        return self._change_case(
            actor, case_id,
            lambda c, now: c.appoint_coordinator(actor, user=user, service=info, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def release_coordinator(
        self, actor: Actor, case_id: UUID, *,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id, lambda c, now: c.release_coordinator(actor, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def establish_responsibility_group(
        self, actor: Actor, case_id: UUID, *, services: list[str],
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        infos = self._services(services)
        return self._change_case(
            actor, case_id,
            lambda c, now: c.establish_responsibility_group(actor, services=infos, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def dissolve_responsibility_group(
        self, actor: Actor, case_id: UUID, *,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id, lambda c, now: c.dissolve_responsibility_group(actor, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def start_individual_plan(
        self, actor: Actor, case_id: UUID, *,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id, lambda c, now: c.start_individual_plan(actor, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def end_individual_plan(
        self, actor: Actor, case_id: UUID, *,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id, lambda c, now: c.end_individual_plan(actor, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def hold_meeting(
        self, actor: Actor, case_id: UUID, *, held_on: date, services: list[str],
        minutes: str, at: datetime | None = None, expected_version: int | None = None,
    ) -> UUID:
        infos = self._services(services)
        return self._change_case(
            actor, case_id,
            lambda c, now: c.hold_meeting(
                actor, held_on=held_on, services=infos,
                minutes=self._seal(c, minutes, "minutes"), at=now,
            ),
            at=at, expected_version=expected_version,
        )[1]

    def agree_action(
        self, actor: Actor, case_id: UUID, *, description: str, responsible_service: str,
        evaluate_by: date, at: datetime | None = None, expected_version: int | None = None,
    ) -> UUID:
        info = self.service(responsible_service)
        return self._change_case(
            actor, case_id,
            lambda c, now: c.agree_action(
                actor, description=self._seal(c, description, "description"),
                responsible_service=info, evaluate_by=evaluate_by, at=now,
            ),
            at=at, expected_version=expected_version,
        )[1]

    def evaluate_action(
        self, actor: Actor, case_id: UUID, action_id: UUID, *, outcome: str, text: str,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.evaluate_action(
                actor, action_id=action_id, outcome=outcome,
                text=self._seal(c, text, "text"), at=now,
            ),
            at=at, expected_version=expected_version,
        )[0]

    def record_satisfaction(
        self, actor: Actor, case_id: UUID, *, respondent: str, score: int,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.record_satisfaction(actor, respondent=respondent, score=score, at=now),
            at=at, expected_version=expected_version,
        )[0]

    def close_case(
        self, actor: Actor, case_id: UUID, *, reason: str, note: str | None = None,
        at: datetime | None = None, expected_version: int | None = None,
    ) -> Case:
        return self._change_case(
            actor, case_id,
            lambda c, now: c.close(
                actor, reason=reason, note=self._seal(c, note, "note", required=False), at=now
            ),
            at=at, expected_version=expected_version,
        )[0]

    def expire_consents(self, case_id: UUID, *, at: datetime | None = None) -> list[UUID]:
        """Record consents whose period has ended (also done before every command)."""
        now = self._now(at)
        case = self.get_case(case_id)
        expired = case.expire_consents(now)
        if expired:
            self._save(case)
        return expired

    # Queries --------------------------------------------------------------------------

    def case_ids(self) -> Iterator[UUID]:
        """Every case, oldest first (read from the notification log)."""
        start = 1
        topic = topic_of(Case.created_by)
        while True:
            batch = self.recorder.select_notifications(start, 500, topics=[topic])
            if not batch:
                return
            for notification in batch:
                yield UUID(str(notification.originator_id))
            start = batch[-1].id + 1

    def open_case_for_child(self, child_id: UUID) -> UUID | None:
        try:
            return self._load(Child, child_id).open_case
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
