"""How the API refuses: bad input, stale ETags, repeated requests, races, rate limits,
bad tokens and unexpected failures.

A refusal is RFC 9457 problem details that say what was wrong, carry nothing secret,
and leave the store exactly as it was: no event of the case, no line in its access
log, no idempotency record. "Recorded" below is read straight from the event store,
because reading the case over HTTP would itself add a line to the access log.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from uuid import UUID

import jwt
import pytest
from httpx import ASGITransport, AsyncClient, Response
from litestar.testing import AsyncTestClient

from domain.access_log import access_log_id
from stafettlogg.web.app import create_app
from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from tests.api.conftest import NOW, Users
from tests.conftest import KARI, Backend, register_services, settings_for

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
CHILD_NAME = "Ola Nordmann"
NATIONAL_ID = "02013299997"  # valid (Skatteetaten's test vector)
WRONG_NATIONAL_ID = "02013299998"  # the same with a wrong check digit
OPEN_CASE = {
    "child": {"name": CHILD_NAME, "birth_date": "2019-05-04", "national_id": NATIONAL_ID},
    "concern": "Ola virker urolig og trist.",
}
LEAKS = ("Traceback", 'File "', CHILD_NAME, NATIONAL_ID, WRONG_NATIONAL_ID, "SELECT", "INSERT",
         "secret-detail")


class Recorded(NamedTuple):
    """What the store holds: every notification, and the case's version, log and access log."""

    notifications: int
    version: int
    log: int
    access_log: int


def recorded(app: Stafettlogg, case_id: str) -> Recorded:
    access_lines = [
        e for e in app.events.get(access_log_id(UUID(case_id)))
        if type(e).__name__ == "AccessRecorded"
    ]
    return Recorded(
        notifications=app.recorder.max_notification_id() or 0,
        version=app.get_case(UUID(case_id)).version,
        log=len(app.case_log(UUID(case_id))),
        access_log=len(access_lines),
    )


def case_path(case_id: str, *parts: str) -> str:
    return "/".join([f"{API}/cases/{case_id}", *parts])


def target(what: str, case_id: str) -> str:
    """An absolute path as it is; anything else is a path under the case."""
    if what.startswith("/"):
        return what
    return case_path(case_id, what) if what else case_path(case_id)


def assert_problem(response: Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["status"] == status
    assert problem["type"] and problem["title"] and problem["detail"]
    if code is not None:
        assert problem.get("code") == code, problem
    for leak in LEAKS:
        assert leak not in response.text, f"the answer carries {leak!r}: {response.text}"
    return problem


async def send(as_user: Any, user: str | None, method: str, path: str, body: Any = None,
               **headers: str) -> Response:
    """`body` is JSON, or bytes sent as they are (as application/json)."""
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json", **headers}
        return await as_user(user, method, path, content=body, headers=headers)
    kwargs = {} if body is None else {"json": body}
    return await as_user(user, method, path, headers=headers, **kwargs)


def idempotency_key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def if_match(etag: str) -> dict[str, str]:
    return {"If-Match": etag}


def settings_in(data_dir: Path, **extra: str) -> Settings:
    """Settings on the running test's backend (see `backend` in tests/conftest.py)."""
    return settings_for(data_dir, **{"STAFETTLOGG_RATE_LIMIT_PER_MINUTE": "100000", **extra})


@asynccontextmanager
async def serving(app: Stafettlogg) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(app=app)) as client:
        yield client


@pytest.fixture
async def at_once(client: AsyncTestClient, users: Users) -> AsyncIterator[Any]:
    """Like `as_user`, but requests really run at the same time.

    Litestar's AsyncTestClient hands each request to a blocking portal, so requests
    sent with asyncio.gather through it run one after the other. httpx's ASGI
    transport runs the same (started) app on this event loop instead."""
    transport = ASGITransport(app=client.app)
    async with AsyncClient(transport=transport, base_url="http://testserver") as concurrent:

        async def call(user: str, method: str, path: str, body: Any = None,
                       headers: dict[str, str] | None = None) -> Response:
            kwargs = {} if body is None else {"json": body}
            return await concurrent.request(
                method, path, headers={**users.headers(user), **(headers or {})}, **kwargs
            )

        yield call


@pytest.fixture
async def case_id(as_user: Any) -> str:
    """Kari's case about Ola, with a consent for the school."""
    response = await send(as_user, "kari", "POST", f"{API}/cases", OPEN_CASE)
    assert response.status_code == 201, response.text
    case = response.json()["id"]
    consent = await send(as_user, "kari", "POST", case_path(case, "consents"), {
        "given_by": "guardian", "services": ["hauge-skole"], "purpose": "Overgang til skolen",
        "valid_until": "2026-12-31", "form": "written",
    })
    assert consent.status_code == 201, consent.text
    return str(case)


# --- Bad input ------------------------------------------------------------------------


class Bad(NamedTuple):
    method: str
    path: str  # relative to the case, or absolute when it starts with /
    body: Any
    field: str
    rule: str  # a piece of the (Norwegian) message that says which rule was broken


DEEP = b"[" * 1000 + b"]" * 1000  # 2,000 bytes, deeper than any decoder goes

BAD_INPUT: dict[str, Bad] = {
    "missing field": Bad("POST", "level", {"reason": "Videre."}, "level", "mangler (påkrevd)"),
    "missing nested field": Bad("POST", f"{API}/cases", {"child": {}, "concern": "Uro."},
                                "child.name", "mangler (påkrevd)"),
    "wrong type": Bad("POST", "entries", {"kind": "note", "text": 5}, "text", "må være tekst"),
    # A field named like something the handler is given (a dependency) is still the
    # caller's mistake, not the server's.
    "level-0 step of the wrong type": Bad("POST", "level0-steps", {"step": 5, "text": "Steg."},
                                          "step", "må være en av: vurdering, konkretisering"),
    "string for a list": Bad("POST", "meetings", {
        "held_on": "2026-03-01", "services": "hauge-skole", "minutes": "Møte."},
        "services", "må være en liste"),
    "level 7": Bad("POST", "level", {"level": 7, "reason": "Høyt."}, "level", "må være høyst 3"),
    "score 0": Bad("POST", "satisfaction", {"respondent": "guardian", "score": 0}, "score",
                   "må være minst 1"),
    "unknown field": Bad("POST", "entries", {"kind": "note", "text": "Notat.", "mood": "sad"},
                         "mood", "er ikke et kjent felt"),
    "unknown entry kind": Bad("POST", "entries", {"kind": "gossip", "text": "Sladder."},
                              "kind", "må være en av: observation, conversation, note"),
    "bad date": Bad("POST", "meetings", {
        "held_on": "2026-02-30", "services": ["hauge-skole"], "minutes": "Møte."},
        "held_on", "må være en dato (åååå-mm-dd)"),
    "date not ISO": Bad("POST", "consents", {
        "given_by": "guardian", "services": ["hauge-skole"], "purpose": "Samarbeid",
        "valid_until": "31.12.2026", "form": "oral"}, "valid_until",
        "må være en dato (åååå-mm-dd)"),
    "meeting in the future": Bad("POST", "meetings", {
        "held_on": "2026-03-03", "services": ["hauge-skole"], "minutes": "Møte."},
        "held_on", "holdt"),
    "unregistered service": Bad("POST", "consents", {
        "given_by": "guardian", "services": ["finnes-ikke"], "purpose": "Samarbeid",
        "valid_until": "2026-12-31", "form": "oral"}, "services", "registrert"),
    "service id with spaces": Bad("POST", "handovers", {
        "to_user": "per", "to_service": "Hauge Skole"}, "to_service", "må være en tjeneste-id"),
    "blank text": Bad("POST", "entries", {"kind": "note", "text": "   "}, "text", "fylles ut"),
    "invalid sector": Bad("POST", f"{API}/services", {
        "id": "kirken", "name": "Kirken", "sector": "kirke", "municipalities": ["4225"]},
        "sector", "må være en av: barnehage, skole"),
    "invalid national id": Bad("POST", f"{API}/cases", {
        "child": {"name": "Kari Nordmann", "national_id": WRONG_NATIONAL_ID}, "concern": "Uro."},
        "child.national_id", "ødselsnummer"),
    "birth date in the future": Bad("POST", f"{API}/cases", {
        "child": {"name": "Per Nordmann", "birth_date": "2027-01-01"}, "concern": "Uro."},
        "child.birth_date", "fram i tid"),
    "malformed JSON": Bad("POST", "entries", b'{kind: note}', "body", "JSON"),
    "a body nested 1,000 deep": Bad("POST", "entries", DEEP, "body", "nestet for dypt"),
    "a case nested 1,000 deep": Bad("POST", f"{API}/cases", DEEP, "body", "nestet for dypt"),
    "a service nested 1,000 deep": Bad("POST", f"{API}/services", DEEP, "body",
                                       "nestet for dypt"),
    "truncated JSON": Bad("POST", "entries", b'{"kind": "note", "text": ', "body", "ufullstendig"),
    "empty body": Bad("POST", "entries", b"", "body", "mangler"),
    "query level 7": Bad("GET", f"{API}/cases?level=7", None, "level", "må være høyst 3"),
    "query limit 0": Bad("GET", f"{API}/cases?limit=0", None, "limit", "må være minst 1"),
    "query unknown status": Bad("GET", f"{API}/cases?status=maybe", None, "status",
                                "må være en av: open, closed"),
    "query bad cursor": Bad("GET", f"{API}/cases?cursor=abc", None, "cursor",
                            "«next» fra forrige side"),
}

@pytest.mark.parametrize("name", list(BAD_INPUT))
async def test_bad_input_is_a_400_that_says_what_is_wrong_and_records_nothing(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, name: str,
) -> None:
    bad = BAD_INPUT[name]
    before = recorded(stafettlogg, case_id)

    response = await send(as_user, "kari", bad.method, target(bad.path, case_id), bad.body)

    assert recorded(stafettlogg, case_id) == before
    problem = assert_problem(response, 400)
    if bad.field != "body":
        assert bad.field.rpartition(".")[2] in problem["detail"], problem
    assert bad.rule in problem["detail"], problem
    # Each field error names the field itself, for a client to put the message by it.
    assert bad.field in [e["field"] for e in problem.get("errors") or []], problem
    # For people, in Norwegian: neither msgspec's English nor a regular expression,
    # nor the value that was sent.
    for english in ("Expected", "regex", "Invalid", "Object ", "^"):
        assert english not in response.text, problem
    for sent in ("gossip", "maybe", "kirke", "Hauge Skole", "31.12.2026"):
        assert sent not in response.text, problem


@pytest.mark.parametrize(("what", "body"), [
    ("level", {"level": "1", "reason": "Tiltak."}),
    ("satisfaction", {"respondent": "guardian", "score": "5"}),
    ("satisfaction", {"respondent": "guardian", "score": 4.0}),
])
async def test_a_number_sent_as_a_string_is_refused(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, what: str, body: dict[str, Any],
) -> None:
    await send(as_user, "kari", "POST", case_path(case_id, "level0-steps"),
               {"step": "beslutning", "text": "Videre til nivå 1."})
    before = recorded(stafettlogg, case_id)

    response = await send(as_user, "kari", "POST", case_path(case_id, what), body)

    assert_problem(response, 400)
    assert recorded(stafettlogg, case_id) == before


# --- If-Match ----------------------------------------------------------------------


CHANGES = [
    ("POST", "entries", {"kind": "note", "text": "Notat."}, 201),
    ("POST", "participants", {"service": "hauge-skole"}, 201),
    ("POST", "individual-plan", None, 200),
    ("POST", "handovers", {"to_user": "per", "to_service": "hauge-skole"}, 201),
]


@pytest.mark.parametrize(("method", "what", "body", "status"), CHANGES,
                         ids=[c[1] for c in CHANGES])
async def test_a_stale_etag_is_refused_with_412_and_the_current_one_succeeds(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, method: str, what: str, body: Any,
    status: int,
) -> None:
    read = await send(as_user, "kari", "GET", case_path(case_id))
    stale = read.headers["etag"]
    other = await send(as_user, "kari", "POST", case_path(case_id, "entries"),
                       {"kind": "note", "text": "Noen andre skrev i mellomtiden."})
    assert other.status_code == 201
    before = recorded(stafettlogg, case_id)

    refused = await send(as_user, "kari", method, case_path(case_id, what), body,
                         **if_match(stale))

    assert_problem(refused, 412)
    assert recorded(stafettlogg, case_id) == before

    current = (await send(as_user, "kari", "GET", case_path(case_id))).headers["etag"]
    assert current != stale
    accepted = await send(as_user, "kari", method, case_path(case_id, what), body,
                          **if_match(current))
    assert accepted.status_code == status, accepted.text
    assert recorded(stafettlogg, case_id).version > before.version


async def test_if_match_star_and_a_weak_etag_match_the_current_version(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str,
) -> None:
    path = case_path(case_id, "entries")
    star = await send(as_user, "kari", "POST", path, {"kind": "note", "text": "En."},
                      **if_match("*"))
    assert star.status_code == 201, star.text

    weak = await send(as_user, "kari", "POST", path, {"kind": "note", "text": "To."},
                      **if_match(f"W/{star.headers['etag']}"))
    assert weak.status_code == 201, weak.text
    assert recorded(stafettlogg, case_id).version == star.json()["version"] + 1


async def test_an_etag_that_is_not_one_is_refused(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str,
) -> None:
    before = recorded(stafettlogg, case_id)

    response = await send(as_user, "kari", "POST", case_path(case_id, "entries"),
                          {"kind": "note", "text": "Notat."}, **if_match("yesterday"))

    assert response.status_code in (400, 412)
    assert_problem(response, response.status_code)
    assert recorded(stafettlogg, case_id) == before


# --- Idempotency-Key ------------------------------------------------------------------


REPEATABLE = {
    "entry": ("POST", "entries", {"kind": "observation", "text": "Sitter alene."}, 201),
    "level-0 step": ("POST", "level0-steps", {"step": "vurdering", "text": "Vi undrer oss."}, 201),
    "consent": ("POST", "consents", {
        "given_by": "guardian", "services": ["ppt-lister"], "purpose": "Utredning",
        "valid_until": "2026-12-31", "form": "oral"}, 201),
    "participant": ("POST", "participants", {"service": "hauge-skole"}, 201),
    "handover": ("POST", "handovers", {"to_user": "per", "to_service": "hauge-skole"}, 201),
    "individual plan": ("POST", "individual-plan", None, 200),
    "open case": ("POST", f"{API}/cases", {
        "child": {"name": "Lise Nordmann", "birth_date": "2015-01-01"}, "concern": "Fravær."}, 201),
}


@pytest.mark.parametrize("name", list(REPEATABLE))
async def test_a_repeat_with_the_same_key_returns_the_first_answer_and_records_nothing(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, name: str,
) -> None:
    method, what, body, status = REPEATABLE[name]
    path = target(what, case_id)
    first = await send(as_user, "kari", method, path, body, **idempotency_key("k-1"))
    assert first.status_code == status, first.text
    before = recorded(stafettlogg, case_id)

    again = await send(as_user, "kari", method, path, body, **idempotency_key("k-1"))

    assert again.status_code == first.status_code
    assert again.json() == first.json()
    assert again.headers.get("etag") == first.headers.get("etag")
    assert recorded(stafettlogg, case_id) == before


@pytest.mark.parametrize("name", list(REPEATABLE))
async def test_a_replayed_answer_says_so(as_user: Any, case_id: str, name: str) -> None:
    method, what, body, status = REPEATABLE[name]
    path = target(what, case_id)
    first = await send(as_user, "kari", method, path, body, **idempotency_key("k-1"))
    assert "idempotent-replayed" not in first.headers

    again = await send(as_user, "kari", method, path, body, **idempotency_key("k-1"))

    assert again.status_code == status
    assert again.headers.get("idempotent-replayed") == "true"


async def test_a_repeated_service_registration_returns_the_first_answer(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str,
) -> None:
    service = {"id": "nav-lyngdal", "name": "NAV Lyngdal", "sector": "nav",
               "municipalities": ["4225"]}
    first = await send(as_user, "adam", "POST", f"{API}/services", service,
                       **idempotency_key("svc-1"))
    assert first.status_code == 201, first.text
    before = recorded(stafettlogg, case_id)

    again = await send(as_user, "adam", "POST", f"{API}/services", service,
                       **idempotency_key("svc-1"))

    assert (again.status_code, again.json()) == (201, first.json())
    assert recorded(stafettlogg, case_id) == before


async def test_a_replayed_service_registration_says_so(as_user: Any) -> None:
    service = {"id": "nav-lyngdal", "name": "NAV Lyngdal", "sector": "nav",
               "municipalities": ["4225"]}
    await send(as_user, "adam", "POST", f"{API}/services", service, **idempotency_key("svc-2"))

    again = await send(as_user, "adam", "POST", f"{API}/services", service,
                       **idempotency_key("svc-2"))

    assert again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"


@pytest.mark.parametrize(("method", "what", "body"), [
    ("POST", "entries", {"kind": "observation", "text": "Noe annet."}),
    ("POST", "level0-steps", {"step": "vurdering", "text": "Sitter alene."}),
    ("POST", f"{API}/cases", OPEN_CASE),
], ids=["other body", "other endpoint", "open case"])
async def test_the_same_key_with_another_request_is_422_and_records_nothing(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, method: str, what: str, body: Any,
) -> None:
    first = await send(as_user, "kari", "POST", case_path(case_id, "entries"),
                       {"kind": "observation", "text": "Sitter alene."},
                       **idempotency_key("k-2"))
    assert first.status_code == 201
    before = recorded(stafettlogg, case_id)

    reused = await send(as_user, "kari", method, target(what, case_id), body,
                        **idempotency_key("k-2"))

    assert_problem(reused, 422, "idempotency-key-reused")
    assert recorded(stafettlogg, case_id) == before


async def test_two_users_may_pick_the_same_key(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str,
) -> None:
    await send(as_user, "kari", "POST", case_path(case_id, "participants"),
               {"service": "hauge-skole"})
    body = {"kind": "note", "text": "Samme tekst."}
    path = case_path(case_id, "entries")

    karis = await send(as_user, "kari", "POST", path, body, **idempotency_key("same"))
    pers = await send(as_user, "per", "POST", path, body, **idempotency_key("same"))

    assert (karis.status_code, pers.status_code) == (201, 201)
    assert karis.json()["id"] != pers.json()["id"]
    assert "idempotent-replayed" not in pers.headers


async def test_keys_are_remembered_across_a_restart(tmp_path: Path, backend: Backend) -> None:
    settings = settings_in(tmp_path / "var")
    body = {"kind": "observation", "text": "Sitter alene."}
    key = idempotency_key("before-restart")

    first_app = Stafettlogg(settings, clock=lambda: NOW)
    try:
        register_services(first_app)
        users = Users(first_app)
        async with serving(first_app) as client:
            opened = await client.post(f"{API}/cases", json=OPEN_CASE,
                                       headers=users.headers("kari"))
            case_id = opened.json()["id"]
            path = case_path(case_id, "entries")
            first = await client.post(path, json=body, headers=users.headers("kari", **key))
            assert first.status_code == 201, first.text
    finally:
        first_app.close()

    second_app = Stafettlogg(settings, clock=lambda: NOW)
    try:
        users = Users(second_app)
        before = recorded(second_app, case_id)
        async with serving(second_app) as client:
            again = await client.post(path, json=body, headers=users.headers("kari", **key))
            reused = await client.post(path, json={**body, "text": "Noe annet."},
                                       headers=users.headers("kari", **key))
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers.get("idempotent-replayed") == "true"
        assert_problem(reused, 422, "idempotency-key-reused")
        assert recorded(second_app, case_id) == before
    finally:
        second_app.close()


# --- Concurrency ---------------------------------------------------------------------


class Overlap:
    """Counts how many calls of an application method run at the same time."""

    def __init__(self, app: Stafettlogg, name: str, monkeypatch: pytest.MonkeyPatch,
                 pause: float = 0.0) -> None:
        self.pause = pause  # seconds each call waits first, so that the others catch up
        self.running = 0
        self.most = 0
        self._lock = threading.Lock()
        original = getattr(app, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.running += 1
                self.most = max(self.most, self.running)
            try:
                time.sleep(self.pause)
                return original(*args, **kwargs)
            finally:
                with self._lock:
                    self.running -= 1

        monkeypatch.setattr(app, name, counted)


async def _request_handover(as_user: Any, case_id: str) -> str:
    response = await send(as_user, "kari", "POST", case_path(case_id, "handovers"),
                          {"to_user": "per", "to_service": "hauge-skole"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def accepted_handovers(app: Stafettlogg, case_id: str) -> int:
    return sum(e.kind == "handover-accepted" for e in app.case_log(UUID(case_id)))


async def test_many_writes_at_once_are_all_recorded_exactly_once(
    at_once: Any, stafettlogg: Stafettlogg, case_id: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = recorded(stafettlogg, case_id)
    texts = [f"Observasjon nummer {n}." for n in range(20)]
    overlap = Overlap(stafettlogg, "add_entry", monkeypatch, pause=0.005)

    responses = await asyncio.gather(*[
        at_once("kari", "POST", case_path(case_id, "entries"), {"kind": "note", "text": t})
        for t in texts
    ])

    assert overlap.most > 1, "the requests did not run at the same time"
    assert [r.status_code for r in responses] == [201] * 20, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 20
    logged = [e.text for e in stafettlogg.case_log(UUID(case_id)) if e.kind == "note"]
    assert sorted(logged) == sorted(texts)
    after = recorded(stafettlogg, case_id)
    assert after.version == before.version + 20
    assert after.access_log == before.access_log + 20


async def test_a_write_that_keeps_losing_the_race_is_retried_while_it_is_still_valid(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten colleagues save, one after another, just before Kari's entry is saved."""
    original_save = stafettlogg.uow.save
    colleagues: list[str] = []
    inside = threading.local()

    def someone_saves_first(*aggregates: Any) -> None:
        if not getattr(inside, "colleague", False) and len(colleagues) < 10:
            inside.colleague = True
            try:
                text = f"Kollega {len(colleagues)}."
                stafettlogg.add_entry(KARI, UUID(case_id), kind="note", text=text)
                colleagues.append(text)
            finally:
                inside.colleague = False
        original_save(*aggregates)

    monkeypatch.setattr(stafettlogg.uow, "save", someone_saves_first)

    response = await send(as_user, "kari", "POST", case_path(case_id, "entries"),
                          {"kind": "note", "text": "Karis notat."})

    assert response.status_code == 201, response.text
    notes = [e.text for e in stafettlogg.case_log(UUID(case_id)) if e.kind == "note"]
    assert sorted(notes) == sorted([*colleagues, "Karis notat."])


async def test_the_recipient_accepting_twice_at_once_takes_the_baton_once(
    as_user: Any, at_once: Any, stafettlogg: Stafettlogg, case_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handover = await _request_handover(as_user, case_id)
    accept = case_path(case_id, f"handovers/{handover}/accept")
    overlap = Overlap(stafettlogg, "accept_handover", monkeypatch, pause=0.05)

    responses = await asyncio.gather(*[at_once("per", "POST", accept) for _ in range(2)])

    assert overlap.most == 2, "the two requests did not run at the same time"
    assert sorted(r.status_code for r in responses) == [200, 409]
    refused = next(r for r in responses if r.status_code == 409)
    assert_problem(refused, 409, "no-pending-handover")
    assert accepted_handovers(stafettlogg, case_id) == 1


async def test_the_same_accept_sent_twice_at_once_gets_the_first_answer_twice(
    as_user: Any, at_once: Any, stafettlogg: Stafettlogg, case_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handover = await _request_handover(as_user, case_id)
    accept = case_path(case_id, f"handovers/{handover}/accept")
    key = idempotency_key("accept-1")
    overlap = Overlap(stafettlogg, "accept_handover", monkeypatch, pause=0.05)

    responses = await asyncio.gather(*[at_once("per", "POST", accept, headers=key)
                                       for _ in range(2)])

    assert overlap.most == 2, "the two requests did not run at the same time"
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert responses[0].json() == responses[1].json()
    assert accepted_handovers(stafettlogg, case_id) == 1


async def test_a_repeat_that_arrives_while_the_first_is_saved_is_replayed(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The first try of a request is saved by another server process just after this
    one has looked for its key: the repeat must be answered with the first answer."""
    handover = await _request_handover(as_user, case_id)
    accept = case_path(case_id, f"handovers/{handover}/accept")
    key = idempotency_key("accept-2")
    other_process = Stafettlogg(stafettlogg.settings, clock=lambda: NOW)
    original = stafettlogg._replay
    calls: list[int] = []

    def the_other_process_saves_meanwhile(actor: Any, idempotency: Any) -> Any:
        record = original(actor, idempotency)
        calls.append(1)
        if len(calls) == 1:
            other_process.accept_handover(
                actor, UUID(case_id), UUID(handover), idempotency=idempotency
            )
        return record

    monkeypatch.setattr(stafettlogg, "_replay", the_other_process_saves_meanwhile)
    try:
        response = await send(as_user, "per", "POST", accept, None, **key)
    finally:
        other_process.close()

    assert response.status_code == 200, response.text
    assert response.headers.get("idempotent-replayed") == "true"
    assert response.json()["holder"]["user"] == "per"
    assert accepted_handovers(stafettlogg, case_id) == 1


# --- Rate limiting -------------------------------------------------------------------


async def test_the_api_answers_429_after_the_limit_while_health_still_answers(
    tmp_path: Path,
) -> None:
    app = Stafettlogg(settings_in(tmp_path / "var", STAFETTLOGG_RATE_LIMIT_PER_MINUTE="5"),
                      clock=lambda: NOW)
    try:
        headers = Users(app).headers("kari")
        async with serving(app) as client:
            allowed = [await client.get(f"{API}/services", headers=headers) for _ in range(5)]
            limited = await client.get(f"{API}/services", headers=headers)
            limited_write = await client.post(f"{API}/cases", json=OPEN_CASE, headers=headers)
            health = [await client.get("/health") for _ in range(3)]
    finally:
        app.close()

    assert [r.status_code for r in allowed] == [200] * 5
    assert_problem(limited, 429)
    assert_problem(limited_write, 429)
    assert [r.status_code for r in health] == [200] * 3


# --- No leaks ----------------------------------------------------------------------


async def test_no_answer_may_be_sniffed_and_no_api_answer_may_be_stored(
    as_user: Any, case_id: str,
) -> None:
    """A browser takes every answer for what it says it is; answers of the API hold
    personal data, so no browser or proxy keeps them, refusals included."""
    api = {
        "the case": await send(as_user, "kari", "GET", case_path(case_id)),
        "its log": await send(as_user, "kari", "GET", case_path(case_id, "log")),
        "its access log": await send(as_user, "kari", "GET", case_path(case_id, "access-log")),
        "the case list": await send(as_user, "kari", "GET", f"{API}/cases"),
        "the inbox": await send(as_user, "kari", "GET", f"{API}/inbox"),
        "a new entry": await send(as_user, "kari", "POST", case_path(case_id, "entries"),
                                  {"kind": "note", "text": "Notat."}),
        "bad input": await send(as_user, "kari", "POST", case_path(case_id, "entries"), DEEP),
        "a case not seen": await send(as_user, "ola", "GET", case_path(case_id)),
        "no token": await send(as_user, None, "GET", f"{API}/cases"),
    }
    outside = {"health": await send(as_user, None, "GET", "/health"),
               "an unknown path": await send(as_user, None, "GET", "/finnes-ikke")}

    assert [r.status_code for r in api.values()] == [200, 200, 200, 200, 200, 201, 400, 404, 401]
    for name, response in {**api, **outside}.items():
        assert response.headers.get("x-content-type-options") == "nosniff", name
    for name, response in api.items():
        assert response.headers.get("cache-control") == "no-store", name


async def test_no_refusal_carries_a_trace_a_query_a_token_or_the_childs_data(
    as_user: Any, users: Users, case_id: str,
) -> None:
    handover = await _request_handover(as_user, case_id)
    answers = [
        await send(as_user, "pia", "GET", case_path(case_id)),
        await send(as_user, "ola", "GET", case_path(case_id, "log")),
        await send(as_user, "eva", "GET", case_path(case_id)),
        await send(as_user, "hanne", "POST", f"{API}/cases", OPEN_CASE),
        await send(as_user, "kari", "POST", f"{API}/cases", {
            "child": {"name": CHILD_NAME, "national_id": WRONG_NATIONAL_ID}, "concern": "Uro."}),
        await send(as_user, "kari", "POST", f"{API}/cases", {
            "child": {"name": CHILD_NAME, "birth_date": "2019-02-30"}, "concern": "Uro."}),
        await send(as_user, "kari", "POST", case_path(case_id, "entries"),
                   f'{{"kind": "note", "text": "{CHILD_NAME} {NATIONAL_ID}'.encode()),
        await send(as_user, "kari", "POST", case_path(case_id, "close"), {"reason": "other"}),
        await send(as_user, "per", "POST", case_path(case_id, f"handovers/{handover}/cancel")),
        await send(as_user, "kari", "POST", case_path(case_id, "entries"),
                   {"kind": "note", "text": "x"}, **if_match('"1"')),
        await send(as_user, None, "GET", case_path(case_id),
                   Authorization=f"Bearer {users.token('kari')}x"),
    ]

    assert sorted({a.status_code for a in answers}) == [400, 401, 403, 404, 409, 412]
    for answer in answers:
        assert_problem(answer, answer.status_code)
        assert users.token("kari")[:40] not in answer.text


BOOMS = [
    ("add_entry", "POST", "entries", {"kind": "note", "text": "Notat."}),
    ("read_case", "GET", "", None),
    ("inbox", "GET", f"{API}/inbox", None),
]
FAILURES = [
    RuntimeError(f"secret-detail for {CHILD_NAME} {NATIONAL_ID}"),
    sqlite3.OperationalError("database is locked: INSERT INTO stored_events secret-detail"),
    KeyError("SELECT notification_id FROM stored_events secret-detail"),
]


@pytest.mark.parametrize(("method_name", "method", "what", "body"), BOOMS,
                         ids=[b[0] for b in BOOMS])
async def test_an_unexpected_failure_is_the_same_generic_500_whatever_it_was(
    as_user: Any, stafettlogg: Stafettlogg, case_id: str, monkeypatch: pytest.MonkeyPatch,
    method_name: str, method: str, what: str, body: Any,
) -> None:
    path = target(what, case_id)
    answers = []
    for failure in FAILURES:
        def boom(*args: Any, failure: Exception = failure, **kwargs: Any) -> Any:
            raise failure

        monkeypatch.setattr(stafettlogg, method_name, boom)
        response = await send(as_user, "kari", method, path, body)
        assert_problem(response, 500)
        assert type(failure).__name__ not in response.text
        answers.append(response.json())

    assert all(answer == answers[0] for answer in answers), answers


# --- Identity ----------------------------------------------------------------------


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "sub": "kari", "name": "Kari", "roles": ["worker"], "service": "bhg-solsikken",
        "municipalities": ["4225"], "aud": "stafettlogg", "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()), **overrides,
    }


def signed(app: Stafettlogg, *, secret: bytes | None = None, algorithm: str = "HS256",
           **overrides: Any) -> str:
    key = app.keys.token_secret if secret is None else secret
    return jwt.encode(claims(**overrides), key, algorithm=algorithm)


AUTHORIZATIONS: dict[str, Callable[[Stafettlogg], str | None]] = {
    "no token": lambda app: None,
    "empty bearer": lambda app: "Bearer ",
    "another scheme": lambda app: f"Basic {signed(app)}",
    "not a JWT": lambda app: "Bearer not.a.jwt",
    "forged signature": lambda app: f"Bearer {signed(app, secret=b'x' * 32)}",
    "expired": lambda app: "Bearer " + signed(
        app, exp=int((datetime.now(UTC) - timedelta(minutes=5)).timestamp())),
    "wrong audience": lambda app: f"Bearer {signed(app, aud='another-system')}",
    "no audience": lambda app: "Bearer " + jwt.encode(
        {k: v for k, v in claims().items() if k != "aud"}, app.keys.token_secret, "HS256"),
    "another algorithm (HS512)": lambda app: f"Bearer {signed(app, algorithm='HS512')}",
    "algorithm none": lambda app: "Bearer " + jwt.encode(claims(), None, algorithm="none"),
    "unknown role": lambda app: f"Bearer {signed(app, roles=['superuser'])}",
}


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # HS512, on purpose
@pytest.mark.parametrize("name", list(AUTHORIZATIONS))
async def test_a_request_without_a_valid_token_is_401_and_records_nothing(
    client: AsyncTestClient, stafettlogg: Stafettlogg, case_id: str, name: str,
) -> None:
    authorization = AUTHORIZATIONS[name](stafettlogg)
    headers = {} if authorization is None else {"Authorization": authorization}
    before = recorded(stafettlogg, case_id)

    write = await client.post(case_path(case_id, "entries"), headers=headers,
                              json={"kind": "note", "text": "Uten gyldig token."})
    read = await client.get(case_path(case_id), headers=headers)

    for response in (write, read):
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].lower().startswith("bearer")
        token = (authorization or "").partition(" ")[2].strip()
        if token:
            assert token not in response.text
    assert recorded(stafettlogg, case_id) == before


async def test_a_token_made_by_hand_with_the_right_secret_and_claims_is_accepted(
    client: AsyncTestClient, stafettlogg: Stafettlogg, case_id: str,
) -> None:
    """The forged tokens above differ from this one in one thing each."""
    response = await client.get(case_path(case_id),
                                headers={"Authorization": f"Bearer {signed(stafettlogg)}"})

    assert response.status_code == 200, response.text
