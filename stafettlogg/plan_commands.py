"""The implementation plan in the application: the admins keep a municipality's plan
(its rhythm and activities), the unit leaders report the status of their unit's
activities per period, and everyone who may read the plan sees a unit's activities
with their latest status and the overview of the municipality (docs/implementation.md,
"The implementation plan and the leaders' reports").

A mixin of `Stafettlogg` (`stafettlogg/application.py`). The rules are in
`domain/implementation_plan.py`; the read model in `projections/implementation_plan.py`.
The leaders' notes are read from the plan itself, for admins and the leaders of the
municipality only; the overview (from the read model) carries no notes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError

from domain.calendar import day_of
from domain import errors
from domain.implementation_plan import (
    STATUSES,
    Activity,
    ActivityDetails,
    ImplementationPlan,
    may_read_plan,
    period_of,
    period_start,
    plan_id,
    require_plan_admin,
)
from domain.services import ServiceInfo
from domain.values import Actor
from projections.implementation_plan import statuses_for

if TYPE_CHECKING:
    from domain.aggregate import Aggregate
    from stafettlogg.unit_of_work import UnitOfWork

# A plan gets this rhythm when its first activity is added before a rhythm is chosen.
DEFAULT_RHYTHM = "halvårlig"
NOT_REPORTED = "not-reported"
OVERVIEW_STATUSES: tuple[str, ...] = (*STATUSES, NOT_REPORTED)


class ActivityView(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    title: str
    responsible: str
    due: date
    all_services: bool
    services: list[str]  # the units it applies to now (every one, with `all_services`)


class PlanView(msgspec.Struct, frozen=True, kw_only=True):
    municipality: str
    rhythm: str
    current_period: str
    activities: list[ActivityView]


class UnitActivity(msgspec.Struct, frozen=True, kw_only=True):
    """An activity of a unit's plan with the unit's latest report for a period."""

    activity: ActivityView
    status: str  # one of OVERVIEW_STATUSES
    note: str = ""
    reported_by: str | None = None
    reported_at: datetime | None = None


class OverviewLine(msgspec.Struct, frozen=True, kw_only=True):
    """One activity of the overview: the units under each status, and how many."""

    activity: ActivityView
    units: dict[str, list[str]]  # status -> service ids, in the units' name order

    @property
    def counts(self) -> dict[str, int]:
        return {s: len(self.units.get(s, [])) for s in OVERVIEW_STATUSES}


class UnitNote(msgspec.Struct, frozen=True, kw_only=True):
    activity: UUID
    service: str
    status: str
    note: str
    reported_by: str
    reported_at: datetime


class PlanOverview(msgspec.Struct, frozen=True, kw_only=True):
    municipality: str
    rhythm: str
    period: str
    lines: list[OverviewLine]


class PlanCommands:
    if TYPE_CHECKING:
        uow: UnitOfWork
        read_models: Any

        def _now(self, at: datetime | None) -> datetime: ...
        def _known_service(self, service_id: str, field: str) -> Any: ...
        def list_services(self) -> list[ServiceInfo]: ...

    # Loading ---------------------------------------------------------------------------

    def _plan(self, municipality: str) -> ImplementationPlan | None:
        try:
            return self.uow.load(ImplementationPlan, plan_id(municipality))
        except AggregateNotFoundError:
            return None

    def _plan_or_start(self, actor: Actor, municipality: str, rhythm: str,
                       now: datetime) -> ImplementationPlan:
        plan = self._plan(municipality)
        if plan is not None:
            return plan
        if not any(s.serves(municipality) for s in self.list_services()):
            require_plan_admin(actor)
            raise errors.InvalidValue("municipality", "Ingen tjenester er registrert for "
                                                      "kommunen.")
        return ImplementationPlan.start(actor, municipality=municipality, rhythm=rhythm, at=now)

    def _services_of(self, municipality: str) -> list[ServiceInfo]:
        """The open services that serve the municipality, by name."""
        return sorted((s for s in self.list_services() if s.active and s.serves(municipality)),
                      key=lambda s: s.name)

    @staticmethod
    def _may_read(actor: Actor, municipality: str) -> None:
        if not may_read_plan(actor, municipality):
            raise errors.Forbidden("Bare administratorer og enhetslederne i kommunen ser "
                                   "innføringsplanen.")

    def _activity_view(self, activity: Activity, units: list[ServiceInfo],
                       municipality: str) -> ActivityView:
        return ActivityView(
            id=activity.id, title=activity.title, responsible=activity.responsible,
            due=activity.due, all_services=activity.all_services,
            services=([s.id for s in units if activity.applies_to(s, municipality)]
                      if activity.all_services else list(activity.services)))

    # The plan (admins keep it) -----------------------------------------------------------

    def implementation_plan(self, actor: Actor, municipality: str,
                            at: datetime | None = None) -> PlanView:
        """The plan of a municipality (an empty one if none is kept yet)."""
        self._may_read(actor, municipality)
        now = self._now(at)
        plan = self._plan(municipality)
        rhythm = plan.rhythm if plan else DEFAULT_RHYTHM
        units = self._services_of(municipality)
        return PlanView(municipality=municipality, rhythm=rhythm,
                        current_period=period_of(day_of(now), rhythm),
                        activities=[self._activity_view(a, units, municipality)
                                    for a in (plan.activities() if plan else [])])

    def set_plan_rhythm(self, actor: Actor, municipality: str, rhythm: str,
                        at: datetime | None = None) -> PlanView:
        now = self._now(at)

        def attempt() -> tuple[None, list[Aggregate]]:
            plan = self._plan_or_start(actor, municipality, rhythm, now)
            plan.set_rhythm(actor, rhythm, now)
            return None, [plan]

        self.uow.retrying(plan_id(municipality), attempt)
        return self.implementation_plan(actor, municipality, at=now)

    def add_plan_activity(self, actor: Actor, municipality: str, details: ActivityDetails,
                          at: datetime | None = None, activity_id: UUID | None = None
                          ) -> ActivityView:
        now = self._now(at)
        new_id = activity_id or self.new_id()  # type: ignore[attr-defined]

        def attempt() -> tuple[Activity, list[Aggregate]]:
            plan = self._plan_or_start(actor, municipality, DEFAULT_RHYTHM, now)
            services = {s.id: s for s in self.list_services()}
            return plan.add_activity(actor, new_id, details, services, now), [plan]

        added = self.uow.retrying(plan_id(municipality), attempt)
        return self._activity_view(added, self._services_of(municipality), municipality)

    def _existing_plan(self, municipality: str) -> ImplementationPlan:
        plan = self._plan(municipality)
        if plan is None:
            raise errors.NotFound("Kommunen har ingen innføringsplan ennå.")
        return plan

    def change_plan_activity(self, actor: Actor, municipality: str, activity_id: UUID,
                             details: ActivityDetails, at: datetime | None = None
                             ) -> ActivityView:
        now = self._now(at)
        require_plan_admin(actor)

        def attempt() -> tuple[Activity, list[Aggregate]]:
            plan = self._existing_plan(municipality)
            services = {s.id: s for s in self.list_services()}
            return plan.change_activity(actor, activity_id, details, services, now), [plan]

        changed = self.uow.retrying(plan_id(municipality), attempt)
        return self._activity_view(changed, self._services_of(municipality), municipality)

    def remove_plan_activity(self, actor: Actor, municipality: str, activity_id: UUID,
                             at: datetime | None = None) -> None:
        now = self._now(at)
        require_plan_admin(actor)

        def attempt() -> tuple[None, list[Aggregate]]:
            plan = self._existing_plan(municipality)
            plan.remove_activity(actor, activity_id, now)
            return None, [plan]

        self.uow.retrying(plan_id(municipality), attempt)

    # The reports (unit leaders) ------------------------------------------------------------

    def report_plan_status(self, actor: Actor, municipality: str, activity_id: UUID, *,
                           period: str, status: str, note: str = "",
                           service: str | None = None, at: datetime | None = None) -> None:
        """A unit leader's status of an activity for their own service (`service`, by
        default theirs) and a period of the plan's rhythm."""
        now = self._now(at)
        self._may_read(actor, municipality)

        def attempt() -> tuple[None, list[Aggregate]]:
            plan = self._existing_plan(municipality)
            unit = self._known_service(service or actor.service or "", "service")
            plan.report(actor, activity_id, unit, period=period, status=status, note=note,
                        at=now)
            return None, [plan]

        self.uow.retrying(plan_id(municipality), attempt)

    def unit_plan(self, actor: Actor, municipality: str, service: str | None = None, *,
                  period: str | None = None, at: datetime | None = None
                  ) -> list[UnitActivity]:
        """A unit's activities with their latest status for the period (by default the
        current one), notes included: the unit's leader, or an admin."""
        self._may_read(actor, municipality)
        unit_id = service or actor.service
        if "admin" not in actor.roles and unit_id != actor.service:
            raise errors.Forbidden("Du ser bare planen for din egen tjeneste.")
        unit = self._known_service(unit_id or "", "service")
        plan = self._plan(municipality)
        if plan is None:
            return []
        chosen = self._period(plan, period, at)
        units = self._services_of(municipality)
        out = []
        for activity in plan.activities():
            if not activity.applies_to(unit, municipality):
                continue
            view = self._activity_view(activity, units, municipality)
            report = plan.latest(activity.id, unit.id, chosen)
            out.append(UnitActivity(activity=view, status=NOT_REPORTED) if report is None
                       else UnitActivity(
                activity=view, status=report.status, note=report.note,
                reported_by=report.reported_by, reported_at=report.reported_at))
        return out

    def _period(self, plan: ImplementationPlan | None, period: str | None,
                at: datetime | None) -> str:
        rhythm = plan.rhythm if plan else DEFAULT_RHYTHM
        if not period:
            return period_of(day_of(self._now(at)), rhythm)
        period_start(period, rhythm)  # written in the rhythm's way, or InvalidValue
        return period

    def plan_notes(self, actor: Actor, municipality: str, *, period: str | None = None,
                   at: datetime | None = None) -> list[UnitNote]:
        """The leaders' notes for the period (admins only: a leader sees their own
        unit's in `unit_plan`), by activity in the plan's order."""
        require_plan_admin(actor)
        plan = self._plan(municipality)
        chosen = self._period(plan, period, at)
        if plan is None:
            return []
        reports = plan.reports_of(chosen)
        order = {str(a.id): i for i, a in enumerate(plan.activities())}
        return [UnitNote(activity=UUID(a), service=s, status=r.status, note=r.note,
                         reported_by=r.reported_by, reported_at=r.reported_at)
                for (a, s), r in sorted(reports.items(), key=lambda x: (order[x[0][0]], x[0][1]))
                if r.note]

    def plan_overview(self, actor: Actor, municipality: str, *, period: str | None = None,
                      at: datetime | None = None) -> PlanOverview:
        """For each activity, which units are not started, under way, done or have not
        reported for the period, from the read model (no notes)."""
        self._may_read(actor, municipality)
        plan = self._plan(municipality)
        chosen = self._period(plan, period, at)
        rhythm = plan.rhythm if plan else DEFAULT_RHYTHM
        if plan is None:
            return PlanOverview(municipality=municipality, rhythm=rhythm, period=chosen,
                                lines=[])
        self.read_models.catch_up()
        reported = statuses_for(self.read_models.views, str(plan.id), chosen)
        units = self._services_of(municipality)
        lines = []
        for activity in plan.activities():
            view = self._activity_view(activity, units, municipality)
            grouped: dict[str, list[str]] = {s: [] for s in OVERVIEW_STATUSES}
            for unit in units:
                if activity.applies_to(unit, municipality):
                    grouped[reported.get((str(activity.id), unit.id), NOT_REPORTED)].append(
                        unit.id)
            lines.append(OverviewLine(activity=view, units=grouped))
        return PlanOverview(municipality=municipality, rhythm=rhythm, period=chosen,
                            lines=lines)
