"""The implementation plan over HTTP (docs/api.md, "The implementation plan"): admins
keep a municipality's plan (its rhythm and activities), unit leaders report the status
of their unit's activities per period, and both read the plan and the overview."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter, PathParameter

from domain.implementation_plan import ActivityDetails
from stafettlogg.plan_commands import ActivityView, PlanView
from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import documented
from stafettlogg.web.api.schemas import (
    PlanActivityIn,
    PlanActivityOut,
    PlanOut,
    PlanOverviewLineOut,
    PlanOverviewOut,
    PlanPeriod,
    PlanReportIn,
    PlanRhythmIn,
    PlanUnitsOut,
)
from stafettlogg.web.deps import App, Caller, off_loop, strictly

Municipality = Annotated[str, PathParameter(pattern=r"^[0-9]{4}$")]


def _activity_out(a: ActivityView) -> PlanActivityOut:
    return PlanActivityOut(id=a.id, title=a.title, responsible=a.responsible, due=a.due,
                           all_services=a.all_services, services=a.services)


def _plan_out(p: PlanView) -> PlanOut:
    return PlanOut(municipality=p.municipality, rhythm=p.rhythm,  # type: ignore[arg-type]
                   current_period=p.current_period,
                   activities=[_activity_out(a) for a in p.activities])


def _details(data: PlanActivityIn) -> ActivityDetails:
    return ActivityDetails(title=data.title, responsible=data.responsible, due=data.due,
                           all_services=data.all_services, services=tuple(data.services))


class ImplementationPlanController(Controller):
    path = "/v1/implementation-plans/{municipality:str}"
    tags = ["innføringsplan"]
    security = BEARER

    @get("", summary="Kommunens innføringsplan", responses=documented(400, 401, 403, 429))
    async def read(self, app: App, actor: Caller, municipality: Municipality) -> PlanOut:
        return _plan_out(await off_loop(app.implementation_plan, actor, municipality))

    @put("", summary="Velg hvor ofte planen rapporteres",
         responses=documented(400, 401, 403, 429))
    async def rhythm(self, request: Request[Any, Any, Any], app: App, actor: Caller,
                     municipality: Municipality, data: JSONBody[PlanRhythmIn]) -> PlanOut:
        data = await strictly(request, data)
        return _plan_out(await off_loop(app.set_plan_rhythm, actor, municipality, data.rhythm))

    @post("/activities", status_code=201, summary="Legg til en aktivitet i planen",
          responses=documented(400, 401, 403, 429))
    async def add(self, request: Request[Any, Any, Any], app: App, actor: Caller,
                  municipality: Municipality,
                  data: JSONBody[PlanActivityIn]) -> PlanActivityOut:
        data = await strictly(request, data)
        return _activity_out(await off_loop(app.add_plan_activity, actor, municipality,
                                            _details(data)))

    @put("/activities/{activity:uuid}", summary="Endre en aktivitet",
         responses=documented(400, 401, 403, 404, 429))
    async def change(self, request: Request[Any, Any, Any], app: App, actor: Caller,
                     municipality: Municipality, activity: FromPath[UUID],
                     data: JSONBody[PlanActivityIn]) -> PlanActivityOut:
        data = await strictly(request, data)
        return _activity_out(await off_loop(app.change_plan_activity, actor, municipality,
                                            activity, _details(data)))

    @delete("/activities/{activity:uuid}", status_code=204, summary="Fjern en aktivitet",
            responses=documented(400, 401, 403, 404, 429))
    async def remove(self, app: App, actor: Caller, municipality: Municipality,
                     activity: FromPath[UUID]) -> None:
        await off_loop(app.remove_plan_activity, actor, municipality, activity)

    @post("/reports", status_code=204, summary="Rapporter status for en aktivitet",
          responses=documented(400, 401, 403, 404, 429))
    async def report(self, request: Request[Any, Any, Any], app: App, actor: Caller,
                     municipality: Municipality, data: JSONBody[PlanReportIn]) -> None:
        """A unit leader's status of an activity for their own service and a period of
        the plan's rhythm; a new report for the same period replaces the one before."""
        data = await strictly(request, data)
        await off_loop(app.report_plan_status, actor, municipality, data.activity,
                       period=data.period, status=data.status, note=data.note,
                       service=data.service)

    @get("/reports", summary="Oversikt: hvor enhetene er for hver aktivitet",
         responses=documented(400, 401, 403, 429))
    async def overview(
        self, app: App, actor: Caller, municipality: Municipality,
        period: Annotated[PlanPeriod | None, QueryParameter()] = None,
    ) -> PlanOverviewOut:
        """For each activity, the services under each status for the period (by default
        the current one). No notes: they are the leaders' free text."""
        found = await off_loop(app.plan_overview, actor, municipality, period=period)
        return PlanOverviewOut(
            municipality=found.municipality, rhythm=found.rhythm,  # type: ignore[arg-type]
            period=found.period, items=[PlanOverviewLineOut(
                activity=_activity_out(line.activity),
                units=PlanUnitsOut(not_started=line.units["not-started"],
                                   under_way=line.units["under-way"],
                                   done=line.units["done"],
                                   not_reported=line.units["not-reported"],
                                   counts=line.counts))
                for line in found.lines])
