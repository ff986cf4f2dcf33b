"""The stafettholder and the handover of the baton (brief, section 1).

"The baton stays with the current holder until the next holder has accepted it":
an open case always has exactly one holder, which changes only when the named
recipient accepts. At most one handover waits for an answer at a time. Only the
holder or a coordinator of the case's municipality asks; only the recipient accepts
or declines; only the one who asked, or a coordinator, takes the request back.
"""

from __future__ import annotations

import copy

import pytest

from domain import errors
from domain.events import (
    HandoverAccepted,
    HandoverCancelled,
    HandoverDeclined,
    HandoverRequested,
)
from domain.values import Actor, Sealed


def holder(case):
    return (case.state.holder_user, case.state.holder_service)


# --- who holds the baton ------------------------------------------------------------


def test_the_worker_who_opens_a_case_holds_the_baton(case, people):
    assert case.is_open
    assert holder(case) == (people.opener.user, people.opener.service)


def test_a_handover_stays_pending_until_the_recipient_accepts(case, given, people, days):
    handover_id = given.handover_asked(case, to=people.teacher, at=days(1))

    assert holder(case) == (people.opener.user, people.opener.service)
    pending = case.state.pending_handover
    assert (pending.id, pending.to_user, pending.to_service) == (
        handover_id, people.teacher.user, people.teacher.service,
    )

    case.accept_handover(people.teacher, handover_id=handover_id, at=days(3))

    assert holder(case) == (people.teacher.user, people.teacher.service)
    assert case.state.pending_handover is None


def test_accepting_records_who_handed_over_and_brings_the_new_service_into_the_case(
    case, given, people, services, recording, days
):
    handover_id = given.handover_asked(case, to=people.teacher)

    with recording(case) as recorded:
        case.accept_handover(people.teacher, handover_id=handover_id, at=days(3))

    [accepted] = recorded
    assert isinstance(accepted, HandoverAccepted)
    assert (accepted.from_user, accepted.from_service) == (
        people.opener.user, services.barnehage.id,
    )
    assert (accepted.user, accepted.service) == (people.teacher.user, services.skole.id)
    assert services.skole.id in case.participating_services


def test_a_handover_moves_the_baton_and_nothing_else(case, given, people, services, days):
    given.taking_part(case, services.helsestasjon, services.ppt)
    given.decided(case)
    case.change_level(people.opener, level=3, reason=Sealed(b"sammensatt"), at=days(1))
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon, at=days(1)
    )
    case.establish_responsibility_group(people.opener, services=[services.ppt], at=days(1))
    case.start_individual_plan(people.opener, at=days(1))
    handover_id = given.handover_asked(case, to=people.teacher, at=days(2))
    before = copy.deepcopy(case.state)

    case.accept_handover(people.teacher, handover_id=handover_id, at=days(3))

    after = case.state
    assert (after.level, after.coordinator, after.responsibility_group, after.individual_plan,
            after.consents) == (before.level, before.coordinator, before.responsibility_group,
                                before.individual_plan, before.consents)
    assert set(after.participants) == set(before.participants) | {services.skole.id}


def test_the_holder_does_not_hand_the_baton_to_themself(case, people, services, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.request_handover(
            people.opener, to_user=people.opener.user, to_service=services.barnehage, at=days(1)
        )


def test_the_former_holder_no_longer_acts_as_holder_after_the_handover(
    case, given, people, services, refused, days
):
    handover_id = given.handover_asked(case, to=people.teacher)
    case.accept_handover(people.teacher, handover_id=handover_id, at=days(1))

    with refused(case, errors.NotHolder, "not-holder"):
        case.request_handover(
            people.opener, to_user=people.opener_colleague.user,
            to_service=services.barnehage, at=days(2),
        )


def test_when_the_recipient_declines_the_holder_keeps_the_baton(
    case, given, people, recording, days
):
    handover_id = given.handover_asked(case, to=people.teacher)

    with recording(case) as recorded:
        case.decline_handover(
            people.teacher, handover_id=handover_id, reason=Sealed(b"ikke kapasitet"),
            at=days(1),
        )

    assert [type(e) for e in recorded] == [HandoverDeclined]
    assert holder(case) == (people.opener.user, people.opener.service)
    assert case.state.pending_handover is None


def test_when_the_request_is_taken_back_the_holder_keeps_the_baton(case, given, people, days):
    handover_id = given.handover_asked(case, to=people.teacher)

    case.cancel_handover(people.opener, handover_id=handover_id, at=days(1))

    assert holder(case) == (people.opener.user, people.opener.service)
    assert case.state.pending_handover is None


def test_an_answered_handover_cannot_be_answered_again(case, given, people, refused, days):
    handover_id = given.handover_asked(case, to=people.teacher)
    case.decline_handover(people.teacher, handover_id=handover_id, reason=None, at=days(1))

    with refused(case, errors.NoPendingHandover, "no-pending-handover"):
        case.accept_handover(people.teacher, handover_id=handover_id, at=days(2))


# --- at most one pending handover ---------------------------------------------------


def test_a_case_has_at_most_one_pending_handover(case, given, people, services, refused, days):
    given.handover_asked(case, to=people.teacher)
    given.consent(case, services.helsestasjon)

    with refused(case, errors.HandoverPending, "handover-pending"):
        case.request_handover(
            people.opener, to_user=people.nurse.user, to_service=services.helsestasjon,
            at=days(1),
        )


def test_once_a_handover_is_answered_a_new_one_may_be_asked(case, given, people, recording, days):
    first = given.handover_asked(case, to=people.teacher)
    case.decline_handover(people.teacher, handover_id=first, reason=None, at=days(1))

    with recording(case) as recorded:
        given.handover_asked(case, to=people.nurse, at=days(2))

    assert HandoverRequested in [type(e) for e in recorded]
    assert case.state.pending_handover.to_user == people.nurse.user


# --- who asks --------------------------------------------------------------------------


def test_only_the_holder_asks_for_a_handover(case, given, people, services, refused, days):
    given.taking_part(case, services.skole)

    with refused(case, errors.NotHolder, "not-holder"):
        case.request_handover(
            people.teacher, to_user=people.teacher.user, to_service=services.skole,
            at=days(1),
        )


def test_a_colleague_of_the_holder_in_the_same_service_does_not_ask(
    case, people, services, refused, days
):
    with refused(case, errors.NotHolder, "not-holder"):
        case.request_handover(
            people.opener_colleague, to_user=people.opener_colleague.user,
            to_service=services.barnehage, at=days(1),
        )


def test_a_coordinator_of_the_case_municipality_may_ask_for_a_handover(
    case, given, people, services, days
):
    given.consent(case, services.skole)

    handover_id = case.request_handover(
        people.coordinator, to_user=people.teacher.user, to_service=services.skole,
        at=days(1),
    )

    assert case.state.pending_handover.id == handover_id
    # a coordinator reassigns, but still only by a handover the recipient accepts
    assert holder(case) == (people.opener.user, people.opener.service)
    case.accept_handover(people.teacher, handover_id=handover_id, at=days(2))
    assert holder(case) == (people.teacher.user, people.teacher.service)


def test_a_coordinator_of_another_municipality_may_not_ask_for_a_handover(
    case, given, people, services, refused, days
):
    given.consent(case, services.skole)

    with refused(case, errors.NotHolder, "not-holder"):
        case.request_handover(
            people.neighbour_coordinator, to_user=people.teacher.user,
            to_service=services.skole, at=days(1),
        )


def test_the_appointed_koordinator_without_the_coordinator_role_does_not_ask_for_a_handover(
    case, given, people, services, refused, days
):
    given.consent(case, services.helsestasjon, services.skole)
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon,
        at=days(1),
    )
    assert "coordinator" not in people.nurse.roles

    with refused(case, errors.NotHolder, "not-holder"):
        case.request_handover(
            people.nurse, to_user=people.teacher.user, to_service=services.skole,
            at=days(2),
        )


# --- who answers ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["teacher_colleague", "opener", "coordinator"])
def test_only_the_named_recipient_accepts_a_handover(case, given, people, refused, who, days):
    handover_id = given.handover_asked(case, to=people.teacher)

    with refused(case, errors.NotRecipient, "not-recipient"):
        case.accept_handover(getattr(people, who), handover_id=handover_id, at=days(1))

    assert holder(case) == (people.opener.user, people.opener.service)


@pytest.mark.parametrize("who", ["teacher_colleague", "opener", "coordinator"])
def test_only_the_named_recipient_declines_a_handover(case, given, people, refused, who, days):
    handover_id = given.handover_asked(case, to=people.teacher)

    with refused(case, errors.NotRecipient, "not-recipient"):
        case.decline_handover(
            getattr(people, who), handover_id=handover_id, reason=None, at=days(1)
        )

    assert case.state.pending_handover.id == handover_id


def test_the_recipient_is_a_person_in_a_service_not_the_same_user_elsewhere(
    case, given, people, services, refused, days
):
    handover_id = given.handover_asked(case, to=people.teacher)
    same_user_other_service = Actor(
        user=people.teacher.user, service=services.helsestasjon.id,
        roles=people.teacher.roles, municipalities=people.teacher.municipalities,
    )

    with refused(case, errors.NotRecipient, "not-recipient"):
        case.accept_handover(same_user_other_service, handover_id=handover_id, at=days(1))


# --- who takes a request back --------------------------------------------------------


def test_the_one_who_asked_may_cancel_the_handover(case, given, people, recording, days):
    handover_id = given.handover_asked(case, to=people.teacher)

    with recording(case) as recorded:
        case.cancel_handover(people.opener, handover_id=handover_id, at=days(1))

    assert [type(e) for e in recorded] == [HandoverCancelled]
    assert recorded[0].because_consent_ended is False


def test_a_coordinator_of_the_case_municipality_may_cancel_a_handover(case, given, people, days):
    handover_id = given.handover_asked(case, to=people.teacher)

    case.cancel_handover(people.coordinator, handover_id=handover_id, at=days(1))

    assert case.state.pending_handover is None


@pytest.mark.parametrize("who", ["teacher", "opener_colleague", "neighbour_coordinator"])
def test_nobody_else_cancels_a_handover(case, given, people, refused, who, days):
    handover_id = given.handover_asked(case, to=people.teacher)

    with refused(case, errors.NotRequester, "not-requester"):
        case.cancel_handover(getattr(people, who), handover_id=handover_id, at=days(1))


# --- handover and consent, handover and municipality ----------------------------------


def test_a_handover_to_another_service_needs_a_consent_that_covers_it(
    case, people, services, refused, days
):
    with refused(case, errors.ConsentRequired, "consent-required"):
        case.request_handover(
            people.opener, to_user=people.teacher.user, to_service=services.skole,
            at=days(1),
        )


def test_a_handover_within_the_opening_service_needs_no_consent(case, people, services, days):
    handover_id = case.request_handover(
        people.opener, to_user=people.opener_colleague.user, to_service=services.barnehage,
        at=days(1),
    )
    case.accept_handover(people.opener_colleague, handover_id=handover_id, at=days(2))

    assert holder(case) == (people.opener_colleague.user, services.barnehage.id)


def test_a_handover_never_goes_to_a_service_outside_the_child_s_municipality(
    case, people, services, refused, days
):
    with refused(case, errors.ServiceNotInMunicipality, "service-not-in-municipality"):
        case.request_handover(
            people.opener, to_user=people.neighbour_teacher.user,
            to_service=services.neighbour_school, at=days(1),
        )


def test_a_handover_may_go_to_an_inter_municipal_service_that_serves_the_child_s_municipality(
    case, given, people, services, days
):
    handover_id = given.handover_asked(case, to=people.psychologist)
    case.accept_handover(people.psychologist, handover_id=handover_id, at=days(1))

    assert holder(case) == (people.psychologist.user, services.ppt.id)


def test_a_handover_cannot_be_accepted_once_the_consent_covering_the_recipient_has_expired(
    case, given, people, services, refused, days
):
    given.consent(case, services.skole, until=days(10).date())
    handover_id = case.request_handover(
        people.opener, to_user=people.teacher.user, to_service=services.skole, at=days(10),
    )

    with refused(case, errors.ConsentRequired, "consent-required"):
        case.accept_handover(people.teacher, handover_id=handover_id, at=days(11))


def test_ending_a_consent_never_leaves_an_open_case_without_a_holder(
    case, given, people, services, days
):
    consent_id = given.consent(case, services.skole)
    handover_id = case.request_handover(
        people.opener, to_user=people.teacher.user, to_service=services.skole, at=days(1)
    )
    case.accept_handover(people.teacher, handover_id=handover_id, at=days(2))

    case.withdraw_consent(people.teacher, consent_id=consent_id, reason=None, at=days(3))

    assert holder(case) == (people.teacher.user, services.skole.id)
    assert services.skole.id in case.participating_services


def test_a_service_that_leaves_takes_its_pending_handover_with_it(
    case, given, people, services, recording, days
):
    given.taking_part(case, services.skole)
    handover_id = given.handover_asked(case, to=people.teacher, at=days(1))

    with recording(case) as recorded:
        case.remove_participant(people.opener, service_id=services.skole.id, at=days(2))

    assert [type(e).__name__ for e in recorded] == ["HandoverCancelled", "ServiceLeft"]
    assert recorded[0].handover_id == handover_id
    assert case.state.pending_handover is None
    assert holder(case) == (people.opener.user, people.opener.service)
