"""Sessions of the pages: who is signed in, and the forms' CSRF token.

A session is kept on the server (in a Litestar store under the data directory); the
browser holds only its id, in an HttpOnly, SameSite=Lax cookie (`Secure` when the
public URL is https). The store keeps a session under the SHA-256 of its id, so that
the store itself holds no id that would let anyone in.

* Signing in always makes a **new** session id (and ends the one the browser had),
  so that an id planted before sign-in is worth nothing after it.
* A session ends after `STAFETTLOGG_SESSION_IDLE_MINUTES` without a request (default
  30), at sign-out, and at the next request of a staff member who has been
  deactivated (web/pages/auth.py).
* Every form of a signed-in page carries the session's CSRF token; a form posted
  without it or with another one is refused before anything is recorded.
* Before sign-in, a *login attempt* holds what the sign-in needs to remember
  between the sign-in page and the provider's answer (OIDC `state`, `nonce` and the
  PKCE verifier, and the demo sign-in's CSRF token), for ten minutes, once.
* The staff survey's form (`/undersokelse`, pages/survey.py) has no sign-in: a
  *survey visit* holds only its CSRF token, for four hours, behind a cookie sent to
  `/undersokelse` only. It holds no code and nothing of who answers.
* A form whose answer cannot be shown again (the survey's codes) is taken once per
  form key (`first_use`): the store keeps the key's hash for a day.
"""

from __future__ import annotations

import hashlib
import os
import hmac
import secrets
from datetime import datetime

import msgspec
from litestar.datastructures import Cookie
from litestar.stores.base import Store
from litestar.stores.file import FileStore

SESSION_COOKIE = "stafettlogg_sesjon"
# A family member's session: its own cookie and its own keys in the store, so that it is
# never taken for a staff session.
FAMILY_COOKIE = "stafettlogg_familie"
LOGIN_COOKIE = "stafettlogg_innlogging"
LOGIN_SECONDS = 600
SURVEY_COOKIE = "stafettlogg_undersokelse"
SURVEY_SECONDS = 4 * 3600


class WebSession(msgspec.Struct, frozen=True):
    staff_id: str
    csrf: str
    signed_in_at: datetime
    via: str  # "oidc" or "demo"


class FamilySession(msgspec.Struct, frozen=True):
    """A guardian or young person signed in through ID-porten: only keyed hashes of their
    fødselsnummer (as a guardian, as a child), never the number."""

    guardian_login: str
    child_id: str | None
    csrf: str
    signed_in_at: datetime


class LoginAttempt(msgspec.Struct, frozen=True):
    csrf: str
    next: str = "/"
    state: str | None = None
    nonce: str | None = None
    verifier: str | None = None


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def _key(kind: str, session_id: str) -> str:
    return f"{kind}-{hashlib.sha256(session_id.encode()).hexdigest()}"


class Sessions:
    """Sessions and login attempts in a store, and their cookies."""

    def __init__(self, store: Store, *, idle_minutes: int, secure: bool) -> None:
        self.store = store
        self.idle_seconds = idle_minutes * 60
        self.secure = secure

    # Sessions ----------------------------------------------------------------------

    async def current(self, session_id: str | None) -> WebSession | None:
        """The session of this id, if it has not been idle too long; renews it."""
        if not session_id or len(session_id) > 100:
            return None
        raw = await self.store.get(_key("s", session_id), renew_for=self.idle_seconds)
        return None if raw is None else msgspec.json.decode(raw, type=WebSession)

    async def start(self, old_id: str | None, staff_id: str, via: str, at: datetime
                    ) -> tuple[str, WebSession]:
        """Sign in: a new id, whatever the browser had. (Sessions and login attempts
        that ran out are cleared from the store now and then: here.)"""
        if old_id:
            await self.end(old_id)
        if isinstance(self.store, FileStore) and os.path.isdir(str(self.store.path)):
            await self.store.delete_expired()
        session_id = new_secret()
        session = WebSession(staff_id=staff_id, csrf=new_secret(), signed_in_at=at, via=via)
        await self.store.set(_key("s", session_id), msgspec.json.encode(session),
                             expires_in=self.idle_seconds)
        return session_id, session

    async def end(self, session_id: str) -> None:
        await self.store.delete(_key("s", session_id))

    async def start_family(self, old_id: str | None, session: FamilySession) -> str:
        if old_id:
            await self.store.delete(_key("f", old_id))
        session_id = new_secret()
        await self.store.set(_key("f", session_id), msgspec.json.encode(session),
                             expires_in=self.idle_seconds)
        return session_id

    async def current_family(self, session_id: str | None) -> FamilySession | None:
        if not session_id or len(session_id) > 100:
            return None
        raw = await self.store.get(_key("f", session_id), renew_for=self.idle_seconds)
        return None if raw is None else msgspec.json.decode(raw, type=FamilySession)

    async def end_family(self, session_id: str) -> None:
        await self.store.delete(_key("f", session_id))

    # Login attempts ----------------------------------------------------------------

    async def begin_login(self, attempt: LoginAttempt) -> str:
        attempt_id = new_secret()
        await self.store.set(_key("l", attempt_id), msgspec.json.encode(attempt),
                             expires_in=LOGIN_SECONDS)
        return attempt_id

    async def login(self, attempt_id: str | None) -> LoginAttempt | None:
        if not attempt_id or len(attempt_id) > 100:
            return None
        raw = await self.store.get(_key("l", attempt_id))
        return None if raw is None else msgspec.json.decode(raw, type=LoginAttempt)

    async def finish_login(self, attempt_id: str) -> None:
        """A login attempt is used once."""
        await self.store.delete(_key("l", attempt_id))

    # Survey visits (no sign-in) ---------------------------------------------------

    async def begin_survey(self) -> tuple[str, str]:
        """A new survey visit: its id (for the cookie) and its CSRF token."""
        visit_id, csrf = new_secret(), new_secret()
        await self.store.set(_key("u", visit_id), csrf.encode(), expires_in=SURVEY_SECONDS)
        return visit_id, csrf

    async def survey_csrf(self, visit_id: str | None) -> str | None:
        """The CSRF token of a survey visit that has not run out."""
        if not visit_id or len(visit_id) > 100:
            return None
        raw = await self.store.get(_key("u", visit_id))
        return None if raw is None else raw.decode()

    async def first_use(self, form_key: str) -> bool:
        """Whether a form's key (a random one per form shown) is posted for the first
        time in a day; remembered as its hash. For a form whose answer cannot be given
        again (the survey's codes, shown once), so that a reload makes nothing new."""
        if not form_key or len(form_key) > 200:
            return False
        if await self.store.exists(_key("k", form_key)):
            return False
        await self.store.set(_key("k", form_key), b"1", expires_in=24 * 3600)
        return True

    # Cookies -----------------------------------------------------------------------

    def cookie(self, name: str, value: str, max_age: int) -> Cookie:
        return Cookie(key=name, value=value, path="/", httponly=True, samesite="lax",
                      secure=self.secure, max_age=max_age)

    def session_cookie(self, session_id: str) -> Cookie:
        # No max-age: a browser session cookie; the server ends it when idle.
        return Cookie(key=SESSION_COOKIE, value=session_id, path="/", httponly=True,
                      samesite="lax", secure=self.secure)

    def family_cookie(self, session_id: str) -> Cookie:
        return Cookie(key=FAMILY_COOKIE, value=session_id, path="/familie", httponly=True,
                      samesite="lax", secure=self.secure)

    def gone_family(self) -> Cookie:
        return Cookie(key=FAMILY_COOKIE, value="", path="/familie", httponly=True,
                      samesite="lax", secure=self.secure, max_age=0)

    def survey_cookie(self, visit_id: str) -> Cookie:
        return Cookie(key=SURVEY_COOKIE, value=visit_id, path="/undersokelse", httponly=True,
                      samesite="lax", secure=self.secure, max_age=SURVEY_SECONDS)

    def login_cookie(self, attempt_id: str) -> Cookie:
        return self.cookie(LOGIN_COOKIE, attempt_id, LOGIN_SECONDS)

    def gone(self, name: str) -> Cookie:
        return self.cookie(name, "", 0)
