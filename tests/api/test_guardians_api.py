"""The guardians on a case, and entries kept from them, over HTTP (docs/api.md, "Cases").

The holder records a guardian (name, relation, fødselsnummer); the number is kept only
sealed and as a keyed blind index, and no answer, log line or stored event shows it in
clear. A wrong number is a 400 naming `national_id` and records nothing; only the holder
records, one person once; removing is a step of its own. From 12 the child can ask that
an entry is kept from the guardians: the log says so; for a younger child it is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from stafettlogg.application import Stafettlogg
from tests.api.conftest import NOW
from tests.api.story import national_id_for

API = "/api/v1"
MOTHER = "02013299997"
FATHER = "30108299920"


async def open_case(as_user: Any, *, born: date) -> str:
    response = await as_user("kari", "post", f"{API}/cases", json={
        "child": {"name": "Sofie Foresattesen", "birth_date": born.isoformat(),
                  "national_id": national_id_for(born)},
        "concern": "Sofie er ofte lei seg når hun blir hentet.",
    })
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_the_holder_records_a_guardian_whose_number_is_never_shown(
    as_user: Any, stafettlogg: Stafettlogg
) -> None:
    case_id = await open_case(as_user, born=date(2019, 5, 4))
    response = await as_user("kari", "post", f"{API}/cases/{case_id}/guardians", json={
        "name": "Mona Foresattesen", "relation": "mother", "national_id": MOTHER})
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "guardian"
    guardian_id = response.json()["id"]

    case = (await as_user("kari", "get", f"{API}/cases/{case_id}")).json()
    listed = (await as_user("kari", "get", f"{API}/cases")).json()["items"]
    assert [c["version"] for c in listed if c["id"] == case_id] == [case["version"]]
    assert case["guardians"] == [{"id": guardian_id, "relation": "mother",
                                  "since": case["guardians"][0]["since"],
                                  "can_sign_in": True, "name": "Mona Foresattesen"}]
    log = (await as_user("kari", "get", f"{API}/cases/{case_id}/log")).json()
    assert [e["kind"] for e in log["entries"]][-1] == "guardian-recorded"
    access = (await as_user("kari", "get", f"{API}/cases/{case_id}/access-log")).json()
    answers = [response.text, str(case), str(log), str(access)]
    assert all(MOTHER not in a for a in answers)
    assert "Mona" not in str(log) and "Mona" not in str(access)
    assert "record-guardian" in str(access)

    # Stored: the number sealed, and its blind index (a keyed hash) to find her at sign-in.
    (event,) = [e for e in stafettlogg.events.get(UUID(case_id))
                if type(e).__name__ == "GuardianRecorded"]
    assert MOTHER.encode() not in event.national_id and b"Mona" not in event.name
    assert event.login == stafettlogg.blind_index.of_guardian(MOTHER) != MOTHER
    assert len(event.login) == 64


async def test_a_wrong_number_is_refused_naming_the_field_and_nothing_is_recorded(
    as_user: Any
) -> None:
    case_id = await open_case(as_user, born=date(2019, 5, 4))
    before = (await as_user("kari", "get", f"{API}/cases/{case_id}")).json()["version"]
    response = await as_user("kari", "post", f"{API}/cases/{case_id}/guardians", json={
        "name": "Mona", "relation": "mother", "national_id": "12345678901"})
    assert response.status_code == 400
    assert "national_id" in response.text and "12345678901" not in response.text
    bad_relation = await as_user("kari", "post", f"{API}/cases/{case_id}/guardians", json={
        "name": "Mona", "relation": "tante"})
    assert bad_relation.status_code == 400 and "relation" in bad_relation.text
    after = (await as_user("kari", "get", f"{API}/cases/{case_id}")).json()
    assert after["version"] == before and after["guardians"] == []


async def test_only_the_holder_records_one_person_once_and_removing_is_a_step(
    as_user: Any
) -> None:
    case_id = await open_case(as_user, born=date(2019, 5, 4))
    path = f"{API}/cases/{case_id}/guardians"
    mother = {"name": "Mona", "relation": "mother", "national_id": MOTHER}
    refused = await as_user("pia", "post", path, json=mother)
    assert refused.status_code in (404, 409)
    first = await as_user("kari", "post", path, json=mother)
    again = await as_user("kari", "post", path, json={**mother, "relation": "other"})
    assert again.status_code == 409 and again.json()["code"] == "guardian-exists"
    father = await as_user("kari", "post", path, json={"name": "Frode", "relation": "father",
                                                        "national_id": FATHER})
    assert father.status_code == 201
    removed = await as_user("kari", "delete", f"{path}/{first.json()['id']}")
    assert removed.status_code == 200
    assert [g["relation"] for g in removed.json()["guardians"]] == ["father"]
    gone = await as_user("kari", "delete", f"{path}/{first.json()['id']}")
    assert gone.status_code == 404
    log = (await as_user("kari", "get", f"{API}/cases/{case_id}/log")).json()
    assert [e["kind"] for e in log["entries"]][-3:] == [
        "guardian-recorded", "guardian-recorded", "guardian-removed"]


async def test_from_12_an_entry_is_kept_from_the_guardians_at_the_childs_request(
    as_user: Any
) -> None:
    born = date(NOW.year - 13, 1, 15)  # 13 years old
    case_id = await open_case(as_user, born=born)
    entry = await as_user("kari", "post", f"{API}/cases/{case_id}/entries", json={
        "kind": "conversation", "text": "Sofie fortalte om kjæresten sin."})
    entry_id = entry.json()["id"]
    kept = await as_user("kari", "post", f"{API}/cases/{case_id}/entries/{entry_id}/withhold",
                         json={"reason": "Sofie ba om at foreldrene ikke får se dette."})
    assert kept.status_code == 200, kept.text
    log = (await as_user("kari", "get", f"{API}/cases/{case_id}/log")).json()["entries"]
    (marked,) = [e for e in log if e["kind"] == "conversation"]
    assert marked["details"]["entry_id"] == entry_id
    assert marked["withheld"] is True and marked["text"] == "Sofie fortalte om kjæresten sin."
    assert log[-1]["kind"] == "entry-withheld"
    assert not any(e["withheld"] for e in log if e is not marked)


async def test_below_12_nothing_is_kept_from_the_guardians(as_user: Any) -> None:
    case_id = await open_case(as_user, born=date(NOW.year - 8, 1, 15))
    entry = await as_user("kari", "post", f"{API}/cases/{case_id}/entries", json={
        "kind": "note", "text": "Notat."})
    refused = await as_user(
        "kari", "post", f"{API}/cases/{case_id}/entries/{entry.json()['id']}/withhold",
        json={"reason": "Barnet ba om det."})
    assert refused.status_code == 409 and refused.json()["code"] == "child-too-young"
    assert "12 år" in refused.json()["detail"]
