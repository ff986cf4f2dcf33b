"""The web app (Litestar 2): the JSON API under `/api`, as `docs/api.md` describes
it, the pages for people (`web/pages/`: `/`, `/static/`, error pages), and the
service's own `/health`, `/ready` and `/schema`.

`create_app()` builds the ASGI app. The event-sourced application is made when the
server starts (off the event loop: opening SQLite and the key file is blocking I/O)
and closed when it stops; handlers receive it as the `app` dependency and the
caller as `actor`. An application passed in by the caller (tests) is used as given
and left open: whoever made it closes it. If the database does not answer at start
(PostgreSQL not up yet), the server starts anyway, answers 503 and keeps trying.

The API is one router (`api_router`): under `/api` every request is rate limited per
client and must carry a valid bearer token, and errors are RFC 9457 problem
details; the pages are mounted beside it, and an error on any other path is an HTML
page (`pages/errors.py`). No answer ever carries a traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from litestar import Litestar, MediaType, Response, Router, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from eventsourcing.persistence import InterfaceError, OperationalError

from stafettlogg import releaser
from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from stafettlogg.statistics import outage_reporter
from stafettlogg.web.api.auth import STATE_KEY, BearerTokenAuth, provide_actor
from stafettlogg.web.api.cases import CaseController, inbox
from stafettlogg.web.api.implementation_plan import ImplementationPlanController
from stafettlogg.observability import Metrics, RequestObserver
from stafettlogg.store_failures import unrecoverable
from stafettlogg.web.api.problems import (
    EXCEPTION_HANDLERS,
    ServiceStarting,
    documented,
    not_ready,
)
from stafettlogg.web.api.schemas import Health, Problem, Readiness
from stafettlogg.web.api.services import ServiceController
from stafettlogg.web.api.staff import StaffController
from stafettlogg.web.api.statistics import StatisticsController
from stafettlogg.web.api.survey import SurveyController
from stafettlogg.web.api.survey_results import SurveyResultsController
from stafettlogg.web.api.training import TrainingController
from stafettlogg.web.deps import DEPENDENCIES
from stafettlogg.web.pages import SwaggerPage, page_or_problem, pages_router, template_config
from stafettlogg.web.metrics import metrics_endpoint
from stafettlogg.web.pages.staff import staff_router, staff_state
from stafettlogg.web.readiness import ServiceHealth, is_ready
from stafettlogg.web.security import security_headers

log = logging.getLogger("stafettlogg.api")

# While the database has not answered at start, try again this often.
START_RETRY_SECONDS = 2.0


@get("/health", tags=["drift"], summary="Liveness", sync_to_thread=False)
def live() -> Health:
    """The process answers. Says nothing about the event store (see /ready)."""
    return Health(status="ok")


@get("/ready", tags=["drift"], summary="Readiness", media_type=MediaType.JSON,
     responses=documented(503))
async def ready(state: State) -> Response[Readiness] | Response[Problem]:
    """Ready when the event store, the key store and the views answer (`checks` says
    part by part); 503 problem details, with the same `checks`, otherwise."""
    health: ServiceHealth = state["health"]
    checks = await to_thread.run_sync(health.check, state.get(STATE_KEY))
    if is_ready(checks):
        return Response(Readiness(status="ready", checks=checks))
    return not_ready(checks)


STORE_UNAVAILABLE = (OperationalError, InterfaceError)


# While the database is down the follower fails five times a second: say so once
# in a while, without a traceback.
_projection_failed = outage_reporter("projection update", STORE_UNAVAILABLE, log)


def provide_app(state: State) -> Stafettlogg:
    app = state.get(STATE_KEY)
    if app is None:
        raise ServiceStarting()
    return app  # type: ignore[no-any-return]


def _start(settings: Settings, given: Stafettlogg | None,
           health: ServiceHealth) -> Stafettlogg:
    """Open the application (unless given) and start keeping its views current."""
    instance = given if given is not None else Stafettlogg(settings)
    try:
        # Catch the views up with the store, then keep them current while serving.
        # Statistics are released in a process of its own when the service owns its
        # store (a given application, as in tests, follows its own clock: a thread).
        instance.start_background(
            on_error=health.reporter("background", STORE_UNAVAILABLE, _projection_failed),
            release_in_process=(
                releaser.main if given is None and instance.backend.views_shareable() else None
            ),
        )
    except BaseException:
        if given is None:
            instance.close()
        raise
    return instance


class _Starter:
    """Opens the application in the background while its database does not answer."""

    def __init__(self, settings: Settings, given: Stafettlogg | None, state: State,
                 health: ServiceHealth) -> None:
        self.settings = settings
        self.given = given
        self.state = state
        self.health = health
        self.instance: Stafettlogg | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="start", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(START_RETRY_SECONDS):
            try:
                instance = _start(self.settings, self.given, self.health)
            except STORE_UNAVAILABLE as exc:
                failure = unrecoverable(exc, self.settings)
                if failure is not None:  # waiting will not mend it: say so once, stop
                    self.health.failed_at_start(failure)
                    return
                log.warning("the database does not answer yet (%s); trying again",
                            type(exc).__name__)
                continue
            except Exception as exc:  # noqa: BLE001 - anything else: report, keep 503
                log.error("the application could not start: %s", type(exc).__name__,
                          exc_info=exc)
                return
            with self._lock:
                if self._stop.is_set():  # stopped meanwhile: do not serve after all
                    instance.stop_background()
                    if self.given is None:
                        instance.close()
                    return
                self.instance = instance
                self.state[STATE_KEY] = instance
            log.warning("the database answers: the service is ready")
            return

    def stop(self) -> Stafettlogg | None:
        """Stop trying; the application, if it was opened meanwhile."""
        with self._lock:
            self._stop.set()
        self._thread.join(timeout=30)
        return self.instance


def create_app(settings: Settings | None = None, app: Stafettlogg | None = None, *,
               demo_sign_in: bool = False) -> Litestar:
    """The Litestar app. Settings come from the environment unless given.
    `demo_sign_in` (only `stafettlogg serve --demo`) lists the demo's people on the
    sign-in page, one click each."""
    settings = settings if settings is not None else (app.settings if app else Settings.from_env())
    settings.check()  # fail now, not at startup, on a bad database URL

    @asynccontextmanager
    async def lifespan(litestar: Litestar) -> AsyncIterator[None]:
        owned = app is None
        starter: _Starter | None = None
        instance: Stafettlogg | None
        try:
            instance = await to_thread.run_sync(_start, settings, app, health)
        except STORE_UNAVAILABLE as exc:
            instance = None
            failure = unrecoverable(exc, settings)
            if failure is not None:
                # Waiting will not mend it (an unknown role, a missing database...):
                # said once, in plain words; 503, and /ready names it.
                health.failed_at_start(failure)
            else:
                # Serve 503 meanwhile (/health still answers), and keep trying.
                log.error("the database does not answer (%s): serving 503 until it does",
                          type(exc).__name__)
                starter = _Starter(settings, app, litestar.state, health)
                starter.start()
        else:
            litestar.state[STATE_KEY] = instance
        try:
            yield
        finally:
            if starter is not None:
                instance = await to_thread.run_sync(starter.stop)
            litestar.state.pop(STATE_KEY, None)
            health.close()
            if instance is not None:
                await to_thread.run_sync(instance.stop_background)
                if owned:
                    await to_thread.run_sync(instance.close)

    metrics = Metrics(lambda: litestar.state.get(STATE_KEY))
    health = ServiceHealth(settings, metrics)
    litestar = Litestar(
        route_handlers=[live, ready, metrics_endpoint, api_router(settings), pages_router(),
                        staff_router()],
        lifespan=[lifespan],
        before_send=[security_headers],
        state=State({"settings": settings, "metrics": metrics, "health": health,
                     **staff_state(settings, demo_sign_in=demo_sign_in)}),
        dependencies={"app": Provide(provide_app, sync_to_thread=False)},
        # Problem details on the machine paths (an unknown path under /api too), an
        # HTML error page on every other path.
        exception_handlers=page_or_problem(EXCEPTION_HANDLERS),
        template_config=template_config(),
        openapi_config=OpenAPIConfig(
            title="Stafettlogg",
            version="1",
            description="Digital stafettlogg for BTI (Bedre tverrfaglig innsats).",
            path="/schema",
            render_plugins=[SwaggerPage()],  # vendored Swagger UI, at /schema too
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        debug=False,
        # The service's logging is set up by `stafettlogg serve` (observability.py);
        # Litestar's own would replace its handler.
        logging_config=None,
    )
    # One log line and the metrics of every request, a 404 too: around the whole app,
    # outside its exception handlers, after routing has named the route.
    litestar.asgi_handler = RequestObserver(litestar.asgi_handler, metrics)
    return litestar


def api_router(settings: Settings) -> Router:
    """The JSON API: its controllers, bearer tokens, the rate limit and problem details."""
    rate_limit = RateLimitConfig(rate_limit=("minute", settings.rate_limit_per_minute))
    return Router(
        path="/api",
        route_handlers=[CaseController, ServiceController, StaffController, StatisticsController,
                        TrainingController, ImplementationPlanController, SurveyController,
                        SurveyResultsController, inbox],
        dependencies={"actor": Provide(provide_actor, sync_to_thread=False), **DEPENDENCIES},
        middleware=[rate_limit.middleware, DefineMiddleware(BearerTokenAuth)],
        exception_handlers=EXCEPTION_HANDLERS,
    )
