"""The training register's pages (`/opplaering`), for admins and unit leaders
(`leader`, "Enhetsleder"); anyone else gets 403 "Du har ikke tilgang til denne siden".

* `GET /opplaering`: the register. One row per active staff member with a service
  (name, service), a column per training with the first day the person had it, and
  "Erfaring som stafettholder" (from the cases). An admin sees every service and
  filters by one with a GET form; a unit leader sees the staff of their own service.
* `GET /opplaering/ansatte/{id}`: one person's trainings with their days, a form to
  record one (`POST` there) and a button per record that removes it
  (`POST .../fjern`). A person the viewer may not record for is a 404, as in the
  application (`staff_training`).
* `GET /opplaering/import`: a form for an attendance list (CSV or Excel, a multipart
  upload), with an optional training and an optional day for the whole list.
  `POST /opplaering/import` reads and previews it (nothing is recorded): every row with
  its line, who it matched, training, day and status. When every row is fine the page
  carries the checked rows (staff id, training code, ISO day; never a name or an
  address) in hidden fields to `POST /opplaering/import/registrer`, which imports them
  all or nothing: the application checks every row again.
* `GET /opplaering/andeler`: the activity indicators of a municipality as at a day (a
  GET form: municipality, day), per service, per sector and for the whole
  municipality: how many, of how many, and the share in percent.

Every form works without JavaScript and carries the session's CSRF token (the upload
as well: `provide_form` reads a multipart form too); a success answers 303 (post/
redirect/get), a refusal shows the form again with the errors tied to their fields
and what was typed kept.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from domain.calendar import day_of
from domain import errors
from domain.training import TRAININGS
from projections.training import ALL, HELD_BATON, HOLDERS_TRAINED, INDICATORS
from stafettlogg.application import Stafettlogg
from stafettlogg.attendance import AttendanceLine, read_attendance
from stafettlogg.training_commands import TRAINING_NAMES, AttendanceRefused
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pages import words
from stafettlogg.web.pages.auth import PostedForm, RoleRequired, SignedIn, Viewer
from stafettlogg.web.pages.forms import NOT_A_DATE, FormState, as_iso_date

DONE = {
    "registrert": "Opplæringen er registrert.",
    "fantes": "Opplæringen var registrert fra før på den datoen, så ingenting ble endret.",
    "fjernet": "Opplæringen er fjernet fra registeret.",
}
INDICATOR_NAMES = {
    **{t: TRAINING_NAMES[t] for t in TRAININGS},
    HELD_BATON: "Erfaring som stafettholder",
    HOLDERS_TRAINED: "Stafettholdere med opplæring i rollen",
}
# The indicators' column headings, and what each counts (of whom).
INDICATOR_SHORT = {
    **words.TRAINING_SHORT, HELD_BATON: "Erfaring som stafett\u00adholder",
    HOLDERS_TRAINED: "Stafett\u00adholdere med opplæring i rollen",
}
INDICATOR_COUNTS = {
    **{t: "de som har hatt opplæringen, av de aktive ansatte" for t in TRAININGS},
    HELD_BATON: "de som har hatt stafettpinnen i minst én sak, av de aktive ansatte",
    HOLDERS_TRAINED: "de som har hatt stafettpinnen og har opplæring i rollen som "
                     "stafettholder, av alle som har hatt stafettpinnen",
}
STATUS_NAMES = {"new": "Ny", "recorded": "Finnes fra før"}


def _may_see(viewer: Viewer) -> Viewer:
    roles = set(viewer.member.roles)
    if "admin" in roles or ("leader" in roles and viewer.member.service):
        return viewer
    raise RoleRequired("Opplæringsregisteret er for administratorer og enhetsledere i "
                       "Stafettlogg.")


def _is_admin(viewer: Viewer) -> bool:
    return "admin" in viewer.member.roles


def _context(viewer: Viewer, **more: Any) -> dict[str, Any]:
    return {"viewer": viewer, "words": words, "menu_here": "opplaering",
            "training_names": TRAINING_NAMES, "trainings": TRAININGS,
            "is_admin": _is_admin(viewer), **more}


async def _fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [v for v in form.getall(k) if isinstance(v, str)] for k in form}


def _first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0].strip()


def _today(app: Stafettlogg) -> date:
    return day_of(app.clock())


def _training_options() -> list[tuple[str, str]]:
    return [(t, TRAINING_NAMES[t]) for t in TRAININGS]


def percent(numerator: int, denominator: int) -> str:
    """A share as Norwegian readers write it: `33,3 %` (one decimal); `–` of nobody."""
    if denominator == 0:
        return "–"
    return f"{100 * numerator / denominator:.1f}".replace(".", ",") + "\u00a0%"


# --- the register ------------------------------------------------------------------------


@get("/opplaering", include_in_schema=False)
async def register_page(app: App, viewer: SignedIn, tjeneste: FromQuery[str | None] = None,
                        ok: FromQuery[str | None] = None,
                        antall: FromQuery[str | None] = None) -> Template:
    _may_see(viewer)
    services = {i.id: i for i in await off_loop(app.list_services)}
    chosen = tjeneste if _is_admin(viewer) and tjeneste in services else None
    rows = await off_loop(lambda: app.training_register(viewer.actor, service=chosen))
    rows = sorted(rows, key=lambda r: (services[r.service].name if r.service in services
                                       else r.service or "", r.name))
    done = None
    if ok == "importert" and antall and antall.isdigit():
        n = int(antall)
        done = (f"{n} opplæring{'' if n == 1 else 'er'} er registrert fra deltakerlisten."
                if n else "Alle radene i deltakerlisten var registrert fra før.")
    own = services.get(viewer.member.service or "") if not _is_admin(viewer) else None
    return Template(template_name="opplaering.html", context=_context(
        viewer, rows=rows, services=services, chosen=chosen, own=own, done=done,
        short=words.TRAINING_SHORT))


# --- one person ---------------------------------------------------------------------------


async def _person(app: Stafettlogg, viewer: Viewer, staff_id: str) -> Any:
    try:
        return await off_loop(app.staff_training, viewer.actor, staff_id)
    except errors.NotFound:
        raise HTTPException(status_code=404) from None


async def _person_page(app: Stafettlogg, viewer: Viewer, person: Any, f: FormState, *,
                       status: int = 200, done: str | None = None,
                       refused: str | None = None) -> Template:
    services = {i.id: i for i in await off_loop(app.list_services)}
    records = sorted(((t, day) for t, days in person.trainings.items() for day in days),
                     key=lambda r: (TRAININGS.index(r[0]), r[1]))
    return Template(template_name="opplaering-ansatt.html", status_code=status,
                    context=_context(viewer, person=person, services=services, f=f,
                                     done=done, refused=refused, records=records,
                                     training_options=_training_options(),
                                     remove=FormState("fjern")))


@get("/opplaering/ansatte/{staff_id:str}", include_in_schema=False)
async def person_page(app: App, viewer: SignedIn, staff_id: FromPath[str],
                      ok: FromQuery[str | None] = None) -> Template:
    _may_see(viewer)
    person = await _person(app, viewer, staff_id)
    return await _person_page(app, viewer, person, FormState("opplaering"),
                              done=DONE.get(ok or ""))


def _day_of(text: str, *, missing: str) -> tuple[date | None, str | None]:
    """A typed day, or the error to show beside its field."""
    if not text:
        return None, missing
    iso = as_iso_date(text)
    if iso is None:
        return None, NOT_A_DATE
    return date.fromisoformat(iso), None


@post("/opplaering/ansatte/{staff_id:str}", include_in_schema=False, status_code=303)
async def record_training(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                          form: PostedForm, staff_id: FromPath[str]) -> Response[Any]:
    _may_see(viewer)
    person = await _person(app, viewer, staff_id)
    fields = await _fields(request)
    training = _first(fields, "training")
    found: dict[str, str] = {}
    if training not in TRAININGS:
        found["training"] = "Velg hvilken opplæring." if not training else \
            "Velg en av opplæringene i listen."
    day, wrong = _day_of(_first(fields, "on"), missing="Skriv datoen for opplæringen.")
    if wrong:
        found["on"] = wrong
    if not found and day is not None:
        try:
            new = await off_loop(lambda: app.record_training(
                viewer.actor, staff_id, training=training, on=day))
        except errors.InvalidValue as exc:
            if exc.field not in ("training", "on"):  # the person, no longer active
                state = FormState("opplaering", fields, message=exc.message)
                return await _person_page(app, viewer, person, state, status=409)
            found[exc.field] = exc.message
        except errors.DomainError as exc:
            state = FormState("opplaering", fields, message=exc.message)
            return await _person_page(app, viewer, person, state, status=409)
        else:
            return Redirect(f"/opplaering/ansatte/{staff_id}?ok="
                            f"{'registrert' if new else 'fantes'}", status_code=303)
    state = FormState("opplaering", fields, errors=found,
                      message="Noe må rettes før opplæringen kan registreres.")
    return await _person_page(app, viewer, person, state, status=400)


@post("/opplaering/ansatte/{staff_id:str}/fjern", include_in_schema=False, status_code=303)
async def remove_training(app: App, viewer: SignedIn, form: PostedForm,
                          staff_id: FromPath[str]) -> Response[Any]:
    _may_see(viewer)
    person = await _person(app, viewer, staff_id)
    iso = as_iso_date(form.get("on", ""))
    try:
        if iso is None:
            raise errors.InvalidValue("on", "Denne opplæringen er ikke registrert på den datoen.")
        await off_loop(lambda: app.remove_training(
            viewer.actor, staff_id, training=form.get("training", ""),
            on=date.fromisoformat(iso)))
    except errors.DomainError as exc:
        return await _person_page(app, viewer, person, FormState("opplaering"), status=409,
                                  refused=f"Opplæringen ble ikke fjernet: {exc.message}")
    return Redirect(f"/opplaering/ansatte/{staff_id}?ok=fjernet", status_code=303)


# --- importing an attendance list ------------------------------------------------------


def _import_form(viewer: Viewer, f: FormState, *, status: int = 200) -> Template:
    return Template(template_name="opplaering-import.html", status_code=status,
                    context=_context(viewer, f=f, training_options=_training_options()))


@get("/opplaering/import", include_in_schema=False)
async def import_page(viewer: SignedIn) -> Template:
    _may_see(viewer)
    return _import_form(viewer, FormState("import"))


@post("/opplaering/import", include_in_schema=False, status_code=200)
async def preview_import(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                         form: PostedForm) -> Response[Any]:
    _may_see(viewer)
    posted = await request.form()
    fields = {k: [v] for k, v in form.items() if k in ("training", "on")}
    upload = posted.get("file")
    training = _first(fields, "training") or None
    found: dict[str, str] = {}
    if training is not None and training not in TRAININGS:
        found["training"] = "Velg en av opplæringene i listen."
    day = None
    if _first(fields, "on"):
        day, wrong = _day_of(_first(fields, "on"), missing="")
        if wrong:
            found["on"] = wrong
    lines: list[AttendanceLine] = []
    if not isinstance(upload, UploadFile) or not upload.filename:
        found["file"] = "Velg en fil med deltakerlisten (CSV eller Excel)."
    else:
        data = await upload.read()
        try:
            lines = await off_loop(read_attendance, data, upload.filename)
        except errors.InvalidValue as exc:
            found["file"] = exc.message
    if not found and not lines:
        found["file"] = "Filen har ingen rader under overskriftene."
    if found:
        state = FormState("import", fields, errors=found,
                          message="Deltakerlisten kunne ikke leses. Ingenting er registrert.")
        return _import_form(viewer, state, status=400)
    preview = await off_loop(lambda: app.preview_attendance(
        viewer.actor, lines, training=training, on=day))
    return _preview_page(viewer, preview, FormState("registrer"),
                         filename=upload.filename if isinstance(upload, UploadFile) else "")


def _preview_page(viewer: Viewer, preview: Any, f: FormState, *, filename: str = "",
                  status: int = 200, refused: bool = False) -> Template:
    return Template(template_name="opplaering-forhandsvisning.html", status_code=status,
                    context=_context(viewer, preview=preview, f=f, filename=filename,
                                     status_names=STATUS_NAMES, refused=refused))


@post("/opplaering/import/registrer", include_in_schema=False, status_code=303)
async def record_import(request: Request[Any, Any, Any], app: App, viewer: SignedIn,
                        form: PostedForm) -> Response[Any]:
    _may_see(viewer)
    fields = await _fields(request)
    rows = zip(fields.get("linje", []), fields.get("ansatt", []),
               fields.get("opplaering", []), fields.get("dato", []), strict=False)
    lines = [AttendanceLine(line=int(n) if n.isdigit() else 0, staff=who, training=what,
                            day=when) for n, who, what, when in rows]
    if not lines:
        return Redirect("/opplaering/import", status_code=303)
    try:
        preview = await off_loop(lambda: app.import_attendance(viewer.actor, lines))
    except AttendanceRefused as exc:
        return _preview_page(viewer, exc.preview, FormState("registrer"), status=409,
                             refused=True)
    return Redirect(f"/opplaering?ok=importert&antall={preview.new}", status_code=303)


# --- the shares ------------------------------------------------------------------------


def _municipalities(app: Stafettlogg, viewer: Viewer) -> list[tuple[str, str]]:
    """The municipalities the viewer may choose: an admin's every one a service serves,
    a unit leader's own."""
    if _is_admin(viewer):
        numbers = sorted({m for i in app.list_services() for m in i.municipalities})
    else:
        numbers = sorted(viewer.member.municipalities)
    return [(n, app.settings.municipality_name(n)) for n in numbers]


def shares_choice(app: Stafettlogg, viewer: Viewer, kommune: str | None, dato: str | None,
                  form: str, *, latest: date | None = None
                  ) -> tuple[list[tuple[str, str]], str | None, date | None, FormState]:
    """The choice of the shares' GET form: the municipalities the viewer may choose, the
    chosen one (the first by default), the day (today by default; None when the typed
    one is no date; never after `latest`) and the form as typed."""
    places = _municipalities(app, viewer)
    chosen = kommune if kommune in dict(places) else (places[0][0] if places else None)
    today = _today(app)
    typed = (dato or "").strip()
    day: date | None = today
    found: dict[str, str] = {}
    if typed:
        iso = as_iso_date(typed)
        if iso is None:
            day, found["dato"] = None, NOT_A_DATE
        else:
            day = date.fromisoformat(iso)
            day = min(day, latest) if latest is not None else day
    f = FormState(form, {"kommune": [chosen or ""], "dato": [typed or f"{today:%d.%m.%Y}"]},
                  errors=found,
                  message="Datoen må rettes før tallene kan vises." if found else "")
    return places, chosen, day, f


class ShareCell:
    """One indicator of one line: `numerator` of `denominator`, and the share. For
    evaluators either may be None: hidden (projections.training.protected_shares)."""

    def __init__(self, numerator: int | None, denominator: int | None) -> None:
        self.numerator = numerator
        self.denominator = denominator
        self.hidden = numerator is None or denominator is None
        self.share = ":" if self.hidden else percent(numerator or 0, denominator or 0)
        self.counts = (f"{numerator} av {denominator}" if not self.hidden
                       else f"av {denominator}" if denominator is not None else "skjult")


class ShareRow:
    """One line of the indicators' table: the municipality, a sector or a service, with
    a cell per indicator."""

    def __init__(self, label: str, kind: str, shares: list[Any]) -> None:
        self.label = label
        self.kind = kind  # "all", "sector" or "service"
        found = {s.indicator: ShareCell(s.numerator, s.denominator) for s in shares}
        self.cells = [found.get(i, ShareCell(0, 0)) for i in INDICATORS]


def _share_rows(app: Stafettlogg, shares: list[Any]) -> list[ShareRow]:
    """The whole municipality first, then each sector with its services under it."""
    names = {i.id: i.name for i in app.list_services()}
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for s in shares:
        groups[(s.sector, s.service)].append(s)
    rows = [ShareRow("Hele kommunen", "all", groups[(ALL, ALL)])] if (ALL, ALL) in groups \
        else []
    sectors = sorted({sector for sector, _ in groups if sector != ALL},
                     key=lambda x: words.SECTORS.get(x, x))
    for sector in sectors:
        rows.append(ShareRow(f"{words.SECTORS.get(sector, sector)} i alt", "sector",
                             groups.get((sector, ALL), [])))
        rows += sorted((ShareRow(names.get(service, service), "service", cells)
                        for (sec, service), cells in groups.items()
                        if sec == sector and service != ALL), key=lambda r: r.label)
    return rows


@get("/opplaering/andeler", include_in_schema=False)
async def shares_page(app: App, viewer: SignedIn, kommune: FromQuery[str | None] = None,
                      dato: FromQuery[str | None] = None) -> Template:
    _may_see(viewer)
    places, chosen, day, f = await off_loop(shares_choice, app, viewer, kommune, dato,
                                            "andeler")
    known = dict(places)
    found = f.errors
    rows: list[ShareRow] = []
    if chosen is not None and day is not None:
        shares = await off_loop(lambda: app.training_shares(
            viewer.actor, municipality=chosen, on=day))
        rows = await off_loop(_share_rows, app, shares)
    return Template(template_name="opplaering-andeler.html",
                    status_code=400 if found else 200, context=_context(
                        viewer, f=f, places=places, chosen=chosen,
                        place_name=known.get(chosen or "", ""), day=day, rows=rows,
                        indicators=[(i, INDICATOR_SHORT[i], INDICATOR_NAMES[i],
                                     INDICATOR_COUNTS[i]) for i in INDICATORS]))


ROUTES = [register_page, person_page, record_training, remove_training, import_page,
          preview_import, record_import, shares_page]
