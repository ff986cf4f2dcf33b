"""The training register's rules, as docs/implementation.md states them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain import errors
from domain.staff import StaffMember
from domain.training import TrainingRecord, may_record_training
from domain.values import Actor

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ADMIN = Actor(user="admin-1", roles=frozenset({"admin"}))
LEADER = Actor(user="liv", service="hauge-skole", roles=frozenset({"leader"}),
               municipalities=frozenset({"4225"}))
WORKER = Actor(user="kari", service="bhg-solsikken", roles=frozenset({"worker"}),
               municipalities=frozenset({"4225"}))


def member(staff_id: str = "per", service: str = "hauge-skole", active: bool = True
           ) -> StaffMember:
    return StaffMember(id=staff_id, name="Per Hansen", email=None, service=service,
                       roles=("worker",), municipalities=("4225",), login=None, active=active)


def test_an_admin_records_for_anyone_and_a_unit_leader_for_their_own_service():
    assert may_record_training(ADMIN, member(service="ppt-lister"))
    assert may_record_training(LEADER, member(service="hauge-skole"))
    assert not may_record_training(LEADER, member(service="ppt-lister"))
    record = TrainingRecord.start("per")
    with pytest.raises(errors.Forbidden):
        record.record(WORKER, member(), training="stafettloggen", on=date(2026, 5, 4), at=NOW)


def test_a_training_is_one_of_the_list_and_dated_on_a_day_that_has_been():
    record = TrainingRecord.start("per")
    with pytest.raises(errors.InvalidValue) as refused:
        record.record(ADMIN, member(), training="førstehjelp", on=date(2026, 5, 4), at=NOW)
    assert refused.value.field == "training"
    with pytest.raises(errors.InvalidValue) as refused:
        record.record(ADMIN, member(), training="stafettloggen", on=date(2026, 6, 2), at=NOW)
    assert (refused.value.field, refused.value.message) == (
        "on", "Datoen for opplæringen kan ikke være fram i tid.")
    with pytest.raises(errors.InvalidValue):
        record.record(ADMIN, member(), training="stafettloggen", on=date(1926, 5, 4), at=NOW)
    assert record.collect_events() == []


def test_only_an_active_member_is_recorded():
    record = TrainingRecord.start("per")
    with pytest.raises(errors.InvalidValue) as refused:
        record.record(ADMIN, member(active=False), training="stafettloggen",
                      on=date(2026, 5, 4), at=NOW)
    assert refused.value.field == "staff"


def test_the_same_training_on_the_same_day_counts_once_and_a_mistake_is_removed():
    record = TrainingRecord.start("per")
    assert record.record(ADMIN, member(), training="stafettloggen", on=date(2026, 5, 4), at=NOW)
    assert not record.record(ADMIN, member(), training="stafettloggen", on=date(2026, 5, 4),
                             at=NOW)
    assert record.record(ADMIN, member(), training="stafettloggen", on=date(2025, 9, 1), at=NOW)
    assert record.first_days() == {"stafettloggen": date(2025, 9, 1)}
    assert record.had("stafettloggen", by=date(2025, 9, 1))
    assert not record.had("stafettloggen", by=date(2025, 8, 31))
    record.remove(ADMIN, member(), training="stafettloggen", on=date(2025, 9, 1), at=NOW)
    assert record.first_days() == {"stafettloggen": date(2026, 5, 4)}
    with pytest.raises(errors.InvalidValue):
        record.remove(ADMIN, member(), training="stafettloggen", on=date(2025, 9, 1), at=NOW)
    kinds = [type(e).__name__ for e in record.collect_events()]
    assert kinds == ["TrainingRecorded", "TrainingRecorded", "TrainingRemoved"]


def test_a_record_rebuilt_from_its_events_is_the_same():
    record = TrainingRecord.start("per")
    record.record(ADMIN, member(), training="handlingsveileder", on=date(2026, 1, 5), at=NOW)
    record.record(LEADER, member(), training="tegn-og-signaler", on=date(2026, 2, 5), at=NOW)
    again = TrainingRecord.replay(record.collect_events())
    assert again is not None and again.state.days == record.state.days
