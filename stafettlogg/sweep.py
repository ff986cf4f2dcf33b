"""The nightly sweep: the service's scheduled work (docs/notices.md, "The nightly sweep").

Once a day, from `STAFETTLOGG_SWEEP_AT` (02:00 Europe/Oslo by default), the sweep

1. records as expired every consent whose last day has passed, through the
   application's own command path (`Stafettlogg.record_expired_consents`: the same
   events as when somebody next touches the case, so the service it covered leaves
   and a pending handover to it is cancelled), though nobody touches the case;
2. queues the reminders of the day, when notices are sent (an action past its
   evaluation date, a consent that runs out in 14 or in 3 days:
   `stafettlogg.notices.queue_reminders`);
3. erases the data of every child whose cases' archive periods have all run out
   (`STAFETTLOGG_ARCHIVE_YEARS`; `Stafettlogg.erase_due_children`,
   stafettlogg/erasure.py), and deletes again the key of a child erased in the last
   week, in case a process stopped between recording an erasure and deleting the key.

It runs once a day however many processes share the store, and a restart does not
run it again: the day is claimed in the `sw_sweeps` table of the view database,
inside a transaction that holds the writer lock `sweep` (an advisory lock on
PostgreSQL, SQLite's write lock on SQLite), and marked done when the sweep has
finished. A process that dies in the middle leaves a claim that runs out after
`CLAIM`; the next process then runs the sweep again, which is harmless: a consent
already recorded expired is not recorded twice, a reminder is queued once under
its key, and a child already erased is not erased again. A service that was down
at the hour runs the day's sweep when it starts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple
from uuid import UUID

from domain.calendar import NORWAY, day_of
from stafettlogg.notices import queue_reminders

if TYPE_CHECKING:
    from stafettlogg.application import Stafettlogg

log = logging.getLogger("stafettlogg.sweep")

# A claim of a day that was not marked done (its process died) runs out after this.
CLAIM = timedelta(hours=1)
# How often the thread looks whether the day's sweep is due.
LOOK_EVERY = 60.0


class SweepRun(NamedTuple):
    """A day's sweep that finished, and what it did."""

    day: date
    finished_at: datetime
    consents_expired: int
    reminders_queued: int


def create_sweeps(db: object) -> None:
    db.execute(  # type: ignore[attr-defined]
        "CREATE TABLE IF NOT EXISTS sw_sweeps (day TEXT PRIMARY KEY, claimed_until TEXT,"
        " started_at TEXT, finished_at TEXT, consents_expired INTEGER,"
        " reminders_queued INTEGER)"
    )


class NightlySweep:
    """The day's sweep, run once per day across every process on the store."""

    def __init__(self, app: Stafettlogg) -> None:
        self.app = app
        self.views = app.read_models.views
        self.at = app.settings.sweep_at
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with self.views.database.transaction("ddl") as db:
            create_sweeps(db)

    def day_due(self, now: datetime) -> date | None:
        """The day whose sweep is due at `now` (today in Oslo, from the sweep's hour)."""
        local = now.astimezone(NORWAY)
        return local.date() if local.time() >= self.at else None

    def run_if_due(self, now: datetime | None = None) -> bool:
        """Run today's sweep if it is due and no process has run it; whether it ran."""
        now = now or self.app.clock()
        day = self.day_due(now)
        if day is None or not self._claim(day, now):
            return False
        expired, queued, erased = self.sweep(now)
        with self.views.database.transaction("sweep") as db:
            db.execute(
                "UPDATE sw_sweeps SET finished_at = ?, consents_expired = ?,"
                " reminders_queued = ? WHERE day = ?",
                (self.app.clock().isoformat(), expired, queued, day.isoformat()))
        log.info("sweep of %s: %d consents expired, %d reminders queued, %d children erased",
                 day, expired, queued, erased)
        return True

    def _claim(self, day: date, now: datetime) -> bool:
        with self.views.database.transaction("sweep") as db:
            row = db.execute("SELECT claimed_until, finished_at FROM sw_sweeps WHERE day = ?",
                             (day.isoformat(),)).fetchone()
            if row is not None and (row[1] is not None or row[0] > now.isoformat()):
                return False
            db.execute(
                "INSERT INTO sw_sweeps (day, claimed_until, started_at) VALUES (?, ?, ?)"
                " ON CONFLICT (day) DO UPDATE SET claimed_until = excluded.claimed_until,"
                " started_at = excluded.started_at",
                (day.isoformat(), (now + CLAIM).isoformat(), now.isoformat()))
        return True

    def sweep(self, now: datetime) -> tuple[int, int, int]:
        """The work itself: (consents recorded expired, reminders queued, children
        erased)."""
        self.app.read_models.catch_up()
        lapsed = self.views.read(
            "SELECT DISTINCT k.case_id FROM cv_consents k JOIN cv_cases c"
            " ON c.case_id = k.case_id WHERE k.status = 'active' AND c.status = 'open'"
            " AND k.valid_until < ?", (day_of(now).isoformat(),))
        expired = 0
        for (case_id,) in lapsed:
            expired += len(self.app.record_expired_consents(UUID(case_id), at=now))
        queued = 0
        if self.app.settings.smtp.enabled:
            self.app.read_models.catch_up()
            queued = queue_reminders(self.views, now)
        self.app.read_models.catch_up()
        erased = self.app.erase_due_children(at=now)
        return expired, queued, erased

    def last(self) -> SweepRun | None:
        """The latest sweep that finished, if any."""
        rows = self.views.read(
            "SELECT day, finished_at, consents_expired, reminders_queued FROM sw_sweeps"
            " WHERE finished_at IS NOT NULL ORDER BY day DESC LIMIT 1", ())
        if not rows:
            return None
        day, finished, expired, queued = rows[0]
        return SweepRun(date.fromisoformat(day), datetime.fromisoformat(finished),
                        expired, queued)

    # The thread ------------------------------------------------------------------------

    def start(self, on_error: Callable[[BaseException], None] | None = None) -> None:
        def run() -> None:
            while True:
                try:
                    self.run_if_due()
                except Exception as exc:  # noqa: BLE001 - try again at the next look
                    if on_error is not None:
                        on_error(exc)
                if self._stop.wait(LOOK_EVERY):
                    return

        self._stop.clear()
        self._thread = threading.Thread(target=run, name="sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=60)
        self._thread = None
