"""The implementation plan's pages (`/innforing`), for admins and unit leaders
(`leader`, "Enhetsleder"); anyone else gets 403 "Du har ikke tilgang til denne siden".

* `GET /innforing` for an admin: a municipality's plan (a GET form chooses the
  municipality and the period): how often it is reported (`POST /innforing/rytme`), its
  activities, each with a form to change it (`POST /innforing/aktiviteter/{id}`) and a
  button that removes it (`POST .../fjern`), a form to add one
  (`POST /innforing/aktiviteter`), the overview for the period (a table: each activity,
  and the units under "Ikke startet", "Pågår", "Fullført" and "Ikke rapportert" with
  how many), the leaders' notes of the period, and a line to the training shares
  (`/opplaering/andeler`) of the same municipality.
* `GET /innforing` for a unit leader: the activities of their unit's plan with the
  unit's latest status for the current period, and a form per activity to report the
  status with a short note (`POST /innforing/rapport`).

Every form works without JavaScript and carries the session's CSRF token; a success
answers 303 (post/redirect/get), a refusal shows the page again with the errors tied
to their fields and what was typed kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from domain import errors
from domain.implementation_plan import STATUSES, ActivityDetails
from stafettlogg.application import Stafettlogg
from stafettlogg.plan_commands import OVERVIEW_STATUSES
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pages import words
from stafettlogg.web.pages.auth import PostedForm, RoleRequired, SignedIn, Viewer
from stafettlogg.web.pages.forms import NOT_A_DATE, FormState, as_iso_date
from stafettlogg.web.pages.implementation_results import key_figures

STATUS_NAMES = {"not-started": "Ikke startet", "under-way": "Pågår", "done": "Fullført",
                "not-reported": "Ikke rapportert"}
RHYTHM_NAMES = {"kvartalsvis": "Kvartalsvis", "halvårlig": "Halvårlig", "årlig": "Årlig"}
DONE = {
    "rytme": "Hvor ofte planen rapporteres, er lagret.",
    "lagt-til": "Aktiviteten er lagt til i planen.",
    "endret": "Aktiviteten er endret.",
    "fjernet": "Aktiviteten er fjernet fra planen.",
    "rapportert": "Statusen er rapportert.",
}
ALL = "alle"


def _may_see(viewer: Viewer) -> Viewer:
    roles = set(viewer.member.roles)
    if "admin" in roles or ("leader" in roles and viewer.member.service):
        return viewer
    raise RoleRequired("Innføringsplanen er for administratorer og enhetsledere i "
                       "Stafettlogg.")


def _is_admin(viewer: Viewer) -> bool:
    return "admin" in viewer.member.roles


def _admin(viewer: Viewer) -> Viewer:
    if not _is_admin(viewer):
        raise RoleRequired("Bare administratorer kan endre innføringsplanen.")
    return viewer


def period_name(period: str) -> str:
    """`2026-Q4` as "4. kvartal 2026", `2026-H2` as "2. halvår 2026", `2026` as is."""
    year, _, part = period.partition("-")
    if part.startswith("Q"):
        return f"{part[1]}. kvartal {year}"
    if part.startswith("H"):
        return f"{part[1]}. halvår {year}"
    return year


def _places(app: Stafettlogg, viewer: Viewer) -> list[tuple[str, str]]:
    """The municipalities to choose: an admin's every one a service serves, a leader's
    own (those their service serves)."""
    services = app.list_services()
    if _is_admin(viewer):
        numbers = sorted({m for s in services for m in s.municipalities})
    else:
        own = next((s for s in services if s.id == viewer.member.service), None)
        numbers = sorted(m for m in viewer.member.municipalities
                         if own is not None and own.serves(m))
    return [(n, app.settings.municipality_name(n)) for n in numbers]


def _chosen(places: list[tuple[str, str]], kommune: str | None) -> str | None:
    known = dict(places)
    return kommune if kommune in known else (places[0][0] if places else None)


async def _fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [v for v in form.getall(k) if isinstance(v, str)] for k in form}


def _first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0].strip()


def _back(kommune: str, ok: str, periode: str = "") -> Redirect:
    query = {"kommune": kommune, "ok": ok, **({"periode": periode} if periode else {})}
    return Redirect(f"/innforing?{urlencode(query)}", status_code=303)


# --- the page ----------------------------------------------------------------------------


@get("/innforing", include_in_schema=False)
async def plan_page(app: App, viewer: SignedIn, kommune: FromQuery[str | None] = None,
                    periode: FromQuery[str | None] = None,
                    ok: FromQuery[str | None] = None) -> Template:
    _may_see(viewer)
    if _is_admin(viewer):
        return await _admin_page(app, viewer, kommune=kommune, periode=periode,
                                 done=DONE.get(ok or ""))
    return await _leader_page(app, viewer, kommune=kommune, done=DONE.get(ok or ""))


def _activity_form(activity: Any | None, name: str) -> FormState:
    if activity is None:
        return FormState(name)
    return FormState(name, {
        "title": [activity.title], "responsible": [activity.responsible],
        "due": [f"{activity.due:%d.%m.%Y}"],
        "services": [ALL] if activity.all_services else list(activity.services)})


async def _admin_page(app: Stafettlogg, viewer: Viewer, *, kommune: str | None,
                      periode: str | None, done: str | None = None,
                      forms: dict[str, FormState] | None = None, status: int = 200,
                      refused: str | None = None) -> Template:
    places = await off_loop(_places, app, viewer)
    chosen = _chosen(places, kommune)
    forms = dict(forms or {})
    context: dict[str, Any] = {"places": places, "chosen": chosen,
                               "place_name": dict(places).get(chosen or "", "")}
    if chosen is not None:
        plan = await off_loop(app.implementation_plan, viewer.actor, chosen)
        wanted = (periode or "").strip() or plan.current_period
        try:
            overview = await off_loop(lambda: app.plan_overview(
                viewer.actor, chosen, period=wanted))
            notes = await off_loop(lambda: app.plan_notes(viewer.actor, chosen, period=wanted))
            period_error = None
        except errors.InvalidValue as exc:
            overview, notes, period_error = None, [], exc.message
            status = 400
        services = [s for s in await off_loop(app.list_services)
                    if s.active and s.serves(chosen)]
        services.sort(key=lambda s: s.name)
        forms.setdefault("ny", _activity_form(None, "ny"))
        for i, a in enumerate(plan.activities):
            forms.setdefault(str(a.id), _activity_form(a, f"endre-{i + 1}"))
        forms.setdefault("rytme", FormState("rytme", {"rhythm": [plan.rhythm]}))
        context.update(
            key=await off_loop(key_figures, app, viewer, chosen),
            plan=plan, overview=overview, notes=notes, wanted=wanted,
            period_form=FormState("periode", {"periode": [wanted]},
                                  errors={"periode": period_error} if period_error else {},
                                  message="Perioden må rettes." if period_error else ""),
            names={s.id: s.name for s in await off_loop(app.list_services)},
            titles={str(a.id): a.title for a in plan.activities},
            service_options=[(ALL, "Alle kommunens tjenester"),
                             *((s.id, s.name) for s in services)])
    return Template(template_name="innforing.html", status_code=status, context={
        "viewer": viewer, "words": words, "menu_here": "innforing", "is_admin": True,
        "done": done, "refused": refused, "forms": forms, "status_names": STATUS_NAMES,
        "statuses": OVERVIEW_STATUSES, "rhythm_options": list(RHYTHM_NAMES.items()),
        "rhythm_names": RHYTHM_NAMES, "period_name": period_name, **context})


async def _leader_page(app: Stafettlogg, viewer: Viewer, *, kommune: str | None,
                       done: str | None = None, forms: dict[str, FormState] | None = None,
                       status: int = 200, refused: str | None = None) -> Template:
    places = await off_loop(_places, app, viewer)
    chosen = _chosen(places, kommune)
    forms = dict(forms or {})
    context: dict[str, Any] = {"places": places, "chosen": chosen,
                               "place_name": dict(places).get(chosen or "", "")}
    unit = await off_loop(app.service, viewer.member.service or "")
    if chosen is not None:
        plan = await off_loop(app.implementation_plan, viewer.actor, chosen)
        mine = await off_loop(lambda: app.unit_plan(viewer.actor, chosen))
        for i, line in enumerate(mine):
            forms.setdefault(str(line.activity.id), FormState(f"rapport-{i + 1}", {
                "status": [line.status if line.status in STATUSES else ""],
                "merknad": [line.note]}))
        context.update(plan=plan, mine=mine)
    return Template(template_name="innforing-enhet.html", status_code=status, context={
        "viewer": viewer, "words": words, "menu_here": "innforing", "is_admin": False,
        "done": done, "refused": refused, "forms": forms, "unit": unit, "status_names": STATUS_NAMES,
        "status_options": [(s, STATUS_NAMES[s]) for s in STATUSES],
        "rhythm_names": RHYTHM_NAMES, "period_name": period_name, **context})


# --- the plan (admins) -------------------------------------------------------------------


@post("/innforing/rytme", include_in_schema=False, status_code=303)
async def set_rhythm(app: App, viewer: SignedIn, form: PostedForm) -> Response[Any]:
    _admin(_may_see(viewer))
    kommune = form.get("kommune", "")
    rhythm = form.get("rhythm", "")
    try:
        await off_loop(lambda: app.set_plan_rhythm(viewer.actor, kommune, rhythm))
    except errors.DomainError as exc:
        state = FormState("rytme", {"rhythm": [rhythm]}, errors={"rhythm": exc.message},
                          message="Hvor ofte planen rapporteres, ble ikke lagret.")
        return await _admin_page(app, viewer, kommune=kommune, periode=None,
                                 forms={"rytme": state}, status=400)
    return _back(kommune, "rytme")


def _details(fields: dict[str, list[str]]) -> tuple[ActivityDetails | None, dict[str, str]]:
    """The activity the form describes, or the errors to show beside its fields."""
    found: dict[str, str] = {}
    title, responsible = _first(fields, "title"), _first(fields, "responsible")
    if not title:
        found["title"] = "Skriv hva aktiviteten er."
    if not responsible:
        found["responsible"] = "Skriv hvem som er ansvarlig, for eksempel «enhetsleder»."
    typed = _first(fields, "due")
    iso = as_iso_date(typed) if typed else None
    if not typed:
        found["due"] = "Skriv fristen for aktiviteten."
    elif iso is None:
        found["due"] = NOT_A_DATE
    chosen = [v for v in fields.get("services", []) if v]
    if not chosen:
        found["services"] = "Velg minst én tjeneste, eller alle."
    if found or iso is None:
        return None, found
    every = ALL in chosen
    return ActivityDetails(title=title, responsible=responsible, due=date.fromisoformat(iso),
                           all_services=every,
                           services=() if every else tuple(chosen)), {}


async def _save_activity(request: Request[Any, Any, Any], app: Stafettlogg, viewer: Viewer,
                         activity: UUID | None) -> Response[Any]:
    fields = await _fields(request)
    kommune = _first(fields, "kommune")
    key = str(activity) if activity else "ny"
    name = _first(fields, "_skjema") or "ny"
    details, found = _details(fields)
    if details is not None:
        try:
            if activity is None:
                await off_loop(lambda: app.add_plan_activity(viewer.actor, kommune, details))
            else:
                await off_loop(lambda: app.change_plan_activity(viewer.actor, kommune,
                                                                activity, details))
        except errors.InvalidValue as exc:
            found[exc.field if exc.field in ("title", "responsible", "due", "services")
                  else "title"] = exc.message
        except errors.DomainError as exc:
            state = FormState(name, fields, message=exc.message)
            return await _admin_page(app, viewer, kommune=kommune, periode=None,
                                     forms={key: state}, status=409)
        else:
            return _back(kommune, "lagt-til" if activity is None else "endret")
    state = FormState(name, fields, errors=found, groups=("services",),
                      message="Noe må rettes før aktiviteten kan lagres.")
    return await _admin_page(app, viewer, kommune=kommune, periode=None, forms={key: state},
                             status=400)


@post("/innforing/aktiviteter", include_in_schema=False, status_code=303)
async def add_activity(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                       form: PostedForm) -> Response[Any]:
    _admin(_may_see(viewer))
    return await _save_activity(request, app, viewer, None)


@post("/innforing/aktiviteter/{activity:uuid}", include_in_schema=False, status_code=303)
async def change_activity(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                          form: PostedForm, activity: FromPath[UUID]) -> Response[Any]:
    _admin(_may_see(viewer))
    return await _save_activity(request, app, viewer, activity)


@post("/innforing/aktiviteter/{activity:uuid}/fjern", include_in_schema=False,
      status_code=303)
async def remove_activity(app: App, viewer: SignedIn, form: PostedForm,
                          activity: FromPath[UUID]) -> Response[Any]:
    _admin(_may_see(viewer))
    kommune = form.get("kommune", "")
    try:
        await off_loop(lambda: app.remove_plan_activity(viewer.actor, kommune, activity))
    except errors.DomainError as exc:
        return await _admin_page(app, viewer, kommune=kommune, periode=None, status=409,
                                 refused=f"Aktiviteten ble ikke fjernet: {exc.message}")
    return _back(kommune, "fjernet")


# --- the reports (unit leaders) -------------------------------------------------------------


@post("/innforing/rapport", include_in_schema=False, status_code=303)
async def report_status(app: App, viewer: SignedIn,
                        form: PostedForm) -> Response[Any]:
    _may_see(viewer)
    if _is_admin(viewer):
        raise RoleRequired("Statusen rapporteres av enhetslederen for tjenesten.")
    kommune = form.get("kommune", "")
    name = form.get("_skjema", "rapport")
    status, note = form.get("status", ""), form.get("merknad", "")
    fields = {"status": [status], "merknad": [note]}
    found: dict[str, str] = {}
    try:
        activity = UUID(form.get("activity", ""))
    except ValueError:
        activity = UUID(int=0)
    if status not in STATUSES:
        found["status"] = "Velg ikke startet, pågår eller fullført."
    else:
        try:
            await off_loop(lambda: app.report_plan_status(
                viewer.actor, kommune, activity, period=form.get("period", ""),
                status=status, note=note))
        except errors.InvalidValue as exc:
            if exc.field not in ("status", "note", "period"):  # an activity not hers
                return await _leader_page(app, viewer, kommune=kommune, status=400,
                                          refused=exc.message)
            found["merknad" if exc.field == "note" else "status"] = exc.message
        except errors.DomainError as exc:
            return await _leader_page(app, viewer, kommune=kommune, status=409,
                                      refused=exc.message)
        else:
            return _back(kommune, "rapportert")
    state = FormState(name, fields, errors=found, groups=("status",),
                      message="Noe må rettes før statusen kan rapporteres.")
    return await _leader_page(app, viewer, kommune=kommune, forms={str(activity): state},
                              status=400)


ROUTES = [plan_page, set_rhythm, add_activity, change_activity, remove_activity,
          report_status]
