"""The read models' runner: the views fed from the application's notification log.

The projections (`projections/`: the case list, the inbox and the access-log
listing, and the statistics view) live in one view database (a SQLite file, or the
event store's PostgreSQL database). `ReadModels` catches them up with the store,
keeps them current while the service runs (a follower thread), and rebuilds one
from zero on request. Reading from them is `projections/case_queries.py`; the
statistics released from them are `stafettlogg/statistics.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.aggregate import DomainEvent
from projections.case_views import CaseViewsProjection
from projections.implementation_plan import ImplementationPlanProjection
from projections.outbox import OutboxProjection
from projections.runner import Follower, Projection, ViewStore
from projections.statistics import StatisticsProjection
from projections.survey import SurveyProjection
from projections.training import TrainingProjection

if TYPE_CHECKING:
    from eventsourcing.application import Application


def _utc_now() -> datetime:
    return datetime.now(UTC)


class NotificationSource:
    """The application's notification log, as the projection runner reads it."""

    def __init__(self, app: Application[Any]) -> None:
        self.app = app

    def select(self, after: int, limit: int) -> list[Any]:
        return list(self.app.recorder.select_notifications(after + 1, limit))

    def decode(self, notification: Any) -> DomainEvent:
        return self.app.mapper.to_domain_event(notification)  # type: ignore[return-value]

    def last_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0


class ReadModels:
    """The views of one application, and what keeps them current."""

    def __init__(self, app: Application[Any], view_database: Any) -> None:
        self.views = ViewStore(view_database)
        self.source = NotificationSource(app)
        self.projections: list[Projection] = [
            CaseViewsProjection(), StatisticsProjection(), TrainingProjection(),
            SurveyProjection(), ImplementationPlanProjection()]
        # The notices' outbox (projections/outbox.py): rows only when notices are sent.
        settings = getattr(app, "settings", None)
        smtp = getattr(settings, "smtp", None)
        self.projections.append(OutboxProjection(
            enabled=bool(smtp and smtp.enabled), clock=getattr(app, "clock", _utc_now),
            family_delay=timedelta(minutes=smtp.family_delay_minutes if smtp else 0)))
        self._follower: Follower | None = None

    def close(self) -> None:
        self.stop_following()
        self.views.close()

    def catch_up(self) -> int:
        """Process what the store holds and the views do not yet; how many events."""
        return sum(self.views.process(p, self.source) for p in self.projections)

    def rebuild(
        self, name: str | None = None, progress: Callable[[int, int], None] | None = None
    ) -> int:
        """Rebuild one view (or all) from the first event."""
        chosen = [p for p in self.projections if name in (None, p.name)]
        if not chosen:
            msg = f"ukjent visning {name!r}; kjente: {', '.join(p.name for p in self.projections)}"
            raise ValueError(msg)
        return sum(self.views.rebuild(p, self.source, progress=progress) for p in chosen)

    def position(self, name: str = StatisticsProjection.name) -> int:
        """The last event a view has processed."""
        return self.views.position(name)

    def start_following(
        self, interval: float = 0.2, on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Catch up, then keep the views current in a thread of their own."""
        self._follower = Follower(
            self.views, self.projections, self.source, interval=interval, on_error=on_error
        )
        self._follower.start()

    def stop_following(self) -> None:
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
