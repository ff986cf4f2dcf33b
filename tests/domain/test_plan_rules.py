"""The implementation plan's rules, as docs/implementation.md states them: the admin
keeps the plan, each unit leader reports on their own unit, period by period."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain import errors
from domain.implementation_plan import (
    ActivityDetails,
    ImplementationPlan,
    StatusReported,
    UnknownActivity,
    period_of,
    period_start,
    plan_id,
)
from domain.services import ServiceInfo
from domain.values import Actor

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # in 2026-Q4 and 2026-H2
ADMIN = Actor(user="admin-1", roles=frozenset({"admin"}))
LIV = Actor(user="liv", service="hauge-skole", roles=frozenset({"leader"}),
            municipalities=frozenset({"4225"}))
BENTE = Actor(user="bente", service="bhg-solsikken", roles=frozenset({"leader"}),
              municipalities=frozenset({"4225"}))
KARI = Actor(user="kari", service="bhg-solsikken", roles=frozenset({"worker"}),
             municipalities=frozenset({"4225"}))
SERVICES = {s.id: s for s in (
    ServiceInfo("hauge-skole", "Hauge skole", "skole", ("4225",), False),
    ServiceInfo("bhg-solsikken", "Solsikken barnehage", "barnehage", ("4225",), False),
    ServiceInfo("kvinesdal-skole", "Kvinesdal skole", "skole", ("4227",), False),
    ServiceInfo("ppt-lister", "PPT Lister", "ppt", ("4225", "4227"), True),
)}
CONTACT = UUID("00000000-0000-0000-0000-00000000000a")
TRAINING = UUID("00000000-0000-0000-0000-00000000000b")


def details(**changes) -> ActivityDetails:
    fields = {"title": "Utnevne en BTI-kontakt i hver enhet", "responsible": "enhetsleder",
              "due": date(2026, 12, 31), "services": ("hauge-skole",)}
    return ActivityDetails(**{**fields, **changes})


@pytest.fixture
def plan() -> ImplementationPlan:
    plan = ImplementationPlan.start(ADMIN, municipality="4225", rhythm="kvartalsvis",
                                    at=NOW)
    plan.add_activity(ADMIN, CONTACT, details(), SERVICES, NOW)
    plan.add_activity(ADMIN, TRAINING, details(title="Opplæring av nyansatte",
                                               services=(), all_services=True), SERVICES, NOW)
    return plan


def test_each_municipality_has_one_plan():
    assert plan_id("4225") == plan_id("4225") != plan_id("4227")
    started = ImplementationPlan.start(ADMIN, municipality="4225", rhythm="årlig", at=NOW)
    assert started.id == plan_id("4225") and started.rhythm == "årlig"


def test_only_an_admin_keeps_the_plan(plan: ImplementationPlan):
    for actor in (LIV, KARI):
        with pytest.raises(errors.Forbidden):
            ImplementationPlan.start(actor, municipality="4225", rhythm="årlig", at=NOW)
        with pytest.raises(errors.Forbidden):
            plan.add_activity(actor, UUID(int=5), details(), SERVICES, NOW)
        with pytest.raises(errors.Forbidden):
            plan.remove_activity(actor, CONTACT, NOW)
        with pytest.raises(errors.Forbidden):
            plan.set_rhythm(actor, "årlig", NOW)


def test_an_activity_has_a_title_a_responsible_a_due_date_and_its_units(
        plan: ImplementationPlan):
    def refused(**changes) -> errors.InvalidValue:
        with pytest.raises(errors.InvalidValue) as caught:
            plan.add_activity(ADMIN, UUID(int=9), details(**changes), SERVICES, NOW)
        return caught.value

    assert refused(title="  ").field == "title"
    assert "høyst 200 tegn" in refused(title="x" * 201).message
    assert refused(responsible="").field == "responsible"
    assert refused(services=()).message == "Velg minst én tjeneste, eller alle."
    wrong = refused(services=("kvinesdal-skole",))
    assert (wrong.field, wrong.message) == ("services", "Kvinesdal skole hører ikke til kommunen.")
    assert refused(services=("hauge-skole",), all_services=True).field == "services"
    assert refused(due=date(1926, 1, 1)).field == "due"
    # The responsible is a role in the plan, written as the plan says it.
    added = plan.add_activity(ADMIN, UUID(int=9), details(responsible="  BTI-koordinator "),
                              SERVICES, NOW)
    assert added.responsible == "BTI-koordinator"


def test_an_activity_is_changed_and_removed(plan: ImplementationPlan):
    changed = plan.change_activity(ADMIN, CONTACT, details(
        services=("hauge-skole", "bhg-solsikken"), due=date(2027, 3, 1)), SERVICES, NOW)
    assert changed.services == ("hauge-skole", "bhg-solsikken")
    version = plan.version
    plan.change_activity(ADMIN, CONTACT, details(
        services=("hauge-skole", "bhg-solsikken"), due=date(2027, 3, 1)), SERVICES, NOW)
    assert plan.version == version  # nothing changed, nothing recorded
    plan.remove_activity(ADMIN, CONTACT, NOW)
    assert [a.id for a in plan.activities()] == [TRAINING]
    with pytest.raises(UnknownActivity):
        plan.remove_activity(ADMIN, CONTACT, NOW)


def test_a_unit_leader_reports_for_her_own_unit_on_the_activities_that_apply_to_it(
        plan: ImplementationPlan):
    hauge, solsikken = SERVICES["hauge-skole"], SERVICES["bhg-solsikken"]
    plan.report(LIV, CONTACT, hauge, period="2026-Q4", status="under-way",
                note="To av tre team har en kontakt.", at=NOW)
    assert plan.latest(CONTACT, "hauge-skole", "2026-Q4").status == "under-way"
    with pytest.raises(errors.Forbidden):  # not her unit
        plan.report(LIV, TRAINING, solsikken, period="2026-Q4", status="done", note="",
                    at=NOW)
    with pytest.raises(errors.Forbidden):  # not a leader
        plan.report(KARI, TRAINING, solsikken, period="2026-Q4", status="done", note="",
                    at=NOW)
    with pytest.raises(errors.Forbidden):  # admins keep the plan; leaders report
        plan.report(ADMIN, TRAINING, solsikken, period="2026-Q4", status="done", note="",
                    at=NOW)
    with pytest.raises(errors.InvalidValue) as caught:  # the contact is for Hauge only
        plan.report(BENTE, CONTACT, solsikken, period="2026-Q4", status="done", note="",
                    at=NOW)
    assert caught.value.field == "activity"
    # "All the municipality's units" includes hers.
    plan.report(BENTE, TRAINING, solsikken, period="2026-Q4", status="done", note="", at=NOW)


def test_the_latest_report_of_a_period_wins_and_the_history_stays(plan: ImplementationPlan):
    hauge = SERVICES["hauge-skole"]
    plan.report(LIV, CONTACT, hauge, period="2026-Q3", status="not-started", note="", at=NOW)
    plan.report(LIV, CONTACT, hauge, period="2026-Q4", status="under-way", note="", at=NOW)
    plan.report(LIV, CONTACT, hauge, period="2026-Q4", status="done", note="Ferdig.", at=NOW)
    assert plan.latest(CONTACT, "hauge-skole", "2026-Q4").status == "done"
    assert plan.latest(CONTACT, "hauge-skole", "2026-Q3").status == "not-started"
    reported = [e for e in plan.pending_events if isinstance(e, StatusReported)]
    assert [e.status for e in reported] == ["not-started", "under-way", "done"]


def test_a_period_follows_the_plans_rhythm_and_has_begun(plan: ImplementationPlan):
    hauge = SERVICES["hauge-skole"]

    def refused(period: str, note: str = "", status: str = "done") -> errors.InvalidValue:
        with pytest.raises(errors.InvalidValue) as caught:
            plan.report(LIV, CONTACT, hauge, period=period, status=status, note=note, at=NOW)
        return caught.value

    assert refused("2026-H2").message == ("Perioden skrives som 2026-Q4, fordi planen "
                                          "rapporteres kvartalsvis.")
    assert refused("2027-Q1").message.startswith("Perioden har ikke begynt ennå")
    assert refused("2026-Q4", status="halvveis").field == "status"
    assert "høyst 500 tegn" in refused("2026-Q4", note="x" * 501).message
    plan.set_rhythm(ADMIN, "halvårlig", NOW)
    plan.report(LIV, CONTACT, hauge, period="2026-H2", status="done", note="", at=NOW)
    assert refused("2026-Q4").field == "period"


def test_the_periods_of_each_rhythm():
    day = date(2026, 11, 2)
    assert [period_of(day, r) for r in ("kvartalsvis", "halvårlig", "årlig")] == [
        "2026-Q4", "2026-H2", "2026"]
    assert period_start("2026-Q4", "kvartalsvis") == date(2026, 10, 1)
    assert period_start("2026-H2", "halvårlig") == date(2026, 7, 1)
    assert period_start("2026", "årlig") == date(2026, 1, 1)
