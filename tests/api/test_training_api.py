"""The training register over HTTP (docs/api.md, "Training"): one training at a time,
an attendance list as a dry run and then for real (all or nothing, 422 with a reason
per row), the register and the activity indicators, and who may do what."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import NOW
from tests.conftest import ADMIN

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def call(as_user, stafettlogg):
    stafettlogg.register_staff(ADMIN, staff_id="liv", name="Liv Enhetsleder",
                               service="hauge-skole", roles=["leader"],
                               municipalities=["4225"], at=NOW)

    async def go(user: str, method: str, url: str, body: Any = None, expect: int = 200,
                 **kwargs: Any):
        answer = await as_user(user, method, url, json=body, **kwargs)
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None
    return go


async def test_a_training_is_recorded_once_and_removed_when_wrong(call) -> None:
    url = f"{API}/staff/per/trainings"
    body = {"training": "stafettloggen", "on": "2026-02-02"}
    first = await call("liv", "POST", url, body, expect=201)
    assert first["trainings"] == {"stafettloggen": ["2026-02-02"]}
    assert first["held_baton_since"] is None
    await call("liv", "POST", url, body, expect=200)  # there already: recorded once
    assert (await call("adam", "GET", url))["trainings"] == {"stafettloggen": ["2026-02-02"]}
    await call("liv", "DELETE", f"{url}/stafettloggen/2026-02-02", expect=204)
    assert (await call("liv", "GET", url))["trainings"] == {}


async def test_bad_input_names_the_field_and_the_rule(call) -> None:
    url = f"{API}/staff/per/trainings"
    future = await call("adam", "POST", url, {"training": "stafettloggen", "on": "2026-03-03"},
                        expect=400)
    assert future["errors"] == [{"field": "on",
                                 "message": "Datoen for opplæringen kan ikke være fram i tid."}]
    unknown = await call("adam", "POST", url, {"training": "førstehjelp", "on": "2026-02-02"},
                         expect=400)
    assert unknown["errors"][0]["field"] == "training"


async def test_only_admins_and_the_person_s_unit_leader_may(call) -> None:
    body = {"training": "stafettloggen", "on": "2026-02-02"}
    await call("liv", "POST", f"{API}/staff/kari/trainings", body, expect=403)
    await call("kari", "POST", f"{API}/staff/kari/trainings", body, expect=403)
    await call("eva", "GET", f"{API}/trainings", expect=403)
    await call("liv", "GET", f"{API}/trainings?service=bhg-solsikken", expect=403)
    mine = await call("liv", "GET", f"{API}/trainings")
    assert [x["staff_id"] for x in mine["items"]] == ["liv", "per"]


async def test_an_attendance_list_dry_run_then_all_or_nothing(call) -> None:
    good = "ansatt;dato\r\nper;02.02.2026\r\nkari;02.02.2026\r\n".encode()
    form = {"training": "tegn-og-signaler"}
    dry = await call("adam", "POST", f"{API}/trainings/import?dry_run=true",
                     files={"file": ("liste.csv", good, "text/csv")}, data=form)
    assert (dry["recorded"], dry["new"], dry["errors"]) == (False, 2, 0)
    shares = await call("adam", "GET", f"{API}/trainings/shares?municipality=4225&on=2026-03-02")
    total = next(s for s in shares["items"] if s["indicator"] == "tegn-og-signaler"
                 and s["service"] == "all" and s["sector"] == "all")
    assert (total["numerator"], total["denominator"]) == (0, 6)

    bad = "ansatt;dato\r\nper;02.02.2026\r\nola;02.02.2026\r\n".encode()
    refused = await call("adam", "POST", f"{API}/trainings/import",
                         files={"file": ("liste.csv", bad, "text/csv")}, data=form, expect=422)
    assert refused["code"] == "attendance-refused"
    assert refused["errors"] == [{"field": "linje 3: ansatt",
                                  "message": "«ola» finnes ikke i ansattlisten."}]
    assert refused["report"]["recorded"] is False

    done = await call("adam", "POST", f"{API}/trainings/import",
                      files={"file": ("liste.csv", good, "text/csv")}, data=form)
    assert (done["recorded"], done["new"]) == (True, 2)
    shares = await call("adam", "GET", f"{API}/trainings/shares?municipality=4225&on=2026-03-02")
    total = next(s for s in shares["items"] if s["indicator"] == "tegn-og-signaler"
                 and s["service"] == "all" and s["sector"] == "all")
    assert (total["numerator"], total["denominator"], total["share"]) == (2, 6, 0.3333)


async def test_a_unit_leader_sees_her_own_service_and_the_totals(call) -> None:
    shares = await call("liv", "GET", f"{API}/trainings/shares?municipality=4225")
    # Her service, her sector's total and the municipality's; no other sector's total
    # (Solsikken alone is "barnehage").
    assert {(s["sector"], s["service"]) for s in shares["items"]} == {
        ("skole", "hauge-skole"), ("skole", "all"), ("all", "all")}
    await call("liv", "GET", f"{API}/trainings/shares?municipality=4227", expect=403)


async def test_the_endpoints_are_in_the_openapi_document(call, client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("/api/v1/staff/{staff_id}/trainings", "/api/v1/trainings",
                 "/api/v1/trainings/import", "/api/v1/trainings/shares",
                 "/api/v1/staff/{staff_id}/trainings/{training}/{on}"):
        assert path in paths, path
