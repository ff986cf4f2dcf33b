"""The child and the service directory.

A child has at most one open case; once it is closed a new case may open (brief,
section 3: "each child has at most one open case"). Services belong to a sector and
serve one or more municipalities; one that serves several is inter-municipal. Only
an admin registers services, and an id is registered once.
"""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain import errors
from domain.child import Child
from domain.events import ChildCaseEnded, ChildCaseStarted, ServiceRegistered
from domain.services import ServiceDirectory
from domain.values import SECTORS

# --- the child: at most one open case ------------------------------------------------------


@pytest.fixture
def child(t0):
    return Child.register(uuid4(), at=t0)


def test_a_child_s_first_case_starts(child, recording, days):
    case_id = uuid4()

    with recording(child) as recorded:
        child.start_case(case_id, at=days(1))

    assert [type(e) for e in recorded] == [ChildCaseStarted]
    assert child.open_case == case_id


def test_a_child_has_at_most_one_open_case(child, refused, days):
    child.start_case(uuid4(), at=days(1))

    with refused(child, errors.OpenCaseExists, "open-case-exists"):
        child.start_case(uuid4(), at=days(2))


def test_after_the_case_is_closed_a_new_case_may_open(child, recording, days):
    first, second = uuid4(), uuid4()
    child.start_case(first, at=days(1))

    with recording(child) as recorded:
        child.end_case(first, at=days(30))
    assert [type(e) for e in recorded] == [ChildCaseEnded]
    assert child.open_case is None

    child.start_case(second, at=days(31))
    assert child.open_case == second
    assert child.state.cases == [first, second]


def test_ending_a_case_that_is_not_the_open_one_changes_nothing(child, recording, days):
    open_case = uuid4()
    child.start_case(open_case, at=days(1))

    with recording(child) as recorded:
        child.end_case(uuid4(), at=days(2))

    assert recorded == []
    assert child.open_case == open_case


def test_a_child_rebuilt_from_its_events_still_has_its_open_case(child, refused, days):
    child.start_case(uuid4(), at=days(1))

    rebuilt = Child.replay(child.pending_events)

    with refused(rebuilt, errors.OpenCaseExists, "open-case-exists"):
        rebuilt.start_case(uuid4(), at=days(2))


def test_closing_the_case_in_the_domain_lets_the_child_have_a_new_one(
    given, people, child, refused, days
):
    """The case and the child together: open, refuse a second, close, open again."""
    first = given.open_case(child_id=child.id, at=days(0))
    child.start_case(first.id, at=days(0))

    second = given.open_case(child_id=child.id, by=people.opener_colleague, at=days(1))
    with refused(child, errors.OpenCaseExists, "open-case-exists"):
        child.start_case(second.id, at=days(1))

    given.closed(first, at=days(10))
    child.end_case(first.id, at=days(10))
    child.start_case(second.id, at=days(11))

    assert child.open_case == second.id


# --- the service directory ---------------------------------------------------------------


@pytest.fixture
def directory():
    return ServiceDirectory.empty()


def register(directory, actor, *, service_id="ppt-lister", name="PPT Lister", sector="ppt",
             municipalities=("4225",), at):
    return directory.register(
        actor, service_id=service_id, name=name, sector=sector,
        municipalities=list(municipalities), at=at,
    )


def test_an_admin_registers_a_service_in_a_sector_for_its_municipalities(
    directory, people, recording, t0
):
    with recording(directory) as recorded:
        info = register(directory, people.admin, sector="helsestasjon", service_id="hs-lyngdal",
                        name="  Helsestasjonen i Lyngdal ", municipalities=["4225"], at=t0)

    [registered] = recorded
    assert isinstance(registered, ServiceRegistered)
    assert (registered.service_id, registered.sector, registered.municipalities) == (
        "hs-lyngdal", "helsestasjon", ("4225",),
    )
    assert registered.registered_by == people.admin.user
    assert info.name == "Helsestasjonen i Lyngdal"
    assert directory.get("hs-lyngdal") == info


@pytest.mark.parametrize("who", ["opener", "coordinator"])
def test_only_an_admin_registers_services(directory, people, refused, t0, who):
    with refused(directory, errors.NotAuthorised, "not-authorised"):
        register(directory, getattr(people, who), at=t0)


def test_a_service_id_is_registered_once(directory, people, refused, t0):
    register(directory, people.admin, at=t0)

    with refused(directory, errors.ServiceExists, "service-exists"):
        register(directory, people.admin, name="PPT Lister (igjen)", at=t0)


@pytest.mark.parametrize("municipalities", [("4225", "4227"), ("4225", "4227", "4226")])
def test_a_service_serving_several_municipalities_is_inter_municipal(
    directory, people, t0, municipalities
):
    info = register(directory, people.admin, municipalities=municipalities, at=t0)

    assert info.inter_municipal is True
    assert all(info.serves(m) for m in municipalities)


def test_a_service_serving_one_municipality_is_not_inter_municipal(directory, people, t0):
    info = register(directory, people.admin, municipalities=("4225", "4225"), at=t0)

    assert info.inter_municipal is False
    assert info.municipalities == ("4225",)
    assert not info.serves("4227")


def test_the_sectors_are_the_ten_of_the_brief_and_the_contract():
    assert SECTORS == (
        "barnehage", "skole", "helsestasjon", "ppt", "barnevern",
        "nav", "psykisk-helse", "bup", "fastlege", "annet",
    )


@pytest.mark.parametrize("sector", SECTORS)
def test_a_service_belongs_to_one_of_the_sectors(directory, people, t0, sector):
    assert register(directory, people.admin, sector=sector, at=t0).sector == sector


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("sector", "sykehus", id="a sector outside the ten"),
        pytest.param("municipalities", (), id="no municipality"),
        pytest.param("municipalities", ("425",), id="a kommunenummer of three digits"),
        pytest.param("municipalities", ("42250",), id="a kommunenummer of five digits"),
        pytest.param("municipalities", ("Lyng",), id="a name instead of a kommunenummer"),
        pytest.param("name", "   ", id="no name"),
        pytest.param("service_id", "PPT Lister", id="an id with capitals and spaces"),
        pytest.param("service_id", "p", id="an id of one character"),
    ],
)
def test_a_service_is_registered_only_with_valid_values(directory, people, refused, t0, field,
                                                       value):
    with refused(directory, errors.InvalidValue, "invalid-value") as raised:
        register(directory, people.admin, **{field: value}, at=t0)

    assert raised.value.field == {"service_id": "id"}.get(field, field)


def test_an_unknown_service_is_not_found(directory, people, t0):
    register(directory, people.admin, at=t0)

    with pytest.raises(errors.UnknownService) as refused:
        directory.get("finnes-ikke")
    assert refused.value.code == "unknown-service"


def test_the_directory_lists_services_by_id_and_is_rebuilt_from_its_events(
    directory, people, t0
):
    for service_id in ("skole-b", "barnehage-a", "ppt-c"):
        register(directory, people.admin, service_id=service_id, at=t0)

    rebuilt = ServiceDirectory.replay(directory.pending_events)

    assert [s.id for s in directory.all()] == ["barnehage-a", "ppt-c", "skole-b"]
    assert rebuilt.all() == directory.all()
