"""Consent (samtykke), brief section 2.

Consent is given to a service, for a purpose and a period, and can be withdrawn at
any time. Sharing with another service (as participant, handover recipient,
responsibility-group member, meeting participant or the koordinator's service) needs
an active consent that covers that service. When a consent is withdrawn or expires,
services no longer covered lose their access: they leave the case, a handover to them
is cancelled and a koordinator from them is released, each as a recorded event. The
service that opened the case keeps its own access. Below the youth-consent age
(configurable per municipality, default 16) the guardians consent, from it the young
person; an unknown age means the guardians. The domain never reads the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain import errors
from domain.consent import DEFAULT_YOUTH_CONSENT_AGE, required_consenter
from domain.events import (
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    CoordinatorReleased,
    HandoverCancelled,
    ServiceLeft,
)
from domain.values import Sealed, age_on


def register(case, by, services, *, at, given_by="guardian", child_age=4,
             youth_consent_age=DEFAULT_YOUTH_CONSENT_AGE, until=None, form="written"):
    return case.register_consent(
        by,
        given_by=given_by,
        services=list(services),
        purpose=Sealed(b"samarbeid rundt overgang barnehage-skole"),
        valid_until=until or date(2026, 12, 31),
        form=form,
        child_age=child_age,
        youth_consent_age=youth_consent_age,
        at=at,
    )


# Every way a case is shared with the school. Each needs a consent covering the school.
SHARING_WITH_THE_SCHOOL = {
    "as a participant": lambda case, p, s, at: case.add_participant(
        p.opener, service=s.skole, at=at
    ),
    "as handover recipient": lambda case, p, s, at: case.request_handover(
        p.opener, to_user=p.teacher.user, to_service=s.skole, at=at
    ),
    "as responsibility-group member": lambda case, p, s, at: case.establish_responsibility_group(
        p.opener, services=[s.skole], at=at
    ),
    "as meeting participant": lambda case, p, s, at: case.hold_meeting(
        p.opener, held_on=at.date(), services=[s.barnehage, s.skole],
        minutes=Sealed(b"referat"), at=at,
    ),
    "as the koordinator's service": lambda case, p, s, at: case.appoint_coordinator(
        p.coordinator, user=p.teacher.user, service=s.skole, at=at
    ),
}
sharing_ways = pytest.mark.parametrize(
    "share", SHARING_WITH_THE_SCHOOL.values(), ids=SHARING_WITH_THE_SCHOOL.keys()
)


# --- sharing needs consent -----------------------------------------------------------


@sharing_ways
def test_sharing_with_another_service_needs_a_consent(case, people, services, refused, days,
                                                      share):
    with refused(case, errors.ConsentRequired, "consent-required"):
        share(case, people, services, days(1))


@sharing_ways
def test_a_consent_to_one_service_does_not_cover_another(case, given, people, services,
                                                        refused, days, share):
    given.consent(case, services.helsestasjon)

    with refused(case, errors.ConsentRequired, "consent-required"):
        share(case, people, services, days(1))


@sharing_ways
def test_a_consent_that_covers_the_service_lets_the_case_be_shared(case, given, people,
                                                                  services, days, share):
    given.consent(case, services.skole)
    version = case.version

    share(case, people, services, days(1))

    assert case.version > version


@sharing_ways
def test_a_consent_covers_sharing_up_to_and_including_its_last_day(case, given, people,
                                                                  services, days, share):
    given.consent(case, services.skole, until=days(10).date())

    share(case, people, services, days(10))


@sharing_ways
def test_an_expired_consent_no_longer_covers_sharing(case, given, people, services, refused,
                                                    days, share):
    given.consent(case, services.skole, until=days(10).date())

    with refused(case, errors.ConsentRequired, "consent-required"):
        share(case, people, services, days(11))


def test_a_responsibility_group_is_not_partly_established_when_one_member_lacks_consent(
    case, given, people, services, refused, days
):
    given.consent(case, services.skole)

    with refused(case, errors.ConsentRequired, "consent-required"):
        case.establish_responsibility_group(
            people.opener, services=[services.skole, services.helsestasjon], at=days(1)
        )

    assert services.skole.id not in case.participating_services


def test_the_service_that_opened_the_case_needs_no_consent_for_its_own_access(
    case, services, people, days
):
    assert case.has_access(services.barnehage.id, days(0).date())
    assert not case.has_access(services.skole.id, days(0).date())

    case.hold_meeting(
        people.opener, held_on=days(1).date(), services=[services.barnehage],
        minutes=Sealed(b"internt mote"), at=days(1),
    )


# --- the consent itself ----------------------------------------------------------------


def test_a_consent_is_given_to_services_for_a_purpose_and_a_period(
    case, people, services, recording, days
):
    with recording(case) as recorded:
        consent_id = register(
            case, people.opener, [services.skole, services.ppt, services.skole],
            until=days(90).date(), form="oral", at=days(1),
        )

    [given] = recorded
    assert isinstance(given, ConsentGiven)
    assert given.consent_id == consent_id
    assert given.services == (services.skole.id, services.ppt.id)
    assert given.purpose == Sealed(b"samarbeid rundt overgang barnehage-skole")
    assert given.valid_until == days(90).date()
    assert given.form == "oral"  # oral consent counts when it is recorded
    assert case.consent_status(case.state.consents[consent_id], days(1).date()) == "active"


def test_a_consent_names_at_least_one_service(case, people, refused, days):
    with refused(case, errors.InvalidConsent, "invalid-consent"):
        register(case, people.opener, [], at=days(1))


def test_a_consent_cannot_end_before_the_day_it_is_given(case, people, services, refused, days):
    with refused(case, errors.InvalidConsent, "invalid-consent"):
        register(case, people.opener, [services.skole], until=days(0).date(), at=days(1))


def test_a_consent_cannot_reach_a_service_outside_the_child_s_municipality(
    case, people, services, refused, days
):
    with refused(case, errors.ServiceNotInMunicipality, "service-not-in-municipality"):
        register(case, people.opener, [services.neighbour_school], at=days(1))


def test_a_consent_may_reach_an_inter_municipal_service_that_serves_the_child_s_municipality(
    case, people, services, days
):
    register(case, people.opener, [services.ppt], at=days(1))

    assert case.has_access(services.ppt.id, days(1).date())


def test_only_a_service_taking_part_records_a_consent(case, people, services, refused, days):
    with refused(case, errors.NotParticipant, "not-participant"):
        register(case, people.teacher, [services.skole], at=days(1))


# --- who consents ------------------------------------------------------------------------


def test_the_default_youth_consent_age_is_16():
    assert DEFAULT_YOUTH_CONSENT_AGE == 16
    assert required_consenter(15, DEFAULT_YOUTH_CONSENT_AGE) == "guardian"
    assert required_consenter(16, DEFAULT_YOUTH_CONSENT_AGE) == "child"


@pytest.mark.parametrize(
    ("on", "age"),
    [
        pytest.param(date(2026, 3, 1), 15, id="the day before the 16th birthday: 15"),
        pytest.param(date(2026, 3, 2), 16, id="on the 16th birthday: 16"),
        pytest.param(date(2027, 3, 1), 16, id="the day before the 17th birthday: 16"),
    ],
)
def test_a_child_is_a_year_older_on_the_birthday_itself(on, age):
    assert age_on(date(2010, 3, 2), on) == age


def test_a_child_born_on_29_february_turns_a_year_older_on_1_march():
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


WHO_CONSENTS = [
    # child_age, youth_consent_age of the municipality, who consents
    pytest.param(0, 16, "guardian", id="a baby: the guardians"),
    pytest.param(15, 16, "guardian", id="15, municipality says 16: the guardians"),
    pytest.param(16, 16, "child", id="16, municipality says 16: the young person"),
    pytest.param(17, 16, "child", id="17, municipality says 16: the young person"),
    pytest.param(14, 15, "guardian", id="14, municipality says 15: the guardians"),
    pytest.param(15, 15, "child", id="15, municipality says 15: the young person"),
    pytest.param(None, 16, "guardian", id="age unknown: the guardians"),
    pytest.param(None, 15, "guardian", id="age unknown, municipality says 15: the guardians"),
]


@pytest.mark.parametrize(("child_age", "youth_consent_age", "consenter"), WHO_CONSENTS)
def test_the_one_with_the_right_to_consent_for_the_child_s_age_consents(
    case, people, services, days, child_age, youth_consent_age, consenter
):
    consent_id = register(
        case, people.opener, [services.skole], at=days(1), given_by=consenter,
        child_age=child_age, youth_consent_age=youth_consent_age,
    )

    assert case.state.consents[consent_id].given_by == consenter


@pytest.mark.parametrize(("child_age", "youth_consent_age", "consenter"), WHO_CONSENTS)
def test_a_consent_from_someone_without_the_right_to_consent_is_refused(
    case, people, services, refused, days, child_age, youth_consent_age, consenter
):
    the_other = "child" if consenter == "guardian" else "guardian"

    with refused(case, errors.WrongConsenter, "wrong-consenter"):
        register(
            case, people.opener, [services.skole], at=days(1), given_by=the_other,
            child_age=child_age, youth_consent_age=youth_consent_age,
        )


@pytest.mark.parametrize("youth_consent_age", [11, 19])
def test_a_youth_consent_age_outside_12_to_18_is_a_mistake(
    case, people, services, refused, days, youth_consent_age
):
    with refused(case, errors.InvalidValue, "invalid-value"):
        register(
            case, people.opener, [services.skole], at=days(1), given_by="guardian",
            child_age=4, youth_consent_age=youth_consent_age,
        )


# --- withdrawal ------------------------------------------------------------------------------


def test_withdrawing_a_consent_ends_the_access_of_services_no_longer_covered(
    case, given, people, services, recording, days
):
    consent_id = given.taking_part(case, services.skole)

    with recording(case) as recorded:
        case.withdraw_consent(
            people.opener, consent_id=consent_id, reason=Sealed(b"foreldrene trekker"),
            at=days(5),
        )

    assert [type(e) for e in recorded] == [ConsentWithdrawn, ServiceLeft]
    left = recorded[1]
    assert (left.left_service, left.because_consent_ended) == (services.skole.id, True)
    assert services.skole.id not in case.participating_services
    assert not case.has_access(services.skole.id, days(5).date())
    assert case.consent_status(case.state.consents[consent_id], days(5).date()) == "withdrawn"


def test_after_withdrawal_the_service_cannot_be_brought_back_without_a_new_consent(
    case, given, people, services, refused, days
):
    consent_id = given.taking_part(case, services.skole)
    case.withdraw_consent(people.opener, consent_id=consent_id, reason=None, at=days(5))

    with refused(case, errors.ConsentRequired, "consent-required"):
        case.add_participant(people.opener, service=services.skole, at=days(6))


def test_withdrawing_a_consent_cancels_a_pending_handover_to_a_service_no_longer_covered(
    case, given, people, services, recording, days
):
    handover_id = given.handover_asked(case, to=people.teacher)
    [consent_id] = case.state.consents

    with recording(case) as recorded:
        case.withdraw_consent(people.opener, consent_id=consent_id, reason=None, at=days(2))

    [cancelled] = [e for e in recorded if isinstance(e, HandoverCancelled)]
    assert (cancelled.handover_id, cancelled.because_consent_ended) == (handover_id, True)
    assert case.state.pending_handover is None
    assert case.state.holder_service == services.barnehage.id


def test_withdrawing_a_consent_releases_a_koordinator_from_a_service_no_longer_covered(
    case, given, people, services, recording, days
):
    consent_id = given.consent(case, services.helsestasjon)
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon, at=days(1)
    )

    with recording(case) as recorded:
        case.withdraw_consent(people.opener, consent_id=consent_id, reason=None, at=days(2))

    [released] = [e for e in recorded if isinstance(e, CoordinatorReleased)]
    assert (released.coordinator_user, released.because_consent_ended) == (people.nurse.user, True)
    assert case.state.coordinator is None
    assert services.helsestasjon.id not in case.participating_services


def test_a_service_that_leaves_because_consent_ended_leaves_the_responsibility_group(
    case, given, people, services, days
):
    school_consent = given.consent(case, services.skole)
    given.consent(case, services.helsestasjon)
    case.establish_responsibility_group(
        people.opener, services=[services.skole, services.helsestasjon], at=days(1)
    )

    case.withdraw_consent(people.opener, consent_id=school_consent, reason=None, at=days(2))

    assert case.state.responsibility_group == (services.helsestasjon.id,)


def test_a_service_still_covered_by_another_consent_keeps_its_access(
    case, given, people, services, recording, days
):
    first = given.taking_part(case, services.skole)
    given.consent(case, services.skole, services.ppt)

    with recording(case) as recorded:
        case.withdraw_consent(people.opener, consent_id=first, reason=None, at=days(2))

    assert [type(e) for e in recorded] == [ConsentWithdrawn]
    assert services.skole.id in case.participating_services


def test_the_service_that_opened_the_case_keeps_its_access_when_every_consent_ends(
    case, given, people, services, recording, days
):
    consent_id = given.consent(case, services.barnehage, services.skole)
    case.add_participant(people.opener, service=services.skole, at=days(1))

    with recording(case) as recorded:
        case.withdraw_consent(people.opener, consent_id=consent_id, reason=None, at=days(2))

    left = [e.left_service for e in recorded if isinstance(e, ServiceLeft)]
    assert left == [services.skole.id]
    assert case.participating_services == [services.barnehage.id]
    assert case.has_access(services.barnehage.id, days(2).date())


def test_the_opening_service_keeps_its_access_after_handing_over_the_baton(
    case, given, people, services, recording, days
):
    handover_id = given.handover_asked(case, to=people.teacher, at=days(1))
    case.accept_handover(people.teacher, handover_id=handover_id, at=days(2))
    [school_consent] = case.state.consents  # covers the school, not the kindergarten

    with recording(case) as recorded:
        case.withdraw_consent(people.teacher, consent_id=school_consent, reason=None, at=days(3))

    assert not [e for e in recorded if isinstance(e, ServiceLeft)]
    assert case.has_access(services.barnehage.id, days(3).date())
    assert services.barnehage.id in case.participating_services


def test_a_withdrawn_consent_cannot_be_withdrawn_again(case, given, people, services, refused,
                                                      days):
    consent_id = given.consent(case, services.skole)
    case.withdraw_consent(people.opener, consent_id=consent_id, reason=None, at=days(1))

    with refused(case, errors.ConsentNotActive, "consent-not-active"):
        case.withdraw_consent(people.opener, consent_id=consent_id, reason=None, at=days(2))


# --- expiry, and the clock ------------------------------------------------------------------


def test_a_consent_valid_until_a_day_is_active_on_that_day_and_expired_the_day_after(
    case, given, services, days
):
    consent_id = given.consent(case, services.skole, until=days(10).date())
    consent = case.state.consents[consent_id]

    assert case.has_access(services.skole.id, days(10).date())
    assert case.consent_status(consent, days(10).date()) == "active"
    assert not case.has_access(services.skole.id, days(11).date())
    assert case.consent_status(consent, days(11).date()) == "expired"


def test_expiry_is_recorded_only_once_the_last_day_has_passed(
    case, given, services, recording, days
):
    consent_id = given.taking_part(case, services.skole, until=days(10).date())

    with recording(case) as recorded:
        assert case.expire_consents(days(10)) == []
    assert recorded == []

    with recording(case) as recorded:
        assert case.expire_consents(days(11)) == [consent_id]
    assert [type(e) for e in recorded] == [ConsentExpired, ServiceLeft]
    assert recorded[1].because_consent_ended is True
    assert case.state.consents[consent_id].status == "expired"


def test_expiry_ends_access_like_withdrawal(case, given, people, services, recording, days):
    given.consent(case, services.skole, services.helsestasjon, until=days(10).date())
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon, at=days(1)
    )
    handover_id = case.request_handover(
        people.opener, to_user=people.teacher.user, to_service=services.skole, at=days(2)
    )

    with recording(case) as recorded:
        case.expire_consents(days(11))

    kinds = [type(e) for e in recorded]
    assert kinds == [ConsentExpired, HandoverCancelled, CoordinatorReleased, ServiceLeft]
    assert recorded[1].handover_id == handover_id
    assert all(e.because_consent_ended for e in recorded[1:])
    assert recorded[3].left_service == services.helsestasjon.id
    assert case.state.pending_handover is None
    assert case.state.coordinator is None
    assert case.participating_services == [services.barnehage.id]


@pytest.mark.parametrize("year", [2001, 2090], ids=["long past", "far future"])
def test_the_domain_never_reads_the_clock(given, services, people, year):
    """Whatever today is, only the `at` argument decides whether a consent is active."""
    opened = datetime(year, 1, 1, 9, 0, tzinfo=UTC)
    last_day = datetime(year, 1, 31, 15, 0, tzinfo=UTC)
    day_after = datetime(year, 2, 1, 8, 0, tzinfo=UTC)
    case = given.open_case(at=opened)
    given.consent(case, services.skole, until=last_day.date(), at=opened)

    case.add_participant(people.opener, service=services.skole, at=last_day)
    assert case.expire_consents(last_day) == []
    assert case.has_access(services.skole.id, last_day.date())

    assert len(case.expire_consents(day_after)) == 1
    assert not case.has_access(services.skole.id, day_after.date())
    assert services.skole.id not in case.participating_services


# --- days are Norwegian days --------------------------------------------------------


def test_a_consent_covers_its_last_day_until_midnight_in_norway(case, given, people, services,
                                                               refused):
    """Valid until 31 December: at 23:30 that evening in Norway (22:30 UTC) the school is
    brought in; at 00:30 on 1 January in Norway (still 31 December in UTC) it is not."""
    given.consent(case, services.skole, until=date(2026, 12, 31))
    late_evening = datetime(2026, 12, 31, 22, 30, tzinfo=UTC)
    after_midnight = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    with refused(case, errors.ConsentRequired, "consent-required"):
        case.add_participant(people.opener, service=services.skole, at=after_midnight)
    case.add_participant(people.opener, service=services.skole, at=late_evening)

    assert services.skole.id in case.state.participants
