"""Services over HTTP: admins register them, everyone signed in lists them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post

from domain import errors
from domain.access import may_manage_services
from litestar.params import JSONBody

from stafettlogg.web.cases import (
    BEARER,
    App,
    Caller,
    IdempotencyKey,
    off_loop,
    options_of,
    strictly,
)
from stafettlogg.web.problems import documented
from stafettlogg.web.schemas import ServiceIn, ServiceList_, ServiceOut, service_out


class ServiceController(Controller):
    path = "/api/v1/services"
    tags = ["tjenester"]
    security = BEARER

    @post("/", status_code=201, summary="Registrer en tjeneste", responses=documented(
        400, 401, 403, 409, 422, 429))
    async def register(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, data: JSONBody[ServiceIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[ServiceOut]:
        data = await strictly(request, data)
        if not may_manage_services(actor):
            raise errors.Forbidden("Bare en administrator kan registrere tjenester.")
        options = await options_of(request, None, idempotency_key)
        info, replayed = await off_loop(
            app.register_service_outcome, actor, service_id=data.id, name=data.name,
            sector=data.sector, municipalities=data.municipalities,
            idempotency=options.get("idempotency"),
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else None
        return Response(service_out(info), status_code=201, headers=headers)

    @get("/", summary="Alle tjenester", responses=documented(401, 429))
    async def list_services(self, app: App, actor: Caller) -> ServiceList_:
        services = await off_loop(app.list_services)
        return ServiceList_(items=[service_out(s) for s in services])
