"""What the service tells its operators: log lines, one line per request, and metrics.

* **Log lines** (`configure_logging`): every line of the service, of uvicorn and of
  the statistics releaser goes through one handler on stderr, as one JSON object a
  line (`STAFETTLOGG_LOG_FORMAT=json`, the default) or as plain text (`plain`).
  A JSON line has `time` (UTC), `level`, `logger` and `message`; an error's
  exception is its class and where it was raised (`exception`, `stack`: file, line
  and function of each frame), never its message or its variables, which may hold
  what a user typed.
* **One line per request** (`RequestObserver`, logger `stafettlogg.requests`):
  `method`, `route` (the route's template, `/api/v1/cases/{case_id:uuid}`, never
  the path that was asked for: it may hold ids; `-` for a path no route has),
  `status`, `duration_ms` and `user`: the staff id of the token or of the signed-in
  staff member, else null. Never a query string, a header, a cookie, a token or a
  body. uvicorn's own access log is off.
* **Metrics** (`Metrics`, read at `/metrics` in the Prometheus text format): the
  requests per route template, method and status class (`2xx`...), their durations,
  the store errors by where they happened, and, read when scraped, how far each view
  is behind the notification log, the statistics' released and pending months and
  whether the releaser runs, and the notices' outbox by status. No label names a
  case, a child, a person or a municipality, and no value is a statistic.
"""

from __future__ import annotations

import json
import logging
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from stafettlogg.application import Stafettlogg
    from stafettlogg.settings import Settings

REQUEST_LOGGER = "stafettlogg.requests"
# The scope's key under which a page handler leaves the signed-in staff member's id.
USER_KEY = "stafettlogg.user"
# The fields of a request line (besides time, level, logger and message).
REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "user")
NO_ROUTE = "-"

# --- log lines -------------------------------------------------------------------------


def _stack(exc: BaseException) -> list[str]:
    return [f"{frame.filename}:{frame.lineno} {frame.name}"
            for frame in traceback.extract_tb(exc.__traceback__)]


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the request fields when
    the record has them, and an exception as its class and frames only."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            if name in record.__dict__:
                line[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["exception"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
            line["stack"] = _stack(exc)
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """Plain text for a terminal, with the same rule: an exception's class and frames,
    not its message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            text = super().format(record)
        finally:
            record.exc_info = exc_info
        if all(name in record.__dict__ for name in REQUEST_FIELDS):
            d = record.__dict__
            text += (f" {d['method']} {d['route']} {d['status']} {d['duration_ms']} ms"
                     f" user={d['user'] or '-'}")
        if exc_info and exc_info[1] is not None:
            exc = exc_info[1]
            text += f"\n  {type(exc).__module__}.{type(exc).__qualname__}"
            text += "".join(f"\n    at {frame}" for frame in _stack(exc))
        return text


# Loggers whose lines go through the service's handler (uvicorn's access log is off:
# the service writes its own request line).
_LOGGERS = ("stafettlogg", "uvicorn", "uvicorn.error", "litestar", "eventsourcing")
# Libraries that log each outgoing request with its URL at INFO: warnings only.
_QUIET = ("httpx", "httpcore")


def formatter_for(settings: Settings) -> logging.Formatter:
    return JsonFormatter() if settings.log_format == "json" else PlainFormatter()


def configure_logging(settings: Settings, stream: Any = None) -> logging.Handler:
    """One handler on stderr (or `stream`) for every logger of the service; returns it."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter_for(settings))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False
    access.disabled = True
    return handler


# --- metrics ---------------------------------------------------------------------------

# No `_created` series beside every counter: they double the output and say nothing here.
disable_created_metrics()

# Request durations, in seconds: from a cached read to a statistics report.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


class Metrics:
    """The metrics of one web app: a registry of its own (several apps in one process,
    as in tests, do not share counts)."""

    def __init__(self, app_of: Callable[[], Stafettlogg | None]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "stafettlogg_http_requests", "HTTP requests answered, by route template,"
            " method and status class", ("route", "method", "status"), registry=self.registry)
        self.durations = Histogram(
            "stafettlogg_http_request_duration_seconds", "How long requests took, by route"
            " template and method", ("route", "method"), buckets=DURATION_BUCKETS,
            registry=self.registry)
        self.store_errors = Counter(
            "stafettlogg_store_errors", "Errors of the event store or the views (the"
            " database did not answer or refused), by where they happened", ("where",),
            registry=self.registry)
        self.registry.register(_ServiceCollector(app_of))
        ProcessCollector(registry=self.registry)  # memory, CPU, open files of the process

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, status_class(status)).inc()
        self.durations.labels(route, method).observe(seconds)

    def store_error(self, where: str) -> None:
        self.store_errors.labels(where).inc()


def _lags(app: Stafettlogg) -> Iterator[tuple[str, int, int]]:
    read_models = app.read_models
    last = read_models.source.last_position()
    for projection in read_models.projections:
        position = read_models.views.position(projection.name)
        yield projection.name, position, max(last - position, 0)


class _ServiceCollector(Collector):
    """The metrics read when /metrics is asked for: the views' lag, the releases, the
    outbox. A part that cannot be read (the database does not answer) is left out,
    and `stafettlogg_store_up` is 0."""

    def __init__(self, app_of: Callable[[], Stafettlogg | None]) -> None:
        self.app_of = app_of

    def describe(self) -> list[Any]:
        return []  # read at scrape time only

    def collect(self) -> Iterator[Any]:
        app = self.app_of()
        up = GaugeMetricFamily("stafettlogg_store_up", "1 when the event store answers")
        if app is None:
            up.add_metric([], 0)
            yield up
            return
        try:
            lags = list(_lags(app))
        except Exception:  # noqa: BLE001 - the database does not answer: say so
            up.add_metric([], 0)
            yield up
            yield from self._releaser(app)
            return
        up.add_metric([], 1)
        yield up
        lag = GaugeMetricFamily("stafettlogg_projection_lag_events", "Events in the"
                                " notification log a view has not processed yet", labels=["view"])
        position = GaugeMetricFamily("stafettlogg_projection_position", "The last event"
                                     " a view has processed", labels=["view"])
        for name, at, behind in lags:
            lag.add_metric([name], behind)
            position.add_metric([name], at)
        yield lag
        yield position
        yield from self._releaser(app)
        yield from self._releases(app)
        yield from self._outbox(app)

    @staticmethod
    def _releaser(app: Stafettlogg) -> Iterator[Any]:
        running = GaugeMetricFamily("stafettlogg_statistics_releaser_running",
                                    "1 while the statistics releaser (process or thread) runs")
        running.add_metric([], 1 if app.statistics.releasing() else 0)
        yield running

    @staticmethod
    def _releases(app: Stafettlogg) -> Iterator[Any]:
        from stafettlogg.statistics import today_of

        try:
            released = app.statistics.released_months()
            pending = len(app.statistics.publisher.pending(today_of(app)))
        except Exception:  # noqa: BLE001 - not readable now: leave it out
            return
        done = GaugeMetricFamily("stafettlogg_statistics_months_released",
                                 "Months whose statistics are released")
        done.add_metric([], released)
        yield done
        waiting = GaugeMetricFamily("stafettlogg_statistics_months_pending",
                                    "Ended months not released yet")
        waiting.add_metric([], pending)
        yield waiting

    @staticmethod
    def _outbox(app: Stafettlogg) -> Iterator[Any]:
        try:
            rows = app.read_models.views.read(
                "SELECT status, count(*) FROM nt_outbox GROUP BY status")
        except Exception:  # noqa: BLE001 - no outbox yet, or not readable now
            return
        outbox = GaugeMetricFamily("stafettlogg_notices_outbox", "Notices in the outbox,"
                                   " by status (waiting, sending, digest, failed, ...)",
                                   labels=["status"])
        for status, count in rows:
            outbox.add_metric([str(status)], int(count))
        yield outbox


# --- the request line ------------------------------------------------------------------


def route_of(scope: Any) -> str:
    """The route template of a request that was routed, else `-`: never the path."""
    template = scope.get("path_template") if "route_handler" in scope else None
    return template or NO_ROUTE


def user_of(scope: Any) -> str | None:
    """The staff id of the token (API) or of the signed-in member (pages), or None."""
    user = scope.get("user")
    found = getattr(user, "user", None)
    if isinstance(found, str):
        return found
    state = scope.get("state")
    if isinstance(state, dict) and isinstance(state.get(USER_KEY), str):
        return state[USER_KEY]  # type: ignore[no-any-return]
    return None


def note_user(scope: Any, staff_id: str) -> None:
    """A page handler's word of who is signed in, for the request line."""
    scope.setdefault("state", {})[USER_KEY] = staff_id


class RequestObserver:
    """ASGI middleware around the whole app: one log line and the metrics per request."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logging.getLogger(REQUEST_LOGGER)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route, method = route_of(scope), str(scope.get("method", ""))
            self.metrics.observe(route, method, status[0], seconds)
            self.log.info("request", extra={
                "method": method, "route": route, "status": status[0],
                "duration_ms": round(seconds * 1000, 1), "user": user_of(scope)})
