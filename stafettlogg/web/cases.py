"""Case work over HTTP: the contract's Cases section and the inbox.

Handlers are thin: they turn a request into one call of the application (run in a
worker thread, since eventsourcing is synchronous) and its outcome into the
contract's answer. Every rule, and every access check, lives below them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter

from domain.values import Actor
from stafettlogg.application import CommandOptions, Outcome, Stafettlogg
from stafettlogg.idempotency import Idempotency
from stafettlogg.web.problems import documented
from stafettlogg.web.schemas import (
    AccessLineOut,
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
    HandoverIn,
    HandoverOut,
    InboxActionOut,
    InboxConsentOut,
    InboxHandoverOut,
    InboxOut,
    Level0StepIn,
    LevelIn,
    LogEntryOut,
    LogOut,
    MeetingIn,
    OpenCaseIn,
    ParticipantIn,
    ReasonIn,
    SatisfactionIn,
    case_out,
    case_summary_out,
)

T = TypeVar("T")

READ_ERRORS = documented(400, 401, 403, 404, 429)
WRITE_ERRORS = documented(400, 401, 403, 404, 409, 412, 422, 429)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key", required=False, max_length=200, min_length=1,
        description="Send the same key again to get the first answer and record nothing new.",
    ),
]
IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match", required=False, max_length=100,
        description="The case's ETag as read; a stale one is refused with 412.",
    ),
]
App = NamedDependency[Stafettlogg]
Caller = NamedDependency[Actor]


B = TypeVar("B")


async def strictly(request: Request[Any, Any, Any], data: B) -> B:
    """The body decoded again, strictly: Litestar converts `"2"` into 2; we refuse it."""
    return msgspec.json.decode(await request.body(), type=type(data))


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous application call in a worker thread."""
    return await to_thread.run_sync(functools.partial(fn, *args, **kwargs))


def etag(version: int) -> str:
    return f'"{version}"'


NO_VERSION = -1  # what a malformed If-Match asks for: no case ever has it, so 412


def parse_if_match(value: str | None) -> int | None:
    """`"7"` or `W/"7"` -> 7; `*` or absent -> None (any version).

    A malformed value matches no version; it is refused with 412 by the application,
    after the checks of who may see the case, so it reveals nothing more than they do."""
    if value is None or value.strip() == "*":
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    return int(raw) if raw.isdigit() and len(raw) < 19 else NO_VERSION


async def options_of(
    request: Request[Any, Any, Any], if_match: str | None, idempotency_key: str | None
) -> CommandOptions:
    options: CommandOptions = {"expected_version": parse_if_match(if_match)}
    if idempotency_key is not None:
        options["idempotency"] = Idempotency.of(
            idempotency_key, request.method, request.url.path, await request.body()
        )
    return options


def case_response(outcome_case: Any, app: Stafettlogg, status: int = 200, **extra: Any) -> Response[CaseOut]:
    headers = {"ETag": etag(outcome_case.version)}
    if extra.get("replayed"):
        headers["Idempotent-Replayed"] = "true"
    return Response(
        case_out(outcome_case, app.clock().date()), status_code=status, headers=headers
    )


def created(outcome: Outcome, kind: str) -> Response[CreatedOut]:
    headers = {"ETag": etag(outcome.case.version)}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    result = outcome.result if isinstance(outcome.result, UUID) else None
    return Response(
        CreatedOut(id=result, kind=kind, case=outcome.case.id, version=outcome.case.version),
        status_code=201,
        headers=headers,
    )


def handover_created(outcome: Outcome) -> Response[HandoverOut]:
    """A handover request answers with the handover: pending until the recipient accepts."""
    state = outcome.case.state
    pending = state.pending_handover
    headers = {"ETag": etag(outcome.case.version)}
    if outcome.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        HandoverOut(
            id=outcome.result,
            status="pending" if pending is not None and pending.id == outcome.result else "answered",
            to_user=pending.to_user if pending else "",
            to_service=pending.to_service if pending else "",
            case=outcome.case.id,
            version=outcome.case.version,
        ),
        status_code=201,
        headers=headers,
    )


BEARER = [{"bearer": []}]


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ["saker"]
    security = BEARER

    @post("/", status_code=201, summary="Opprett sak (nivå 0)", responses=WRITE_ERRORS)
    async def open_case(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, data: JSONBody[OpenCaseIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        options = await options_of(request, None, idempotency_key)
        outcome = await off_loop(
            app.open_case_outcome, actor,
            child_name=data.child.name, birth_date=data.child.birth_date,
            national_id=data.child.national_id, concern=data.concern,
            municipality=data.municipality, idempotency=options.get("idempotency"),
        )
        return case_response(outcome.case, app, 201, replayed=outcome.replayed)

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
        page, last = await off_loop(
            app.list_cases, actor, status=status, level=level, holder_me=holder == "me",
            limit=limit, after=int(cursor) if cursor else 0,
        )
        today = app.clock().date()
        return CaseListOut(
            items=[case_summary_out(c, today) for c in page],
            next=None if last is None else str(last),
        )

    @get("/{case_id:uuid}", summary="Les en sak", responses=READ_ERRORS)
    async def read_case(self, app: App, actor: Caller, case_id: FromPath[UUID]) -> Response[CaseOut]:
        def read() -> tuple[CaseOut, int]:
            case = app.read_case(actor, case_id)
            child = app.child_details(case_id) if app.may_see_content(actor, case) else None
            return case_out(case, app.clock().date(), child=child), case.version

        body, version = await off_loop(read)
        return Response(body, headers={"ETag": etag(version)})

    @get("/{case_id:uuid}/log", summary="Stafettloggen", responses=READ_ERRORS)
    async def read_log(self, app: App, actor: Caller, case_id: FromPath[UUID]) -> LogOut:
        entries = await off_loop(app.read_log, actor, case_id)
        envelope = {"seq", "at", "kind", "user", "service", "text"}
        return LogOut(
            entries=[
                LogEntryOut(
                    seq=e["seq"], at=e["at"], kind=e["kind"], user=e["user"],
                    service=e["service"], text=e["text"],
                    details={k: v for k, v in e.items() if k not in envelope},
                )
                for e in entries
            ]
        )

    @get("/{case_id:uuid}/access-log", summary="Tilgangsloggen", responses=READ_ERRORS)
    async def read_access_log(self, app: App, actor: Caller, case_id: FromPath[UUID]) -> AccessLogOut:
        lines = await off_loop(app.read_access_log, actor, case_id)
        return AccessLogOut(items=[AccessLineOut(**line) for line in lines])

    # Steps that add something -------------------------------------------------------

    @post("/{case_id:uuid}/entries", status_code=201, responses=WRITE_ERRORS)
    async def add_entry(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[EntryIn], if_match: IfMatch = None, idempotency_key: IdempotencyKey = None,
    ) -> Response[CreatedOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.add_entry, actor, case_id, kind=data.kind, text=data.text, corrects=data.corrects,
            **await options_of(request, if_match, idempotency_key),
        )
        return created(outcome, "entry")

    @post("/{case_id:uuid}/level0-steps", status_code=201, responses=WRITE_ERRORS)
    async def record_level0_step(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[Level0StepIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreatedOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.record_level0_step, actor, case_id, step=data.step, text=data.text,
            **await options_of(request, if_match, idempotency_key),
        )
        return created(outcome, "level0-step")

    @post("/{case_id:uuid}/consents", status_code=201, responses=WRITE_ERRORS)
    async def register_consent(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[ConsentIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreatedOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.register_consent, actor, case_id, given_by=data.given_by, services=data.services,
            purpose=data.purpose, valid_until=data.valid_until, form=data.form,
            child_view=data.child_view, **await options_of(request, if_match, idempotency_key),
        )
        return created(outcome, "consent")

    @post("/{case_id:uuid}/handovers", status_code=201, responses=WRITE_ERRORS)
    async def request_handover(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[HandoverIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[HandoverOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.request_handover, actor, case_id, to_user=data.to_user,
            to_service=data.to_service, note=data.note,
            **await options_of(request, if_match, idempotency_key),
        )
        return handover_created(outcome)

    @post("/{case_id:uuid}/meetings", status_code=201, responses=WRITE_ERRORS)
    async def hold_meeting(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[MeetingIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreatedOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.hold_meeting, actor, case_id, held_on=data.held_on, services=data.services,
            minutes=data.minutes, **await options_of(request, if_match, idempotency_key),
        )
        return created(outcome, "meeting")

    @post("/{case_id:uuid}/actions", status_code=201, responses=WRITE_ERRORS)
    async def agree_action(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[ActionIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreatedOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.agree_action, actor, case_id, description=data.description,
            responsible_service=data.responsible_service, evaluate_by=data.evaluate_by,
            **await options_of(request, if_match, idempotency_key),
        )
        return created(outcome, "action")

    @post("/{case_id:uuid}/actions/{action_id:uuid}/evaluations", status_code=201,
          responses=WRITE_ERRORS)
    async def evaluate_action(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        action_id: FromPath[UUID], data: JSONBody[EvaluationIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreatedOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.evaluate_action, actor, case_id, action_id, outcome=data.outcome, text=data.text,
            **await options_of(request, if_match, idempotency_key),
        )
        return created(outcome._replace(result=action_id), "evaluation")

    @post("/{case_id:uuid}/satisfaction", status_code=201, responses=WRITE_ERRORS)
    async def record_satisfaction(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[SatisfactionIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CreatedOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.record_satisfaction, actor, case_id, respondent=data.respondent, score=data.score,
            **await options_of(request, if_match, idempotency_key),
        )
        return created(outcome, "satisfaction")

    # Steps that change the case -----------------------------------------------------

    @post("/{case_id:uuid}/level", status_code=200, responses=WRITE_ERRORS)
    async def change_level(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[LevelIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.change_level, actor, case_id, level=data.level, reason=data.reason,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/consents/{consent_id:uuid}/withdraw", status_code=200,
          responses=WRITE_ERRORS)
    async def withdraw_consent(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        consent_id: FromPath[UUID], data: JSONBody[ReasonIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.withdraw_consent, actor, case_id, consent_id, reason=data.reason,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/participants", status_code=201, responses=WRITE_ERRORS)
    async def add_participant(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[ParticipantIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.add_participant, actor, case_id, service=data.service, user=data.user,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, 201, replayed=outcome.replayed)

    @delete("/{case_id:uuid}/participants/{service_id:str}", status_code=200,
            responses=WRITE_ERRORS)
    async def remove_participant(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        service_id: FromPath[str], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        outcome = await off_loop(
            app.remove_participant, actor, case_id, service=service_id,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/handovers/{handover_id:uuid}/accept", status_code=200,
          responses=WRITE_ERRORS)
    async def accept_handover(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        handover_id: FromPath[UUID], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        outcome = await off_loop(
            app.accept_handover, actor, case_id, handover_id,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/handovers/{handover_id:uuid}/decline", status_code=200,
          responses=WRITE_ERRORS)
    async def decline_handover(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        handover_id: FromPath[UUID], data: JSONBody[ReasonIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.decline_handover, actor, case_id, handover_id, reason=data.reason,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/handovers/{handover_id:uuid}/cancel", status_code=200,
          responses=WRITE_ERRORS)
    async def cancel_handover(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        handover_id: FromPath[UUID], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        outcome = await off_loop(
            app.cancel_handover, actor, case_id, handover_id,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/coordinator", status_code=200, responses=WRITE_ERRORS)
    async def appoint_coordinator(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[CoordinatorIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.appoint_coordinator, actor, case_id, user=data.user, service=data.service,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @delete("/{case_id:uuid}/coordinator", status_code=200, responses=WRITE_ERRORS)
    async def release_coordinator(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        if_match: IfMatch = None, idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        outcome = await off_loop(
            app.release_coordinator, actor, case_id,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/responsibility-group", status_code=200, responses=WRITE_ERRORS)
    async def establish_responsibility_group(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[GroupIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.establish_responsibility_group, actor, case_id, services=data.services,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @delete("/{case_id:uuid}/responsibility-group", status_code=200, responses=WRITE_ERRORS)
    async def dissolve_responsibility_group(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        if_match: IfMatch = None, idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        outcome = await off_loop(
            app.dissolve_responsibility_group, actor, case_id,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/individual-plan", status_code=200, responses=WRITE_ERRORS)
    async def start_individual_plan(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        if_match: IfMatch = None, idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        outcome = await off_loop(
            app.start_individual_plan, actor, case_id,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @delete("/{case_id:uuid}/individual-plan", status_code=200, responses=WRITE_ERRORS)
    async def end_individual_plan(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        if_match: IfMatch = None, idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        outcome = await off_loop(
            app.end_individual_plan, actor, case_id,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)

    @post("/{case_id:uuid}/close", status_code=200, responses=WRITE_ERRORS)
    async def close_case(
        self, request: Request[Any, Any, Any], app: App, actor: Caller, case_id: FromPath[UUID],
        data: JSONBody[CloseIn], if_match: IfMatch = None,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[CaseOut]:
        data = await strictly(request, data)
        outcome = await off_loop(
            app.close_case, actor, case_id, reason=data.reason, note=data.note,
            **await options_of(request, if_match, idempotency_key),
        )
        return case_response(outcome.case, app, replayed=outcome.replayed)


@get("/api/v1/inbox", tags=["saker"], summary="Innboksen", responses=READ_ERRORS,
     security=BEARER)
async def inbox(app: App, actor: Caller) -> InboxOut:
    waiting = await off_loop(app.inbox, actor)
    return InboxOut(
        handovers=[
            InboxHandoverOut(
                case=f.id, id=UUID(f.pending_id), to_user=f.pending_to_user,
                to_service=f.pending_to_service, requested_by=f.pending_requested_by,
                requested_at=summary.pending_handover.requested_at,
            )
            for item in waiting["handovers"]
            for f in [item["handover"]]
            for summary in [case_summary_out(f, app.clock().date())]
        ],
        actions_due=[
            InboxActionOut(
                case=i["case"], id=i["id"], responsible_service=i["responsible_service"],
                evaluate_by=i["evaluate_by"],
            )
            for i in waiting["actions_due"]
        ],
        consents_expiring=[
            InboxConsentOut(
                case=i["case"], id=i["id"], services=i["services"], valid_until=i["valid_until"],
            )
            for i in waiting["consents_expiring"]
        ],
    )
