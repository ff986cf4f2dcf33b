"""The staff survey's pages (docs/implementation.md, "The staff survey").

For admins (anyone else gets 403 "Du har ikke tilgang til denne siden"):

* `GET /undersokelser`: the rounds (municipality, period, status, response rate) and,
  to open a new one, a GET form choosing the municipality.
* `GET /undersokelser/ny?kommune=NNNN`: the form to open a round for that
  municipality: first and last day, its open services as checkboxes, and whether to
  ask for the respondent's role; `POST /undersokelser/ny` opens it.
* `GET /undersokelser/{id}`: one round, with invited and answered per service, a form
  to issue codes for a service (`POST .../koder`) and a button that closes the round
  (`POST .../avslutt`).
* `POST /undersokelser/{id}/epost` (when e-mail is set up) sends a new code to each
  active staff member of a service with an address (`mail_survey_codes`), and answers
  with the codes that could not be sent, to print, shown once like those below.
* `POST /undersokelser/{id}/koder` answers with the printable list of the new codes,
  one slip each: shown this once, never stored, never in a URL or a title. The same
  form posted again (a reload) makes no new codes: its key is remembered
  (`Sessions.first_use`).

For staff, without sign-in (the code is the right to answer once):

* `GET /undersokelse`: a form asking for the code; `POST /undersokelse` checks it
  (`survey_for_code`) and answers with the survey's form. The code goes on in a hidden
  field, never in the URL.
* `POST /undersokelse/svar` records the answer (`answer_survey`) and redirects to
  `GET /undersokelse/takk`. A used or unknown code, or a missing answer, shows the form
  again with the error tied to its field and what was chosen kept.

The staff pages' forms carry the session's CSRF token (`form`); the survey's carry
the token of a *survey visit* (web/sessions.py), kept behind a cookie of its own from
the first page, so that these forms too are refused when they come from elsewhere.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from domain import errors
from domain.survey import DRIVERS, LEVELS_OF_USE, RESULT_ITEMS, ROLES, SCALE, CodeNotValid
from domain.survey import SurveyAnswer
from stafettlogg.application import Stafettlogg
from stafettlogg.survey_commands import SurveyRoundView
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pages import words
from stafettlogg.web.pages.auth import (
    CSRF_FIELD,
    FormRefused,
    PostedForm,
    RoleRequired,
    SignedIn,
    Viewer,
)
from stafettlogg.web.pages.forms import NOT_A_DATE, FormState, as_iso_date
from stafettlogg.web.sessions import SURVEY_COOKIE, Sessions, same_token

STATUS_NAMES = {"waiting": "Ikke startet", "open": "Åpen", "closed": "Avsluttet"}
DONE = {
    "apnet": "Undersøkelsen er opprettet. Lag koder for tjenestene nedenfor.",
    "avsluttet": "Undersøkelsen er avsluttet. Ingen flere svar tas imot.",
}
DONT_KNOW = "vet-ikke"
SCALE_NAMES = {1: "1 – i liten grad", 2: "2", 3: "3", 4: "4 – i stor grad"}
ROLE_NAMES = {"medarbeider": "Medarbeider", "leder": "Leder"}
CODE_ERROR = "Koden er brukt eller finnes ikke. Sjekk at du har skrevet den riktig."
SURVEY_LABELS = {
    "code": "Kode", "level_of_use": "Nivå for enheten", "role": "Rolle",
    **{f"drivers.{k}": v.rstrip(".") for k, v in DRIVERS.items()},
    **{f"results.{k}": v.rstrip(".") for k, v in RESULT_ITEMS.items()},
}


def rate(answered: int, invited: int) -> str:
    """The response rate as "12 av 20 (60 %)"."""
    if invited == 0:
        return f"{answered} av 0"
    return f"{answered} av {invited} ({round(100 * answered / invited)}\u00a0%)"


def _admin(viewer: Viewer) -> Viewer:
    if "admin" not in viewer.member.roles:
        raise RoleRequired("Undersøkelsene er for administratorer i Stafettlogg.")
    return viewer


def _context(viewer: Viewer, **more: Any) -> dict[str, Any]:
    return {"viewer": viewer, "words": words, "menu_here": "undersokelser",
            "status_names": STATUS_NAMES, "rate": rate, **more}


async def _fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [v for v in form.getall(k) if isinstance(v, str)] for k in form}


def _first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0].strip()


class LabelledForm(FormState):
    """A form whose error summary names the survey's fields."""

    def __init__(self, *args: Any, labels: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._labels = labels

    def label(self, field: str) -> str:
        return self._labels.get(field, "")


# --- the admin's pages ----------------------------------------------------------------


def _municipalities(app: Stafettlogg) -> list[tuple[str, str]]:
    numbers = sorted({m for i in app.list_services() if i.active for m in i.municipalities})
    return [(n, app.settings.municipality_name(n)) for n in numbers]


@get("/undersokelser", include_in_schema=False)
async def rounds_page(app: App, viewer: SignedIn) -> Template:
    _admin(viewer)
    rounds = await off_loop(app.survey_rounds, viewer.actor)
    places = await off_loop(_municipalities, app)
    return Template(template_name="undersokelser.html", context=_context(
        viewer, rounds=rounds, places=places, place_name=app.settings.municipality_name))


def _open_form(app: Stafettlogg, viewer: Viewer, municipality: str, f: FormState, *,
               status: int = 200) -> Template:
    services = [(i.id, i.name) for i in sorted(app.list_services(), key=lambda i: i.name)
                if i.active and i.serves(municipality)]
    return Template(template_name="undersokelse-ny.html", status_code=status,
                    context=_context(viewer, f=f, municipality=municipality,
                                     place=app.settings.municipality_name(municipality),
                                     services=services))


@get("/undersokelser/ny", include_in_schema=False)
async def open_page(app: App, viewer: SignedIn, kommune: FromQuery[str | None] = None
                    ) -> Response[Any]:
    _admin(viewer)
    places = dict(await off_loop(_municipalities, app))
    if kommune not in places:
        return Redirect("/undersokelser", status_code=303)
    services = [i.id for i in await off_loop(app.list_services)
                if i.active and i.serves(kommune)]
    return await off_loop(_open_form, app, viewer, kommune,
                          FormState("ny", {"services": services}, groups=["services"]))


@post("/undersokelser/ny", include_in_schema=False, status_code=303)
async def open_round(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                     form: PostedForm) -> Response[Any]:
    _admin(viewer)
    fields = await _fields(request)
    municipality = _first(fields, "municipality")
    if municipality not in dict(await off_loop(_municipalities, app)):
        return Redirect("/undersokelser", status_code=303)
    found: dict[str, str] = {}
    days: dict[str, date] = {}
    for name, missing in (("opens_on", "Skriv første dag."), ("closes_on", "Skriv siste dag.")):
        text = _first(fields, name)
        iso = as_iso_date(text) if text else None
        if not text:
            found[name] = missing
        elif iso is None:
            found[name] = NOT_A_DATE
        else:
            days[name] = date.fromisoformat(iso)
    services = [s for s in fields.get("services", []) if s]
    if not services:
        found["services"] = "Velg minst én tjeneste."
    if not found:
        try:
            view = await off_loop(lambda: app.open_survey_round(
                viewer.actor, municipality=municipality, services=services,
                opens_on=days["opens_on"], closes_on=days["closes_on"],
                asks_role=bool(fields.get("asks_role"))))
        except errors.InvalidValue as exc:
            found[exc.field if exc.field in ("opens_on", "closes_on", "services")
                  else "services"] = exc.message
        else:
            return Redirect(f"/undersokelser/{view.id}?ok=apnet", status_code=303)
    state = FormState("ny", fields, errors=found, groups=["services"],
                      message="Noe må rettes før undersøkelsen kan opprettes.")
    return await off_loop(_open_form, app, viewer, municipality, state, status=400)


async def _round(app: Stafettlogg, viewer: Viewer, round_id: UUID) -> SurveyRoundView:
    try:
        return await off_loop(app.survey_round, viewer.actor, round_id)
    except errors.NotFound:
        raise HTTPException(status_code=404) from None


async def _round_page(app: Stafettlogg, viewer: Viewer, view: SurveyRoundView,
                      f: FormState, *, status: int = 200, done: str | None = None,
                      refused: str | None = None, mail: FormState | None = None) -> Template:
    staff = {s.service: len(await off_loop(app.list_staff, service=s.service, active=True))
             for s in view.services}
    return Template(template_name="undersokelse.html", status_code=status, context=_context(
        viewer, round=view, f=f, staff=staff, done=done, refused=refused,
        place=app.settings.municipality_name(view.municipality),
        service_options=[(s.service, s.name) for s in view.services],
        close=FormState("avslutt"), mail=mail or FormState("epost"),
        mail_enabled=app.settings.smtp.enabled))


@get("/undersokelser/{round_id:uuid}", include_in_schema=False)
async def round_page(app: App, viewer: SignedIn, round_id: FromPath[UUID],
                     ok: FromQuery[str | None] = None) -> Template:
    _admin(viewer)
    view = await _round(app, viewer, round_id)
    return await _round_page(app, viewer, view, FormState("koder"), done=DONE.get(ok or ""))


@post("/undersokelser/{round_id:uuid}/koder", include_in_schema=False, status_code=200)
async def issue_codes(request: Request[Any, Any, Any], state: State, app: App,
                      viewer: SignedIn, form: PostedForm, round_id: FromPath[UUID]
                      ) -> Response[Any]:
    _admin(viewer)
    view = await _round(app, viewer, round_id)
    fields = await _fields(request)
    service = _first(fields, "service")
    typed = _first(fields, "count")
    found: dict[str, str] = {}
    names = {s.service: s.name for s in view.services}
    if service not in names:
        found["service"] = "Velg tjenesten kodene er for."
    count: int | None = None
    if typed:
        if not typed.isdigit():
            found["count"] = "Skriv et helt tall, eller la feltet stå tomt."
        else:
            count = int(typed)
    sessions: Sessions = state["sessions"]
    if not found and not await sessions.first_use(_first(fields, "_nokkel")):
        # The same form posted again (a reload): the codes were shown once already.
        return await _round_page(app, viewer, view, FormState("koder"), status=409, refused=(
            "Disse kodene er allerede laget og vist én gang. Lag nye koder med skjemaet "
            "nedenfor om du trenger flere."))
    if not found:
        try:
            codes = await off_loop(lambda: app.issue_survey_codes(
                viewer.actor, round_id, service=service, count=count))
        except errors.InvalidValue as exc:
            found["count" if exc.field != "service" else "service"] = exc.message
        except errors.DomainError as exc:
            return await _round_page(app, viewer, view, FormState("koder"), status=409,
                                     refused=f"Kodene ble ikke laget: {exc.message}")
        else:
            settings = app.settings
            return Template(template_name="undersokelse-koder.html", context=_context(
                viewer, round=view, codes=codes, mailed=None, service_name=names[service],
                address=f"{settings.public_url or str(request.base_url).rstrip('/')}"
                        "/undersokelse",
                place=settings.municipality_name(view.municipality)))
    f = FormState("koder", fields, errors=found, message="Noe må rettes før kodene kan lages.")
    return await _round_page(app, viewer, view, f, status=400)


@post("/undersokelser/{round_id:uuid}/epost", include_in_schema=False, status_code=200)
async def mail_codes(request: Request[Any, Any, Any], state: State, app: App,
                     viewer: SignedIn, form: PostedForm, round_id: FromPath[UUID]
                     ) -> Response[Any]:
    """A code by e-mail to each active staff member of a service with an address; the
    codes that could not be sent are shown once, to print."""
    _admin(viewer)
    view = await _round(app, viewer, round_id)
    fields = await _fields(request)
    service = _first(fields, "service")
    names = {s.service: s.name for s in view.services}
    if service not in names:
        f = FormState("epost", fields, errors={"service": "Velg tjenesten kodene er for."},
                      message="Noe må rettes før kodene kan sendes.")
        return await _round_page(app, viewer, view, FormState("koder"), mail=f, status=400)
    sessions: Sessions = state["sessions"]
    if not await sessions.first_use(_first(fields, "_nokkel")):
        return await _round_page(app, viewer, view, FormState("koder"), status=409, refused=(
            "Disse kodene er allerede sendt. Send eller lag nye med skjemaene nedenfor om du "
            "trenger flere."))
    settings = app.settings
    address = f"{settings.public_url or str(request.base_url).rstrip('/')}/undersokelse"
    try:
        mailed = await off_loop(lambda: app.mail_survey_codes(
            viewer.actor, round_id, service=service, address=address))
    except errors.DomainError as exc:
        return await _round_page(app, viewer, view, FormState("koder"), status=409,
                                 refused=f"Kodene ble ikke sendt: {exc.message}")
    return Template(template_name="undersokelse-koder.html", context=_context(
        viewer, round=view, codes=mailed.unsent, mailed=mailed, service_name=names[service],
        address=address, place=settings.municipality_name(view.municipality)))


@post("/undersokelser/{round_id:uuid}/avslutt", include_in_schema=False, status_code=303)
async def close_round(app: App, viewer: SignedIn, form: PostedForm,
                      round_id: FromPath[UUID]) -> Response[Any]:
    _admin(viewer)
    await _round(app, viewer, round_id)
    await off_loop(app.close_survey_round, viewer.actor, round_id)
    return Redirect(f"/undersokelser/{round_id}?ok=avsluttet", status_code=303)


# --- the staff's form (no sign-in) ------------------------------------------------------


async def _visit(request: Request[Any, Any, Any], sessions: Sessions) -> tuple[str, str | None]:
    """The survey visit's CSRF token, and the id of a new visit to set as the cookie
    (None when the browser's visit still holds)."""
    csrf = await sessions.survey_csrf(request.cookies.get(SURVEY_COOKIE))
    if csrf is not None:
        return csrf, None
    visit_id, csrf = await sessions.begin_survey()
    return csrf, visit_id


async def _checked(request: Request[Any, Any, Any], sessions: Sessions
                   ) -> dict[str, list[str]]:
    """The posted fields, once the form's token is its visit's; else 403."""
    fields = await _fields(request)
    csrf = await sessions.survey_csrf(request.cookies.get(SURVEY_COOKIE))
    if csrf is None or not same_token(_first(fields, CSRF_FIELD), csrf):
        raise FormRefused()
    return fields


def _code_page(csrf: str, f: FormState, *, status: int = 200) -> Template:
    return Template(template_name="undersokelse-kode.html", status_code=status,
                    context={"csrf": csrf, "f": f})


def _survey_form(csrf: str, code: str, view: SurveyRoundView, f: FormState, *,
                 status: int = 200) -> Template:
    return Template(template_name="undersokelse-skjema.html", status_code=status, context={
        "csrf": csrf, "code": code, "f": f, "asks_role": view.asks_role,
        "closes_on": view.closes_on, "levels": LEVELS_OF_USE, "drivers": DRIVERS,
        "results": RESULT_ITEMS, "scale": [(str(v), SCALE_NAMES[v]) for v in SCALE]
        + [(DONT_KNOW, "Vet ikke")], "roles": [(r, ROLE_NAMES[r]) for r in ROLES]})


def _survey_state(values: dict[str, list[str]] | None = None, **kwargs: Any) -> FormState:
    groups = ["level_of_use", "role", *(f"drivers.{d}" for d in DRIVERS),
              *(f"results.{r}" for r in RESULT_ITEMS)]
    return LabelledForm("svar", values, groups=groups, labels=SURVEY_LABELS, **kwargs)


@get("/undersokelse", include_in_schema=False)
async def code_page(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    sessions: Sessions = state["sessions"]
    csrf, new_visit = await _visit(request, sessions)
    answer = _code_page(csrf, LabelledForm("kode", labels=SURVEY_LABELS))
    if new_visit is not None:
        answer.set_cookie(sessions.survey_cookie(new_visit))
    return answer


@post("/undersokelse", include_in_schema=False, status_code=200)
async def enter_code(request: Request[Any, Any, Any], state: State, app: App
                     ) -> Response[Any]:
    sessions: Sessions = state["sessions"]
    fields = await _checked(request, sessions)
    csrf = _first(fields, CSRF_FIELD)
    code = _first(fields, "code")
    message = ""
    try:
        if not code:
            raise CodeNotValid("Skriv koden du har fått.")
        view = await off_loop(app.survey_for_code, code)
    except CodeNotValid as exc:
        # An unknown or used code, or one of the wrong length (which says so).
        message = CODE_ERROR if exc.message == CodeNotValid.default_message else exc.message
    else:
        if view.status == "open":
            return _survey_form(csrf, code, view, _survey_state())
        message = ("Undersøkelsen er avsluttet." if view.status == "closed"
                   else f"Undersøkelsen åpner {view.opens_on:%d.%m.%Y}.")
    f = LabelledForm("kode", {"code": [code]}, errors={"code": message},
                     labels=SURVEY_LABELS, message="Koden kan ikke brukes.")
    return _code_page(csrf, f, status=400)


def _answer_of(fields: dict[str, list[str]], asks_role: bool
               ) -> tuple[SurveyAnswer | None, dict[str, str]]:
    """The answer as posted, or what is missing, per field."""
    found: dict[str, str] = {}
    level = _first(fields, "level_of_use")
    if not level:
        found["level_of_use"] = "Velg det nivået som passer best for enheten din."
    groups: dict[str, dict[str, int | None]] = {"drivers": {}, "results": {}}
    for group, items in (("drivers", DRIVERS), ("results", RESULT_ITEMS)):
        for item in items:
            value = _first(fields, f"{group}.{item}")
            if not value:
                found[f"{group}.{item}"] = "Velg et svar, eller «Vet ikke»."
            elif value == DONT_KNOW:
                groups[group][item] = None
            elif value.isdigit():
                groups[group][item] = int(value)
            else:
                found[f"{group}.{item}"] = "Velg et av svarene."
    role = _first(fields, "role") or None
    if asks_role and role is None:
        found["role"] = "Velg om du er medarbeider eller leder."
    if found:
        return None, found
    if not level.isdigit():
        return None, {"level_of_use": "Velg ett av de åtte nivåene."}
    return SurveyAnswer(level_of_use=int(level), drivers=groups["drivers"],
                        results=groups["results"], role=role if asks_role else None), {}


@post("/undersokelse/svar", include_in_schema=False, status_code=303)
async def record_answer(request: Request[Any, Any, Any], state: State, app: App
                        ) -> Response[Any]:
    sessions: Sessions = state["sessions"]
    fields = await _checked(request, sessions)
    csrf = _first(fields, CSRF_FIELD)
    code = _first(fields, "code")
    try:
        view = await off_loop(app.survey_for_code, code)
    except CodeNotValid:
        f = LabelledForm("kode", {"code": [code]}, errors={"code": CODE_ERROR},
                         labels=SURVEY_LABELS, message="Svaret ble ikke lagret.")
        return _code_page(csrf, f, status=409)
    answer, found = _answer_of(fields, view.asks_role)
    if answer is not None:
        try:
            await off_loop(app.answer_survey, code, answer)
        except CodeNotValid:
            f = LabelledForm("kode", {"code": [code]}, errors={"code": CODE_ERROR},
                             labels=SURVEY_LABELS, message="Svaret ble ikke lagret.")
            return _code_page(csrf, f, status=409)
        except errors.InvalidValue as exc:
            found = {exc.field: exc.message}
        except errors.DomainError as exc:  # the round closed meanwhile
            f = LabelledForm("kode", {"code": [code]}, errors={"code": exc.message},
                             labels=SURVEY_LABELS, message="Svaret ble ikke lagret.")
            return _code_page(csrf, f, status=409)
        else:
            return Redirect("/undersokelse/takk", status_code=303)
    n = len(found)
    f = _survey_state(fields, errors=found, message=(
        "Ett spørsmål mangler svar." if n == 1 else f"{n} spørsmål mangler svar.")
        if all(v.startswith("Velg") for v in found.values()) else "Noe må rettes.")
    return _survey_form(csrf, code, view, f, status=400)


@get("/undersokelse/takk", include_in_schema=False, sync_to_thread=False)
def thanks_page() -> Template:
    return Template(template_name="undersokelse-takk.html", context={})


ROUTES = [rounds_page, open_page, open_round, round_page, issue_codes, mail_codes, close_round,
          code_page, enter_code, record_answer, thanks_page]
