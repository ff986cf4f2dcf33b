"""The view model: what a reader is shown of a case, decided once for the API and the
pages. Through the application, on both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta


from domain.values import Actor
from stafettlogg.application import Stafettlogg
from tests.conftest import KARI, PER, T0, MovableClock

LAST_DAY = date(2026, 3, 20)
COORDINATOR = Actor(  # koordinator in Lyngdal, whose service takes no part in the case
    user="kristin", service="hs-lyngdal", roles=frozenset({"coordinator"}),
    municipalities=frozenset({"4225"}),
)


def shared_with_school(app: Stafettlogg) -> tuple[object, object]:
    case = app.open_case(
        KARI, child_name="Emil Strand", concern="Emil er urolig.", birth_date=date(2019, 5, 1),
    )
    app.record_level0_step(KARI, case.id, step="beslutning", text="Vi deler med skolen.")
    consent = app.register_consent(
        KARI, case.id, given_by="guardian", services=["hauge-skole"],
        purpose="Overgang til skolen", valid_until=LAST_DAY, form="written",
    ).result
    app.add_participant(KARI, case.id, service="hauge-skole")
    return case.id, consent


def test_a_reader_outside_the_case_never_gets_the_child_s_details(app_on_clock: Stafettlogg) -> None:
    case_id, _ = shared_with_school(app_on_clock)

    seen_by_coordinator = app_on_clock.read_case_view(COORDINATOR, case_id)
    seen_by_holder = app_on_clock.read_case_view(KARI, case_id)

    assert seen_by_coordinator.child is None
    assert seen_by_holder.child is not None
    assert seen_by_holder.child.name == "Emil Strand"
    assert seen_by_holder.child.concern == "Emil er urolig."
    # The rest of the case is the same for both.
    assert seen_by_coordinator.level == seen_by_holder.level == 0
    assert [p.service for p in seen_by_coordinator.participants] == ["bhg-solsikken", "hauge-skole"]


def test_a_consent_is_active_on_its_last_day_and_expired_the_day_after(
    app_on_clock: Stafettlogg, clock: MovableClock,
) -> None:
    """No expiry is recorded in between: the day alone decides, in the case and the list."""
    case_id, consent = shared_with_school(app_on_clock)

    clock.now = datetime.combine(LAST_DAY, T0.timetz())
    view = app_on_clock.read_case_view(KARI, case_id)
    (summary,) = app_on_clock.case_list(KARI).items
    assert [(c.id, c.status) for c in view.consents] == [(consent, "active")]
    assert [c.status for c in summary.consents] == ["active"]
    assert [p.service for p in view.participants] == ["bhg-solsikken", "hauge-skole"]

    clock.now += timedelta(days=1)
    view = app_on_clock.read_case_view(KARI, case_id)
    (summary,) = app_on_clock.case_list(KARI).items
    assert [(c.id, c.status) for c in view.consents] == [(consent, "expired")]
    assert [c.status for c in summary.consents] == ["expired"]
    # The school is no longer taking part, though nothing has been recorded yet.
    assert [p.service for p in view.participants] == ["bhg-solsikken"]
    assert summary.participants == ["bhg-solsikken"]
    assert app_on_clock.get_case(case_id).state.consents[consent].status == "active"


def test_the_school_sees_the_child_while_the_consent_reaches_and_not_after(
    app_on_clock: Stafettlogg, clock: MovableClock,
) -> None:
    case_id, _ = shared_with_school(app_on_clock)
    clock.now = datetime.combine(LAST_DAY, T0.timetz())
    assert app_on_clock.read_case_view(PER, case_id).child is not None
    clock.now += timedelta(days=1)
    assert app_on_clock.case_list(PER).items == []
