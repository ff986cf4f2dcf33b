"""Who consents is worked out from the child's sealed birth date on the day of the
consent: from the youth-consent age (16 unless the municipality says otherwise)
the young person consents, and on the birthday itself the young person is that
age. Both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain import errors
from stafettlogg.application import Stafettlogg
from tests.conftest import KARI

BIRTH = date(2010, 3, 2)
BIRTHDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY_BEFORE = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def open_case(app: Stafettlogg) -> UUID:
    return app.open_case(
        KARI, child_name="Sara Berg", concern="Sara er mye borte fra skolen.",
        birth_date=BIRTH, at=DAY_BEFORE,
    ).id


def consent(app: Stafettlogg, case_id: UUID, given_by: str, at: datetime) -> None:
    app.register_consent(
        KARI, case_id, given_by=given_by, services=["hauge-skole"],
        purpose="Samarbeid med skolen", valid_until=date(2026, 12, 31), form="written", at=at,
    )


def test_the_young_person_consents_on_the_16th_birthday(app: Stafettlogg) -> None:
    case_id = open_case(app)
    consent(app, case_id, "child", BIRTHDAY)
    (given,) = app.get_case(case_id).state.consents.values()
    assert given.given_by == "child"


def test_on_the_16th_birthday_the_guardians_no_longer_consent_for_the_young_person(
    app: Stafettlogg,
) -> None:
    case_id = open_case(app)
    with pytest.raises(errors.WrongConsenter):
        consent(app, case_id, "guardian", BIRTHDAY)


def test_the_day_before_the_16th_birthday_the_guardians_consent(app: Stafettlogg) -> None:
    case_id = open_case(app)
    with pytest.raises(errors.WrongConsenter):
        consent(app, case_id, "child", DAY_BEFORE)
    consent(app, case_id, "guardian", DAY_BEFORE)
