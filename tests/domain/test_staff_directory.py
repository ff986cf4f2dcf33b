"""The staff directory, as the handbook would say it: who may be named in a case."""

from __future__ import annotations

import pytest

from domain import errors
from domain.staff import StaffDetails, StaffDirectory
from domain.values import Actor

ADMIN = Actor(user="admin", roles=frozenset({"admin"}))


def details(services, *, service="skole", roles=("worker",), municipalities=("4225",),
            login=None, name="Per Hansen", email=None) -> StaffDetails:
    return StaffDetails(name=name, email=email, service=getattr(services, service)
                        if service else None, roles=tuple(roles),
                        municipalities=tuple(municipalities), login=login)


@pytest.fixture
def directory(services, t0) -> StaffDirectory:
    d = StaffDirectory.empty()
    d.register(ADMIN, staff_id="per", details=details(services), at=t0)
    return d


def test_only_an_admin_keeps_the_directory(services, t0, people):
    d = StaffDirectory.empty()
    with pytest.raises(errors.NotAuthorised):
        d.register(people.teacher, staff_id="per", details=details(services), at=t0)
    assert d.pending_events == []


def test_an_id_is_registered_once(directory, services, t0):
    with pytest.raises(errors.StaffExists):
        directory.register(ADMIN, staff_id="per", details=details(services, name="Per To"),
                           at=t0)
    assert directory.member("per").name == "Per Hansen"


def test_a_worker_acts_for_a_service_that_serves_their_municipalities(services, t0):
    d = StaffDirectory.empty()
    with pytest.raises(errors.InvalidValue) as no_service:
        d.register(ADMIN, staff_id="ida", details=details(services, service=None), at=t0)
    assert no_service.value.field == "service"
    with pytest.raises(errors.InvalidValue) as elsewhere:
        d.register(ADMIN, staff_id="ida", at=t0,
                   details=details(services, municipalities=("4227",)))
    assert elsewhere.value.field == "municipalities"
    # An evaluator needs no service; an admin neither service nor municipality.
    d.register(ADMIN, staff_id="eva", at=t0, details=details(
        services, service=None, roles=("evaluator",)))
    d.register(ADMIN, staff_id="adm", at=t0, details=details(
        services, service=None, roles=("admin",), municipalities=()))
    assert [m.id for m in d.members()] == ["adm", "eva"]


def test_a_login_belongs_to_one_member(directory, services, t0):
    directory.change(ADMIN, staff_id="per", details=details(services, login="h1"),
                     active=None, at=t0)
    assert directory.by_login("h1").id == "per"
    with pytest.raises(errors.InvalidValue) as taken:
        directory.register(ADMIN, staff_id="siri", at=t0,
                           details=details(services, login="h1", name="Siri"))
    assert taken.value.field == "login"
    # Removing the login frees it.
    directory.change(ADMIN, staff_id="per", details=details(services), active=None, at=t0)
    assert directory.by_login("h1") is None


def test_the_recipient_of_a_handover_must_be_an_active_member_of_the_named_service(
        directory, services, t0):
    assert directory.require_active_member("per", services.skole.id, "to_user").id == "per"
    with pytest.raises(errors.InvalidValue, match="«pr»"):
        directory.require_active_member("pr", services.skole.id, "to_user")
    with pytest.raises(errors.InvalidValue, match="tjenesten"):
        directory.require_active_member("per", services.barnehage.id, "to_user")
    directory.change(ADMIN, staff_id="per", details=None, active=False, at=t0)
    with pytest.raises(errors.InvalidValue, match="ikke lenger aktiv") as gone:
        directory.require_active_member("per", services.skole.id, "to_user")
    assert gone.value.field == "to_user"


def test_a_change_that_changes_nothing_records_nothing(directory, services, t0):
    directory.collect_events()
    directory.change(ADMIN, staff_id="per", details=details(services), active=True, at=t0)
    assert directory.pending_events == []
    directory.change(ADMIN, staff_id="per", details=None, active=False, at=t0)
    directory.change(ADMIN, staff_id="per", details=None, active=False, at=t0)
    assert [type(e).__name__ for e in directory.collect_events()] == ["StaffDeactivated"]


def test_the_directory_is_rebuilt_from_its_events(directory, services, t0):
    directory.change(ADMIN, staff_id="per", details=details(services, name="Per H."),
                     active=False, at=t0)
    again = StaffDirectory.replay(directory.collect_events())
    assert again.member("per") == directory.member("per")
    assert again.member("per").name == "Per H." and not again.member("per").active
