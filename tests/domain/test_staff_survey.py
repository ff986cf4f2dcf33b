"""The staff survey's rules, as docs/implementation.md states them: a round for a
municipality's services, codes kept only as hashes, one answer per code while the
round is open, and an answer that holds nothing of who gave it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from domain import errors
from domain.services import ServiceInfo
from domain.survey import (
    DRIVERS,
    RESULT_ITEMS,
    CodeNotValid,
    RoundNotOpen,
    SurveyAnswer,
    SurveyAnswered,
    SurveyRound,
)
from domain.values import Actor

NOW = datetime(2026, 9, 1, 10, 30, tzinfo=UTC)
ADMIN = Actor(user="admin-1", roles=frozenset({"admin"}))
SCHOOL = ServiceInfo(id="hauge-skole", name="Hauge skole", sector="skole",
                     municipalities=("4225",), inter_municipal=False)
PPT = ServiceInfo(id="ppt-lister", name="PPT Lister", sector="ppt",
                  municipalities=("4225", "4227"), inter_municipal=True)
ELSEWHERE = ServiceInfo(id="kvinesdal-skole", name="Kvinesdal skole", sector="skole",
                        municipalities=("4227",), inter_municipal=False)


def a_round(asks_role: bool = False) -> SurveyRound:
    survey = SurveyRound.open(ADMIN, token="K7QF", municipality="4225",
                              services=[SCHOOL, PPT], opens_on=NOW.date(),
                              closes_on=NOW.date() + timedelta(days=20),
                              asks_role=asks_role, at=NOW)
    survey.issue_codes(ADMIN, service="hauge-skole", code_hashes=["h1", "h2", "h3"], at=NOW)
    return survey


def answer(level: int = 5, role: str | None = None, **changes: int | None) -> SurveyAnswer:
    drivers = {d: 3 for d in DRIVERS}
    results = {r: 4 for r in RESULT_ITEMS}
    for key, value in changes.items():
        (drivers if key in DRIVERS else results)[key] = value
    return SurveyAnswer(level_of_use=level, drivers=drivers, results=results, role=role)


def test_only_an_admin_opens_a_round_of_the_municipality_s_own_services():
    with pytest.raises(errors.Forbidden):
        SurveyRound.open(Actor(user="kari", roles=frozenset({"worker"})), token="K7QF",
                         municipality="4225", services=[SCHOOL], opens_on=NOW.date(),
                         closes_on=NOW.date(), asks_role=False, at=NOW)
    with pytest.raises(errors.InvalidValue) as refused:
        SurveyRound.open(ADMIN, token="K7QF", municipality="4225", services=[ELSEWHERE],
                         opens_on=NOW.date(), closes_on=NOW.date(), asks_role=False, at=NOW)
    assert refused.value.field == "services"
    with pytest.raises(errors.InvalidValue) as refused:
        SurveyRound.open(ADMIN, token="K7QF", municipality="4225", services=[SCHOOL],
                         opens_on=NOW.date(), closes_on=NOW.date() - timedelta(days=1),
                         asks_role=False, at=NOW)
    assert refused.value.field == "closes_on"


def test_one_answer_per_code_while_the_round_is_open():
    survey = a_round()
    survey.answer("h1", answer(), at=NOW)
    with pytest.raises(CodeNotValid):
        survey.answer("h1", answer(), at=NOW)  # a second answer with the same code
    with pytest.raises(CodeNotValid):
        survey.answer("never-issued", answer(), at=NOW)
    with pytest.raises(RoundNotOpen):
        survey.answer("h2", answer(), at=NOW + timedelta(days=21))  # after its last day
    survey.close(ADMIN, NOW + timedelta(days=2))
    with pytest.raises(RoundNotOpen):
        survey.answer("h2", answer(), at=NOW + timedelta(days=3))
    assert survey.state.invited == {"hauge-skole": 3}
    assert survey.state.answered == {"hauge-skole": 1}


def test_an_answer_holds_its_service_and_sector_and_nothing_of_who_gave_it():
    survey = a_round()
    survey.answer("h2", answer(level=6, ressurser=None), at=NOW)
    used, answered = survey.collect_events()[-2:]
    assert isinstance(answered, SurveyAnswered)
    fields = msgspec.structs.asdict(answered)
    assert (fields["service"], fields["sector"], fields["level_of_use"]) == (
        "hauge-skole", "skole", 6)
    assert fields["drivers"]["ressurser"] is None  # vet ikke
    assert "h2" not in repr(answered) and "code" not in " ".join(fields)
    # Dated by the day only, so that the time cannot match it to anything.
    assert answered.timestamp == used.timestamp == datetime(2026, 9, 1, tzinfo=UTC)


def test_every_question_is_answered_or_vet_ikke_and_the_role_only_when_asked():
    survey = a_round()
    with pytest.raises(errors.InvalidValue) as refused:
        survey.answer("h1", answer(level=9), at=NOW)
    assert refused.value.field == "level_of_use"
    incomplete = answer()
    del incomplete.drivers["lederstotte"]
    with pytest.raises(errors.InvalidValue) as refused:
        survey.answer("h1", incomplete, at=NOW)
    assert refused.value.field == "drivers.lederstotte"
    with pytest.raises(errors.InvalidValue) as refused:
        survey.answer("h1", answer(**{"trygg-bekymring": 5}), at=NOW)
    assert refused.value.field == "results.trygg-bekymring"
    with pytest.raises(errors.InvalidValue):
        survey.answer("h1", answer(role="leder"), at=NOW)
    asking = a_round(asks_role=True)
    with pytest.raises(errors.InvalidValue) as refused:
        asking.answer("h1", answer(), at=NOW)
    assert refused.value.field == "role"
    asking.answer("h1", answer(role="leder"), at=NOW)
    # A refused answer used no code: the same code answers when it is right.
    survey.answer("h1", answer(), at=NOW)
