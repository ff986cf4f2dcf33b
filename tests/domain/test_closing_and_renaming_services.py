"""Renaming and closing services, as the handbook would say it.

An admin may give a service a new name and may close it (legge ned) when it stops
existing or merges with another. A closed service stays in the directory and in every
case it is already part of, but it can no longer be brought into a case (named in a
consent, added as a participant, handed the baton, put in a responsibility group or
made responsible for an action), and nobody can be registered to it.
"""

from __future__ import annotations

import msgspec
import pytest

from domain import errors
from domain.events import ServiceClosed, ServiceRenamed
from domain.services import DirectorySnapshot, ServiceDirectory
from domain.staff import StaffDetails, StaffDirectory
from stafettlogg.mapper import decode_event, topic_of


@pytest.fixture
def directory(people, t0):
    d = ServiceDirectory.empty()
    d.register(people.admin, service_id="ppt-lister", name="PPT Lister", sector="ppt",
               municipalities=["4225", "4227"], at=t0)
    return d


def test_an_admin_renames_a_service(directory, people, recording, days):
    with recording(directory) as recorded:
        info = directory.rename(people.admin, service_id="ppt-lister",
                                name="  PPT Lister IKS ", at=days(1))

    [renamed] = recorded
    assert isinstance(renamed, ServiceRenamed)
    assert (renamed.service_id, renamed.name, renamed.renamed_by) == (
        "ppt-lister", "PPT Lister IKS", people.admin.user)
    assert info.name == "PPT Lister IKS"
    assert info.sector == "ppt" and info.municipalities == ("4225", "4227")


def test_renaming_to_the_same_name_records_nothing(directory, people, recording, days):
    with recording(directory) as recorded:
        directory.rename(people.admin, service_id="ppt-lister", name="PPT Lister", at=days(1))

    assert recorded == []


def test_a_service_cannot_be_renamed_to_nothing(directory, people, refused, days):
    with refused(directory, errors.InvalidValue, "invalid-value") as raised:
        directory.rename(people.admin, service_id="ppt-lister", name="   ", at=days(1))

    assert raised.value.field == "name"


@pytest.mark.parametrize("who", ["opener", "coordinator"])
def test_only_an_admin_renames_or_closes_a_service(directory, people, refused, days, who):
    actor = getattr(people, who)
    with refused(directory, errors.NotAuthorised, "not-authorised"):
        directory.rename(actor, service_id="ppt-lister", name="Noe annet", at=days(1))
    with refused(directory, errors.NotAuthorised, "not-authorised"):
        directory.close(actor, service_id="ppt-lister", at=days(1))


def test_an_unknown_service_cannot_be_renamed_or_closed(directory, people, refused, days):
    with refused(directory, errors.UnknownService, "unknown-service"):
        directory.rename(people.admin, service_id="finnes-ikke", name="Ny", at=days(1))
    with refused(directory, errors.UnknownService, "unknown-service"):
        directory.close(people.admin, service_id="finnes-ikke", at=days(1))


def test_an_admin_closes_a_service_once(directory, people, recording, days):
    with recording(directory) as recorded:
        info = directory.close(people.admin, service_id="ppt-lister", at=days(1))
        again = directory.close(people.admin, service_id="ppt-lister", at=days(2))

    [closed] = recorded
    assert isinstance(closed, ServiceClosed)
    assert closed.closed_by == people.admin.user
    assert info.active is False and again.active is False
    assert directory.get("ppt-lister").active is False  # still in the directory
    assert [s.id for s in directory.all()] == ["ppt-lister"]


def test_a_closed_service_can_still_be_renamed(directory, people, days):
    directory.close(people.admin, service_id="ppt-lister", at=days(1))

    info = directory.rename(people.admin, service_id="ppt-lister", name="PPT (nedlagt)",
                            at=days(2))

    assert (info.name, info.active) == ("PPT (nedlagt)", False)


def test_a_closed_service_cannot_be_brought_into_a_case(directory, people, days):
    assert directory.usable("ppt-lister", "services").active is True
    directory.close(people.admin, service_id="ppt-lister", at=days(1))

    for field in ("services", "service", "to_service", "responsible_service"):
        with pytest.raises(errors.InvalidValue) as refused:
            directory.usable("ppt-lister", field)
        assert refused.value.field == field
        assert refused.value.message == "Tjenesten er lagt ned."


def test_an_unregistered_service_cannot_be_brought_into_a_case_either(directory):
    with pytest.raises(errors.InvalidValue) as refused:
        directory.usable("finnes-ikke", "to_service")
    assert refused.value.field == "to_service"
    assert refused.value.message == "Tjenesten er ikke registrert."


def test_nobody_is_registered_to_a_closed_service_but_its_members_keep_it(
    directory, people, days
):
    staff = StaffDirectory.empty()

    def details(name: str) -> StaffDetails:
        return StaffDetails(name=name, email=None, service=directory.get("ppt-lister"),
                            roles=("worker",), municipalities=("4225",), login=None)

    staff.register(people.admin, staff_id="pia", details=details("Pia Olsen"), at=days(1))
    directory.close(people.admin, service_id="ppt-lister", at=days(2))

    with pytest.raises(errors.InvalidValue) as refused:
        staff.register(people.admin, staff_id="ny", details=details("Ny Person"), at=days(3))
    assert refused.value.field == "service"
    # Pia stays in the closed service, and her name can still be corrected.
    changed = staff.change(people.admin, staff_id="pia", details=details("Pia Olsen Berg"),
                           active=None, at=days(3))
    assert (changed.name, changed.service) == ("Pia Olsen Berg", "ppt-lister")


def test_the_directory_is_rebuilt_with_names_and_closings(directory, people, days):
    directory.rename(people.admin, service_id="ppt-lister", name="PPT Lister IKS", at=days(1))
    directory.close(people.admin, service_id="ppt-lister", at=days(2))

    rebuilt = ServiceDirectory.replay(directory.pending_events)

    assert rebuilt.all() == directory.all()
    assert rebuilt.get("ppt-lister").name == "PPT Lister IKS"
    assert rebuilt.get("ppt-lister").active is False


def test_a_snapshot_taken_before_services_could_be_closed_still_loads(directory):
    snapshot = DirectorySnapshot.take(directory)
    stored = msgspec.json.decode(msgspec.json.encode(snapshot))
    del stored["state"]["services"]["ppt-lister"]["active"]  # as the old code stored it

    loaded = decode_event(topic_of(DirectorySnapshot), msgspec.json.encode(stored))

    assert isinstance(loaded, DirectorySnapshot)
    assert loaded.state.services["ppt-lister"].active is True
