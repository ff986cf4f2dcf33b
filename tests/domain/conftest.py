"""Builders for the domain handbook tests: services, people, a fixed clock and cases.

Pure domain: no application, no database, no crypto. Sealed fields are plain bytes
and time is always passed as `at=`. Everything is offered as fixtures (not as
importable names) so that these tests never depend on which `conftest` module
Python happens to import first.

The setting: a child in Lyngdal (4225). Lyngdal's kindergarten, school and health
station serve only Lyngdal; PPT Lister serves Lyngdal and its neighbour Kvinesdal
(4227), which has its own school.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from uuid import UUID, uuid4

import msgspec
import pytest

from domain import errors
from domain.aggregate import DomainEvent
from domain.case import Case
from domain.consent import DEFAULT_YOUTH_CONSENT_AGE
from domain.services import ServiceInfo
from domain.values import Actor, Sealed

# A fixed clock: every test says when things happen.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOME = "4225"  # Lyngdal, the child's municipality
NEIGHBOUR = "4227"  # Kvinesdal


def days(n: int) -> datetime:
    """The instant n days after T0."""
    return T0 + timedelta(days=n)


def _service(service_id: str, name: str, sector: str, *municipalities: str) -> ServiceInfo:
    return ServiceInfo(
        id=service_id,
        name=name,
        sector=sector,  # type: ignore[arg-type]
        municipalities=municipalities,
        inter_municipal=len(municipalities) > 1,
    )


SERVICES = SimpleNamespace(
    barnehage=_service("bhg-solsikken", "Solsikken barnehage", "barnehage", HOME),
    skole=_service("hauge-skole", "Hauge skole", "skole", HOME),
    helsestasjon=_service("hs-lyngdal", "Helsestasjonen i Lyngdal", "helsestasjon", HOME),
    ppt=_service("ppt-lister", "PPT Lister", "ppt", HOME, NEIGHBOUR),
    neighbour_school=_service("kvinesdal-skole", "Kvinesdal skole", "skole", NEIGHBOUR),
)


def _worker(user: str, service: ServiceInfo) -> Actor:
    return Actor(
        user=user,
        service=service.id,
        roles=frozenset({"worker"}),
        municipalities=frozenset(service.municipalities),
    )


PEOPLE = SimpleNamespace(
    # pedagogisk leder in the kindergarten: opens the case and holds the baton first
    opener=_worker("kari", SERVICES.barnehage),
    opener_colleague=_worker("lise", SERVICES.barnehage),
    teacher=_worker("per", SERVICES.skole),
    teacher_colleague=_worker("ola", SERVICES.skole),
    nurse=_worker("nina", SERVICES.helsestasjon),
    psychologist=_worker("pia", SERVICES.ppt),
    neighbour_teacher=_worker("nils", SERVICES.neighbour_school),
    # coordinators act for municipalities, from the municipality's coordinating unit
    coordinator=Actor(
        user="kim",
        service="koordinerende-enhet-lyngdal",
        roles=frozenset({"worker", "coordinator"}),
        municipalities=frozenset({HOME}),
    ),
    neighbour_coordinator=Actor(
        user="kjell",
        service="koordinerende-enhet-kvinesdal",
        roles=frozenset({"worker", "coordinator"}),
        municipalities=frozenset({NEIGHBOUR}),
    ),
    admin=Actor(user="admin-1", roles=frozenset({"admin"})),
)


class Given:
    """Builds cases in a known state through the case's own commands.

    Each helper acts as the person a real case would need (the current holder by
    default), so a helper that breaks a rule fails loudly instead of hiding it.
    """

    def holder_of(self, case: Case) -> Actor:
        for person in vars(PEOPLE).values():
            if (person.user, person.service) == (case.state.holder_user, case.state.holder_service):
                return person
        raise LookupError("the holder is nobody the tests know")

    def service_of(self, person: Actor) -> ServiceInfo:
        for service in vars(SERVICES).values():
            if service.id == person.service:
                return service
        raise LookupError(f"no test service {person.service!r}")

    def open_case(
        self,
        *,
        by: Actor = PEOPLE.opener,
        service: ServiceInfo = SERVICES.barnehage,
        municipality: str = HOME,
        at: datetime = T0,
        child_id: UUID | None = None,
    ) -> Case:
        return Case.open(
            by,
            case_id=uuid4(),
            child_id=child_id or uuid4(),
            service=service,
            municipality=municipality,
            age_band="0-5",
            child_name=Sealed(b"barnets navn"),
            birth_date=None,
            national_id=None,
            concern=Sealed(b"undring: trekker seg unna i lek"),
            at=at,
        )

    def consent(
        self,
        case: Case,
        *services: ServiceInfo,
        until: date | None = None,
        at: datetime = T0,
        by: Actor | None = None,
    ) -> UUID:
        """The guardians of a four-year-old consent to sharing with these services."""
        return case.register_consent(
            by or self.holder_of(case),
            given_by="guardian",
            services=list(services),
            purpose=Sealed(b"samarbeid om tiltak i barnehage og skole"),
            valid_until=until or days(180).date(),
            form="written",
            child_age=4,
            youth_consent_age=DEFAULT_YOUTH_CONSENT_AGE,
            at=at,
        )

    def taking_part(
        self, case: Case, *services: ServiceInfo, at: datetime = T0, until: date | None = None
    ) -> UUID:
        """The services get consent and join the case; returns the consent's id."""
        consent_id = self.consent(case, *services, at=at, until=until)
        for service in services:
            case.add_participant(self.holder_of(case), service=service, at=at)
        return consent_id

    def decided(self, case: Case, at: datetime = T0) -> None:
        """The level-0 decision (`beslutning`) is recorded."""
        case.record_level0_step(
            self.holder_of(case), step="beslutning", text=Sealed(b"videre til niva 1"), at=at
        )

    def handover_asked(self, case: Case, to: Actor, at: datetime = T0) -> UUID:
        """The holder asks `to` to take over the baton (consent to its service first)."""
        service = self.service_of(to)
        if not case.has_access(service.id, at.date()):
            self.consent(case, service, at=at)
        return case.request_handover(
            self.holder_of(case), to_user=to.user, to_service=service, at=at
        )

    def closed(self, case: Case, at: datetime = T0) -> None:
        if case.state.level == 0 and not case.state.decision_recorded:
            self.decided(case, at=at)
        case.close(self.holder_of(case), reason="concern-resolved", note=None, at=at)


# --- fixtures ------------------------------------------------------------------------


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture(name="days")
def days_fixture() -> Callable[[int], datetime]:
    return days


@pytest.fixture
def home() -> str:
    return HOME


@pytest.fixture
def neighbour() -> str:
    return NEIGHBOUR


@pytest.fixture
def services() -> SimpleNamespace:
    return SERVICES


@pytest.fixture
def people() -> SimpleNamespace:
    return PEOPLE


@pytest.fixture
def given() -> Given:
    return Given()


@pytest.fixture
def case(given: Given) -> Case:
    """A fresh case: opened at T0 by the kindergarten, which holds the baton."""
    return given.open_case()


def _state_bytes(case: object) -> bytes:
    return msgspec.json.encode(case.state)  # type: ignore[attr-defined]


@pytest.fixture
def refused() -> Callable[..., object]:
    """`with refused(case, errors.NotHolder, "not-holder"): command()`.

    Asserts that the command raises that kind of DomainError, with the contract
    code, and that it recorded nothing and changed nothing. Yields the ExceptionInfo.
    """

    @contextmanager
    def refusal(
        aggregate, error: type[errors.DomainError], code: str
    ) -> Iterator[pytest.ExceptionInfo[errors.DomainError]]:
        assert issubclass(error, errors.DomainError)
        events_before = aggregate.pending_events
        version_before = aggregate.version
        state_before = _state_bytes(aggregate)
        with pytest.raises(error) as raised:
            yield raised
        assert raised.value.code == code
        assert aggregate.pending_events == events_before, "a refused command recorded events"
        assert aggregate.version == version_before
        assert _state_bytes(aggregate) == state_before, "a refused command changed the state"

    return refusal


@pytest.fixture
def recording() -> Callable[..., object]:
    """`with recording(case) as recorded: command()` collects the events it triggered."""

    @contextmanager
    def record(aggregate) -> Iterator[list[DomainEvent]]:
        start = len(aggregate.pending_events)
        recorded: list[DomainEvent] = []
        yield recorded
        recorded.extend(aggregate.pending_events[start:])

    return record
