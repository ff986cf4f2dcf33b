"""The demo's children and the plan of every child's case.

`_make_plans` decides, for all children at once, what each case will go through
(its kind and level, a barnehage-to-skole transition, a withdrawn or lapsing
consent, a handover, a reopening, the age, whether it has a fødselsnummer), with
the weights below; `_make_child` then makes up the child itself (name, municipality,
birth date, the moment its first case opens, a synthetic fødselsnummer).
`_workday` and `_random_moment` keep the simulated clock within office hours (the
story uses `_workday` too).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from domain.national_id import normalise_national_id, with_check_digits
from domain.values import age_on
from stafettlogg.demo.texts import BOYS, GIRLS, LAST
from stafettlogg.demo.world import END, MUNICIPALITY_WEIGHTS, START


def synthetic_national_id(birth: date, girl: bool, rng: random.Random, taken: set[str]) -> str:
    """A fødselsnummer with valid check digits (classic rule) for a birth date.

    Individual numbers 500-999 are those of children born 2000-2039; the third of
    them is even for girls and odd for boys.
    """
    stem = birth.strftime("%d%m%y")
    for _ in range(1000):
        individual = rng.randrange(500, 1000)
        if (individual % 10 % 2 == 0) != girl:
            individual = individual - 1 if individual % 2 else individual + 1
            if not 500 <= individual <= 999:
                continue
        number = with_check_digits(f"{stem}{individual:03d}")
        if number is None or number in taken:
            continue
        if normalise_national_id(number) != number:  # pragma: no cover - a generator bug
            msg = "generated an invalid national id"
            raise AssertionError(msg)
        taken.add(number)
        return number
    msg = "no free national id for this birth date"  # pragma: no cover
    raise AssertionError(msg)


@dataclass
class _Child:
    first: str
    last: str
    girl: bool
    municipality: str
    age: int  # at the opening of the first case
    birth: date | None
    national_id: str | None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    def age_on(self, on: date) -> int | None:
        return age_on(self.birth, on)


@dataclass
class _Plan:
    kind: str  # l0-open, l0-closed, l1, l2, l3
    close: bool = False
    transition: str | None = None  # accepted, declined, cancelled
    withdraw: bool = False
    lapse: bool = False
    colleague: bool = False
    partner_handover: bool = False
    reopen: bool = False
    via_level1: bool = False
    youth: bool = False  # old enough to consent on their own
    national_id: bool = False  # the case is opened with a fødselsnummer
    age: int = 8  # at the opening (transition children: from the school year)
    start: datetime = START


KIND_WEIGHTS = {"l0-open": 0.08, "l0-closed": 0.13, "l1": 0.27, "l2": 0.28, "l3": 0.24}
# Days a plan of each kind needs to play out; most cases start early enough.
KIND_DAYS = {"l0-open": 0, "l0-closed": 40, "l1": 150, "l2": 220, "l3": 330}
AGE_WEIGHTS = (3, 4, 5, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 5, 4)
CLOSE_SHARE = {"l0-closed": 1.0, "l1": 0.6, "l2": 0.5, "l3": 0.35}


def _allocate(n: int, weights: dict[str, float]) -> list[str]:
    """Largest-remainder split of n into the weighted kinds (every kind once if n allows)."""
    total = sum(weights.values())
    raw = {k: n * w / total for k, w in weights.items()}
    counts = {k: int(v) for k, v in raw.items()}
    if n >= len(weights):
        counts = {k: max(c, 1) for k, c in counts.items()}
    left = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: raw[k] - int(raw[k]), reverse=True):
        if left <= 0:
            break
        counts[k] += 1
        left -= 1
    while sum(counts.values()) > n:  # the minimum of one pushed us over
        biggest = max(counts, key=lambda k: counts[k])
        counts[biggest] -= 1
    return [k for k, c in counts.items() for _ in range(c)]


def _share(rng: random.Random, items: list[int], share: float, minimum: int = 1) -> list[int]:
    if not items:
        return []
    count = min(len(items), max(minimum, round(share * len(items))))
    return rng.sample(items, count)


def _random_moment(rng: random.Random, low: datetime, high: datetime) -> datetime:
    span = int((high - low).total_seconds())
    return _workday(low + timedelta(seconds=rng.randrange(max(span, 1))), rng)


def _workday(moment: datetime, rng: random.Random) -> datetime:
    """Move a moment to a weekday, within office hours (07:30-15:00 UTC)."""
    day = moment.date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    minutes = rng.randrange(7 * 60 + 30, 15 * 60)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=UTC)


def _make_plans(n: int, rng: random.Random) -> list[_Plan]:
    kinds = _allocate(n, KIND_WEIGHTS)
    rng.shuffle(kinds)
    plans = [_Plan(kind=k) for k in kinds]
    by_kind: dict[str, list[int]] = {}
    for i, plan in enumerate(plans):
        by_kind.setdefault(plan.kind, []).append(i)
    l1, l2, l3 = by_kind.get("l1", []), by_kind.get("l2", []), by_kind.get("l3", [])

    # Barnehage to skole: some level-1 and level-2 children of five.
    transitions = _share(rng, l1 + l2, 0.18, minimum=3 if n >= 20 else 1)
    outcomes = ["accepted", "declined", "cancelled"]
    for j, i in enumerate(transitions):
        plans[i].transition = outcomes[j] if j < 3 else rng.choices(outcomes, (70, 15, 15))[0]
    partners = [i for i in l2 + l3 if plans[i].transition is None]
    withdraws = _share(rng, partners, 0.16)
    for i in withdraws:
        plans[i].withdraw = True
    for i in _share(rng, [i for i in partners if i not in withdraws], 0.16):
        plans[i].lapse = True
    for i in _share(rng, [i for i in l1 + l2 + l3 if plans[i].transition is None], 0.07):
        plans[i].colleague = True
    for i in _share(rng, l3, 0.2):
        plans[i].partner_handover = True
    for i in _share(rng, partners, 0.04):
        plans[i].youth = True
    for i in rng.sample(range(n), n // 2):  # about half the children have a number
        plans[i].national_id = True
    # Ages 0-17, every age once as soon as there are 18 children; more in 3-13.
    ages = _allocate(n, {str(age): w for age, w in enumerate(AGE_WEIGHTS)})
    rng.shuffle(ages)
    for plan, age in zip(plans, ages, strict=True):
        plan.age = 16 + rng.randrange(2) if plan.youth else int(age)
    for i in _share(rng, by_kind.get("l0-closed", []), 0.3):
        plans[i].reopen = True
    for plan in plans:
        plan.close = rng.random() < CLOSE_SHARE.get(plan.kind, 0.0)
        plan.via_level1 = plan.kind in ("l2", "l3") and rng.random() < 0.45
    return plans


def _make_child(
    rng: random.Random,
    plan: _Plan,
    taken_ids: set[str],
    taken_names: set[tuple[str, date | None]],
) -> _Child:
    girl = rng.random() < 0.5
    municipality = rng.choices(list(MUNICIPALITY_WEIGHTS), list(MUNICIPALITY_WEIGHTS.values()))[0]
    if plan.transition:
        # Starts school in August of the year Y and is born in Y-6; the case opens
        # in barnehage the autumn or winter before.
        year = 2026 if rng.random() < 0.7 else 2025
        low = max(START, datetime(year - 1, 9, 1, tzinfo=UTC))
        plan.start = _random_moment(rng, low, datetime(year, 3, 20, tzinfo=UTC))
        birth = date(year - 6, rng.randint(1, 12), rng.randint(1, 28))
        age = age_on(birth, plan.start.date()) or 0
    else:
        if plan.kind == "l0-open":
            plan.start = _random_moment(rng, END - timedelta(days=50), END - timedelta(days=3))
        else:
            latest = END - timedelta(days=KIND_DAYS[plan.kind])
            if rng.random() < 0.2:
                latest = END - timedelta(days=25)
            plan.start = _random_moment(rng, START, latest)
        # A birth date that makes the child `plan.age` years old when the case opens.
        birth = plan.start.date() - timedelta(days=365 * plan.age + rng.randrange(0, 365))
        age = age_on(birth, plan.start.date()) or 0
    known_birth = (
        plan.transition is not None or plan.youth or plan.national_id or rng.random() < 0.92
    )
    for _ in range(100):
        first = rng.choice(GIRLS if girl else BOYS)
        last = rng.choice(LAST)
        key = (f"{first} {last}", birth if known_birth else None)
        if key not in taken_names:
            taken_names.add(key)
            break
    national_id = None
    if plan.national_id:
        national_id = synthetic_national_id(birth, girl, rng, taken_ids)
    return _Child(
        first=first,
        last=last,
        girl=girl,
        municipality=municipality,
        age=age,
        birth=birth if known_birth else None,
        national_id=national_id,
    )
