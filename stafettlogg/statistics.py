"""The read models and the statistics for evaluators, kept up to date, and published tables.

The application's notification log feeds the projections (`projections/`) in the
view database; `StatisticsService` keeps them current (catch-up on start, a follower
thread while serving, a rebuild from zero on request) and answers indicator
requests with disclosure-controlled tables. Every request is recorded in the
evaluator's statistics log before the answer is given.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any

from eventsourcing.application import AggregateNotFoundError

from domain import errors
from domain.access import may_see_statistics
from domain.access_log import StatisticsLog, statistics_log_id
from domain.aggregate import DomainEvent
from domain.values import Actor
from projections.disclosure import Policy
from projections.case_views import CaseViewsProjection
from projections.indicators import PublishedCell
from projections.periods import InvalidPeriod, parse_period
from projections.publication import Publication, Publisher, has_ended
from projections.runner import Follower, Projection, ViewStore
from projections.statistics import StatisticsProjection

if TYPE_CHECKING:
    from stafettlogg.application import Stafettlogg

CACHE_SIZE = 32
PREPARE_INTERVAL = 2.0  # seconds between looks for a newly ended month


class NotificationSource:
    """The application's notification log, as the projection runner reads it."""

    def __init__(self, app: Stafettlogg) -> None:
        self.app = app

    def select(self, after: int, limit: int) -> list[Any]:
        return list(self.app.recorder.select_notifications(after + 1, limit))

    def decode(self, notification: Any) -> DomainEvent:
        return self.app.mapper.to_domain_event(notification)  # type: ignore[return-value]

    def last_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0


@dataclass(frozen=True)
class IndicatorTable:
    period: str
    municipalities: tuple[str, ...]
    policy: Policy
    cells: list[PublishedCell]


class StatisticsService:
    def __init__(self, app: Stafettlogg) -> None:
        self.app = app
        self.views = ViewStore(app.view_database())
        self.source = NotificationSource(app)
        # The case list, the inbox and the access-log listing, and the statistics.
        self.projections: list[Projection] = [CaseViewsProjection(), StatisticsProjection()]
        self.policy = Policy(threshold=app.settings.disclosure_threshold)
        self.publisher = Publisher(self.views, self.policy)
        self._cache: OrderedDict[tuple[Any, ...], tuple[Publication, list[PublishedCell]]] = (
            OrderedDict()
        )
        self._cache_lock = threading.Lock()
        self._follower: Follower | None = None
        self._preparer: threading.Thread | None = None
        self._preparing = threading.Event()

    def close(self) -> None:
        self.stop_following()
        self.views.close()

    # Keeping the views current -------------------------------------------------------

    def catch_up(self) -> int:
        return sum(self.views.process(p, self.source) for p in self.projections)

    def rebuild(
        self, name: str | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        chosen = [p for p in self.projections if name in (None, p.name)]
        if not chosen:
            msg = f"ukjent visning {name!r}; kjente: {', '.join(p.name for p in self.projections)}"
            raise ValueError(msg)
        return sum(self.views.rebuild(p, self.source, progress=progress) for p in chosen)

    def start_following(
        self, interval: float = 0.2, on_error: Callable[[BaseException], None] | None = None
    ) -> None:
        self._follower = Follower(
            self.views, self.projections, self.source, interval=interval, on_error=on_error
        )
        self._follower.start()
        self._preparing = threading.Event()
        self._preparer = threading.Thread(
            target=self._prepare, args=(self._preparing, on_error), name="statistics", daemon=True
        )
        self._preparer.start()

    def stop_following(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        if self._preparer is not None:
            self._preparing.set()
            self._preparer.join(timeout=10)
            self._preparer = None

    def _prepare(
        self, stop: threading.Event, on_error: Callable[[BaseException], None] | None
    ) -> None:
        """Work out a month's release when it has ended, before anyone asks: the
        first request after a month ends (or after a start) need not wait for it."""
        while not stop.wait(PREPARE_INTERVAL):
            try:
                self.publisher.publish(self.app.clock().astimezone(UTC).date())
            except Exception as exc:  # noqa: BLE001 - keep preparing; report and retry
                if on_error is not None:
                    on_error(exc)

    def position(self) -> int:
        return self.views.position(StatisticsProjection.name)

    # Publishing ----------------------------------------------------------------------

    def indicators(
        self, actor: Actor, *, period: str, municipality: str | None, table: str
    ) -> IndicatorTable:
        """The indicator table of an ended period, for an evaluator's municipalities.

        The pattern of hidden cells is worked out once for the whole grid (every
        municipality, the national total, every released period) and kept as it was
        released (`projections/publication.py`); a request only cuts its part.
        Every request of an evaluator is recorded, a refused one too.
        """
        try:
            wanted = parse_period(period)
        except InvalidPeriod as exc:
            raise errors.InvalidValue("period", str(exc)) from None
        if "evaluator" not in actor.roles:
            raise errors.Forbidden("Bare evaluatorer kan hente statistikk.")
        scope = tuple(sorted(actor.municipalities))
        asked = (municipality,) if municipality is not None else scope
        allowed = bool(asked) and may_see_statistics(actor, asked)
        today = self.app.clock().astimezone(UTC).date()
        if allowed and not has_ended(wanted, today):
            msg = (
                f"Perioden {wanted.label} er ikke over ennå. Statistikk for en periode "
                f"publiseres når perioden er slutt (fra {wanted.end:%d.%m.%Y})."
            )
            raise errors.InvalidValue("period", msg)
        self._log_request(actor, table=table, period=wanted.label, scope=asked, refused=not allowed)
        if not allowed:
            raise errors.Forbidden("Du kan bare hente statistikk for dine egne kommuner.")
        self.catch_up()
        publication = self.publisher.publish(today)
        return IndicatorTable(
            period=wanted.label,
            municipalities=asked,
            policy=self.policy,
            cells=self._cut(publication, wanted.label, scope, municipality),
        )

    def _cut(
        self, publication: Publication, period: str, scope: tuple[str, ...],
        municipality: str | None,
    ) -> list[PublishedCell]:
        key = (id(publication), period, scope, municipality)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] is publication:
                self._cache.move_to_end(key)
                return cached[1]
        cells = publication.cells(period, scope, municipality)
        with self._cache_lock:
            self._cache[key] = (publication, cells)
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return cells

    def _log_request(
        self, actor: Actor, *, table: str, period: str, scope: tuple[str, ...], refused: bool
    ) -> None:
        app = self.app
        now = app.clock()
        log_id = statistics_log_id(actor.user)
        with app._lock_for(log_id):
            for _ in app._attempts():
                try:
                    log = app._load(StatisticsLog, log_id)
                except AggregateNotFoundError:  # this user's first request
                    log = StatisticsLog.start(actor.user, now)
                log.record(
                    actor, table=table, period=period, municipalities=scope, at=now,
                    refused=refused,
                )
                try:
                    app._save(log)
                except errors.ConcurrentModification:
                    continue
                return

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
