"""The demo's staff survey: two rounds in Lyngdal (LEADERS_IN), a year apart, answered
by most of the staff of its own services and closed, so that an evaluator finds
results and a comparison under *Innføring av BTI*.

Drawn from a random stream of its own, after the cases and the trainings. The later
round's Levels of Use lie higher, and each driver goes with the level (a unit far
along tends to agree that it has had training and support), as the implementation
research reports; the figures are invented."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from domain.survey import DRIVERS, RESULT_ITEMS, SurveyAnswer
from stafettlogg.application import Stafettlogg
from stafettlogg.demo.training import LEADERS_IN
from stafettlogg.demo.world import END, _World

# (first day, last day, the mean Levels of Use of its answers)
ROUNDS = ((date(2025, 9, 1), date(2025, 9, 21), 3.4), (date(2026, 9, 7), date(2026, 9, 27), 4.6))
RESPONSE = 0.8  # how likely a person is to answer


def _answer(rng: random.Random, centre: float) -> SurveyAnswer:
    level = min(8, max(1, round(rng.gauss(centre, 1.3))))

    def rating(pull: float) -> int | None:
        if rng.random() < 0.08:
            return None  # vet ikke
        return min(4, max(1, round(1 + (level - 1) * pull * 3 / 7 + rng.gauss(0.6, 0.8))))

    return SurveyAnswer(level_of_use=level,
                        drivers={d: rating(0.4 + 0.5 * rng.random()) for d in DRIVERS},
                        results={r: rating(0.5) for r in RESULT_ITEMS})


def run_surveys(app: Stafettlogg, world: _World, seed: int) -> int:
    """Open, answer and close the demo's rounds; how many answers were given."""
    rng = random.Random(seed * 104729 + 31)
    services = [s.id for s in world.services.values() if s.municipalities == (LEADERS_IN,)]
    answered = 0
    for first, last, centre in ROUNDS:
        opened = datetime(first.year, first.month, first.day, 8, tzinfo=END.tzinfo)
        if opened > END:
            continue
        survey = app.open_survey_round(world.admin, municipality=LEADERS_IN, services=services,
                                       opens_on=first, closes_on=last, at=opened)
        for service in services:
            codes = app.issue_survey_codes(world.admin, survey.id, service=service, at=opened)
            for n, code in enumerate(codes):
                if rng.random() < RESPONSE:
                    app.answer_survey(code, _answer(rng, centre),
                                      at=opened + timedelta(days=n % 14, hours=n % 7))
                    answered += 1
        app.close_survey_round(world.admin, survey.id,
                               at=datetime(last.year, last.month, last.day, 16,
                                           tzinfo=END.tzinfo))
    return answered
