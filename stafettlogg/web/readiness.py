"""Whether the service is ready, part by part, and the failures it remembers for it.

`ServiceHealth` belongs to one web app. It checks, when `/ready` is asked:

* `store`: the event store answers (on PostgreSQL within the timeout);
* `key_store`: the children's keys answer (a file, or a PostgreSQL table);
* `views`: no view is more than `MAX_LAG` events behind the notification log, and
  none has stopped on an event it cannot read;
* `releaser`: the statistics releaser runs (`degraded` if not: case work goes on).

Failing `store`, `key_store` or `views` makes the service not ready (503). It also
remembers an error that waiting will not mend (`stafettlogg/store_failures.py`): met
at start, the service stops trying and `/ready` names it; met by the background
work (the views' follower, which goes on trying), it is logged once, not at every
try, and `/ready` names it under `views`. Every store error of the background work
is counted in the metrics.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from collections.abc import Callable
from typing import TYPE_CHECKING

from stafettlogg.store_failures import StoreFailure, unrecoverable
from stafettlogg.web.api.schemas import ReadyCheck

if TYPE_CHECKING:
    from stafettlogg.application import Stafettlogg
    from stafettlogg.observability import Metrics
    from stafettlogg.settings import Settings

log = logging.getLogger("stafettlogg.ready")

# How long /ready waits for the database before it says "not ready".
READY_TIMEOUT_SECONDS = 2.0
# A view further behind than this many events is not ready (it is catching up).
MAX_LAG = 1000
REQUIRED = ("store", "key_store", "views")

OK = ReadyCheck(status="ok")


def _failed(failure: StoreFailure) -> ReadyCheck:
    return ReadyCheck(status="not-ready", cause=failure.cause, detail=failure.public)


def _unavailable(exc: BaseException, settings: Settings) -> ReadyCheck:
    failure = unrecoverable(exc, settings)
    if failure is not None:
        return _failed(failure)
    return ReadyCheck(status="not-ready", cause="unavailable", detail="svarer ikke")


class ServiceHealth:
    """The readiness of one web app, and the failures of its background work."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        # An error at start that waiting will not mend: the service does not start.
        self.start_failure: StoreFailure | None = None
        # The views' follower met an error waiting will not mend.
        self.views_failure: StoreFailure | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # asks the key store (/ready)

    # The background work's errors -----------------------------------------------------

    def failed_at_start(self, failure: StoreFailure) -> None:
        self.start_failure = failure
        log.error("stafettlogg kan ikke starte: %s. Tjenesten svarer 503 og prøver ikke"
                  " igjen; rett feilen og start tjenesten på nytt", failure.message)

    def reporter(self, where: str, store_errors: tuple[type[BaseException], ...],
                 then: Callable[[BaseException], None]) -> Callable[[BaseException], None]:
        """An `on_error` for background work: count store errors, log an error waiting
        will not mend once (and remember it for /ready), hand the rest to `then`."""

        def report(exc: BaseException) -> None:
            failure = unrecoverable(exc, self.settings)
            if isinstance(exc, store_errors):
                self.metrics.store_error(where)
            if failure is None:
                then(exc)
                return
            with self._lock:
                known = self.views_failure
                self.views_failure = failure
            if known != failure:
                log.error("%s stoppet: %s", where, failure.message)

        return report

    def close(self) -> None:
        """At shutdown: stop the thread that asks the key store."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # /ready ---------------------------------------------------------------------------

    def check(self, app: Stafettlogg | None) -> dict[str, ReadyCheck]:
        if app is None:
            if self.start_failure is not None:
                return {"store": _failed(self.start_failure)}
            return {"store": ReadyCheck(status="not-ready", cause="starting",
                                        detail="starter: databasen har ikke svart ennå")}
        checks: dict[str, ReadyCheck] = {}
        # The key store is asked beside the event store, not after it: when a silent
        # network holds both, /ready answers within one timeout, not two.
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ready")
            keys = self._pool.submit(app.key_store.ping, timeout=READY_TIMEOUT_SECONDS)
        try:
            app.check_store(timeout=READY_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - any failure of the store: not ready
            self.metrics.store_error("ready")
            checks["store"] = _unavailable(exc, self.settings)
        else:
            checks["store"] = OK
        try:
            keys.result(timeout=READY_TIMEOUT_SECONDS + 1.0)
        except FutureTimeout:
            checks["key_store"] = ReadyCheck(status="not-ready", cause="unavailable",
                                             detail="svarer ikke")
        except Exception as exc:  # noqa: BLE001 - any failure of the key store: not ready
            checks["key_store"] = _unavailable(exc, self.settings)
        else:
            checks["key_store"] = OK
        checks["views"] = self._views(app, store_answers=checks["store"] is OK)
        checks["releaser"] = (OK if app.statistics.releasing() else ReadyCheck(
            status="degraded", detail="statistikken frigis ikke: frigiveren kjører ikke"))
        return checks

    def _views(self, app: Stafettlogg, *, store_answers: bool) -> ReadyCheck:
        if self.views_failure is not None:
            return _failed(self.views_failure)
        if not store_answers:
            return ReadyCheck(status="not-ready", cause="unavailable",
                              detail="kan ikke leses: lageret svarer ikke")
        try:
            models = app.read_models
            last = models.source.last_position()
            lag = max(max(last - models.views.position(p.name), 0) for p in models.projections)
        except Exception as exc:  # noqa: BLE001 - the views do not answer
            return _unavailable(exc, self.settings)
        if lag > MAX_LAG:
            return ReadyCheck(status="not-ready", cause="behind", lag=lag,
                              detail=f"henter inn: {lag} hendelser etter")
        return ReadyCheck(status="ok", lag=lag)


def is_ready(checks: dict[str, ReadyCheck]) -> bool:
    return all(check.status != "not-ready" for name, check in checks.items()
               if name in REQUIRED)
