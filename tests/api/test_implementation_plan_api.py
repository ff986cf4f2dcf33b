"""The implementation plan over HTTP (docs/api.md, "The implementation plan"): an admin
keeps Lyngdal's plan, the school's leader reports, the overview counts; who may do
what, and problem details on every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import NOW
from tests.conftest import ADMIN

API = "/api/v1/implementation-plans/4225"
PROBLEM_JSON = "application/problem+json"
PERIOD = "2026-H1"  # NOW is 2 March 2026
ACTIVITY = {"title": "Utnevne en BTI-kontakt i hver enhet", "responsible": "enhetsleder",
            "due": "2026-06-30", "services": ["hauge-skole", "bhg-solsikken"]}


@pytest.fixture
def call(as_user, stafettlogg):
    stafettlogg.register_staff(ADMIN, staff_id="liv", name="Liv Enhetsleder",
                               service="hauge-skole", roles=["leader"],
                               municipalities=["4225"], at=NOW)

    async def go(user: str, method: str, url: str, body: Any = None, expect: int = 200,
                 **kwargs: Any):
        answer = await as_user(user, method, url, json=body, **kwargs)
        assert answer.status_code == expect, answer.text
        if expect >= 400:
            assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        return answer.json() if answer.content else None
    return go


async def test_an_admin_keeps_the_plan_and_a_leader_reports(call) -> None:
    plan = await call("adam", "GET", API)
    assert plan == {"municipality": "4225", "rhythm": "halvårlig",
                    "current_period": PERIOD, "activities": []}
    added = await call("adam", "POST", f"{API}/activities", ACTIVITY, expect=201)
    assert added["services"] == ["hauge-skole", "bhg-solsikken"]
    changed = await call("adam", "PUT", f"{API}/activities/{added['id']}",
                         {**ACTIVITY, "responsible": "BTI-koordinator"})
    assert changed["responsible"] == "BTI-koordinator"
    assert (await call("liv", "GET", API))["activities"] == [changed]

    report = {"activity": added["id"], "period": PERIOD, "status": "under-way",
              "note": "To av tre team har en kontakt."}
    await call("liv", "POST", f"{API}/reports", report, expect=204)
    overview = await call("adam", "GET", f"{API}/reports?period={PERIOD}")
    (line,) = overview["items"]
    assert line["units"] == {"not_started": [], "under_way": ["hauge-skole"], "done": [],
                             "not_reported": ["bhg-solsikken"],
                             "counts": {"not-started": 0, "under-way": 1, "done": 0,
                                        "not-reported": 1}}
    assert "To av tre team" not in str(overview)  # notes are not in the overview
    await call("liv", "POST", f"{API}/reports", {**report, "status": "done"}, expect=204)
    line = (await call("liv", "GET", f"{API}/reports"))["items"][0]
    assert line["units"]["done"] == ["hauge-skole"]  # the latest wins

    await call("adam", "DELETE", f"{API}/activities/{added['id']}", expect=204)
    missing = await call("adam", "DELETE", f"{API}/activities/{added['id']}", expect=404)
    assert missing["code"] == "unknown-activity"
    assert (await call("adam", "PUT", API, {"rhythm": "årlig"}))["current_period"] == "2026"


async def test_workers_evaluators_and_other_leaders_are_refused(call) -> None:
    added = await call("adam", "POST", f"{API}/activities", ACTIVITY, expect=201)
    report = {"activity": added["id"], "period": PERIOD, "status": "done"}
    for user in ("kari", "eva"):
        await call(user, "GET", API, expect=403)
        await call(user, "GET", f"{API}/reports", expect=403)
        await call(user, "POST", f"{API}/reports", report, expect=403)
    await call("kari", "POST", f"{API}/activities", ACTIVITY, expect=403)
    await call("liv", "POST", f"{API}/activities", ACTIVITY, expect=403)
    await call("liv", "DELETE", f"{API}/activities/{added['id']}", expect=403)
    refused = await call("liv", "POST", f"{API}/reports",
                         {**report, "service": "bhg-solsikken"}, expect=403)
    assert refused["code"] == "forbidden"
    await call("liv", "GET", "/api/v1/implementation-plans/4227", expect=403)
    await call(None, "GET", API, expect=401)


async def test_bad_input_names_the_field_and_the_rule(call) -> None:
    added = await call("adam", "POST", f"{API}/activities", ACTIVITY, expect=201)
    wrong = await call("adam", "POST", f"{API}/activities",
                       {**ACTIVITY, "services": ["kvinesdal-skole"]}, expect=400)
    assert wrong["errors"] == [{"field": "services",
                                "message": "Kvinesdal skole hører ikke til kommunen."}]
    blank = await call("adam", "POST", f"{API}/activities", {**ACTIVITY, "title": ""},
                       expect=400)
    assert blank["errors"][0]["field"] == "title"
    report = {"activity": added["id"], "period": "2026-Q1", "status": "done"}
    rhythm = await call("liv", "POST", f"{API}/reports", report, expect=400)
    assert rhythm["errors"] == [{"field": "period", "message": (
        "Perioden skrives som 2026-H2, fordi planen rapporteres halvårlig.")}]
    future = await call("liv", "POST", f"{API}/reports", {**report, "period": "2026-H2"},
                        expect=400)
    assert future["errors"][0]["message"].startswith("Perioden har ikke begynt ennå")
    long = await call("liv", "POST", f"{API}/reports",
                      {**report, "period": PERIOD, "note": "x" * 501}, expect=400)
    assert long["errors"][0]["field"] == "note"
    await call("liv", "POST", f"{API}/reports", {**report, "status": "halvveis"}, expect=400)


async def test_the_endpoints_are_in_the_openapi_document(call) -> None:
    doc = await call("adam", "GET", "/schema/openapi.json")
    paths = doc["paths"]
    assert set(paths["/api/v1/implementation-plans/{municipality}"]) >= {"get", "put"}
    assert set(paths["/api/v1/implementation-plans/{municipality}/reports"]) >= {"get", "post"}
    assert set(paths["/api/v1/implementation-plans/{municipality}/activities/{activity}"]) >= {
        "put", "delete"}
