"""Signing in to the pages, as the security review would try it: against a real OIDC
provider on 127.0.0.1 (oidc-provider-mock), and against one that hands out ID tokens
that must be refused; a real server process; a plain HTTP client as the browser.

What a person would notice: they get in only as the staff member their login belongs
to; a spoiled answer from the provider signs nobody in; a form posted without the
session's token records nothing; signing out or being deactivated ends the session.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import ADMIN
from tests.web.providers import HostileProvider
from tests.web.servers import Server, signing_in_with

SESSION = "stafettlogg_sesjon"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[Server]:
    with signing_in_with(tmp_path_factory.mktemp("signin"), provider) as running:
        yield running


@pytest.fixture
def browser(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as c:
        yield c


def sign_in(browser: httpx.Client, subject: str) -> httpx.Response:
    """Through the provider's sign-in page, as a person would; the callback's answer."""
    to_provider = browser.get("/logg-inn/oidc")
    assert to_provider.status_code == 303
    authorize = to_provider.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["response_type"] == ["code"]
    with httpx.Client(timeout=10) as outside:  # the provider's own pages
        assert outside.get(authorize).status_code == 200
        back = outside.post(authorize, data={"sub": subject})
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    assert callback.startswith(str(browser.base_url).rstrip("/") + "/logg-inn/oidc/svar")
    return browser.get(callback)


def csrf_of(page: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF token"
    return found[1]


def test_a_staff_member_signs_in_and_gets_a_new_session_id(browser: httpx.Client,
                                                            server: Server):
    answer = sign_in(browser, "kari-sub")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/saker"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    first = browser.cookies.get(SESSION)
    mine = browser.get("/saker")
    assert mine.status_code == 200
    assert "Kari Nordmann" in mine.text and "Mine saker" in mine.text
    # Signing in again (say, after someone else used the browser) gives a new id, and
    # the old one no longer opens anything.
    sign_in(browser, "kari-sub")
    second = browser.cookies.get(SESSION)
    assert second and second != first
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as old:
        old.cookies.set(SESSION, first)
        assert old.get("/saker").status_code == 303


def test_someone_with_no_staff_record_gets_a_plain_page_and_no_access(browser: httpx.Client):
    answer = sign_in(browser, "ukjent-person")
    assert answer.status_code == 403
    assert "ikke tilgang til Stafettlogg" in answer.text
    assert browser.cookies.get(SESSION) is None
    assert browser.get("/saker").status_code == 303  # to the sign-in page


def test_a_callback_with_another_state_signs_nobody_in(browser: httpx.Client):
    to_provider = browser.get("/logg-inn/oidc")
    authorize = to_provider.headers["location"]
    with httpx.Client(timeout=10) as outside:
        callback = outside.post(authorize, data={"sub": "kari-sub"}).headers["location"]
    spoiled = re.sub(r"state=[^&]+", "state=forfalsket", callback)
    answer = browser.get(spoiled)
    assert answer.status_code == 400
    assert "Innloggingen kunne ikke bekreftes" in answer.text
    assert browser.cookies.get(SESSION) is None
    # The sign-in attempt is used up: the real answer no longer works either.
    assert browser.get(callback).status_code == 400
    assert browser.cookies.get(SESSION) is None


def test_a_form_without_the_session_token_records_nothing(browser: httpx.Client):
    sign_in(browser, "kari-sub")
    new_case = browser.get("/saker/ny")
    token = csrf_of(new_case.text)
    fields = {"child.name": "Ola Nordmann", "child.birth_date": "2019-05-04",
              "concern": "Ola virker urolig."}
    for bad in ({}, {"_csrf": "feil"}):
        refused = browser.post("/saker/ny", data={**fields, **bad})
        assert refused.status_code == 403
        assert "ingenting ble lagret" in refused.text
    assert "Ola Nordmann" not in browser.get("/saker").text
    made = browser.post("/saker/ny", data={**fields, "_csrf": token})
    assert made.status_code == 303
    assert "Ola Nordmann" in browser.get("/saker").text


def test_signing_out_ends_the_session(browser: httpx.Client):
    sign_in(browser, "per-sub")
    session = browser.cookies.get(SESSION)
    page = browser.get("/saker")
    out = browser.post("/logg-ut", data={"_csrf": csrf_of(page.text)})
    assert out.status_code == 303
    # Even with the old cookie put back, the session is gone on the server.
    browser.cookies.set(SESSION, session)
    again = browser.get("/saker")
    assert again.status_code == 303 and again.headers["location"].startswith("/logg-inn")


def test_a_deactivated_staff_member_is_signed_out_at_the_next_request(
        browser: httpx.Client, server: Server):
    sign_in(browser, "per-sub")
    assert browser.get("/saker").status_code == 200
    app = server.app()
    try:
        app.change_staff(ADMIN, "per", active=False)
        gone = browser.get("/saker")
        assert gone.status_code == 303
        assert "avsluttet" in gone.headers["location"]
        assert browser.get("/saker").status_code == 303
    finally:
        app.change_staff(ADMIN, "per", active=True)
        app.close()


def test_no_demo_sign_in_in_a_normal_start(browser: httpx.Client):
    page = browser.get("/logg-inn")
    assert page.status_code == 200
    assert "Demo" not in page.text
    assert browser.post("/logg-inn/demo", data={"staff_id": "kari"}).status_code == 404
    assert browser.cookies.get(SESSION) is None


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HostileProvider, Server]]:
    with HostileProvider() as provider:
        with signing_in_with(tmp_path_factory.mktemp("hostile"), provider.issuer) as server:
            yield provider, server


@pytest.mark.parametrize("mode", ["other-key", "expired", "wrong-audience", "wrong-nonce",
                                  "wrong-issuer"])
def test_the_callback_refuses_an_id_token_that_does_not_check_out(hostile, mode):
    provider, server = hostile
    provider.mode = mode
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as browser:
        authorize = browser.get("/logg-inn/oidc").headers["location"]
        callback = httpx.get(authorize, follow_redirects=False).headers["location"]
        answer = browser.get(callback)
        assert answer.status_code == 400, mode
        assert "Innloggingen kunne ikke bekreftes" in answer.text
        assert browser.cookies.get(SESSION) is None
        assert browser.get("/saker").status_code == 303
    assert "OIDC sign-in refused" in server.output()


def test_the_same_provider_signs_in_with_a_good_token(hostile):
    """The refusals above are the token's fault: a good one from the same provider works."""
    provider, server = hostile
    provider.mode = "good"
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as browser:
        authorize = browser.get("/logg-inn/oidc").headers["location"]
        callback = httpx.get(authorize, follow_redirects=False).headers["location"]
        assert browser.get(callback).status_code == 303
        assert browser.get("/saker").status_code == 200
