"""Case work over HTTP: the contract's Cases section and the inbox.

Handlers are thin: they turn a request into one call of the application (off the
event loop) and its view into the contract's answer. Every rule, every access
check and every decision of what a reader may see lives below them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from stafettlogg.application import Stafettlogg
from stafettlogg.archive import archive_zip
from stafettlogg.protocol import Outcome
from stafettlogg.web.api.problems import documented
from stafettlogg.web.api.schemas import (
    AccessLogOut,
    ActionIn,
    CaseListOut,
    CaseOut,
    CloseIn,
    ConsentIn,
    CoordinatorIn,
    CreatedOut,
    EntryIn,
    EvaluationIn,
    GroupIn,
    GuardianIn,
    HandoverIn,
    StatutorySharingIn,
    HandoverOut,
    InboxOut,
    Level0StepIn,
    LevelIn,
    LogOut,
    MeetingIn,
    OpenCaseIn,
    ParticipantIn,
    ReasonIn,
    SatisfactionIn,
    WithholdIn,
    access_log_out,
    case_list_out,
    case_out,
    inbox_out,
    log_out,
)
from stafettlogg.web.deps import (
    App,
    Caller,
    CaseCall,
    IdempotencyOnly,
    off_loop,
    strictly,
    versioned,
)

READ_ERRORS = documented(400, 401, 403, 404, 429)
WRITE_ERRORS = documented(400, 401, 403, 404, 409, 412, 422, 429)
BEARER = [{"bearer": []}]
Http = Request[Any, Any, Any]
CaseId = FromPath[UUID]


def case_answer(outcome: Outcome, app: Stafettlogg, status: int = 200) -> Response[CaseOut]:
    """A step that changes the case answers with the case as it left it."""
    view = app.case_view(outcome.case)
    return versioned(case_out(view), view.version, status=status, replayed=outcome.replayed)


def created(outcome: Outcome, kind: str) -> Response[CreatedOut]:
    """A step that adds something answers with its id, its kind and the case version."""
    result = outcome.result if isinstance(outcome.result, UUID) else None
    body = CreatedOut(id=result, kind=kind, case=outcome.case.id, version=outcome.case.version)
    return versioned(body, outcome.case.version, status=201, replayed=outcome.replayed)


def handover_created(outcome: Outcome) -> Response[HandoverOut]:
    """A handover request answers with the handover: pending until the recipient accepts."""
    pending = outcome.case.state.pending_handover
    body = HandoverOut(
        id=outcome.result,
        status="pending" if pending is not None and pending.id == outcome.result else "answered",
        to_user=pending.to_user if pending else "",
        to_service=pending.to_service if pending else "",
        case=outcome.case.id,
        version=outcome.case.version,
    )
    return versioned(body, outcome.case.version, status=201, replayed=outcome.replayed)


class CaseController(Controller):
    path = "/v1/cases"
    tags = ["saker"]
    security = BEARER

    @post("/", status_code=201, summary="Opprett sak (nivå 0)", responses=WRITE_ERRORS)
    async def open_case(
        self, request: Http, app: App, actor: Caller, data: JSONBody[OpenCaseIn],
        idempotency: IdempotencyOnly,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.open_case_outcome, actor,
            child_name=data.child.name, birth_date=data.child.birth_date,
            national_id=data.child.national_id, concern=data.concern,
            municipality=data.municipality, idempotency=idempotency,
        )
        return case_answer(outcome, app, 201)

    @get("/", summary="Saker du kan se", responses=READ_ERRORS)
    async def list_cases(
        self, app: App, actor: Caller,
        status: FromQuery[Literal["open", "closed"] | None] = None,
        # Litestar leaves a constraint of 0 out of the document; say it explicitly.
        level: Annotated[
            int | None, QueryParameter(ge=0, le=3, schema_extra={"minimum": 0})
        ] = None,
        holder: FromQuery[Literal["me"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{1,18}$")] = None,
    ) -> CaseListOut:
        return case_list_out(await off_loop(
            app.case_list, actor, status=status, level=level, holder_me=holder == "me",
            limit=limit, after=int(cursor) if cursor else 0,
        ))

    @get("/{case_id:uuid}", summary="Les en sak", responses=READ_ERRORS)
    async def read_case(self, app: App, actor: Caller, case_id: CaseId) -> Response[CaseOut]:
        view = await off_loop(app.read_case_view, actor, case_id)
        return versioned(case_out(view), view.version)

    @get("/{case_id:uuid}/log", summary="Stafettloggen", responses=READ_ERRORS)
    async def read_log(self, app: App, actor: Caller, case_id: CaseId) -> LogOut:
        return log_out(await off_loop(app.read_log, actor, case_id))

    @get("/{case_id:uuid}/access-log", summary="Tilgangsloggen", responses=READ_ERRORS)
    async def read_access_log(self, app: App, actor: Caller, case_id: CaseId) -> AccessLogOut:
        return access_log_out(await off_loop(app.read_access_log, actor, case_id))

    @get("/{case_id:uuid}/archive", summary="Arkivpakken til en avsluttet sak",
         media_type="application/zip", responses=documented(400, 401, 403, 404, 409, 429),
         description=(
             "Zip med loggen, samtykkene og tilgangsloggen som PDF/A (stafettlogg.pdf), "
             "arkivmeldingen (arkivmelding.xml) og skjemaet den følger (arkivmelding.xsd). "
             "For stafettholderen ved avslutningen og sakens koordinator; skrives i "
             "tilgangsloggen (download-archive). 409 case-not-closed for en åpen sak."))
    async def archive_package(self, app: App, actor: Caller, case_id: CaseId
                              ) -> Response[bytes]:
        name, data = await off_loop(archive_zip, app, actor, case_id)
        return Response(data, media_type="application/zip", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})

    # Steps that add something -------------------------------------------------------

    @post("/{case_id:uuid}/entries", status_code=201, responses=WRITE_ERRORS)
    async def add_entry(self, call: CaseCall, case_id: CaseId, data: JSONBody[EntryIn]
                        ) -> Response[CreatedOut]:
        return created(await call.run(call.app.add_entry, case_id, data=data), "entry")

    @post("/{case_id:uuid}/guardians", status_code=201, summary="Registrer en foresatt",
          responses=WRITE_ERRORS)
    async def record_guardian(self, call: CaseCall, case_id: CaseId, data: JSONBody[GuardianIn]
                              ) -> Response[CreatedOut]:
        return created(await call.run(call.app.record_guardian, case_id, data=data), "guardian")

    @post("/{case_id:uuid}/level0-steps", status_code=201, responses=WRITE_ERRORS)
    async def record_level0_step(self, call: CaseCall, case_id: CaseId,
                                 data: JSONBody[Level0StepIn]) -> Response[CreatedOut]:
        outcome = await call.run(call.app.record_level0_step, case_id, data=data)
        return created(outcome, "level0-step")

    @post("/{case_id:uuid}/consents", status_code=201, responses=WRITE_ERRORS)
    async def register_consent(self, call: CaseCall, case_id: CaseId, data: JSONBody[ConsentIn]
                               ) -> Response[CreatedOut]:
        return created(await call.run(call.app.register_consent, case_id, data=data), "consent")

    @post("/{case_id:uuid}/handovers", status_code=201, responses=WRITE_ERRORS)
    async def request_handover(self, call: CaseCall, case_id: CaseId, data: JSONBody[HandoverIn]
                               ) -> Response[HandoverOut]:
        return handover_created(await call.run(call.app.request_handover, case_id, data=data))

    @post("/{case_id:uuid}/meetings", status_code=201, responses=WRITE_ERRORS)
    async def hold_meeting(self, call: CaseCall, case_id: CaseId, data: JSONBody[MeetingIn]
                           ) -> Response[CreatedOut]:
        return created(await call.run(call.app.hold_meeting, case_id, data=data), "meeting")

    @post("/{case_id:uuid}/actions", status_code=201, responses=WRITE_ERRORS)
    async def agree_action(self, call: CaseCall, case_id: CaseId, data: JSONBody[ActionIn]
                           ) -> Response[CreatedOut]:
        return created(await call.run(call.app.agree_action, case_id, data=data), "action")

    @post("/{case_id:uuid}/actions/{action_id:uuid}/evaluations", status_code=201,
          responses=WRITE_ERRORS)
    async def evaluate_action(self, call: CaseCall, case_id: CaseId, action_id: FromPath[UUID],
                              data: JSONBody[EvaluationIn]) -> Response[CreatedOut]:
        outcome = await call.run(call.app.evaluate_action, case_id, action_id, data=data)
        return created(outcome._replace(result=action_id), "evaluation")

    @post("/{case_id:uuid}/satisfaction", status_code=201, responses=WRITE_ERRORS)
    async def record_satisfaction(self, call: CaseCall, case_id: CaseId,
                                  data: JSONBody[SatisfactionIn]) -> Response[CreatedOut]:
        outcome = await call.run(call.app.record_satisfaction, case_id, data=data)
        return created(outcome, "satisfaction")

    @post("/{case_id:uuid}/participants", status_code=201, responses=WRITE_ERRORS)
    async def add_participant(self, call: CaseCall, case_id: CaseId,
                              data: JSONBody[ParticipantIn]) -> Response[CaseOut]:
        body = await call.body(data)  # `role` is not asked for: the service's part decides
        outcome = await call.run(call.app.add_participant, case_id, service=body.service,
                                 user=body.user)
        return case_answer(outcome, call.app, 201)

    @post("/{case_id:uuid}/statutory-sharing", status_code=201, responses=WRITE_ERRORS,
          summary="Koble inn en tjeneste uten samtykke, med lovhjemmel")
    async def bring_in_by_law(self, call: CaseCall, case_id: CaseId,
                              data: JSONBody[StatutorySharingIn]) -> Response[CaseOut]:
        outcome = await call.run(call.app.bring_in_by_law, case_id, data=data)
        return case_answer(outcome, call.app, 201)

    # Steps that change the case -----------------------------------------------------

    @post("/{case_id:uuid}/level", status_code=200, responses=WRITE_ERRORS)
    async def change_level(self, call: CaseCall, case_id: CaseId, data: JSONBody[LevelIn]
                           ) -> Response[CaseOut]:
        return case_answer(await call.run(call.app.change_level, case_id, data=data), call.app)

    @post("/{case_id:uuid}/consents/{consent_id:uuid}/withdraw", status_code=200,
          responses=WRITE_ERRORS)
    async def withdraw_consent(self, call: CaseCall, case_id: CaseId, consent_id: FromPath[UUID],
                               data: JSONBody[ReasonIn]) -> Response[CaseOut]:
        outcome = await call.run(call.app.withdraw_consent, case_id, consent_id, data=data)
        return case_answer(outcome, call.app)

    @delete("/{case_id:uuid}/participants/{service_id:str}", status_code=200,
            responses=WRITE_ERRORS)
    async def remove_participant(self, call: CaseCall, case_id: CaseId,
                                 service_id: FromPath[str]) -> Response[CaseOut]:
        outcome = await call.run(call.app.remove_participant, case_id, service=service_id)
        return case_answer(outcome, call.app)

    @delete("/{case_id:uuid}/guardians/{guardian_id:uuid}", status_code=200,
            summary="Fjern en foresatt", responses=WRITE_ERRORS)
    async def remove_guardian(self, call: CaseCall, case_id: CaseId,
                              guardian_id: FromPath[UUID]) -> Response[CaseOut]:
        outcome = await call.run(call.app.remove_guardian, case_id, guardian_id)
        return case_answer(outcome, call.app)

    @post("/{case_id:uuid}/entries/{entry_id:uuid}/withhold", status_code=200,
          summary="Hold en innføring skjult for de foresatte (barnet fra 12 år ber om det)",
          responses=WRITE_ERRORS)
    async def withhold_entry(self, call: CaseCall, case_id: CaseId, entry_id: FromPath[UUID],
                             data: JSONBody[WithholdIn]) -> Response[CaseOut]:
        outcome = await call.run(call.app.withhold_entry, case_id, entry_id, data=data)
        return case_answer(outcome, call.app)

    @post("/{case_id:uuid}/handovers/{handover_id:uuid}/accept", status_code=200,
          responses=WRITE_ERRORS)
    async def accept_handover(self, call: CaseCall, case_id: CaseId,
                              handover_id: FromPath[UUID]) -> Response[CaseOut]:
        outcome = await call.run(call.app.accept_handover, case_id, handover_id)
        return case_answer(outcome, call.app)

    @post("/{case_id:uuid}/handovers/{handover_id:uuid}/decline", status_code=200,
          responses=WRITE_ERRORS)
    async def decline_handover(self, call: CaseCall, case_id: CaseId, handover_id: FromPath[UUID],
                               data: JSONBody[ReasonIn]) -> Response[CaseOut]:
        outcome = await call.run(call.app.decline_handover, case_id, handover_id, data=data)
        return case_answer(outcome, call.app)

    @post("/{case_id:uuid}/handovers/{handover_id:uuid}/cancel", status_code=200,
          responses=WRITE_ERRORS)
    async def cancel_handover(self, call: CaseCall, case_id: CaseId,
                              handover_id: FromPath[UUID]) -> Response[CaseOut]:
        outcome = await call.run(call.app.cancel_handover, case_id, handover_id)
        return case_answer(outcome, call.app)

    @post("/{case_id:uuid}/coordinator", status_code=200, responses=WRITE_ERRORS)
    async def appoint_coordinator(self, call: CaseCall, case_id: CaseId,
                                  data: JSONBody[CoordinatorIn]) -> Response[CaseOut]:
        outcome = await call.run(call.app.appoint_coordinator, case_id, data=data)
        return case_answer(outcome, call.app)

    @delete("/{case_id:uuid}/coordinator", status_code=200, responses=WRITE_ERRORS)
    async def release_coordinator(self, call: CaseCall, case_id: CaseId) -> Response[CaseOut]:
        return case_answer(await call.run(call.app.release_coordinator, case_id), call.app)

    @post("/{case_id:uuid}/responsibility-group", status_code=200, responses=WRITE_ERRORS)
    async def establish_responsibility_group(self, call: CaseCall, case_id: CaseId,
                                             data: JSONBody[GroupIn]) -> Response[CaseOut]:
        outcome = await call.run(call.app.establish_responsibility_group, case_id, data=data)
        return case_answer(outcome, call.app)

    @delete("/{case_id:uuid}/responsibility-group", status_code=200, responses=WRITE_ERRORS)
    async def dissolve_responsibility_group(self, call: CaseCall, case_id: CaseId
                                            ) -> Response[CaseOut]:
        outcome = await call.run(call.app.dissolve_responsibility_group, case_id)
        return case_answer(outcome, call.app)

    @post("/{case_id:uuid}/individual-plan", status_code=200, responses=WRITE_ERRORS)
    async def start_individual_plan(self, call: CaseCall, case_id: CaseId) -> Response[CaseOut]:
        return case_answer(await call.run(call.app.start_individual_plan, case_id), call.app)

    @delete("/{case_id:uuid}/individual-plan", status_code=200, responses=WRITE_ERRORS)
    async def end_individual_plan(self, call: CaseCall, case_id: CaseId) -> Response[CaseOut]:
        return case_answer(await call.run(call.app.end_individual_plan, case_id), call.app)

    @post("/{case_id:uuid}/close", status_code=200, responses=WRITE_ERRORS)
    async def close_case(self, call: CaseCall, case_id: CaseId, data: JSONBody[CloseIn]
                         ) -> Response[CaseOut]:
        return case_answer(await call.run(call.app.close_case, case_id, data=data), call.app)


@get("/v1/inbox", tags=["saker"], summary="Innboksen", responses=READ_ERRORS,
     security=BEARER)
async def inbox(app: App, actor: Caller) -> InboxOut:
    return inbox_out(await off_loop(app.inbox, actor))
