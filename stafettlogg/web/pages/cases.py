"""The pages of case work: "Mine saker", opening a case, the case page and a form for
every case command the API has.

Every handler is thin: it reads the form (pages/forms.py: the API's own request
bodies, so the same rules apply), calls the same application command or query as the
API, and shows the answer. A command that succeeds answers 303 to the case page
(post/redirect/get); one that is refused shows the case page again with the refusal
next to the form and what was typed kept. Each form carries the case's version as
read (a page that went stale says so instead of overwriting) and an idempotency key
(a double click records once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from domain.calendar import day_of
from domain import errors
from domain.case import may_ask_to_withhold
from domain.values import Actor, age_on
from stafettlogg.application import Stafettlogg
from stafettlogg.archive import archive_zip
from stafettlogg.idempotency import Idempotency
from stafettlogg.protocol import CommandOptions, IdempotencyKeyReused, Outcome, VersionMismatch
from stafettlogg.web.api import schemas as s
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pages import words
from stafettlogg.web.pages.auth import PostedForm, SignedIn, Viewer
from stafettlogg.web.pages.forms import FormInvalid, FormState, parse

CaseId = FromPath[UUID]


@dataclass(frozen=True)
class Command:
    """One form of the case page: what it posts, and which application command runs."""

    name: str  # the path segment: /saker/{id}/{name}
    body: type[Any] | None
    run: Callable[[Stafettlogg, Actor, UUID, Any, UUID | None, CommandOptions], Outcome]
    lists: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # radio and checkbox fields (for the error links)
    target: bool = False  # the form names a consent, handover or action (`_mål`)
    fill: Callable[[Stafettlogg, dict[str, list[str]]], dict[str, Any]] | None = None
    # Where to go after it: the case page, or (when the reader may no longer see the
    # case, as after taking their service out of it) their own cases.
    leaves_the_case: bool = False


def _member_service(app: Stafettlogg, fields: dict[str, list[str]], user_field: str,
                    service_field: str) -> dict[str, Any]:
    """A person chosen from the directory brings their service with them."""
    user = (fields.get(user_field) or [""])[0]
    member = app.find_staff(user) if user else None
    return {service_field: member.service} if member and member.service else {}


COMMANDS: dict[str, Command] = {c.name: c for c in [
    Command("innforing", s.EntryIn, lambda a, who, c, b, t, o: a.add_entry(
        who, c, kind=b.kind, text=b.text, corrects=b.corrects, **o), groups=("kind",)),
    Command("niva0", s.Level0StepIn, lambda a, who, c, b, t, o: a.record_level0_step(
        who, c, step=b.step, text=b.text, **o), groups=("step",)),
    Command("niva", s.LevelIn, lambda a, who, c, b, t, o: a.change_level(
        who, c, level=b.level, reason=b.reason, **o), groups=("level",)),
    Command("samtykke", s.ConsentIn, lambda a, who, c, b, t, o: a.register_consent(
        who, c, given_by=b.given_by, services=b.services, purpose=b.purpose,
        valid_until=b.valid_until, form=b.form, **o),
        lists=("services",), groups=("given_by", "services", "form")),
    Command("samtykke-trekk", s.ReasonIn, lambda a, who, c, b, t, o: a.withdraw_consent(
        who, c, t, reason=b.reason, **o), target=True),
    Command("foresatt", s.GuardianIn, lambda a, who, c, b, t, o: a.record_guardian(
        who, c, name=b.name, relation=b.relation, national_id=b.national_id, **o),
        groups=("relation",)),
    Command("foresatt-ut", None, lambda a, who, c, b, t, o: a.remove_guardian(
        who, c, t, **o), target=True),
    Command("skjul", s.WithholdIn, lambda a, who, c, b, t, o: a.withhold_entry(
        who, c, t, reason=b.reason, **o), target=True),
    Command("tjeneste", s.ParticipantIn, lambda a, who, c, b, t, o: a.add_participant(
        who, c, service=b.service, user=b.user, **o)),
    Command("lovhjemmel", s.StatutorySharingIn, lambda a, who, c, b, t, o: a.bring_in_by_law(
        who, c, service=b.service, basis=b.basis, reason=b.reason, **o), groups=("basis",)),
    Command("tjeneste-ut", None, lambda a, who, c, b, t, o: a.remove_participant(
        who, c, service=who.service or "", **o), leaves_the_case=True),
    Command("stafett", s.HandoverIn, lambda a, who, c, b, t, o: a.request_handover(
        who, c, to_user=b.to_user, to_service=b.to_service, note=b.note, **o),
        fill=lambda a, f: _member_service(a, f, "to_user", "to_service")),
    Command("stafett-godta", None, lambda a, who, c, b, t, o: a.accept_handover(
        who, c, t, **o), target=True),
    Command("stafett-avsla", s.ReasonIn, lambda a, who, c, b, t, o: a.decline_handover(
        who, c, t, reason=b.reason, **o), target=True),
    Command("stafett-trekk", None, lambda a, who, c, b, t, o: a.cancel_handover(
        who, c, t, **o), target=True),
    Command("koordinator", s.CoordinatorIn, lambda a, who, c, b, t, o: a.appoint_coordinator(
        who, c, user=b.user, service=b.service, **o),
        fill=lambda a, f: _member_service(a, f, "user", "service")),
    Command("koordinator-fritak", None, lambda a, who, c, b, t, o: a.release_coordinator(
        who, c, **o)),
    Command("ansvarsgruppe", s.GroupIn, lambda a, who, c, b, t, o:
            a.establish_responsibility_group(who, c, services=b.services, **o),
            lists=("services",), groups=("services",)),
    Command("ansvarsgruppe-slutt", None, lambda a, who, c, b, t, o:
            a.dissolve_responsibility_group(who, c, **o)),
    Command("ip-start", None, lambda a, who, c, b, t, o: a.start_individual_plan(who, c, **o)),
    Command("ip-slutt", None, lambda a, who, c, b, t, o: a.end_individual_plan(who, c, **o)),
    Command("mote", s.MeetingIn, lambda a, who, c, b, t, o: a.hold_meeting(
        who, c, held_on=b.held_on, services=b.services, minutes=b.minutes, **o),
        lists=("services",), groups=("services",)),
    Command("tiltak", s.ActionIn, lambda a, who, c, b, t, o: a.agree_action(
        who, c, description=b.description, responsible_service=b.responsible_service,
        evaluate_by=b.evaluate_by, **o)),
    Command("evaluering", s.EvaluationIn, lambda a, who, c, b, t, o: a.evaluate_action(
        who, c, t, outcome=b.outcome, text=b.text, **o), target=True, groups=("outcome",)),
    Command("tilfredshet", s.SatisfactionIn, lambda a, who, c, b, t, o: a.record_satisfaction(
        who, c, respondent=b.respondent, score=b.score, **o), groups=("respondent", "score")),
    Command("avslutt", s.CloseIn, lambda a, who, c, b, t, o: a.close_case(
        who, c, reason=b.reason, note=b.note, **o), groups=("reason",)),
]}

STATUS_OF_REFUSAL = {errors.InvalidValue: 400, errors.NotFound: 404, VersionMismatch: 412}


# --- what every page of case work shows ---------------------------------------------


@dataclass
class Directory:
    """Names for ids: the staff and the services, as a page shows them."""

    people: dict[str, str] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)

    def person(self, user: str | None) -> str:
        if not user or user == "system":
            return "Stafettlogg (automatisk)"
        if user.startswith("foresatt-"):  # a guardian, on the family's pages
            return "Foresatt"
        if user == "barnet":  # the young person, on the family's pages
            return "Ungdommen selv"
        return self.people.get(user, user)

    def service(self, service_id: str | None) -> str:
        info = self.services.get(service_id or "")
        return info.name if info else (service_id or "")


def _directory(app: Stafettlogg) -> Directory:
    return Directory(
        people={m.id: m.name for m in app.list_staff()},
        services={i.id: i for i in app.list_services()},
    )


def _context(viewer: Viewer, directory: Directory, **more: Any) -> dict[str, Any]:
    return {"viewer": viewer, "names": directory, "words": words, **more}


# --- Mine saker ------------------------------------------------------------------------


@get("/saker", include_in_schema=False)
async def worklist(app: App, viewer: SignedIn) -> Template:
    view, directory = await off_loop(_worklist, app, viewer.actor)
    return Template(template_name="saker.html", context=_context(viewer, directory, w=view))


def _worklist(app: Stafettlogg, actor: Actor) -> tuple[Any, Directory]:
    return app.worklist(actor), _directory(app)


# --- the coordinator's overview and a case's access log --------------------------------


@get("/oversikt", include_in_schema=False)
async def overview(app: App, viewer: SignedIn) -> Template:
    view, directory = await off_loop(_overview, app, viewer.actor)
    return Template(template_name="oversikt.html", context=_context(viewer, directory, o=view))


def _overview(app: Stafettlogg, actor: Actor) -> tuple[Any, Directory]:
    return app.coordinator_overview(actor), _directory(app)


@get("/saker/{case_id:uuid}/tilgangslogg", include_in_schema=False)
async def access_log(app: App, viewer: SignedIn, case_id: CaseId) -> Template:
    lines, directory = await off_loop(_access_log, app, viewer.actor, case_id)
    return Template(template_name="tilgangslogg.html", context=_context(
        viewer, directory, lines=lines, case_id=case_id))


def _access_log(app: Stafettlogg, actor: Actor, case_id: UUID) -> tuple[Any, Directory]:
    return app.read_access_log(actor, case_id), _directory(app)


# --- the archive package of a closed case -----------------------------------------------


@get("/saker/{case_id:uuid}/arkivpakke.zip", include_in_schema=False)
async def archive_package(app: App, viewer: SignedIn, case_id: CaseId) -> Response[Any]:
    """The zip of stafettlogg/archive/, for the holder at closure and the case's
    coordinator; the download is a line in the access log."""
    name, data = await off_loop(archive_zip, app, viewer.actor, case_id)
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"'})


# --- opening a case --------------------------------------------------------------------


@get("/saker/ny", include_in_schema=False)
async def new_case(app: App, viewer: SignedIn) -> Template:
    directory = await off_loop(_directory, app)
    return Template(template_name="ny-sak.html",
                    context=_context(viewer, directory, f=FormState("ny")))


@post("/saker/ny", include_in_schema=False, status_code=303)
async def open_case(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                    form: PostedForm) -> Response[Any]:
    fields = await _fields(request)
    key = (fields.get("_nokkel") or [""])[0]
    idempotency = (Idempotency.of(key, "POST", request.url.path, await request.body())
                   if key else None)
    try:
        child = parse({k[6:]: v for k, v in fields.items() if k.startswith("child.")},
                      s.ChildIn)
        concern = (fields.get("concern") or [""])[0]
        if not concern.strip():
            raise FormInvalid({"concern": "Beskriv undringen eller bekymringen."})
        outcome = await off_loop(
            app.open_case_outcome, viewer.actor, child_name=child.name,
            birth_date=child.birth_date, national_id=child.national_id, concern=concern,
            idempotency=idempotency,
        )
    except FormInvalid as exc:
        found = {("child." + k if k in ("name", "birth_date", "national_id") else k): v
                 for k, v in exc.errors.items()}
        return await _new_case_again(app, viewer, fields, found, "Saken ble ikke opprettet.")
    except errors.DomainError as exc:
        found = ({f"child.{exc.field}" if exc.field in ("name", "birth_date", "national_id")
                  else exc.field: exc.message} if isinstance(exc, errors.InvalidValue) else {})
        return await _new_case_again(app, viewer, fields, found, exc.message,
                                     status=STATUS_OF_REFUSAL.get(type(exc), 409))
    return Redirect(f"/saker/{outcome.case.id}", status_code=303)


async def _new_case_again(app: Stafettlogg, viewer: Viewer, fields: dict[str, list[str]],
                          found: dict[str, str], message: str, status: int = 400) -> Template:
    directory = await off_loop(_directory, app)
    state = FormState("ny", fields, errors=found, message=message)
    return Template(template_name="ny-sak.html", status_code=status,
                    context=_context(viewer, directory, f=state))


# --- the case page ---------------------------------------------------------------------


@get("/saker/{case_id:uuid}", include_in_schema=False)
async def case_page(app: App, viewer: SignedIn, case_id: CaseId) -> Template:
    return await _case_page(app, viewer, case_id)


async def _case_page(app: Stafettlogg, viewer: Viewer, case_id: UUID,
                     failed: FormState | None = None, status: int = 200) -> Template:
    page, directory, staff = await off_loop(_case_page_data, app, viewer.actor, case_id)
    forms = {name: (failed if failed and failed.name == name else FormState(
        name, groups=COMMANDS[name].groups)) for name in COMMANDS}
    today = day_of(app.clock())
    return Template(template_name="sak.html", status_code=status, context=_context(
        viewer, directory, page=page, case=page.case, f=forms, failed=failed,
        staff=staff, today=today, soon=today + timedelta(days=14),
        may_withhold=_old_enough_to_withhold(page.case.child, today),
    ))


def _old_enough_to_withhold(child: Any, today: date) -> bool:
    """Whether the child is old enough to ask that an entry is kept from the guardians
    (the form is shown only then; the domain decides)."""
    if child is None or not child.birth_date or not child.birth_date[:4].isdigit():
        return False
    return may_ask_to_withhold(age_on(date.fromisoformat(child.birth_date), today))


def _case_page_data(app: Stafettlogg, actor: Actor, case_id: UUID) -> tuple[Any, Directory,
                                                                            list[Any]]:
    page = app.case_page(actor, case_id)
    return page, _directory(app), app.list_staff(active=True)


@post("/saker/{case_id:uuid}/{command:str}", include_in_schema=False, status_code=303)
async def case_command(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                       form: PostedForm, case_id: CaseId, command: FromPath[str]
                       ) -> Response[Any]:
    spec = COMMANDS.get(command)
    if spec is None:
        return Template(template_name="feil.html", status_code=404, context={
            "heading": "Siden finnes ikke", "text": ["Dette skjemaet finnes ikke."]})
    fields = await _fields(request)
    options = await _options(request, fields)
    target = _target(fields) if spec.target else None
    try:
        if spec.target and target is None:
            raise FormInvalid({"_mål": "Skjemaet mangler hva det gjelder."})
        body = None
        if spec.body is not None:
            extra = await off_loop(spec.fill, app, fields) if spec.fill else None
            body = parse(fields, spec.body, lists=spec.lists, extra=extra)
        await off_loop(spec.run, app, viewer.actor, case_id, body, target, options)
    except FormInvalid as exc:
        state = FormState(spec.name, fields, errors=exc.errors, groups=spec.groups,
                          message="Noe må rettes før dette kan lagres.")
        return await _case_page(app, viewer, case_id, state, status=400)
    except (VersionMismatch, IdempotencyKeyReused) as exc:
        state = FormState(spec.name, fields, groups=spec.groups, stale=True,
                          reload=f"/saker/{case_id}", message=(
                              "Saken er endret av noen andre siden du åpnet den, så ingenting "
                              "ble lagret." if isinstance(exc, VersionMismatch) else exc.message))
        return await _case_page(app, viewer, case_id, state, status=412)
    except errors.DomainError as exc:
        if isinstance(exc, errors.NotFound) and not isinstance(exc, errors.InvalidValue):
            raise
        found = {exc.field: exc.message} if isinstance(exc, errors.InvalidValue) else {}
        state = FormState(spec.name, fields, errors=found, groups=spec.groups,
                          message=exc.message)
        return await _case_page(app, viewer, case_id, state,
                                status=STATUS_OF_REFUSAL.get(type(exc), 409))
    if spec.leaves_the_case:
        return Redirect("/saker", status_code=303)
    return Redirect(f"/saker/{case_id}#logg", status_code=303)


async def _fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [v for v in form.getall(k) if isinstance(v, str)] for k in form}


async def _options(request: Request[Any, Any, Any], fields: dict[str, list[str]]
                   ) -> CommandOptions:
    options: CommandOptions = {}
    version = (fields.get("_versjon") or [""])[0]
    if version.isdigit():
        options["expected_version"] = int(version)
    key = (fields.get("_nokkel") or [""])[0]
    if key:
        options["idempotency"] = Idempotency.of(key[:200], "POST", request.url.path,
                                                await request.body())
    return options


def _target(fields: dict[str, list[str]]) -> UUID | None:
    try:
        return UUID((fields.get("_mål") or [""])[0])
    except ValueError:
        return None


ROUTES = [worklist, overview, access_log, archive_package, new_case, open_case, case_page, case_command]
