"""Sharing without consent, over HTTP (docs/api.md, "Cases"): `POST .../statutory-sharing`.

The holder (or a coordinator) brings a service in without the family's consent by
naming the statutory basis and a reason. The service then sees the case; the case
says on which basis; the log and the access log show the act; the statistics count it
as its own indicator, under the service's sector. Without a basis or a reason it is a
Norwegian 400 naming the field; a service that consent lets in already needs no law
(409); nobody but the holder or a coordinator may do it; nothing is recorded by a
refusal.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from projections.indicators import count_month
from projections.system import CellKey
from stafettlogg.application import Stafettlogg

API = "/api/v1"
BASIS = "opplysningsplikt-barnevern"
REASON = "Skolen har meldt bekymring til barnevernet etter samtale med eleven."


async def open_case(as_user: Any) -> str:
    response = await as_user("kari", "post", f"{API}/cases", json={
        "child": {"name": "Nora Lovhjemmelsen"},
        "concern": "Nora har blåmerker flere dager på rad.",
    })
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_the_holder_brings_a_service_in_on_a_statutory_basis_and_it_sees_the_case(
    as_user: Any, stafettlogg: Stafettlogg
) -> None:
    case_id = await open_case(as_user)
    assert (await as_user("per", "get", f"{API}/cases/{case_id}")).status_code == 404
    response = await as_user("kari", "post", f"{API}/cases/{case_id}/statutory-sharing", json={
        "service": "hauge-skole", "basis": BASIS, "reason": REASON})
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["consents"] == []
    assert [(a["service"], a["basis"]) for a in case["statutory_access"]] == [
        ("hauge-skole", BASIS)]
    assert "hauge-skole" in [p["service"] for p in case["participants"]]

    # The school now takes part: it sees the case, the child and the log.
    seen = await as_user("per", "get", f"{API}/cases/{case_id}")
    assert seen.status_code == 200 and seen.json()["child"]["name"] == "Nora Lovhjemmelsen"
    listed = (await as_user("per", "get", f"{API}/cases")).json()["items"]
    assert case_id in [c["id"] for c in listed]
    log = (await as_user("per", "get", f"{API}/cases/{case_id}/log")).json()["entries"]
    step = [e for e in log if e["kind"] == "service-brought-in-by-law"]
    assert len(step) == 1 and step[0]["text"] == REASON
    assert [e["kind"] for e in log][-2:] == ["service-brought-in-by-law", "service-joined"]
    access = (await as_user("kari", "get", f"{API}/cases/{case_id}/access-log")).json()
    assert "bring-in-by-law" in [line["action"] for line in access["items"]]

    # Its own indicator, under the school's sector, at the case's level.
    stafettlogg.read_models.catch_up()
    counts = count_month(stafettlogg.read_models.views, 2026, 3).counts
    assert counts[CellKey("2026-03", "4225", "skole", "0", "services_brought_in_by_law")] == 1
    assert counts[CellKey("2026-03", "all", "all", "all", "services_brought_in_by_law")] == 1
    assert CellKey("2026-03", "4225", "skole", "0", "services_brought_in_by_law") in counts
    # The reason is sealed in the store, like every free text.
    (event,) = [e for e in stafettlogg.events.get(UUID(case_id))
                if type(e).__name__ == "ServiceBroughtInByLaw"]
    assert REASON.encode() not in bytes(event.reason)


async def test_without_a_basis_or_a_reason_it_is_refused_naming_the_field(
    as_user: Any
) -> None:
    case_id = await open_case(as_user)
    path = f"{API}/cases/{case_id}/statutory-sharing"
    before = (await as_user("kari", "get", f"{API}/cases/{case_id}")).json()["version"]
    no_reason = await as_user("kari", "post", path, json={
        "service": "hauge-skole", "basis": BASIS, "reason": ""})
    assert no_reason.status_code == 400 and "reason" in no_reason.text
    no_basis = await as_user("kari", "post", path, json={
        "service": "hauge-skole", "basis": "fordi", "reason": REASON})
    assert no_basis.status_code == 400 and "basis" in no_basis.text
    missing = await as_user("kari", "post", path, json={"service": "hauge-skole",
                                                        "reason": REASON})
    assert missing.status_code == 400 and "basis" in missing.text
    after = (await as_user("kari", "get", f"{API}/cases/{case_id}")).json()
    assert after["version"] == before and after["statutory_access"] == []


async def test_it_is_never_a_default_and_only_the_holder_or_a_coordinator_does_it(
    as_user: Any
) -> None:
    case_id = await open_case(as_user)
    path = f"{API}/cases/{case_id}/statutory-sharing"
    body = {"service": "hs-lyngdal", "basis": "avvergeplikt", "reason": REASON}
    consent = await as_user("kari", "post", f"{API}/cases/{case_id}/consents", json={
        "given_by": "guardian", "services": ["hauge-skole"], "purpose": "Samarbeid",
        "valid_until": "2026-12-31", "form": "written"})
    assert consent.status_code == 201, consent.text
    covered = await as_user("kari", "post", path, json={**body, "service": "hauge-skole"})
    assert covered.status_code == 409 and covered.json()["code"] == "access-without-law"
    joined = await as_user("kari", "post", f"{API}/cases/{case_id}/participants",
                           json={"service": "hauge-skole"})
    assert joined.status_code == 201
    not_holder = await as_user("per", "post", path, json=body)
    assert not_holder.status_code == 409 and not_holder.json()["code"] == "not-holder"
    by_coordinator = await as_user("kim", "post", path, json=body)
    assert by_coordinator.status_code == 201, by_coordinator.text
    assert [a["service"] for a in by_coordinator.json()["statutory_access"]] == ["hs-lyngdal"]
