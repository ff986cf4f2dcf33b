"""The outbox of notices: what is to be e-mailed to whom, fed by the events.

A projection like the others (`projections/runner.py`): the rows a batch of events
queues are committed in the same transaction as the projection's tracking position,
so a notice is queued exactly once, whatever crashes. The sender
(`stafettlogg/notices.py`) takes the rows from here, sends them and marks them.

What an event queues (docs/notices.md):

* `HandoverRequested`: "a baton waits for you" (`baton`) to the named recipient;
* `HandoverAccepted` / `HandoverDeclined`: to the one who asked (`accepted`,
  `declined`);
* a step of a case's log that a guardian may see (`domain/access.py`,
  `family_sees_step`; an entry kept from the guardians is never one, and nothing a
  guardian did themselves): "Det er nytt i stafettloggen" (`family-new`) to each
  guardian of the case who opted in, one waiting message per guardian and case at a
  time (not the erasure of the child's data, `ChildDataErased`: nothing is left to
  read).

A family notice is sent at the earliest `family_delay` after the step
(`STAFETTLOGG_FAMILY_NOTICE_DELAY_MINUTES`, 30 by default); if the
only steps it tells of are entries that are then kept from the guardians
(`EntryWithheld`) before it is sent, it is dropped (status `dropped`), so that no
"something new" points at an entry the guardians may not see.

The time-based notices (`overdue`, `consent-14`, `consent-3`) are queued by the
nightly sweep (stafettlogg/sweep.py) into the same table, each under a key that is unique for the
thing and the kind, so that each is queued once ever.

A row names its recipient (`staff:<id>` or `guardian:<blind index>`), never an
address: the sender looks the address up when it sends. A row holds no name, no text
and nothing about the child; its `case_id` is used only to keep one waiting family
notice per case.

Rows are queued only when the service sends notices (`STAFETTLOGG_SMTP_HOST`), and
only for events from the last two days (`HORIZON`): a rebuild, or a new views
database, does not mail what happened long ago. Clearing the view (a rebuild) keeps
the outbox itself, and a row's id comes from the event's position, so that a rebuild
queues nothing twice.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

from domain import events as ev
from domain.access import family_sees_step
from domain.aggregate import DomainEvent
from domain.notices import STAFF_DEFAULT, NoticeChoiceMade, person_key
from projections.case_log import _KINDS as LOG_STEPS
from projections.case_log import log_item

OUTBOX_NAMESPACE = UUID("a4f1c7d2-0b6e-4f53-8d1a-6e2b9c3f4a18")
# Events older than this queue nothing (a rebuild does not mail history).
HORIZON = timedelta(days=2)

# What each kind of notice is, for the sender and the admin page.
STAFF_KINDS = ("baton", "accepted", "declined", "overdue", "consent-14", "consent-3")
FAMILY_KINDS = ("family-new",)
KINDS = (*STAFF_KINDS, *FAMILY_KINDS, "digest")

COLUMNS = ("id, person, kind, case_id, created_at, due_at, status, attempts, last_error,"
           " sent_at, digest_id")


def at_text(moment: datetime) -> str:
    """An instant as the outbox stores it (UTC, sortable)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def row_id(key: str) -> str:
    """A row's id from its unique key: the same key always gives the same row (and the
    same Message-ID)."""
    return str(uuid5(OUTBOX_NAMESPACE, key))


def create_outbox(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE IF NOT EXISTS nt_outbox (
            id TEXT PRIMARY KEY, person TEXT NOT NULL, kind TEXT NOT NULL, case_id TEXT,
            created_at TEXT NOT NULL, due_at TEXT NOT NULL, status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sent_at TEXT,
            claimed_until TEXT, digest_id TEXT)"""
    )
    db.execute("CREATE INDEX IF NOT EXISTS nt_outbox_due ON nt_outbox (status, due_at)")
    db.execute("CREATE INDEX IF NOT EXISTS nt_outbox_person ON nt_outbox (person, status)")
    db.execute(
        "CREATE TABLE IF NOT EXISTS nt_people (person TEXT PRIMARY KEY, choice TEXT NOT NULL)"
    )


def queue(db: sqlite3.Connection, *, key: str, person: str, kind: str, at: datetime,
          case_id: str | None = None, delay: timedelta = timedelta(0)) -> bool:
    """Queue one notice under its unique key (nothing if the key was queued before, or
    the person chose no notices), to be sent from `at + delay`; whether a row was
    added."""
    found = db.execute("SELECT choice FROM nt_people WHERE person = ?", (person,)).fetchone()
    if found is not None:
        choice = found[0]
    else:
        choice = STAFF_DEFAULT if person.startswith("staff:") else "off"
    if choice == "off":
        return False
    cursor = db.execute(
        "INSERT INTO nt_outbox (id, person, kind, case_id, created_at, due_at, status,"
        " attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 0) ON CONFLICT DO NOTHING",
        (row_id(key), person, kind, case_id, at_text(at), at_text(at + delay),
         "digest" if choice == "digest" else "waiting"),
    )
    return bool(cursor.rowcount)


class OutboxProjection:
    name = "outbox"
    topics = frozenset(
        {cls.__name__ for cls in LOG_STEPS}
        | {ev.GuardianRecorded.__name__, ev.GuardianRemoved.__name__,
           ev.HandoverRequested.__name__, ev.HandoverAccepted.__name__,
           ev.HandoverDeclined.__name__, ev.HandoverCancelled.__name__,
           NoticeChoiceMade.__name__}
    )
    # What a rebuild clears: the projection's own state, never the outbox.
    TABLES = ("nt_guardians", "nt_handovers", "nt_family_reasons")

    def __init__(self, *, enabled: bool, clock: Callable[[], datetime],
                 family_delay: timedelta = timedelta(0)) -> None:
        self.enabled = enabled
        self.clock = clock
        # A family notice waits this long (STAFETTLOGG_FAMILY_NOTICE_DELAY_MINUTES), so
        # that an entry the child asks to keep from the guardians can be marked first.
        self.family_delay = family_delay

    def create(self, db: sqlite3.Connection) -> None:
        create_outbox(db)
        db.execute(
            "CREATE TABLE IF NOT EXISTS nt_guardians (guardian_id TEXT PRIMARY KEY,"
            " login TEXT NOT NULL, case_id TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS nt_guardians_case ON nt_guardians (case_id)")
        db.execute(
            "CREATE TABLE IF NOT EXISTS nt_handovers (handover_id TEXT PRIMARY KEY,"
            " requested_by TEXT NOT NULL)"
        )
        # Why a family notice waits: the steps it tells of (an entry's id, or none
        # for a step that cannot be kept from the guardians).
        db.execute(
            "CREATE TABLE IF NOT EXISTS nt_family_reasons (row_id TEXT NOT NULL,"
            " entry_id TEXT)"
        )
        db.execute("CREATE INDEX IF NOT EXISTS nt_family_reasons_entry"
                   " ON nt_family_reasons (entry_id)")

    def clear(self, db: sqlite3.Connection) -> None:
        for table in self.TABLES:
            db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        # The choices are read again from their events; the outbox stays as it is.
        db.execute("DELETE FROM nt_people")

    def _queues(self, event: DomainEvent) -> bool:
        return self.enabled and event.timestamp >= self.clock() - HORIZON

    def apply(self, db: sqlite3.Connection, event: DomainEvent, position: int) -> None:
        if isinstance(event, NoticeChoiceMade):
            db.execute(
                "INSERT INTO nt_people (person, choice) VALUES (?, ?)"
                " ON CONFLICT (person) DO UPDATE SET choice = excluded.choice",
                (person_key(event.person_kind, event.person), event.choice),
            )
            return
        assert isinstance(event, ev.CaseEvent)
        case_id = str(event.originator_id)
        if isinstance(event, ev.GuardianRecorded):
            if event.login is not None:
                db.execute(
                    "INSERT INTO nt_guardians (guardian_id, login, case_id) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (str(event.guardian_id), event.login, case_id),
                )
        elif isinstance(event, ev.GuardianRemoved):
            db.execute("DELETE FROM nt_guardians WHERE guardian_id = ?", (str(event.guardian_id),))
        self._for_staff(db, event, position, case_id)
        self._for_family(db, event, position, case_id)

    def _for_staff(self, db: sqlite3.Connection, event: ev.CaseEvent, position: int,
                   case_id: str) -> None:
        if isinstance(event, ev.HandoverRequested):
            db.execute(
                "INSERT INTO nt_handovers (handover_id, requested_by) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING", (str(event.handover_id), event.user))
            if self._queues(event):
                queue(db, key=f"{position}:baton", person=person_key("staff", event.to_user),
                      kind="baton", at=event.timestamp, case_id=case_id)
        elif isinstance(event, ev.HandoverAccepted | ev.HandoverDeclined | ev.HandoverCancelled):
            found = db.execute("SELECT requested_by FROM nt_handovers WHERE handover_id = ?",
                               (str(event.handover_id),)).fetchone()
            db.execute("DELETE FROM nt_handovers WHERE handover_id = ?", (str(event.handover_id),))
            if isinstance(event, ev.HandoverCancelled) or found is None:
                return
            kind = "accepted" if isinstance(event, ev.HandoverAccepted) else "declined"
            if self._queues(event) and found[0] != event.user:
                queue(db, key=f"{position}:{kind}", person=person_key("staff", found[0]),
                      kind=kind, at=event.timestamp, case_id=case_id)

    def _for_family(self, db: sqlite3.Connection, event: ev.CaseEvent, position: int,
                    case_id: str) -> None:
        if isinstance(event, ev.EntryWithheld):
            self._withheld(db, str(event.entry_id))
            return
        if isinstance(event, ev.ChildDataErased):
            return  # nothing new to read: the case's content is gone
        item = log_item(event)
        if item is None or not family_sees_step("guardian", item.kind) or not self._queues(event):
            return
        entry = str(event.entry_id) if isinstance(event, ev.EntryAdded) else None
        for guardian_id, login in db.execute(
            "SELECT guardian_id, login FROM nt_guardians WHERE case_id = ? ORDER BY guardian_id",
            (case_id,),
        ).fetchall():
            if event.user == f"foresatt-{guardian_id}":
                continue  # what the guardian did themselves
            person = person_key("guardian", login)
            waiting = db.execute(
                "SELECT id FROM nt_outbox WHERE person = ? AND case_id = ? AND kind = ?"
                " AND status IN ('waiting', 'digest')", (person, case_id, "family-new"),
            ).fetchone()
            key = f"{position}:family-new:{login}"
            if waiting is None and not queue(
                    db, key=key, person=person, kind="family-new", at=event.timestamp,
                    case_id=case_id, delay=self.family_delay):
                continue
            db.execute("INSERT INTO nt_family_reasons (row_id, entry_id) VALUES (?, ?)",
                       (waiting[0] if waiting is not None else row_id(key), entry))

    def _withheld(self, db: sqlite3.Connection, entry_id: str) -> None:
        """An entry is kept from the guardians: a family notice not yet sent that told
        only of it is dropped (its "something new" would tell them there is one)."""
        rows = [r for (r,) in db.execute(
            "SELECT DISTINCT row_id FROM nt_family_reasons WHERE entry_id = ?", (entry_id,))]
        db.execute("DELETE FROM nt_family_reasons WHERE entry_id = ?", (entry_id,))
        for row in rows:
            if db.execute("SELECT 1 FROM nt_family_reasons WHERE row_id = ?",
                          (row,)).fetchone() is None:
                db.execute("UPDATE nt_outbox SET status = 'dropped' WHERE id = ?"
                           " AND status IN ('waiting', 'digest')", (row,))
