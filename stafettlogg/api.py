"""The HTTP API (Litestar 2), as `../shared/docs/api-contract.md` describes it.

`create_app()` builds the ASGI app. The event-sourced application is made when the
server starts (off the event loop: opening SQLite and the key file is blocking I/O)
and closed when it stops; handlers receive it as the `app` dependency and the
caller as `actor`. An application passed in by the caller (tests) is used as given
and left open: whoever made it closes it.

Under `/api` every request is rate limited per client and must carry a valid bearer
token. Errors are RFC 9457 problem details; no answer ever carries a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from litestar import Litestar, MediaType, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from stafettlogg.web.auth import STATE_KEY, BearerTokenAuth, provide_actor
from stafettlogg.web.cases import CaseController, inbox
from stafettlogg.web.problems import EXCEPTION_HANDLERS, documented, problem
from stafettlogg.web.schemas import Health, Problem
from stafettlogg.web.services import ServiceController
from stafettlogg.web.statistics import StatisticsController

log = logging.getLogger("stafettlogg.api")

OPEN_PATHS = ["^/health", "^/ready", "^/schema"]


@get("/health", tags=["drift"], summary="Liveness", sync_to_thread=False)
def health() -> Health:
    """The process answers. Says nothing about the event store (see /ready)."""
    return Health(status="ok")


def _store_answers(app: Stafettlogg) -> None:
    app.recorder.max_notification_id()


@get("/ready", tags=["drift"], summary="Readiness", media_type=MediaType.JSON,
     responses=documented(503))
async def ready(state: State) -> Response[Health] | Response[Problem]:
    """Ready when the event store answers; 503 problem details otherwise."""
    app: Stafettlogg | None = state.get(STATE_KEY)
    if app is None:
        return problem(503, "Applikasjonen er ikke startet.")
    try:
        await to_thread.run_sync(_store_answers, app)
    except Exception as exc:  # noqa: BLE001 - any failure of the store means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return problem(503, "Hendelseslageret svarer ikke.")
    return Response(Health(status="ready"))


def _projection_failed(exc: BaseException) -> None:
    log.error("projection update failed: %s", type(exc).__name__, exc_info=exc)


def provide_app(state: State) -> Stafettlogg:
    return state[STATE_KEY]  # type: ignore[no-any-return]


def create_app(settings: Settings | None = None, app: Stafettlogg | None = None) -> Litestar:
    """The Litestar app. Settings come from the environment unless given."""
    settings = settings if settings is not None else (app.settings if app else Settings.from_env())
    settings.sqlite_path  # noqa: B018 - fail now, not at startup, on a bad database URL

    @asynccontextmanager
    async def lifespan(litestar: Litestar) -> AsyncIterator[None]:
        owned = app is None
        instance = app if app is not None else await to_thread.run_sync(Stafettlogg, settings)
        # Catch the views up with the store, then keep them current while serving.
        await to_thread.run_sync(
            lambda: instance.statistics.start_following(on_error=_projection_failed)
        )
        litestar.state[STATE_KEY] = instance
        try:
            yield
        finally:
            litestar.state.pop(STATE_KEY, None)
            await to_thread.run_sync(instance.statistics.stop_following)
            if owned:
                await to_thread.run_sync(instance.close)

    rate_limit = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_per_minute), exclude=OPEN_PATHS
    )
    return Litestar(
        route_handlers=[
            health, ready, CaseController, ServiceController, StatisticsController, inbox,
        ],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        dependencies={
            "app": Provide(provide_app, sync_to_thread=False),
            "actor": Provide(provide_actor, sync_to_thread=False),
        },
        middleware=[
            rate_limit.middleware,
            DefineMiddleware(BearerTokenAuth, exclude=OPEN_PATHS),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="Stafettlogg",
            version="1",
            description="Digital stafettlogg for BTI (Bedre tverrfaglig innsats).",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        debug=False,
    )
