"""The demo's training register: who of the demo's staff had which BTI training, and
when, recorded by the demo's admin as a municipality would after its courses; and a
unit leader (enhetsleder) for each of Lyngdal's own services, to sign in as.

Drawn from a random stream of its own (so that the cases stay the same for a seed)
and recorded after the cases, one course day per training each half-year, so that
the shares grow through the period as they do where BTI is being introduced."""

from __future__ import annotations

import random
from datetime import date

from domain.training import TRAININGS
from stafettlogg.application import Stafettlogg
from stafettlogg.demo.texts import LAST, WORKER_FIRST
from stafettlogg.demo.world import END, START, _ascii_user, _World

# How likely a worker is to have been on each course by the end of the period.
REACH = {
    "handlingsveileder": 0.8, "tegn-og-signaler": 0.65, "ta-opp-bekymring": 0.55,
    "tilpasse-oppfolging": 0.4, "tjenester-og-arenaer": 0.7, "stafettloggen": 0.75,
    "stafettholderrollen": 0.35,
}
assert tuple(REACH) == TRAININGS


def course_days(rng: random.Random) -> list[date]:
    """A course day in each half-year of the period (a Tuesday to Thursday)."""
    days = []
    for year in range(START.year, END.year + 1):
        for first_month in (1, 8):
            month = first_month + rng.randrange(0, 4)
            day = date(year, month, 10 + rng.randrange(0, 15))
            while day.weekday() not in (1, 2, 3):
                day = date.fromordinal(day.toordinal() + 1)
            if START.date() <= day <= END.date():
                days.append(day)
    return days


LEADERS_IN = "4225"  # the municipality whose own services have a unit leader


def register_leaders(app: Stafettlogg, world: _World, rng: random.Random) -> list[str]:
    """A unit leader for each service of LEADERS_IN alone (not inter-municipal)."""
    taken = {person.user for person in world.people()}
    leaders = []
    for service in world.services.values():
        if service.municipalities != (LEADERS_IN,):
            continue
        while True:
            first, last = rng.choice(WORKER_FIRST), rng.choice(LAST)
            user = _ascii_user(first, last)
            if user not in taken:
                break
        taken.add(user)
        app.register_staff(world.admin, staff_id=user, name=f"{first} {last}",
                           service=service.id, roles=["leader"],
                           municipalities=[LEADERS_IN], at=START)
        leaders.append(user)
    return leaders


def record_trainings(app: Stafettlogg, world: _World, seed: int) -> int:
    """Register the unit leaders and record the demo's trainings; how many trainings
    were recorded."""
    rng = random.Random(seed * 7919 + 15)
    register_leaders(app, world, rng)
    days = {training: course_days(rng) for training in TRAININGS}
    recorded = 0
    for person in world.people():
        if person.service is None:
            continue
        for training, reach in REACH.items():
            if rng.random() < reach:
                on = rng.choice(days[training])
                recorded += app.record_training(world.admin, person.user, training=training,
                                                on=on, at=END)
    return recorded
