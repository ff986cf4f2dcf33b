"""Notices: how each person wants to hear that something waits for them.

A person's choice is an aggregate of its own (`NoticeSettings`), one per staff member
and one per guardian, so that it is event-sourced like everything else. The rules
(docs/notices.md):

* A choice is `now` (a message at once), `digest` (one message a day) or `off`.
  Staff who never chose get `now` (`STAFF_DEFAULT`); a guardian gets nothing until they
  opted in.
* A staff member's notices go to their address in the staff directory: their
  choice carries no address.
* A guardian who wants notices gives their e-mail address; it is personal data and
  travels only sealed. A guardian who says no (`off`) keeps no address.
* Choosing what one already has records nothing.

Time comes in as an argument; nothing here reads the clock.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from uuid import UUID, uuid5

import msgspec

from domain.aggregate import Aggregate, DomainEvent, Snapshot
from domain.errors import InvalidValue
from domain.staff import EMAIL_PATTERN
from domain.values import Sealed

NoticeChoice = Literal["now", "digest", "off"]
NOTICE_CHOICES: tuple[str, ...] = ("now", "digest", "off")
PersonKind = Literal["staff", "guardian"]
STAFF_DEFAULT: NoticeChoice = "now"

NOTICES_NAMESPACE = UUID("3d6f0f5e-8a1b-4c1e-9b7a-52c4e2d1f0a7")


def person_key(kind: str, person: str) -> str:
    """How the outbox names a recipient: `staff:<staff id>` or `guardian:<blind index>`."""
    return f"{kind}:{person}"


def notice_settings_id(kind: str, person: str) -> UUID:
    """The id of a person's `NoticeSettings` (a guardian's from their blind index)."""
    return uuid5(NOTICES_NAMESPACE, person_key(kind, person))


def checked_email(text: str | None, field: str = "email") -> str:
    """A guardian's e-mail address, cleaned, or InvalidValue naming the field."""
    email = (text or "").strip()
    if not email:
        raise InvalidValue(field, "Skriv e-postadressen du vil ha varsler på.")
    if len(email) > 254 or not re.match(EMAIL_PATTERN, email):
        raise InvalidValue(field, "E-postadressen må se ut som navn@eksempel.no.")
    return email


class NoticeChoiceMade(DomainEvent, frozen=True, kw_only=True):
    """A person chose how to get notices. `person` is a staff id, or a guardian's keyed
    blind index (never the fødselsnummer); `email` is sealed, for guardians only."""

    person_kind: PersonKind
    person: str
    choice: NoticeChoice
    email: Sealed | None = None


class NoticeState(msgspec.Struct):
    person_kind: str = ""
    person: str = ""
    choice: str = "off"
    email: Sealed | None = None


class NoticeSnapshot(Snapshot, frozen=True, kw_only=True):
    state: NoticeState


class NoticeSettings(Aggregate):
    created_by = NoticeChoiceMade
    Snapshot = NoticeSnapshot

    def __init__(self, id: UUID) -> None:  # noqa: A002 - eventsourcing's name
        super().__init__(id)
        self.state = NoticeState()

    @classmethod
    def start(cls, kind: str, person: str) -> NoticeSettings:
        settings = cls(notice_settings_id(kind, person))
        settings.state = NoticeState(person_kind=kind, person=person,
                                     choice=STAFF_DEFAULT if kind == "staff" else "off")
        return settings

    def choose(self, choice: str, *, at: datetime, email: Sealed | None = None,
               same_email: bool = False) -> bool:
        """Make a choice; whether anything was recorded. A guardian's `now` or `digest`
        needs their address (`email`, sealed), unless `same_email` keeps the one given
        before; `off` forgets it."""
        if choice not in NOTICE_CHOICES:
            raise InvalidValue("choice", "Velg straks, en gang om dagen eller ingen varsler.")
        kind = self.state.person_kind
        if kind == "staff":
            email = None
        elif choice == "off":
            email = None
        elif same_email and email is None:
            email = self.state.email
        if kind == "guardian" and choice != "off" and email is None:
            raise InvalidValue("email", "Skriv e-postadressen du vil ha varsler på.")
        if self.version > 0 and choice == self.state.choice and (
                same_email or email == self.state.email):
            return False
        self._trigger(NoticeChoiceMade, at, person_kind=kind,  # type: ignore[arg-type]
                      person=self.state.person, choice=choice, email=email)
        return True

    def _on_NoticeChoiceMade(self, e: NoticeChoiceMade) -> None:
        self.state = NoticeState(person_kind=e.person_kind, person=e.person, choice=e.choice,
                                 email=e.email)
