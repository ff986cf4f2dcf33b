"""The life of one stafettlogg, from opening to closing (brief, section 1).

The log is append-only (a correction is a new entry pointing at the old one);
services join and leave; a coordinator of the municipality appoints the koordinator;
level-3 tools (ansvarsgruppe, individuell plan) come and go; meetings, actions with
a responsible service and an evaluation date, evaluations and satisfaction answers
are recorded; the holder closes the case, and a closed case refuses every change.
No case crosses municipalities except through a service that serves both. A case
rebuilt from its events, or from a snapshot and the events after it, is the same case.
"""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from types import SimpleNamespace
from uuid import uuid4

import msgspec
import pytest

from domain import errors
from domain.case import Case, CaseSnapshot
from domain.events import (
    ActionAgreed,
    ActionEvaluated,
    CaseOpened,
    CoordinatorAppointed,
    CoordinatorReleased,
    EntryAdded,
    IndividualPlanEnded,
    IndividualPlanStarted,
    MeetingHeld,
    ResponsibilityGroupDissolved,
    ResponsibilityGroupEstablished,
    SatisfactionAnswered,
    ServiceJoined,
    ServiceLeft,
)
from domain.events import CaseClosed as CaseClosedEvent
from domain.values import Actor, Sealed

TEXT = Sealed(b"forseglet tekst")


def open_case_as(actor, service, municipality, at):
    return Case.open(
        actor, case_id=uuid4(), child_id=uuid4(), service=service, municipality=municipality,
        age_band="6-12", child_name=Sealed(b"navn"), birth_date=None, national_id=None,
        concern=Sealed(b"bekymring"), at=at,
    )


# --- opening ---------------------------------------------------------------------------


def test_a_case_opens_at_level_0_with_the_opener_as_holder_and_owner(
    given, people, services, home, t0
):
    case = given.open_case(at=t0)

    [opened] = case.pending_events
    assert isinstance(opened, CaseOpened)
    assert (opened.municipality, opened.sector, opened.service) == (
        home, "barnehage", services.barnehage.id,
    )
    assert opened.concern == Sealed(b"undring: trekker seg unna i lek")
    assert case.is_open and case.state.level == 0 and case.version == 1
    assert case.state.participants[services.barnehage.id].role == "owner"


def test_a_worker_opens_cases_only_for_their_own_service(people, services, home, t0):
    with pytest.raises(errors.NotParticipant) as refused:
        open_case_as(people.teacher, services.barnehage, home, t0)
    assert refused.value.code == "not-participant"


def test_a_case_opens_only_through_a_service_that_serves_the_child_s_municipality(
    people, services, neighbour, t0
):
    with pytest.raises(errors.ServiceNotInMunicipality) as refused:
        open_case_as(people.opener, services.barnehage, neighbour, t0)
    assert refused.value.code == "service-not-in-municipality"


@pytest.mark.parametrize("municipality", ["4225", "4227"])
def test_an_inter_municipal_service_opens_cases_in_each_municipality_it_serves(
    people, services, t0, municipality
):
    case = open_case_as(people.psychologist, services.ppt, municipality, t0)

    assert case.state.municipality == municipality


def test_a_worker_opens_cases_only_in_municipalities_they_act_for(
    people, services, home, neighbour, t0
):
    psychologist_for_lyngdal_only = Actor(
        user=people.psychologist.user, service=services.ppt.id,
        roles=frozenset({"worker"}), municipalities=frozenset({home}),
    )

    with pytest.raises(errors.NotAuthorised) as refused:
        open_case_as(psychologist_for_lyngdal_only, services.ppt, neighbour, t0)
    assert refused.value.code == "not-authorised"


# --- the log: append-only, corrections --------------------------------------------------


def test_log_entries_are_appended_in_the_order_they_are_written(case, people, recording, days):
    with recording(case) as recorded:
        ids = [
            case.add_entry(people.opener, kind=kind, text=TEXT, at=days(n))
            for n, kind in enumerate(["observation", "conversation", "positive"])
        ]

    assert [(type(e), e.kind, e.entry_id) for e in recorded] == [
        (EntryAdded, "observation", ids[0]),
        (EntryAdded, "conversation", ids[1]),
        (EntryAdded, "positive", ids[2]),
    ]
    assert case.state.entries == ids
    assert len(set(ids)) == 3


def test_a_correction_is_a_new_entry_that_points_at_the_old_one(case, people, recording, days):
    original = case.add_entry(people.opener, kind="observation", text=Sealed(b"feil"), at=days(1))

    with recording(case) as recorded:
        correction = case.add_entry(
            people.opener, kind="observation", text=Sealed(b"rettet"), at=days(2),
            corrects=original,
        )

    [added] = recorded
    assert (added.entry_id, added.corrects, added.text) == (correction, original, Sealed(b"rettet"))
    assert case.state.entries == [original, correction]  # the original stays in the log


def test_a_correction_points_at_an_entry_of_the_same_case(case, people, refused, days):
    with refused(case, errors.NotFound, "not-found"):
        case.add_entry(people.opener, kind="note", text=TEXT, at=days(1), corrects=uuid4())


def test_the_log_has_no_command_that_changes_or_deletes_an_entry():
    # Keeping an entry from the guardians (tests/domain/test_family_on_the_case.py)
    # leaves it as it is: it records who may not see it.
    entry_commands = [n for n in dir(Case) if "entr" in n and not n.startswith("_")]
    assert entry_commands == ["add_entry", "withhold_entry"]


def test_an_entry_is_of_a_known_kind(case, people, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.add_entry(people.opener, kind="rykte", text=TEXT, at=days(1))


def test_only_services_taking_part_write_in_the_log(case, given, people, services, refused,
                                                   days):
    with refused(case, errors.NotParticipant, "not-participant"):
        case.add_entry(people.teacher, kind="observation", text=TEXT, at=days(1))

    given.taking_part(case, services.skole)
    case.add_entry(people.teacher, kind="observation", text=TEXT, at=days(2))


# --- services joining and leaving -----------------------------------------------------------


def test_a_service_with_consent_joins_the_case(case, given, people, services, recording, days):
    given.consent(case, services.skole)

    with recording(case) as recorded:
        case.add_participant(
            people.opener, service=services.skole, contact_user=people.teacher.user, at=days(1)
        )

    [joined] = recorded
    assert isinstance(joined, ServiceJoined)
    assert (joined.joined_service, joined.sector, joined.role, joined.contact_user) == (
        services.skole.id, "skole", "participant", people.teacher.user,
    )
    assert case.participating_services == [services.barnehage.id, services.skole.id]


def test_a_service_joins_a_case_only_once(case, given, people, services, refused, days):
    given.taking_part(case, services.skole)

    with refused(case, errors.AlreadyParticipant, "already-participant"):
        case.add_participant(people.opener, service=services.skole, at=days(1))


def test_only_the_holder_or_a_coordinator_brings_a_service_in(case, given, people, services,
                                                            refused, days):
    given.taking_part(case, services.skole)
    given.consent(case, services.helsestasjon)

    with refused(case, errors.NotHolder, "not-holder"):
        case.add_participant(people.teacher, service=services.helsestasjon, at=days(1))

    case.add_participant(people.coordinator, service=services.helsestasjon, at=days(1))
    assert services.helsestasjon.id in case.participating_services


def test_a_service_may_leave_the_case_on_its_own(case, given, people, services, recording,
                                                days):
    given.taking_part(case, services.skole)

    with recording(case) as recorded:
        case.remove_participant(people.teacher, service_id=services.skole.id, at=days(1))

    [left] = recorded
    assert isinstance(left, ServiceLeft)
    assert (left.left_service, left.because_consent_ended) == (services.skole.id, False)
    assert services.skole.id not in case.participating_services


def test_the_holder_may_take_a_service_out_of_the_case(case, given, people, services, days):
    given.taking_part(case, services.skole)

    case.remove_participant(people.opener, service_id=services.skole.id, at=days(1))

    assert services.skole.id not in case.participating_services


def test_a_service_does_not_take_another_service_out(case, given, people, services, refused,
                                                    days):
    given.taking_part(case, services.skole, services.helsestasjon)

    with refused(case, errors.NotHolder, "not-holder"):
        case.remove_participant(people.teacher, service_id=services.helsestasjon.id, at=days(1))


def test_the_holder_s_service_stays_until_the_baton_is_handed_over(case, people, services,
                                                                  refused, days):
    with refused(case, errors.HolderServiceCannotLeave, "holder-service-cannot-leave"):
        case.remove_participant(people.opener, service_id=services.barnehage.id, at=days(1))


def test_a_service_not_taking_part_cannot_leave(case, people, services, refused, days):
    with refused(case, errors.NotFound, "not-found"):
        case.remove_participant(people.opener, service_id=services.skole.id, at=days(1))


# --- the koordinator --------------------------------------------------------------------------


def test_a_coordinator_of_the_municipality_appoints_the_koordinator(
    case, given, people, services, recording, days
):
    given.consent(case, services.helsestasjon)

    with recording(case) as recorded:
        case.appoint_coordinator(
            people.coordinator, user=people.nurse.user, service=services.helsestasjon,
            at=days(1),
        )

    assert [type(e) for e in recorded] == [ServiceJoined, CoordinatorAppointed]
    assert recorded[0].role == "coordinator"
    assert (recorded[1].coordinator_user, recorded[1].coordinator_service) == (
        people.nurse.user, services.helsestasjon.id,
    )
    assert (case.state.coordinator.user, case.state.coordinator.service) == (
        people.nurse.user, services.helsestasjon.id,
    )


@pytest.mark.parametrize("who", ["opener", "neighbour_coordinator"])
def test_nobody_but_a_coordinator_of_the_municipality_appoints_the_koordinator(
    case, given, people, services, refused, days, who
):
    given.consent(case, services.helsestasjon)

    with refused(case, errors.NotAuthorised, "not-authorised"):
        case.appoint_coordinator(
            getattr(people, who), user=people.nurse.user, service=services.helsestasjon,
            at=days(1),
        )


def test_the_same_koordinator_is_not_appointed_twice(case, given, people, services, refused,
                                                     days):
    given.consent(case, services.helsestasjon)
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon, at=days(1)
    )

    with refused(case, errors.AlreadyInState, "already-in-state"):
        case.appoint_coordinator(
            people.coordinator, user=people.nurse.user, service=services.helsestasjon,
            at=days(2),
        )


def test_the_koordinator_is_released(case, given, people, services, recording, refused, days):
    given.consent(case, services.helsestasjon)
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon, at=days(1)
    )

    with recording(case) as recorded:
        case.release_coordinator(people.coordinator, at=days(2))

    [released] = recorded
    assert isinstance(released, CoordinatorReleased)
    assert (released.coordinator_user, released.because_consent_ended) == (people.nurse.user, False)
    assert case.state.coordinator is None
    with refused(case, errors.AlreadyInState, "already-in-state"):
        case.release_coordinator(people.coordinator, at=days(3))


# --- the responsibility group (ansvarsgruppe) ---------------------------------------------


def test_a_responsibility_group_brings_its_services_into_the_case(
    case, given, people, services, recording, days
):
    given.consent(case, services.skole, services.ppt)

    with recording(case) as recorded:
        case.establish_responsibility_group(
            people.opener, services=[services.skole, services.ppt], at=days(1)
        )

    assert [type(e) for e in recorded] == [
        ServiceJoined, ServiceJoined, ResponsibilityGroupEstablished,
    ]
    assert {e.role for e in recorded[:2]} == {"responsibility-group"}
    assert recorded[2].services == (services.skole.id, services.ppt.id)
    assert case.state.responsibility_group == (services.skole.id, services.ppt.id)
    assert {services.skole.id, services.ppt.id} <= set(case.participating_services)


def test_a_case_has_one_responsibility_group_at_a_time(case, given, people, services, refused,
                                                       recording, days):
    given.consent(case, services.skole)
    case.establish_responsibility_group(people.opener, services=[services.skole], at=days(1))

    with refused(case, errors.AlreadyInState, "already-in-state"):
        case.establish_responsibility_group(people.opener, services=[services.skole], at=days(2))

    with recording(case) as recorded:
        case.dissolve_responsibility_group(people.opener, at=days(3))
    assert [type(e) for e in recorded] == [ResponsibilityGroupDissolved]
    assert case.state.responsibility_group is None

    with refused(case, errors.AlreadyInState, "already-in-state"):
        case.dissolve_responsibility_group(people.opener, at=days(4))


def test_a_responsibility_group_has_at_least_one_service(case, people, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.establish_responsibility_group(people.opener, services=[], at=days(1))


def test_only_the_holder_or_a_coordinator_establishes_a_responsibility_group(
    case, given, people, services, refused, days
):
    given.taking_part(case, services.skole)

    with refused(case, errors.NotHolder, "not-holder"):
        case.establish_responsibility_group(people.teacher, services=[services.skole], at=days(1))

    case.establish_responsibility_group(people.coordinator, services=[services.skole], at=days(1))


def test_a_service_that_leaves_the_case_leaves_the_responsibility_group(
    case, given, people, services, days
):
    given.consent(case, services.skole, services.ppt)
    case.establish_responsibility_group(
        people.opener, services=[services.skole, services.ppt], at=days(1)
    )

    case.remove_participant(people.teacher, service_id=services.skole.id, at=days(2))

    assert case.state.responsibility_group == (services.ppt.id,)


# --- the individual plan ---------------------------------------------------------------------


def test_an_individual_plan_starts_and_ends(case, people, recording, days):
    with recording(case) as recorded:
        case.start_individual_plan(people.opener, at=days(1))
        assert case.state.individual_plan is True
        case.end_individual_plan(people.opener, at=days(2))

    assert [type(e) for e in recorded] == [IndividualPlanStarted, IndividualPlanEnded]
    assert case.state.individual_plan is False


def test_a_child_has_one_individual_plan(case, people, refused, days):
    case.start_individual_plan(people.opener, at=days(1))

    with refused(case, errors.AlreadyInState, "already-in-state"):
        case.start_individual_plan(people.coordinator, at=days(2))


def test_an_individual_plan_that_is_not_there_cannot_end(case, people, refused, days):
    with refused(case, errors.AlreadyInState, "already-in-state"):
        case.end_individual_plan(people.opener, at=days(1))


def test_only_the_holder_or_a_coordinator_starts_an_individual_plan(
    case, given, people, services, refused, days
):
    given.taking_part(case, services.skole)

    with refused(case, errors.NotHolder, "not-holder"):
        case.start_individual_plan(people.teacher, at=days(1))

    case.start_individual_plan(people.coordinator, at=days(1))
    assert case.state.individual_plan is True


# --- meetings --------------------------------------------------------------------------------


def test_a_meeting_is_recorded_with_its_services_and_minutes(case, given, people, services,
                                                            recording, days):
    given.consent(case, services.skole)

    with recording(case) as recorded:
        meeting_id = case.hold_meeting(
            people.opener, held_on=days(2).date(),
            services=[services.barnehage, services.skole, services.skole],
            minutes=Sealed(b"referat"), at=days(3),
        )

    [held] = recorded
    assert isinstance(held, MeetingHeld)
    assert (held.meeting_id, held.held_on, held.services, held.minutes) == (
        meeting_id, days(2).date(), (services.barnehage.id, services.skole.id),
        Sealed(b"referat"),
    )


def test_a_meeting_is_recorded_only_after_it_was_held(case, people, services, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.hold_meeting(
            people.opener, held_on=days(4).date(), services=[services.barnehage],
            minutes=TEXT, at=days(3),
        )


def test_a_meeting_has_at_least_one_service(case, people, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.hold_meeting(people.opener, held_on=days(1).date(), services=[], minutes=TEXT,
                          at=days(1))


def test_only_services_taking_part_record_a_meeting(case, people, services, refused, days):
    with refused(case, errors.NotParticipant, "not-participant"):
        case.hold_meeting(
            people.teacher, held_on=days(1).date(), services=[services.barnehage],
            minutes=TEXT, at=days(1),
        )


def test_a_meeting_does_not_bring_in_a_service_from_outside_the_municipality(
    case, people, services, refused, days
):
    with refused(case, errors.ServiceNotInMunicipality, "service-not-in-municipality"):
        case.hold_meeting(
            people.opener, held_on=days(1).date(),
            services=[services.barnehage, services.neighbour_school], minutes=TEXT, at=days(1),
        )


# --- actions (tiltak) and evaluations ---------------------------------------------------------


def test_an_action_has_a_responsible_service_and_an_evaluation_date(
    case, given, people, services, recording, days
):
    given.taking_part(case, services.skole)

    with recording(case) as recorded:
        action_id = case.agree_action(
            people.opener, description=Sealed(b"ekstra oppfolging"),
            responsible_service=services.skole, evaluate_by=days(30).date(), at=days(1),
        )

    [agreed] = recorded
    assert isinstance(agreed, ActionAgreed)
    assert (agreed.action_id, agreed.responsible_service, agreed.evaluate_by) == (
        action_id, services.skole.id, days(30).date(),
    )


def test_the_responsible_service_takes_part_in_the_case(case, given, people, services, refused,
                                                       days):
    given.consent(case, services.skole)

    with refused(case, errors.NotParticipant, "not-participant"):
        case.agree_action(
            people.opener, description=TEXT, responsible_service=services.skole,
            evaluate_by=days(30).date(), at=days(1),
        )


def test_an_evaluation_date_is_not_in_the_past(case, people, services, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.agree_action(
            people.opener, description=TEXT, responsible_service=services.barnehage,
            evaluate_by=days(0).date(), at=days(1),
        )


def agree(case, people, services, days):
    return case.agree_action(
        people.opener, description=TEXT, responsible_service=services.barnehage,
        evaluate_by=days(30).date(), at=days(1),
    )


@pytest.mark.parametrize(("on_day", "by_date"), [(29, True), (30, True), (31, False)])
def test_an_evaluation_records_whether_it_came_by_the_evaluation_date(
    case, people, services, recording, days, on_day, by_date
):
    action_id = agree(case, people, services, days)

    with recording(case) as recorded:
        case.evaluate_action(
            people.opener, action_id=action_id, outcome="continue", text=TEXT, at=days(on_day)
        )

    [evaluated] = recorded
    assert isinstance(evaluated, ActionEvaluated)
    assert (evaluated.action_id, evaluated.outcome) == (action_id, "continue")
    assert evaluated.evaluated_by_date is by_date


@pytest.mark.parametrize("outcome", ["continue", "adjusted"])
def test_an_action_that_goes_on_is_evaluated_again(case, people, services, days, outcome):
    action_id = agree(case, people, services, days)
    case.evaluate_action(people.opener, action_id=action_id, outcome=outcome, text=TEXT,
                         at=days(30))

    case.evaluate_action(people.opener, action_id=action_id, outcome="completed", text=TEXT,
                         at=days(60))

    assert case.state.actions[action_id].status == "completed"


@pytest.mark.parametrize("outcome", ["completed", "stopped"])
def test_a_completed_or_stopped_action_is_not_evaluated_again(case, people, services, refused,
                                                             days, outcome):
    action_id = agree(case, people, services, days)
    case.evaluate_action(people.opener, action_id=action_id, outcome=outcome, text=TEXT,
                         at=days(30))

    with refused(case, errors.ActionClosed, "action-closed"):
        case.evaluate_action(people.opener, action_id=action_id, outcome="continue", text=TEXT,
                             at=days(31))


def test_an_evaluation_has_a_known_outcome(case, people, services, refused, days):
    action_id = agree(case, people, services, days)

    with refused(case, errors.InvalidValue, "invalid-value"):
        case.evaluate_action(people.opener, action_id=action_id, outcome="tja", text=TEXT,
                             at=days(2))


def test_only_an_action_of_the_case_is_evaluated(case, people, refused, days):
    with refused(case, errors.NotFound, "not-found"):
        case.evaluate_action(people.opener, action_id=uuid4(), outcome="continue", text=TEXT,
                             at=days(2))


# --- satisfaction (brukertilfredshet) ------------------------------------------------------


@pytest.mark.parametrize(("respondent", "score"), [("guardian", 1), ("child", 5)])
def test_satisfaction_is_a_score_from_1_to_5_by_guardian_or_child(
    case, people, recording, days, respondent, score
):
    with recording(case) as recorded:
        case.record_satisfaction(people.opener, respondent=respondent, score=score, at=days(1))

    [answered] = recorded
    assert isinstance(answered, SatisfactionAnswered)
    assert (answered.respondent, answered.score) == (respondent, score)


@pytest.mark.parametrize("score", [0, 6, True, "3", 2.5])
def test_a_satisfaction_score_outside_1_to_5_is_refused(case, people, refused, days, score):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.record_satisfaction(people.opener, respondent="guardian", score=score, at=days(1))


def test_satisfaction_is_answered_by_a_guardian_or_the_child(case, people, refused, days):
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.record_satisfaction(people.opener, respondent="naboen", score=3, at=days(1))


# --- closing -----------------------------------------------------------------------------------


def test_the_holder_closes_the_case_with_a_reason(case, given, people, recording, days):
    given.decided(case)

    with recording(case) as recorded:
        case.close(people.opener, reason="moved-away", note=Sealed(b"flyttet"), at=days(5))

    [closed] = recorded
    assert isinstance(closed, CaseClosedEvent)
    assert (closed.reason, closed.level, closed.note) == ("moved-away", 0, Sealed(b"flyttet"))
    assert not case.is_open
    assert case.state.closed_at == days(5)


@pytest.mark.parametrize("who", ["teacher", "coordinator"])
def test_only_the_holder_closes_the_case(case, given, people, services, refused, days, who):
    given.decided(case)
    given.taking_part(case, services.skole)

    with refused(case, errors.NotHolder, "not-holder"):
        case.close(getattr(people, who), reason="concern-resolved", note=None, at=days(1))


def test_a_case_is_not_closed_at_level_0_before_the_decision(case, people, refused, days):
    with refused(case, errors.DecisionRequired, "decision-required"):
        case.close(people.opener, reason="concern-resolved", note=None, at=days(1))


def test_a_case_is_not_closed_while_a_handover_waits_for_an_answer(case, given, people, refused,
                                                                 days):
    given.decided(case)
    given.handover_asked(case, to=people.teacher)

    with refused(case, errors.HandoverPending, "handover-pending"):
        case.close(people.opener, reason="concern-resolved", note=None, at=days(1))


def test_a_case_closes_for_a_known_reason(case, given, people, refused, days):
    given.decided(case)

    with refused(case, errors.InvalidValue, "invalid-value"):
        case.close(people.opener, reason="lei av saken", note=None, at=days(1))


# --- a closed case refuses every change ----------------------------------------------------------


@pytest.fixture
def full_case(given, people, services, days):
    """A case at level 2 with something of everything in it, and the ids to refer to."""
    case = given.open_case()
    given.decided(case, at=days(1))
    consent_id = given.taking_part(case, services.skole, at=days(1))
    given.consent(case, services.helsestasjon, services.ppt, at=days(1))
    case.change_level(people.opener, level=2, reason=TEXT, at=days(2))
    entry_id = case.add_entry(people.teacher, kind="observation", text=TEXT, at=days(3))
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon, at=days(4)
    )
    case.establish_responsibility_group(
        people.opener, services=[services.skole, services.helsestasjon], at=days(5)
    )
    case.start_individual_plan(people.opener, at=days(6))
    case.hold_meeting(
        people.opener, held_on=days(7).date(), services=[services.barnehage, services.skole],
        minutes=TEXT, at=days(7),
    )
    action_id = case.agree_action(
        people.opener, description=TEXT, responsible_service=services.skole,
        evaluate_by=days(40).date(), at=days(8),
    )
    case.evaluate_action(people.teacher, action_id=action_id, outcome="adjusted", text=TEXT,
                         at=days(9))
    case.record_satisfaction(people.opener, respondent="guardian", score=4, at=days(10))
    guardian_id = case.record_guardian(people.opener, name=TEXT, relation="mother",
                                       national_id=None, login="blindindeks", at=days(10))
    declined = given.handover_asked(case, to=people.teacher, at=days(11))
    case.decline_handover(people.teacher, handover_id=declined, reason=None, at=days(12))
    handover_id = given.handover_asked(case, to=people.teacher, at=days(13))
    case.accept_handover(people.teacher, handover_id=handover_id, at=days(14))
    return SimpleNamespace(
        case=case, consent_id=consent_id, entry_id=entry_id, action_id=action_id,
        handover_id=handover_id, guardian_id=guardian_id,
    )


# Every command of a case, by name, each with arguments it would otherwise accept (or
# that fail only on a state a closed case can no longer leave, like a pending handover).
EVERY_CHANGE = {
    "add_entry": lambda c, x, p, s, at: c.add_entry(
        p.teacher, kind="note", text=TEXT, at=at, corrects=x.entry_id),
    "record_level0_step": lambda c, x, p, s, at: c.record_level0_step(
        p.teacher, step="vurdering", text=TEXT, at=at),
    "change_level": lambda c, x, p, s, at: c.change_level(
        p.teacher, level=1, reason=TEXT, at=at),
    "register_consent": lambda c, x, p, s, at: c.register_consent(
        p.teacher, given_by="guardian", services=[s.ppt], purpose=TEXT,
        valid_until=at.date(), form="oral", child_age=4, youth_consent_age=16, at=at),
    "withdraw_consent": lambda c, x, p, s, at: c.withdraw_consent(
        p.teacher, consent_id=x.consent_id, reason=None, at=at),
    "add_participant": lambda c, x, p, s, at: c.add_participant(
        p.teacher, service=s.ppt, at=at),
    "remove_participant": lambda c, x, p, s, at: c.remove_participant(
        p.opener, service_id=s.barnehage.id, at=at),
    "bring_in_by_law": lambda c, x, p, s, at: c.bring_in_by_law(
        p.teacher, service=s.helsestasjon, basis="avvergeplikt", reason=b"r", at=at),
    "request_handover": lambda c, x, p, s, at: c.request_handover(
        p.teacher, to_user=p.psychologist.user, to_service=s.ppt, at=at),
    "accept_handover": lambda c, x, p, s, at: c.accept_handover(
        p.teacher, handover_id=x.handover_id, at=at),
    "decline_handover": lambda c, x, p, s, at: c.decline_handover(
        p.teacher, handover_id=x.handover_id, reason=None, at=at),
    "cancel_handover": lambda c, x, p, s, at: c.cancel_handover(
        p.opener, handover_id=x.handover_id, at=at),
    "appoint_coordinator": lambda c, x, p, s, at: c.appoint_coordinator(
        p.coordinator, user=p.psychologist.user, service=s.ppt, at=at),
    "release_coordinator": lambda c, x, p, s, at: c.release_coordinator(
        p.coordinator, at=at),
    "establish_responsibility_group": lambda c, x, p, s, at: c.establish_responsibility_group(
        p.teacher, services=[s.ppt], at=at),
    "dissolve_responsibility_group": lambda c, x, p, s, at: c.dissolve_responsibility_group(
        p.teacher, at=at),
    "start_individual_plan": lambda c, x, p, s, at: c.start_individual_plan(
        p.teacher, at=at),
    "end_individual_plan": lambda c, x, p, s, at: c.end_individual_plan(p.teacher, at=at),
    "hold_meeting": lambda c, x, p, s, at: c.hold_meeting(
        p.teacher, held_on=at.date(), services=[s.skole], minutes=TEXT, at=at),
    "agree_action": lambda c, x, p, s, at: c.agree_action(
        p.teacher, description=TEXT, responsible_service=s.skole, evaluate_by=at.date(), at=at),
    "evaluate_action": lambda c, x, p, s, at: c.evaluate_action(
        p.teacher, action_id=x.action_id, outcome="completed", text=TEXT, at=at),
    "record_satisfaction": lambda c, x, p, s, at: c.record_satisfaction(
        p.teacher, respondent="child", score=5, at=at),
    "record_guardian": lambda c, x, p, s, at: c.record_guardian(
        p.teacher, name=TEXT, relation="father", national_id=None, login=None, at=at),
    "remove_guardian": lambda c, x, p, s, at: c.remove_guardian(
        p.teacher, guardian_id=x.guardian_id, at=at),
    "withhold_entry": lambda c, x, p, s, at: c.withhold_entry(
        p.teacher, entry_id=x.entry_id, reason=TEXT, child_age=13, at=at),
    "give_consent": lambda c, x, p, s, at: c.give_consent(
        mother(x), services=[s.ppt], purpose=TEXT, valid_until=at.date(), child_age=4,
        youth_consent_age=16, at=at),
    "withdraw_own_consent": lambda c, x, p, s, at: c.withdraw_own_consent(
        mother(x), consent_id=x.consent_id, at=at),
    "add_family_note": lambda c, x, p, s, at: c.add_family_note(mother(x), text=TEXT, at=at),
    "answer_satisfaction": lambda c, x, p, s, at: c.answer_satisfaction(
        mother(x), score=4, at=at),
    "close": lambda c, x, p, s, at: c.close(
        p.teacher, reason="concern-resolved", note=None, at=at),
}


def mother(x) -> Actor:
    """The guardian of the full case, signed in herself."""
    return Actor(user=f"foresatt-{x.guardian_id}", roles=frozenset({"guardian"}))


@pytest.mark.parametrize("change", EVERY_CHANGE.values(), ids=EVERY_CHANGE.keys())
def test_a_closed_case_refuses_every_change(full_case, people, services, refused, days, change):
    case = full_case.case
    case.close(people.teacher, reason="concern-resolved", note=None, at=days(20))

    with refused(case, errors.CaseClosed, "case-closed"):
        change(case, full_case, people, services, days(21))


def test_every_command_of_a_case_is_in_the_closed_case_test():
    readers = {"has_access", "is_taking_part", "consent_status", "level0_decision_overdue",
               "handover_waits_too_long", "quiet", "overdue_actions", "guardian_of",
               "lapsed_consents"}
    sweeps = {"expire_consents"}  # records nothing on a closed case, see below
    # The one command for a closed case only (tests/domain/test_erasure_rules.py).
    erasure = {"erase_child_data"}
    commands = {
        name for name, member in vars(Case).items()
        if inspect.isfunction(member) and not name.startswith("_")
    } - readers - sweeps - erasure
    assert commands == set(EVERY_CHANGE)


def test_consents_of_a_closed_case_no_longer_expire(full_case, people, recording, days):
    case = full_case.case
    case.close(people.teacher, reason="concern-resolved", note=None, at=days(20))

    with recording(case) as recorded:
        assert case.expire_consents(days(400)) == []
    assert recorded == []


# --- rebuilding a case ---------------------------------------------------------------------------


def test_rebuilding_a_case_from_its_events_gives_the_same_case(full_case):
    case = full_case.case

    rebuilt = Case.replay(case.pending_events)

    assert rebuilt.state == case.state
    assert (rebuilt.id, rebuilt.version, rebuilt.modified_on) == (
        case.id, case.version, case.modified_on,
    )
    assert rebuilt.pending_events == []  # rebuilding records nothing new


def test_rebuilding_from_a_stored_snapshot_and_the_later_events_gives_the_same_case(
    given, people, services, days
):
    case = given.open_case()
    given.taking_part(case, services.skole)
    stored = msgspec.json.encode(CaseSnapshot.take(case))
    before_snapshot = len(case.pending_events)
    given.decided(case, at=days(2))
    case.change_level(people.opener, level=2, reason=TEXT, at=days(3))
    given.handover_asked(case, to=people.teacher, at=days(4))

    snapshot = msgspec.json.decode(stored, type=CaseSnapshot)
    rebuilt = Case.replay([snapshot, *case.pending_events[before_snapshot:]])

    assert rebuilt.state == case.state
    assert rebuilt.version == case.version


def test_a_rebuilt_case_goes_on_following_the_rules(given, people, services, refused, days):
    case = given.open_case()
    given.handover_asked(case, to=people.teacher, at=days(1))

    rebuilt = Case.replay(case.pending_events)

    with refused(rebuilt, errors.HandoverPending, "handover-pending"):
        rebuilt.request_handover(
            people.opener, to_user=people.opener_colleague.user, to_service=services.barnehage,
            at=days(2),
        )


def test_a_snapshot_keeps_the_state_of_its_version_when_the_case_goes_on(
    given, people, days
):
    case = given.open_case()
    snapshot = CaseSnapshot.take(case)

    case.add_entry(people.opener, kind="note", text=TEXT, at=days(1))

    assert Case.replay([snapshot]).state.entries == []


def test_a_case_history_starts_with_its_opening(full_case):
    events = full_case.case.pending_events

    with pytest.raises(ValueError, match="must start with CaseOpened"):
        Case.replay(events[1:])


def test_events_are_applied_only_in_their_order(full_case):
    opened, first, second, *_ = full_case.case.pending_events

    with pytest.raises(ValueError, match="does not follow"):
        Case.replay([opened, second, first])


def test_time_is_the_recorded_time_of_each_event(given, people):
    then = datetime(2031, 7, 1, 12, 0, tzinfo=UTC)
    case = given.open_case(at=then)

    case.add_entry(people.opener, kind="note", text=TEXT, at=then)

    assert [e.timestamp for e in case.pending_events] == [then, then]
    assert case.modified_on == then


def test_when_the_koordinators_service_leaves_the_koordinator_is_released(
    case, given, people, services, recording, days
):
    given.consent(case, services.helsestasjon)
    case.appoint_coordinator(
        people.coordinator, user=people.nurse.user, service=services.helsestasjon, at=days(1)
    )

    with recording(case) as recorded:
        case.remove_participant(people.nurse, service_id=services.helsestasjon.id, at=days(2))

    assert [type(e).__name__ for e in recorded] == ["CoordinatorReleased", "ServiceLeft"]
    assert case.state.coordinator is None


def test_a_meeting_held_today_is_not_in_the_future_just_after_midnight_in_norway(
    case, people, services, recording,
):
    """At 00:30 on 3 March in Norway it is still 2 March in UTC: a meeting held on
    3 March is today's, and is recorded; one held on 4 March is not yet."""
    just_after_midnight = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)

    with recording(case) as recorded:
        case.hold_meeting(people.opener, held_on=date(2026, 3, 3),
                          services=[services.barnehage], minutes=TEXT, at=just_after_midnight)

    [held] = recorded
    assert held.held_on == date(2026, 3, 3)
    with pytest.raises(errors.InvalidValue):
        case.hold_meeting(people.opener, held_on=date(2026, 3, 4),
                          services=[services.barnehage], minutes=TEXT, at=just_after_midnight)
