"""The statistics for evaluators: released tables, and the requests for them.

The statistics view (kept current by `stafettlogg/read_models.py`) is released
month by month under the protection rule (`projections/publication.py`), off the
request path: in a process of its own when serving, so that the solver never
competes with case work for the interpreter, or in a thread (tests). An indicator
request reads one stored table, or answers at once that the period is not
released yet. Every request for an ended period is recorded in the evaluator's
statistics log before the answer is given.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sqlite3
import threading
from time import monotonic as time_monotonic
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any, Protocol

from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from domain import errors
from domain.access import may_see_statistics
from domain.access_log import StatisticsLog, statistics_log_id
from domain.values import Actor
from projections.indicators import PublishedCell
from projections.periods import (
    InvalidPeriod,
    Period,
    parse_municipality,
    parse_period,
    periods_of_year,
)
from projections.protection import Policy
from projections.publication import Publisher, Released, Table, has_ended, released_with

if TYPE_CHECKING:
    from stafettlogg.read_models import ReadModels
    from stafettlogg.settings import Settings
    from stafettlogg.unit_of_work import UnitOfWork

log = logging.getLogger("stafettlogg.statistics")

PREPARE_INTERVAL = 2.0  # seconds between looks for a newly ended month
RETRY_SECONDS = 10  # Retry-After while an ended period is being released


class NotReleased(Exception):
    """The period's table is not released (yet): answered at once with 503."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass(frozen=True)
class PeriodChoice:
    """A period an evaluator can ask for, and whether its table is out."""

    label: str
    released: bool
    # The day its table is published (the day after it ends), while it has not ended.
    opens: date | None


@dataclass(frozen=True)
class IndicatorTable:
    period: str
    municipalities: tuple[str, ...]
    policy: Policy
    released_at: str
    cells: list[PublishedCell]


class StatisticsHost(Protocol):
    """What the statistics need of the application."""

    settings: Settings
    uow: UnitOfWork
    events: Any
    clock: Callable[[], datetime]


def today_of(app: StatisticsHost) -> date:
    return app.clock().astimezone(UTC).date()


def _store_errors() -> tuple[type[BaseException], ...]:
    """What a database that does not answer raises, on either backend."""
    found: list[type[BaseException]] = [StoreOperationalError, StoreInterfaceError,
                                         sqlite3.OperationalError]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the postgres extra is not installed
        pass
    else:
        found.append(psycopg.Error)
    return tuple(found)


OUTAGE_LOG_SECONDS = 30.0


def outage_reporter(
    what: str, store_errors: tuple[type[BaseException], ...], logger: logging.Logger
) -> Callable[[BaseException], None]:
    """A reporter of failures of background work that is tried again: while the
    database does not answer, one line without a traceback every OUTAGE_LOG_SECONDS;
    anything else with its traceback."""
    last = [0.0]

    def report(exc: BaseException) -> None:
        if isinstance(exc, store_errors):
            now = time_monotonic()
            if now - last[0] >= OUTAGE_LOG_SECONDS:
                last[0] = now
                logger.warning("%s failed, the database does not answer: %s", what,
                               type(exc).__name__)
            return
        logger.error("%s failed: %s", what, type(exc).__name__, exc_info=exc)

    return report


release_failed = outage_reporter("statistics release", _store_errors(), log)


def release_loop(publisher: Publisher, today: Callable[[], date], stop: threading.Event,
                  on_error: Callable[[BaseException], None] | None) -> None:
    while True:
        try:
            publisher.release(today(), stop=stop)
        except Exception as exc:  # noqa: BLE001 - keep releasing; report and retry
            (on_error or release_failed)(exc)
        if stop.wait(PREPARE_INTERVAL):
            return


class StatisticsService:
    """Releases the statistics view's tables and answers evaluators from them."""

    def __init__(self, app: StatisticsHost, read_models: ReadModels) -> None:
        self.app = app
        self.read_models = read_models
        views = read_models.views
        self.policy = Policy(threshold=app.settings.disclosure_threshold)
        self.released = Released(views, self.policy)
        self.publisher = Publisher(views, self.policy)
        self._releaser: threading.Thread | None = None
        self._process: Any = None
        self._stop_release: Any = None

    def close(self) -> None:
        self.stop_releasing()

    # Releasing -----------------------------------------------------------------------

    def release(self, progress: Callable[[str, float], None] | None = None) -> int:
        """Bring the views up to date and release every ended month not released yet,
        here and now (tests, the CLI); how many months were released."""
        self.read_models.catch_up()
        return self.publisher.release(today_of(self.app), progress=progress)

    def start_releasing(
        self, on_error: Callable[[BaseException], None] | None = None, *,
        in_process: Callable[[Settings, int], None] | None = None,
    ) -> None:
        """Release ended months in the background: in a thread (follows the
        application's clock), or, given `in_process` (`stafettlogg.releaser.main`), in
        a process of its own that opens the store itself (the real clock; the views
        must be a file or PostgreSQL)."""
        if in_process is not None:
            context = multiprocessing.get_context("spawn")
            self._process = context.Process(
                target=in_process, args=(self.app.settings, os.getpid()),
                name="stafettlogg-statistics", daemon=True,
            )
            self._process.start()
            return
        self._stop_release = threading.Event()
        self._releaser = threading.Thread(
            target=release_loop,
            args=(self.publisher, lambda: today_of(self.app), self._stop_release, on_error),
            name="statistics", daemon=True,
        )
        self._releaser.start()

    def stop_releasing(self) -> None:
        if self._stop_release is not None:
            self._stop_release.set()
        if self._releaser is not None:
            self._releaser.join(timeout=30)
            self._releaser = None
        if self._process is not None:
            self._process.terminate()
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=5)
            self._process.close()
            self._process = None
        self._stop_release = None

    def releasing(self) -> bool:
        """Whether the background releaser (its process or its thread) is running."""
        if self._process is not None:
            return bool(self._process.is_alive())
        return self._releaser is not None and self._releaser.is_alive()

    def released_months(self) -> int:
        """How many months are released under the current policy (for /metrics)."""
        rows = self.read_models.views.read(
            "SELECT count(*) FROM stat_release WHERE policy = ?", (self.publisher.policy_id,))
        return int(rows[0][0]) if rows else 0

    # Publishing ----------------------------------------------------------------------

    def indicators(
        self, actor: Actor, *, period: str, municipality: str | None, table: str
    ) -> IndicatorTable:
        """The released table of an ended period, for an evaluator's municipalities.

        The hidden cells are worked out once for the whole grid (every
        municipality, the national total, every released period) and kept as they
        were released (`projections/publication.py`); a request only cuts its part
        of one stored table. A period not released yet is answered at once
        (`NotReleased`). Every request of an evaluator for an ended period is
        recorded, a refused one too.
        """
        try:
            wanted = parse_period(period)
        except InvalidPeriod as exc:
            raise errors.InvalidValue("period", str(exc)) from None
        if municipality is not None:
            try:
                municipality = parse_municipality(municipality)
            except ValueError as exc:
                raise errors.InvalidValue("municipality", str(exc)) from None
        if "evaluator" not in actor.roles:
            raise errors.Forbidden("Bare evaluatorer kan hente statistikk.")
        scope = tuple(sorted(actor.municipalities))
        asked = (municipality,) if municipality is not None else scope
        allowed = bool(asked) and may_see_statistics(actor, asked)
        now = self.app.clock().astimezone(UTC)
        if allowed and not has_ended(wanted, now.date()):
            opens = datetime.combine(wanted.end, time(), UTC)
            raise NotReleased(
                f"Perioden {wanted.label} er ikke over ennå. Statistikk for en periode "
                f"publiseres når perioden er slutt, fra {wanted.end:%d.%m.%Y}.",
                retry_after=max(int((opens - now).total_seconds()) + RETRY_SECONDS, 1),
            )
        self._log_request(actor, table=table, period=wanted.label, scope=asked, refused=not allowed)
        if not allowed:
            raise errors.Forbidden("Du kan bare hente statistikk for dine egne kommuner.")
        released = self.released.table(wanted.label)
        if released is None and self._before_first_case(wanted):
            released = Table.zeros(wanted.label)
        if released is None:
            raise NotReleased(self._not_yet(wanted), retry_after=RETRY_SECONDS)
        return IndicatorTable(
            period=wanted.label,
            municipalities=asked,
            policy=self.policy,
            released_at=released.released_at,
            cells=released.cells(scope, municipality),
        )

    def choices(self) -> list[PeriodChoice]:
        """Every period of the years from the first case to this one, newest year
        first and in each year as `periods_of_year` lists them, with whether its table
        is released (a period before the first case is: all zeros)."""
        today = today_of(self.app)
        (first,) = self.read_models.views.read("SELECT min(opened_at) FROM stat_cases")[0]
        start = int(first[:4]) if first else today.year
        latest = self.released.latest()
        out: list[PeriodChoice] = []
        for year in range(today.year, start - 1, -1):
            for period in periods_of_year(year):
                last = "{}-{:02d}".format(*released_with(period))
                released = has_ended(period, today) and (
                    (latest is not None and last <= latest)
                    or (first is not None and period.end.isoformat() <= first[:10]))
                out.append(PeriodChoice(
                    period.label, released, None if has_ended(period, today) else period.end))
        return out

    def _before_first_case(self, wanted: Period) -> bool:
        """A period that ended before the first case: nothing happened, all zeros."""
        (first,) = self.read_models.views.read("SELECT min(opened_at) FROM stat_cases")[0]
        return first is not None and wanted.end.isoformat() <= first[:10]

    def _not_yet(self, wanted: Period) -> str:
        if not self.read_models.views.read("SELECT 1 FROM stat_cases LIMIT 1"):
            return (f"Det er ingen saker ennå, så tallene for {wanted.label} er ikke "
                    "publisert. Prøv igjen når den første saken er opprettet.")
        return (f"Tallene for {wanted.label} er ikke ferdig beregnet ennå. "
                "De beregnes nå; prøv igjen om litt.")

    def _log_request(
        self, actor: Actor, *, table: str, period: str, scope: tuple[str, ...], refused: bool
    ) -> None:
        now = self.app.clock()
        log_id = statistics_log_id(actor.user)
        uow = self.app.uow

        def attempt() -> tuple[None, list[StatisticsLog]]:
            # This user's first request starts their log.
            log = uow.load_or_start(StatisticsLog, log_id, lambda: StatisticsLog.start(actor.user, now))
            log.record(
                actor, table=table, period=period, municipalities=scope, at=now, refused=refused,
            )
            return None, [log]

        uow.retrying(log_id, attempt)

    def requests_of(self, user: str) -> list[dict[str, Any]]:
        """The statistics requests a user made, oldest first."""
        return [
            {
                "at": e.timestamp,
                "user": e.user,
                "role": e.role,
                "municipalities": list(e.municipalities),
                "table": e.table,
                "period": e.period,
                "refused": e.refused,
            }
            for e in self.app.events.get(statistics_log_id(user))
            if type(e).__name__ == "StatisticsRequested"
        ]
