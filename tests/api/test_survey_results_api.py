"""The survey's results and the activity indicators over HTTP (docs/api.md, "Survey
results"): an admin runs a round through the API, answers come in with codes, the round
is closed and an evaluator reads it: a unit with fewer answers than the minimum is
`null` throughout, the municipality's figures add up, rho is there for a driver that
varies; two rounds side by side; who may read; the paths in the OpenAPI document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain.survey import DRIVERS, RESULT_ITEMS
from stafettlogg.tokens import issue_token
from tests.api.conftest import NOW
from tests.conftest import ADMIN

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
# A unit with one answer too few (minimum 5), and three sectors with enough.
ANSWERS = {"bhg-solsikken": 5, "hauge-skole": 6, "ppt-lister": 5, "hs-lyngdal": 4}
ROUND = {"municipality": "4225", "services": list(ANSWERS),
         "opens_on": "2026-03-02", "closes_on": "2026-03-20"}
DRIVER = "opplaering"  # the one driver that varies with the Levels of Use


@pytest.fixture
def call(as_user, stafettlogg):
    stafettlogg.register_staff(ADMIN, staff_id="liv", name="Liv Enhetsleder",
                               service="hauge-skole", roles=["leader"],
                               municipalities=["4225"], at=NOW)

    async def go(user: str | None, method: str, url: str, body: Any = None,
                 expect: int = 200, **kwargs: Any) -> Any:
        answer = await as_user(user, method, url, json=body, **kwargs)
        assert answer.status_code == expect, answer.text
        if expect >= 400:
            assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        return answer.json() if answer.content else None
    return go


def token_for(app: Any, roles: list[str], municipalities: list[str]) -> dict[str, str]:
    token = issue_token(app.settings, app.keys, sub="eli", name="Eli", roles=roles,
                        service=None, municipalities=municipalities, now=datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def an_answer(code: str, i: int) -> dict[str, Any]:
    level = 2 + i % 6
    drivers = {d: 3 for d in DRIVERS}
    drivers[DRIVER] = (1, 1, 2, 3, 3, 4)[i % 6]
    return {"code": code, "level_of_use": level, "drivers": drivers,
            "results": {r: 2 + 2 * (i % 2) for r in RESULT_ITEMS}}


async def run_round(call, answers: dict[str, int] = ANSWERS, close: bool = True) -> str:
    opened = await call("adam", "POST", f"{API}/survey-rounds",
                        {**ROUND, "services": list(answers)}, expect=201)
    url = f"{API}/survey-rounds/{opened['id']}"
    for service, n in answers.items():
        codes = (await call("adam", "POST", f"{url}/codes", {"service": service, "count": n},
                            expect=201))["codes"]
        for i, code in enumerate(codes):
            await call(None, "POST", f"{API}/survey-answers", an_answer(code, i), expect=204)
    if close:
        await call("adam", "POST", f"{url}/close")
    return opened["id"]


async def test_an_evaluator_reads_a_closed_round_protected(call) -> None:
    round_id = await run_round(call)
    listed = (await call("eva", "GET", f"{API}/survey-results"))["items"]
    assert listed == [{"id": round_id, "municipality": "4225", "opens_on": "2026-03-02",
                       "closes_on": "2026-03-20", "invited": 20, "answered": 20}]

    results = await call("eva", "GET", f"{API}/survey-results/{round_id}")
    assert results["minimum"] == 5
    assert results["round"]["id"] == round_id
    groups = {(g["sector"], g["service"]): g for g in results["groups"]}
    assert list(groups)[0] == ("all", "all")

    small = groups[("helsestasjon", "hs-lyngdal")]
    assert (small["invited"], small["answered"], small["response_rate"]) == (4, None, None)
    assert small["levels"] is None
    assert set(small["drivers"]) == set(DRIVERS) and set(small["results"]) == set(RESULT_ITEMS)
    assert all(v is None for v in (*small["drivers"].values(), *small["results"].values()))
    # Its sector is the unit alone: hidden as well, and so is another sector, lest
    # the municipality's total less the others tell the hidden one's.
    assert groups[("helsestasjon", "all")]["answered"] is None
    assert groups[("skole", "all")]["answered"] is None

    everyone = groups[("all", "all")]
    assert (everyone["invited"], everyone["answered"], everyone["response_rate"]) == (20, 20, 1.0)
    assert len(everyone["levels"]["counts"]) == 8
    assert sum(everyone["levels"]["counts"]) == everyone["answered"]
    varies = everyone["drivers"][DRIVER]
    assert sum(varies["counts"]) + varies["dont_know"] == 20
    correlation = varies["correlation"]
    assert correlation["n"] == 20 and 0.8 < correlation["rho"] <= 1
    assert 0 <= correlation["p_value"] < 0.05 and correlation["exact"] is True
    # A driver everyone rated the same would tell each one's answer: hidden.
    assert everyone["drivers"]["ressurser"] is None
    item = everyone["results"]["kunnskap-tegn"]
    assert (item["good"], item["answered"], item["dont_know"]) == (9, 20, 0)  # the odd ones of 5, 6, 5 and 4
    assert item["low"] < item["share"] < item["high"]

    shown = groups[("barnehage", "bhg-solsikken")]
    assert shown["answered"] == 5 and sum(shown["levels"]["counts"]) == 5
    assert shown["drivers"][DRIVER]["correlation"]["n"] == 5

    # A unit leader of the municipality reads the same; admins too.
    assert (await call("liv", "GET", f"{API}/survey-results/{round_id}")) == results
    assert (await call("adam", "GET", f"{API}/survey-results/{round_id}")) == results


async def test_two_rounds_side_by_side_the_earlier_first(call) -> None:
    first = await run_round(call)
    second = await run_round(call, {"bhg-solsikken": 5, "hauge-skole": 5})
    both = await call("eva", "GET", f"{API}/survey-results/compare",
                      params={"first": second, "second": first})
    assert {both["earlier"]["round"]["id"], both["later"]["round"]["id"]} == {first, second}
    assert both["earlier"]["round"]["opens_on"] <= both["later"]["round"]["opens_on"]
    assert {both["earlier"]["groups"][0]["answered"], both["later"]["groups"][0]["answered"]} == {20, 10}
    same = await call("eva", "GET", f"{API}/survey-results/compare",
                      params={"first": first, "second": first}, expect=400)
    assert same["errors"][0]["field"] == "second"
    missing = await call("eva", "GET", f"{API}/survey-results/compare",
                         params={"first": first}, expect=400)
    assert missing["errors"][0]["field"] == "second"


async def test_who_may_read_and_when(call, client, stafettlogg) -> None:
    round_id = await run_round(call, {"hauge-skole": 5}, close=False)
    url = f"{API}/survey-results/{round_id}"
    # Open: no results yet, and the round is not listed.
    refused = await call("eva", "GET", url, expect=409)
    assert refused["code"] == "survey-results-not-ready"
    assert (await call("eva", "GET", f"{API}/survey-results"))["items"] == []
    await call("adam", "POST", f"{API}/survey-rounds/{round_id}/close")
    await call("eva", "GET", url)

    await call(None, "GET", url, expect=401)
    await call(None, "GET", f"{API}/survey-results", expect=401)
    forbidden = await call("kari", "GET", url, expect=403)
    assert forbidden["code"] == "forbidden"
    assert (await call("kari", "GET", f"{API}/survey-results"))["items"] == []
    elsewhere = token_for(stafettlogg, ["evaluator"], ["4227"])
    answer = await client.get(url, headers=elsewhere)
    assert answer.status_code == 403, answer.text
    answer = await client.get(f"{API}/survey-results", headers=elsewhere)
    assert answer.json()["items"] == []
    await call("eva", "GET", f"{API}/survey-results/00000000-0000-0000-0000-000000000000",
               expect=404)


async def test_activity_indicators_for_an_evaluator(call, client, stafettlogg) -> None:
    # Solsikken 6 and Hauge skole 7 active staff; PPT 1 and the health station 2.
    for i in range(10):
        stafettlogg.register_staff(ADMIN, staff_id=f"ansatt{i}", name=f"Ansatt {i}",
                                   service="bhg-solsikken" if i < 5 else "hauge-skole",
                                   roles=["worker"], municipalities=["4225"], at=NOW)
    for staff_id in ("ansatt0", "ansatt1", "ansatt5", "ansatt6", "ansatt7"):
        stafettlogg.record_training(ADMIN, staff_id, training="stafettloggen",
                                    on=NOW.date(), at=NOW)

    shares = await call("eva", "GET", f"{API}/activity-indicators",
                        params={"municipality": "4225", "on": "2026-03-02"})
    assert (shares["municipality"], shares["on"], shares["minimum"]) == ("4225", "2026-03-02", 5)
    cells = {(s["sector"], s["service"], s["indicator"]): s for s in shares["items"]}
    # PPT and the health station have too few; Hauge skole is hidden beside them.
    small = {(s["service"], s["numerator"], s["denominator"], s["share"])
             for s in shares["items"] if s["indicator"] == "stafettloggen"
             and s["service"] in ("ppt-lister", "hs-lyngdal", "hauge-skole")}
    assert small == {("ppt-lister", None, None, None), ("hs-lyngdal", None, None, None),
                     ("hauge-skole", None, None, None)}
    kindergarten = cells[("barnehage", "bhg-solsikken", "stafettloggen")]
    assert (kindergarten["numerator"], kindergarten["denominator"],
            kindergarten["share"]) == (2, 6, 0.3333)
    everyone = cells[("all", "all", "stafettloggen")]
    assert (everyone["numerator"], everyone["denominator"], everyone["share"]) == (5, 16, 0.3125)
    for s in shares["items"]:
        if s["numerator"] is None or s["denominator"] is None:
            assert s["share"] is None
        elif s["denominator"]:
            assert s["share"] == round(s["numerator"] / s["denominator"], 4)
    today = await call("eva", "GET", f"{API}/activity-indicators",
                       params={"municipality": "4225"})
    assert today["on"] == NOW.date().isoformat()

    await call("kari", "GET", f"{API}/activity-indicators", params={"municipality": "4225"},
               expect=403)
    answer = await client.get(f"{API}/activity-indicators", params={"municipality": "4225"},
                              headers=token_for(stafettlogg, ["evaluator"], ["4227"]))
    assert answer.status_code == 403, answer.text
    await call(None, "GET", f"{API}/activity-indicators", params={"municipality": "4225"},
               expect=401)
    bad = await call("eva", "GET", f"{API}/activity-indicators",
                     params={"municipality": "42"}, expect=400)
    assert bad["errors"][0]["field"] == "municipality"


async def test_the_endpoints_are_in_the_openapi_document(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/api/v1/survey-results", "/api/v1/survey-results/{round_id}",
                 "/api/v1/survey-results/compare", "/api/v1/activity-indicators"):
        assert path in paths, path
        assert paths[path]["get"]["security"] == [{"bearer": []}]
    assert "409" in paths["/api/v1/survey-results/{round_id}"]["get"]["responses"]
    components = schema["components"]["schemas"]
    for name in ("SurveyResultsOut", "GroupResultOut", "LevelsOut", "DriverOut",
                 "CorrelationOut", "ResultItemOut", "SurveyComparisonOut",
                 "ActivityIndicatorsOut"):
        assert name in components, name
    group = components["GroupResultOut"]["properties"]
    assert {"sector", "service", "invited", "answered", "response_rate", "levels",
            "drivers", "results"} <= set(group)


async def test_a_round_with_too_few_answers_shows_no_count(call) -> None:
    round_id = await run_round(call, {"hauge-skole": 3, "bhg-solsikken": 1})
    listed = (await call("eva", "GET", f"{API}/survey-results"))["items"]
    assert [(r["id"], r["invited"], r["answered"]) for r in listed] == [(round_id, 4, None)]
    results = await call("eva", "GET", f"{API}/survey-results/{round_id}")
    assert results["round"]["answered"] is None
    assert all(g["answered"] is None and g["levels"] is None for g in results["groups"])
