"""The four levels of a concern (brief, section 1).

Level 0 goes from wondering to a decision in four steps (vurdering, konkretisering,
deling, beslutning); a case leaves level 0 only once the decision step is recorded,
and in practice within 14 days. Level 1 is action inside one service, level 2 needs
at least two services taking part, level 3 at least three.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import errors
from domain.events import Level0StepRecorded, LevelChanged
from domain.values import LEVEL0_STEPS, Sealed

REASON = Sealed(b"begrunnelse")


def test_a_case_opens_at_level_0(case):
    assert case.state.level == 0
    assert not case.state.decision_recorded


def test_the_four_level_0_steps_are_vurdering_konkretisering_deling_beslutning():
    assert LEVEL0_STEPS == ("vurdering", "konkretisering", "deling", "beslutning")


def test_each_level_0_step_is_recorded_in_the_log(case, people, recording, days):
    with recording(case) as recorded:
        for n, step in enumerate(LEVEL0_STEPS):
            case.record_level0_step(people.opener, step=step, text=Sealed(b"tekst"), at=days(n))

    assert [(type(e), e.step) for e in recorded] == [
        (Level0StepRecorded, step) for step in LEVEL0_STEPS
    ]
    assert case.state.level0_steps == list(LEVEL0_STEPS)


# --- leaving level 0 -----------------------------------------------------------------


def test_leaving_level_0_needs_a_recorded_decision(case, people, refused, days):
    with refused(case, errors.DecisionRequired, "decision-required"):
        case.change_level(people.opener, level=1, reason=REASON, at=days(1))


def test_the_other_level_0_steps_are_not_a_decision(case, people, refused, days):
    for step in ("vurdering", "konkretisering", "deling"):
        case.record_level0_step(people.opener, step=step, text=Sealed(b"tekst"), at=days(1))

    with refused(case, errors.DecisionRequired, "decision-required"):
        case.change_level(people.opener, level=1, reason=REASON, at=days(2))


def test_after_the_decision_the_case_moves_to_level_1(case, given, people, recording, days):
    given.decided(case, at=days(3))

    with recording(case) as recorded:
        case.change_level(people.opener, level=1, reason=REASON, at=days(3))

    [changed] = recorded
    assert isinstance(changed, LevelChanged)
    assert (changed.from_level, changed.to_level, changed.reason) == (0, 1, REASON)
    assert case.state.level == 1


def test_a_case_that_returns_to_level_0_needs_a_new_decision_to_leave_it(
    case, given, people, refused, days
):
    given.decided(case)
    case.change_level(people.opener, level=1, reason=REASON, at=days(1))
    case.change_level(people.opener, level=0, reason=REASON, at=days(2))

    with refused(case, errors.DecisionRequired, "decision-required"):
        case.change_level(people.opener, level=1, reason=REASON, at=days(3))


def test_level_0_steps_belong_to_level_0(case, given, people, refused, days):
    given.decided(case)
    case.change_level(people.opener, level=1, reason=REASON, at=days(1))

    with refused(case, errors.WrongLevel, "wrong-level"):
        case.record_level0_step(people.opener, step="deling", text=Sealed(b"x"), at=days(2))


def test_a_level_0_step_is_one_of_the_four(case, people, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.record_level0_step(people.opener, step="synsing", text=Sealed(b"x"), at=days(1))


def test_a_level_0_decision_is_due_within_14_days(case, given):
    opened = case.state.opened_at.date()

    assert not case.level0_decision_overdue(opened + timedelta(days=14))
    assert case.level0_decision_overdue(opened + timedelta(days=15))

    given.decided(case)
    assert not case.level0_decision_overdue(opened + timedelta(days=15))


# --- how many services a level needs ----------------------------------------------------


def test_level_2_needs_at_least_two_services(case, given, people, refused, days):
    given.decided(case)

    with refused(case, errors.TooFewServices, "too-few-services"):
        case.change_level(people.opener, level=2, reason=REASON, at=days(1))


def test_with_two_services_taking_part_the_case_may_go_to_level_2(case, given, people, services,
                                                                 days):
    given.decided(case)
    given.taking_part(case, services.skole)

    case.change_level(people.opener, level=2, reason=REASON, at=days(1))

    assert case.state.level == 2


def test_level_3_needs_at_least_three_services(case, given, people, services, refused, days):
    given.decided(case)
    given.taking_part(case, services.skole)

    with refused(case, errors.TooFewServices, "too-few-services"):
        case.change_level(people.opener, level=3, reason=REASON, at=days(1))


def test_with_three_services_taking_part_the_case_may_go_to_level_3(case, given, people,
                                                                   services, days):
    given.decided(case)
    given.taking_part(case, services.skole, services.ppt)

    case.change_level(people.opener, level=3, reason=REASON, at=days(1))

    assert case.state.level == 3


def test_a_service_with_consent_that_has_not_joined_does_not_count(case, given, people,
                                                                 services, refused, days):
    given.decided(case)
    given.consent(case, services.skole)

    with refused(case, errors.TooFewServices, "too-few-services"):
        case.change_level(people.opener, level=2, reason=REASON, at=days(1))


@pytest.mark.parametrize("level", [2, 1])
def test_the_way_down_from_level_3_is_open(case, given, people, services, days, level):
    given.decided(case)
    given.taking_part(case, services.skole, services.ppt)
    case.change_level(people.opener, level=3, reason=REASON, at=days(1))

    case.change_level(people.opener, level=level, reason=REASON, at=days(2))

    assert case.state.level == level


# --- who changes the level, and to what --------------------------------------------------


def test_only_the_holder_changes_the_level(case, given, people, services, refused, days):
    given.decided(case)
    given.taking_part(case, services.skole)

    with refused(case, errors.NotHolder, "not-holder"):
        case.change_level(people.teacher, level=1, reason=REASON, at=days(1))


@pytest.mark.parametrize("level", [-1, 4])
def test_there_are_only_levels_0_to_3(case, given, people, refused, days, level):
    given.decided(case)

    with refused(case, errors.InvalidValue, "invalid-value"):
        case.change_level(people.opener, level=level, reason=REASON, at=days(1))


def test_changing_to_the_current_level_is_refused(case, people, refused, days):
    with refused(case, errors.AlreadyInState, "already-in-state"):
        case.change_level(people.opener, level=0, reason=REASON, at=days(1))
