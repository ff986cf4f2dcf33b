"""The nightly sweep, on both backends, on the service's clock: a consent that lapses
overnight is recorded expired the next morning though nobody touches the case (its
service leaves, the handover to it is cancelled), once a day however many processes
share the store and however often the service restarts."""

from __future__ import annotations

import threading
import time as clock_time
from datetime import date, datetime, time, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from domain import errors
from domain.events import ConsentExpired, HandoverCancelled
from stafettlogg.application import Stafettlogg
from domain.calendar import NORWAY
from stafettlogg.settings import Settings, SettingsError
from tests.conftest import KARI, PER, MovableClock, register_services, settings_for

LAST_DAY = date(2026, 3, 10)  # the consent's last day


def at_oslo(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NORWAY)


def open_app(data_dir: Path, clock: MovableClock, **env: str) -> Stafettlogg:
    return Stafettlogg(settings_for(data_dir, **env), clock=clock)


def case_shared_with_the_school(app: Stafettlogg) -> UUID:
    """Kari's case, shared with the school under a consent to LAST_DAY; Per at the
    school is in it, and a handover to him waits."""
    case = app.open_case(KARI, child_name="Emil Strand", concern="Emil er urolig.")
    app.record_level0_step(KARI, case.id, step="beslutning", text="Vi deler med skolen.")
    app.register_consent(
        KARI, case.id, given_by="guardian", services=["hauge-skole"],
        purpose="Overgang til skolen", valid_until=LAST_DAY, form="written")
    app.add_participant(KARI, case.id, service="hauge-skole")
    app.request_handover(KARI, case.id, to_user="per", to_service="hauge-skole")
    return case.id


def recorded(app: Stafettlogg, case_id: UUID, kind: type) -> list[object]:
    """The case's stored events of one kind."""
    return [e for e in app.events.get(case_id) if isinstance(e, kind)]


@pytest.fixture
def swept(data_dir: Path) -> tuple[Path, MovableClock]:
    clock = MovableClock(at_oslo(LAST_DAY - timedelta(days=8), 9))
    app = open_app(data_dir, clock)
    try:
        register_services(app)
    finally:
        app.close()
    return data_dir, clock


def test_a_consent_that_lapses_overnight_is_recorded_expired_the_next_morning(
    swept: tuple[Path, MovableClock],
) -> None:
    data_dir, clock = swept
    app = open_app(data_dir, clock)
    try:
        case_id = case_shared_with_the_school(app)
        clock.now = at_oslo(LAST_DAY, 23, 30)  # the last day: the consent still holds
        assert app.sweep.run_if_due()
        assert recorded(app, case_id, ConsentExpired) == []
        clock.now = at_oslo(LAST_DAY + timedelta(days=1), 1, 59)  # before the sweep's hour
        assert not app.sweep.run_if_due()
        assert recorded(app, case_id, ConsentExpired) == []
        assert app.get_case(case_id).state.pending_handover is not None

        clock.now = at_oslo(LAST_DAY + timedelta(days=1), 2, 0)
        assert app.sweep.run_if_due()
        expired = recorded(app, case_id, ConsentExpired)
        assert len(expired) == 1
        assert expired[0].timestamp == clock.now  # type: ignore[attr-defined]
        assert expired[0].user == "system"  # type: ignore[attr-defined]
        cancelled = recorded(app, case_id, HandoverCancelled)
        assert [e.because_consent_ended for e in cancelled] == [True]  # type: ignore[attr-defined]
        with pytest.raises(errors.NotFound):  # the school is no longer in the case
            app.read_case(PER, case_id)
        case = app.read_case(KARI, case_id)
        assert [c.status for c in case.state.consents.values()] == ["expired"]
        assert case.state.pending_handover is None
        assert "hauge-skole" not in case.state.participants
    finally:
        app.close()


def test_a_restart_does_not_sweep_the_same_day_again(
    swept: tuple[Path, MovableClock],
) -> None:
    data_dir, clock = swept
    app = open_app(data_dir, clock)
    try:
        case_id = case_shared_with_the_school(app)
        clock.now = at_oslo(LAST_DAY + timedelta(days=1), 2, 5)
        assert app.sweep.run_if_due()
    finally:
        app.close()
    clock.now += timedelta(hours=3)
    again = open_app(data_dir, clock)
    try:
        assert not again.sweep.run_if_due()
        last = again.sweep.last()
        assert last is not None
        assert (last.day, last.consents_expired) == (LAST_DAY + timedelta(days=1), 1)
        clock.now += timedelta(days=1)  # the next day's sweep runs, and records nothing twice
        assert again.sweep.run_if_due()
        assert len(recorded(again, case_id, ConsentExpired)) == 1
    finally:
        again.close()


def test_two_processes_on_one_store_sweep_once(swept: tuple[Path, MovableClock]) -> None:
    """Two applications on one store (as two processes of the service) look at the
    same moment: one sweeps, the other finds the day taken."""
    data_dir, clock = swept
    first = open_app(data_dir, clock)
    second = open_app(data_dir, clock)
    try:
        case_id = case_shared_with_the_school(first)
        clock.now = at_oslo(LAST_DAY + timedelta(days=1), 2, 0)
        start = threading.Barrier(2)
        ran: list[bool] = []
        failed: list[BaseException] = []

        def look(app: Stafettlogg) -> None:
            try:
                start.wait()
                ran.append(app.sweep.run_if_due())
            except BaseException as exc:  # noqa: BLE001 - reported below
                failed.append(exc)

        threads = [threading.Thread(target=look, args=(a,)) for a in (first, second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failed == []
        assert sorted(ran) == [False, True]
        assert len(recorded(second, case_id, ConsentExpired)) == 1
        assert len(recorded(second, case_id, HandoverCancelled)) == 1
    finally:
        second.close()
        first.close()


def test_the_service_sweeps_when_it_starts_after_the_hour(
    swept: tuple[Path, MovableClock],
) -> None:
    """A service that was down at 02:00 runs the day's sweep when it starts."""
    data_dir, clock = swept
    app = open_app(data_dir, clock)
    try:
        case_id = case_shared_with_the_school(app)
        clock.now = at_oslo(LAST_DAY + timedelta(days=1), 11, 0)
        app.start_background()
        try:
            deadline = clock_time.monotonic() + 30
            while app.sweep.last() is None:
                assert clock_time.monotonic() < deadline, "the sweep did not run"
                clock_time.sleep(0.1)
        finally:
            app.stop_background()
        assert len(recorded(app, case_id, ConsentExpired)) == 1
    finally:
        app.close()


def test_the_hour_of_the_sweep_is_a_setting(swept: tuple[Path, MovableClock]) -> None:
    data_dir, clock = swept
    app = open_app(data_dir, clock, STAFETTLOGG_SWEEP_AT="06:30")
    try:
        clock.now = at_oslo(LAST_DAY, 6, 29)
        assert not app.sweep.run_if_due()
        clock.now = at_oslo(LAST_DAY, 6, 30)
        assert app.sweep.run_if_due()
    finally:
        app.close()


@pytest.mark.parametrize("written", ["2:00", "25:00", "02:60", "kl. 2", "0200"])
def test_a_sweep_hour_that_is_not_a_clock_time_names_the_setting(written: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"STAFETTLOGG_SWEEP_AT": written})
    assert "STAFETTLOGG_SWEEP_AT" in str(refused.value)
    assert "TT:MM" in str(refused.value)


def test_the_sweep_runs_at_two_by_default() -> None:
    assert Settings.from_env({}).sweep_at == time(2, 0)
