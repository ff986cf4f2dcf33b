"""Value types of the BTI domain: the closed vocabularies of the brief and the actor.

Vocabularies are `Literal` types so that msgspec refuses anything else when an event
is decoded, and the tuples beside them are what the API and the demo offer.
"""

from __future__ import annotations

from datetime import date
from typing import Literal, NewType, get_args

import msgspec

Sector = Literal[
    "barnehage",
    "skole",
    "helsestasjon",
    "ppt",
    "barnevern",
    "nav",
    "psykisk-helse",
    "bup",
    "fastlege",
    "annet",
]
SECTORS: tuple[str, ...] = get_args(Sector)

Level = Literal[0, 1, 2, 3]
LEVELS: tuple[int, ...] = get_args(Level)

EntryKind = Literal["observation", "conversation", "note", "positive", "decision"]
ENTRY_KINDS: tuple[str, ...] = get_args(EntryKind)

Level0Step = Literal["vurdering", "konkretisering", "deling", "beslutning"]
LEVEL0_STEPS: tuple[str, ...] = get_args(Level0Step)

Consenter = Literal["guardian", "child"]
CONSENTERS: tuple[str, ...] = get_args(Consenter)

# `digital`: given by the guardian or the young person themselves, signed in with ID-porten.
ConsentForm = Literal["oral", "written", "digital"]
CONSENT_FORMS: tuple[str, ...] = get_args(ConsentForm)
STAFF_CONSENT_FORMS: tuple[str, ...] = ("oral", "written")  # what a worker records

# The statutory bases on which a service may be brought into a case without consent
# (bti-domain: sharing without consent is an explicit, reasoned act on such a basis).
StatutoryBasis = Literal["opplysningsplikt-barnevern", "avvergeplikt", "annen-lovhjemmel"]
STATUTORY_BASES: tuple[str, ...] = get_args(StatutoryBasis)

EvaluationOutcome = Literal["continue", "completed", "stopped", "adjusted"]
EVALUATION_OUTCOMES: tuple[str, ...] = get_args(EvaluationOutcome)

Respondent = Literal["guardian", "child"]

# How a guardian (foresatt) is related to the child.
GuardianRelation = Literal["mother", "father", "other"]
GUARDIAN_RELATIONS: tuple[str, ...] = get_args(GuardianRelation)
# From this age a child can ask that an entry is kept from the guardians (barneloven § 31).
WITHHOLD_FROM_AGE = 12
RESPONDENTS: tuple[str, ...] = get_args(Respondent)

Role = Literal["worker", "coordinator", "leader", "evaluator", "admin"]
ROLES: tuple[str, ...] = get_args(Role)

# Why a service is part of a case. "owner" is the service that opened it.
ParticipantRole = Literal["owner", "participant", "holder", "responsibility-group", "coordinator"]

AgeBand = Literal["ukjent", "0-5", "6-12", "13-15", "16-17", "18+"]

# A closed case names why it was closed (kept coarse so that it can be counted).
CloseReason = Literal[
    "concern-resolved",
    "moved-away",
    "transferred-to-other-service",
    "family-declined",
    "other",
]
CLOSE_REASONS: tuple[str, ...] = get_args(CloseReason)

# Why a child's data was erased (crypto-shredded): the municipality's archive period
# after closure ran out (the nightly sweep), or on request (an admin, or the CLI).
ErasureReason = Literal["archive-period-ended", "request"]
ERASURE_REASONS: tuple[str, ...] = get_args(ErasureReason)

# Personal data and free text never stand in an event in clear: they are sealed
# (AES-256-GCM under the child's data key) by the application before the domain
# sees them. The domain only stores and moves these bytes.
Sealed = NewType("Sealed", bytes)

# A kommunenummer: four digits.
MUNICIPALITY_PATTERN = r"^[0-9]{4}$"


class Actor(msgspec.Struct, frozen=True):
    """Who issues a command: a user acting for a service, with the roles of the token."""

    user: str
    service: str | None = None
    roles: frozenset[str] = frozenset()
    municipalities: frozenset[str] = frozenset()

    @property
    def is_coordinator(self) -> bool:
        return "coordinator" in self.roles


def age_on(birth_date: date | None, on: date) -> int | None:
    """Whole years of age on a given day; None when the birth date is unknown."""
    if birth_date is None:
        return None
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_band(age: int | None) -> AgeBand:
    """The coarse age band that statistics may see instead of a birth date."""
    if age is None or age < 0:
        return "ukjent"
    if age <= 5:
        return "0-5"
    if age <= 12:
        return "6-12"
    if age <= 15:
        return "13-15"
    if age <= 17:
        return "16-17"
    return "18+"
