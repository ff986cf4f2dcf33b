"""The unit of work: a command that loses a race to another writer is run again on
the new state, an If-Match write that lost is refused, and nobody waits for ever.
Every test runs on both backends, with a second application on the same store
standing in for another process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain import errors
from domain.case import Case
from stafettlogg.application import Stafettlogg
from stafettlogg.protocol import VersionMismatch
from stafettlogg.unit_of_work import UnitOfWork
from tests.conftest import KARI, T0, settings_for


@pytest.fixture
def other_process(data_dir: Path, app: Stafettlogg) -> Iterator[Stafettlogg]:
    """Another process of the service, on the same store (its own locks)."""
    other = Stafettlogg(settings_for(data_dir), clock=lambda: T0)
    yield other
    other.close()


def open_case(app: Stafettlogg) -> UUID:
    return app.open_case(KARI, child_name="Ola Nordmann", concern="Ola er ofte sliten.", at=T0).id


def notes(app: Stafettlogg, case_id: UUID) -> list[str]:
    return [e.text for e in app.case_log(case_id) if e.kind == "note"]


def colleague_writes_first(
    app: Stafettlogg, other: Stafettlogg, case_id: UUID, monkeypatch: pytest.MonkeyPatch,
    times: int = 1,
) -> list[str]:
    """Before each of the next `times` saves of `app`, the other process adds a note."""
    written: list[str] = []
    save = app.uow.save

    def save_after_colleague(*aggregates: Any) -> None:
        if len(written) < times:
            text = f"Kollegaens notat {len(written) + 1}."
            other.add_entry(KARI, case_id, kind="note", text=text)
            written.append(text)
        save(*aggregates)

    monkeypatch.setattr(app.uow, "save", save_after_colleague)
    return written


def test_a_command_that_lost_a_race_is_run_again_on_the_new_state(
    app: Stafettlogg, other_process: Stafettlogg, monkeypatch: pytest.MonkeyPatch,
) -> None:
    case_id = open_case(app)
    before = app.get_case(case_id).version
    written = colleague_writes_first(app, other_process, case_id, monkeypatch, times=3)

    outcome = app.add_entry(KARI, case_id, kind="note", text="Karis notat.")

    assert notes(app, case_id) == [*written, "Karis notat."]
    assert outcome.case.version == before + 4
    assert app.get_case(case_id).version == before + 4


def test_a_write_with_if_match_that_lost_a_race_is_refused_and_not_stored(
    app: Stafettlogg, other_process: Stafettlogg, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If-Match holds on every try: the retry must not store Kari's note on the newer case."""
    case_id = open_case(app)
    read = app.get_case(case_id).version
    written = colleague_writes_first(app, other_process, case_id, monkeypatch)

    with pytest.raises(VersionMismatch):
        app.add_entry(KARI, case_id, kind="note", text="Karis notat.", expected_version=read)

    assert notes(app, case_id) == written
    assert app.get_case(case_id).version == read + 1


def test_a_writer_that_keeps_losing_gives_up_when_its_time_is_up_and_stores_nothing(
    app: Stafettlogg, other_process: Stafettlogg,
) -> None:
    case_id = open_case(app)
    clock = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock[0] += 0.25

    uow = UnitOfWork(app, retry_seconds=1.0, monotonic=lambda: clock[0], sleep=sleep)
    tries: list[int] = []

    def attempt() -> tuple[None, list[Case]]:
        case = uow.load(Case, case_id)
        case.add_entry(
            KARI, kind="note", text=app.sealer.seal(case.state.child_id, "Tapt notat."),
            at=T0 + timedelta(minutes=len(tries)),
        )
        tries.append(case.version)
        other_process.add_entry(KARI, case_id, kind="note", text=f"Vinner {len(tries)}.")
        return None, [case]

    with pytest.raises(errors.ConcurrentModification):
        uow.retrying(case_id, attempt)

    # Tried at 0, 0.25, 0.5, 0.75, 1.0 and 1.25 s: the try that ends past the
    # second the writer was given is the last.
    assert len(tries) == 6
    assert len(pauses) == 5
    assert all(p <= 0.05 for p in pauses)
    assert "Tapt notat." not in notes(app, case_id)
    assert notes(app, case_id) == [f"Vinner {n}." for n in range(1, 7)]


def test_a_refusal_by_a_rule_ends_the_command_at_once(app: Stafettlogg) -> None:
    case_id = open_case(app)
    tries: list[int] = []

    def attempt() -> tuple[None, list[Case]]:
        tries.append(1)
        raise errors.NotHolder()

    with pytest.raises(errors.NotHolder):
        app.uow.retrying(case_id, attempt)
    assert tries == [1]


def test_an_attempt_that_changes_nothing_saves_nothing(app: Stafettlogg) -> None:
    case_id = open_case(app)
    before = app.get_case(case_id).version
    assert app.uow.retrying(case_id, lambda: ("svar", [])) == "svar"
    assert app.get_case(case_id).version == before
