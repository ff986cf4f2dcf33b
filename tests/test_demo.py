"""The demo data set: realistic coverage of the domain, loaded by commands, deterministic."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from domain import events as ev
from domain.national_id import normalise_national_id
from domain.values import CLOSE_REASONS, ENTRY_KINDS, LEVEL0_STEPS, SECTORS, Actor, age_on
from stafettlogg.application import Stafettlogg
from stafettlogg.demo import (
    END,
    START,
    SWEEP,
    DemoError,
    DemoSummary,
    demo_id_factory,
    load_demo,
    synthetic_national_id,
)
from stafettlogg.settings import Settings

SEED = 7
CHILDREN = 60


def _app(data_dir: Path, seed: int) -> Stafettlogg:
    settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir)})
    return Stafettlogg(settings, new_id=demo_id_factory(seed))


@dataclass
class Loaded:
    app: Stafettlogg
    summary: DemoSummary
    events: dict[UUID, list[ev.CaseEvent]]
    progress: list[tuple[int, int]]

    def all_events(self) -> Iterator[ev.CaseEvent]:
        for events in self.events.values():
            yield from events

    def of(self, cls: type) -> list:
        return [e for e in self.all_events() if isinstance(e, cls)]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    app = _app(tmp_path_factory.mktemp("demo") / "var", SEED)
    progress: list[tuple[int, int]] = []
    summary = load_demo(
        app, seed=SEED, children=CHILDREN, progress=lambda d, t: progress.append((d, t))
    )
    events = {case_id: list(app.events.get(case_id)) for case_id in app.case_ids()}
    yield Loaded(app, summary, events, progress)
    app.close()


def test_progress_is_reported_per_child(loaded: Loaded) -> None:
    assert loaded.progress == [(i, CHILDREN) for i in range(1, CHILDREN + 1)]


def test_municipalities_and_services(loaded: Loaded) -> None:
    services = loaded.app.list_services()
    assert {s.sector for s in services} == set(SECTORS)
    opened = loaded.of(ev.CaseOpened)
    municipalities = {e.municipality for e in opened}
    assert len(municipalities) >= 3
    assert all(len(m) == 4 and m.isdigit() for m in municipalities)
    ppt = [s for s in services if s.sector == "ppt"]
    assert any(s.inter_municipal and municipalities <= set(s.municipalities) for s in ppt)
    assert any(s.inter_municipal for s in services if s.sector == "barnevern")
    # every sector takes part in some case (as opener or joining)
    taking_part = {e.sector for e in opened} | {e.sector for e in loaded.of(ev.ServiceJoined)}
    assert taking_part == set(SECTORS)


def test_children_ages_names_and_national_ids(loaded: Loaded) -> None:
    app = loaded.app
    opened = {e.originator_id: e for e in loaded.of(ev.CaseOpened)}
    details = [app.child_details(case_id) for case_id in opened]
    assert loaded.summary.children == CHILDREN
    assert len({e.child_id for e in opened.values()}) == CHILDREN
    assert all(len(d.name.split()) >= 2 for d in details)
    ages = {
        age_on(date.fromisoformat(d.birth_date), opened[case_id].timestamp.date())
        for case_id, d in zip(opened, details, strict=True)
        if d.birth_date
    }
    assert min(ages) <= 1
    assert max(ages) >= 16
    assert ages <= set(range(18))
    numbers = [d.national_id for d in details if d.national_id]
    assert 0.3 * len(details) <= len(numbers) <= 0.7 * len(details)
    for d in details:
        if d.national_id:
            assert normalise_national_id(d.national_id) == d.national_id
            assert d.national_id[:6] == date.fromisoformat(d.birth_date).strftime("%d%m%y")


def test_synthetic_national_ids_are_valid_and_distinct() -> None:
    import random

    rng = random.Random(1)
    taken: set[str] = set()
    for day in range(1, 29):
        for girl in (True, False):
            number = synthetic_national_id(date(2015, 2, day), girl, rng, taken)
            assert normalise_national_id(number) == number
            assert (int(number[8]) % 2 == 0) == girl
    assert len(taken) == 56


def test_cases_at_every_level_open_and_closed(loaded: Loaded) -> None:
    summary = loaded.summary
    assert summary.cases >= CHILDREN
    assert summary.open + summary.closed == summary.cases
    assert all(summary.cases_per_level[level] > 0 for level in range(4))
    assert all(summary.open_per_level[level] > 0 for level in range(4))
    assert summary.closed > 0
    assert set(summary.closed_by_reason) <= set(CLOSE_REASONS)
    assert len(summary.closed_by_reason) >= 2
    # some cases are still at level 0 without a decision, and every closed level-0
    # case has one
    for events in loaded.events.values():
        steps = [e.step for e in events if isinstance(e, ev.Level0StepRecorded)]
        closed = [e for e in events if isinstance(e, ev.CaseClosed)]
        if closed and closed[0].level == 0:
            assert "beslutning" in steps
    undecided = [
        events
        for events in loaded.events.values()
        if not any(isinstance(e, ev.LevelChanged | ev.CaseClosed) for e in events)
        and not any(isinstance(e, ev.Level0StepRecorded) and e.step == "beslutning" for e in events)
    ]
    assert undecided


def test_every_kind_of_step_is_there(loaded: Loaded) -> None:
    assert {e.step for e in loaded.of(ev.Level0StepRecorded)} == set(LEVEL0_STEPS)
    assert {e.kind for e in loaded.of(ev.EntryAdded)} == set(ENTRY_KINDS)
    kinds = Counter(type(e) for e in loaded.all_events())
    for cls in (
        ev.LevelChanged,
        ev.ConsentGiven,
        ev.ConsentWithdrawn,
        ev.ConsentExpired,
        ev.ServiceJoined,
        ev.ServiceLeft,
        ev.HandoverRequested,
        ev.HandoverAccepted,
        ev.HandoverDeclined,
        ev.HandoverCancelled,
        ev.CoordinatorAppointed,
        ev.ResponsibilityGroupEstablished,
        ev.IndividualPlanStarted,
        ev.MeetingHeld,
        ev.ActionAgreed,
        ev.ActionEvaluated,
        ev.SatisfactionAnswered,
        ev.CaseClosed,
    ):
        assert kinds[cls] > 0, cls.__name__


def test_handovers_from_barnehage_to_skole(loaded: Loaded) -> None:
    sector = {s.id: s.sector for s in loaded.app.list_services()}
    accepted = [
        e
        for e in loaded.of(ev.HandoverAccepted)
        if sector[e.from_service] == "barnehage" and e.to_sector == "skole"
    ]
    assert accepted
    assert loaded.summary.barnehage_to_skole_accepted == len(accepted)
    for e in accepted:
        case = loaded.app.get_case(e.originator_id)
        assert case.state.opened_by_service == e.from_service
    # the holder changed only on acceptance, to the named recipient
    for events in loaded.events.values():
        pending = None
        for e in events:
            if isinstance(e, ev.HandoverRequested):
                pending = e
            elif isinstance(e, ev.HandoverAccepted):
                assert pending is not None
                assert (e.user, e.service) == (pending.to_user, pending.to_service)
                pending = None
            elif isinstance(e, ev.HandoverDeclined | ev.HandoverCancelled):
                pending = None


def test_consents_by_guardians_and_young_people(loaded: Loaded) -> None:
    given = loaded.of(ev.ConsentGiven)
    assert {e.given_by for e in given} == {"guardian", "child"}
    app = loaded.app
    for e in given:
        birth = app.child_details(e.originator_id).birth_date
        age = age_on(date.fromisoformat(birth), e.timestamp.date()) if birth else None
        youth_age = app.settings.youth_consent_age_for(
            app.get_case(e.originator_id).state.municipality
        )
        assert (e.given_by == "child") == (age is not None and age >= youth_age)
    expired = loaded.of(ev.ConsentExpired)
    assert expired
    assert all(e.user == "system" for e in expired)
    by_id = {e.consent_id: e for e in given}
    for e in expired:
        assert by_id[e.consent_id].valid_until < e.timestamp.date()
    # expiry ended access: services left because of it
    assert any(e.because_consent_ended for e in loaded.of(ev.ServiceLeft))
    assert any(not e.because_consent_ended for e in loaded.of(ev.ServiceLeft))
    assert loaded.summary.consents_withdrawn == len(loaded.of(ev.ConsentWithdrawn)) > 0


def test_meetings_actions_and_evaluations(loaded: Loaded) -> None:
    meetings = loaded.of(ev.MeetingHeld)
    assert any(len(m.services) >= 3 for m in meetings)
    assert all(m.held_on <= m.timestamp.date() for m in meetings)
    evaluations = loaded.of(ev.ActionEvaluated)
    assert {e.outcome for e in evaluations} == {"continue", "adjusted", "completed", "stopped"}
    late = [e for e in evaluations if not e.evaluated_by_date]
    assert 0 < len(late) < len(evaluations) / 2
    assert loaded.summary.evaluations_late == len(late)


def test_level_3_groups_coordinators_and_plans(loaded: Loaded) -> None:
    coordinators = {e.originator_id: e for e in loaded.of(ev.CoordinatorAppointed)}
    holders = {e.originator_id: e.user for e in loaded.of(ev.CaseOpened)}
    assert coordinators
    # appointed by the municipality's coordinator, not by the holder
    assert all(e.user != holders[case_id] for case_id, e in coordinators.items())
    assert loaded.of(ev.IndividualPlanStarted)
    assert loaded.of(ev.ResponsibilityGroupEstablished)
    respondents = Counter(e.respondent for e in loaded.of(ev.SatisfactionAnswered))
    assert respondents["guardian"] > 0
    assert set(respondents) <= {"guardian", "child"}
    assert all(1 <= e.score <= 5 for e in loaded.of(ev.SatisfactionAnswered))


def test_time_runs_forward_inside_the_period(loaded: Loaded) -> None:
    for events in loaded.events.values():
        stamps = [e.timestamp for e in events]
        assert stamps == sorted(stamps)
        assert stamps[0] >= START
        assert stamps[-1] <= SWEEP
        assert all(s <= END for s in stamps if s != SWEEP)


def test_the_summary_adds_up(loaded: Loaded) -> None:
    s = loaded.summary
    assert sum(s.cases_per_level.values()) == s.cases
    assert sum(s.open_per_level.values()) == s.open
    assert sum(s.closed_by_reason.values()) == s.closed
    assert s.events == sum(len(v) for v in loaded.events.values())
    assert s.municipalities >= 3
    assert s.inter_municipal_services >= 2
    assert s.meetings == len(loaded.of(ev.MeetingHeld))
    assert s.actions == len(loaded.of(ev.ActionAgreed))


def test_the_demo_refuses_a_store_with_data(loaded: Loaded) -> None:
    with pytest.raises(DemoError):
        load_demo(loaded.app, seed=SEED, children=2)


def test_same_seed_same_data(tmp_path: Path) -> None:
    logs = []
    for run in ("a", "b"):
        app = _app(tmp_path / run / "var", 11)
        try:
            load_demo(app, seed=11, children=25)
            case_ids = list(app.case_ids())
            logs.append(
                (
                    case_ids,
                    [app.case_log(c) for c in case_ids],
                    [app.child_details(c) for c in case_ids],
                )
            )
        finally:
            app.close()
    (ids_a, logs_a, details_a), (ids_b, logs_b, details_b) = logs
    assert ids_a == ids_b
    assert logs_a == logs_b
    assert details_a == details_b

    other = _app(tmp_path / "c" / "var", 12)
    try:
        load_demo(other, seed=12, children=25)
        assert list(other.case_ids()) != ids_a
    finally:
        other.close()


def test_the_default_size_has_open_cases_at_every_level_and_batons_accepted(
        tmp_path: Path) -> None:
    """(How fast it loads is a benchmark's question: `bench/`, docs/performance.md.)"""
    app = _app(tmp_path / "var", 1)
    try:
        summary = load_demo(app, seed=1)
    finally:
        app.close()
    assert summary.children == 400
    assert summary.cases >= 400
    assert all(summary.open_per_level[level] >= 10 for level in range(4))
    assert summary.barnehage_to_skole_accepted >= 10


def test_the_demo_has_unit_leaders_and_a_training_register_that_grows(loaded: Loaded) -> None:
    app = loaded.app
    admin = Actor(user="admin.demo", roles=frozenset({"admin"}))
    leaders = [m for m in app.list_staff() if "leader" in m.roles]
    assert leaders and all(m.municipalities == ("4225",) for m in leaders)

    def trained(on: date) -> tuple[int, int]:
        (total,) = [s for s in app.training_shares(admin, municipality="4225", on=on)
                    if (s.indicator, s.sector, s.service) == ("handlingsveileder", "all", "all")]
        return total.numerator, total.denominator

    early, late = trained(date(2025, 6, 30)), trained(date(2026, 10, 30))
    assert early[1] == late[1] > len(leaders)  # the same staff, leaders among them
    assert early[0] < late[0] < late[1]
    # Experience as stafettholder comes from the cases: some have held a baton.
    held = [s for s in app.training_register(admin) if s.held_baton_since is not None]
    assert held


def test_the_demo_has_two_closed_survey_rounds_whose_levels_rise(loaded: Loaded) -> None:
    app = loaded.app
    evaluator = Actor(user="eva", roles=frozenset({"evaluator"}),
                      municipalities=frozenset({"4225"}))
    rounds = app.survey_rounds_for_results(evaluator)
    assert len(rounds) == 2 and {r.municipality for r in rounds} == {"4225"}
    compared = app.compare_survey_rounds(evaluator, rounds[0].id, rounds[1].id)
    then, now = (next(g for g in c.groups if (g.sector, g.service) == ("all", "all"))
                 for c in (compared.earlier, compared.later))
    assert then.levels is not None and now.levels is not None
    assert then.levels.mean < now.levels.mean
    assert then.answered and then.answered <= then.invited
