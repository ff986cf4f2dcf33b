"""The staff survey over HTTP (docs/api.md, "Staff survey"): admins open a round, issue
its one-time codes (returned once, never stored, `Cache-Control: no-store`), read the
response rate and close it; `POST /api/v1/survey-answers` takes an answer without a
token, the code being the right to answer once (it is still rate limited)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody

from domain.survey import SurveyAnswer
from stafettlogg.survey_commands import SurveyRoundView
from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import documented
from stafettlogg.web.api.schemas import (
    SurveyAnswerIn,
    SurveyCodesIn,
    SurveyCodesOut,
    SurveyRoundIn,
    SurveyRoundListOut,
    SurveyRoundOut,
    SurveyServiceOut,
)
from stafettlogg.web.deps import App, Caller, off_loop, strictly

RoundId = FromPath[UUID]


def survey_round_out(view: SurveyRoundView) -> SurveyRoundOut:
    return SurveyRoundOut(
        id=view.id, municipality=view.municipality, opens_on=view.opens_on,
        closes_on=view.closes_on, asks_role=view.asks_role, status=view.status,  # type: ignore[arg-type]
        invited=view.invited, answered=view.answered,
        services=[SurveyServiceOut(service=s.service, name=s.name, sector=s.sector,
                                   invited=s.invited, answered=s.answered)
                  for s in view.services])


class SurveyController(Controller):
    path = "/v1"
    tags = ["undersøkelse"]

    @get("/survey-rounds", summary="Undersøkelsens runder", security=BEARER,
         responses=documented(401, 403, 429))
    async def list_rounds(self, app: App, actor: Caller) -> SurveyRoundListOut:
        rounds = await off_loop(app.survey_rounds, actor)
        return SurveyRoundListOut(items=[survey_round_out(r) for r in rounds])

    @post("/survey-rounds", status_code=201, summary="Opprett en runde", security=BEARER,
          responses=documented(400, 401, 403, 429))
    async def open_round(self, request: Request[Any, Any, Any], app: App, actor: Caller,
                         data: JSONBody[SurveyRoundIn]) -> SurveyRoundOut:
        data = await strictly(request, data)
        view = await off_loop(app.open_survey_round, actor, municipality=data.municipality,
                              services=data.services, opens_on=data.opens_on,
                              closes_on=data.closes_on, asks_role=data.asks_role)
        return survey_round_out(view)

    @get("/survey-rounds/{round_id:uuid}", summary="En runde med svarprosenten",
         security=BEARER, responses=documented(401, 403, 404, 429))
    async def read_round(self, app: App, actor: Caller, round_id: RoundId) -> SurveyRoundOut:
        return survey_round_out(await off_loop(app.survey_round, actor, round_id))

    @post("/survey-rounds/{round_id:uuid}/codes", status_code=201,
          summary="Lag engangskoder for en tjeneste", security=BEARER,
          responses=documented(400, 401, 403, 404, 409, 429))
    async def issue_codes(self, request: Request[Any, Any, Any], app: App, actor: Caller,
                          round_id: RoundId, data: JSONBody[SurveyCodesIn]
                          ) -> Response[SurveyCodesOut]:
        """The codes are in this answer only: they are not stored, and cannot be read
        again (`Cache-Control: no-store`). Without `count`, one code for each active
        staff member of the service."""
        data = await strictly(request, data)
        codes = await off_loop(app.issue_survey_codes, actor, round_id, service=data.service,
                               count=data.count)
        return Response(SurveyCodesOut(round_id=round_id, service=data.service, codes=codes),
                        status_code=201, headers={"Cache-Control": "no-store"})

    @post("/survey-rounds/{round_id:uuid}/close", status_code=200, summary="Avslutt en runde",
          security=BEARER, responses=documented(401, 403, 404, 429))
    async def close_round(self, app: App, actor: Caller, round_id: RoundId) -> SurveyRoundOut:
        return survey_round_out(await off_loop(app.close_survey_round, actor, round_id))

    @post("/survey-answers", status_code=204, summary="Svar på undersøkelsen med en kode",
          exclude_from_auth=True, responses=documented(400, 409, 429))
    async def answer(self, request: Request[Any, Any, Any], app: App,
                     data: JSONBody[SurveyAnswerIn]) -> None:
        """No token: the code is the right to answer once. A used or unknown code is a
        409 (`survey-code-not-valid`); so is an answer outside the round's period
        (`survey-round-not-open`)."""
        data = await strictly(request, data)
        await off_loop(app.answer_survey, data.code, SurveyAnswer(
            level_of_use=data.level_of_use, drivers=data.drivers, results=data.results,
            role=data.role))
