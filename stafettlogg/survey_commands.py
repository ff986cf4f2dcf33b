"""The staff survey in the application: open a round, issue its one-time codes, take
an answer for a code, read a round with its response rate (docs/implementation.md,
"The staff survey").

A mixin of `Stafettlogg` (`stafettlogg/application.py`). The rules are in
`domain/survey.py`. A code is `TTTT-SSSS-SSSS-SSSS`: the round's token (so that the
round is found from the code alone) and twelve random characters, from an alphabet
without look-alikes (no 0/O, 1/I/L). The code is shown once, to the admin who issues
it, to hand out; the round keeps only its keyed hash (`BlindIndex.of_survey_code`).
Nothing records who got which code.
"""

from __future__ import annotations

import secrets
import smtplib
import uuid
from collections.abc import Callable
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError

from domain import errors
from domain.survey import (
    CodeNotValid,
    ResultsNotReady,
    SurveyAnswer,
    SurveyRound,
    require_results_reader,
    require_survey_admin,
    survey_round_id,
)
from projections.survey_results import GroupResult, answers_of, round_results
from stafettlogg.notices import open_smtp
from domain.values import Actor

if TYPE_CHECKING:
    from domain.aggregate import Aggregate
    from stafettlogg.keys import BlindIndex
    from stafettlogg.settings import Settings
    from stafettlogg.unit_of_work import UnitOfWork

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
TOKEN_LENGTH = 4
SECRET_LENGTH = 12
MAX_CODES = 2000


def _draw(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def format_code(token: str, secret: str) -> str:
    text = token + secret
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def normalised_code(code: str) -> str:
    """A code as typed (any case, spaces or dashes), as it was issued."""
    letters = "".join(c for c in code.upper() if c.isalnum())
    return letters if len(letters) == TOKEN_LENGTH + SECRET_LENGTH else ""


class SurveyServiceView(msgspec.Struct, frozen=True):
    service: str
    name: str
    sector: str
    invited: int
    answered: int


class SurveyRoundView(msgspec.Struct, frozen=True):
    id: UUID
    municipality: str
    opens_on: date
    closes_on: date
    asks_role: bool
    status: str  # "waiting" (before its first day), "open" or "closed"
    services: list[SurveyServiceView]

    @property
    def invited(self) -> int:
        return sum(s.invited for s in self.services)

    @property
    def answered(self) -> int:
        return sum(s.answered for s in self.services)


class MailedCodes(msgspec.Struct, frozen=True):
    """Codes sent by e-mail: how many went out, and the codes that did not (for those
    without an address, or whose message the server refused), to print and hand out."""

    sent: int
    without_address: int
    unsent: list[str]


class NoMailServer(errors.DomainError):
    code = "no-mail-server"
    default_message = ("E-post er ikke satt opp (STAFETTLOGG_SMTP_HOST); skriv ut kodene "
                       "i stedet.")


class SurveyResults(msgspec.Struct, frozen=True):
    """A closed round and its protected results (projections/survey_results.py):
    the municipality first, then each sector followed by its units."""

    round: SurveyRoundView
    minimum: int
    groups: list[GroupResult]


class SurveyComparison(msgspec.Struct, frozen=True):
    """Two closed rounds of one municipality, the earlier first."""

    earlier: SurveyResults
    later: SurveyResults


class SurveyCommands:
    if TYPE_CHECKING:
        uow: UnitOfWork
        blind_index: BlindIndex
        read_models: Any
        settings: Settings
        new_id: Callable[[], UUID]
        survey_results_cache: dict[UUID, SurveyResults]

        def _now(self, at: datetime | None) -> datetime: ...
        def _known_service(self, service_id: str, field: str) -> Any: ...
        def list_staff(self, *, service: str | None = None,
                       active: bool | None = None) -> list[Any]: ...

    def _survey_round(self, round_id: UUID) -> SurveyRound:
        try:
            return self.uow.load(SurveyRound, round_id)
        except AggregateNotFoundError:
            raise errors.NotFound("Undersøkelsen finnes ikke.") from None

    def _round_token(self) -> str:
        """A round's token, from the application's id source (random; the demo's
        repeatable): it names the round, it is no secret (a code's secret is the rest)."""
        number = self.new_id().int
        letters = []
        for _ in range(TOKEN_LENGTH):
            number, i = divmod(number, len(ALPHABET))
            letters.append(ALPHABET[i])
        return "".join(letters)

    def open_survey_round(self, actor: Actor, *, municipality: str, services: list[str],
                          opens_on: date, closes_on: date, asks_role: bool = False,
                          at: datetime | None = None) -> SurveyRoundView:
        """Open a round (admins); its id comes from a token no other round has."""
        now = self._now(at)
        infos = [self._known_service(s, "services") for s in dict.fromkeys(services)]
        while True:
            token = self._round_token()
            try:
                self.uow.load(SurveyRound, survey_round_id(token))
            except AggregateNotFoundError:
                break
        survey = SurveyRound.open(actor, token=token, municipality=municipality,
                                  services=infos, opens_on=opens_on, closes_on=closes_on,
                                  asks_role=asks_role, at=now)
        self.uow.save(survey)
        return self._round_view(survey, now)

    def issue_survey_codes(self, actor: Actor, round_id: UUID, *, service: str,
                           count: int | None = None, at: datetime | None = None) -> list[str]:
        """New one-time codes for a service of the round: by default one for each
        active staff member of that service. The codes are returned once and never
        stored; hand them out so that nobody notes who got which."""
        now = self._now(at)
        if count is None:
            count = len(self.list_staff(service=service, active=True))
        if not 1 <= count <= MAX_CODES:
            raise errors.InvalidValue("count", f"Lag mellom 1 og {MAX_CODES} koder.")

        def attempt() -> tuple[list[str], list[Aggregate]]:
            survey = self._survey_round(round_id)
            codes = [format_code(survey.state.token, _draw(SECRET_LENGTH)) for _ in range(count)]
            hashes = [self.blind_index.of_survey_code(normalised_code(c)) for c in codes]
            survey.issue_codes(actor, service=service, code_hashes=hashes, at=now)
            return codes, [survey]

        return self.uow.retrying(round_id, attempt)

    def survey_for_code(self, code: str, at: datetime | None = None) -> SurveyRoundView:
        """The round a code belongs to, if the code may still answer (for the form)."""
        now = self._now(at)
        survey, code_hash = self._round_of_code(code)
        if code_hash not in survey.state.codes or code_hash in survey.state.used:
            raise CodeNotValid()
        return self._round_view(survey, now)

    def _round_of_code(self, code: str) -> tuple[SurveyRound, str]:
        letters = normalised_code(code)
        if not letters:
            raise CodeNotValid("Koden har 16 tegn, for eksempel ABCD-EFGH-JKMN-PQRS.")
        try:
            survey = self.uow.load(SurveyRound, survey_round_id(letters[:TOKEN_LENGTH]))
        except AggregateNotFoundError:
            raise CodeNotValid() from None
        hashes = [index.of_survey_code(letters) for index in self.blind_index.variants()]
        # A code handed out before `keys rotate index` is kept under the older key.
        return survey, next((h for h in hashes if h in survey.state.codes), hashes[0])

    def answer_survey(self, code: str, answer: SurveyAnswer, at: datetime | None = None) -> None:
        """Record an answer for a one-time code (no sign-in: the code is the right to
        answer once)."""
        now = self._now(at)
        letters = normalised_code(code)

        def attempt() -> tuple[None, list[Aggregate]]:
            survey, code_hash = self._round_of_code(code)
            survey.answer(code_hash, answer, now)
            return None, [survey]

        # Locked on the round the code names (an unusable code is refused inside).
        self.uow.retrying(survey_round_id(letters[:TOKEN_LENGTH] or "-"), attempt)

    def close_survey_round(self, actor: Actor, round_id: UUID,
                           at: datetime | None = None) -> SurveyRoundView:
        now = self._now(at)

        def attempt() -> tuple[SurveyRound, list[Aggregate]]:
            survey = self._survey_round(round_id)
            survey.close(actor, now)
            return survey, [survey]

        return self._round_view(self.uow.retrying(round_id, attempt), now)

    def survey_round(self, actor: Actor, round_id: UUID,
                     at: datetime | None = None) -> SurveyRoundView:
        require_survey_admin(actor)
        return self._round_view(self._survey_round(round_id), self._now(at))

    def survey_rounds(self, actor: Actor, at: datetime | None = None) -> list[SurveyRoundView]:
        """Every round, the newest first (admins)."""
        require_survey_admin(actor)
        now = self._now(at)
        self.read_models.catch_up()
        ids = [UUID(r) for (r,) in self.read_models.views.read(
            "SELECT round_id FROM sv_rounds ORDER BY opens_on DESC, round_id", ())]
        return [self._round_view(self._survey_round(i), now) for i in ids]

    def _round_view(self, survey: SurveyRound, now: datetime) -> SurveyRoundView:
        s = survey.state
        assert s.opens_on is not None and s.closes_on is not None
        status = ("closed" if survey.is_closed(now)
                  else "open" if survey.is_open(now) else "waiting")
        return SurveyRoundView(
            id=survey.id, municipality=s.municipality, opens_on=s.opens_on,
            closes_on=s.closes_on, asks_role=s.asks_role, status=status,
            services=[SurveyServiceView(
                service=sid, name=self._known_service(sid, "services").name, sector=sector,
                invited=s.invited.get(sid, 0), answered=s.answered.get(sid, 0))
                for sid, sector in s.services.items()])


    # Results ------------------------------------------------------------------------

    def survey_results(self, actor: Actor, round_id: UUID,
                       at: datetime | None = None) -> SurveyResults:
        """A closed round's results, protected. A closed round takes no more answers,
        so its results are worked out once per process and kept."""
        now = self._now(at)
        survey = self._survey_round(round_id)
        require_results_reader(actor, survey.state.municipality)
        if not survey.is_closed(now):
            raise ResultsNotReady()
        cache = self.survey_results_cache
        if round_id not in cache:
            view = self._round_view(survey, now)
            self.read_models.catch_up()
            minimum = self.settings.survey_min_answers
            groups = round_results(
                answers_of(self.read_models.views, str(round_id)),
                {s.service: s.sector for s in view.services},
                {s.service: s.invited for s in view.services}, minimum)
            cache[round_id] = SurveyResults(view, minimum, groups)
        return cache[round_id]

    def compare_survey_rounds(self, actor: Actor, first: UUID, second: UUID,
                              at: datetime | None = None) -> SurveyComparison:
        """Two closed rounds of the same municipality side by side."""
        a, b = (self.survey_results(actor, r, at) for r in (first, second))
        if a.round.municipality != b.round.municipality:
            raise errors.InvalidValue("second", "Velg to undersøkelser i samme kommune.")
        if a.round.id == b.round.id:
            raise errors.InvalidValue("second", "Velg to ulike undersøkelser.")
        if (b.round.opens_on, str(b.round.id)) < (a.round.opens_on, str(a.round.id)):
            a, b = b, a
        return SurveyComparison(a, b)

    def survey_rounds_for_results(self, actor: Actor,
                                  at: datetime | None = None) -> list[SurveyRoundView]:
        """The closed rounds whose results the actor may read, the newest first."""
        now = self._now(at)
        self.read_models.catch_up()
        out = []
        for (r,) in self.read_models.views.read(
                "SELECT round_id FROM sv_rounds ORDER BY opens_on DESC, round_id", ()):
            survey = self._survey_round(UUID(r))
            try:
                require_results_reader(actor, survey.state.municipality)
            except errors.Forbidden:
                continue
            if survey.is_closed(now):
                out.append(self._round_view(survey, now))
        return out

    # Codes by e-mail ----------------------------------------------------------------

    def mail_survey_codes(self, actor: Actor, round_id: UUID, *, service: str,
                          address: str, at: datetime | None = None) -> MailedCodes:
        """A code for each active staff member of a service, each sent by e-mail to one
        of them (in an order drawn at random, so that not even the order in which codes
        were made says who got which); `address` is the survey's page. Nothing records
        which address got which code: the codes are not stored, and a message is made,
        sent and forgotten. A member without an address, or a message the server
        refuses, leaves its code among `unsent`, to print."""
        smtp = self.settings.smtp
        if not smtp.enabled:
            raise NoMailServer()
        members = self.list_staff(service=service, active=True)
        addresses = [m.email for m in members if m.email]
        codes = self.issue_survey_codes(actor, round_id, service=service,
                                        count=len(members), at=at)
        secrets.SystemRandom().shuffle(codes)
        secrets.SystemRandom().shuffle(addresses)
        closes_on = self._survey_round(round_id).state.closes_on
        now = self._now(at)
        unsent = codes[len(addresses):]
        sent = 0
        try:
            connection = open_smtp(smtp)
        except (OSError, smtplib.SMTPException):
            return MailedCodes(0, len(members) - len(addresses), codes)
        try:
            for to, code in zip(addresses, codes, strict=False):
                message = survey_message(smtp.sender, to, code, address, closes_on, now,
                                         smtp.sender_address)
                try:
                    connection.send_message(message)
                    sent += 1
                except (OSError, smtplib.SMTPException):
                    unsent.append(code)
        finally:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                pass
        return MailedCodes(sent, len(members) - len(addresses), unsent)


def survey_message(sender: str, to: str, code: str, address: str, closes_on: date | None,
                   now: datetime, sender_address: str) -> EmailMessage:
    """The invitation: the survey's address and the code, nothing else (no name, no
    service, nothing about anyone)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Spørreundersøkelse om BTI"
    message["Date"] = format_datetime(now)
    domain = sender_address.rpartition("@")[2] or "stafettlogg.invalid"
    message["Message-ID"] = f"<{uuid.uuid4()}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "nb"
    until = f" til og med {closes_on:%d.%m.%Y}" if closes_on else ""
    message.set_content(
        "Du er invitert til å svare på en anonym spørreundersøkelse om arbeidet med BTI "
        "(Bedre tverrfaglig innsats).\n\n"
        f"Gå til {address} og skriv inn koden:\n\n    {code}\n\n"
        f"Koden kan brukes én gang{until}. Svaret ditt lagres uten kobling til deg eller "
        "til koden, og ingen ser hvem som har svart hva.\n", charset="utf-8")
    return message
