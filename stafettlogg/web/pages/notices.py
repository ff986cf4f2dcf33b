"""The notices' pages (docs/notices.md): each person's choice, and the admin's view of
the outbox.

* `GET /varsler`, `POST /varsler`: a staff member chooses how they hear that a baton
  waits, that a handover was answered, that an action is past its evaluation date or
  that a consent runs out: at once, a daily digest, or not at all. The address is
  the staff directory's.
* `GET /familie/varsler`, `POST /familie/varsler`: a guardian chooses whether they want
  "Det er nytt i stafettloggen" (at once or a daily digest, at the e-mail address they
  type), or not. A guardian who signs in for the first time is brought here first
  (`?forste=1`), and may say no. The address is sealed in the events and shown only
  on this page, to them.
* `GET /admin/varsler`: for admins, the notices that failed and those waiting for
  another try (kind, when, tries, the last error, to whom: a staff id, or "foresatt"
  without any address); `POST /admin/varsler/{id}/prov-igjen` tries a failed one again.

Every form carries the session's CSRF token and works without JavaScript.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from domain import errors
from domain.notices import NOTICE_CHOICES
from stafettlogg.application import Stafettlogg
from domain.calendar import NORWAY
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.pages import words
from stafettlogg.web.pages.admin import _admin
from stafettlogg.web.pages.auth import CSRF_FIELD, PostedForm, SignedIn, Viewer
from stafettlogg.web.pages.family import Family, SignedInFamily
from stafettlogg.web.pages.forms import FormState
from stafettlogg.web.sessions import same_token

STAFF_CHOICES = [
    ("now", "Straks: én e-post for hver ting"),
    ("digest", "Én gang om dagen: en oversikt om morgenen"),
    ("off", "Ingen varsler på e-post"),
]
FAMILY_CHOICES = [
    ("now", "Ja, straks det er noe nytt"),
    ("digest", "Ja, høyst én gang om dagen"),
    ("off", "Nei takk"),
]
KIND_NAMES = {
    "baton": "Stafettpinne venter", "accepted": "Overføring godtatt",
    "declined": "Overføring avslått", "overdue": "Tiltak skulle vært evaluert",
    "consent-14": "Samtykke går ut om 14 dager", "consent-3": "Samtykke går ut om 3 dager",
    "family-new": "Nytt for foresatte", "digest": "Daglig oversikt",
}
STATUS_NAMES = {"failed": "Mislyktes", "waiting": "Venter på nytt forsøk",
                "sending": "Sendes nå"}
MISSING_CHOICE = "Velg om du vil ha varsler, og hvordan."


async def _fields(request: Request[Any, Any, Any]) -> dict[str, list[str]]:
    form = await request.form()
    return {k: [v for v in form.getall(k) if isinstance(v, str)] for k in form}


def _first(fields: dict[str, list[str]], name: str) -> str:
    return (fields.get(name) or [""])[0].strip()


# --- staff ------------------------------------------------------------------------------


def _staff_page(viewer: Viewer, f: FormState, *, status: int = 200, done: bool = False,
                sender: bool = True) -> Template:
    return Template(template_name="varsler.html", status_code=status, context={
        "viewer": viewer, "words": words, "menu_here": "varsler", "f": f,
        "choices": STAFF_CHOICES, "done": done, "email": viewer.member.email,
        "sending": sender})


@get("/varsler", include_in_schema=False)
async def staff_notices_page(app: App, viewer: SignedIn, lagret: FromQuery[str | None] = None
                             ) -> Template:
    chosen = await off_loop(app.staff_notices, viewer.actor)
    return _staff_page(viewer, FormState("varsler", {"choice": [chosen.choice]}),
                       done=bool(lagret), sender=app.settings.smtp.enabled)


@post("/varsler", include_in_schema=False, status_code=303)
async def choose_staff_notices(request: Request[Any, Any, Any], app: App,
                               viewer: SignedIn, form: PostedForm) -> Response[Any]:
    fields = await _fields(request)
    choice = _first(fields, "choice")
    if choice not in NOTICE_CHOICES:
        state = FormState("varsler", fields, errors={"choice": MISSING_CHOICE},
                          message="Valget ble ikke lagret.")
        return _staff_page(viewer, state, status=400, sender=app.settings.smtp.enabled)
    await off_loop(app.choose_staff_notices, viewer.actor, choice)
    return Redirect("/varsler?lagret=1", status_code=303)


# --- the family -------------------------------------------------------------------------


def _family_page(family: Family, f: FormState, *, status: int = 200, done: bool = False,
                 first: bool = False) -> Template:
    return Template(template_name="familie-varsler.html", status_code=status, context={
        "family": family, "words": words, "menu_here": "varsler", "f": f,
        "choices": FAMILY_CHOICES, "done": done, "first": first})


def _is_guardian(app: Stafettlogg, family: Family) -> bool:
    return any(c.role == "guardian" for c in app.family_cases(family.person))


@get("/familie/varsler", include_in_schema=False)
async def family_notices_page(app: App, family: SignedInFamily,
                              forste: FromQuery[str | None] = None,
                              lagret: FromQuery[str | None] = None) -> Template:
    chosen = await off_loop(app.guardian_notices, family.person)
    values = {"choice": [chosen.choice if chosen.chosen else ""],
              "email": [chosen.email or ""]}
    return _family_page(family, FormState("varsler", values), done=bool(lagret),
                        first=bool(forste) and not chosen.chosen)


@post("/familie/varsler", include_in_schema=False, status_code=303)
async def choose_family_notices(request: Request[Any, Any, Any], app: App,
                                family: SignedInFamily) -> Response[Any]:
    fields = await _fields(request)
    if not same_token(_first(fields, CSRF_FIELD), family.csrf):
        return Template(template_name="feil.html", status_code=403, context={
            "heading": "Skjemaet kunne ikke sendes",
            "text": ["Skjemaet var utløpt, så ingenting ble lagret. Last siden på nytt og "
                     "prøv igjen."]})
    first = _first(fields, "forste") == "1"
    choice = _first(fields, "choice")
    # The address is shown again only if it was typed; never in a URL or a log.
    shown = {"choice": [choice], "email": [_first(fields, "email")]}
    try:
        if choice not in NOTICE_CHOICES:
            raise errors.InvalidValue("choice", MISSING_CHOICE)
        if choice != "off" and not await off_loop(_is_guardian, app, family):
            raise errors.InvalidValue(
                "choice", "Varsler kan bare sendes til foresatte som er registrert i en sak.")
        await off_loop(app.choose_guardian_notices, family.person, choice,
                       _first(fields, "email") or None)
    except errors.InvalidValue as exc:
        state = FormState("varsler", shown, errors={exc.field: exc.message},
                          message="Valget ble ikke lagret.")
        return _family_page(family, state, status=400, first=first)
    if first:
        return Redirect("/familie/saker", status_code=303)
    return Redirect("/familie/varsler?lagret=1", status_code=303)


# --- the admin's view -------------------------------------------------------------------


def _when(text: str | None) -> str:
    if not text:
        return ""
    moment = datetime.fromisoformat(text + "+00:00").astimezone(NORWAY)
    return moment.strftime("%d.%m.%Y kl. %H.%M")


@get("/admin/varsler", include_in_schema=False)
async def admin_notices(app: App, viewer: SignedIn, ok: FromQuery[str | None] = None) -> Template:
    _admin(viewer)
    rows = await off_loop(app.notices.troubled)
    waiting = await off_loop(app.notices.waiting_count)
    swept = await off_loop(app.sweep.last)
    return Template(template_name="admin-varsler.html", context={
        "swept": swept, "sweep_at": app.settings.sweep_at.strftime("%H.%M"),
        "swept_when": (swept.finished_at.astimezone(NORWAY).strftime("%d.%m.%Y kl. %H.%M")
                       if swept else ""),
        "viewer": viewer, "words": words, "menu_here": "admin", "rows": rows,
        "waiting": waiting, "kinds": KIND_NAMES, "statuses": STATUS_NAMES, "when": _when,
        "sending": app.settings.smtp.enabled, "f": FormState("prov"),
        "done": "Varselet sendes på nytt." if ok else None})


@post("/admin/varsler/{row_id:str}/prov-igjen", include_in_schema=False, status_code=303)
async def admin_retry(app: App, viewer: SignedIn, form: PostedForm,
                      row_id: FromPath[str]) -> Response[Any]:
    _admin(viewer)
    await off_loop(app.notices.retry, row_id[:40], app.clock())
    return Redirect("/admin/varsler?ok=1", status_code=303)


ROUTES = [staff_notices_page, choose_staff_notices, family_notices_page,
          choose_family_notices, admin_notices, admin_retry]
