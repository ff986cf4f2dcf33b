"""The staff survey's results: the statistics agree with the thesis and with scipy,
and what is shown cannot be turned back into a small group's answers.

The attacker here is written again from the words of docs/implementation.md ("How
the results are protected"), with its own integer programs (HiGHS through highspy,
not the producer's scipy calls): from every figure a reader gets, and from the
sums (a sector is its units, the municipality its sectors), how small and how large
could a hidden figure be?
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from domain import errors
from domain.survey import DRIVERS, RESULT_ITEMS, ResultsNotReady, SurveyAnswer
from domain.values import Actor
from projections.survey_results import (
    ALL,
    GroupResult,
    levels_of,
    mean_to_one_decimal,
    spearman,
    wilson,
)
from stafettlogg.application import Stafettlogg
from tests.conftest import ADMIN, T0, MovableClock, register_services, settings_for
from tests.group_attacker import bounds

EVALUATOR = Actor(user="eva", roles=frozenset({"evaluator"}), municipalities=frozenset({"4225"}))
OTHER_EVALUATOR = Actor(user="erik", roles=frozenset({"evaluator"}),
                        municipalities=frozenset({"4227"}))


# --- the statistics --------------------------------------------------------------------


def test_the_thesis_table_5_3_gives_mean_4_2_and_mode_5() -> None:
    answered = [1, 2, 3, 11, 13, 0, 0, 1]  # respondents at levels 1..8
    values = [level for level, k in enumerate(answered, start=1) for _ in range(k)]
    levels = levels_of(values)
    assert levels.counts == answered
    assert mean_to_one_decimal(levels) == "4,2"
    assert levels.modes == [5]
    assert levels.median == 4.0


def test_spearman_with_ties_is_scipys_rho_p_value_and_interval() -> None:
    lou = [2, 4, 4, 5, 5, 5, 7]
    driver = [1, 3, 2, 3, 4, 3, 4]
    found = spearman(lou, driver)
    assert found is not None
    reference = stats.spearmanr(lou, driver)
    assert found.rho == pytest.approx(reference.statistic, abs=1e-12)
    # n = 7: every one of the 5,040 pairings, so the p-value is exact, and not the
    # t-approximation's.
    exact = stats.permutation_test(
        (driver,), lambda y: stats.spearmanr(lou, y).statistic,
        permutation_type="pairings", n_resamples=np.inf)
    assert found.exact and found.p_value == pytest.approx(exact.pvalue, abs=1e-12)
    assert found.p_value != pytest.approx(reference.pvalue, abs=1e-3)
    # The interval: Fisher's z of rho with standard error 1 / sqrt(n - 3).
    z, se = np.arctanh(found.rho), 1 / np.sqrt(len(lou) - 3)
    assert (found.low, found.high) == pytest.approx(
        (np.tanh(z - 1.959963984540054 * se), np.tanh(z + 1.959963984540054 * se)), abs=1e-9)


def test_spearman_on_a_larger_sample_samples_its_pairings_the_same_way_each_time() -> None:
    rng = random.Random(5)
    lou = [rng.randint(1, 8) for _ in range(20)]
    driver = [min(4, max(1, (v + rng.randint(-3, 3)) // 2)) for v in lou]
    first, second = spearman(lou, driver), spearman(lou, driver)
    assert first == second  # the same request, the same answer
    sampled = stats.permutation_test(
        (driver,), lambda y: stats.spearmanr(lou, y).statistic,
        permutation_type="pairings", n_resamples=9999, rng=np.random.default_rng(1))
    assert first is not None and abs(first.p_value - sampled.pvalue) < 0.02
    assert spearman([3, 3, 3, 3, 3], [1, 2, 3, 4, 1]) is None  # no variation, no rho


def test_the_wilson_interval_is_the_reference_value() -> None:
    # 8 of 10: 0.490 to 0.943 (Newcombe 1998, method 3; Wilson 1927).
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=5e-5)
    assert wilson(0, 10)[0] == 0


# --- the results of a round --------------------------------------------------------------

# Units of Lyngdal (4225) and how many answer in each.
UNITS = {"hauge-skole": 4, "lyngdal-skole": 7, "kvas-skole": 6,
         "bhg-solsikken": 8, "hs-lyngdal": 6}


@pytest.fixture
def app(data_dir: Path, clock: MovableClock) -> Stafettlogg:
    application = Stafettlogg(settings_for(data_dir), clock=clock)
    register_services(application)
    for service_id, name in (("lyngdal-skole", "Lyngdal ungdomsskole"),
                             ("kvas-skole", "Kvås skole")):
        application.register_service(ADMIN, service_id=service_id, name=name,
                                     sector="skole", municipalities=["4225"], at=T0)
    yield application
    application.close()


def varied(rng: random.Random) -> SurveyAnswer:
    level = rng.randint(2, 7)
    return SurveyAnswer(
        level_of_use=level,
        drivers={d: rng.choice([1, 2, 3, 4, None]) for d in DRIVERS},
        results={r: rng.choice([1, 2, 3, 4]) for r in RESULT_ITEMS})


def a_closed_round(app: Stafettlogg, clock: MovableClock, answers: dict[str, list[SurveyAnswer]]):
    today = clock.now.date()
    survey = app.open_survey_round(ADMIN, municipality="4225", services=list(answers),
                                   opens_on=today, closes_on=today + timedelta(days=7))
    for service, given in answers.items():
        codes = app.issue_survey_codes(ADMIN, survey.id, service=service, count=len(given) + 2)
        for code, answer in zip(codes, given, strict=False):
            app.answer_survey(code, answer)
    clock.now = clock.now + timedelta(days=8)
    return survey


def by_group(groups: list[GroupResult]) -> dict[tuple[str, str], GroupResult]:
    return {(g.sector, g.service): g for g in groups}


def test_results_wait_for_the_round_to_close_and_are_for_its_own_municipality(
        app: Stafettlogg, clock: MovableClock) -> None:
    survey = app.open_survey_round(ADMIN, municipality="4225", services=["hauge-skole"],
                                   opens_on=T0.date(), closes_on=T0.date() + timedelta(days=7))
    with pytest.raises(ResultsNotReady):
        app.survey_results(EVALUATOR, survey.id)  # answers still come in
    clock.now = clock.now + timedelta(days=8)
    assert app.survey_results(EVALUATOR, survey.id).round.id == survey.id
    with pytest.raises(errors.Forbidden):
        app.survey_results(OTHER_EVALUATOR, survey.id)
    from tests.conftest import KARI
    with pytest.raises(errors.Forbidden):
        app.survey_results(KARI, survey.id)  # a worker


def test_a_unit_with_four_answers_shows_nothing_and_cannot_be_worked_out(
        app: Stafettlogg, clock: MovableClock) -> None:
    rng = random.Random(3)
    survey = a_closed_round(app, clock, {s: [varied(rng) for _ in range(k)]
                                         for s, k in UNITS.items()})
    shown = app.survey_results(EVALUATOR, survey.id)
    groups = by_group(shown.groups)
    hauge = groups[("skole", "hauge-skole")]
    assert hauge.answered is None and hauge.levels is None
    assert all(v is None for v in (*hauge.drivers.values(), *hauge.results.values()))
    assert hauge.invited == 6  # the codes issued are no secret; the rate is hidden
    assert hauge.response_rate is None
    # The municipality and the other units are shown, with their response rate.
    town = groups[(ALL, ALL)]
    assert town.answered == 31 and town.invited == 31 + 2 * len(UNITS)
    assert groups[("barnehage", "bhg-solsikken")].answered == 8
    assert groups[("barnehage", "bhg-solsikken")].response_rate == pytest.approx(0.8)

    # The attacker: from every shown size and Levels of Use count and the sums.
    low, high = attack(shown.groups, ("skole", "hauge-skole"), "size")
    assert high >= 5 and high - low + 1 >= 5, (low, high)
    # No count of the unit's Levels of Use is pinned, but where nobody in the whole
    # sector chose that level (which the sector's own figures say).
    school = groups[("skole", ALL)]
    assert school.levels is not None
    for level in range(8):
        low, high = attack(shown.groups, ("skole", "hauge-skole"), level)
        assert high - low >= 1 or school.levels.counts[level] == 0, (level, low, high)


def test_a_small_unit_that_all_answered_alike_hides_that_question(
        app: Stafettlogg, clock: MovableClock) -> None:
    rng = random.Random(11)
    answers = {s: [varied(rng) for _ in range(k)] for s, k in UNITS.items()}
    item = next(iter(RESULT_ITEMS))
    # Everyone at the health station feels confident; at the kindergarten too (8 < 10).
    for service in ("hs-lyngdal", "bhg-solsikken"):
        answers[service] = [SurveyAnswer(a.level_of_use, a.drivers, {**a.results, item: 4})
                            for a in answers[service]]
    survey = a_closed_round(app, clock, answers)
    groups = by_group(app.survey_results(ADMIN, survey.id).groups)
    station = groups[("helsestasjon", "hs-lyngdal")]
    assert station.answered == 6 and station.levels is not None
    assert station.results[item] is None  # 100 % of 6: it would tell each one's answer
    assert station.results[next(r for r in RESULT_ITEMS if r != item)] is not None
    # Neither can it be worked out: some whole-number table agrees with every shown
    # figure and has someone at the station answering 1 or 2 to that item.
    shown = list(groups.values())
    low, _ = attack_item(shown, ("helsestasjon", "hs-lyngdal"), item)
    assert low < 6


def test_the_same_round_gives_the_same_results_and_two_rounds_compare(
        app: Stafettlogg, clock: MovableClock) -> None:
    rng = random.Random(7)
    first = a_closed_round(app, clock, {s: [varied(rng) for _ in range(k)]
                                        for s, k in UNITS.items()})
    again = app.survey_results(ADMIN, first.id)
    app.survey_results_cache.clear()
    assert app.survey_results(ADMIN, first.id) == again
    second = a_closed_round(app, clock, {s: [varied(rng) for _ in range(k + 1)]
                                         for s, k in UNITS.items()})
    compared = app.compare_survey_rounds(EVALUATOR, second.id, first.id)
    assert (compared.earlier.round.id, compared.later.round.id) == (first.id, second.id)
    later_town = by_group(compared.later.groups)[(ALL, ALL)]
    assert later_town.answered == 36 and later_town.levels is not None
    assert sum(later_town.levels.counts) == 36
    with pytest.raises(errors.InvalidValue):
        app.compare_survey_rounds(EVALUATOR, first.id, first.id)


# --- what the attacker gets --------------------------------------------------------------


def _parents(groups: list[GroupResult]) -> dict[tuple[str, str], tuple[str, str] | None]:
    return {(g.sector, g.service): None if g.sector == ALL else (
        (ALL, ALL) if g.service == ALL else (g.sector, ALL)) for g in groups}


def attack(groups: list[GroupResult], target: tuple[str, str], column: str | int):
    """min and max of the target's size, or of its count at a level (0-7)."""
    return bounds(_parents(groups), {(g.sector, g.service): g.answered for g in groups},
                  {(g.sector, g.service): g.levels.counts if g.levels else None for g in groups},
                  target, column)


def attack_item(groups: list[GroupResult], target: tuple[str, str], item: str):
    """min and max of the target's answers 3 or 4 to `item` (categories: 1-2, 3-4,
    "vet ikke")."""
    def figure(g: GroupResult):
        shown = g.results.get(item)
        if shown is None or g.answered is None:
            return None
        return [shown.answered - shown.good, shown.good, shown.dont_know]
    return bounds(_parents(groups), {(g.sector, g.service): g.answered for g in groups},
                  {(g.sector, g.service): figure(g) for g in groups}, target, 1)
