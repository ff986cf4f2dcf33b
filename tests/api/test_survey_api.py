"""The staff survey over HTTP (docs/api.md, "Staff survey"): an admin opens a round,
issues codes (returned once, not to be kept), a code answers once without a token, the
response rate, closing; a worker's token is refused, and so is a used code; the paths
are in the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest

from domain.survey import DRIVERS, RESULT_ITEMS

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def call(as_user):
    async def go(user: str | None, method: str, url: str, body: Any = None,
                 expect: int = 200, **kwargs: Any):
        answer = await as_user(user, method, url, json=body, **kwargs)
        assert answer.status_code == expect, answer.text
        return answer
    return go


def an_answer(code: str, **more: Any) -> dict[str, Any]:
    return {"code": code, "level_of_use": 5, "drivers": {d: 3 for d in DRIVERS},
            "results": {r: None if r == "koble-inn" else 4 for r in RESULT_ITEMS}, **more}


ROUND = {"municipality": "4225", "services": ["hs-lyngdal", "hauge-skole"],
         "opens_on": "2026-03-02", "closes_on": "2026-03-20", "asks_role": True}


async def test_open_issue_answer_and_close(call) -> None:
    opened = (await call("adam", "POST", f"{API}/survey-rounds", ROUND, expect=201)).json()
    assert (opened["status"], opened["invited"], opened["answered"]) == ("open", 0, 0)
    url = f"{API}/survey-rounds/{opened['id']}"
    issued = await call("adam", "POST", f"{url}/codes", {"service": "hs-lyngdal"}, expect=201)
    assert issued.headers["cache-control"] == "no-store"
    codes = issued.json()["codes"]
    assert len(codes) == 2  # one per active staff member: Hanne and Kim
    more = await call("adam", "POST", f"{url}/codes", {"service": "hauge-skole", "count": 3},
                      expect=201)
    assert len(more.json()["codes"]) == 3

    # No token: the code is the authority.
    await call(None, "POST", f"{API}/survey-answers", an_answer(codes[0], role="leder"),
               expect=204)
    used = await call(None, "POST", f"{API}/survey-answers", an_answer(codes[0], role="leder"),
                      expect=409)
    assert used.headers["content-type"].startswith(PROBLEM_JSON)
    assert used.json()["code"] == "survey-code-not-valid"
    unknown = await call(None, "POST", f"{API}/survey-answers",
                         an_answer("ABCD-EFGH-JKMN-PQRS", role="leder"), expect=409)
    assert unknown.json()["code"] == "survey-code-not-valid"

    read = (await call("adam", "GET", url)).json()
    rates = {s["service"]: (s["answered"], s["invited"]) for s in read["services"]}
    assert rates == {"hs-lyngdal": (1, 2), "hauge-skole": (0, 3)}
    assert (read["answered"], read["invited"]) == (1, 5)
    listed = (await call("adam", "GET", f"{API}/survey-rounds")).json()["items"]
    assert [r["id"] for r in listed] == [opened["id"]]

    closed = (await call("adam", "POST", f"{url}/close", expect=200)).json()
    assert closed["status"] == "closed"
    late = await call(None, "POST", f"{API}/survey-answers", an_answer(codes[1], role="leder"),
                      expect=409)
    assert late.json()["code"] == "survey-round-not-open"


async def test_a_missing_answer_is_named_and_nothing_is_recorded(call) -> None:
    opened = (await call("adam", "POST", f"{API}/survey-rounds", ROUND, expect=201)).json()
    url = f"{API}/survey-rounds/{opened['id']}"
    code = (await call("adam", "POST", f"{url}/codes", {"service": "hs-lyngdal", "count": 1},
                       expect=201)).json()["codes"][0]
    body = an_answer(code, role="medarbeider")
    del body["drivers"]["ressurser"]
    refused = await call(None, "POST", f"{API}/survey-answers", body, expect=400)
    assert refused.json()["errors"][0]["field"] == "drivers.ressurser"
    no_role = await call(None, "POST", f"{API}/survey-answers", an_answer(code), expect=400)
    assert no_role.json()["errors"][0]["field"] == "role"
    out_of_scale = an_answer(code, role="leder")
    out_of_scale["results"]["kunnskap-tegn"] = 5
    await call(None, "POST", f"{API}/survey-answers", out_of_scale, expect=400)
    assert (await call("adam", "GET", url)).json()["answered"] == 0
    await call(None, "POST", f"{API}/survey-answers", an_answer(code, role="leder"), expect=204)


async def test_only_an_admin_runs_a_round(call) -> None:
    await call("kari", "POST", f"{API}/survey-rounds", ROUND, expect=403)
    await call("eva", "GET", f"{API}/survey-rounds", expect=403)
    opened = (await call("adam", "POST", f"{API}/survey-rounds", ROUND, expect=201)).json()
    url = f"{API}/survey-rounds/{opened['id']}"
    await call("kari", "GET", url, expect=403)
    await call("kim", "POST", f"{url}/codes", {"service": "hs-lyngdal"},
               expect=403)
    await call("kari", "POST", f"{url}/close", expect=403)
    # The admin endpoints want a token; only the answers do not.
    await call(None, "GET", f"{API}/survey-rounds", expect=401)
    await call(None, "POST", f"{url}/codes", {"service": "hs-lyngdal"}, expect=401)
    await call("adam", "GET", f"{API}/survey-rounds/00000000-0000-0000-0000-000000000000",
               expect=404)


async def test_the_paths_are_in_the_openapi_document(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/api/v1/survey-rounds", "/api/v1/survey-rounds/{round_id}",
                 "/api/v1/survey-rounds/{round_id}/codes",
                 "/api/v1/survey-rounds/{round_id}/close", "/api/v1/survey-answers"):
        assert path in paths, path
    # No bearer token for an answer (there is no document-wide security requirement).
    assert not paths["/api/v1/survey-answers"]["post"].get("security")
    assert "security" not in schema
    assert paths["/api/v1/survey-rounds"]["post"]["security"] == [{"bearer": []}]
    assert "SurveyAnswerIn" in schema["components"]["schemas"]
