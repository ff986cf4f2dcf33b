"""Who may call which case endpoint: every case endpoint of the contract x every outsider.

The contract: a case is visible to the services taking part and to coordinators of
its municipality; everyone else gets 404 (so that existence does not leak). An
evaluator or an admin may not use case endpoints at all (403), and a request without
a token is a 401. Every refusal is problem+json, carries nothing of the child, and
records nothing: the case's version, its log and its access log, read afterwards by
a participant, are unchanged except for that participant's own reads.

The case of these tests (Lyngdal, 4225), built through the API by `matrix_case`:
kari (Solsikken barnehage) opened it and holds it; the level-0 decision is made;
the guardians consented for PPT Lister and Hauge skole; PPT (pia) takes part; a
handover to per (Hauge skole) is pending; an action for PPT is agreed. Helsestasjonen
(the "stranger" worker, and kim's service) does not take part. Every request body
below is valid; most would succeed for the holder.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from stafettlogg.tokens import issue_token
from tests.api.conftest import NOW, Users

CHILD_NAME = "Ingrid Matrise Olsen"
TODAY = NOW.date().isoformat()

# The callers who must not get anything of the case, and what they get.
OUTSIDERS: dict[str | None, int] = {
    "stranger": 404,  # a worker of a service not taking part, same municipality
    "ola": 404,       # a worker of another municipality (Kvinesdal skole, 4227)
    "eva": 403,       # an evaluator: statistics only, never a case
    "adam": 403,      # an admin: manages services, never reads case content
    None: 401,        # no token
}


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str  # under /api/v1/cases/{case}; may name {consent}, {handover}, {action}
    body: dict[str, Any] | None = None
    # What someone entitled gets for the same request on the same case: proof that
    # the outsiders' refusals come from access control, not from the request.
    insider: str = "kari"
    insider_status: int = 200
    insider_code: str | None = None


ENDPOINTS: list[Endpoint] = [
    Endpoint("read-case", "GET", ""),
    Endpoint("read-log", "GET", "/log"),
    Endpoint("read-access-log", "GET", "/access-log"),
    Endpoint("add-entry", "POST", "/entries", {"kind": "observation", "text": "Sett i dag."},
             insider_status=201),
    Endpoint("level0-step", "POST", "/level0-steps", {"step": "deling", "text": "Delt."},
             insider_status=201),
    Endpoint("change-level", "POST", "/level", {"level": 1, "reason": "Tiltak i barnehagen."}),
    Endpoint("register-consent", "POST", "/consents", {
        "given_by": "guardian", "services": ["hs-lyngdal"], "purpose": "Helsestasjonen.",
        "valid_until": "2026-12-31", "form": "oral",
    }, insider_status=201),
    Endpoint("withdraw-consent", "POST", "/consents/{consent}/withdraw", {"reason": "Ønsker ikke."}),
    Endpoint("add-participant", "POST", "/participants", {"service": "hauge-skole", "user": "per"},
             insider_status=201),
    Endpoint("request-handover", "POST", "/handovers",
             {"to_user": "pia", "to_service": "ppt-lister", "note": "Til PPT."},
             insider_status=409, insider_code="handover-pending"),
    Endpoint("accept-handover", "POST", "/handovers/{handover}/accept", insider="per"),
    Endpoint("decline-handover", "POST", "/handovers/{handover}/decline", {"reason": "Nei."},
             insider="per"),
    Endpoint("cancel-handover", "POST", "/handovers/{handover}/cancel"),
    Endpoint("appoint-coordinator", "POST", "/coordinator",
             {"user": "pia", "service": "ppt-lister"}, insider="kim"),
    Endpoint("establish-responsibility-group", "POST", "/responsibility-group",
             {"services": ["ppt-lister"]}),
    Endpoint("dissolve-responsibility-group", "DELETE", "/responsibility-group",
             insider_status=409, insider_code="already-in-state"),
    Endpoint("start-individual-plan", "POST", "/individual-plan"),
    Endpoint("end-individual-plan", "DELETE", "/individual-plan",
             insider_status=409, insider_code="already-in-state"),
    Endpoint("hold-meeting", "POST", "/meetings",
             {"held_on": TODAY, "services": ["bhg-solsikken", "ppt-lister"], "minutes": "Møte."},
             insider_status=201),
    Endpoint("agree-action", "POST", "/actions", {
        "description": "Språkgruppe.", "responsible_service": "ppt-lister",
        "evaluate_by": "2026-06-01",
    }, insider_status=201),
    Endpoint("evaluate-action", "POST", "/actions/{action}/evaluations",
             {"outcome": "continue", "text": "Går bra."}, insider="pia", insider_status=201),
    Endpoint("record-satisfaction", "POST", "/satisfaction", {"respondent": "guardian", "score": 4},
             insider_status=201),
    Endpoint("close-case", "POST", "/close", {"reason": "other", "note": "Avsluttet."},
             insider_status=409, insider_code="handover-pending"),
    # Beyond the contract's table, but under the same path: the same rules apply.
    Endpoint("remove-participant", "DELETE", "/participants/ppt-lister"),
    Endpoint("release-coordinator", "DELETE", "/coordinator",
             insider_status=409, insider_code="already-in-state"),
]


@dataclass
class MatrixCase:
    id: str
    consent: str
    handover: str
    action: str

    def url(self, endpoint: Endpoint, case_id: str | None = None) -> str:
        path = endpoint.path.format(
            consent=self.consent, handover=self.handover, action=self.action
        )
        return f"/api/v1/cases/{case_id or self.id}{path}"


Caller = Callable[..., Any]


async def ok(as_user: Caller, user: str, method: str, url: str, status: int,
             json: Any = None) -> Any:
    response = await as_user(user, method, url, json=json)
    assert response.status_code == status, (user, method, url, response.text)
    return response.json()


@pytest.fixture
async def matrix_case(as_user: Caller) -> MatrixCase:
    case = await ok(as_user, "kari", "POST", "/api/v1/cases", 201, {
        "child": {"name": CHILD_NAME, "birth_date": "2020-05-17", "national_id": "02013299997"},
        "concern": "Ingrid er ofte sliten og lei seg.",
    })
    url = f"/api/v1/cases/{case['id']}"
    for step in ("vurdering", "konkretisering", "deling", "beslutning"):
        await ok(as_user, "kari", "POST", f"{url}/level0-steps", 201,
                 {"step": step, "text": f"Steg {step}."})
    consent = await ok(as_user, "kari", "POST", f"{url}/consents", 201, {
        "given_by": "guardian", "services": ["ppt-lister", "hauge-skole"],
        "purpose": "Samarbeid med PPT og skolen.", "valid_until": "2026-12-31",
        "form": "written",
    })
    await ok(as_user, "kari", "POST", f"{url}/participants", 201,
             {"service": "ppt-lister", "user": "pia"})
    action = await ok(as_user, "kari", "POST", f"{url}/actions", 201, {
        "description": "Samtaler med PPT.", "responsible_service": "ppt-lister",
        "evaluate_by": "2026-05-01",
    })
    handover = await ok(as_user, "kari", "POST", f"{url}/handovers", 201,
                        {"to_user": "per", "to_service": "hauge-skole"})
    return MatrixCase(case["id"], consent["id"], handover["id"], action["id"])


async def trace(as_user: Caller, case: MatrixCase) -> tuple[int, int, list[tuple[str, str]]]:
    """What kari (the holder) sees: version, number of log entries, access-log lines.

    Her three reads are themselves recorded (the last of them in its own answer)."""
    url = f"/api/v1/cases/{case.id}"
    version = (await ok(as_user, "kari", "GET", url, 200))["version"]
    entries = len((await ok(as_user, "kari", "GET", f"{url}/log", 200))["entries"])
    items = (await ok(as_user, "kari", "GET", f"{url}/access-log", 200))["items"]
    return version, entries, [(i["user"], i["action"]) for i in items]


KARI_READS = [("kari", "read-case"), ("kari", "read-log"), ("kari", "read-access-log")]


def assert_problem(response: Any, status: int, caller: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, (caller, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    for key in ("type", "title", "detail"):
        assert isinstance(body[key], str) and body[key], body
    assert CHILD_NAME not in response.text
    assert "Traceback" not in response.text
    return body


async def assert_nothing_recorded(
    as_user: Caller, case: MatrixCase, before: tuple[int, int, list[tuple[str, str]]],
    *, besides: tuple[tuple[str, str], ...] = (),
) -> None:
    version, entries, lines = before
    after_version, after_entries, after_lines = await trace(as_user, case)
    assert after_version == version
    assert after_entries == entries
    assert after_lines == lines + list(besides) + KARI_READS


# --- the matrix -----------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_every_outsider_gets_contract_status_and_nothing_is_recorded(
    as_user: Caller, matrix_case: MatrixCase, endpoint: Endpoint
) -> None:
    """Each outsider in turn, on the same case (each refusal must leave it as it was,
    so the next outsider meets the same case)."""
    for caller, expected in OUTSIDERS.items():
        before = await trace(as_user, matrix_case)

        response = await as_user(caller, endpoint.method, matrix_case.url(endpoint),
                                 json=endpoint.body)
        body = assert_problem(response, expected, caller)
        if expected == 404:
            # Existence does not leak: the same answer as for a case that does not exist.
            missing = await as_user(caller, endpoint.method,
                                    matrix_case.url(endpoint, str(uuid.uuid4())),
                                    json=endpoint.body)
            assert assert_problem(missing, 404, caller) == body, caller

        await assert_nothing_recorded(as_user, matrix_case, before)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
async def test_the_same_request_is_taken_from_someone_entitled(
    as_user: Caller, matrix_case: MatrixCase, endpoint: Endpoint
) -> None:
    """The matrix's requests are valid: on the same case, the holder (or the recipient,
    the municipality's coordinator, PPT) gets a 2xx, or a 409 of a rule about the
    case's state, never 400, 403 or 404."""
    response = await as_user(endpoint.insider, endpoint.method, matrix_case.url(endpoint),
                             json=endpoint.body)
    assert response.status_code == endpoint.insider_status, (endpoint.name, response.text)
    if endpoint.insider_code is not None:
        assert response.json()["code"] == endpoint.insider_code


# --- listing and inbox ------------------------------------------------------------------


async def test_case_list_shows_nothing_of_the_case_to_outsiders(
    as_user: Caller, matrix_case: MatrixCase
) -> None:
    for caller in ("stranger", "ola"):
        for query in ("", "?status=open", "?level=0", "?holder=me"):
            before = await trace(as_user, matrix_case)
            response = await as_user(caller, "GET", f"/api/v1/cases{query}")
            assert response.status_code == 200, (caller, query, response.text)
            assert response.json() == {"items": [], "next": None}, (caller, query)
            assert matrix_case.id not in response.text
            assert CHILD_NAME not in response.text
            await assert_nothing_recorded(as_user, matrix_case, before)


async def test_case_list_shows_the_case_to_those_who_may_see_it(
    as_user: Caller, matrix_case: MatrixCase
) -> None:
    """Participants, the pending handover's recipient and the municipality's coordinator;
    a listing carries no personal data and is not recorded as an access."""
    for caller in ("kari", "pia", "per", "kim"):
        before = await trace(as_user, matrix_case)
        response = await as_user(caller, "GET", "/api/v1/cases")
        assert response.status_code == 200, (caller, response.text)
        assert [c["id"] for c in response.json()["items"]] == [matrix_case.id], caller
        assert CHILD_NAME not in response.text
        await assert_nothing_recorded(as_user, matrix_case, before)


async def test_case_list_and_inbox_are_refused_to_non_case_roles(
    as_user: Caller, matrix_case: MatrixCase
) -> None:
    for caller in ("eva", "adam", None):
        for url in ("/api/v1/cases", "/api/v1/inbox"):
            assert_problem(await as_user(caller, "GET", url), OUTSIDERS[caller], caller)


async def test_inbox_works_for_every_case_role(
    as_user: Caller, matrix_case: MatrixCase
) -> None:
    for caller in ("kari", "pia", "per", "kim", "hanne", "stranger", "ola"):
        response = await as_user(caller, "GET", "/api/v1/inbox")
        assert response.status_code == 200, (caller, response.text)
        body = response.json()
        assert set(body) >= {"handovers", "actions_due", "consents_expiring"}
        handovers = [(h["case"], h["id"]) for h in body["handovers"]]
        # Only the named recipient sees the waiting handover.
        assert handovers == ([(matrix_case.id, matrix_case.handover)]
                             if caller == "per" else []), caller
        if caller in ("stranger", "ola", "hanne", "kim"):
            assert matrix_case.id not in response.text, caller
        assert CHILD_NAME not in response.text


# --- the municipality's coordinator ---------------------------------------------------


async def test_coordinator_not_taking_part_sees_metadata_but_not_the_log(
    as_user: Caller, matrix_case: MatrixCase
) -> None:
    before = await trace(as_user, matrix_case)
    url = f"/api/v1/cases/{matrix_case.id}"

    response = await as_user("kim", "GET", url)
    assert response.status_code == 200, response.text
    case = response.json()
    assert case["id"] == matrix_case.id
    assert case["holder"] == {"user": "kari", "service": "bhg-solsikken"}
    assert case.get("child") is None
    assert case.get("concern") is None
    assert CHILD_NAME not in response.text
    assert response.headers["etag"] == f'"{case["version"]}"'

    assert_problem(await as_user("kim", "GET", f"{url}/log"), 403)

    # The metadata read is an access and is recorded; the refused log read is not.
    await assert_nothing_recorded(as_user, matrix_case, before, besides=(("kim", "read-case"),))


async def test_coordinator_of_another_municipality_gets_404(
    as_user: Caller, matrix_case: MatrixCase, users: Users, client: AsyncTestClient
) -> None:
    """A coordinator's reach is its municipalities: one of Kvinesdal's sees nothing."""
    token = issue_token(
        users.app.settings, users.app.keys, sub="knut", name="Knut",
        roles=["worker", "coordinator"], service="kvinesdal-skole",
        municipalities=["4227"], now=datetime.now(UTC),
    )
    before = await trace(as_user, matrix_case)
    for path in ("", "/log", "/access-log"):
        response = await client.get(f"/api/v1/cases/{matrix_case.id}{path}",
                                    headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 404)
    await assert_nothing_recorded(as_user, matrix_case, before)


# --- conditional and idempotent requests from outsiders ------------------------------

WRITES = [e for e in ENDPOINTS if e.name in ("add-entry", "change-level", "close-case")]


@pytest.mark.parametrize("endpoint", WRITES, ids=[e.name for e in WRITES])
async def test_if_match_and_idempotency_key_do_not_change_an_outsiders_answer(
    as_user: Caller, matrix_case: MatrixCase, endpoint: Endpoint
) -> None:
    """A stale If-Match must not turn a 404 into a 412 (that would say the case exists
    and has moved on), and an Idempotency-Key must not store anything for an outsider:
    sent again by the holder-to-be, the key is fresh."""
    for caller, expected in OUTSIDERS.items():
        before = await trace(as_user, matrix_case)
        headers = {"If-Match": '"1"', "Idempotency-Key": f"outsider-{caller}"}
        for _ in range(2):
            response = await as_user(caller, endpoint.method, matrix_case.url(endpoint),
                                     json=endpoint.body, headers=headers)
            assert_problem(response, expected, caller)
            assert "idempotent-replayed" not in response.headers
        await assert_nothing_recorded(as_user, matrix_case, before)


async def test_a_replay_after_leaving_the_case_is_404(
    as_user: Caller, matrix_case: MatrixCase
) -> None:
    url = f"/api/v1/cases/{matrix_case.id}"
    key = {"Idempotency-Key": "pia-leaves"}
    # PPT leaves the case itself; the answer is the case.
    first = await as_user("pia", "DELETE", f"{url}/participants/ppt-lister", headers=key)
    assert first.status_code == 200, first.text
    assert "ppt-lister" not in [p["service"] for p in first.json()["participants"]]
    assert_problem(await as_user("pia", "GET", url), 404)
    # The same request again, now that PPT no longer takes part: 404 like any outsider.
    again = await as_user("pia", "DELETE", f"{url}/participants/ppt-lister", headers=key)
    assert_problem(again, 404)
