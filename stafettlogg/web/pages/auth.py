"""Sign-in to the pages, sign-out, and who is signed in (`viewer`).

* `GET /logg-inn`: the sign-in page. With OIDC configured (settings
  `STAFETTLOGG_OIDC_*`) a button starts the provider's sign-in; with `serve --demo`
  (and only then) the demo's people are listed by name, role and service, one click
  each.
* `GET /logg-inn/oidc` sends the browser to the provider (web/oidc.py), and
  `GET /logg-inn/oidc/svar` takes its answer: `state` must be the one this browser
  was given, the ID token must check out, and the person must be an active member of
  the staff directory with that login; otherwise a plain page says so and nothing
  is signed in.
* `POST /logg-ut` ends the session.

Every page for staff takes the `viewer` dependency: the signed-in staff member, or a
redirect to the sign-in page (and back afterwards). A form takes `form` as well,
which refuses a post without the session's CSRF token before anything is recorded.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from domain.staff import ROLE_NAMES, StaffMember
from domain.values import Actor
from stafettlogg.observability import note_user
from stafettlogg.application import Stafettlogg
from stafettlogg.web.deps import App, off_loop
from stafettlogg.web.oidc import OidcClient, SignInRefused
from stafettlogg.web.sessions import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    LoginAttempt,
    Sessions,
    new_secret,
    same_token,
)
from litestar.di import NamedDependency
from litestar.params import FromQuery

log = logging.getLogger("stafettlogg.signin")

CSRF_FIELD = "_csrf"


class Viewer(msgspec.Struct, frozen=True):
    """The signed-in staff member, as the pages need them."""

    member: StaffMember
    session_id: str
    csrf: str

    @property
    def actor(self) -> Actor:
        m = self.member
        return Actor(user=m.id, service=m.service, roles=frozenset(m.roles),
                     municipalities=frozenset(m.municipalities))


# What a page handler is given (explicit markers, as Litestar 2.25 wants).
SignedIn = NamedDependency[Viewer]
PostedForm = NamedDependency[dict[str, str]]


class SignInRequired(HTTPException):
    status_code = 401

    def __init__(self, next_path: str, *, ended: bool = False) -> None:
        super().__init__(detail="sign-in required")
        self.next_path = next_path
        self.ended = ended


class FormRefused(HTTPException):
    """A form posted without the session's CSRF token (or another one)."""

    status_code = 403


def safe_next(path: str | None) -> str:
    """Only a path of this site: never `//elsewhere` or `https://...`."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path[:500]


def home_of(member: StaffMember) -> str:
    """Where a staff member starts: their cases, the statistics, the training register
    (a unit leader) or the admin pages."""
    if {"worker", "coordinator"} & set(member.roles):
        return "/saker"
    if "evaluator" in member.roles:
        return "/statistikk"
    if "leader" in member.roles and member.service:
        return "/opplaering"
    if "admin" in member.roles:
        return "/admin"
    return "/"


def sign_in_redirect(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    target = "/logg-inn" + (f"?neste={exc.next_path}" if exc.next_path != "/" else "")
    if exc.ended:
        target += ("&" if "?" in target else "?") + "avsluttet=1"
    answer = Redirect(target, status_code=303)
    sessions: Sessions = request.app.state["sessions"]
    answer.set_cookie(sessions.gone(SESSION_COOKIE))
    return answer


def form_refused(request: Request[Any, Any, Any], exc: FormRefused) -> Response[Any]:
    return Template(
        template_name="feil.html", status_code=403,
        context={"heading": "Skjemaet kunne ikke sendes", "text": [
            "Skjemaet var utløpt eller kom ikke fra Stafettlogg, så ingenting ble lagret.",
            "Gå tilbake, last siden på nytt og prøv igjen.",
        ]},
    )


class RoleRequired(HTTPException):
    """A page of another role: 403, with a page that says whose pages these are."""

    status_code = 403

    def __init__(self, whose: str) -> None:
        super().__init__(detail="forbidden")
        self.whose = whose


def role_required(request: Request[Any, Any, Any], exc: RoleRequired) -> Response[Any]:
    return Template(template_name="feil.html", status_code=403, context={
        "heading": "Du har ikke tilgang til denne siden", "text": [exc.whose],
    })


def require_role(viewer: Viewer, role: str, whose: str) -> Viewer:
    """The viewer, if they have `role`; else the 403 page saying `whose` pages these are."""
    if role not in viewer.member.roles:
        raise RoleRequired(whose)
    return viewer


EXCEPTION_HANDLERS = {SignInRequired: sign_in_redirect, FormRefused: form_refused,
                      RoleRequired: role_required}


# --- dependencies ------------------------------------------------------------------


async def provide_viewer(request: Request[Any, Any, Any], state: State, app: App
                         ) -> Viewer:
    sessions: Sessions = state["sessions"]
    session_id = request.cookies.get(SESSION_COOKIE)
    session = await sessions.current(session_id)
    path = request.url.path
    if session is None or session_id is None:
        raise SignInRequired(path if request.method == "GET" else "/")
    member = await off_loop(app.find_staff, session.staff_id)
    if member is None or not member.active:
        await sessions.end(session_id)
        raise SignInRequired("/", ended=True)
    note_user(request.scope, member.id)  # the staff id for the request's log line
    return Viewer(member=member, session_id=session_id, csrf=session.csrf)


async def provide_form(request: Request[Any, Any, Any], viewer: SignedIn) -> dict[str, str]:
    """The posted form, once its CSRF token is the session's."""
    form = await request.form()
    if not same_token(form.get(CSRF_FIELD), viewer.csrf):
        raise FormRefused()
    return {k: v for k, v in form.items() if isinstance(v, str)}


# --- the pages ---------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


async def _demo_people(app: Stafettlogg) -> list[dict[str, str]]:
    services = {s.id: s.name for s in await off_loop(app.list_services)}
    members = await off_loop(app.list_staff, active=True)
    people = [{
        "id": m.id, "name": m.name,
        "roles": ", ".join(ROLE_NAMES[r] for r in m.roles),
        "service": services.get(m.service or "", ""),
    } for m in members]
    return sorted(people, key=lambda p: (p["service"], p["name"]))


@get("/logg-inn", include_in_schema=False)
async def sign_in_page(request: Request[Any, Any, Any], state: State, app: App,
                       neste: FromQuery[str | None] = None, avsluttet: FromQuery[str | None] = None,
                       utlogget: FromQuery[str | None] = None) -> Response[Any]:
    sessions: Sessions = state["sessions"]
    attempt = LoginAttempt(csrf=new_secret(), next=safe_next(neste))
    attempt_id = await sessions.begin_login(attempt)
    demo = state.get("demo_sign_in", False)
    answer = Template(template_name="logg-inn.html", context={
        "oidc": state.get("oidc") is not None,
        "demo_people": await _demo_people(app) if demo else [],
        "csrf": attempt.csrf, "neste": attempt.next, "ended": bool(avsluttet),
        "signed_out": bool(utlogget),
    })
    answer.set_cookie(sessions.login_cookie(attempt_id))
    return answer


@post("/logg-inn/demo", include_in_schema=False, status_code=303)
async def demo_sign_in(request: Request[Any, Any, Any], state: State, app: App
                       ) -> Response[Any]:
    """One click on a demo person: signed in as them (only with `serve --demo`)."""
    if not state.get("demo_sign_in", False):
        raise HTTPException(status_code=404)
    sessions: Sessions = state["sessions"]
    form = await request.form()
    attempt_id = request.cookies.get(LOGIN_COOKIE)
    attempt = await sessions.login(attempt_id)
    if attempt is None or attempt_id is None or not same_token(form.get(CSRF_FIELD),
                                                               attempt.csrf):
        raise FormRefused()
    await sessions.finish_login(attempt_id)
    member = await off_loop(app.find_staff, str(form.get("staff_id", "")))
    if member is None or not member.active:
        return _no_access()
    return await _signed_in(request, sessions, member, "demo", attempt.next)


async def oidc_redirect(oidc: OidcClient, sessions: Sessions, next_path: str) -> Response[Any]:
    """Send the browser to the provider, with a login attempt of its own (state, nonce,
    PKCE verifier) behind a cookie."""
    try:
        url, oidc_state, nonce, verifier = await oidc.authorization_url()
    except Exception as exc:  # noqa: BLE001 - the provider does not answer
        log.warning("the OIDC provider's discovery failed: %s", type(exc).__name__)
        return _refused_page("Innloggingstjenesten svarer ikke akkurat nå. Prøv igjen om litt.",
                             status=503)
    attempt = LoginAttempt(csrf=new_secret(), next=next_path, state=oidc_state,
                           nonce=nonce, verifier=verifier)
    answer = Redirect(url, status_code=303)
    answer.set_cookie(sessions.login_cookie(await sessions.begin_login(attempt)))
    return answer


async def oidc_answer(request: Request[Any, Any, Any], state: State, client: str,
                      code: str | None, error: str | None
                      ) -> tuple[str, LoginAttempt] | Response[Any]:
    """The answer of the provider the app's state keeps as `client` (`oidc`, or
    `family_oidc`; 404 without one): the person's subject and the login attempt, or the
    page that says why not. An attempt is used once, whatever happens."""
    oidc: OidcClient | None = state.get(client)
    if oidc is None:
        raise HTTPException(status_code=404)
    sessions: Sessions = state["sessions"]
    attempt_id = request.cookies.get(LOGIN_COOKIE)
    attempt = await sessions.login(attempt_id)
    given_state = request.query_params.get("state")
    if attempt is None or attempt_id is None or attempt.state is None:
        return _refused_page("Innloggingen var utløpt. Prøv å logge inn på nytt.")
    await sessions.finish_login(attempt_id)
    if error is not None:
        return _refused_page("Innloggingen ble avbrutt. Du kan prøve på nytt.")
    if not same_token(given_state, attempt.state) or not code:
        log.warning("OIDC callback refused: state does not match")
        return _refused_page("Innloggingen kunne ikke bekreftes. Prøv å logge inn på nytt.")
    try:
        subject = await oidc.finish(code, attempt.verifier or "", attempt.nonce or "")
    except SignInRefused as exc:
        log.warning("OIDC sign-in refused: %s", exc)
        return _refused_page("Innloggingen kunne ikke bekreftes. Prøv å logge inn på nytt.")
    return subject, attempt


@get("/logg-inn/oidc", include_in_schema=False)
async def oidc_start(request: Request[Any, Any, Any], state: State,
                     neste: FromQuery[str | None] = None) -> Response[Any]:
    oidc: OidcClient | None = state.get("oidc")
    if oidc is None:
        raise HTTPException(status_code=404)
    return await oidc_redirect(oidc, state["sessions"], safe_next(neste))


@get("/logg-inn/oidc/svar", include_in_schema=False)
async def oidc_callback(
    request: Request[Any, Any, Any], state: State, app: App,
    code: FromQuery[str | None] = None, error: FromQuery[str | None] = None,
) -> Response[Any]:
    answer = await oidc_answer(request, state, "oidc", code, error)
    if isinstance(answer, Response):
        return answer
    subject, attempt = answer
    sessions: Sessions = state["sessions"]
    member = await off_loop(app.staff_by_login, subject)
    if member is None or not member.active:
        return _no_access()
    return await _signed_in(request, sessions, member, "oidc", attempt.next)


@post("/logg-ut", include_in_schema=False, status_code=303)
async def sign_out(request: Request[Any, Any, Any], state: State, viewer: SignedIn,
                   form: PostedForm) -> Response[Any]:
    sessions: Sessions = state["sessions"]
    await sessions.end(viewer.session_id)
    answer = Redirect("/logg-inn?utlogget=1", status_code=303)
    answer.set_cookie(sessions.gone(SESSION_COOKIE))
    return answer


async def _signed_in(request: Request[Any, Any, Any], sessions: Sessions, member: StaffMember,
                     via: str, next_path: str) -> Response[Any]:
    session_id, _ = await sessions.start(request.cookies.get(SESSION_COOKIE), member.id, via,
                                         _now())
    answer = Redirect(next_path if next_path != "/" else home_of(member), status_code=303)
    answer.set_cookie(sessions.session_cookie(session_id))
    answer.set_cookie(sessions.gone(LOGIN_COOKIE))
    return answer


def _no_access() -> Response[Any]:
    return Template(template_name="ingen-tilgang.html", status_code=403, context={})


def _refused_page(text: str, status: int = 400) -> Response[Any]:
    return Template(template_name="feil.html", status_code=status, context={
        "heading": "Innloggingen mislyktes", "text": [text]})


ROUTES = [sign_in_page, demo_sign_in, oidc_start, oidc_callback, sign_out]
