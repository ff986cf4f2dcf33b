"""The staff survey's results and the activity indicators over HTTP, protected
(docs/api.md, "Survey results"): for admins, and for the evaluators (and, for the
survey, the unit leaders) of the municipality. The figures are worked out and hidden
by the application (projections/survey_results.py, projections/training.py): a
hidden figure is `null`. A round's results are shown once it is closed (409
`survey-results-not-ready` before)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from projections.survey_results import Correlation, Driver, GroupResult, Item, Levels
from domain.calendar import day_of
from stafettlogg.survey_commands import SurveyResults, SurveyRoundView
from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import documented
from stafettlogg.web.api.schemas import (
    ActivityIndicatorOut,
    ActivityIndicatorsOut,
    CorrelationOut,
    DriverOut,
    GroupResultOut,
    LevelsOut,
    ResultItemOut,
    SurveyComparisonOut,
    SurveyResultsOut,
    SurveyResultsRoundListOut,
    SurveyResultsRoundOut,
)
from stafettlogg.web.deps import App, Caller, off_loop

RoundId = FromPath[UUID]
RoundQuery = Annotated[UUID, QueryParameter(description="id of a closed round")]


def round_out(view: SurveyRoundView, minimum: int) -> SurveyResultsRoundOut:
    """The round without its per-service counts (a unit's count may be hidden); its
    total only from `minimum` answers, as the municipality's group."""
    answered = view.answered
    return SurveyResultsRoundOut(
        id=view.id, municipality=view.municipality, opens_on=view.opens_on,
        closes_on=view.closes_on, invited=view.invited,
        answered=None if 0 < answered < minimum else answered)


def _levels(x: Levels | None) -> LevelsOut | None:
    return None if x is None else LevelsOut(counts=x.counts, median=x.median, modes=x.modes,
                                            mean=x.mean)


def _correlation(c: Correlation | None) -> CorrelationOut | None:
    return None if c is None else CorrelationOut(rho=c.rho, n=c.n, p_value=c.p_value,
                                                 exact=c.exact, low=c.low, high=c.high)


def _driver(d: Driver | None) -> DriverOut | None:
    return None if d is None else DriverOut(counts=d.counts, dont_know=d.dont_know,
                                            correlation=_correlation(d.correlation))


def _item(i: Item | None) -> ResultItemOut | None:
    return None if i is None else ResultItemOut(good=i.good, answered=i.answered,
                                                dont_know=i.dont_know, share=i.share,
                                                low=i.low, high=i.high)


def group_out(g: GroupResult) -> GroupResultOut:
    return GroupResultOut(
        sector=g.sector, service=g.service, invited=g.invited, answered=g.answered,
        response_rate=g.response_rate, levels=_levels(g.levels),
        drivers={code: _driver(d) for code, d in g.drivers.items()},
        results={code: _item(i) for code, i in g.results.items()})


def results_out(r: SurveyResults) -> SurveyResultsOut:
    return SurveyResultsOut(round=round_out(r.round, r.minimum), minimum=r.minimum,
                            groups=[group_out(g) for g in r.groups])


class SurveyResultsController(Controller):
    path = "/v1"
    tags = ["implementering"]
    security = BEARER

    @get("/survey-results", summary="Avsluttede undersøkelser med resultater",
         responses=documented(401, 403, 429))
    async def list_rounds(self, app: App, actor: Caller) -> SurveyResultsRoundListOut:
        """The closed rounds whose results the caller may read, the newest first."""
        rounds = await off_loop(app.survey_rounds_for_results, actor)
        minimum = app.settings.survey_min_answers
        return SurveyResultsRoundListOut(items=[round_out(r, minimum) for r in rounds])

    @get("/survey-results/compare", summary="To undersøkelser i samme kommune side om side",
         responses=documented(400, 401, 403, 404, 409, 429))
    async def compare(self, app: App, actor: Caller, first: RoundQuery,
                      second: RoundQuery) -> SurveyComparisonOut:
        """The two rounds' results, the earlier first. Two rounds of different
        municipalities, or the same round twice, is a 400 naming `second`."""
        c = await off_loop(app.compare_survey_rounds, actor, first, second)
        return SurveyComparisonOut(earlier=results_out(c.earlier), later=results_out(c.later))

    @get("/survey-results/{round_id:uuid}", summary="Resultatene av en undersøkelse",
         responses=documented(401, 403, 404, 409, 429))
    async def read(self, app: App, actor: Caller, round_id: RoundId) -> SurveyResultsOut:
        """The municipality first, then each sector followed by its units; `null` is a
        hidden figure. 409 `survey-results-not-ready` while the round is not closed."""
        return results_out(await off_loop(app.survey_results, actor, round_id))

    @get("/activity-indicators", summary="Aktivitetsindikatorer (anonymisert)",
         responses=documented(400, 401, 403, 429))
    async def activity_indicators(
        self, app: App, actor: Caller,
        municipality: Annotated[str, QueryParameter(pattern=r"^[0-9]{4}$",
                                                    description="kommunenummer (4225)")],
        on: Annotated[date | None, QueryParameter(description="the day; default today")] = None,
    ) -> ActivityIndicatorsOut:
        """The activity indicators as at the end of `on`, protected like the survey's
        results: `null` where a figure is hidden."""
        day = on or day_of(app.clock())
        rows = await off_loop(app.activity_indicators, actor, municipality=municipality, on=day)
        return ActivityIndicatorsOut(
            municipality=municipality, on=day, minimum=app.settings.survey_min_answers,
            items=[ActivityIndicatorOut(
                municipality=s.municipality, sector=s.sector, service=s.service,
                indicator=s.indicator, numerator=s.numerator, denominator=s.denominator,
                share=(round(s.numerator / s.denominator, 4)
                       if s.numerator is not None and s.denominator else None))
                for s in rows])
