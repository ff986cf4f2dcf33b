"""The family's pages (`/familie`): guardians and the young person read their own case.

* `GET /familie`: what these pages are, and *Logg inn med ID-porten* (when
  `STAFETTLOGG_FAMILY_OIDC_ISSUER` is set).
* `GET /familie/logg-inn` sends the browser to ID-porten; `GET /familie/logg-inn/svar`
  takes its answer (the same checks as the staff's sign-in, pages/auth.py). The person
  is known by keyed hashes of the `pid` claim only (`Stafettlogg.family_person`): a
  recorded guardian, or the young person from the youth-consent age. Someone with no
  case is told so, and nothing is signed in.
* `GET /familie/saker`: their cases; `GET /familie/saker/{id}`: one case: who holds the
  baton and which services take part, the consents and their status, the log as they
  may see it (a guardian never sees an entry kept from the guardians), and the access
  log: who read or changed the case, when, in which service and role. Each view is a
  line in the case's access log.
* `POST /familie/saker/{id}/{skjema}`: what the family does themselves, each recorded
  as them (in the log and the access log): `samtykke` gives a consent to services for a
  purpose and a period (form `digital`), `samtykke-trekk` withdraws one (with the same
  effects as any withdrawal), `melding` writes a note in the log, `tilfredshet`
  answers the satisfaction question (1-5). Refusals show the form again, in Norwegian.
* `POST /familie/logg-ut` ends the session.

A family session has its own cookie (`stafettlogg_familie`, sent only to `/familie`) and
its own keys in the session store: no staff page, API endpoint or statistic takes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from uuid import UUID

from msgspec import Meta

from domain import errors
from stafettlogg.application import Stafettlogg
from stafettlogg.family_reads import FamilyPerson
from stafettlogg.protocol import IdempotencyKeyReused
from stafettlogg.web.api.schemas import Body, ServiceList, ShortText, Text
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.oidc import OidcClient
from stafettlogg.web.pages import words
from stafettlogg.web.pages.auth import CSRF_FIELD, oidc_answer, oidc_redirect
from stafettlogg.web.pages.cases import Directory, _directory, _fields, _options, _target
from stafettlogg.web.pages.forms import REQUIRED, FormInvalid, FormState, parse
from stafettlogg.web.sessions import FAMILY_COOKIE, FamilySession, Sessions, new_secret, same_token
from litestar.di import NamedDependency


class FamilySignInRequired(HTTPException):
    status_code = 401


def family_sign_in(request: Request[Any, Any, Any], exc: FamilySignInRequired) -> Response[Any]:
    return Redirect("/familie", status_code=303)


EXCEPTION_HANDLERS = {FamilySignInRequired: family_sign_in}


class Family:
    """The signed-in family member, as the pages need them."""

    def __init__(self, person: FamilyPerson, session_id: str, csrf: str) -> None:
        self.person = person
        self.session_id = session_id
        self.csrf = csrf


SignedInFamily = NamedDependency[Family]  # what a family page is given


async def provide_family(request: Request[Any, Any, Any], state: State) -> Family:
    sessions: Sessions = state["sessions"]
    session_id = request.cookies.get(FAMILY_COOKIE)
    session = await sessions.current_family(session_id)
    if session is None or session_id is None:
        raise FamilySignInRequired()
    person = FamilyPerson(guardian_login=session.guardian_login,
                          child_id=UUID(session.child_id) if session.child_id else None)
    return Family(person, session_id, session.csrf)


def _page(template: str, status: int = 200, **context: Any) -> Template:
    return Template(template_name=template, status_code=status,
                    context={"words": words, **context})


@get("/familie", include_in_schema=False)
async def family_landing(state: State) -> Template:
    return _page("familie.html", can_sign_in=state.get("family_oidc") is not None)


@get("/familie/logg-inn", include_in_schema=False)
async def family_oidc_start(state: State) -> Response[Any]:
    oidc: OidcClient | None = state.get("family_oidc")
    if oidc is None:
        raise HTTPException(status_code=404)
    return await oidc_redirect(oidc, state["sessions"], "/familie/saker")


@get("/familie/logg-inn/svar", include_in_schema=False)
async def family_oidc_callback(request: Request[Any, Any, Any], state: State, app: App,
                               code: FromQuery[str | None] = None,
                               error: FromQuery[str | None] = None) -> Response[Any]:
    answer = await oidc_answer(request, state, "family_oidc", code, error)
    if isinstance(answer, Response):
        return answer
    pid, _ = answer
    sessions: Sessions = state["sessions"]
    person = app.family_person(pid.strip())
    if not await off_loop(app.family_cases, person):
        return _page("familie-ingen.html", status=403)
    session = FamilySession(
        guardian_login=person.guardian_login,
        child_id=str(person.child_id) if person.child_id else None,
        csrf=new_secret(), signed_in_at=datetime.now(UTC))
    session_id = await sessions.start_family(request.cookies.get(FAMILY_COOKIE), session)
    # A guardian signing in for the first time is asked about notices (pages/notices.py).
    first = await off_loop(app.should_ask_about_notices, person)
    redirect = Redirect("/familie/varsler?forste=1" if first else "/familie/saker",
                        status_code=303)
    redirect.set_cookie(sessions.family_cookie(session_id))
    return redirect


@get("/familie/saker", include_in_schema=False)
async def family_cases(app: App, family: SignedInFamily) -> Template:
    cases = await off_loop(app.family_cases, family.person)
    return _page("familie-saker.html", family=family, cases=cases)


@get("/familie/saker/{case_id:uuid}", include_in_schema=False)
async def family_case(app: App, family: SignedInFamily, case_id: FromPath[UUID],
                      lagret: FromQuery[str | None] = None) -> Template:
    return await _case_page(app, family, case_id, done=DONE.get(lagret or ""))


async def _case_page(app: Stafettlogg, family: Family, case_id: UUID, *,
                     failed: FormState | None = None, status: int = 200,
                     done: str | None = None) -> Template:
    try:
        case, names, services = await off_loop(_case_and_names, app, family.person, case_id)
    except errors.NotFound:
        return _page("feil.html", status=404, heading="Siden finnes ikke",
                     text=["Saken finnes ikke, eller du har ikke tilgang til den."])
    forms = {name: failed if failed and failed.name == name else FormState(
        name, groups=spec.groups) for name, spec in COMMANDS.items()}
    return _page("familie-sak.html", status=status, family=family, case=case, names=names,
                 services=services, f=forms, failed=failed, done=done)


def _case_and_names(app: Stafettlogg, person: FamilyPerson, case_id: UUID
                    ) -> tuple[Any, Directory, list[tuple[str, str]]]:
    """The case, the names of the services and staff its page shows, and the services a
    consent can be given to (those serving the child's municipality)."""
    case = app.family_case(person, case_id)
    names = _directory(app)
    services = [(s.id, s.name) for s in names.services.values()
                if s.active and s.serves(case.municipality)]
    return case, names, services


# --- what the family does themselves ------------------------------------------------


class ConsentForm(Body):
    services: ServiceList
    purpose: ShortText
    valid_until: date


class NoteForm(Body):
    text: Text


class SatisfactionForm(Body):
    score: Annotated[int, Meta(ge=1, le=5)]


@dataclass(frozen=True)
class Command:
    body: type[Any] | None
    run: Callable[[Stafettlogg, FamilyPerson, UUID, Any, UUID | None, Any], Any]
    done: str
    lists: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    target: bool = False


COMMANDS: dict[str, Command] = {
    "samtykke": Command(ConsentForm, lambda a, p, c, b, t, o: a.family_give_consent(
        p, c, services=b.services, purpose=b.purpose, valid_until=b.valid_until, **o),
        "samtykke", lists=("services",), groups=("services",)),
    "samtykke-trekk": Command(None, lambda a, p, c, b, t, o: a.family_withdraw_consent(
        p, c, t, **o), "trukket", target=True),
    "melding": Command(NoteForm, lambda a, p, c, b, t, o: a.family_note(
        p, c, text=b.text, **o), "melding"),
    "tilfredshet": Command(SatisfactionForm, lambda a, p, c, b, t, o: a.family_satisfaction(
        p, c, score=b.score, **o), "tilfredshet", groups=("score",)),
}
# What to write when a field is left empty, by field.
MISSING = {
    "services": "Velg minst én tjeneste som samtykket skal gjelde.",
    "purpose": "Skriv hva samarbeidet skal gjelde.",
    "valid_until": "Skriv datoen samtykket skal gjelde til, som dd.mm.åååå.",
    "text": "Skriv meldingen.", "score": "Velg et svar fra 1 til 5.",
    "_mål": "Velg samtykket.",
}
DONE = {
    "samtykke": "Samtykket er registrert. Tjenestene kan nå være med i saken.",
    "trukket": "Samtykket er trukket tilbake. Tjenester det gjaldt, er ikke lenger med.",
    "melding": "Meldingen er skrevet i loggen.",
    "tilfredshet": "Takk for svaret.",
}


@post("/familie/saker/{case_id:uuid}/{command:str}", include_in_schema=False,
      status_code=303)
async def family_command(request: Request[Any, Any, Any], app: App, family: SignedInFamily,
                         case_id: FromPath[UUID], command: FromPath[str]) -> Response[Any]:
    spec = COMMANDS.get(command)
    fields = await _fields(request)
    if spec is None:
        return _page("feil.html", status=404, heading="Siden finnes ikke",
                     text=["Dette skjemaet finnes ikke."])
    if not same_token((fields.get(CSRF_FIELD) or [""])[0], family.csrf):
        return _page("feil.html", status=403, heading="Skjemaet kunne ikke sendes",
                     text=["Skjemaet var utløpt, så ingenting ble lagret. Last siden på nytt "
                           "og prøv igjen."])
    options = await _options(request, fields)
    options.pop("expected_version", None)
    target = _target(fields) if spec.target else None
    try:
        if spec.target and target is None:
            raise FormInvalid({"_mål": "Skjemaet mangler hva det gjelder."})
        body = parse(fields, spec.body, lists=spec.lists) if spec.body else None
        await off_loop(spec.run, app, family.person, case_id, body, target, options)
    except FormInvalid as exc:
        found = {k: MISSING.get(k, v) if v == REQUIRED else v for k, v in exc.errors.items()}
        state = FormState(command, fields, errors=found, groups=spec.groups,
                          message="Noe må rettes før dette kan lagres.")
        return await _case_page(app, family, case_id, failed=state, status=400)
    except IdempotencyKeyReused as exc:
        state = FormState(command, fields, groups=spec.groups, message=exc.message)
        return await _case_page(app, family, case_id, failed=state, status=422)
    except errors.DomainError as exc:
        if isinstance(exc, errors.NotFound) and not isinstance(exc, errors.InvalidValue):
            return await _case_page(app, family, case_id, status=404)
        found = {exc.field: exc.message} if isinstance(exc, errors.InvalidValue) else {}
        state = FormState(command, fields, errors=found, groups=spec.groups,
                          message=exc.message)
        return await _case_page(app, family, case_id, failed=state, status=409)
    return Redirect(f"/familie/saker/{case_id}?lagret={spec.done}", status_code=303)


@post("/familie/logg-ut", include_in_schema=False, status_code=303)
async def family_sign_out(request: Request[Any, Any, Any], state: State, family: SignedInFamily
                          ) -> Response[Any]:
    form = await request.form()
    if not same_token(form.get(CSRF_FIELD), family.csrf):
        return _page("feil.html", status=403, heading="Skjemaet kunne ikke sendes",
                     text=["Last siden på nytt og prøv igjen."])
    sessions: Sessions = state["sessions"]
    await sessions.end_family(family.session_id)
    answer = Redirect("/familie?utlogget=1", status_code=303)
    answer.set_cookie(sessions.gone_family())
    return answer


ROUTES = [family_landing, family_oidc_start, family_oidc_callback, family_cases, family_case,
          family_command, family_sign_out]
