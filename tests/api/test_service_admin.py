"""Renaming and closing services over the API (docs/api.md, "Services").

An admin gives a service a new name or closes it (`PATCH /api/v1/services/{id}`). A
closed service stays in the list, marked `"active": false`, and in the cases it is
already part of; but a command that would bring it into a case is refused with 400
naming the field, and nothing is recorded. Nobody is registered to it, and it is not
reopened.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.test_staff import open_case_at_level_1

API = "/api/v1"


@pytest.fixture
def call(as_user):
    async def go(user: str, method: str, url: str, body: Any = None, expect: int = 200):
        answer = await as_user(user, method, url, json=body)
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None
    return go


async def services(call) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in (await call("kari", "GET", f"{API}/services"))["items"]}


async def test_every_service_says_whether_it_is_active(call):
    listed = await services(call)
    assert listed["ppt-lister"] == {
        "id": "ppt-lister", "name": "PPT Lister", "sector": "ppt",
        "municipalities": ["4225", "4227"], "inter_municipal": True, "active": True,
    }
    made = await call("adam", "POST", f"{API}/services", {
        "id": "bup-lister", "name": "BUP Lister", "sector": "bup",
        "municipalities": ["4225"]}, expect=201)
    assert made["active"] is True


async def test_an_admin_renames_a_service(call):
    renamed = await call("adam", "PATCH", f"{API}/services/ppt-lister",
                         {"name": "  PPT Lister IKS "})
    assert renamed["name"] == "PPT Lister IKS" and renamed["active"] is True
    assert (await services(call))["ppt-lister"]["name"] == "PPT Lister IKS"


async def test_an_admin_closes_a_service_and_it_stays_in_the_list(call):
    closed = await call("adam", "PATCH", f"{API}/services/hs-lyngdal", {"active": False})
    assert closed["active"] is False and closed["name"] == "Helsestasjonen i Lyngdal"
    again = await call("adam", "PATCH", f"{API}/services/hs-lyngdal", {"active": False})
    assert again == closed
    assert (await services(call))["hs-lyngdal"]["active"] is False


async def test_a_closed_service_is_not_reopened(as_user, call):
    await call("adam", "PATCH", f"{API}/services/hs-lyngdal", {"active": False})
    answer = await as_user("adam", "PATCH", f"{API}/services/hs-lyngdal",
                           json={"active": True})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "active"
    assert (await services(call))["hs-lyngdal"]["active"] is False
    # Saying an open service is active changes nothing.
    same = await call("adam", "PATCH", f"{API}/services/ppt-lister", {"active": True})
    assert same["active"] is True


@pytest.mark.parametrize(("user", "body", "status", "field"), [
    pytest.param("kari", {"name": "Noe annet"}, 403, None, id="a worker"),
    pytest.param("kim", {"active": False}, 403, None, id="a coordinator"),
    pytest.param("eva", {"active": False}, 403, None, id="an evaluator"),
    pytest.param("adam", {"name": "   "}, 400, "name", id="an empty name"),
    pytest.param("adam", {"name": "x" * 201}, 400, "name", id="a name too long"),
    pytest.param("adam", {"sector": "skole"}, 400, "sector", id="a field that cannot change"),
])
async def test_who_may_change_a_service_and_how(as_user, call, user, body, status, field):
    answer = await as_user(user, "PATCH", f"{API}/services/ppt-lister", json=body)
    assert answer.status_code == status, answer.text
    if field:
        assert answer.json()["errors"][0]["field"] == field
    assert (await services(call))["ppt-lister"] == {
        "id": "ppt-lister", "name": "PPT Lister", "sector": "ppt",
        "municipalities": ["4225", "4227"], "inter_municipal": True, "active": True,
    }


async def test_an_unknown_service_is_not_found(as_user):
    answer = await as_user("adam", "PATCH", f"{API}/services/finnes-ikke",
                           json={"active": False})
    assert answer.status_code == 404


async def test_a_closed_service_cannot_be_brought_into_a_case_but_stays_in_its_cases(
    as_user, call
):
    case_id = await open_case_at_level_1(call)
    url = f"{API}/cases/{case_id}"
    await call("adam", "PATCH", f"{API}/services/hs-lyngdal", {"active": False})
    before = await call("kari", "GET", url)

    for path, body, field in [
        ("consents", {"given_by": "guardian", "services": ["hauge-skole", "hs-lyngdal"],
                      "purpose": "Mer samarbeid.", "valid_until": "2026-12-31",
                      "form": "oral"}, "services"),
        ("participants", {"service": "hs-lyngdal"}, "service"),
        ("handovers", {"to_user": "hanne", "to_service": "hs-lyngdal"}, "to_service"),
        ("responsibility-group", {"services": ["hauge-skole", "hs-lyngdal"]}, "services"),
        ("actions", {"description": "Samtaler.", "responsible_service": "hs-lyngdal",
                     "evaluate_by": "2026-06-01"}, "responsible_service"),
    ]:
        answer = await as_user("kari", "POST", f"{url}/{path}", json=body)
        assert answer.status_code == 400, (path, answer.text)
        problem = answer.json()
        assert problem["code"] == "invalid-value"
        assert problem["errors"] == [{"field": field, "message": "Tjenesten er lagt ned."}]

    after = await call("kari", "GET", url)
    assert after == before  # nothing was recorded
    # The consent given before it closed still names it.
    assert "hs-lyngdal" in after["consents"][0]["services"]


async def test_a_worker_of_a_closed_service_cannot_open_a_case(as_user, call):
    await call("adam", "PATCH", f"{API}/services/bhg-solsikken", {"active": False})
    answer = await as_user("kari", "POST", f"{API}/cases", json={
        "child": {"name": "Ola Nordmann"}, "concern": "Ola virker urolig."})
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "service"


async def test_nobody_is_registered_to_a_closed_service(as_user, call):
    await call("adam", "PATCH", f"{API}/services/hs-lyngdal", {"active": False})
    answer = await as_user("adam", "POST", f"{API}/staff", json={
        "id": "siri", "name": "Siri Dahl", "service": "hs-lyngdal", "roles": ["worker"],
        "municipalities": ["4225"]})
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "service", "message": "Tjenesten er lagt ned."}]
    # Those it has stay, and can still be changed and deactivated.
    hanne = await call("adam", "PATCH", f"{API}/staff/hanne", {"name": "Hanne Berg Lie"})
    assert (hanne["name"], hanne["service"]) == ("Hanne Berg Lie", "hs-lyngdal")
    gone = await call("adam", "PATCH", f"{API}/staff/hanne", {"active": False})
    assert gone["active"] is False
