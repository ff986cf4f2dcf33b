"""The implementation plan through the application, on both backends: an admin keeps
Lyngdal's plan, the unit leaders report on their own units, the latest report of a
period wins, and the overview counts the units under each status."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from domain import errors
from domain.implementation_plan import ActivityDetails, plan_id
from domain.values import Actor
from stafettlogg.application import Stafettlogg
from tests.conftest import ADMIN, KARI, T0, MovableClock, register_services, settings_for

LIV = Actor(user="liv", service="hauge-skole", roles=frozenset({"leader"}),
            municipalities=frozenset({"4225"}))
BENTE = Actor(user="bente", service="bhg-solsikken", roles=frozenset({"leader"}),
              municipalities=frozenset({"4225"}))
EVALUATOR = Actor(user="eva", roles=frozenset({"evaluator"}),
                  municipalities=frozenset({"4225"}))
PERIOD = "2026-H1"  # T0 is 2 March 2026


@pytest.fixture
def app(data_dir: Path, clock: MovableClock) -> Stafettlogg:
    application = Stafettlogg(settings_for(data_dir), clock=clock)
    register_services(application)
    yield application
    application.close()


def contact(**changes) -> ActivityDetails:
    fields = {"title": "Utnevne en BTI-kontakt i hver enhet", "responsible": "enhetsleder",
              "due": date(2026, 6, 30), "all_services": True}
    return ActivityDetails(**{**fields, **changes})


def test_an_admin_keeps_the_plan_and_a_leader_reads_it(app: Stafettlogg) -> None:
    empty = app.implementation_plan(ADMIN, "4225")
    assert (empty.rhythm, empty.current_period, empty.activities) == ("halvårlig", PERIOD, [])
    added = app.add_plan_activity(ADMIN, "4225", contact())
    # Every service that serves Lyngdal, PPT Lister (inter-municipal) too, by name.
    assert added.services == ["hauge-skole", "hs-lyngdal", "ppt-lister", "bhg-solsikken"]
    app.change_plan_activity(ADMIN, "4225", added.id, contact(
        all_services=False, services=("hauge-skole",), responsible="BTI-koordinator"))
    plan = app.implementation_plan(LIV, "4225")
    assert [(a.title, a.services, a.responsible) for a in plan.activities] == [
        ("Utnevne en BTI-kontakt i hver enhet", ["hauge-skole"], "BTI-koordinator")]
    assert app.set_plan_rhythm(ADMIN, "4225", "kvartalsvis").current_period == "2026-Q1"
    with pytest.raises(errors.Forbidden):
        app.add_plan_activity(LIV, "4225", contact())
    with pytest.raises(errors.Forbidden):
        app.implementation_plan(EVALUATOR, "4225")
    with pytest.raises(errors.Forbidden):
        app.implementation_plan(KARI, "4225")
    with pytest.raises(errors.InvalidValue) as refused:
        app.add_plan_activity(ADMIN, "9999", contact())
    assert refused.value.field == "municipality"
    app.remove_plan_activity(ADMIN, "4225", added.id)
    assert app.implementation_plan(ADMIN, "4225").activities == []
    with pytest.raises(errors.NotFound):
        app.remove_plan_activity(ADMIN, "4225", added.id)


def test_a_leader_of_another_service_is_refused(app: Stafettlogg) -> None:
    school = app.add_plan_activity(ADMIN, "4225", contact(all_services=False,
                                                          services=("hauge-skole",)))
    app.report_plan_status(LIV, "4225", school.id, period=PERIOD, status="under-way")
    with pytest.raises(errors.Forbidden):
        app.report_plan_status(BENTE, "4225", school.id, period=PERIOD, status="done",
                               service="hauge-skole")
    with pytest.raises(errors.InvalidValue):  # not an activity of her kindergarten
        app.report_plan_status(BENTE, "4225", school.id, period=PERIOD, status="done")
    with pytest.raises(errors.Forbidden):
        app.unit_plan(BENTE, "4225", "hauge-skole")
    assert app.unit_plan(BENTE, "4225") == []
    with pytest.raises(errors.NotFound):
        app.report_plan_status(LIV, "4225", UUID(int=1), period=PERIOD, status="done")


def test_the_latest_report_wins_and_the_note_is_for_the_leader_and_admins(
        app: Stafettlogg, clock: MovableClock) -> None:
    activity = app.add_plan_activity(ADMIN, "4225", contact())
    app.report_plan_status(LIV, "4225", activity.id, period=PERIOD, status="not-started")
    app.report_plan_status(LIV, "4225", activity.id, period=PERIOD, status="under-way",
                           note="To av tre team har en kontakt.")
    (mine,) = app.unit_plan(LIV, "4225")
    assert (mine.status, mine.note, mine.reported_by) == (
        "under-way", "To av tre team har en kontakt.", "liv")
    assert app.unit_plan(ADMIN, "4225", "hauge-skole")[0].note == mine.note
    # The next half-year starts unreported; the earlier one is still there.
    clock.now = T0.replace(month=8)
    (later,) = app.unit_plan(LIV, "4225")
    assert later.status == "not-reported"
    assert app.unit_plan(LIV, "4225", period=PERIOD)[0].status == "under-way"
    with pytest.raises(errors.InvalidValue) as refused:
        app.report_plan_status(LIV, "4225", activity.id, period="2027-H1", status="done")
    assert refused.value.field == "period"


def test_the_overview_counts_the_units_under_each_status(app: Stafettlogg) -> None:
    first = app.add_plan_activity(ADMIN, "4225", contact())
    second = app.add_plan_activity(ADMIN, "4225", contact(
        title="Opplæring av nyansatte", all_services=False,
        services=("hauge-skole", "bhg-solsikken")))
    app.report_plan_status(LIV, "4225", first.id, period=PERIOD, status="done")
    app.report_plan_status(BENTE, "4225", first.id, period=PERIOD, status="under-way",
                           note="Venter på ny ansatt.")
    app.report_plan_status(BENTE, "4225", first.id, period=PERIOD, status="done")
    app.report_plan_status(LIV, "4225", second.id, period=PERIOD, status="under-way")
    app.report_plan_status(LIV, "4225", second.id, period="2025-H2", status="not-started")

    overview = app.plan_overview(ADMIN, "4225", period=PERIOD)
    one, two = overview.lines
    assert one.counts == {"not-started": 0, "under-way": 0, "done": 2, "not-reported": 2}
    assert one.units["done"] == ["hauge-skole", "bhg-solsikken"]
    assert one.units["not-reported"] == ["hs-lyngdal", "ppt-lister"]
    assert two.counts == {"not-started": 0, "under-way": 1, "done": 0, "not-reported": 1}
    assert app.plan_overview(LIV, "4225", period="2025-H2").lines[1].units["not-started"] == [
        "hauge-skole"]
    assert "note" not in repr(overview)  # the overview carries no notes
    # The notes, for the admins: Bente's latest report has none.
    assert [(n.service, n.note) for n in app.plan_notes(ADMIN, "4225", period=PERIOD)] == []
    app.report_plan_status(BENTE, "4225", second.id, period=PERIOD, status="done",
                           note="Alle nyansatte har hatt opplæring.")
    (note,) = app.plan_notes(ADMIN, "4225", period=PERIOD)
    assert (note.activity, note.service, note.status) == (second.id, "bhg-solsikken", "done")
    with pytest.raises(errors.Forbidden):
        app.plan_notes(LIV, "4225", period=PERIOD)
    overview = app.plan_overview(ADMIN, "4225", period=PERIOD)
    with pytest.raises(errors.InvalidValue):
        app.plan_overview(ADMIN, "4225", period="2026-Q1")  # not the plan's rhythm
    with pytest.raises(errors.Forbidden):
        app.plan_overview(EVALUATOR, "4225")
    # Rebuilt from the first event, the read model says the same.
    app.read_models.rebuild("implementation-plan")
    assert app.plan_overview(ADMIN, "4225", period=PERIOD) == overview


def test_a_long_plan_is_loaded_from_a_snapshot(data_dir: Path, clock: MovableClock) -> None:
    app = Stafettlogg(settings_for(data_dir, STAFETTLOGG_SNAPSHOT_INTERVAL="10"), clock=clock)
    try:
        register_services(app)
        activity = app.add_plan_activity(ADMIN, "4225", contact())
        for n in range(24):
            app.report_plan_status(LIV, "4225", activity.id, period=PERIOD,
                                   status=("under-way", "done")[n % 2], note=f"rapport {n}")
        snapshots = list(app.snapshots.get(plan_id("4225"), desc=True, limit=1))
        assert snapshots and snapshots[0].originator_version == 20
        app.repository.cache = None  # load from the store, not from memory
        (mine,) = app.unit_plan(LIV, "4225")
        assert (mine.status, mine.note) == ("done", "rapport 23")
    finally:
        app.close()
