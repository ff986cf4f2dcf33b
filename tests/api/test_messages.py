"""Validation messages are Norwegian, for people (stafettlogg/web/messages.py).

One request per kind of rule, against the real ASGI app: the answer's `errors` names
the field as the API spells it and the rule in bokmål, `detail` says the same, and
neither carries msgspec's or Litestar's English, a regular expression, or the value
that was sent.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from stafettlogg.web import messages
from stafettlogg.web.api import schemas
from stafettlogg.web.messages import allowed_values, norwegian

API = "/api/v1"
CASE = "{case}"  # replaced by the id of a case Kari opened
CONSENT = {"given_by": "guardian", "services": ["hauge-skole"], "purpose": "Samarbeid",
           "valid_until": "2026-12-31", "form": "written"}
MEETING = {"held_on": "2026-03-01", "services": ["hauge-skole"], "minutes": "Møte."}
STAFF = {"id": "siri", "name": "Siri Dahl", "roles": ["worker"], "service": "hauge-skole"}
SERVICE_ID = ("må være en tjeneste-id: små bokstaver (a-z), sifre og bindestrek, 2-63 tegn, "
              "og ikke begynne med bindestrek")
STAFF_ID = ("må være en ansatt-id: bokstaver (A-Z, a-z), sifre og tegnene . _ @ -, 2-100 tegn, "
            "og begynne med en bokstav eller et siffer")
CURSOR = "må være verdien av «next» fra forrige side (bare sifre)"
# What must never be in the answer: English, pieces of a pattern, the values sent.
FORBIDDEN = ("Expected", "expected", "regex", "Invalid", "Object", "missing", "unknown field",
             "got `", "length", "^", "{1,", "[0-9]", "[a-z0-9]")


class Rule(NamedTuple):
    user: str
    method: str
    path: str
    body: Any
    field: str
    message: str
    sent: tuple[str, ...] = ()  # values sent that the answer must not repeat


RULES: dict[str, Rule] = {
    # types
    "an integer": Rule("kari", "POST", f"{CASE}/level", {"level": "1", "reason": "Tiltak."},
                       "level", "må være et heltall"),
    "text": Rule("kari", "POST", f"{CASE}/entries", {"kind": "note", "text": 5},
                 "text", "må være tekst"),
    "a list": Rule("kari", "POST", f"{CASE}/meetings", {**MEETING, "services": "hauge-skole"},
                   "services", "må være en liste"),
    "an object": Rule("kari", "POST", f"{API}/cases", {"child": 5, "concern": "Uro."},
                      "child", "må være et objekt"),
    "true or false": Rule("adam", "PATCH", f"{API}/staff/per", {"active": "ja"},
                          "active", "må være true eller false", ("ja",)),
    "not null": Rule("adam", "PATCH", f"{API}/staff/per", {"name": None},
                     "name", "må være tekst, ikke null"),
    # numbers
    "at most": Rule("kari", "POST", f"{CASE}/level", {"level": 7, "reason": "Høyt."},
                    "level", "må være høyst 3"),
    "at least": Rule("kari", "POST", f"{CASE}/satisfaction",
                     {"respondent": "guardian", "score": 0}, "score", "må være minst 1"),
    # lengths
    "filled in": Rule("kari", "POST", f"{API}/cases", {"child": {"name": ""}, "concern": "Uro."},
                      "child.name", "må fylles ut"),
    "at most so many characters": Rule(
        "kari", "POST", f"{API}/cases", {"child": {"name": "Ola " * 51}, "concern": "Uro."},
        "child.name", "kan ha høyst 200 tegn", ("Ola Ola",)),
    "at least one element": Rule("kari", "POST", f"{CASE}/consents", {**CONSENT, "services": []},
                                 "services", "må ha minst 1 element"),
    "at most so many elements": Rule(
        "kari", "POST", f"{CASE}/consents", {**CONSENT, "services": ["hauge-skole"] * 51},
        "services", "kan ha høyst 50 elementer"),
    # vocabularies
    "one of a vocabulary": Rule("kari", "POST", f"{CASE}/consents", {**CONSENT, "form": "sms"},
                                "form", "må være en av: oral, written", ("sms",)),
    "one of a vocabulary, in a list": Rule(
        "adam", "POST", f"{API}/staff", {**STAFF, "roles": ["rektor"]},
        "roles[0]", "må være en av: worker, coordinator, leader, evaluator, admin", ("rektor",)),
    "one of a vocabulary, given a number": Rule(
        "kari", "POST", f"{CASE}/entries", {"kind": 5, "text": "Notat."},
        "kind", "må være en av: observation, conversation, note, positive, decision"),
    # fields
    "required": Rule("kari", "POST", f"{CASE}/level", {"reason": "Videre."},
                     "level", "mangler (påkrevd)"),
    "required, nested": Rule("kari", "POST", f"{API}/cases", {"child": {}, "concern": "Uro."},
                             "child.name", "mangler (påkrevd)"),
    "not a known field": Rule("kari", "POST", f"{CASE}/entries",
                              {"kind": "note", "text": "Notat.", "humør": "trist"},
                              "humør", "er ikke et kjent felt", ("trist",)),
    # dates and ids
    "a date": Rule("kari", "POST", f"{CASE}/meetings", {**MEETING, "held_on": "30.02.2026"},
                   "held_on", "må være en dato (åååå-mm-dd)", ("30.02.2026",)),
    "a UUID": Rule("kari", "POST", f"{CASE}/entries",
                   {"kind": "note", "text": "Notat.", "corrects": "forrige"},
                   "corrects", "må være en UUID", ("forrige",)),
    # patterns, in words
    "a service id": Rule("kari", "POST", f"{CASE}/handovers",
                         {"to_user": "per", "to_service": "Hauge Skole"},
                         "to_service", SERVICE_ID, ("Hauge Skole",)),
    "a service id in a list": Rule("kari", "POST", f"{CASE}/consents",
                                   {**CONSENT, "services": ["Hauge_Skole"]},
                                   "services[0]", SERVICE_ID, ("Hauge_Skole",)),
    "a kommunenummer": Rule("kari", "POST", f"{API}/cases",
                            {"child": {"name": "Per"}, "concern": "Uro.", "municipality": "42"},
                            "municipality", "må være et kommunenummer med fire sifre"),
    "a staff id": Rule("adam", "POST", f"{API}/staff", {**STAFF, "id": "-siri"},
                       "id", STAFF_ID, ("-siri",)),
    # query parameters (Litestar's messages)
    "query: at least": Rule("kari", "GET", f"{API}/cases?limit=0", None,
                            "limit", "må være minst 1"),
    "query: at most": Rule("kari", "GET", f"{API}/cases?limit=201", None,
                           "limit", "må være høyst 200", ("201",)),
    "query: an integer": Rule("kari", "GET", f"{API}/cases?level=to", None,
                              "level", "må være et heltall"),
    "query: one of a vocabulary": Rule("kari", "GET", f"{API}/cases?status=kanskje", None,
                                       "status", "må være en av: open, closed", ("kanskje",)),
    "query: a cursor": Rule("kari", "GET", f"{API}/cases?cursor=neste", None,
                            "cursor", CURSOR, ("neste",)),
    "query: a cursor of the staff list": Rule("adam", "GET", f"{API}/staff?cursor=neste",
                                              None, "cursor", CURSOR, ("neste",)),
    "query: true or false": Rule("adam", "GET", f"{API}/staff?active=kanskje", None,
                                 "active", "må være true eller false", ("kanskje",)),
    "query: required": Rule("eva", "GET", f"{API}/statistics/indicators", None,
                            "period", "mangler (påkrevd)"),
    # the body as a whole
    "a body that is not an object": Rule("kari", "POST", f"{API}/cases", ["Ola"],
                                         "body", "må være et objekt", ("Ola",)),
}


@pytest.fixture
async def case(as_user: Any) -> str:
    opened = await as_user("kari", "POST", f"{API}/cases",
                           json={"child": {"name": "Ola Nordmann"}, "concern": "Uro."})
    assert opened.status_code == 201, opened.text
    return str(opened.json()["id"])


@pytest.mark.parametrize("name", list(RULES))
async def test_a_broken_rule_is_named_in_norwegian(as_user: Any, case: str, name: str) -> None:
    rule = RULES[name]
    path = rule.path.replace(CASE, f"{API}/cases/{case}")
    kwargs = {} if rule.body is None else {"json": rule.body}

    response = await as_user(rule.user, rule.method, path, **kwargs)

    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["code"] == "invalid-input"
    assert problem["errors"] == [{"field": rule.field, "message": rule.message}], problem
    assert problem["detail"] == f"Feltet «{rule.field}»: {rule.message}", problem
    for text in (*FORBIDDEN, *rule.sent):
        assert text not in response.text, f"{text!r} in {response.text}"


async def test_a_truncated_body_is_named_in_norwegian(as_user: Any, case: str) -> None:
    response = await as_user("kari", "POST", f"{API}/cases/{case}/entries",
                             content=b'{"kind": "note", "text": ',
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert [e["field"] for e in problem["errors"]] == ["body"]
    assert "ufullstendig" in problem["detail"]
    assert "truncated" not in response.text


# --- the function itself, for what no request body of today can produce -------------


@pytest.mark.parametrize(("message", "rule"), [
    ("Invalid RFC3339 encoded datetime - at `$.at`", "må være et tidspunkt (ISO 8601)"),
    ("Expected `datetime`, got `int`", "må være et tidspunkt (ISO 8601)"),
    ("Expected `float`, got `str`", "må være et tall"),
    ("Expected `null`, got `int`", "må være null"),
    ("Expected `str` of length >= 3", "må ha minst 3 tegn"),
    ("Expected `array` of length <= 1", "kan ha høyst 1 element"),
    ("Expected `str` matching regex '^[A-Z]{2}$'", messages.FALLBACK_PATTERN),
    ("Invalid enum value 'x' - at `$.nowhere`", messages.NOT_ALLOWED),
    ("Missing required header parameter 'Idempotency-Key' for path /x", messages.MISSING),
    ("Something nobody has written yet", messages.UNKNOWN),
    ("Expected `Frobnicator`, got `str`", messages.UNKNOWN),
])
def test_norwegian_names_the_rule(message: str, rule: str) -> None:
    assert norwegian(message) == rule


def test_every_pattern_of_the_request_bodies_is_described_in_words() -> None:
    patterns = {
        meta.pattern
        for annotated in (schemas.ServiceId, schemas.Municipality, schemas.StaffId)
        for meta in annotated.__metadata__
    }
    assert patterns <= set(messages.PATTERNS)


def test_the_values_of_a_vocabulary_are_found_by_the_type_and_path() -> None:
    assert allowed_values(schemas.CloseIn, "reason") == (
        "concern-resolved", "moved-away", "transferred-to-other-service", "family-declined",
        "other")
    assert allowed_values(schemas.StaffPatchIn, "roles[3]") == (
        "worker", "coordinator", "leader", "evaluator", "admin")
    assert allowed_values(schemas.ReasonIn, "reason") is None  # free text, not a vocabulary
    # Without a type, the request bodies are searched.
    assert allowed_values(None, "given_by") == ("guardian", "child")
