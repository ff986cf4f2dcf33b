"""Erasure and the archive period (docs/domain.md, "Erasure").

A child's data is erased by destroying the child's key, which all the child's cases
share: never while a case of the child is open, once per case, and on schedule only
when the archive period after closure has run out for every case of the child. What
is kept with an erasure on request must not hold the personal data it erases.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest

from domain import errors
from domain.child import Child
from domain.events import ChildDataErased, ChildErased
from domain.retention import (
    archive_period_ends,
    check_erasure_note,
    child_erasure_due,
    erasure_due,
)

ADMIN_REASON = "Krav om sletting, journalpost 2026/1234"


def test_an_open_case_is_not_erased(case, people, refused, days):
    with refused(case, errors.CaseStillOpen, "case-open"):
        case.erase_child_data(people.opener, reason="request", at=days(1))


def test_a_closed_case_is_erased_once_and_the_event_holds_no_personal_data(
        case, people, recording, refused, days):
    case.record_level0_step(people.opener, step="beslutning", text=b"x", at=days(1))
    case.close(people.opener, reason="concern-resolved", note=None, at=days(2))
    with recording(case) as recorded:
        case.erase_child_data(people.opener, reason="request", note=ADMIN_REASON, at=days(3))
    (event,) = recorded
    assert isinstance(event, ChildDataErased)
    assert (event.reason, event.note, event.archive_years) == ("request", ADMIN_REASON, None)
    assert not any(isinstance(getattr(event, f), bytes) for f in event.__struct_fields__)
    assert case.is_erased
    with refused(case, errors.AlreadyErased, "already-erased"):
        case.erase_child_data(people.opener, reason="request", at=days(4))


def test_a_child_with_an_open_case_is_not_erased(t0, refused, days):
    child = Child.register(uuid4(), at=t0)
    first, second = uuid4(), uuid4()
    child.start_case(first, at=days(1))
    child.end_case(first, at=days(2))
    child.start_case(second, at=days(3))
    with refused(child, errors.CaseStillOpen, "case-open"):
        child.erase("request", at=days(4))
    child.end_case(second, at=days(5))
    assert child.erase("request", at=days(6)) == [first, second]  # every case: one key
    assert isinstance(child.pending_events[-1], ChildErased)


def test_a_child_who_comes_back_right_after_an_erasure_waits_a_minute(t0, refused, days):
    child = Child.register(uuid4(), at=t0)
    first = uuid4()
    child.start_case(first, at=days(1))
    child.end_case(first, at=days(2))
    child.erase("request", at=days(3))
    with refused(child, errors.ErasureSettling, "erasure-settling"):
        child.start_case(uuid4(), at=days(3) + timedelta(seconds=30))
    child.start_case(uuid4(), at=days(3) + timedelta(minutes=1))


def test_the_archive_period_runs_whole_years_from_the_day_of_closure():
    assert archive_period_ends(date(2026, 3, 2), 10) == date(2036, 3, 2)
    assert archive_period_ends(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert not erasure_due(date(2026, 3, 2), 10, date(2036, 3, 1))
    assert erasure_due(date(2026, 3, 2), 10, date(2036, 3, 2))
    assert not erasure_due(date(2026, 3, 2), None, date(2099, 1, 1))  # no period: never
    assert not erasure_due(None, 1, date(2099, 1, 1))  # open: never


def test_a_child_is_erased_on_schedule_only_when_every_case_s_period_has_run_out():
    today = date(2040, 1, 1)
    assert child_erasure_due([(date(2026, 1, 1), 10), (date(2028, 1, 1), 10)], today)
    assert not child_erasure_due([(date(2026, 1, 1), 10), (date(2035, 1, 1), 10)], today)
    assert not child_erasure_due([(date(2026, 1, 1), 10), (None, 10)], today)
    assert not child_erasure_due([(date(2026, 1, 1), 10), (date(2026, 1, 1), None)], today)
    assert not child_erasure_due([], today)


@pytest.mark.parametrize("note", [
    "Mor til Ingrid ringte", "krav fra INGRID", "Solheim", "fnr 02013299997",
    "nr 020132 99997", "født 17.04.2020", "født 170420", "Mona Foresattesen krevde det",
    "", "   ", "x" * 201,
])
def test_the_reason_kept_with_an_erasure_holds_none_of_the_personal_data(note):
    personal = ["Ingrid Solheim Aasen", "2020-04-17", "02013299997", "Mona Foresattesen", None]
    with pytest.raises(errors.InvalidValue) as refused:
        check_erasure_note(note, personal)
    assert refused.value.field == "reason"


def test_a_reference_is_kept_as_written():
    personal = ["Ingrid Solheim Aasen", "2020-04-17", "02013299997"]
    assert check_erasure_note("  Krav om sletting,\n journalpost 2026/1234 ", personal) == (
        "Krav om sletting, journalpost 2026/1234")
