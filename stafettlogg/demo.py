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
"""

from __future__ import annotations

import contextlib
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from domain import events as ev
from domain.case import Case
from domain.consent import CHILD_VIEW_AGE, required_consenter
from domain.national_id import normalise_national_id
from domain.values import SECTORS, Actor, age_on
from stafettlogg.application import Stafettlogg

START = datetime(2025, 1, 1, tzinfo=UTC)  # services are registered; cases open after
END = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)  # the last command of the period
SWEEP = datetime(2026, 10, 31, 1, 0, tzinfo=UTC)  # the last nightly run of expire_consents

Progress = Callable[[int, int], None]


class DemoError(RuntimeError):
    """The demo cannot be loaded (for instance: the store already holds data)."""


class _OutOfTime(Exception):
    """The simulated clock reached the end of the period: the case stays as it is."""


def demo_id_factory(seed: int) -> Callable[[], UUID]:
    """A deterministic `new_id` for the application that loads the demo."""
    rng = random.Random(f"stafettlogg-demo-ids:{seed}")
    return lambda: UUID(int=rng.getrandbits(128), version=4)


def store_is_empty(app: Stafettlogg) -> bool:
    """No case and no registered service."""
    return next(iter(app.case_ids()), None) is None and not app.list_services()


# --- the world: municipalities, services, people ---------------------------------

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


def _words(text: str) -> list[str]:
    return text.split()


GIRLS = _words(
    "Emma Nora Sofie Olivia Ella Ingrid Leah Sara Maja Frida Astrid Hedda Selma Tiril Vilde "
    "Amalie Hanna Ida Jenny Mathilde Thea Live Aurora Iben Julie Eline Marte Sigrid Tuva "
    "Signe Amina Maria Alma Oda Mia Kaja Johanne Andrea Linnea Agnes"
)
BOYS = _words(
    "Jakob Noah Emil Lukas Oliver Filip William Isak Aksel Theodor Elias Magnus Liam Henrik "
    "Ludvig Johannes Mathias Sander Tobias Jonas Even Sebastian Kasper Olav Tore Håkon Ola "
    "Sindre Eirik Mohammed Adam Ali Markus Leon Benjamin Vetle Brage Torstein Aron Gabriel"
)
LAST = _words(
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen "
    "Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen "
    "Halvorsen Henriksen Lund Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg "
    "Svendsen Eide Knutsen Martinsen Paulsen Bakken Kristoffersen Mathisen Lie Amundsen "
    "Nguyen Rasmussen Ali Lunde Solheim Berge Moe Nygård Bakke Kristensen Fredriksen Holm "
    "Lien Hauge Christensen Andresen Nielsen Knudsen Evensen Sæther Aas Myhre Ahmed Haugland "
    "Thomassen Sivertsen Simonsen Tjørhom Tonstad Gyland Eikeland Kvinlaug Haddeland "
    "Fidjeland Omdal Stokke Skeibrok Vatne Egeland Ågedal Try Tjomsland Sunde Birkeland "
    "Rosseland Tveit Brekke Abrahamsen Madsen"
)
WORKER_FIRST = _words(
    "Kari Anne Ingrid Hilde Marit Tone Siri Kristin Camilla Heidi Lene Marianne Silje "
    "Ragnhild Gunn Trine Åse Randi Ellen Linda Per Ole Lars Knut Geir Morten Terje Øyvind "
    "Arne Bjørn Rune Frode Stian Tor Espen Kjetil Svein Jon Vidar Hans"
)


def _ascii_user(first: str, last: str) -> str:
    return f"{_slug(first)}.{_slug(last)}"


@dataclass
class _World:
    services: dict[str, ServiceDef]
    workers: dict[str, list[Actor]]  # per service
    coordinators: dict[str, Actor]  # per municipality: a coordinator-role actor
    admin: Actor
    # How often each sector was asked to join a case: a sector not yet asked comes
    # first, so that even a small data set has every sector at work.
    sectors_asked: Counter[str] = field(default_factory=Counter)

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

    def new_user() -> str:
        while True:
            user = _ascii_user(rng.choice(WORKER_FIRST), rng.choice(LAST))
            if user not in used:
                used.add(user)
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
    )


# --- texts ------------------------------------------------------------------------

CONCERNS = {
    "small": [
        "Barnet har lite språk for alderen og trekker seg unna i lek med andre barn.",
        "Personalet undrer seg over at {navn} ofte kommer sulten og sliten i barnehagen.",
        "{navn} får sterke sinneutbrudd og slår andre barn når noe blir vanskelig.",
        "Helsesykepleier er bekymret for vektutviklingen; barnet har falt over to kurvebånd.",
        "Mor har fortalt at hun strever med å få hverdagen til å gå rundt.",
        "Barnet virker redd når det blir hentet, og vil ikke gå hjem.",
        "{navn} har forsinket motorisk utvikling, snubler mye og unngår klatring.",
        "Barnet har mye fravær, og foreldrene er vanskelige å få tak i.",
        "{navn} sier lite og søker sjelden kontakt med de voksne på avdelingen.",
        "Far har fortalt at det har vært mye uro hjemme etter samlivsbruddet.",
    ],
    "school": [
        "Eleven har mye fravær og virker urolig og ukonsentrert i timene.",
        "{navn} forteller at det er mye krangling hjemme og at det er vanskelig å sove.",
        "Kontaktlærer undrer seg over at {navn} ofte er alene i friminuttene.",
        "Eleven strever med lesing og skriving og gir raskt opp.",
        "{navn} har flere ganger kommet på skolen uten matpakke og i for lite klær.",
        "Gjentatte konflikter i klassen; eleven reagerer med sinne og går fra skolen.",
        "Eleven har fortalt helsesykepleier om vondt i magen nesten hver morgen.",
        "Foreldrene er bekymret for at {navn} blir utestengt og plaget på nett.",
        "Eleven virker trist og har sluttet på fotballtreningen.",
        "Store svingninger i humøret; {navn} sovner i timene.",
    ],
    "youth": [
        "Ungdommen har sluttet på fritidsaktiviteter og isolerer seg på rommet.",
        "Bekymring for rusbruk og sene kvelder i helgene.",
        "{navn} har høyt fravær og sier at skolen ikke har noen hensikt.",
        "Helsesykepleier er bekymret for spiseforstyrrelse; {navn} har gått mye ned i vekt.",
        "Eleven har fortalt en venn om selvskading, og vennen har sagt fra til kontaktlærer.",
        "{navn} har flyttet ut hjemmefra og bor hos venner.",
        "Ungdommen har vært i konflikt med politiet og har lite kontakt med foreldrene.",
        "Eleven har sterk angst før prøver og orker ikke å gå på skolen.",
        "{navn} forteller om press og kontroll hjemme om hvem hun eller han kan være med.",
        "Ungdommen har avbrutt videregående og har verken jobb eller skoleplass.",
    ],
}

STEP_TEXTS = {
    "vurdering": [
        "Vi har sett tegnene over tid og vurderer at undringen bør følges opp.",
        "Observasjoner fra flere ansatte peker i samme retning.",
        "Vurdert sammen med leder: dette er mer enn en forbigående fase.",
        "Tegn og signaler gjennomgått etter handlingsveilederen.",
    ],
    "konkretisering": [
        "Konkretisert hva vi har sett: dato, situasjon og hvordan {navn} reagerte.",
        "Skrevet ned tre konkrete situasjoner fra de siste to ukene.",
        "Observasjonene er beskrevet uten tolkning og gjennomgått med leder.",
        "Beskrevet endringer i oppmøte, humør og samspill den siste måneden.",
    ],
    "deling": [
        "Delt undringen med foreldrene i samtale; de kjenner seg igjen.",
        "Snakket med {navn} om hvordan det går; det er vanskelig for tiden.",
        "Drøftet anonymt i tverrfaglig team.",
        "Foreldrene er invitert til samtale og ønsker hjelp.",
    ],
}

DECISIONS = {
    "close": [
        "Beslutning: bekymringen er avklart etter samtale med foreldrene; ingen videre tiltak.",
        "Beslutning: undringen er ikke bekreftet. Vi avslutter og følger med som vanlig.",
        "Beslutning: foreldrene har selv tatt grep, og situasjonen er bedret. Avslutter.",
    ],
    1: [
        "Beslutning: videre til nivå 1 med tiltak i egen tjeneste.",
        "Beslutning: vi setter inn tiltak hos oss i samarbeid med foreldrene (nivå 1).",
    ],
    2: [
        "Beslutning: videre til nivå 2; foreldrene ønsker samarbeid med én tjeneste til.",
        "Beslutning: behov for en annen tjenestes kompetanse; nivå 2.",
    ],
    3: [
        "Beslutning: sammensatte behov, saken løftes til nivå 3 med flere tjenester.",
        "Beslutning: flere tjenester må inn samtidig; nivå 3 med ansvarsgruppe.",
    ],
    "wait": [
        "Beslutning: vi følger med i fire uker og vurderer på nytt.",
    ],
}

LEVEL_REASONS = {
    1: ["Tiltak i egen tjeneste i samarbeid med familien."],
    2: [
        "Behov for samarbeid med én tjeneste til.",
        "Trenger en annen tjenestes kompetanse i tillegg til vår egen.",
    ],
    3: [
        "Sammensatte behov; flere tjenester må samarbeide.",
        "Situasjonen krever en koordinert innsats fra flere tjenester.",
    ],
    "withdrawn": [
        "Familien vil ikke lenger samarbeide med den andre tjenesten; tiltak i egen tjeneste.",
    ],
    "down": [
        "Situasjonen er bedret; samarbeidet trappes ned.",
        "Færre tjenester trengs nå; videre oppfølging på lavere nivå.",
    ],
}

ENTRIES = {
    "observation": [
        "Rolig uke; {navn} deltok i fellesaktivitetene.",
        "Ny episode med sinne; løst ved at en voksen satt sammen med {navn}.",
        "{navn} kom for sent tre dager denne uka.",
        "Virker mer opplagt etter at rutinene hjemme er endret.",
        "Trakk seg unna i gruppearbeid, men tok kontakt med en voksen etterpå.",
    ],
    "conversation": [
        "Samtale med mor: hverdagen oppleves mer stabil.",
        "Samtale med {navn}: sier at det er bedre hjemme nå.",
        "Telefon med far om oppmøte og søvnrutiner.",
        "Samtale med foreldrene; de opplever at de blir hørt.",
        "Samtale med {navn} om hva som hjelper i vanskelige situasjoner.",
    ],
    "note": [
        "Avtalt nytt møte etter høstferien.",
        "Foreldrene har fått informasjon om foreldreveiledning (ICDP).",
        "Kontaktinformasjon til helsesykepleier er gitt til familien.",
        "Tolk bestilt til neste samtale med foreldrene.",
    ],
    "positive": [
        "Lysglimt: {navn} tok kontakt med de andre i gruppa i dag.",
        "Lysglimt: en hel uke uten fravær!",
        "Lysglimt: {navn} fortalte stolt om helgen med familien.",
        "Lysglimt: {navn} har fått en ny venn.",
    ],
    "decision": [
        "Beslutning i samarbeidsmøte: tiltakene fortsetter fram til neste evaluering.",
        "Beslutning: vi ber om en ny kartlegging før neste møte.",
    ],
}
FIRST_OBSERVATIONS = [
    "Observert i dag: {navn} satt alene store deler av dagen.",
    "Flere ansatte har lagt merke til det samme den siste tiden.",
    "Samme mønster som tidligere i uka; undringen skrives ned.",
    "{navn} virket urolig ved levering og roet seg først etter en time.",
    "Foreldrene ble ikke med på avtalt samtale i dag.",
]
PARTNER_ENTRIES = [
    "Første samtale gjennomført; {navn} var trygg og fortalte mye.",
    "Kartlegging startet; resultatene legges fram på neste møte.",
    "Har vært på hjemmebesøk; foreldrene er motiverte.",
    "Tiltaket er i gang; oppmøtet har vært godt.",
]

PURPOSES = [
    "Samarbeid om tiltak rundt {navn} i BTI-saken.",
    "Deling av observasjoner og deltakelse i samarbeidsmøter.",
    "Felles kartlegging og utarbeiding av tiltak.",
    "Samarbeid i ansvarsgruppe og arbeid med individuell plan.",
]
HANDOVER_PURPOSE = "Overføring av stafettloggen til skolen ved skolestart."
CHILD_VIEWS = [
    "{navn} ønsker samarbeidet, men vil ikke at alt deles med foreldrene.",
    "Ungdommen er enig i samarbeidet og vil delta på møtene selv.",
    "Ønsker hjelp, men vil selv bestemme hva som fortelles til læreren.",
    "{navn} synes det er greit at tjenestene snakker sammen.",
]
WITHDRAW_REASONS = {
    "guardian": [
        "Foreldrene ønsker ikke lenger at denne tjenesten deltar.",
        "Familien vil avslutte samarbeidet med tjenesten, men fortsette med de andre.",
    ],
    "child": [
        "Ungdommen trekker samtykket og ønsker ikke kontakt med tjenesten nå.",
        "{navn} vil ikke at tjenesten skal få mer informasjon.",
    ],
}
MEETING_MINUTES = [
    "Samarbeidsmøte med foreldrene. Tiltakene gjennomgått; enighet om tett oppfølging.",
    "Oppstartsmøte: foreldrene beskrev situasjonen hjemme, tjenestene avklarte roller.",
    "Statusmøte: noe bedring i hverdagen, fortsatt uro hjemme. Ny evaluering om seks uker.",
    "Møte med {navn} og foreldrene; {navn} fikk si sin mening om tiltakene.",
]
GROUP_MINUTES = [
    "Ansvarsgruppemøte: status fra hver tjeneste, ny evaluering om seks uker.",
    "Møte om individuell plan: mål og tiltak gjennomgått med familien.",
    "Ansvarsgruppemøte: koordinator oppsummerer; tiltakene justeres.",
]
ACTIONS = {
    "barnehage": [
        "Fast voksen i overganger og ved henting.",
        "Språkgruppe to ganger i uka.",
        "Lek i mindre grupper med en voksen til stede.",
    ],
    "skole": [
        "Tilpasset timeplan med faste pauser.",
        "Ukentlig samtale med kontaktlærer.",
        "Leksehjelp to ettermiddager i uka.",
        "Tett kontakt hjem–skole med ukentlig oppsummering.",
    ],
    "helsestasjon": [
        "Samtaler med helsesykepleier hver uke.",
        "Oppfølging av vekt og ernæring hver måned.",
        "Foreldreveiledning (ICDP) i åtte samlinger.",
    ],
    "ppt": [
        "Sakkyndig vurdering av behovet for spesialundervisning.",
        "Veiledning av personalet i å møte barnets behov.",
        "Kartlegging av språk og begrepsforståelse.",
    ],
    "barnevern": [
        "Hjelpetiltak: råd og veiledning til foreldrene.",
        "Besøkshjem annenhver helg.",
        "Familieveiledning hjemme hver fjortende dag.",
    ],
    "nav": [
        "Oppfølging mot lærlingplass eller arbeidstrening.",
        "Økonomisk rådgivning til familien.",
        "Aktivitetsplan med faste møter hver uke.",
    ],
    "psykisk-helse": [
        "Samtaler med psykisk helse-tjenesten hver uke.",
        "Mestringskurs for angst i ungdomsgruppe.",
        "Oppfølging av rusbruk med faste samtaler.",
    ],
    "bup": [
        "Utredning for angst og depresjon.",
        "Behandlingssamtaler annenhver uke.",
        "Foreldrekurs om barnets vansker.",
    ],
    "fastlege": [
        "Legeundersøkelse og oppfølging av søvn.",
        "Henvisning til spesialisthelsetjenesten.",
        "Oppfølging av medisinering.",
    ],
    "annet": [
        "Fritidskontakt en kveld i uka.",
        "Foreldregruppe i Familiens hus.",
        "Koordinering av tjenestene rundt familien.",
    ],
}
EVALUATIONS = {
    "continue": [
        "Tiltaket virker, men trenger mer tid. Fortsetter.",
        "Noe bedring; vi fortsetter som avtalt.",
    ],
    "adjusted": [
        "Tiltaket justeres: færre, men lengre samtaler.",
        "Tidspunktet endres etter ønske fra familien.",
    ],
    "completed": [
        "Målet er nådd; tiltaket avsluttes.",
        "Tiltaket har virket godt og avsluttes etter avtale.",
    ],
    "stopped": [
        "Tiltaket ga ikke ønsket effekt og avsluttes; nytt tiltak vurderes.",
        "Familien ønsket å avslutte tiltaket.",
    ],
}
HANDOVER_NOTES = {
    "school": "Overgang barnehage–skole: stafetten overføres til skolen ved skolestart.",
    "colleague": "Stafettholder slutter i stillingen; stafetten overføres til en kollega.",
    "partner": "Stafetten overføres til tjenesten som har hovedansvaret framover.",
}
DECLINE_REASONS = [
    "Barnet skal begynne på en annen skole enn først meldt.",
    "Barnet har fått plass ved en annen skole etter søknad fra foreldrene.",
]
CLOSE_NOTES = {
    "concern-resolved": [
        "Bekymringen er ikke lenger til stede; familien er fornøyd med hjelpen.",
        "Målene er nådd, og familien klarer seg godt nå.",
    ],
    "moved-away": [
        "Familien har flyttet; foreldrene vet hvordan de kontakter tjenestene der.",
    ],
    "transferred-to-other-service": [
        "Videre oppfølging skjer i tjenestens eget system.",
    ],
    "family-declined": [
        "Familien ønsker ikke videre samarbeid.",
    ],
    "other": [
        "Saken avsluttes etter avtale med familien.",
    ],
}


# --- children -----------------------------------------------------------------------

_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(weights: tuple[int, ...], digits: list[int]) -> int | None:
    k = 11 - sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
    return None if k == 10 else 0 if k == 11 else k


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
        digits = [int(c) for c in f"{stem}{individual:03d}"]
        k1 = _check_digit(_K1, digits)
        if k1 is None:
            continue
        k2 = _check_digit(_K2, [*digits, k1])
        if k2 is None:
            continue
        number = f"{stem}{individual:03d}{k1}{k2}"
        if number in taken:
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


LEVEL_OF_KIND = {"l0-open": 0, "l0-closed": 0, "l1": 1, "l2": 2, "l3": 3}
KIND_WEIGHTS = {"l0-open": 0.08, "l0-closed": 0.13, "l1": 0.27, "l2": 0.28, "l3": 0.24}
# Days a plan of each kind needs to play out; most cases start early enough.
KIND_DAYS = {"l0-open": 0, "l0-closed": 40, "l1": 150, "l2": 220, "l3": 330}
# How often each closing reason (domain.values.CLOSE_REASONS) is chosen.
CLOSE_REASON_WEIGHTS = {
    "concern-resolved": 70,
    "moved-away": 10,
    "transferred-to-other-service": 8,
    "family-declined": 7,
    "other": 5,
}
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


# Who opens a case for a child of an age, and which services are asked to join.
OPENERS = {
    "small": (("helsestasjon", 35), ("barnehage", 55), ("fastlege", 4), ("annet", 6)),
    "school": (
        ("skole", 62),
        ("helsestasjon", 16),
        ("annet", 6),
        ("fastlege", 5),
        ("ppt", 4),
        ("barnevern", 4),
        ("bup", 3),
    ),
    "youth": (
        ("skole", 45),
        ("helsestasjon", 18),
        ("psykisk-helse", 12),
        ("nav", 6),
        ("annet", 6),
        ("fastlege", 5),
        ("barnevern", 4),
        ("bup", 4),
    ),
}
PARTNERS = {
    "small": ("ppt", "helsestasjon", "barnehage", "barnevern", "fastlege", "annet", "bup"),
    "school": ("ppt", "helsestasjon", "skole", "barnevern", "bup", "annet", "fastlege"),
    "youth": ("helsestasjon", "bup", "psykisk-helse", "skole", "nav", "barnevern", "fastlege"),
}


def _age_group(age: int) -> str:
    return "small" if age <= 5 else "school" if age <= 12 else "youth"


def _school_kind(age: int) -> str:
    return "barneskole" if age <= 12 else "ungdomsskole" if age <= 15 else "vgs"


# --- one case --------------------------------------------------------------------


class _CaseRun:
    """Plays one child's case, command by command, on a simulated clock."""

    def __init__(
        self, app: Stafettlogg, world: _World, rng: random.Random, child: _Child, plan: _Plan
    ) -> None:
        self.app = app
        self.world = world
        self.rng = rng
        self.child = child
        self.plan = plan
        self.t = plan.start
        self.age = child.age if child.birth is None else age_on(child.birth, plan.start.date()) or 0
        # A child about to start school is still a barnehage child.
        self.group = "small" if plan.transition else _age_group(self.age)
        self.contacts: dict[str, Actor] = {}
        self.excluded: set[str] = set()  # services the family said no to
        self.separate: set[str] = set()  # services with a consent of their own
        self.closed = False
        self.case_id: UUID | None = None
        self.holder: Actor | None = None
        self.opener: ServiceDef | None = None

    # helpers ---------------------------------------------------------------------

    def text(self, options: list[str]) -> str:
        return self.rng.choice(options).format(navn=self.child.first)

    def advance(self, low: float, high: float) -> datetime:
        """Move the clock on by low..high days (0: later the same day)."""
        days = self.rng.uniform(low, high)
        if days < 1:
            moment = self.t + timedelta(minutes=self.rng.randrange(10, 120))
            if moment.hour >= 15 or moment.date() != self.t.date():
                moment = _workday(self.t + timedelta(days=1), self.rng)  # tomorrow morning
        else:
            moment = _workday(self.t + timedelta(days=days), self.rng)
        return self.move_to(moment)

    def move_to(self, moment: datetime) -> datetime:
        moment = max(moment, self.t + timedelta(minutes=1))
        if moment > END:
            raise _OutOfTime
        self.t = moment
        return moment

    def contact(self, service_id: str) -> Actor:
        actor = self.contacts.get(service_id)
        if actor is None:
            actor = self.rng.choice(self.world.workers[service_id])
            self.contacts[service_id] = actor
        return actor

    def case(self) -> Case:
        assert self.case_id is not None
        return self.app.get_case(self.case_id)

    def pick(self, sector: str, age: int | None = None) -> ServiceDef | None:
        municipality = self.child.municipality
        kind = None
        if sector == "skole":
            kind = _school_kind(age if age is not None else self.age)
        options = self.world.in_municipality(municipality, sector, kind)
        return self.rng.choice(options) if options else None

    def consenter(self) -> tuple[str, str | None]:
        """Who consents now (by age and the municipality's rule), and the child's own view."""
        age = self.child.age_on(self.t.date())
        youth_age = self.app.settings.youth_consent_age_for(self.child.municipality)
        who = required_consenter(age, youth_age)
        view = self.text(CHILD_VIEWS) if age is not None and age >= CHILD_VIEW_AGE else None
        return who, view

    # commands ---------------------------------------------------------------------

    def open(self) -> None:
        if self.plan.transition:
            sector = "barnehage"
        else:
            sectors, weights = zip(*OPENERS[self.group], strict=True)
            sector = self.rng.choices(sectors, weights)[0]
            if sector == "barnehage" and self.age < 1:
                sector = "helsestasjon"
        service = self.pick(sector)
        assert service is not None, sector
        self.opener = service
        self.holder = self.contact(service.id)
        case = self.app.open_case(
            self.holder,
            child_name=self.child.name,
            concern=self.text(CONCERNS[self.group]),
            birth_date=self.child.birth,
            national_id=self.child.national_id,
            municipality=self.child.municipality,
            at=self.t,
        )
        self.case_id = case.id

    def entry(self, kind: str, actor: Actor | None = None, texts: list[str] | None = None) -> None:
        self.app.add_entry(
            actor or self.holder,
            self.case_id,
            kind=kind,
            text=self.text(texts or ENTRIES[kind]),
            at=self.t,
        )

    def step(self, step: str, text: str | None = None) -> None:
        self.app.record_level0_step(
            self.holder,
            self.case_id,
            step=step,
            text=text or self.text(STEP_TEXTS[step]),
            at=self.t,
        )

    def level(self, level: int, reason: str | None = None) -> None:
        self.app.change_level(
            self.holder,
            self.case_id,
            level=level,
            reason=reason or self.text(LEVEL_REASONS[level]),
            at=self.t,
        )

    def consent(
        self, services: list[str], purpose: str | None = None, days: int | None = None
    ) -> UUID:
        who, view = self.consenter()
        days = days if days is not None else self.rng.randint(180, 365)
        return self.app.register_consent(
            self.holder,
            self.case_id,
            given_by=who,
            services=services,
            purpose=purpose or self.text(PURPOSES),
            valid_until=self.t.date() + timedelta(days=days),
            form=self.rng.choices(("written", "oral"), (7, 3))[0],
            child_view=view,
            at=self.t,
        ).result

    def ensure(
        self, services: Iterable[str], *, join: bool = True, purpose: str | None = None
    ) -> None:
        """Before services act in the case: a consent that covers them, and that they take part.

        A consent that has run out, or will within two weeks, is renewed; the renewal
        also covers the other services taking part whose consent is running out.
        """
        case = self.case()
        on = self.t.date()
        margin = on + timedelta(days=14)
        own = {case.state.opened_by_service, case.state.holder_service}

        def covered(service_id: str) -> bool:
            return service_id in own or any(
                c.status == "active" and service_id in c.services and c.valid_until >= margin
                for c in case.state.consents.values()
            )

        wanted = list(dict.fromkeys(services))
        missing = [s for s in wanted if not covered(s)]
        if missing:
            renew = [
                s
                for s in case.state.participants
                if s not in own and s not in self.excluded and not covered(s)
            ]
            together = list(dict.fromkeys([*missing, *renew]))
            bundle = [s for s in together if s not in self.separate]
            if bundle:
                self.consent(bundle, purpose)
            for service_id in together:
                if service_id in self.separate:
                    self.consent([service_id], purpose)
            case = self.case()
        if join:
            for service_id in wanted:
                if service_id not in case.state.participants:
                    self.advance(0, 0.5)
                    case = self.app.add_participant(
                        self.holder,
                        self.case_id,
                        service=service_id,
                        user=self.contact(service_id).user,
                        at=self.t,
                    ).case

    def meeting(self, services: list[str], minutes: list[str]) -> None:
        self.ensure(services)
        held_on = self.t.date()
        self.advance(0, 2)
        self.app.hold_meeting(
            self.holder,
            self.case_id,
            held_on=held_on,
            services=services,
            minutes=self.text(minutes),
            at=self.t,
        )

    def action(self, responsible: str) -> tuple[UUID, date]:
        self.advance(0, 0.5)
        self.ensure([responsible])
        sector = self.world.services[responsible].sector
        evaluate_by = self.t.date() + timedelta(weeks=self.rng.randint(4, 10))
        action_id = self.app.agree_action(
            self.holder,
            self.case_id,
            description=self.text(ACTIONS[sector]),
            responsible_service=responsible,
            evaluate_by=evaluate_by,
            at=self.t,
        ).result
        return action_id, evaluate_by

    def evaluate(self, action_id: UUID, evaluate_by: date, responsible: str, final: bool) -> None:
        if self.rng.random() < 0.12:
            target = evaluate_by + timedelta(days=self.rng.randint(3, 35))  # late
        else:
            target = evaluate_by - timedelta(days=self.rng.randint(0, 10))
        self.move_to(_workday(datetime.combine(target, time(9), tzinfo=UTC), self.rng))
        if responsible != self.holder_service:
            self.ensure([responsible])
            actor = self.contact(responsible)
        else:
            actor = self.holder
        outcome = (
            self.rng.choices(("completed", "stopped"), (8, 2))[0]
            if final
            else self.rng.choice(("continue", "adjusted"))
        )
        self.app.evaluate_action(
            actor,
            self.case_id,
            action_id,
            outcome=outcome,
            text=self.text(EVALUATIONS[outcome]),
            at=self.t,
        )

    @property
    def holder_service(self) -> str:
        assert self.holder is not None and self.holder.service is not None
        return self.holder.service

    def handover(self, to: Actor, note: str, outcome: str = "accepted") -> bool:
        """Ask `to` to take the baton; True when it was accepted."""
        handover_id = self.app.request_handover(
            self.holder,
            self.case_id,
            to_user=to.user,
            to_service=to.service or "",
            note=note,
            at=self.t,
        ).result
        self.advance(1, 14)
        if outcome == "declined":
            self.app.decline_handover(
                to, self.case_id, handover_id, reason=self.text(DECLINE_REASONS), at=self.t
            )
            return False
        if outcome == "cancelled":
            self.app.cancel_handover(self.holder, self.case_id, handover_id, at=self.t)
            return False
        self.app.accept_handover(to, self.case_id, handover_id, at=self.t)
        self.holder = to
        self.contacts[to.service or ""] = to
        return True

    def satisfaction(self) -> None:
        age = self.child.age_on(self.t.date())
        respondents = ["guardian"]
        if age is not None and age >= 12 and self.rng.random() < 0.6:
            respondents.append("child")
        for respondent in respondents:
            self.app.record_satisfaction(
                self.holder,
                self.case_id,
                respondent=respondent,
                score=self.rng.choices((1, 2, 3, 4, 5), (3, 6, 18, 40, 33))[0],
                at=self.t,
            )

    def close(self, reason: str | None = None) -> None:
        reasons = list(CLOSE_REASON_WEIGHTS)
        reason = reason or self.rng.choices(reasons, list(CLOSE_REASON_WEIGHTS.values()))[0]
        note = self.text(CLOSE_NOTES[reason]) if self.rng.random() < 0.8 else None
        self.app.close_case(self.holder, self.case_id, reason=reason, note=note, at=self.t)
        self.closed = True

    # phases ----------------------------------------------------------------------

    def level0(self, decision: str | int | None) -> None:
        """The four steps; `decision` None stops before the decision (still at level 0)."""
        self.advance(0, 3)
        self.entry("observation", texts=FIRST_OBSERVATIONS)
        overdue = self.rng.random() < 0.15
        steps = ["vurdering", "konkretisering", "deling"]
        if decision is None:
            steps = steps[: self.rng.randint(0, 3)]
        for step in steps:
            self.advance(1, 6 if overdue else 3)
            self.step(step)
            if step == "deling" and self.rng.random() < 0.5:
                self.advance(0, 1)
                self.entry("conversation")
        if decision is None:
            return
        self.advance(1, 12 if overdue else 4)
        self.step("beslutning", self.text(DECISIONS[decision]))

    def level1(self) -> None:
        self.advance(0, 2)
        self.level(1)
        self.advance(1, 7)
        self.entry("conversation")
        actions = [self.action(self.holder_service) for _ in range(self.rng.randint(1, 2))]
        self.advance(3, 20)
        self.entry(self.rng.choice(("observation", "positive")))
        for action_id, evaluate_by in sorted(actions, key=lambda a: a[1]):
            self.evaluate(action_id, evaluate_by, self.holder_service, final=True)

    def choose_partners(self, count: int) -> list[str]:
        own_sector = self.world.services[self.holder_service].sector
        sectors = [s for s in PARTNERS[self.group] if s != own_sector]
        self.rng.shuffle(sectors)
        sectors.sort(key=lambda s: self.world.sectors_asked[s] > 0)  # stable: unasked first
        chosen: list[str] = []
        for sector in sectors:
            service = self.pick(sector)
            if service and service.id not in chosen and service.id != self.holder_service:
                chosen.append(service.id)
                self.world.sectors_asked[sector] += 1
            if len(chosen) == count:
                break
        return chosen

    def transition(self) -> None:
        """Barnehage to skole: the school is asked in May-June and takes over the baton."""
        assert self.child.birth is not None  # transition children have a birth date
        year = self.child.birth.year + 6
        may = datetime(year, 5, 5, tzinfo=UTC)
        window = _workday(may + timedelta(days=self.rng.randint(0, 40)), self.rng)
        if window > self.t:
            self.move_to(window)
        schools = self.world.in_municipality(self.child.municipality, "skole", "barneskole")
        first, second = self.rng.sample(schools, 2)
        self.ensure([first.id, second.id], join=False, purpose=HANDOVER_PURPOSE)
        outcome = self.plan.transition or "accepted"
        self.advance(0, 0.5)
        accepted = self.handover(self.contact(first.id), HANDOVER_NOTES["school"], outcome)
        if not accepted:
            if outcome == "declined":
                self.advance(1, 5)
                target = second
            else:  # cancelled: the parents wanted to wait; asked again in August
                self.move_to(_workday(datetime(year, 8, 10, tzinfo=UTC), self.rng))
                target = first
            self.ensure([target.id], join=False, purpose=HANDOVER_PURPOSE)
            self.advance(0, 0.5)
            self.handover(self.contact(target.id), HANDOVER_NOTES["school"])
        # School starts; the barnehage leaves the case when the baton is safely over.
        self.move_to(_workday(datetime(year, 8, 18, tzinfo=UTC), self.rng))
        self.entry("observation")
        assert self.opener is not None
        self.advance(7, 30)
        self.app.remove_participant(
            self.contact(self.opener.id), self.case_id, service=self.opener.id, at=self.t
        )
        self.advance(3, 20)
        self.entry("positive")
        case = self.case()
        if case.state.level >= 2:
            self.advance(10, 40)
            self.meeting(self.present(self.case()), MEETING_MINUTES)

    def partners_phase(self, target: int) -> None:
        """Level 2 or 3: consent, services join, meetings, actions, group, koordinator, IP."""
        count = 1 if target == 2 else self.rng.randint(2, 3)
        partners = self.choose_partners(count + (1 if self.plan.withdraw and target == 3 else 0))
        main, extra = partners[:count], partners[count:]
        withdrawn: str | None = (extra or main)[-1] if self.plan.withdraw else None
        if withdrawn:
            self.separate.add(withdrawn)
        self.advance(0, 3)
        # One consent for the collaboration (short when it is going to run out), and
        # one of its own for the service the family will later say no to.
        lapsing: UUID | None = None
        shared = [s for s in main if s != withdrawn]
        if shared:
            days = self.rng.randint(55, 70) if self.plan.lapse else None
            lapsing = self.consent(shared, days=days)
        if withdrawn:
            self.consent([withdrawn])
        first = main[0]
        self.ensure([first])
        if target == 3 and self.case().state.level < 2 and self.rng.random() < 0.5:
            self.advance(0, 1)
            self.level(2)
            self.advance(5, 20)
            self.meeting([self.holder_service, first], MEETING_MINUTES)
        self.ensure(main + extra)
        self.advance(0, 1)
        self.level(target)
        self.advance(2, 10)
        self.meeting([self.holder_service, *main, *extra], MEETING_MINUTES)
        if self.plan.lapse and lapsing is not None:
            # A holiday passes; the consent runs out, the services it let in leave,
            # and after a new consent they join again.
            until = self.case().state.consents[lapsing].valid_until
            pause = datetime.combine(until, time(9), tzinfo=UTC)
            holiday = timedelta(days=self.rng.randint(3, 20))
            self.move_to(_workday(pause + holiday, self.rng))
            self.entry("note", texts=["Samtykket har løpt ut; nytt samtykke hentes inn."])
            self.advance(1, 7)
            self.ensure(main)
        if target == 3:
            self.advance(0, 3)
            self.app.establish_responsibility_group(
                self.holder, self.case_id, services=[self.holder_service, *main], at=self.t
            )
            self.appoint_coordinator()
        actions = []
        for responsible in [*main, self.holder_service][: self.rng.randint(1, len(main) + 1)]:
            self.advance(0, 3)
            actions.append((*self.action(responsible), responsible))
        self.advance(3, 14)
        partner = self.rng.choice(main)
        self.ensure([partner])
        self.entry(
            self.rng.choice(("observation", "conversation")), self.contact(partner), PARTNER_ENTRIES
        )
        if target == 3 and self.rng.random() < 0.65:
            self.advance(1, 10)
            self.app.start_individual_plan(
                self.coordinator_actor() or self.holder, self.case_id, at=self.t
            )
            self.advance(5, 20)
            self.meeting([self.holder_service, *main], GROUP_MINUTES)
        for action_id, evaluate_by, responsible in sorted(actions, key=lambda a: a[1]):
            self.evaluate(action_id, evaluate_by, responsible, final=self.rng.random() < 0.6)
        if self.plan.partner_handover and target == 3:
            self.advance(2, 14)
            self.ensure([main[0]])
            self.handover(self.contact(main[0]), HANDOVER_NOTES["partner"])
        if withdrawn:
            self.advance(5, 40)
            reason = self.text(WITHDRAW_REASONS[self.consenter()[0]])
            for consent in list(self.case().state.consents.values()):
                if consent.is_active(self.t.date()) and withdrawn in consent.services:
                    self.app.withdraw_consent(
                        self.holder, self.case_id, consent.id, reason=reason, at=self.t
                    )
            self.excluded.add(withdrawn)
            if target == 2:
                self.advance(1, 10)
                self.level(1, self.text(LEVEL_REASONS["withdrawn"]))
                return
        rounds = 0 if self.plan.transition else self.rng.randint(0, 3)
        for _ in range(rounds):  # follow-up
            self.advance(20, 60)
            active = [s for s in self.present(self.case()) if s not in self.excluded]
            self.meeting(active, GROUP_MINUTES if target == 3 else MEETING_MINUTES)
            if self.rng.random() < 0.5:
                self.advance(0, 3)
                self.entry("decision")
            if self.rng.random() < 0.5:
                responsible = self.rng.choice(active)
                action_id, evaluate_by = self.action(responsible)
                self.evaluate(action_id, evaluate_by, responsible, final=True)
            if self.rng.random() < 0.4:
                self.advance(1, 10)
                self.entry("positive")

    def coordinator_actor(self) -> Actor | None:
        """The appointed koordinator, who may act on plans and groups like the holder."""
        case = self.case()
        coordinator = case.state.coordinator
        if coordinator is None or not case.has_access(coordinator.service, self.t.date()):
            return None
        actor = self.contacts.get(coordinator.service)
        return actor if actor is not None and actor.user == coordinator.user else None

    def appoint_coordinator(self) -> None:
        """The municipality's coordinator appoints a koordinator from a service in the case."""
        self.advance(1, 10)
        municipality = self.child.municipality
        candidates = [
            s.id for s in self.world.in_municipality(municipality, "annet", "koordinerende")
        ]
        candidates += [
            s
            for s in self.case().state.participants
            if s != self.holder_service and s not in self.separate
        ]
        service_id = self.rng.choice(candidates)
        self.ensure([service_id], join=False)
        appointee = self.contact(service_id)
        self.app.appoint_coordinator(
            self.world.coordinators[self.child.municipality],
            self.case_id,
            user=appointee.user,
            service=service_id,
            at=self.t,
        )

    def wind_down(self) -> None:
        """Towards closing: plans ended, group dissolved, a level down, a service leaves."""
        level = self.case().state.level
        if level == 3:
            if self.case().state.individual_plan and self.rng.random() < 0.5:
                self.advance(1, 10)
                actor = self.coordinator_actor() or self.holder
                self.app.end_individual_plan(actor, self.case_id, at=self.t)
            if self.case().state.responsibility_group is not None and self.rng.random() < 0.6:
                self.advance(1, 10)
                self.app.dissolve_responsibility_group(self.holder, self.case_id, at=self.t)
        if level >= 2 and self.rng.random() < 0.5:
            self.advance(1, 10)
            case = self.case()
            present = self.present(case)
            own = (case.state.holder_service, case.state.opened_by_service)
            others = [s for s in present if s not in own]
            if not others:
                return
            leaving = self.rng.choice(others)
            # Lower the level first when too few services would remain.
            new_level = min(case.state.level, len(present) - 1)
            if new_level < case.state.level:
                self.level(new_level, self.text(LEVEL_REASONS["down"]))
                self.advance(0, 2)
            if leaving in self.present(self.case()):
                self.app.remove_participant(
                    self.contact(leaving), self.case_id, service=leaving, at=self.t
                )

    def nightly_expiry(self) -> None:
        """What the nightly job records after the last command: consents that ran out."""
        if self.case_id is None or self.closed:
            return
        while True:
            case = self.case()
            ending = sorted(
                c.valid_until
                for c in case.state.consents.values()
                if c.status == "active" and c.valid_until < SWEEP.date() - timedelta(days=1)
            )
            if not ending:
                return
            night = datetime.combine(ending[0] + timedelta(days=1), time(1), tzinfo=UTC)
            self.app.expire_consents(self.case_id, at=max(night, self.t + timedelta(minutes=1)))
            self.t = max(night, self.t)

    def present(self, case: Case) -> list[str]:
        """The services taking part as of now (a consent that has run out counts as ended)."""
        on = self.t.date()
        return [s for s in case.state.participants if case.has_access(s, on)]

    def run(self) -> None:
        self.open()
        kind = self.plan.kind
        if kind == "l0-open":
            self.level0(None)
            return
        target = LEVEL_OF_KIND[kind]
        first_level = "close" if target == 0 else 1 if self.plan.via_level1 else target
        self.level0(first_level)
        if target == 0:
            self.advance(0, 3)
            if self.rng.random() < 0.5:
                self.entry("conversation")
            if self.rng.random() < 0.4:
                self.satisfaction()
            reasons = ("concern-resolved", "family-declined", "other")
            self.close(self.rng.choices(reasons, (8, 1, 1))[0])
            return
        if target == 1 or self.plan.via_level1:
            self.level1()
        if self.plan.colleague:
            self.advance(5, 30)
            colleagues = [a for a in self.world.workers[self.holder_service] if a != self.holder]
            self.handover(self.rng.choice(colleagues), HANDOVER_NOTES["colleague"])
        if target >= 2:
            self.partners_phase(target)
        if self.plan.transition:
            self.transition()
        if self.plan.close:
            self.advance(10, 60)
            self.wind_down()
            self.advance(1, 14)
            self.satisfaction()
            self.advance(0, 2)
            self.close()

    def reopen(self, rng: random.Random) -> _CaseRun | None:
        """Some time after a closed case, a new worry about the same child: a new case."""
        if self.child.birth is None or not self.closed:
            return None
        later = _workday(self.t + timedelta(days=rng.randint(60, 240)), rng)
        if later > END - timedelta(days=30) or (self.child.age_on(later.date()) or 0) >= 18:
            return None
        plan = _Plan(kind="l1", close=rng.random() < 0.3, start=later)
        return _CaseRun(self.app, self.world, rng, self.child, plan)


# --- summary ---------------------------------------------------------------------


@dataclass
class DemoSummary:
    seed: int
    municipalities: int = 0
    services: int = 0
    inter_municipal_services: int = 0
    children: int = 0
    cases: int = 0
    open: int = 0
    closed: int = 0
    cases_per_level: dict[int, int] = field(default_factory=dict)
    open_per_level: dict[int, int] = field(default_factory=dict)
    closed_by_reason: dict[str, int] = field(default_factory=dict)
    events: int = 0
    level0_steps: int = 0
    entries: int = 0
    handovers_requested: int = 0
    handovers_accepted: int = 0
    handovers_declined: int = 0
    handovers_cancelled: int = 0
    barnehage_to_skole_accepted: int = 0
    consents_given: int = 0
    consents_by_child: int = 0
    consents_withdrawn: int = 0
    consents_expired: int = 0
    services_joined: int = 0
    services_left: int = 0
    meetings: int = 0
    actions: int = 0
    evaluations: int = 0
    evaluations_late: int = 0
    responsibility_groups: int = 0
    coordinators_appointed: int = 0
    individual_plans: int = 0
    satisfaction_answers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def summarise(app: Stafettlogg, seed: int) -> DemoSummary:
    """Count what is in the store (read back from the events, not from the generator)."""
    services = app.list_services()
    summary = DemoSummary(
        seed=seed,
        municipalities=len({m for s in services for m in s.municipalities}),
        services=len(services),
        inter_municipal_services=sum(s.inter_municipal for s in services),
    )
    sector_of = {s.id: s.sector for s in services}
    children: set[UUID] = set()
    per_level: Counter[int] = Counter()
    open_per_level: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    counts: Counter[type] = Counter()
    for case_id in app.case_ids():
        level = 0
        closed = False
        for event in app.events.get(case_id):
            counts[type(event)] += 1
            summary.events += 1
            if isinstance(event, ev.CaseOpened):
                children.add(event.child_id)
            elif isinstance(event, ev.LevelChanged):
                level = event.to_level
            elif isinstance(event, ev.CaseClosed):
                closed = True
                reasons[event.reason] += 1
            elif isinstance(event, ev.ConsentGiven) and event.given_by == "child":
                summary.consents_by_child += 1
            elif isinstance(event, ev.ActionEvaluated) and not event.evaluated_by_date:
                summary.evaluations_late += 1
            elif (
                isinstance(event, ev.HandoverAccepted)
                and sector_of.get(event.from_service) == "barnehage"
                and event.to_sector == "skole"
            ):
                summary.barnehage_to_skole_accepted += 1
        summary.cases += 1
        per_level[level] += 1
        if closed:
            summary.closed += 1
        else:
            summary.open += 1
            open_per_level[level] += 1
    summary.children = len(children)
    summary.cases_per_level = {lv: per_level[lv] for lv in range(4)}
    summary.open_per_level = {lv: open_per_level[lv] for lv in range(4)}
    summary.closed_by_reason = dict(sorted(reasons.items()))
    summary.level0_steps = counts[ev.Level0StepRecorded]
    summary.entries = counts[ev.EntryAdded]
    summary.handovers_requested = counts[ev.HandoverRequested]
    summary.handovers_accepted = counts[ev.HandoverAccepted]
    summary.handovers_declined = counts[ev.HandoverDeclined]
    summary.handovers_cancelled = counts[ev.HandoverCancelled]
    summary.consents_given = counts[ev.ConsentGiven]
    summary.consents_withdrawn = counts[ev.ConsentWithdrawn]
    summary.consents_expired = counts[ev.ConsentExpired]
    summary.services_joined = counts[ev.ServiceJoined]
    summary.services_left = counts[ev.ServiceLeft]
    summary.meetings = counts[ev.MeetingHeld]
    summary.actions = counts[ev.ActionAgreed]
    summary.evaluations = counts[ev.ActionEvaluated]
    summary.responsibility_groups = counts[ev.ResponsibilityGroupEstablished]
    summary.coordinators_appointed = counts[ev.CoordinatorAppointed]
    summary.individual_plans = counts[ev.IndividualPlanStarted]
    summary.satisfaction_answers = counts[ev.SatisfactionAnswered]
    return summary


# --- loading ---------------------------------------------------------------------


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
    return summarise(app, seed)
