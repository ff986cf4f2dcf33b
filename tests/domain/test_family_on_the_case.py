"""The family on the case (brief, section 2): the guardians (foresatte) and what is kept
from them.

The holder records the child's guardians: a name and a relation, and the fødselsnummer,
kept only sealed and as a keyed blind index, by which the guardian is found again when
they sign in. A person is recorded once. Removing a guardian is an event too. From 12 a
child can ask that an entry is kept from the guardians: a worker on the case marks it,
with a reason; below 12, or with no known age, that is refused. Nothing is recorded by
a refused command.
"""

from __future__ import annotations

import pytest

from domain import errors
from domain.events import EntryWithheld, GuardianRecorded, GuardianRemoved
from domain.values import Sealed

NAME = Sealed(b"forseglet navn")
NUMBER = Sealed(b"forseglet nummer")


def record(case, by, *, login="hmac-av-mor", relation="mother"):
    return case.record_guardian(by, name=NAME, relation=relation, national_id=NUMBER,
                                login=login, at=case.state.opened_at)


def test_the_holder_records_a_guardian_with_the_number_sealed_and_as_a_blind_index(case, people):
    guardian_id = record(case, people.opener)
    (event,) = [e for e in case.pending_events if isinstance(e, GuardianRecorded)]
    assert event.guardian_id == guardian_id
    assert event.name == NAME and event.national_id == NUMBER and event.login == "hmac-av-mor"
    assert case.guardian_of("hmac-av-mor").relation == "mother"


def test_a_guardian_without_a_number_can_be_recorded_but_not_found_at_sign_in(case, people):
    guardian_id = case.record_guardian(people.opener, name=NAME, relation="father",
                                       national_id=None, login=None, at=case.state.opened_at)
    assert case.state.guardians[guardian_id].login is None


def test_only_the_holder_records_guardians(case, people, refused):
    with refused(case, errors.NotHolder, "not-holder"):
        record(case, people.opener_colleague)


def test_one_person_is_recorded_once(case, people, refused):
    record(case, people.opener)
    with refused(case, errors.GuardianExists, "guardian-exists"):
        record(case, people.opener, relation="other")
    record(case, people.opener, login="hmac-av-far", relation="father")  # another person
    assert len(case.state.guardians) == 2


def test_the_relation_is_one_of_the_known(case, people, refused):
    with refused(case, errors.InvalidValue, "invalid-value"):
        record(case, people.opener, relation="onkel")


def test_removing_a_guardian_is_an_event_and_they_are_no_longer_found(case, people, refused):
    guardian_id = record(case, people.opener)
    case.remove_guardian(people.opener, guardian_id=guardian_id, at=case.state.opened_at)
    assert any(isinstance(e, GuardianRemoved) for e in case.pending_events)
    assert case.guardian_of("hmac-av-mor") is None
    with refused(case, errors.NotFound, "not-found"):
        case.remove_guardian(people.opener, guardian_id=guardian_id, at=case.state.opened_at)
    record(case, people.opener)  # and can be recorded again


def test_a_closed_case_takes_no_guardians(case, people, given, refused):
    given.closed(case)
    with refused(case, errors.CaseClosed, "case-closed"):
        record(case, people.opener)


@pytest.mark.parametrize("age", [12, 15])
def test_from_12_an_entry_can_be_kept_from_the_guardians(case, people, age):
    entry = case.add_entry(people.opener, kind="conversation", text=Sealed(b"samtale"),
                           at=case.state.opened_at)
    case.withhold_entry(people.opener, entry_id=entry, reason=Sealed(b"barnet ba om det"),
                        child_age=age, at=case.state.opened_at)
    (event,) = [e for e in case.pending_events if isinstance(e, EntryWithheld)]
    assert event.entry_id == entry and case.state.withheld == [entry]
    # Asking twice records nothing new.
    case.withhold_entry(people.opener, entry_id=entry, reason=Sealed(b"igjen"), child_age=age,
                        at=case.state.opened_at)
    assert len([e for e in case.pending_events if isinstance(e, EntryWithheld)]) == 1


@pytest.mark.parametrize("age", [11, None])
def test_below_12_or_without_a_known_age_nothing_is_kept_from_the_guardians(case, people,
                                                                           refused, age):
    entry = case.add_entry(people.opener, kind="note", text=Sealed(b"notat"),
                           at=case.state.opened_at)
    with refused(case, errors.ChildTooYoung, "child-too-young") as raised:
        case.withhold_entry(people.opener, entry_id=entry, reason=Sealed(b"grunn"),
                            child_age=age, at=case.state.opened_at)
    assert "12 år" in raised.value.message


def test_only_a_worker_on_the_case_marks_an_entry_and_only_one_of_the_case(case, people,
                                                                         refused):
    entry = case.add_entry(people.opener, kind="note", text=Sealed(b"notat"),
                           at=case.state.opened_at)
    with refused(case, errors.NotParticipant, "not-participant"):
        case.withhold_entry(people.teacher, entry_id=entry, reason=Sealed(b"grunn"),
                            child_age=13, at=case.state.opened_at)
    with refused(case, errors.NotFound, "not-found"):
        case.withhold_entry(people.opener, entry_id=case.id, reason=Sealed(b"grunn"),
                            child_age=13, at=case.state.opened_at)


# --- what the family sees (domain/access.py) --------------------------------------------

from domain.access import family_role, family_sees_entry, family_sees_step  # noqa: E402


def test_a_recorded_guardian_reads_the_case_whatever_the_childs_age():
    assert family_role(is_guardian=True, is_the_child=False, child_age=4,
                       youth_consent_age=16) == "guardian"


@pytest.mark.parametrize(("age", "role"), [(15, None), (16, "child"), (17, "child"),
                                           (None, None)])
def test_the_young_person_reads_their_own_case_from_the_youth_consent_age(age, role):
    assert family_role(is_guardian=False, is_the_child=True, child_age=age,
                       youth_consent_age=16) == role


def test_anyone_else_reads_nothing():
    assert family_role(is_guardian=False, is_the_child=False, child_age=17,
                       youth_consent_age=16) is None


def test_a_guardian_sees_neither_a_withheld_entry_nor_that_something_was_withheld():
    assert not family_sees_entry("guardian", withheld=True)
    assert family_sees_entry("guardian", withheld=False)
    assert not family_sees_step("guardian", "entry-withheld")
    assert not family_sees_step("guardian", "withhold-entry")  # the access log's line
    assert family_sees_entry("child", withheld=True) and family_sees_step("child", "entry-withheld")


# --- the family's own steps, signed in with ID-porten ---------------------------------

from domain.events import ConsentGiven, ConsentWithdrawn, EntryAdded, HandoverCancelled  # noqa: E402
from domain.events import SatisfactionAnswered, ServiceLeft  # noqa: E402
from domain.values import Actor  # noqa: E402

CHILD = Actor(user="barnet", roles=frozenset({"child"}))


def as_guardian(case, people) -> Actor:
    guardian_id = record(case, people.opener)
    return Actor(user=f"foresatt-{guardian_id}", roles=frozenset({"guardian"}))


def test_a_guardian_gives_consent_digitally_for_a_young_child(case, people, services):
    mona = as_guardian(case, people)
    consent_id = case.give_consent(mona, services=[services.skole], purpose=Sealed(b"overgang"),
                                   valid_until=case.state.opened_at.date().replace(year=2027),
                                   child_age=5, youth_consent_age=16, at=case.state.opened_at)
    (given,) = [e for e in case.pending_events if isinstance(e, ConsentGiven)]
    assert (given.consent_id, given.form, given.given_by) == (consent_id, "digital", "guardian")
    assert case.has_access(services.skole.id, case.state.opened_at.date())


def test_from_the_youth_consent_age_the_young_person_consents_not_the_guardian(
        case, people, services, refused):
    mona = as_guardian(case, people)
    until = case.state.opened_at.date().replace(year=2027)
    with refused(case, errors.WrongConsenter, "wrong-consenter"):
        case.give_consent(mona, services=[services.skole], purpose=Sealed(b"x"),
                          valid_until=until, child_age=16, youth_consent_age=16,
                          at=case.state.opened_at)
    case.give_consent(CHILD, services=[services.skole], purpose=Sealed(b"x"),
                      valid_until=until, child_age=16, youth_consent_age=16,
                      at=case.state.opened_at)


def test_withdrawing_a_consent_online_ends_access_and_cancels_a_handover_to_that_service(
        case, people, services, given):
    mona = as_guardian(case, people)
    consent_id = case.give_consent(mona, services=[services.skole], purpose=Sealed(b"x"),
                                   valid_until=case.state.opened_at.date().replace(year=2027),
                                   child_age=5, youth_consent_age=16, at=case.state.opened_at)
    case.add_participant(people.opener, service=services.skole, at=case.state.opened_at)
    case.request_handover(people.opener, to_user=people.teacher.user, to_service=services.skole,
                          at=case.state.opened_at)
    case.withdraw_own_consent(mona, consent_id=consent_id, at=case.state.opened_at)
    kinds = {type(e) for e in case.pending_events}
    assert {ConsentWithdrawn, ServiceLeft, HandoverCancelled} <= kinds
    assert case.state.pending_handover is None
    assert not case.has_access(services.skole.id, case.state.opened_at.date())


def test_a_guardian_cannot_withdraw_the_young_persons_own_consent(case, people, services,
                                                                  refused):
    mona = as_guardian(case, people)
    own = case.give_consent(CHILD, services=[services.skole], purpose=Sealed(b"x"),
                            valid_until=case.state.opened_at.date().replace(year=2027),
                            child_age=16, youth_consent_age=16, at=case.state.opened_at)
    with refused(case, errors.Forbidden, "forbidden"):
        case.withdraw_own_consent(mona, consent_id=own, at=case.state.opened_at)


def test_a_removed_guardian_can_do_nothing_more(case, people, refused):
    mona = as_guardian(case, people)
    case.remove_guardian(people.opener, guardian_id=case.guardian_of("hmac-av-mor").id,
                         at=case.state.opened_at)
    with refused(case, errors.Forbidden, "forbidden"):
        case.add_family_note(mona, text=Sealed(b"notat"), at=case.state.opened_at)


def test_the_family_writes_a_note_and_answers_the_satisfaction_question(case, people, refused):
    mona = as_guardian(case, people)
    entry_id = case.add_family_note(mona, text=Sealed(b"Takk for praten."), at=case.state.opened_at)
    case.answer_satisfaction(CHILD, score=5, at=case.state.opened_at)
    note = next(e for e in case.pending_events if isinstance(e, EntryAdded))
    answer = next(e for e in case.pending_events if isinstance(e, SatisfactionAnswered))
    assert (note.entry_id, note.kind, note.user, note.service) == (entry_id, "note", mona.user, None)
    assert (answer.respondent, answer.score) == ("child", 5)
    with refused(case, errors.InvalidValue, "invalid-value"):
        case.answer_satisfaction(mona, score=6, at=case.state.opened_at)
