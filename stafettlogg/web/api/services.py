"""Services over HTTP: admins register, rename and close them; everyone signed in lists
them."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody

from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import documented
from stafettlogg.web.api.schemas import (
    ServiceIn,
    ServiceList_,
    ServiceOut,
    ServicePatchIn,
    service_out,
)
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

    @patch("/{service_id:str}", summary="Gi nytt navn til eller legg ned en tjeneste",
           responses=documented(400, 401, 403, 404, 409, 422, 429))
    async def change(
        self, request: Request[Any, Any, Any], app: App, actor: Caller,
        service_id: FromPath[str], data: JSONBody[ServicePatchIn],
    ) -> ServiceOut:
        data = await strictly(request, data)
        info = await off_loop(
            app.change_service, actor, service_id,
            name=None if data.name is msgspec.UNSET else data.name,
            active=None if data.active is msgspec.UNSET else data.active,
        )
        return service_out(info)
