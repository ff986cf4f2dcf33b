"""Sending the notices: the outbox's rows by e-mail over SMTP (docs/notices.md).

`NoticeSender` runs in a thread of the service when `STAFETTLOGG_SMTP_HOST` is set.
Each round (`run_once`):

1. the **daily digest**: from `STAFETTLOGG_NOTICE_DIGEST_HOUR` (07:00 Europe/Oslo by
   default) the notices of people who chose a digest, queued before that hour, are
   bundled into one row per person and day (how many of each kind, nothing more);
2. **sending**: each due row is claimed (`UPDATE ... WHERE` the row is still waiting,
   or its claim ran out), sent, and marked sent. The Message-ID is
   `<row id@domain of STAFETTLOGG_SMTP_FROM>` and the row id comes from its unique
   key, so a row sent again after a crash between sending and marking (its claim
   runs out after `CLAIM`) carries the same Message-ID. A server that refuses or does
   not answer is tried again after 1, 2, 4, ... minutes (at most six hours between
   tries); after `MAX_ATTEMPTS` tries the row is `failed` and shows on the admin page
   (`/admin/varsler`), which can try it again.

The reminders of the day (`queue_reminders`) are queued by the nightly sweep
(stafettlogg/sweep.py): an open action past its evaluation date (`overdue`), an
active consent whose last day is within 14 days (`consent-14`) or within 3 days
(`consent-3`), each to the case's holder and queued under a key unique to the thing
and the kind, so that each is queued once ever, after restarts and in any number of
processes.

A row stores the error's class and SMTP code only (`SMTPRecipientsRefused 550`),
never an address or a message. No notice contains a name, a text or anything about
the child: the subjects and bodies are the fixed texts below.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from domain.calendar import NORWAY, day_of
from projections.outbox import COLUMNS, OutboxProjection, at_text, create_outbox, queue, row_id

if TYPE_CHECKING:
    from stafettlogg.application import Stafettlogg
    from stafettlogg.settings import SmtpSettings

log = logging.getLogger("stafettlogg.notices")

# A row is tried this many times before it is marked failed.
MAX_ATTEMPTS = 8
# The first pause after a failed try; it doubles with each try, up to MAX_PAUSE.
FIRST_PAUSE = timedelta(minutes=1)
MAX_PAUSE = timedelta(hours=6)
# A claimed row whose sender did not mark it (it crashed) is sent again after this long.
CLAIM = timedelta(minutes=5)
# How long the SMTP server may take to answer.
SMTP_TIMEOUT = 20.0
# Rows sent per round.
ROUND = 50


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


STAFF_TEXTS = {
    "baton": Text("En stafettpinne venter på deg",
                  "Du er spurt om å overta stafettpinnen i en sak i Stafettlogg. Saken blir "
                  "hos den som har den nå, til du godtar eller avslår."),
    "accepted": Text("Overføringen er godtatt",
                     "Stafettpinnen du ga videre i en sak i Stafettlogg, er tatt imot."),
    "declined": Text("Overføringen er avslått",
                     "Stafettpinnen du ville gi videre i en sak i Stafettlogg, ble ikke tatt "
                     "imot. Saken er fortsatt hos samme stafettholder."),
    "overdue": Text("Et tiltak skulle vært evaluert",
                    "Et tiltak i en sak der du er stafettholder, har passert datoen for "
                    "evaluering."),
    "consent-14": Text("Et samtykke går ut om to uker",
                       "Et samtykke i en sak der du er stafettholder, går ut innen 14 dager. "
                       "Når det har gått ut, har tjenestene det gjelder ikke lenger tilgang."),
    "consent-3": Text("Et samtykke går ut om tre dager",
                      "Et samtykke i en sak der du er stafettholder, går ut innen 3 dager. "
                      "Når det har gått ut, har tjenestene det gjelder ikke lenger tilgang."),
}
FAMILY_TEXT = Text("Det er nytt i stafettloggen", "Det er nytt i stafettloggen.")
# The digest's lines, by kind: "how many", nothing more.
DIGEST_LINES = {
    "baton": "Stafettpinner som venter på deg",
    "accepted": "Overføringer som er godtatt",
    "declined": "Overføringer som er avslått",
    "overdue": "Tiltak som skulle vært evaluert",
    "consent-14": "Samtykker som går ut innen 14 dager",
    "consent-3": "Samtykker som går ut innen 3 dager",
    "family-new": "Det er nytt i stafettloggen",
}
STAFF_FOOTER = (
    "Du får denne e-posten fordi du bruker Stafettlogg. Du velger selv om du vil ha "
    "varsler straks, én gang om dagen eller ikke i det hele tatt:\n{url}/varsler\n\n"
    "Dette er en automatisk melding. Svar ikke på den."
)
FAMILY_FOOTER = (
    "Du velger selv om du vil ha slike varsler straks, én gang om dagen eller ikke i det "
    "hele tatt:\n{url}/familie/varsler\n\nDette er en automatisk melding. Svar ikke på den."
)


def error_kind(exc: BaseException) -> str:
    """What went wrong, without an address or a message: the class and the SMTP code."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"{name} {','.join(map(str, codes))}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{name} {exc.smtp_code}"
    return name


def pause_after(attempts: int) -> timedelta:
    """The pause before try number `attempts + 1`: 1, 2, 4, ... minutes, at most 6 hours."""
    return min(FIRST_PAUSE * (2 ** max(attempts - 1, 0)), MAX_PAUSE)


def queue_reminders(views: Any, now: datetime) -> int:
    """Queue the time-based notices due today (the nightly sweep calls it); how many
    were queued."""
    today = day_of(now)
    actions = views.read(
        "SELECT a.action_id, a.case_id, c.holder_user FROM cv_actions a"
        " JOIN cv_cases c ON c.case_id = a.case_id"
        " WHERE a.status = 'open' AND c.status = 'open' AND a.evaluate_by < ?",
        (today.isoformat(),))
    consents = views.read(
        "SELECT k.consent_id, k.case_id, k.valid_until, c.holder_user"
        " FROM cv_consents k JOIN cv_cases c ON c.case_id = k.case_id"
        " WHERE k.status = 'active' AND c.status = 'open'"
        " AND k.valid_until >= ? AND k.valid_until <= ?",
        (today.isoformat(), (today + timedelta(days=14)).isoformat()))
    queued = 0
    with views.database.transaction(OutboxProjection.name) as db:
        for action_id, case_id, holder in actions:
            queued += queue(db, key=f"overdue:{action_id}", person=f"staff:{holder}",
                            kind="overdue", at=now, case_id=case_id)
        for consent_id, case_id, until, holder in consents:
            days = (date.fromisoformat(until) - today).days
            kind = "consent-3" if days <= 3 else "consent-14"
            queued += queue(db, key=f"{kind}:{consent_id}", person=f"staff:{holder}",
                            kind=kind, at=now, case_id=case_id)
    return queued


class OutboxRow:
    def __init__(self, row: tuple[Any, ...]) -> None:
        (self.id, self.person, self.kind, self.case_id, self.created_at, self.due_at,
         self.status, self.attempts, self.last_error, self.sent_at, self.digest_id) = row

    @property
    def recipient(self) -> str:
        """Who it is for, as the admin page says it: a staff id, or "foresatt"."""
        kind, _, who = self.person.partition(":")
        return who if kind == "staff" else "foresatt"


class NoticeSender:
    """Takes due rows from the outbox and sends them; and bundles the daily digests."""

    def __init__(self, app: Stafettlogg, *, interval: float = 5.0,
                 connect: Callable[[], smtplib.SMTP] | None = None) -> None:
        self.app = app
        self.views = app.read_models.views
        self.smtp = app.settings.smtp
        self.public_url = app.settings.public_url
        self.interval = interval
        self._connect = connect or self._open_smtp
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # A test's way to crash between sending a row and marking it sent.
        self._after_send: Callable[[], None] | None = None
        with self.views.database.transaction("ddl") as db:
            create_outbox(db)

    # The thread ----------------------------------------------------------------------

    def start(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.run_once()
                except Exception as exc:  # noqa: BLE001 - keep sending; report and retry
                    if on_error is not None:
                        on_error(exc)

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="notices", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=SMTP_TIMEOUT * 2)
        self._thread = None

    def run_once(self) -> int:
        """One round: the digests, and sending; how many were sent."""
        now = self.app.clock()
        self.app.read_models.catch_up()
        self.bundle_digests(now)
        return self.send_due(now)

    # The digest ----------------------------------------------------------------------

    def digest_time(self, now: datetime) -> datetime:
        """Today's digest hour (Europe/Oslo), as an instant."""
        local = day_of(now)
        return datetime.combine(local, time(self.smtp.digest_hour), tzinfo=NORWAY)

    def bundle_digests(self, now: datetime) -> int:
        """From the digest hour on: one digest row per person for today, holding their
        notices due before that hour. Returns how many digests were made."""
        slot = self.digest_time(now)
        if now < slot:
            return 0
        made = 0
        cutoff = at_text(slot)
        day = slot.date().isoformat()
        with self.views.database.transaction(OutboxProjection.name) as db:
            people = db.execute(
                "SELECT DISTINCT person FROM nt_outbox WHERE status = 'digest'"
                " AND due_at < ? ORDER BY person", (cutoff,)).fetchall()
            for (person,) in people:
                digest = row_id(f"digest:{person}:{day}")
                made += db.execute(
                    "INSERT INTO nt_outbox (id, person, kind, created_at, due_at, status,"
                    " attempts) VALUES (?, ?, 'digest', ?, ?, 'waiting', 0)"
                    " ON CONFLICT DO NOTHING",
                    (digest, person, at_text(now), at_text(now))).rowcount
                # Into today's digest only while it has not gone yet; else tomorrow's.
                db.execute(
                    "UPDATE nt_outbox SET status = 'bundled', digest_id = ? WHERE person = ?"
                    " AND status = 'digest' AND due_at < ? AND EXISTS (SELECT 1 FROM"
                    " nt_outbox d WHERE d.id = ? AND d.status = 'waiting' AND d.attempts = 0)",
                    (digest, person, cutoff, digest))
        return made

    # Sending -------------------------------------------------------------------------

    def _claim(self, row_id_: str, now: datetime) -> bool:
        with self.views.database.transaction(None) as db:
            claimed = db.execute(
                "UPDATE nt_outbox SET status = 'sending', claimed_until = ? WHERE id = ?"
                " AND ((status = 'waiting' AND due_at <= ?)"
                " OR (status = 'sending' AND claimed_until < ?))",
                (at_text(now + CLAIM), row_id_, at_text(now), at_text(now))).rowcount
        return bool(claimed)

    def _mark(self, row_id_: str, sql: str, params: tuple[Any, ...]) -> None:
        with self.views.database.transaction(None) as db:
            db.execute(f"UPDATE nt_outbox SET {sql} WHERE id = ?", (*params, row_id_))  # noqa: S608

    def due(self, now: datetime) -> list[OutboxRow]:
        return [OutboxRow(r) for r in self.views.read(
            f"SELECT {COLUMNS} FROM nt_outbox WHERE (status = 'waiting' AND due_at <= ?)"  # noqa: S608
            " OR (status = 'sending' AND claimed_until < ?) ORDER BY due_at, id LIMIT ?",
            (at_text(now), at_text(now), ROUND))]

    def send_due(self, now: datetime) -> int:
        """Send every due row this process can claim; how many were sent."""
        if not self.smtp.enabled:
            return 0
        sent = 0
        connection: smtplib.SMTP | None = None
        try:
            for row in self.due(now):
                if not self._claim(row.id, now):
                    continue  # another process has it
                if self._chose_off(row.person):
                    self._mark(row.id, "status = 'cancelled', claimed_until = NULL", ())
                    continue
                message = self.message(row, now)
                if message is None:
                    self._mark(row.id, "status = 'failed', claimed_until = NULL,"
                               " last_error = ?", ("ingen e-postadresse",))
                    continue
                try:
                    if connection is None:
                        connection = self._connect()
                    connection.send_message(message)
                except (smtplib.SMTPException, OSError) as exc:
                    connection = _quit(connection)
                    self._failed(row, now, exc)
                    continue
                if self._after_send is not None:
                    self._after_send()
                self._mark(row.id, "status = 'sent', sent_at = ?, claimed_until = NULL,"
                           " attempts = attempts + 1, last_error = NULL", (at_text(now),))
                if row.kind == "digest":
                    self._mark_bundled_sent(row.id, now)
                sent += 1
        finally:
            _quit(connection)
        return sent

    def _chose_off(self, person: str) -> bool:
        """Whether the person chose no notices after this one was queued."""
        found = self.views.read("SELECT choice FROM nt_people WHERE person = ?", (person,))
        return bool(found) and found[0][0] == "off"

    def _mark_bundled_sent(self, digest: str, now: datetime) -> None:
        with self.views.database.transaction(None) as db:
            db.execute("UPDATE nt_outbox SET status = 'sent', sent_at = ? WHERE digest_id = ?",
                       (at_text(now), digest))

    def _failed(self, row: OutboxRow, now: datetime, exc: BaseException) -> None:
        attempts = row.attempts + 1
        kind = error_kind(exc)
        log.warning("a notice could not be sent (try %d of %d): %s", attempts, MAX_ATTEMPTS,
                    kind)
        if attempts >= MAX_ATTEMPTS:
            self._mark(row.id, "status = 'failed', attempts = ?, last_error = ?,"
                       " claimed_until = NULL", (attempts, kind))
        else:
            self._mark(row.id, "status = 'waiting', attempts = ?, last_error = ?,"
                       " due_at = ?, claimed_until = NULL",
                       (attempts, kind, at_text(now + pause_after(attempts))))

    def _open_smtp(self) -> smtplib.SMTP:
        return open_smtp(self.smtp)

    # The message ---------------------------------------------------------------------

    def message(self, row: OutboxRow, now: datetime) -> EmailMessage | None:
        """The e-mail of a row, or None when the person has no address (any more)."""
        address = self.app.notice_address(row.person)
        if not address:
            return None
        family = row.person.startswith("guardian:")
        url = self.public_url
        if row.kind == "digest":
            subject, body = self._digest(row, family)
        elif family:
            subject, body = FAMILY_TEXT.subject, f"{FAMILY_TEXT.body}\n\n{url}/familie"
        else:
            text = STAFF_TEXTS[row.kind]
            subject, body = text.subject, f"{text.body}\n\nLogg inn for å se saken:\n{url}/saker"
        footer = (FAMILY_FOOTER if family else STAFF_FOOTER).format(url=url)
        preferences = f"{url}/familie/varsler" if family else f"{url}/varsler"
        message = EmailMessage()
        message["From"] = self.smtp.sender
        message["To"] = address
        message["Subject"] = subject
        message["Date"] = format_datetime(now.astimezone(UTC))
        message["Message-ID"] = self.message_id(row.id)
        message["Auto-Submitted"] = "auto-generated"
        message["X-Auto-Response-Suppress"] = "All"
        message["Content-Language"] = "nb"
        message["List-Unsubscribe"] = f"<{preferences}>"
        message.set_content(f"{body}\n\n-- \n{footer}\n", charset="utf-8")
        return message

    def message_id(self, row_id_: str) -> str:
        domain = self.smtp.sender_address.rpartition("@")[2] or "stafettlogg.invalid"
        return f"<{row_id_}@{domain}>"

    def _digest(self, row: OutboxRow, family: bool) -> tuple[str, str]:
        counts = self.views.read(
            "SELECT kind, COUNT(*) FROM nt_outbox WHERE digest_id = ? GROUP BY kind",
            (row.id,))
        by_kind = dict(counts)
        if family:
            return FAMILY_TEXT.subject, f"{FAMILY_TEXT.body}\n\n{self.public_url}/familie"
        lines = [f"{DIGEST_LINES[k]}: {by_kind[k]}" for k in DIGEST_LINES if k in by_kind]
        body = ("Dette har skjedd i sakene dine i Stafettlogg siden forrige oversikt:\n\n"
                + "\n".join(lines)
                + f"\n\nLogg inn for å se sakene:\n{self.public_url}/saker")
        return "Dagens oversikt fra Stafettlogg", body

    # For the admin page ----------------------------------------------------------------

    def troubled(self) -> list[OutboxRow]:
        """Failed rows, and rows waiting for another try, newest first."""
        return [OutboxRow(r) for r in self.views.read(
            f"SELECT {COLUMNS} FROM nt_outbox WHERE status = 'failed'"  # noqa: S608
            " OR (status IN ('waiting', 'sending') AND attempts > 0)"
            " ORDER BY created_at DESC, id LIMIT 500", ())]

    def waiting_count(self) -> int:
        ((count,),) = self.views.read(
            "SELECT COUNT(*) FROM nt_outbox WHERE status IN ('waiting', 'digest', 'sending')",
            ())
        return int(count)

    def retry(self, row_id_: str, now: datetime) -> bool:
        """Try a failed row again now (its tries counted from zero); whether it was one."""
        with self.views.database.transaction(None) as db:
            return bool(db.execute(
                "UPDATE nt_outbox SET status = 'waiting', attempts = 0, due_at = ?,"
                " last_error = NULL WHERE id = ? AND status = 'failed'",
                (at_text(now), row_id_)).rowcount)


def _quit(connection: smtplib.SMTP | None) -> None:
    if connection is None:
        return None
    try:
        connection.quit()
    except (smtplib.SMTPException, OSError):
        connection.close()
    return None


def open_smtp(s: SmtpSettings) -> smtplib.SMTP:
    """A connection to the SMTP server of the settings: TLS or STARTTLS with the
    server's certificate checked, and the login when one is set."""
    context = ssl.create_default_context()
    connection: smtplib.SMTP
    if s.security == "tls":
        connection = smtplib.SMTP_SSL(s.host, s.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        connection = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT)
    try:
        if s.security == "starttls":
            connection.starttls(context=context)
        if s.user:
            connection.login(s.user, s.password)
    except BaseException:
        _quit(connection)
        raise
    return connection
