"""The demo's world: its period, the municipalities, their services and the workers.

Four small municipalities in Lister (Agder), each with two barnehager, two
barneskoler and an ungdomsskole, helsestasjon, NAV, psykisk helse, a legesenter and
a koordinerende enhet (Familiens hus); the inter-municipal PPT, BUP, upper secondary
schools and barnevern (Flekkefjord has a barnevern of its own). Every place name is
invented. `_build_world` draws the workers of every service (and each
municipality's coordinator) from the seeded random stream; it is the first thing
`load_demo` draws from it.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from domain.values import Actor
from stafettlogg.demo.texts import LAST, WORKER_FIRST

START = datetime(2025, 1, 1, tzinfo=UTC)  # services are registered; cases open after
END = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)  # the last command of the period
SWEEP = datetime(2026, 10, 31, 1, 0, tzinfo=UTC)  # the last nightly run of expire_consents


MUNICIPALITIES: dict[str, str] = {
    "4206": "Farsund",
    "4207": "Flekkefjord",
    "4225": "Lyngdal",
    "4227": "Kvinesdal",
}
# Weights roughly by number of inhabitants.
MUNICIPALITY_WEIGHTS = {"4206": 9.8, "4207": 9.2, "4225": 10.6, "4227": 6.1}
ALL = tuple(MUNICIPALITIES)


@dataclass(frozen=True)
class ServiceDef:
    id: str
    name: str
    sector: str
    municipalities: tuple[str, ...]
    kind: str = ""  # finer kind inside a sector: barneskole, ungdomsskole, vgs, koordinerende


def _local_services(
    number: str, name: str, slug: str, places: dict[str, list[str]]
) -> list[ServiceDef]:
    bhg1, bhg2 = places["barnehage"]
    sk1, sk2 = places["skole"]
    us = places["ungdomsskole"][0]
    m = (number,)
    return [
        ServiceDef(f"{slug}-bhg-{_slug(bhg1)}", f"{bhg1} barnehage", "barnehage", m),
        ServiceDef(f"{slug}-bhg-{_slug(bhg2)}", f"{bhg2} barnehage", "barnehage", m),
        ServiceDef(f"{slug}-skole-{_slug(sk1)}", f"{sk1} skole", "skole", m, "barneskole"),
        ServiceDef(f"{slug}-skole-{_slug(sk2)}", f"{sk2} skole", "skole", m, "barneskole"),
        ServiceDef(f"{slug}-skole-{_slug(us)}", f"{us} ungdomsskole", "skole", m, "ungdomsskole"),
        ServiceDef(
            f"{slug}-helsestasjon",
            f"Helsestasjon og skolehelsetjeneste {name}",
            "helsestasjon",
            m,
        ),
        ServiceDef(f"{slug}-nav", f"NAV {name}", "nav", m),
        ServiceDef(f"{slug}-psykisk-helse", f"Psykisk helse og rus {name}", "psykisk-helse", m),
        ServiceDef(f"{slug}-legesenter", f"{name} legesenter", "fastlege", m),
        ServiceDef(
            f"{slug}-familiens-hus",
            f"Familiens hus {name} (koordinerende enhet)",
            "annet",
            m,
            "koordinerende",
        ),
    ]


def _slug(text: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a"})
    ascii_text = unicodedata.normalize("NFKD", text.translate(table)).encode("ascii", "ignore")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.decode().lower()).strip("-")


# Invented place names; any likeness to a real unit is chance.
_PLACES: dict[str, dict[str, list[str]]] = {
    "4206": {
        "barnehage": ["Fyrlykta", "Tjørveneset"],
        "skole": ["Strandå", "Lundevika"],
        "ungdomsskole": ["Havnevik"],
    },
    "4207": {
        "barnehage": ["Blåbærtoppen", "Sjøsprøyt"],
        "skole": ["Kløvermoen", "Elvebakken"],
        "ungdomsskole": ["Brattland"],
    },
    "4225": {
        "barnehage": ["Solsikken", "Lindebakken"],
        "skole": ["Heiane", "Austad"],
        "ungdomsskole": ["Rom"],
    },
    "4227": {
        "barnehage": ["Trollskogen", "Knabenfjell"],
        "skole": ["Fedaheia", "Storekvina"],
        "ungdomsskole": ["Kvinlog"],
    },
}

SERVICES: list[ServiceDef] = [
    *(
        s
        for number, name in MUNICIPALITIES.items()
        for s in _local_services(number, name, _slug(name), _PLACES[number])
    ),
    ServiceDef("ppt-lister", "PPT Lister", "ppt", ALL),
    ServiceDef(
        "barnevern-lister", "Barnevernstjenesten i Lister", "barnevern", ("4206", "4225", "4227")
    ),
    ServiceDef("barnevern-flekkefjord", "Flekkefjord barnevernstjeneste", "barnevern", ("4207",)),
    ServiceDef("bup-lister", "BUP Lister, Sørlandet sykehus", "bup", ALL),
    ServiceDef("vgs-vestkysten", "Vestkysten videregående skole", "skole", ("4206", "4225"), "vgs"),
    ServiceDef("vgs-fjordbyen", "Fjordbyen videregående skole", "skole", ("4207", "4227"), "vgs"),
]


def _ascii_user(first: str, last: str) -> str:
    return f"{_slug(first)}.{_slug(last)}"


@dataclass
class _World:
    services: dict[str, ServiceDef]
    workers: dict[str, list[Actor]]  # per service
    coordinators: dict[str, Actor]  # per municipality: a coordinator-role actor
    admin: Actor
    evaluator: Actor
    names: dict[str, str]  # user id -> the person's name, for the staff directory
    # How often each sector was asked to join a case: a sector not yet asked comes
    # first, so that even a small data set has every sector at work.
    sectors_asked: Counter[str] = field(default_factory=Counter)

    def people(self) -> list[Actor]:
        """Everyone of the demo, for the staff directory: the admin, the evaluator,
        the workers of every service and the coordinators."""
        return [self.admin, self.evaluator, *(a for w in self.workers.values() for a in w),
                *self.coordinators.values()]

    def in_municipality(
        self, number: str, sector: str, kind: str | None = None
    ) -> list[ServiceDef]:
        return [
            s
            for s in self.services.values()
            if s.sector == sector
            and number in s.municipalities
            and (kind is None or s.kind == kind)
        ]


def _build_world(rng: random.Random) -> _World:
    used: set[str] = set()
    workers: dict[str, list[Actor]] = {}
    coordinators: dict[str, Actor] = {}
    names: dict[str, str] = {"admin.demo": "Demo Administrator",
                             "evaluator.demo": "Demo Evaluator"}

    def new_user() -> str:
        while True:
            first, last = rng.choice(WORKER_FIRST), rng.choice(LAST)
            user = _ascii_user(first, last)
            if user not in used:
                used.add(user)
                names[user] = f"{first} {last}"
                return user

    for service in SERVICES:
        count = 4 if len(service.municipalities) > 1 else 3
        workers[service.id] = [
            Actor(
                user=new_user(),
                service=service.id,
                roles=frozenset({"worker"}),
                municipalities=frozenset(service.municipalities),
            )
            for _ in range(count)
        ]
        if service.kind == "koordinerende":
            number = service.municipalities[0]
            coordinators[number] = Actor(
                user=new_user(),
                service=service.id,
                roles=frozenset({"worker", "coordinator"}),
                municipalities=frozenset({number}),
            )
    return _World(
        services={s.id: s for s in SERVICES},
        workers=workers,
        coordinators=coordinators,
        admin=Actor(user="admin.demo", roles=frozenset({"admin"})),
        evaluator=Actor(
            user="evaluator.demo", roles=frozenset({"evaluator"}),
            municipalities=frozenset(m for s in SERVICES for m in s.municipalities),
        ),
        names=names,
    )
