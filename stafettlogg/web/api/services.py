"""Services over HTTP: admins register them, everyone signed in lists them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody

from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import documented
from stafettlogg.web.api.schemas import ServiceIn, ServiceList_, ServiceOut, service_out
from stafettlogg.web.deps import App, Caller, IdempotencyOnly, off_loop, strictly, versioned


class ServiceController(Controller):
    path = "/v1/services"
    tags = ["tjenester"]
    security = BEARER

    @post("/", status_code=201, summary="Registrer en tjeneste", responses=documented(
        400, 401, 403, 409, 422, 429))
    async def register(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, data: JSONBody[ServiceIn],
        idempotency: IdempotencyOnly,
    ) -> Response[ServiceOut]:
        data = await strictly(request, data)
        info, replayed = await off_loop(
            app.register_service_outcome, actor, service_id=data.id, name=data.name,
            sector=data.sector, municipalities=data.municipalities, idempotency=idempotency,
        )
        return versioned(service_out(info), None, status=201, replayed=replayed)

    @get("/", summary="Alle tjenester", responses=documented(401, 429))
    async def list_services(self, app: App, actor: Caller) -> ServiceList_:
        services = await off_loop(app.list_services)
        return ServiceList_(items=[service_out(s) for s in services])
