"""The staff directory (docs/api.md, "Staff"), as an admin and a case worker meet it.

An admin registers, changes and deactivates staff; everyone signed in may look them
up, seeing only id, name, service and whether they are active. A handover, a
coordinator or a participant's contact must be an active member of the named
service: a mistyped id is refused, naming the field, and nothing is recorded. A
deactivated member's token stops working at the next request.
"""

from __future__ import annotations

from typing import Any

import pytest

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
NEW = {
    "id": "siri", "name": "Siri Dahl", "email": "siri.dahl@lyngdal.kommune.no",
    "service": "hauge-skole", "roles": ["worker"], "municipalities": ["4225"],
    "login": {"subject": "entra-7f3a"},
}


@pytest.fixture
def call(as_user):
    async def go(user: str, method: str, url: str, body: Any = None, expect: int = 200):
        answer = await as_user(user, method, url, json=body)
        assert answer.status_code == expect, answer.text
        return answer.json() if answer.content else None
    return go


async def open_case_at_level_1(call) -> str:
    case = await call("kari", "POST", f"{API}/cases", {
        "child": {"name": "Ola Nordmann", "birth_date": "2019-05-04"},
        "concern": "Ola virker urolig."}, expect=201)
    path = f"{API}/cases/{case['id']}"
    for step in ("vurdering", "konkretisering", "deling", "beslutning"):
        await call("kari", "POST", f"{path}/level0-steps", {"step": step, "text": "Gjort."},
                   expect=201)
    await call("kari", "POST", f"{path}/consents", {
        "given_by": "guardian", "services": ["hauge-skole", "ppt-lister", "hs-lyngdal"],
        "purpose": "Samarbeid om Ola.", "valid_until": "2026-12-31", "form": "written"},
        expect=201)
    await call("kari", "POST", f"{path}/level", {"level": 1, "reason": "Tiltak."})
    return case["id"]


async def test_an_admin_registers_a_staff_member_and_everyone_can_look_them_up(call):
    made = await call("adam", "POST", f"{API}/staff", NEW, expect=201)
    assert made == {
        "id": "siri", "name": "Siri Dahl", "service": "hauge-skole", "active": True,
        "email": "siri.dahl@lyngdal.kommune.no", "roles": ["worker"],
        "municipalities": ["4225"], "has_login": True,
    }
    assert "entra-7f3a" not in str(made)  # the login subject is never given back

    # A worker sees the id, name, service and whether the person is active; no more.
    seen = await call("kari", "GET", f"{API}/staff/siri")
    assert seen == {"id": "siri", "name": "Siri Dahl", "service": "hauge-skole",
                    "active": True}
    listed = await call("kari", "GET", f"{API}/staff?service=hauge-skole")
    assert [m["id"] for m in listed["items"]] == ["per", "siri"]
    assert listed["next"] is None


async def test_the_list_comes_in_pages_with_a_cursor(call):
    first = await call("adam", "GET", f"{API}/staff?limit=2")
    assert [m["id"] for m in first["items"]] == ["hanne", "kari"]
    second = await call("adam", "GET", f"{API}/staff?limit=2&cursor={first['next']}")
    assert [m["id"] for m in second["items"]] == ["kim", "per"]
    last = await call("adam", "GET", f"{API}/staff?limit=2&cursor={second['next']}")
    assert [m["id"] for m in last["items"]] == ["pia"] and last["next"] is None


async def test_only_an_admin_registers_or_changes_staff(call):
    problem = await call("kari", "POST", f"{API}/staff", NEW, expect=403)
    assert problem["status"] == 403
    await call("kari", "PATCH", f"{API}/staff/per", {"active": False}, expect=403)
    assert (await call("kari", "GET", f"{API}/staff/per"))["active"] is True


async def test_an_id_is_registered_once(call):
    await call("adam", "POST", f"{API}/staff", NEW, expect=201)
    problem = await call("adam", "POST", f"{API}/staff", {**NEW, "name": "Siri Annen"},
                         expect=409)
    assert problem["code"] == "staff-exists"
    assert (await call("adam", "GET", f"{API}/staff/siri"))["name"] == "Siri Dahl"


@pytest.mark.parametrize(("body", "field"), [
    ({**NEW, "service": "ingen-slik"}, "service"),
    ({**NEW, "service": None}, "service"),
    ({**NEW, "municipalities": ["4227"]}, "municipalities"),
    ({**NEW, "email": "siri"}, "email"),
    ({**NEW, "roles": ["rektor"]}, "roles"),
    ({**NEW, "name": " "}, "name"),
])
async def test_bad_staff_details_are_refused_naming_the_field(call, body, field):
    problem = await call("adam", "POST", f"{API}/staff", body, expect=400)
    assert field in str(problem), problem
    await call("adam", "GET", f"{API}/staff/siri", expect=404)


async def test_a_login_belongs_to_one_staff_member(call):
    await call("adam", "POST", f"{API}/staff", NEW, expect=201)
    other = {**NEW, "id": "siri2", "login": {"subject": "entra-7f3a"}}
    problem = await call("adam", "POST", f"{API}/staff", other, expect=400)
    assert "login" in str(problem)


async def test_an_admin_changes_details_and_the_rest_stays(call):
    await call("adam", "POST", f"{API}/staff", NEW, expect=201)
    changed = await call("adam", "PATCH", f"{API}/staff/siri",
                         {"name": "Siri Dahl Hansen", "email": None})
    assert changed["name"] == "Siri Dahl Hansen"
    assert "email" not in changed
    assert changed["service"] == "hauge-skole" and changed["has_login"] is True
    removed = await call("adam", "PATCH", f"{API}/staff/siri", {"login": None})
    assert removed["has_login"] is False


async def test_a_deactivated_members_token_is_refused_at_the_next_request(call, as_user):
    assert (await as_user("per", "GET", f"{API}/inbox")).status_code == 200
    await call("adam", "PATCH", f"{API}/staff/per", {"active": False})
    answer = await as_user("per", "GET", f"{API}/inbox")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    assert "deaktivert" in answer.json()["detail"]
    await call("adam", "PATCH", f"{API}/staff/per", {"active": True})
    assert (await as_user("per", "GET", f"{API}/inbox")).status_code == 200


async def test_a_handover_to_a_mistyped_user_is_refused_and_nothing_is_recorded(call):
    case_id = await open_case_at_level_1(call)
    before = await call("kari", "GET", f"{API}/cases/{case_id}/log")
    problem = await call("kari", "POST", f"{API}/cases/{case_id}/handovers",
                         {"to_user": "pr", "to_service": "hauge-skole"}, expect=400)
    assert "to_user" in str(problem)
    assert "«pr»" in problem["detail"] or "pr" in str(problem["errors"])
    case = await call("kari", "GET", f"{API}/cases/{case_id}")
    assert case["pending_handover"] is None
    assert await call("kari", "GET", f"{API}/cases/{case_id}/log") == before


async def test_a_handover_must_name_an_active_member_of_the_receiving_service(call):
    case_id = await open_case_at_level_1(call)
    url = f"{API}/cases/{case_id}/handovers"
    # Pia works in PPT, not in the school.
    problem = await call("kari", "POST", url, {"to_user": "pia", "to_service": "hauge-skole"},
                         expect=400)
    assert "to_user" in str(problem) and "tjenesten" in problem["detail"]
    await call("adam", "PATCH", f"{API}/staff/per", {"active": False})
    problem = await call("kari", "POST", url, {"to_user": "per", "to_service": "hauge-skole"},
                         expect=400)
    assert "ikke lenger aktiv" in problem["detail"]
    await call("adam", "PATCH", f"{API}/staff/per", {"active": True})
    made = await call("kari", "POST", url, {"to_user": "per", "to_service": "hauge-skole"},
                      expect=201)
    assert made["status"] == "pending"


async def test_a_coordinator_and_a_participants_contact_must_be_staff_of_their_service(call):
    case_id = await open_case_at_level_1(call)
    path = f"{API}/cases/{case_id}"
    problem = await call("kim", "POST", f"{path}/coordinator",
                         {"user": "hane", "service": "hs-lyngdal"}, expect=400)
    assert "user" in str(problem)
    problem = await call("kari", "POST", f"{path}/participants",
                         {"service": "ppt-lister", "user": "per"}, expect=400)
    assert "user" in str(problem)
    case = await call("kari", "GET", path)
    assert case["coordinator"] is None
    assert "ppt-lister" not in {p["service"] for p in case["participants"]}
    await call("kari", "POST", f"{path}/participants", {"service": "ppt-lister", "user": "pia"},
               expect=201)
