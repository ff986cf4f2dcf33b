"""The coordinator's overview: the municipality's open cases and what needs attention.
Through the application on both backends, on a clock the test moves."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain import errors
from domain.values import Actor
from stafettlogg.application import Stafettlogg
from tests.conftest import ADMIN, KARI, T0, MovableClock

KIM = Actor(user="kim", service="hs-lyngdal", roles=frozenset({"worker", "coordinator"}),
            municipalities=frozenset({"4225"}))


def open_and_decide(app: Stafettlogg, name: str) -> object:
    case = app.open_case(KARI, child_name=name, concern="Urolig.", birth_date=date(2019, 5, 1))
    return case.id


def row_of(app: Stafettlogg, case_id: object):
    rows = [r for r in app.coordinator_overview(KIM).rows if r.case.id == case_id]
    assert len(rows) == 1
    return rows[0]


def test_only_a_coordinator_has_the_overview(app_on_clock: Stafettlogg):
    with pytest.raises(errors.Forbidden):
        app_on_clock.coordinator_overview(KARI)


def test_a_new_case_needs_no_attention_and_is_counted_by_level_and_service(
        app_on_clock: Stafettlogg):
    case_id = open_and_decide(app_on_clock, "Emil Strand")
    overview = app_on_clock.coordinator_overview(KIM)
    assert overview.by_level == {0: 1}
    assert overview.by_service == {"bhg-solsikken": 1}
    row = row_of(app_on_clock, case_id)
    assert not row.needs_attention
    # Kim's service takes no part: the overview does not name the child.
    assert row.child_name is None


def test_level_0_without_a_decision_after_14_days_and_a_quiet_case_after_60(
        app_on_clock: Stafettlogg, clock: MovableClock):
    case_id = open_and_decide(app_on_clock, "Emil Strand")
    clock.now = T0 + timedelta(days=14)
    assert not row_of(app_on_clock, case_id).decision_overdue
    clock.now = T0 + timedelta(days=15)
    assert row_of(app_on_clock, case_id).decision_overdue
    assert not row_of(app_on_clock, case_id).quiet
    clock.now = T0 + timedelta(days=61)
    assert row_of(app_on_clock, case_id).quiet
    app_on_clock.add_entry(KARI, case_id, kind="note", text="Samtale med mor.")
    assert not row_of(app_on_clock, case_id).quiet  # something was recorded today


def test_a_handover_waiting_more_than_7_days(app_on_clock: Stafettlogg, clock: MovableClock):
    case_id = open_and_decide(app_on_clock, "Emil Strand")
    app_on_clock.record_level0_step(KARI, case_id, step="beslutning", text="Deler.")
    app_on_clock.register_consent(KARI, case_id, given_by="guardian", services=["hauge-skole"],
                                  purpose="Overgang", valid_until=date(2026, 12, 31),
                                  form="written")
    app_on_clock.request_handover(KARI, case_id, to_user="per", to_service="hauge-skole")
    clock.now = T0 + timedelta(days=7)
    assert not row_of(app_on_clock, case_id).handover_waits
    clock.now = T0 + timedelta(days=8)
    assert row_of(app_on_clock, case_id).handover_waits


def test_a_deactivated_holders_cases_show_up(app_on_clock: Stafettlogg):
    case_id = open_and_decide(app_on_clock, "Emil Strand")
    assert not row_of(app_on_clock, case_id).holder_deactivated
    app_on_clock.change_staff(ADMIN, "kari", active=False)
    row = row_of(app_on_clock, case_id)
    assert row.holder_deactivated and row.needs_attention


def test_actions_past_their_evaluation_date(app_on_clock: Stafettlogg, clock: MovableClock):
    case_id = open_and_decide(app_on_clock, "Emil Strand")
    app_on_clock.record_level0_step(KARI, case_id, step="beslutning", text="Tiltak.")
    app_on_clock.change_level(KARI, case_id, level=1, reason="Tiltak i barnehagen.")
    app_on_clock.agree_action(KARI, case_id, description="Samtaler.",
                              responsible_service="bhg-solsikken",
                              evaluate_by=(T0 + timedelta(days=30)).date())
    assert row_of(app_on_clock, case_id).overdue_actions == 0
    clock.now = T0 + timedelta(days=31)
    assert row_of(app_on_clock, case_id).overdue_actions == 1
