"""The admin pages (`/admin`): the services and the staff directory, for staff with the
`admin` role and nobody else (403 "Du har ikke tilgang til denne siden").

* `GET /admin`: where an admin starts, with the way to Tjenester and Ansatte.
* `/admin/tjenester`: every service (name, sector, municipalities, open or closed) and
  a form to register one; `/admin/tjenester/{id}` renames it, and
  `/admin/tjenester/{id}/legg-ned` asks before it closes it (a page, not a script).
* `/admin/ansatte`: the staff, filtered by service with a GET form, and a form to
  register one; `/admin/ansatte/{id}` changes them and deactivates or reactivates them.
  A login subject is typed once and never shown again: a page says only whether the
  person has a login.
* `/admin/sletting`: erase a child's data on request (docs/pages.md, "Erasure"): the
  case number and the reason, then a confirmation page that shows only what the case
  is (municipality, dates, how many of the child's cases it covers), never who; refused
  in Norwegian while a case of the child is open.

Nothing here reads a case: an admin never sees case content. Like the case pages, a
handler reads the form into the API's own request bodies (pages/forms.py), calls the
same application command as the API, answers 303 on success and shows the form again,
with the errors tied to their fields, when refused.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from domain import errors
from stafettlogg.application import Stafettlogg
from stafettlogg.idempotency import Idempotency
from stafettlogg.web.api import schemas as s
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pages import words
from stafettlogg.web.pages.auth import PostedForm, SignedIn, Viewer, require_role
from stafettlogg.web.pages.forms import REQUIRED, FormInvalid, FormState, parse

ROLE_ORDER = ("worker", "coordinator", "leader", "evaluator", "admin")
DONE = {
    "registrert": "Tjenesten er registrert.",
    "nytt-navn": "Tjenesten har fått nytt navn.",
    "lagt-ned": "Tjenesten er lagt ned.",
    "ansatt-registrert": "Den ansatte er registrert.",
    "ansatt-endret": "Endringene er lagret.",
    "deaktivert": "Den ansatte er deaktivert og kan ikke lenger logge inn.",
    "aktivert": "Den ansatte er aktiv igjen og kan logge inn.",
    "slettet": "Barnets opplysninger er slettet og kan ikke lenger leses. Slettingen er "
               "ført i saken og i tilgangsloggen.",
}


# What to write when a field is left empty (the summary at the top lists them all).
MISSING = {
    "name": "Skriv navnet.", "id": "Skriv id-en.", "sector": "Velg sektor.",
    "municipalities": "Skriv minst ett kommunenummer.", "roles": "Velg minst én rolle.",
}


def _errors(found: dict[str, str]) -> dict[str, str]:
    """The errors by form field, an empty field told by name."""
    out: dict[str, str] = {}
    for key, text in found.items():
        field = _field_of(key)
        out[field] = MISSING.get(field, text) if text == REQUIRED else text
    return out


def _admin(viewer: Viewer) -> Viewer:
    return require_role(viewer, "admin",
                        "Sidene for administrasjon er bare for administratorer i Stafettlogg.")


def _context(viewer: Viewer, **more: Any) -> dict[str, Any]:
    return {"viewer": viewer, "words": words, "menu_here": "admin", **more}


async def _fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [v for v in form.getall(k) if isinstance(v, str)] for k in form}


def _numbers(text: str) -> list[str]:
    """Kommunenummer typed in one field: "4225, 4227" or "4225 4227"."""
    return [n for n in re.split(r"[\s,;]+", text) if n]


def _field_of(name: str) -> str:
    """The form field of an API field: `municipalities[1]` and `login.subject` as typed."""
    return name.split("[")[0].split(".")[0]


def _status_of(exc: errors.DomainError) -> int:
    if isinstance(exc, errors.InvalidValue):
        return 400
    if isinstance(exc, errors.NotFound):
        return 404
    return 409


# --- the start page ---------------------------------------------------------------------


@get("/admin", include_in_schema=False)
async def admin_home(viewer: SignedIn) -> Template:
    _admin(viewer)
    return Template(template_name="admin.html", context=_context(viewer))


# --- services ---------------------------------------------------------------------------


@get("/admin/tjenester", include_in_schema=False)
async def services_page(app: App, viewer: SignedIn, ok: FromQuery[str | None] = None) -> Template:
    _admin(viewer)
    return await _services_page(app, viewer, FormState("tjeneste"), done=DONE.get(ok or ""))


async def _services_page(app: Stafettlogg, viewer: Viewer, f: FormState, *,
                         status: int = 200, done: str | None = None) -> Template:
    services = await off_loop(app.list_services)
    return Template(template_name="admin-tjenester.html", status_code=status, context=_context(
        viewer, services=services, f=f, done=done))


@post("/admin/tjenester", include_in_schema=False, status_code=303)
async def register_service(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                           form: PostedForm) -> Response[Any]:
    _admin(viewer)
    fields = await _fields(request)
    typed = {**fields, "municipalities": _numbers((fields.get("municipalities") or [""])[0])}
    key = (fields.get("_nokkel") or [""])[0]
    try:
        body = parse(typed, s.ServiceIn, lists=("municipalities",))
        info, _ = await off_loop(
            app.register_service_outcome, viewer.actor, service_id=body.id, name=body.name,
            sector=body.sector, municipalities=body.municipalities,
            idempotency=Idempotency.of(key[:200], "POST", request.url.path,
                                       await request.body()) if key else None)
    except FormInvalid as exc:
        state = FormState("tjeneste", fields, message="Noe må rettes før tjenesten kan "
                          "registreres.", errors=_errors(exc.errors))
        return await _services_page(app, viewer, state, status=400)
    except errors.DomainError as exc:
        found = ({_field_of(exc.field): exc.message} if isinstance(exc, errors.InvalidValue)
                 else {"id": "Det finnes allerede en tjeneste med denne id-en."}
                 if isinstance(exc, errors.ServiceExists) else {})
        state = FormState("tjeneste", fields, errors=found,
                          message="Tjenesten ble ikke registrert.")
        return await _services_page(app, viewer, state, status=_status_of(exc))
    return Redirect(f"/admin/tjenester/{info.id}?ok=registrert", status_code=303)


def _service_or_404(app: Stafettlogg, service_id: str) -> Any:
    try:
        return app.service(service_id)
    except errors.UnknownService:
        raise HTTPException(status_code=404) from None


@get("/admin/tjenester/{service_id:str}", include_in_schema=False)
async def service_page(app: App, viewer: SignedIn, service_id: FromPath[str],
                       ok: FromQuery[str | None] = None) -> Template:
    _admin(viewer)
    info = await off_loop(_service_or_404, app, service_id)
    return await _service_page(app, viewer, info, FormState("navn", {"name": [info.name]}),
                               done=DONE.get(ok or ""))


async def _service_page(app: Stafettlogg, viewer: Viewer, info: Any, f: FormState, *,
                        status: int = 200, done: str | None = None) -> Template:
    members = await off_loop(app.list_staff, service=info.id)
    return Template(template_name="admin-tjeneste.html", status_code=status, context=_context(
        viewer, service=info, f=f, done=done, members=members))


@post("/admin/tjenester/{service_id:str}", include_in_schema=False, status_code=303)
async def rename_service(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                         form: PostedForm, service_id: FromPath[str]) -> Response[Any]:
    _admin(viewer)
    info = await off_loop(_service_or_404, app, service_id)
    fields = await _fields(request)
    name = (fields.get("name") or [""])[0]
    try:
        if not name.strip():
            raise FormInvalid({"name": "Skriv tjenestens nye navn."})
        await off_loop(app.rename_service, viewer.actor, service_id, name)
    except FormInvalid as exc:
        state = FormState("navn", fields, errors=exc.errors, message="Navnet ble ikke endret.")
        return await _service_page(app, viewer, info, state, status=400)
    except errors.DomainError as exc:
        found = {"name": exc.message} if isinstance(exc, errors.InvalidValue) else {}
        state = FormState("navn", fields, errors=found, message=exc.message)
        return await _service_page(app, viewer, info, state, status=_status_of(exc))
    return Redirect(f"/admin/tjenester/{service_id}?ok=nytt-navn", status_code=303)


@get("/admin/tjenester/{service_id:str}/legg-ned", include_in_schema=False)
async def close_service_page(app: App, viewer: SignedIn,
                             service_id: FromPath[str]) -> Template:
    _admin(viewer)
    info = await off_loop(_service_or_404, app, service_id)
    members = await off_loop(app.list_staff, service=service_id, active=True)
    return Template(template_name="admin-legg-ned.html", context=_context(
        viewer, service=info, f=FormState("legg-ned"), members=members))


@post("/admin/tjenester/{service_id:str}/legg-ned", include_in_schema=False, status_code=303)
async def close_service(app: App, viewer: SignedIn, form: PostedForm,
                        service_id: FromPath[str]) -> Response[Any]:
    _admin(viewer)
    await off_loop(_service_or_404, app, service_id)
    await off_loop(app.close_service, viewer.actor, service_id)
    return Redirect(f"/admin/tjenester/{service_id}?ok=lagt-ned", status_code=303)


# --- staff ------------------------------------------------------------------------------


def _role_options() -> list[tuple[str, str]]:
    return [(r, words.ROLES[r]) for r in ROLE_ORDER]


def _service_options(services: list[Any], keep: str | None = None) -> list[tuple[str, str]]:
    """Open services, and the member's own even when it is closed."""
    return [(i.id, i.name + ("" if i.active else " (lagt ned)")) for i in services
            if i.active or i.id == keep]


@get("/admin/ansatte", include_in_schema=False)
async def staff_page(app: App, viewer: SignedIn, tjeneste: FromQuery[str | None] = None,
                     ok: FromQuery[str | None] = None) -> Template:
    _admin(viewer)
    return await _staff_page(app, viewer, FormState("ansatt", groups=("roles",)),
                             chosen=tjeneste or None, done=DONE.get(ok or ""))


async def _staff_page(app: Stafettlogg, viewer: Viewer, f: FormState, *, chosen: str | None,
                      status: int = 200, done: str | None = None) -> Template:
    services = await off_loop(app.list_services)
    known = {i.id: i for i in services}
    if chosen not in known:
        chosen = None
    members = await off_loop(app.list_staff, service=chosen)
    return Template(template_name="admin-ansatte.html", status_code=status, context=_context(
        viewer, members=members, services=known, chosen=chosen, f=f, done=done,
        service_options=_service_options(services), role_options=_role_options(),
        filter=FormState("filter", {"tjeneste": [chosen or ""]})))


def _without_login(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """What a form shows again: never the login subject that was typed."""
    return {k: v for k, v in fields.items() if k != "login"}


@post("/admin/ansatte", include_in_schema=False, status_code=303)
async def register_staff(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                         form: PostedForm) -> Response[Any]:
    _admin(viewer)
    fields = await _fields(request)
    subject = (fields.get("login") or [""])[0].strip()
    typed = {k: v for k, v in fields.items() if k != "login"}
    typed["municipalities"] = _numbers((fields.get("municipalities") or [""])[0])
    key = (fields.get("_nokkel") or [""])[0]
    try:
        body = parse(typed, s.StaffIn, lists=("roles", "municipalities"),
                     extra={"login": {"subject": subject}} if subject else None)
        member, _ = await off_loop(
            app.register_staff, viewer.actor, staff_id=body.id, name=body.name,
            email=body.email, service=body.service, roles=body.roles,
            municipalities=body.municipalities, login_subject=subject or None,
            idempotency=Idempotency.of(key[:200], "POST", request.url.path,
                                       await request.body()) if key else None)
    except FormInvalid as exc:
        state = FormState("ansatt", _without_login(fields), groups=("roles",),
                          errors=_errors(exc.errors),
                          message="Noe må rettes før den ansatte kan registreres.")
        return await _staff_page(app, viewer, state, chosen=None, status=400)
    except errors.DomainError as exc:
        found = ({_field_of(exc.field): exc.message} if isinstance(exc, errors.InvalidValue)
                 else {"id": "Det finnes allerede en ansatt med denne id-en."}
                 if isinstance(exc, errors.StaffExists) else {})
        state = FormState("ansatt", _without_login(fields), groups=("roles",), errors=found,
                          message="Den ansatte ble ikke registrert.")
        return await _staff_page(app, viewer, state, chosen=None, status=_status_of(exc))
    return Redirect(f"/admin/ansatte/{member.id}?ok=ansatt-registrert", status_code=303)


def _member_or_404(app: Stafettlogg, staff_id: str) -> Any:
    member = app.find_staff(staff_id)
    if member is None:
        raise HTTPException(status_code=404)
    return member


def _member_form(member: Any) -> FormState:
    return FormState("endre", {
        "name": [member.name], "email": [member.email or ""], "service": [member.service or ""],
        "roles": list(member.roles), "municipalities": [", ".join(member.municipalities)],
    }, groups=("roles",))


@get("/admin/ansatte/{staff_id:str}", include_in_schema=False)
async def member_page(app: App, viewer: SignedIn, staff_id: FromPath[str],
                      ok: FromQuery[str | None] = None) -> Template:
    _admin(viewer)
    member = await off_loop(_member_or_404, app, staff_id)
    return await _member_page(app, viewer, member, _member_form(member),
                              done=DONE.get(ok or ""))


async def _member_page(app: Stafettlogg, viewer: Viewer, member: Any, f: FormState, *,
                       status: int = 200, done: str | None = None,
                       refused: str | None = None) -> Template:
    services = await off_loop(app.list_services)
    return Template(template_name="admin-ansatt.html", status_code=status, context=_context(
        viewer, member=member, services={i.id: i for i in services}, f=f, done=done,
        refused=refused, service_options=_service_options(services, keep=member.service),
        role_options=_role_options(), toggle=FormState("aktiv")))


@post("/admin/ansatte/{staff_id:str}", include_in_schema=False, status_code=303)
async def change_staff(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                       form: PostedForm, staff_id: FromPath[str]) -> Response[Any]:
    _admin(viewer)
    member = await off_loop(_member_or_404, app, staff_id)
    fields = await _fields(request)
    subject = (fields.get("login") or [""])[0].strip()
    remove_login = (fields.get("remove_login") or [""])[0] == "ja"
    typed = {k: v for k, v in fields.items() if k not in ("login", "remove_login")}
    typed["municipalities"] = _numbers((fields.get("municipalities") or [""])[0])
    try:
        missing = {name: text for name, text in (
            ("name", "Skriv navnet til den ansatte."), ("roles", "Velg minst én rolle."))
            if not [v for v in fields.get(name) or [] if v.strip()]}
        if missing:
            raise FormInvalid(missing)
        if subject and remove_login:
            raise FormInvalid({"login": "Skriv en ny påloggings-id eller fjern påloggingen, "
                                        "ikke begge."})
        body = parse(typed, s.StaffPatchIn, lists=("roles", "municipalities"))
        extra: dict[str, Any] = {}
        if subject:
            extra["login_subject"] = subject
        elif remove_login:
            extra["login_subject"] = None
        await off_loop(
            app.change_staff, viewer.actor, staff_id, name=body.name,
            email=None if body.email is msgspec.UNSET else body.email,
            service=None if body.service is msgspec.UNSET else body.service,
            roles=body.roles, municipalities=body.municipalities, **extra)
    except FormInvalid as exc:
        state = FormState("endre", _without_login(fields), groups=("roles",),
                          errors=_errors(exc.errors),
                          message="Noe må rettes før endringene kan lagres.")
        return await _member_page(app, viewer, member, state, status=400)
    except errors.DomainError as exc:
        found = {_field_of(exc.field): exc.message} if isinstance(exc, errors.InvalidValue) \
            else {}
        state = FormState("endre", _without_login(fields), groups=("roles",), errors=found,
                          message="Endringene ble ikke lagret.")
        return await _member_page(app, viewer, member, state, status=_status_of(exc))
    return Redirect(f"/admin/ansatte/{staff_id}?ok=ansatt-endret", status_code=303)


@post("/admin/ansatte/{staff_id:str}/aktiv", include_in_schema=False, status_code=303)
async def set_active(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                     form: PostedForm, staff_id: FromPath[str]) -> Response[Any]:
    _admin(viewer)
    member = await off_loop(_member_or_404, app, staff_id)
    active = form.get("active") == "ja"
    if not active and staff_id == viewer.member.id:
        return await _member_page(
            app, viewer, member, _member_form(member), status=409,
            refused="Du kan ikke deaktivere deg selv: da kommer ingen inn for å rette det.")
    await off_loop(app.change_staff, viewer.actor, staff_id, active=active)
    return Redirect(f"/admin/ansatte/{staff_id}?ok={'aktivert' if active else 'deaktivert'}",
                    status_code=303)


# --- erasure on request -------------------------------------------------------------------

ERASE_MISSING = {"case": "Skriv saksnummeret.", "reason": "Skriv hvorfor opplysningene slettes."}


@get("/admin/sletting", include_in_schema=False)
async def erasure_page(viewer: SignedIn, ok: FromQuery[str | None] = None) -> Template:
    _admin(viewer)
    return _erasure_form(viewer, FormState("sletting"), done=DONE.get(ok or ""))


def _erasure_form(viewer: Viewer, f: FormState, *, status: int = 200,
                  done: str | None = None) -> Template:
    return Template(template_name="admin-sletting.html", status_code=status,
                    context=_context(viewer, f=f, done=done))


def _erasure_fields(fields: dict[str, list[str]]) -> tuple[UUID, str]:
    """The case number and the reason typed; FormInvalid naming the field if not."""
    typed = {name: (fields.get(name) or [""])[0].strip() for name in ("case", "reason")}
    missing = {name: ERASE_MISSING[name] for name, value in typed.items() if not value}
    if missing:
        raise FormInvalid(missing)
    try:
        case_id = UUID(typed["case"])
    except ValueError:
        raise FormInvalid({"case": "Saksnummeret er 32 tegn med bindestreker, slik det står "
                                   "på saken, for eksempel 3f2a…-…"}) from None
    return case_id, typed["reason"]


async def _erasure_refused(viewer: Viewer, fields: dict[str, list[str]],
                           exc: errors.DomainError | FormInvalid) -> Template:
    kept = {k: v for k, v in fields.items() if k in ("case", "reason")}
    if isinstance(exc, FormInvalid):
        return _erasure_form(viewer, FormState("sletting", kept, errors=exc.errors,
                             message="Noe må rettes før opplysningene kan slettes."),
                             status=400)
    if isinstance(exc, errors.InvalidValue):
        found = {_field_of(exc.field): exc.message}
    elif isinstance(exc, errors.NotFound):
        found = {"case": "Det finnes ingen sak med dette saksnummeret."}
    else:
        found = {}
    return _erasure_form(viewer, FormState(
        "sletting", kept, errors=found,
        message=exc.message if not found else "Opplysningene ble ikke slettet."),
        status=_status_of(exc))


@post("/admin/sletting", include_in_schema=False)
async def confirm_erasure(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                          form: PostedForm) -> Template:
    """The confirmation step: what the erasure covers, and the button that does it."""
    _admin(viewer)
    fields = await _fields(request)
    try:
        case_id, reason = _erasure_fields(fields)
        preview = await off_loop(app.erasure_preview, viewer.actor, case_id, reason)
    except (FormInvalid, errors.DomainError) as exc:
        return await _erasure_refused(viewer, fields, exc)
    return Template(template_name="admin-slett.html", status_code=200 if preview.may_erase
                    else 409, context=_context(
                        viewer, preview=preview, reason=" ".join(reason.split()),
                        place=app.settings.municipality_name(preview.municipality),
                        f=FormState("slett")))


@post("/admin/sletting/slett", include_in_schema=False, status_code=303)
async def erase_child(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                      form: PostedForm) -> Response[Any]:
    _admin(viewer)
    fields = await _fields(request)
    try:
        case_id, reason = _erasure_fields(fields)
        await off_loop(app.erase_child_data, viewer.actor, case_id, reason=reason)
    except (FormInvalid, errors.DomainError) as exc:
        return await _erasure_refused(viewer, fields, exc)
    return Redirect("/admin/sletting?ok=slettet", status_code=303)


ROUTES = [admin_home, services_page, register_service, service_page, rename_service,
          close_service_page, close_service, staff_page, register_staff, member_page,
          change_staff, set_active, erasure_page, confirm_erasure, erase_child]
