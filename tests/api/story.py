"""One child's case from the first wondering to closing, over the HTTP API.

`run_story(call, tokens, today)` plays the whole story and checks every answer on
the way. It knows nothing of how requests travel: `call(method, url, token,
json=None, headers=None)` returns `(status, json_body_or_None, headers)`, so the same
story runs through the ASGI test client (`test_story.py`) and over a real socket
against `python -m stafettlogg serve` (`test_server_process.py`).

Dates (birth date, consent period, meeting day, evaluation dates) are relative to
`today`, the date of the clock the application under test uses.

The cast (the same users as `tests/api/conftest.py`, all in Lyngdal, 4225):

* kari, pedagogisk leder in Solsikken barnehage, opens the case and holds the baton;
* pia, PPT Lister (inter-municipal), joins at level 2;
* per, teacher at Hauge skole, takes over the baton at school start;
* hanne, helsestasjonen, joins and becomes the case's koordinator;
* kim, a coordinator of the municipality (also at the helsestasjon), appoints her.

At the end the case's access log must show, in order, every read and every write
the story made (and nothing for refused requests, replays, inbox or listings).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, timedelta
from typing import Any

from domain.national_id import with_check_digits

Call = Callable[..., Awaitable[tuple[int, Any, Mapping[str, str]]]]

MUNICIPALITY = "4225"

# Token claims of the story's users (the CLI issues the same in the server test).
STORY_USERS: dict[str, dict[str, Any]] = {
    "kari": {"roles": ["worker"], "service": "bhg-solsikken", "municipalities": ["4225"]},
    "per": {"roles": ["worker"], "service": "hauge-skole", "municipalities": ["4225"]},
    "pia": {"roles": ["worker"], "service": "ppt-lister", "municipalities": ["4225", "4227"]},
    "hanne": {"roles": ["worker"], "service": "hs-lyngdal", "municipalities": ["4225"]},
    "kim": {"roles": ["worker", "coordinator"], "service": "hs-lyngdal",
            "municipalities": ["4225"]},
}

# The services the story needs (registered before it runs).
STORY_SERVICES: list[tuple[str, str, str, list[str]]] = [
    ("bhg-solsikken", "Solsikken barnehage", "barnehage", ["4225"]),
    ("hauge-skole", "Hauge skole", "skole", ["4225"]),
    ("ppt-lister", "PPT Lister", "ppt", ["4225", "4227"]),
    ("hs-lyngdal", "Helsestasjonen i Lyngdal", "helsestasjon", ["4225"]),
]

CHILD_NAME = "Emma Fjellstad Testesen"
CONCERN = "Emma trekker seg unna i lek og sier lite; vi undrer oss over språket."


def national_id_for(birth: date) -> str:
    """A fødselsnummer valid under the classic rule for a child born on `birth`
    (individual numbers 500-999 are those of children born 2000-2039)."""
    assert 2000 <= birth.year <= 2039
    stem = birth.strftime("%d%m%y")
    for individual in range(500, 1000):
        number = with_check_digits(f"{stem}{individual:03d}")
        if number is not None:
            return number
    raise AssertionError("no valid individual number")  # pragma: no cover


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _is_problem(status: int, body: Any, headers: Mapping[str, str]) -> bool:
    return (
        headers.get("content-type", "").startswith("application/problem+json")
        and isinstance(body, dict)
        and body.get("status") == status
        and all(body.get(k) for k in ("type", "title", "detail"))
    )


class Story:
    """Calls the API as the story's users and keeps the access-log lines it expects."""

    def __init__(self, call: Call, tokens: Mapping[str, str]) -> None:
        self._call = call
        self.tokens = tokens
        self.trail: list[tuple[str, str]] = []

    async def __call__(
        self,
        user: str,
        method: str,
        url: str,
        expect: int,
        json: Any = None,
        *,
        logs: str | None = None,
        headers: Mapping[str, str] | None = None,
        code: str | None = None,
    ) -> tuple[Any, Mapping[str, str]]:
        """One request; `expect` is the status, `logs` the access-log action it records."""
        status, body, answer_headers = await self._call(
            method, url, self.tokens[user], json=json, headers=dict(headers or {})
        )
        assert status == expect, f"{user} {method} {url}: {status} {body}"
        if status >= 400:
            assert _is_problem(status, body, answer_headers), (status, body, answer_headers)
            if code is not None:
                assert body["code"] == code, body
            # A refused request carries nothing of the child.
            assert CHILD_NAME not in str(body)
        if logs is not None:
            self.trail.append((user, logs))
        return body, answer_headers


async def run_story(call: Call, tokens: Mapping[str, str], today: date) -> dict[str, Any]:
    """Play the story; return what the tests may want to look at afterwards."""
    s = Story(call, tokens)
    birth = years_before(today, 6) - timedelta(days=100)
    national_id = national_id_for(birth)
    consent_until = today + timedelta(days=365)

    # --- Level 0: kari wonders, describes, shares and decides ---------------------
    case, headers = await s("kari", "POST", "/api/v1/cases", 201, {
        "child": {"name": CHILD_NAME, "birth_date": birth.isoformat(),
                  "national_id": national_id},
        "concern": CONCERN,
    }, logs="open-case")
    case_id = case["id"]
    url = f"/api/v1/cases/{case_id}"
    assert case["status"] == "open"
    assert case["level"] == 0
    assert case["municipality"] == MUNICIPALITY
    assert case["holder"] == {"user": "kari", "service": "bhg-solsikken"}
    assert case["pending_handover"] is None
    assert [p["service"] for p in case["participants"]] == ["bhg-solsikken"]
    assert case["consents"] == []
    assert case["coordinator"] is None
    assert case["responsibility_group"] is False
    assert case["individual_plan"] is False
    assert headers.get("etag") == f'"{case["version"]}"'
    # The national id never comes back, in any form.
    assert national_id not in str(case)

    body, headers = await s("kari", "GET", url, 200, logs="read-case")
    assert body["child"]["name"] == CHILD_NAME
    assert body["child"]["birth_date"] == birth.isoformat()
    assert body["child"]["has_national_id"] is True
    assert body["concern"] == CONCERN
    assert body["age_band"] == "6-12"
    assert headers.get("etag") == f'"{body["version"]}"'
    assert national_id not in str(body)

    for step, text in [
        ("vurdering", "Lite verbal i samlingsstund, leker mest alene."),
        ("konkretisering", "Tre observasjoner over to uker: svarer med enkeltord."),
        ("deling", "Drøftet med styrer og med foreldrene, som kjenner seg igjen."),
        ("beslutning", "Vi går videre på nivå 1 med tiltak i barnehagen."),
    ]:
        created, _ = await s("kari", "POST", f"{url}/level0-steps", 201,
                             {"step": step, "text": text}, logs="level0-step")
        assert created["case"] == case_id
    case, _ = await s("kari", "POST", f"{url}/level", 200,
                      {"level": 1, "reason": "Tiltak i egen tjeneste sammen med familien."},
                      logs="change-level")
    assert case["level"] == 1
    assert case["level0_decision_overdue"] is False
    await s("kari", "POST", f"{url}/entries", 201,
            {"kind": "positive", "text": "Emma sang med i samlingsstund i dag!"},
            logs="add-entry")

    # Without consent PPT cannot join; the refusal records nothing.
    await s("kari", "POST", f"{url}/participants", 409, {"service": "ppt-lister"},
            code="consent-required")

    # --- Consent, PPT joins, level 2 ---------------------------------------------------
    consent, _ = await s("kari", "POST", f"{url}/consents", 201, {
        "given_by": "guardian",
        "services": ["ppt-lister", "hauge-skole", "hs-lyngdal"],
        "purpose": "Samarbeid om språk og overgang barnehage-skole.",
        "valid_until": consent_until.isoformat(),
        "form": "written",
    }, logs="register-consent")
    consent_id = consent["id"]
    assert consent_id

    case, _ = await s("kari", "POST", f"{url}/participants", 201,
                      {"service": "ppt-lister", "user": "pia"}, logs="add-participant")
    assert [p["service"] for p in case["participants"]] == ["bhg-solsikken", "ppt-lister"]
    assert [(c["id"], c["status"], c["valid_until"]) for c in case["consents"]] == [
        (consent_id, "active", consent_until.isoformat())
    ]
    assert sorted(case["consents"][0]["services"]) == ["hauge-skole", "hs-lyngdal", "ppt-lister"]

    # Level 2 with an Idempotency-Key: the repeat gives the first answer, records nothing.
    level2 = {"level": 2, "reason": "Felles vurdering med PPT."}
    key = {"Idempotency-Key": f"story-level2-{case_id}"}
    case, first = await s("kari", "POST", f"{url}/level", 200, level2, headers=key,
                          logs="change-level")
    assert case["level"] == 2
    again, replay = await s("kari", "POST", f"{url}/level", 200, level2, headers=key)
    assert again == case
    assert replay.get("idempotent-replayed") == "true"

    # PPT reads and writes.
    body, _ = await s("pia", "GET", url, 200, logs="read-case")
    assert body["child"]["name"] == CHILD_NAME
    await s("pia", "POST", f"{url}/entries", 201,
            {"kind": "observation", "text": "Språkkartlegging: ordforråd under alder."},
            logs="add-entry")
    log, _ = await s("pia", "GET", f"{url}/log", 200, logs="read-log")
    assert log["entries"][-1]["kind"] == "observation"
    assert log["entries"][-1]["text"] == "Språkkartlegging: ordforråd under alder."
    assert log["entries"][-1]["user"] == "pia"
    assert log["entries"][-1]["service"] == "ppt-lister"

    # --- School start: the baton goes from barnehage to skole --------------------------
    handover, _ = await s("kari", "POST", f"{url}/handovers", 201, {
        "to_user": "per", "to_service": "hauge-skole",
        "note": "Emma begynner i 1. klasse; PPT følger opp språket.",
    }, logs="request-handover")
    handover_id = handover["id"]
    assert handover_id
    body, headers = await s("kari", "GET", url, 200, logs="read-case")
    # The holder changes only when the recipient accepts.
    assert body["holder"] == {"user": "kari", "service": "bhg-solsikken"}
    assert body["pending_handover"]["id"] == handover_id
    assert body["pending_handover"]["to_user"] == "per"
    assert body["pending_handover"]["to_service"] == "hauge-skole"
    etag_before_accept = headers.get("etag")

    inbox, _ = await s("per", "GET", "/api/v1/inbox", 200)
    assert [(h["case"], h["id"]) for h in inbox["handovers"]] == [(case_id, handover_id)]
    # Only the named recipient may accept; the refusal records nothing.
    await s("pia", "POST", f"{url}/handovers/{handover_id}/accept", 409, code="not-recipient")
    # The recipient reads the case before taking the baton.
    body, _ = await s("per", "GET", url, 200, logs="read-case")
    assert body["child"]["name"] == CHILD_NAME
    assert body["holder"]["user"] == "kari"

    case, _ = await s("per", "POST", f"{url}/handovers/{handover_id}/accept", 200,
                      headers={"If-Match": etag_before_accept}, logs="accept-handover")
    assert case["holder"] == {"user": "per", "service": "hauge-skole"}
    assert case["pending_handover"] is None
    assert "hauge-skole" in [p["service"] for p in case["participants"]]
    assert case["level"] == 2
    # The old holder is no longer the holder.
    await s("kari", "POST", f"{url}/level", 409, {"level": 3, "reason": "x"}, code="not-holder")
    inbox, _ = await s("per", "GET", "/api/v1/inbox", 200)
    assert inbox["handovers"] == []
    mine, _ = await s("per", "GET", "/api/v1/cases?holder=me", 200)
    assert [c["id"] for c in mine["items"]] == [case_id]
    kari_mine, _ = await s("kari", "GET", "/api/v1/cases?holder=me", 200)
    assert kari_mine["items"] == []

    # --- Level 3: helsestasjon, ansvarsgruppe, koordinator, IP ----------------------
    # The municipality's coordinator sees metadata only while her service is not in it.
    body, _ = await s("kim", "GET", url, 200, logs="read-case")
    assert body.get("child") is None
    assert body.get("concern") is None
    assert CHILD_NAME not in str(body)
    await s("kim", "GET", f"{url}/log", 403)

    case, _ = await s("per", "POST", f"{url}/participants", 201,
                      {"service": "hs-lyngdal", "user": "hanne"}, logs="add-participant")
    assert [p["service"] for p in case["participants"]] == [
        "bhg-solsikken", "ppt-lister", "hauge-skole", "hs-lyngdal"
    ]
    case, _ = await s("per", "POST", f"{url}/level", 200,
                      {"level": 3, "reason": "Sammensatte behov; flere tjenester samtidig."},
                      logs="change-level")
    assert case["level"] == 3
    case, _ = await s("per", "POST", f"{url}/responsibility-group", 200,
                      {"services": ["hauge-skole", "ppt-lister", "hs-lyngdal"]},
                      logs="establish-responsibility-group")
    assert case["responsibility_group"] is True
    # Only a coordinator of the municipality appoints the koordinator.
    await s("per", "POST", f"{url}/coordinator", 409,
            {"user": "hanne", "service": "hs-lyngdal"}, code="not-authorised")
    case, _ = await s("kim", "POST", f"{url}/coordinator", 200,
                      {"user": "hanne", "service": "hs-lyngdal"}, logs="appoint-coordinator")
    assert case["coordinator"] == {"user": "hanne", "service": "hs-lyngdal"}
    assert case["holder"] == {"user": "per", "service": "hauge-skole"}
    # The koordinator starts the individual plan.
    case, _ = await s("hanne", "POST", f"{url}/individual-plan", 200,
                      logs="start-individual-plan")
    assert case["individual_plan"] is True
    assert case["responsibility_group"] is True
    assert case["level"] == 3

    # --- Meetings, actions, evaluations ------------------------------------------------
    await s("per", "POST", f"{url}/meetings", 201, {
        "held_on": today.isoformat(),
        "services": ["hauge-skole", "ppt-lister", "hs-lyngdal"],
        "minutes": "Første møte i ansvarsgruppa med foreldrene. Mål og tiltak avtalt.",
    }, logs="hold-meeting")
    language, _ = await s("per", "POST", f"{url}/actions", 201, {
        "description": "Språkgruppe to ganger i uka.",
        "responsible_service": "ppt-lister",
        "evaluate_by": (today + timedelta(days=42)).isoformat(),
    }, logs="agree-action")
    health, _ = await s("hanne", "POST", f"{url}/actions", 201, {
        "description": "Hørselstest på helsestasjonen.",
        "responsible_service": "hs-lyngdal",
        "evaluate_by": (today + timedelta(days=14)).isoformat(),
    }, logs="agree-action")
    assert language["id"] != health["id"]
    await s("pia", "POST", f"{url}/actions/{language['id']}/evaluations", 201,
            {"outcome": "continue", "text": "God fremgang; fortsetter ut semesteret."},
            logs="evaluate-action")
    await s("hanne", "POST", f"{url}/actions/{health['id']}/evaluations", 201,
            {"outcome": "completed", "text": "Normal hørsel."}, logs="evaluate-action")
    await s("per", "POST", f"{url}/meetings", 201, {
        "held_on": today.isoformat(),
        "services": ["hauge-skole", "ppt-lister"],
        "minutes": "Oppfølgingsmøte: språkgruppa virker.",
    }, logs="hold-meeting")
    await s("pia", "POST", f"{url}/actions/{language['id']}/evaluations", 201,
            {"outcome": "completed", "text": "Målet er nådd."}, logs="evaluate-action")
    body, _ = await s("hanne", "GET", url, 200, logs="read-case")
    assert {a["id"]: a["status"] for a in body["actions"]} == {
        language["id"]: "completed", health["id"]: "completed"
    }
    await s("per", "POST", f"{url}/satisfaction", 201, {"respondent": "guardian", "score": 4},
            logs="record-satisfaction")

    # --- Closing -----------------------------------------------------------------------
    body, headers = await s("per", "GET", url, 200, logs="read-case")
    # A stale ETag is refused and records nothing.
    await s("per", "POST", f"{url}/close", 412, {"reason": "concern-resolved"},
            headers={"If-Match": etag_before_accept})
    case, _ = await s("per", "POST", f"{url}/close", 200,
                      {"reason": "concern-resolved", "note": "Bekymringen er avklart."},
                      headers={"If-Match": headers.get("etag")}, logs="close-case")
    assert case["status"] == "closed"
    assert case["level"] == 3
    assert case["holder"] == {"user": "per", "service": "hauge-skole"}
    # A closed case refuses every change.
    await s("per", "POST", f"{url}/entries", 409, {"kind": "note", "text": "Etterpå."},
            code="case-closed")
    closed, _ = await s("per", "GET", "/api/v1/cases?status=closed", 200)
    assert [c["id"] for c in closed["items"]] == [case_id]

    log, _ = await s("per", "GET", f"{url}/log", 200, logs="read-log")
    kinds = [e["kind"] for e in log["entries"]]
    assert kinds == [
        "case-opened",
        "level0-step", "level0-step", "level0-step", "level0-step",
        "level-changed",
        "positive",
        "consent-given",
        "service-joined",
        "level-changed",
        "observation",
        "handover-requested",
        "handover-accepted",
        "service-joined",
        "level-changed",
        "responsibility-group-established",
        "coordinator-appointed",
        "individual-plan-started",
        "meeting",
        "action", "action",
        "evaluation", "evaluation",
        "meeting",
        "evaluation",
        "satisfaction",
        "case-closed",
    ], kinds
    for entry in log["entries"]:
        assert entry["at"] and entry["user"]
    writers = [(e["user"], e["service"]) for e in log["entries"]]
    assert writers[0] == ("kari", "bhg-solsikken")
    assert writers[-1] == ("per", "hauge-skole")
    assert log["entries"][0]["text"] == CONCERN
    assert national_id not in str(log)

    # --- The access log: every read and write of the story, in order ----------------
    access, _ = await s("per", "GET", f"{url}/access-log", 200, logs="read-access-log")
    lines = access["items"]
    assert [(line["user"], line["action"]) for line in lines] == s.trail
    for line in lines:
        assert line["service"] == STORY_USERS[line["user"]]["service"], line
        assert line["at"]
    assert CHILD_NAME not in str(access) and national_id not in str(access)

    return {
        "case_id": case_id,
        "case": case,
        "handover_id": handover_id,
        "consent_id": consent_id,
        "actions": [language["id"], health["id"]],
        "log": log["entries"],
        "access_log": lines,
        "trail": list(s.trail),
        "national_id": national_id,
        "birth_date": birth,
    }
