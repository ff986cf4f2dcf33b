"""The training register over HTTP (docs/api.md, "Training"): admins, and unit leaders
for their own service, record and remove trainings, import attendance lists (a dry
run first, then all of it or nothing) and read the activity indicators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, get_args

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, JSONBody, QueryParameter

from domain.calendar import day_of
from domain.errors import InvalidValue
from domain.training import TRAININGS
from stafettlogg.attendance import read_attendance, read_day
from stafettlogg.training_commands import AttendancePreview, AttendanceRefused, StaffTraining
from stafettlogg.web.api.cases import BEARER
from stafettlogg.web.api.problems import FieldError, documented, problem
from stafettlogg.web.api.schemas import (
    AttendanceLineOut,
    AttendanceReportOut,
    StaffTrainingOut,
    TrainingCode,
    TrainingIn,
    TrainingRegisterOut,
    TrainingShareOut,
    TrainingSharesOut,
)
from stafettlogg.web.deps import App, Caller, off_loop, strictly

assert get_args(TrainingCode) == TRAININGS

StaffId = FromPath[str]


@dataclass
class AttendanceForm:
    """An attendance list (CSV or Excel) and, optionally, one training and one day for
    every row of it."""

    file: UploadFile
    training: str | None = None
    on: str | None = None


def _staff_training_out(t: StaffTraining) -> StaffTrainingOut:
    return StaffTrainingOut(staff_id=t.staff_id, name=t.name, service=t.service,
                            active=t.active, trainings=t.trainings,
                            held_baton_since=t.held_baton_since)


def _report(preview: AttendancePreview, recorded: bool) -> AttendanceReportOut:
    return AttendanceReportOut(
        recorded=recorded, new=preview.new, already_recorded=preview.recorded,
        errors=len(preview.errors),
        lines=[AttendanceLineOut(**msgspec.structs.asdict(x)) for x in preview.lines])


class TrainingController(Controller):
    path = "/v1"
    tags = ["opplæring"]
    security = BEARER

    @get("/staff/{staff_id:str}/trainings", summary="En ansatts opplæring",
         responses=documented(401, 403, 404, 429))
    async def read(self, app: App, actor: Caller, staff_id: StaffId) -> StaffTrainingOut:
        return _staff_training_out(await off_loop(app.staff_training, actor, staff_id))

    @post("/staff/{staff_id:str}/trainings", status_code=201,
          summary="Registrer en opplæring", responses=documented(400, 401, 403, 404, 429))
    async def record(self, request: Request[Any, Any, Any], app: App, actor: Caller,
                     staff_id: StaffId, data: JSONBody[TrainingIn]) -> Response[StaffTrainingOut]:
        """201 when the training is new in the register; 200 when it was there already
        (the same training on the same day is recorded once)."""
        data = await strictly(request, data)
        new = await off_loop(app.record_training, actor, staff_id, training=data.training,
                             on=data.on)
        out = _staff_training_out(await off_loop(app.staff_training, actor, staff_id))
        return Response(out, status_code=201 if new else 200)

    @delete("/staff/{staff_id:str}/trainings/{training:str}/{on:date}", status_code=204,
            summary="Fjern en opplæring registrert ved en feil",
            responses=documented(400, 401, 403, 404, 429))
    async def remove(self, app: App, actor: Caller, staff_id: StaffId,
                     training: FromPath[str], on: FromPath[date]) -> None:
        await off_loop(app.remove_training, actor, staff_id, training=training, on=on)

    @get("/trainings", summary="Opplæringsregisteret", responses=documented(400, 401, 403, 429))
    async def register(
        self, app: App, actor: Caller,
        service: Annotated[
            str | None, QueryParameter(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = None,
    ) -> TrainingRegisterOut:
        rows = await off_loop(app.training_register, actor, service=service)
        return TrainingRegisterOut(items=[_staff_training_out(r) for r in rows])

    @post("/trainings/import", status_code=200, summary="Importer en deltakerliste",
          responses=documented(400, 401, 403, 413, 422, 429))
    async def import_list(
        self, app: App, actor: Caller,
        data: Annotated[AttendanceForm, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: Annotated[bool, QueryParameter()] = False,
    ) -> Response[Any]:
        """A CSV or Excel attendance list (docs/api.md, "Training"). With `dry_run` the
        report only; otherwise every new row is recorded, or nothing when a row does not
        match (422, with a field error per row and the whole report)."""
        content = await data.file.read()
        lines = await off_loop(read_attendance, content, data.file.filename or "")
        training = (data.training or "").strip() or None
        on = _form_day(data.on)
        if dry_run:
            preview = await off_loop(app.preview_attendance, actor, lines, training=training,
                                     on=on)
            return Response(_report(preview, recorded=False))
        try:
            preview = await off_loop(app.import_attendance, actor, lines, training=training,
                                     on=on)
        except AttendanceRefused as refused:
            answer = problem(422, refused.message, code=refused.code, field_errors=[
                FieldError(field=f"linje {x.line}: {x.field}", message=x.error or "")
                for x in refused.preview.errors])
            body = msgspec.structs.asdict(answer.content)
            body["report"] = msgspec.to_builtins(_report(refused.preview, recorded=False))
            return Response(body, status_code=422, media_type=answer.media_type)
        return Response(_report(preview, recorded=True))

    @get("/trainings/shares", summary="Aktivitetsindikatorer: andel ansatte med opplæring",
         responses=documented(400, 401, 403, 429))
    async def shares(
        self, app: App, actor: Caller,
        municipality: Annotated[str, QueryParameter(pattern=r"^[0-9]{4}$")],
        on: Annotated[date | None, QueryParameter()] = None,
    ) -> TrainingSharesOut:
        day = on or day_of(app.clock())
        rows = await off_loop(app.training_shares, actor, municipality=municipality, on=day)
        return TrainingSharesOut(on=day, items=[
            TrainingShareOut(municipality=s.municipality, sector=s.sector, service=s.service,
                             indicator=s.indicator, numerator=s.numerator,
                             denominator=s.denominator,
                             share=round(s.numerator / s.denominator, 4) if s.denominator else None)
            for s in rows])


def _form_day(text: str | None) -> date | None:
    if not text or not text.strip():
        return None
    day = read_day(text)
    if day is None:
        raise InvalidValue("on", "Skriv datoen som ÅÅÅÅ-MM-DD eller DD.MM.ÅÅÅÅ.")
    return day
