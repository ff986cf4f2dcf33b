"""Who may read a case as the days pass, through the application: a consent reaches
to its last day, and the day after, a service it covered no longer reads the case,
whether or not anything has been written since. Both backends."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from domain import errors
from domain.access import may_see_statistics
from domain.values import Actor
from stafettlogg.application import Stafettlogg
from tests.conftest import KARI, PER, T0, MovableClock

LAST_DAY = date(2026, 3, 20)


def test_the_recipient_of_a_pending_handover_stops_reading_the_day_after_the_consent_ends(
    app_on_clock: Stafettlogg, clock: MovableClock,
) -> None:
    """Kari asks Per to take the baton under a consent that ends on the 20th. Per may
    read the case to decide, up to the 20th; on the 21st he may not, nor find it in his
    inbox, although nothing has been written to the case since."""
    case = app_on_clock.open_case(KARI, child_name="Emil Strand", concern="Emil er urolig.")
    app_on_clock.record_level0_step(KARI, case.id, step="beslutning", text="Vi deler med skolen.")
    app_on_clock.register_consent(
        KARI, case.id, given_by="guardian", services=["hauge-skole"],
        purpose="Overgang til skolen", valid_until=LAST_DAY, form="written",
    )
    app_on_clock.request_handover(KARI, case.id, to_user="per", to_service="hauge-skole")
    version = app_on_clock.get_case(case.id).version

    clock.now = datetime.combine(LAST_DAY, T0.timetz())
    assert app_on_clock.read_case(PER, case.id).id == case.id
    assert app_on_clock.may_see_content(PER, app_on_clock.get_case(case.id))
    assert [h.case for h in app_on_clock.inbox(PER).handovers] == [case.id]

    clock.now += timedelta(days=1)
    with pytest.raises(errors.NotFound):
        app_on_clock.read_case(PER, case.id)
    with pytest.raises(errors.NotFound):
        app_on_clock.read_log(PER, case.id)
    assert not app_on_clock.may_see_content(PER, app_on_clock.get_case(case.id))
    assert app_on_clock.inbox(PER).handovers == []
    assert app_on_clock.list_cases(PER)[0] == []
    # Nothing was written to the case: the expiry is not recorded yet, and it is the
    # day, not a recorded event, that ends the access.
    assert app_on_clock.get_case(case.id).version == version
    assert app_on_clock.read_case(KARI, case.id).id == case.id


EVA = Actor(user="eva", roles=frozenset({"evaluator"}), municipalities=frozenset({"4225", "4227"}))


@pytest.mark.parametrize(
    ("asked", "allowed"),
    [
        (("4225",), True),
        (("4225", "4227"), True),
        (("4225", "4207"), False),  # one of them is not hers: refused, not cut down
        (("4207",), False),
        ((), False),
    ],
)
def test_an_evaluator_sees_statistics_only_when_every_municipality_asked_for_is_hers(
    asked: tuple[str, ...], allowed: bool,
) -> None:
    assert may_see_statistics(EVA, asked) is allowed


def test_statistics_are_for_evaluators_only() -> None:
    for roles in ({"worker"}, {"coordinator"}, {"admin"}):
        actor = Actor(user="x", roles=frozenset(roles), municipalities=EVA.municipalities)
        assert not may_see_statistics(actor, ("4225",))
