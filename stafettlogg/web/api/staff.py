"""The staff directory over HTTP (docs/api.md, "Staff"): admins register and change
staff; everyone signed in lists them and reads one (non-admins see id, name,
service and active only)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import documented
from stafettlogg.web.api.schemas import (
    StaffIn,
    StaffListOut,
    StaffOut,
    StaffPatchIn,
    staff_list_out,
    staff_out,
)
from stafettlogg.web.deps import App, Caller, IdempotencyOnly, off_loop, strictly, versioned

StaffId = FromPath[str]


class StaffController(Controller):
    path = "/v1/staff"
    tags = ["ansatte"]
    security = BEARER

    @post("/", status_code=201, summary="Registrer en ansatt", responses=documented(
        400, 401, 403, 409, 422, 429))
    async def register(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, data: JSONBody[StaffIn],
        idempotency: IdempotencyOnly,
    ) -> Response[StaffOut]:
        data = await strictly(request, data)
        member, replayed = await off_loop(
            app.register_staff, actor, staff_id=data.id, name=data.name, email=data.email,
            service=data.service, roles=data.roles, municipalities=data.municipalities,
            login_subject=data.login.subject if data.login else None, idempotency=idempotency,
        )
        return versioned(staff_out(app.staff_view_of(actor, member)), None, status=201,
                         replayed=replayed)

    @get("/", summary="Ansatte", responses=documented(400, 401, 403, 429))
    async def list_staff(
        self, app: App, actor: Caller,
        service: Annotated[
            str | None, QueryParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = None,
        active: Annotated[bool | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{1,9}$")] = None,
    ) -> StaffListOut:
        return staff_list_out(await off_loop(
            app.staff_list, actor, service=service, active=active, limit=limit,
            after=int(cursor) if cursor else 0,
        ))

    @get("/{staff_id:str}", summary="Les en ansatt", responses=documented(401, 403, 404, 429))
    async def read(self, app: App, actor: Caller, staff_id: StaffId) -> StaffOut:
        return staff_out(await off_loop(app.read_staff, actor, staff_id))

    @patch("/{staff_id:str}", summary="Endre eller deaktiver en ansatt", responses=documented(
        400, 401, 403, 404, 429))
    async def change(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, staff_id: StaffId,
        data: JSONBody[StaffPatchIn],
    ) -> StaffOut:
        data = await strictly(request, data)
        changes = {k: v for k, v in msgspec.structs.asdict(data).items()
                   if v is not msgspec.UNSET and k not in ("login", "active")}
        extra: dict[str, Any] = {}
        if data.login is not msgspec.UNSET:
            extra["login_subject"] = data.login.subject if data.login else None
        if data.active is not msgspec.UNSET:
            extra["active"] = data.active
        member = await off_loop(app.change_staff, actor, staff_id, **changes, **extra)
        return staff_out(app.staff_view_of(actor, member))

