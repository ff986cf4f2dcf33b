"""A synthetic, realistic demo data set, loaded only through the application's commands.

Four small municipalities in Lister (Agder) with services in every sector, an
inter-municipal PPT serving them all, an inter-municipal barnevern and BUP, and
several hundred children whose cases run from the first undring through level 0 to
levels 1-3: consents from guardians (and from young people old enough to consent
themselves), withdrawals and expiries, services joining and leaving, meetings,
actions and their evaluations (some late), handovers from barnehage to skole,
responsibility groups, coordinators, individual plans, satisfaction answers and
closings. Every name and identity number is made up; about half the children have
a synthetic fødselsnummer that is valid by the check-digit rules.

Everything is issued as the people of the scenario would issue it (the same
commands as the API uses), with `at=` from a simulated clock between
2025-01-01 and 2026-10-31. With the same `seed`, and an application built with
`demo_id_factory(seed)` as its `new_id`, two runs produce the same case ids and the
same case logs. A refusal by the domain while loading is a bug in this generator
and is not caught.

The package: `world` (the period, municipalities, services, workers), `texts`
(names and the Norwegian free texts), `children` (the children and the plan of each
child's case, synthetic fødselsnumre), `commands` (one case's single commands),
`story` (the phases of one case's story), `summary` (`DemoSummary`, counted back
from the store), and here `load_demo`, which puts them together.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import Callable
from datetime import date
from uuid import UUID

from domain.values import SECTORS
from stafettlogg.application import Stafettlogg
from stafettlogg.demo.children import _make_child, _make_plans, synthetic_national_id
from stafettlogg.demo.commands import _OutOfTime
from stafettlogg.demo.story import _CaseRun
from stafettlogg.demo.summary import DemoSummary, summarise
from stafettlogg.demo.survey import run_surveys
from stafettlogg.demo.training import record_trainings
from stafettlogg.demo.world import MUNICIPALITIES
from stafettlogg.settings import Settings
from stafettlogg.demo.world import (
    END,
    MUNICIPALITIES,
    SERVICES,
    START,
    SWEEP,
    ServiceDef,
    _build_world,
)

__all__ = [
    "END",
    "MUNICIPALITIES",
    "SERVICES",
    "START",
    "SWEEP",
    "DemoError",
    "DemoSummary",
    "Progress",
    "ServiceDef",
    "demo_id_factory",
    "load_demo",
    "store_is_empty",
    "summarise",
    "synthetic_national_id",
]

Progress = Callable[[int, int], None]


class DemoError(RuntimeError):
    """The demo cannot be loaded (for instance: the store already holds data)."""


def demo_id_factory(seed: int) -> Callable[[], UUID]:
    """A deterministic `new_id` for the application that loads the demo."""
    rng = random.Random(f"stafettlogg-demo-ids:{seed}")
    return lambda: UUID(int=rng.getrandbits(128), version=4)


def store_is_empty(app: Stafettlogg) -> bool:
    """No case and no registered service."""
    return next(iter(app.case_ids()), None) is None and not app.list_services()


def load_demo(
    app: Stafettlogg,
    *,
    seed: int,
    children: int = 400,
    progress: Progress | None = None,
) -> DemoSummary:
    """Load the demo data set into an empty store, through the application's commands.

    `progress(done, total)` is called after each child. For identical ids across
    runs, build `app` with `new_id=demo_id_factory(seed)`.
    """
    if children < 1:
        msg = "children must be at least 1"
        raise ValueError(msg)
    if not store_is_empty(app):
        msg = "the store already holds services or cases"
        raise DemoError(msg)
    rng = random.Random(seed)
    world = _build_world(rng)
    for service in SERVICES:
        app.register_service(
            world.admin,
            service_id=service.id,
            name=service.name,
            sector=service.sector,
            municipalities=list(service.municipalities),
            at=START,
        )
    assert {s.sector for s in SERVICES} == set(SECTORS)
    for person in world.people():
        app.register_staff(
            world.admin, staff_id=person.user, name=world.names[person.user],
            service=person.service, roles=sorted(person.roles),
            municipalities=sorted(person.municipalities), at=START,
        )

    plans = _make_plans(children, rng)
    taken_ids: set[str] = set()
    taken_names: set[tuple[str, date | None]] = set()
    case_ids: list[UUID] = []
    for done, plan in enumerate(plans, start=1):
        # Each child gets its own stream of choices, so that one child's story does
        # not shift the next one's.
        child_rng = random.Random(rng.getrandbits(64))
        child = _make_child(child_rng, plan, taken_ids, taken_names)
        run: _CaseRun | None = _CaseRun(app, world, child_rng, child, plan)
        while run is not None:
            with contextlib.suppress(_OutOfTime):  # the period ended: the case stays as it is
                run.run()
            run.nightly_expiry()
            if run.case_id is not None:
                case_ids.append(run.case_id)
            run = run.reopen(child_rng) if plan.reopen and run.plan is plan else None
        if progress is not None:
            progress(done, len(plans))
    # The last nightly run of the period.
    for case_id in case_ids:
        app.expire_consents(case_id, at=SWEEP)
    # The training register, after the cases (its own random stream: the cases of a
    # seed do not change with it).
    record_trainings(app, world, seed)
    # The staff survey, last (a stream of its own too).
    run_surveys(app, world, seed)
    return summarise(app, seed)


def with_demo_names(settings: Settings) -> Settings:
    """The settings with the demo's municipalities named, where no name is set."""
    return dataclasses.replace(
        settings, municipality_names={**MUNICIPALITIES, **settings.municipality_names})
