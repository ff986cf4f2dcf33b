"""The staff survey: rounds, one-time codes and answers that are anonymous by
construction (docs/implementation.md, "The staff survey").

An admin opens a round for a municipality: a period (first and last day) and the
services in it, and whether the round asks for the respondent's role. Codes are
issued per service, one for each person to ask; the round keeps only a keyed hash of
each code and the service it was issued for, never who got it. Whoever has a code
answers once: the round records that the code was used (to stop a second answer and
to count the response rate) and, apart from it, the answer with nothing but the
service and sector of the code (and the role, when asked). Both are dated by the day
only. Nothing in the round says which person gave which answer; not even the code
is stored.

The questions:

* **Levels of Use** of the respondent's unit, self-rated 1-8 (`LEVELS_OF_USE`),
  adapted from the Levels of Use of the Concerns-Based Adoption Model (Hall and
  Hord);
* the **implementation drivers** (`DRIVERS`, after Fixsen and NIRN), each on a
  four-point scale (1 "i liten grad" to 4 "i stor grad") or "vet ikke" (None);
* the **result items** (`RESULT_ITEMS`), on the same scale: 3 and 4 count as "good"
  or "confident".

Time comes in as an argument; nothing here reads the clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal
from uuid import UUID, uuid5

import msgspec

from domain.calendar import day_of
from domain.aggregate import Aggregate, DomainEvent, Snapshot
from domain.errors import DomainError, Forbidden, InvalidValue
from domain.services import ServiceInfo
from domain.values import Actor

# Level -> (name, what it means), as the form shows them.
LEVELS_OF_USE: dict[int, tuple[str, str]] = {
    1: ("Lite brukt", "Vi kjenner lite til BTI og bruker det ikke."),
    2: ("Orientering", "Vi søker informasjon om BTI og hva det krever av oss."),
    3: ("Forberedelse", "Vi forbereder oss på å ta BTI i bruk."),
    4: ("Mekanisk bruk", "Vi bruker BTI, men steg for steg og med mye planlegging."),
    5: ("Rutine", "Bruken av BTI er blitt en fast del av arbeidet."),
    6: ("Forbedring", "Vi tilpasser bruken for å gi bedre hjelp til barn og familier."),
    7: ("Integrering", "Vi samarbeider med andre tjenester om bruken av BTI."),
    8: ("Fornyelse", "Vi vurderer bruken på nytt og utvikler den videre."),
}
DRIVERS: dict[str, str] = {
    "opplaering": "Vi har fått opplæring i BTI.",
    "ovelse": "Vi har øvd på å bruke handlingsveilederen.",
    "felles-tid": "Vi har satt av felles tid til arbeidet med BTI.",
    "ledelsesplan": "Ledelsen har en plan for innføringen av BTI.",
    "forventninger": "Det er tydelige forventninger til hvordan vi bruker BTI.",
    "ressurser": "Vi har ressursene vi trenger for å bruke BTI.",
    "lederstotte": "Vi får støtte fra lederne i arbeidet med BTI.",
}
RESULT_ITEMS: dict[str, str] = {
    "kunnskap-handlingsveileder": "Jeg har god kunnskap om handlingsveilederen.",
    "kunnskap-tegn": "Jeg har god kunnskap om tegn og signaler på at et barn ikke har det bra.",
    "trygg-bekymring": "Jeg er trygg på å ta opp en bekymring med barnet og foreldrene.",
    "brukermedvirkning": "Jeg har god kompetanse i å la barn og foreldre medvirke.",
    "koble-inn": "Jeg vet hvordan jeg kobler inn andre tjenester.",
}
SCALE = (1, 2, 3, 4)
Role = Literal["medarbeider", "leder"]
ROLES: tuple[str, ...] = ("medarbeider", "leder")

SURVEY_NAMESPACE = UUID("5b0e6c1a-8f2d-4a7e-b3c9-1d4e7a2f6c80")


def survey_round_id(token: str) -> UUID:
    """A round's id from the token its codes begin with."""
    return uuid5(SURVEY_NAMESPACE, token)


class CodeNotValid(DomainError):
    """The code is unknown, or has been used: one answer per code."""

    code = "survey-code-not-valid"
    default_message = "Koden er ikke gyldig, eller den er brukt."


class RoundNotOpen(DomainError):
    code = "survey-round-not-open"
    default_message = "Undersøkelsen er ikke åpen."


class SurveyAnswer(msgspec.Struct, frozen=True):
    """One respondent's answers. None is "vet ikke"."""

    level_of_use: int
    drivers: dict[str, int | None]
    results: dict[str, int | None]
    role: str | None = None


def checked_answer(answer: SurveyAnswer, asks_role: bool) -> SurveyAnswer:
    """The answer, or InvalidValue naming the question that is missing or wrong."""
    if answer.level_of_use not in LEVELS_OF_USE:
        raise InvalidValue("level_of_use", "Velg ett av de åtte nivåene.")
    for group, items in (("drivers", DRIVERS), ("results", RESULT_ITEMS)):
        given = getattr(answer, group)
        for item in items:
            if item not in given:
                raise InvalidValue(f"{group}.{item}", "Svar på spørsmålet, eller velg «vet ikke».")
            value = given[item]
            if value is not None and value not in SCALE:
                raise InvalidValue(f"{group}.{item}", "Velg et svar fra 1 til 4, eller «vet ikke».")
        extra = set(given) - set(items)
        if extra:
            raise InvalidValue(f"{group}.{min(extra)}", "Ukjent spørsmål.")
    if asks_role:
        if answer.role not in ROLES:
            raise InvalidValue("role", "Velg om du er medarbeider eller leder.")
    elif answer.role is not None:
        raise InvalidValue("role", "Denne undersøkelsen spør ikke om rolle.")
    return answer


def _day(at: datetime) -> datetime:
    """An instant kept as its day only (so that an answer cannot be matched to a
    sign-in, a mail or the use of a code by its time)."""
    return datetime.combine(at.date(), datetime.min.time(), tzinfo=UTC)


class SurveyRoundOpened(DomainEvent, frozen=True, kw_only=True):
    token: str
    municipality: str
    services: tuple[str, ...]
    sectors: tuple[str, ...]  # of each service, in the same order
    opens_on: date
    closes_on: date
    asks_role: bool
    opened_by: str


class SurveyCodesIssued(DomainEvent, frozen=True, kw_only=True):
    """Codes for one service: their keyed hashes only, never who got them."""

    service: str
    code_hashes: tuple[str, ...]
    issued_by: str


class SurveyCodeUsed(DomainEvent, frozen=True, kw_only=True):
    code_hash: str


class SurveyAnswered(DomainEvent, frozen=True, kw_only=True):
    """An answer: the service and sector of its code, and nothing else of who."""

    service: str
    sector: str
    role: str | None
    level_of_use: int
    drivers: dict[str, int | None]
    results: dict[str, int | None]


class SurveyRoundClosed(DomainEvent, frozen=True, kw_only=True):
    closed_by: str


class SurveyState(msgspec.Struct):
    token: str = ""
    municipality: str = ""
    services: dict[str, str] = {}  # service -> sector
    opens_on: date | None = None
    closes_on: date | None = None
    asks_role: bool = False
    closed: bool = False
    codes: dict[str, str] = {}  # code hash -> service
    used: set[str] = set()
    invited: dict[str, int] = {}  # service -> codes issued
    answered: dict[str, int] = {}  # service -> answers


class SurveySnapshot(Snapshot, frozen=True, kw_only=True):
    state: SurveyState


class SurveyRound(Aggregate):
    created_by = SurveyRoundOpened
    Snapshot = SurveySnapshot

    def __init__(self, id: UUID) -> None:  # noqa: A002 - eventsourcing's name
        super().__init__(id)
        self.state = SurveyState()

    # Commands ----------------------------------------------------------------------

    @classmethod
    def open(cls, actor: Actor, *, token: str, municipality: str,
             services: list[ServiceInfo], opens_on: date, closes_on: date,
             asks_role: bool, at: datetime) -> SurveyRound:
        """Open a round for a municipality's services (admins only)."""
        require_survey_admin(actor)
        if not services:
            raise InvalidValue("services", "Velg minst én tjeneste.")
        for service in services:
            if not service.serves(municipality):
                raise InvalidValue("services", f"{service.name} hører ikke til kommunen.")
            service.require_open("services")
        if closes_on < opens_on:
            raise InvalidValue("closes_on", "Siste dag kan ikke være før første dag.")
        if closes_on < day_of(at):
            raise InvalidValue("closes_on", "Siste dag kan ikke være tilbake i tid.")
        unique = {s.id: s for s in services}
        round_ = cls(survey_round_id(token))
        round_._trigger(SurveyRoundOpened, at, token=token, municipality=municipality,
                        services=tuple(unique), sectors=tuple(s.sector for s in unique.values()),
                        opens_on=opens_on, closes_on=closes_on, asks_role=asks_role,
                        opened_by=actor.user)
        return round_

    def issue_codes(self, actor: Actor, *, service: str, code_hashes: list[str],
                    at: datetime) -> None:
        require_survey_admin(actor)
        if service not in self.state.services:
            raise InvalidValue("service", "Tjenesten er ikke med i undersøkelsen.")
        if self.is_closed(at):
            raise RoundNotOpen("Undersøkelsen er avsluttet.")
        if not code_hashes:
            raise InvalidValue("count", "Lag minst én kode.")
        if set(code_hashes) & set(self.state.codes):
            raise InvalidValue("codes", "En kode finnes fra før.")
        self._trigger(SurveyCodesIssued, _day(at), service=service,
                      code_hashes=tuple(code_hashes), issued_by=actor.user)

    def answer(self, code_hash: str, answer: SurveyAnswer, at: datetime) -> None:
        """Record one answer for an unused code of this round, while it is open."""
        service = self.state.codes.get(code_hash)
        if service is None or code_hash in self.state.used:
            raise CodeNotValid()
        if not self.is_open(at):
            raise RoundNotOpen()
        clean = checked_answer(answer, self.state.asks_role)
        self._trigger(SurveyCodeUsed, _day(at), code_hash=code_hash)
        self._trigger(SurveyAnswered, _day(at), service=service,
                      sector=self.state.services[service], role=clean.role,
                      level_of_use=clean.level_of_use, drivers=dict(clean.drivers),
                      results=dict(clean.results))

    def close(self, actor: Actor, at: datetime) -> None:
        """Close a round before its last day (it closes by itself after it)."""
        require_survey_admin(actor)
        if not self.state.closed:
            self._trigger(SurveyRoundClosed, at, closed_by=actor.user)

    # Queries -----------------------------------------------------------------------

    def is_closed(self, at: datetime) -> bool:
        assert self.state.closes_on is not None
        return self.state.closed or day_of(at) > self.state.closes_on

    def is_open(self, at: datetime) -> bool:
        assert self.state.opens_on is not None
        return not self.is_closed(at) and day_of(at) >= self.state.opens_on

    # Applying ----------------------------------------------------------------------

    def _on_SurveyRoundOpened(self, e: SurveyRoundOpened) -> None:
        self.state.token = e.token
        self.state.municipality = e.municipality
        self.state.services = dict(zip(e.services, e.sectors, strict=True))
        self.state.opens_on = e.opens_on
        self.state.closes_on = e.closes_on
        self.state.asks_role = e.asks_role

    def _on_SurveyCodesIssued(self, e: SurveyCodesIssued) -> None:
        for code_hash in e.code_hashes:
            self.state.codes[code_hash] = e.service
        self.state.invited[e.service] = self.state.invited.get(e.service, 0) + len(e.code_hashes)

    def _on_SurveyCodeUsed(self, e: SurveyCodeUsed) -> None:
        self.state.used.add(e.code_hash)

    def _on_SurveyAnswered(self, e: SurveyAnswered) -> None:
        self.state.answered[e.service] = self.state.answered.get(e.service, 0) + 1

    def _on_SurveyRoundClosed(self, e: SurveyRoundClosed) -> None:
        self.state.closed = True


def require_results_reader(actor: Actor, municipality: str) -> None:
    """A round's results are for admins, and for the evaluators and unit leaders of
    its municipality."""
    if "admin" in actor.roles:
        return
    if actor.roles & {"evaluator", "leader"} and municipality in actor.municipalities:
        return
    raise Forbidden("Resultatene er for administratorer, og for evaluatorer og "
                    "enhetsledere i kommunen.")


class ResultsNotReady(DomainError):
    """Results are shown once a round is closed: while answers still come in, two
    looks at the results could tell one person's answer."""

    code = "survey-results-not-ready"
    default_message = "Resultatene vises når undersøkelsen er avsluttet."


def require_survey_admin(actor: Actor) -> None:
    """Only an admin opens, runs and reads a round."""
    if "admin" not in actor.roles:
        raise Forbidden("Bare en administrator kan styre en undersøkelse.")
