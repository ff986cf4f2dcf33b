"""The HTTP API (Litestar 2). For now: liveness, readiness and the OpenAPI schema.

`create_app()` builds the ASGI app. The event-sourced application is made when the
server starts (off the event loop: opening SQLite and the key file is blocking I/O)
and closed when it stops; handlers find it in `app.state.stafettlogg`. An
application passed in by the caller (tests, `serve --demo`) is used as given and
left open: whoever made it closes it.

Errors are RFC 9457 problem details (`application/problem+json`); no answer ever
carries a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from anyio import to_thread
from litestar import Litestar, MediaType, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings

log = logging.getLogger("stafettlogg.api")

PROBLEM_JSON = "application/problem+json"
STATE_KEY = "stafettlogg"


def problem(status: int, title: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    """An RFC 9457 problem-details answer."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON)


def _http_exception(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    title = {
        400: "Ugyldig forespørsel",
        401: "Ikke autentisert",
        403: "Ingen tilgang",
        404: "Finnes ikke",
        405: "Metoden er ikke tillatt",
        429: "For mange forespørsler",
    }.get(exc.status_code, "Feil")
    return problem(exc.status_code, title, exc.detail or title)


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    # The traceback goes to the server log, never to the client.
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "Intern feil",
        "Noe gikk galt på tjeneren. Feilen er logget.",
    )


@get("/health", tags=["drift"], summary="Liveness", sync_to_thread=False)
def health() -> dict[str, str]:
    """The process answers. Says nothing about the event store (see /ready)."""
    return {"status": "ok"}


def _store_answers(app: Stafettlogg) -> None:
    app.recorder.max_notification_id()


@get("/ready", tags=["drift"], summary="Readiness", media_type=MediaType.JSON)
async def ready(state: State) -> Response[dict[str, Any]]:
    """Ready when the event store answers; 503 problem details otherwise."""
    app: Stafettlogg | None = state.get(STATE_KEY)
    if app is None:
        return problem(HTTP_503_SERVICE_UNAVAILABLE, "Ikke klar", "Applikasjonen er ikke startet.")
    try:
        await to_thread.run_sync(_store_answers, app)
    except Exception as exc:  # noqa: BLE001 - any failure of the store means "not ready"
        log.warning("readiness check failed: %s", type(exc).__name__)
        return problem(HTTP_503_SERVICE_UNAVAILABLE, "Ikke klar", "Hendelseslageret svarer ikke.")
    return Response(content={"status": "ready"})


def create_app(settings: Settings | None = None, app: Stafettlogg | None = None) -> Litestar:
    """The Litestar app. Settings come from the environment unless given."""
    settings = settings if settings is not None else (app.settings if app else Settings.from_env())
    settings.sqlite_path  # noqa: B018 - fail now, not at startup, on a bad database URL

    @asynccontextmanager
    async def lifespan(litestar: Litestar) -> AsyncIterator[None]:
        owned = app is None
        instance = app if app is not None else await to_thread.run_sync(Stafettlogg, settings)
        litestar.state[STATE_KEY] = instance
        try:
            yield
        finally:
            litestar.state.pop(STATE_KEY, None)
            if owned:
                await to_thread.run_sync(instance.close)

    return Litestar(
        route_handlers=[health, ready],
        lifespan=[lifespan],
        state=State({"settings": settings}),
        exception_handlers={
            HTTPException: _http_exception,
            Exception: _unexpected,
        },
        openapi_config=OpenAPIConfig(
            title="Stafettlogg",
            version="1",
            description="Digital stafettlogg for BTI (Bedre tverrfaglig innsats).",
            path="/schema",
        ),
        debug=False,
    )
