"""Every endpoint of the contract's Identity, Services and Cases sections, as a user meets it.

Each test says what a case worker, coordinator or admin expects: the success answer
(status and the contract's fields) and the typical refusal (409 with the contract's
`code`, 404 for ids that do not exist). Everything goes through the real ASGI app
with real tokens; the application's clock starts at NOW (2026-03-02) and can be
moved forward here, so that actions become overdue and consents run out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from stafettlogg.application import Stafettlogg
from tests.api.conftest import NOW
from tests.conftest import ADMIN, Backend, register_services

API = "/api/v1"
TODAY = NOW.date()
PROBLEM_JSON = "application/problem+json"
CASE_FIELDS = {
    "id", "status", "level", "municipality", "holder", "pending_handover", "participants",
    "consents", "coordinator", "responsibility_group", "individual_plan", "version",
}


def day(offset: int = 0) -> str:
    """A date `offset` days from the app's today, as the contract writes dates."""
    return (TODAY + timedelta(days=offset)).isoformat()


def case_path(case_id: str, *parts: str) -> str:
    return "/".join([f"{API}/cases/{case_id}", *parts])


def services_of(case: dict[str, Any]) -> set[str]:
    return {p["service"] for p in case["participants"]}


class Clock:
    """The application's clock, which a test can move forward."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def stafettlogg(tmp_path: Path, clock: Clock, backend: Backend) -> Iterator[Stafettlogg]:
    """As the shared fixture, but on a clock this module can move forward."""
    settings = backend.settings(tmp_path / "var", STAFETTLOGG_RATE_LIMIT_PER_MINUTE="100000")
    app = Stafettlogg(settings, clock=clock)
    register_services(app)
    app.register_service(
        ADMIN, service_id="kvinesdal-skole", name="Kvinesdal skole", sector="skole",
        municipalities=["4227"], at=NOW,
    )
    yield app
    app.close()


class Api:
    """The steps people take, through HTTP. Each call checks the status it expects."""

    def __init__(self, as_user: Any) -> None:
        self.as_user = as_user

    async def call(
        self, user: str, method: str, path: str, body: Any = None, *, expect: int,
        headers: dict[str, str] | None = None,
    ) -> Any:
        kwargs = {} if body is None else {"json": body}
        response = await self.as_user(user, method, path, headers=headers, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path} -> {response.status_code}, expected {expect}: {response.text}"
        )
        return response.json()

    async def refused(
        self, user: str, method: str, path: str, body: Any = None, *, status: int = 409,
        code: str | None = None,
    ) -> dict[str, Any]:
        """The request is refused with problem details (and the contract's code)."""
        kwargs = {} if body is None else {"json": body}
        response = await self.as_user(user, method, path, **kwargs)
        assert response.status_code == status, (
            f"{method} {path} -> {response.status_code}, expected {status}: {response.text}"
        )
        assert response.headers["content-type"].startswith(PROBLEM_JSON)
        problem = response.json()
        assert problem["status"] == status
        assert problem["type"] and problem["title"] and problem["detail"]
        if code is not None:
            assert problem["code"] == code, problem
        return problem

    # Opening and reading -----------------------------------------------------------

    async def open_case(
        self, user: str = "kari", *, name: str = "Ola Nordmann", birth_date: str = "2019-05-04",
        national_id: str | None = None, concern: str = "Ola virker urolig og trist.",
    ) -> dict[str, Any]:
        child: dict[str, Any] = {"name": name, "birth_date": birth_date}
        if national_id is not None:
            child["national_id"] = national_id
        return await self.call(
            user, "POST", f"{API}/cases", {"child": child, "concern": concern}, expect=201
        )

    async def case(self, case_id: str, user: str = "kari") -> dict[str, Any]:
        return await self.call(user, "GET", case_path(case_id), expect=200)

    async def log(self, case_id: str, user: str = "kari") -> list[dict[str, Any]]:
        return (await self.call(user, "GET", case_path(case_id, "log"), expect=200))["entries"]

    async def steps(self, case_id: str, kind: str, user: str = "kari") -> list[dict[str, Any]]:
        return [e for e in await self.log(case_id, user) if e["kind"] == kind]

    # Common steps ------------------------------------------------------------------

    async def post(self, user: str, case_id: str, what: str, body: Any = None,
                   expect: int = 201) -> Any:
        return await self.call(user, "POST", case_path(case_id, what), body, expect=expect)

    async def consent(self, case_id: str, *services: str, user: str = "kari",
                      valid_until: str = "2026-12-31") -> str:
        created = await self.post(user, case_id, "consents", {
            "given_by": "guardian", "services": list(services),
            "purpose": "Samarbeid om Olas trivsel", "valid_until": valid_until, "form": "written",
        })
        return str(created["id"])

    async def join(self, case_id: str, service: str, user: str = "kari") -> dict[str, Any]:
        """With the guardians' consent, another service takes part in the case."""
        await self.consent(case_id, service, user=user)
        return await self.post(user, case_id, "participants", {"service": service})

    async def decide(self, case_id: str, user: str = "kari") -> None:
        await self.post(user, case_id, "level0-steps",
                        {"step": "beslutning", "text": "Vi går videre på nivå 1."})

    async def hand_over(self, case_id: str, to_user: str = "per",
                        to_service: str = "hauge-skole", user: str = "kari") -> str:
        created = await self.post(user, case_id, "handovers", {
            "to_user": to_user, "to_service": to_service, "note": "Ola begynner på skolen.",
        })
        return str(created["id"])


@pytest.fixture
def api(as_user: Any) -> Api:
    return Api(as_user)


# --- Services ----------------------------------------------------------------------


async def test_admin_registers_a_service_that_everyone_signed_in_can_list(api: Api) -> None:
    service = {
        "id": "barnevern-lister", "name": "Barnevernet i Lister", "sector": "barnevern",
        "municipalities": ["4225", "4227"],
    }
    created = await api.call("adam", "POST", f"{API}/services", service, expect=201)
    assert {k: created[k] for k in service} == service

    listed = await api.call("kari", "GET", f"{API}/services", expect=200)
    assert service["id"] in {s["id"] for s in listed["items"]}
    assert {"bhg-solsikken", "hauge-skole", "ppt-lister"} <= {s["id"] for s in listed["items"]}


async def test_only_an_admin_registers_services_and_each_id_only_once(api: Api) -> None:
    service = {"id": "nav-lyngdal", "name": "NAV Lyngdal", "sector": "nav",
               "municipalities": ["4225"]}
    await api.refused("kari", "POST", f"{API}/services", service, status=403)
    await api.refused("adam", "POST", f"{API}/services", {**service, "id": "hauge-skole"},
                      code="service-exists")

    listed = await api.call("kari", "GET", f"{API}/services", expect=200)
    assert "nav-lyngdal" not in {s["id"] for s in listed["items"]}


# --- Opening, listing and reading cases ----------------------------------------------


async def test_opening_a_case_makes_the_caller_holder_at_level_0(api: Api, as_user: Any) -> None:
    response = await as_user("kari", "POST", f"{API}/cases", json={
        "child": {"name": "Ola Nordmann", "birth_date": "2019-05-04"},
        "concern": "Ola virker urolig og trist.",
    })

    assert response.status_code == 201, response.text
    case = response.json()
    assert CASE_FIELDS <= set(case)
    assert case["status"] == "open"
    assert case["level"] == 0
    assert case["municipality"] == "4225"
    assert case["holder"] == {"user": "kari", "service": "bhg-solsikken"}
    assert case["pending_handover"] is None
    assert services_of(case) == {"bhg-solsikken"}
    assert case["consents"] == []
    assert case["coordinator"] is None
    assert case["responsibility_group"] is False
    assert case["individual_plan"] is False
    assert isinstance(case["version"], int)
    assert response.headers["etag"] == f'"{case["version"]}"'


async def test_a_child_has_only_one_open_case(api: Api) -> None:
    first = await api.open_case(national_id="02013299997")

    problem = await api.refused("per", "POST", f"{API}/cases", {
        "child": {"name": "Ola N.", "national_id": "02013299997"}, "concern": "Igjen.",
    }, code="open-case-exists")
    assert first["id"] not in problem["detail"]


async def test_cases_can_be_filtered_by_status_level_and_holder(api: Api) -> None:
    at_level_0 = await api.open_case(name="Anne")
    at_level_1 = await api.open_case(name="Bjørn")
    await api.decide(at_level_1["id"])
    await api.post("kari", at_level_1["id"], "level", {"level": 1, "reason": "Tiltak i bhg."},
                   expect=200)
    closed = await api.open_case(name="Cecilie")
    await api.decide(closed["id"])
    await api.post("kari", closed["id"], "close", {"reason": "concern-resolved"}, expect=200)
    # Per holds this one; Kari's kindergarten takes part in it.
    held_by_per = await api.open_case("per", name="Dina")
    await api.join(held_by_per["id"], "bhg-solsikken", user="per")
    # Kari cannot see this one at all.
    await api.open_case("per", name="Erik")

    async def listed(query: str) -> list[str]:
        page = await api.call("kari", "GET", f"{API}/cases?{query}", expect=200)
        assert page["next"] is None
        return [c["id"] for c in page["items"]]

    ids = {c["id"]: c for c in [at_level_0, at_level_1, closed, held_by_per]}
    assert await listed("") == list(ids)
    assert await listed("status=open") == [at_level_0["id"], at_level_1["id"], held_by_per["id"]]
    assert await listed("status=closed") == [closed["id"]]
    assert await listed("level=1") == [at_level_1["id"]]
    assert await listed("holder=me") == [at_level_0["id"], at_level_1["id"], closed["id"]]
    assert await listed("holder=me&status=open&level=0") == [at_level_0["id"]]


async def test_the_case_list_is_walked_page_by_page_with_the_cursor(api: Api) -> None:
    opened = [(await api.open_case(name=f"Barn {n}"))["id"] for n in range(5)]

    seen: list[str] = []
    sizes: list[int] = []
    url = f"{API}/cases?limit=2"
    for _ in range(10):  # a cursor that never ends would loop forever
        page = await api.call("kari", "GET", url, expect=200)
        assert CASE_FIELDS <= set(page["items"][0])
        seen += [c["id"] for c in page["items"]]
        sizes.append(len(page["items"]))
        if page["next"] is None:
            break
        assert isinstance(page["next"], str)
        url = f"{API}/cases?limit=2&cursor={page['next']}"

    assert sizes == [2, 2, 1]
    assert seen == opened


async def test_reading_a_case_gives_its_etag(api: Api, as_user: Any) -> None:
    case = await api.open_case()
    await api.post("kari", case["id"], "entries", {"kind": "note", "text": "Samtale med mor."})

    response = await as_user("kari", "GET", case_path(case["id"]))

    assert response.status_code == 200
    body = response.json()
    assert CASE_FIELDS <= set(body)
    assert body["version"] == case["version"] + 1
    assert response.headers["etag"] == f'"{body["version"]}"'


async def test_a_case_that_does_not_exist_or_is_not_visible_is_404(api: Api) -> None:
    case = await api.open_case()

    await api.refused("kari", "GET", case_path(str(uuid4())), status=404)
    await api.refused("ola", "GET", case_path(case["id"]), status=404)  # another municipality
    await api.refused("per", "GET", case_path(case["id"]), status=404)  # not taking part
    await api.refused("eva", "GET", case_path(case["id"]), status=403)  # evaluators: statistics
    await api.refused("adam", "GET", case_path(case["id"]), status=403)  # admins: no content


# --- The log and the access log -----------------------------------------------------


async def test_the_log_shows_every_step_in_the_order_recorded(api: Api) -> None:
    case = await api.open_case(concern="Ola gråter ofte ved levering.")
    await api.post("kari", case["id"], "entries", {"kind": "observation", "text": "Sitter alene."})
    await api.post("kari", case["id"], "level0-steps",
                   {"step": "vurdering", "text": "Vi undrer oss."})
    await api.consent(case["id"], "hauge-skole")
    await api.post("kari", case["id"], "entries", {"kind": "positive", "text": "Lo i dag!"})

    log = await api.log(case["id"])

    assert [e["kind"] for e in log] == [
        "case-opened", "observation", "level0-step", "consent-given", "positive",
    ]
    assert [e["text"] for e in log] == [
        "Ola gråter ofte ved levering.", "Sitter alene.", "Vi undrer oss.",
        "Samarbeid om Olas trivsel", "Lo i dag!",
    ]
    for entry in log:
        assert {"at", "kind", "user", "service", "text"} <= set(entry)
        assert entry["user"] == "kari"
        assert entry["service"] == "bhg-solsikken"
        assert datetime.fromisoformat(entry["at"]) == NOW
    await api.refused("kari", "GET", case_path(str(uuid4()), "log"), status=404)


async def test_the_access_log_shows_who_read_and_changed_the_case(api: Api) -> None:
    case = await api.open_case()
    await api.case(case["id"])
    await api.post("kari", case["id"], "entries", {"kind": "note", "text": "Notat."})

    access_log = await api.call("kari", "GET", case_path(case["id"], "access-log"), expect=200)
    lines = access_log["items"]

    assert [line["action"] for line in lines][:3] == ["open-case", "read-case", "add-entry"]
    for line in lines:
        assert {"at", "user", "service", "action"} <= set(line)
        assert (line["user"], line["service"]) == ("kari", "bhg-solsikken")
    await api.refused("kari", "GET", case_path(str(uuid4()), "access-log"), status=404)


# --- Entries and level 0 -----------------------------------------------------------


async def test_an_entry_is_corrected_by_a_new_entry_pointing_at_it(api: Api) -> None:
    case = await api.open_case()
    wrong = await api.post("kari", case["id"], "entries",
                           {"kind": "observation", "text": "Kom kl 10."})
    assert wrong["id"]

    fixed = await api.post("kari", case["id"], "entries", {
        "kind": "observation", "text": "Kom kl 9, ikke 10.", "corrects": wrong["id"],
    })

    assert fixed["id"] != wrong["id"]
    entries = await api.steps(case["id"], "observation")
    assert [e["text"] for e in entries] == ["Kom kl 10.", "Kom kl 9, ikke 10."]  # nothing erased
    assert entries[1]["details"]["corrects"] == wrong["id"]
    await api.refused("kari", "POST", case_path(case["id"], "entries"), {
        "kind": "note", "text": "Retter noe som ikke finnes.", "corrects": str(uuid4()),
    }, status=404)


async def test_the_level_0_steps_are_recorded_until_the_case_leaves_level_0(api: Api) -> None:
    case = await api.open_case()
    for step in ("vurdering", "konkretisering", "deling", "beslutning"):
        created = await api.post("kari", case["id"], "level0-steps",
                                 {"step": step, "text": f"{step}."})
        assert created["case"] == case["id"]

    assert [e["details"]["step"] for e in await api.steps(case["id"], "level0-step")] == [
        "vurdering", "konkretisering", "deling", "beslutning",
    ]
    await api.post("kari", case["id"], "level", {"level": 1, "reason": "Tiltak."}, expect=200)
    await api.refused("kari", "POST", case_path(case["id"], "level0-steps"),
                      {"step": "vurdering", "text": "For sent."}, code="wrong-level")


# --- Levels ----------------------------------------------------------------------


async def test_a_level_needs_the_decision_and_enough_services(api: Api) -> None:
    case = await api.open_case()
    level_2 = {"level": 2, "reason": "Samarbeid med skolen."}

    await api.refused("kari", "POST", case_path(case["id"], "level"), level_2,
                      code="decision-required")
    await api.decide(case["id"])
    await api.refused("kari", "POST", case_path(case["id"], "level"), level_2,
                      code="too-few-services")
    await api.join(case["id"], "hauge-skole")
    moved = await api.post("kari", case["id"], "level", level_2, expect=200)

    assert moved["level"] == 2
    assert CASE_FIELDS <= set(moved)
    assert [e["details"]["to_level"] for e in await api.steps(case["id"], "level-changed")] == [2]
    await api.refused("kari", "POST", case_path(case["id"], "level"),
                      {"level": 3, "reason": "Flere tjenester."}, code="too-few-services")
    await api.refused("kari", "POST", case_path(case["id"], "level"), level_2,
                      code="already-in-state")


async def test_only_the_holder_changes_the_level(api: Api) -> None:
    case = await api.open_case()
    await api.decide(case["id"])
    await api.join(case["id"], "hauge-skole")

    await api.refused("per", "POST", case_path(case["id"], "level"),
                      {"level": 1, "reason": "Jeg vil."}, code="not-holder")


# --- Consent -----------------------------------------------------------------------


async def test_a_consent_is_registered_and_withdrawn(api: Api) -> None:
    case = await api.open_case()
    created = await api.post("kari", case["id"], "consents", {
        "given_by": "guardian", "services": ["hauge-skole", "ppt-lister"],
        "purpose": "Overgang barnehage-skole", "valid_until": "2026-08-31", "form": "oral",
    })
    consent_id = created["id"]
    await api.post("kari", case["id"], "participants", {"service": "hauge-skole"})

    consents = (await api.case(case["id"]))["consents"]
    assert consents == [{
        "id": consent_id, "given_by": "guardian", "services": ["hauge-skole", "ppt-lister"],
        "valid_until": "2026-08-31", "form": "oral", "status": "active",
    }]

    withdrawn = await api.post("kari", case["id"], f"consents/{consent_id}/withdraw",
                               {"reason": "Mor trekker samtykket."}, expect=200)

    assert [c["status"] for c in withdrawn["consents"]] == ["withdrawn"]
    assert services_of(withdrawn) == {"bhg-solsikken"}  # the school no longer takes part
    assert [e["text"] for e in await api.steps(case["id"], "consent-withdrawn")] == [
        "Mor trekker samtykket.",
    ]
    await api.refused("kari", "POST", case_path(case["id"], f"consents/{consent_id}/withdraw"),
                      {"reason": "Igjen."}, code="consent-not-active")
    await api.refused("kari", "POST", case_path(case["id"], f"consents/{uuid4()}/withdraw"),
                      {"reason": "Hvilket?"}, status=404)


async def test_a_young_child_does_not_consent_alone(api: Api) -> None:
    case = await api.open_case(birth_date="2019-05-04")  # six years old

    await api.refused("kari", "POST", case_path(case["id"], "consents"), {
        "given_by": "child", "services": ["hauge-skole"], "purpose": "Samarbeid",
        "valid_until": "2026-12-31", "form": "oral",
    }, code="wrong-consenter")
    assert (await api.case(case["id"]))["consents"] == []


# --- Services taking part ----------------------------------------------------------


async def test_a_service_joins_with_consent_and_leaves_again(api: Api, as_user: Any) -> None:
    case = await api.open_case()
    joining = {"service": "hauge-skole", "user": "per", "role": "participant"}

    await api.refused("kari", "POST", case_path(case["id"], "participants"), joining,
                      code="consent-required")
    await api.consent(case["id"], "hauge-skole", "ppt-lister")
    joined = await api.post("kari", case["id"], "participants", joining)

    assert services_of(joined) == {"bhg-solsikken", "hauge-skole"}
    await api.refused("kari", "POST", case_path(case["id"], "participants"), joining,
                      code="already-participant")
    await api.refused("per", "POST", case_path(case["id"], "participants"),
                      {"service": "ppt-lister"}, code="not-holder")

    response = await as_user("kari", "DELETE", case_path(case["id"], "participants/hauge-skole"))

    assert response.status_code == 200, response.text
    assert services_of(response.json()) == {"bhg-solsikken"}
    assert [e["kind"] for e in await api.log(case["id"])][-2:] == ["service-joined", "service-left"]
    await api.refused("kari", "DELETE", case_path(case["id"], "participants/bhg-solsikken"),
                      code="holder-service-cannot-leave")
    await api.refused("kari", "DELETE", case_path(case["id"], "participants/hauge-skole"),
                      status=404)


# --- Handovers ---------------------------------------------------------------------


async def test_the_baton_stays_with_the_holder_until_the_recipient_accepts(api: Api) -> None:
    case = await api.open_case()
    await api.consent(case["id"], "hauge-skole")

    handover_id = await api.hand_over(case["id"])

    pending = await api.case(case["id"])
    assert pending["holder"] == {"user": "kari", "service": "bhg-solsikken"}
    assert {k: pending["pending_handover"][k] for k in ("id", "to_user", "to_service")} == {
        "id": handover_id, "to_user": "per", "to_service": "hauge-skole",
    }
    inbox = await api.call("per", "GET", f"{API}/inbox", expect=200)
    assert [(h["case"], h["id"]) for h in inbox["handovers"]] == [(case["id"], handover_id)]

    accept = f"handovers/{handover_id}/accept"
    await api.refused("kari", "POST", case_path(case["id"], accept), code="not-recipient")
    await api.refused("kari", "POST", case_path(case["id"], "handovers"),
                      {"to_user": "pia", "to_service": "ppt-lister"}, code="handover-pending")

    accepted = await api.post("per", case["id"], accept, expect=200)

    assert accepted["holder"] == {"user": "per", "service": "hauge-skole"}
    assert accepted["pending_handover"] is None
    assert "hauge-skole" in services_of(accepted)
    assert [e["kind"] for e in await api.log(case["id"], "per")][-2:] == [
        "handover-requested", "handover-accepted",
    ]
    await api.refused("per", "POST", case_path(case["id"], accept), code="no-pending-handover")
    assert (await api.call("per", "GET", f"{API}/inbox", expect=200))["handovers"] == []


async def test_a_requested_handover_answers_with_the_pending_handover(api: Api) -> None:
    case = await api.open_case()
    await api.consent(case["id"], "hauge-skole")

    created = await api.post("kari", case["id"], "handovers",
                             {"to_user": "per", "to_service": "hauge-skole"})

    assert created["id"]
    assert created["status"] == "pending"
    assert (created["to_user"], created["to_service"]) == ("per", "hauge-skole")


async def test_a_handover_needs_consent_and_the_holder(api: Api) -> None:
    case = await api.open_case()

    await api.refused("kari", "POST", case_path(case["id"], "handovers"),
                      {"to_user": "per", "to_service": "hauge-skole"}, code="consent-required")
    await api.join(case["id"], "hauge-skole")
    await api.refused("per", "POST", case_path(case["id"], "handovers"),
                      {"to_user": "per", "to_service": "hauge-skole"}, code="not-holder")
    assert (await api.case(case["id"]))["pending_handover"] is None


async def test_the_recipient_declines_and_the_holder_keeps_the_baton(api: Api) -> None:
    case = await api.open_case()
    await api.consent(case["id"], "hauge-skole")
    handover_id = await api.hand_over(case["id"])
    decline = case_path(case["id"], f"handovers/{handover_id}/decline")

    await api.refused("kari", "POST", decline, {"reason": "Nei."}, code="not-recipient")
    declined = await api.post("per", case["id"], f"handovers/{handover_id}/decline",
                              {"reason": "Ola begynner ikke hos oss likevel."}, expect=200)

    assert declined["holder"] == {"user": "kari", "service": "bhg-solsikken"}
    assert declined["pending_handover"] is None
    assert [e["text"] for e in await api.steps(case["id"], "handover-declined")] == [
        "Ola begynner ikke hos oss likevel.",
    ]
    # Per never took part, so once he has declined, the case is gone from his sight.
    await api.refused("per", "POST", decline, {"reason": "Igjen."}, status=404)
    await api.refused("kari", "POST", decline, {"reason": "Igjen."}, code="no-pending-handover")


async def test_the_holder_cancels_a_handover_that_only_they_asked_for(api: Api) -> None:
    case = await api.open_case()
    await api.consent(case["id"], "hauge-skole")
    handover_id = await api.hand_over(case["id"])
    cancel = f"handovers/{handover_id}/cancel"

    await api.refused("per", "POST", case_path(case["id"], cancel), code="not-requester")
    cancelled = await api.post("kari", case["id"], cancel, expect=200)

    assert cancelled["pending_handover"] is None
    assert cancelled["holder"] == {"user": "kari", "service": "bhg-solsikken"}
    assert len(await api.steps(case["id"], "handover-cancelled")) == 1
    await api.refused("kari", "POST", case_path(case["id"], cancel), code="no-pending-handover")


async def test_a_handover_that_never_existed_is_404(api: Api) -> None:
    case = await api.open_case()

    await api.refused("kari", "POST", case_path(case["id"], f"handovers/{uuid4()}/accept"),
                      status=404)


# --- Coordinator, responsibility group, individual plan ---------------------------


async def test_a_municipal_coordinator_appoints_and_the_holder_releases_a_koordinator(
    api: Api, as_user: Any,
) -> None:
    case = await api.open_case()
    koordinator = {"user": "hanne", "service": "hs-lyngdal"}

    await api.refused("kari", "POST", case_path(case["id"], "coordinator"), koordinator,
                      code="not-authorised")
    await api.refused("kim", "POST", case_path(case["id"], "coordinator"), koordinator,
                      code="consent-required")
    await api.consent(case["id"], "hs-lyngdal")
    appointed = await api.post("kim", case["id"], "coordinator", koordinator, expect=200)

    assert appointed["coordinator"] == koordinator
    assert "hs-lyngdal" in services_of(appointed)

    response = await as_user("kari", "DELETE", case_path(case["id"], "coordinator"))

    assert response.status_code == 200, response.text
    assert response.json()["coordinator"] is None
    assert [e["kind"] for e in await api.log(case["id"])][-2:] == [
        "coordinator-appointed", "coordinator-released",
    ]
    await api.refused("kari", "DELETE", case_path(case["id"], "coordinator"),
                      code="already-in-state")


async def test_a_responsibility_group_is_established_and_dissolved(api: Api, as_user: Any) -> None:
    case = await api.open_case()
    group = {"services": ["hauge-skole", "ppt-lister"]}

    await api.refused("kari", "POST", case_path(case["id"], "responsibility-group"), group,
                      code="consent-required")
    await api.consent(case["id"], "hauge-skole", "ppt-lister")
    established = await api.post("kari", case["id"], "responsibility-group", group, expect=200)

    assert established["responsibility_group"] is True
    assert services_of(established) == {"bhg-solsikken", "hauge-skole", "ppt-lister"}
    await api.refused("kari", "POST", case_path(case["id"], "responsibility-group"), group,
                      code="already-in-state")
    await api.refused("per", "DELETE", case_path(case["id"], "responsibility-group"),
                      code="not-holder")

    response = await as_user("kari", "DELETE", case_path(case["id"], "responsibility-group"))

    assert response.status_code == 200, response.text
    assert response.json()["responsibility_group"] is False
    await api.refused("kari", "DELETE", case_path(case["id"], "responsibility-group"),
                      code="already-in-state")


async def test_an_individual_plan_is_started_and_ended(api: Api, as_user: Any) -> None:
    case = await api.open_case()

    started = await api.post("kari", case["id"], "individual-plan", expect=200)

    assert started["individual_plan"] is True
    await api.refused("kari", "POST", case_path(case["id"], "individual-plan"),
                      code="already-in-state")  # one plan per person

    response = await as_user("kari", "DELETE", case_path(case["id"], "individual-plan"))

    assert response.status_code == 200, response.text
    assert response.json()["individual_plan"] is False
    assert [e["kind"] for e in await api.log(case["id"])][-2:] == [
        "individual-plan-started", "individual-plan-ended",
    ]
    await api.refused("kari", "DELETE", case_path(case["id"], "individual-plan"),
                      code="already-in-state")


# --- Meetings, actions, evaluations, satisfaction ---------------------------------


async def test_meeting_minutes_are_kept_for_the_services_at_the_table(api: Api) -> None:
    case = await api.open_case()
    await api.join(case["id"], "hauge-skole")

    await api.refused("kari", "POST", case_path(case["id"], "meetings"), {
        "held_on": day(-1), "services": ["bhg-solsikken", "ppt-lister"],
        "minutes": "Uten samtykke.",
    }, code="consent-required")
    created = await api.post("kari", case["id"], "meetings", {
        "held_on": day(-1), "services": ["bhg-solsikken", "hauge-skole"],
        "minutes": "Vi ble enige om en plan for oppstart.",
    })

    assert created["id"]
    meetings = await api.steps(case["id"], "meeting")
    assert [m["text"] for m in meetings] == ["Vi ble enige om en plan for oppstart."]
    assert meetings[0]["details"]["held_on"] == day(-1)
    assert meetings[0]["details"]["services"] == ["bhg-solsikken", "hauge-skole"]


async def test_an_action_is_agreed_and_evaluated_until_it_is_completed(api: Api) -> None:
    case = await api.open_case()
    await api.refused("kari", "POST", case_path(case["id"], "actions"), {
        "description": "Skolen følger opp.", "responsible_service": "hauge-skole",
        "evaluate_by": day(30),
    }, code="not-participant")

    created = await api.post("kari", case["id"], "actions", {
        "description": "Fast voksen ved levering.", "responsible_service": "bhg-solsikken",
        "evaluate_by": day(30),
    })
    action_id = created["id"]

    assert [(a["id"], a["status"]) for a in (await api.case(case["id"]))["actions"]] == [
        (action_id, "open"),
    ]
    evaluate = f"actions/{action_id}/evaluations"
    await api.post("kari", case["id"], evaluate, {"outcome": "continue", "text": "Går bedre."})
    await api.post("kari", case["id"], evaluate, {"outcome": "completed", "text": "Mål nådd."})

    assert [a["status"] for a in (await api.case(case["id"]))["actions"]] == ["completed"]
    assert [e["text"] for e in await api.steps(case["id"], "evaluation")] == [
        "Går bedre.", "Mål nådd.",
    ]
    await api.refused("kari", "POST", case_path(case["id"], evaluate),
                      {"outcome": "adjusted", "text": "Etterpå."}, code="action-closed")
    await api.refused("kari", "POST", case_path(case["id"], f"actions/{uuid4()}/evaluations"),
                      {"outcome": "continue", "text": "Hvilket tiltak?"}, status=404)


async def test_satisfaction_is_recorded_as_a_score(api: Api) -> None:
    case = await api.open_case()

    created = await api.post("kari", case["id"], "satisfaction",
                             {"respondent": "guardian", "score": 4})

    assert created["case"] == case["id"]
    answers = await api.steps(case["id"], "satisfaction")
    assert [(a["details"]["respondent"], a["details"]["score"]) for a in answers] == [
        ("guardian", 4),
    ]


# --- Closing ---------------------------------------------------------------------


async def test_the_holder_closes_a_decided_case_without_a_pending_handover(api: Api) -> None:
    case = await api.open_case()
    close = case_path(case["id"], "close")
    await api.consent(case["id"], "hauge-skole")
    await api.post("kari", case["id"], "participants", {"service": "hauge-skole"})

    await api.refused("kari", "POST", close, {"reason": "concern-resolved"},
                      code="decision-required")
    await api.decide(case["id"])
    handover_id = await api.hand_over(case["id"])
    await api.refused("kari", "POST", close, {"reason": "concern-resolved"},
                      code="handover-pending")
    await api.post("kari", case["id"], f"handovers/{handover_id}/cancel", expect=200)
    await api.refused("per", "POST", close, {"reason": "concern-resolved"}, code="not-holder")

    closed = await api.post("kari", case["id"], "close",
                            {"reason": "concern-resolved", "note": "Ola trives nå."}, expect=200)

    assert closed["status"] == "closed"
    assert (await api.steps(case["id"], "case-closed"))[0]["text"] == "Ola trives nå."


async def test_a_closed_case_refuses_every_change(api: Api, as_user: Any) -> None:
    case = await api.open_case()
    await api.decide(case["id"])
    await api.post("kari", case["id"], "close", {"reason": "moved-away"}, expect=200)
    version = (await api.case(case["id"]))["version"]

    for what, body in [
        ("entries", {"kind": "note", "text": "Etterpå."}),
        ("satisfaction", {"respondent": "guardian", "score": 5}),
        ("level", {"level": 1, "reason": "Likevel."}),
        ("individual-plan", None),
        ("close", {"reason": "other"}),
    ]:
        await api.refused("kari", "POST", case_path(case["id"], what), body, code="case-closed")

    assert (await api.case(case["id"]))["version"] == version
    reopened = await api.open_case()  # the same child may get a new case
    assert reopened["id"] != case["id"]


# --- Unknown cases on every endpoint ------------------------------------------------


CASE_ENDPOINTS = [
    ("GET", "", None),
    ("GET", "log", None),
    ("GET", "access-log", None),
    ("POST", "entries", {"kind": "note", "text": "x"}),
    ("POST", "level0-steps", {"step": "vurdering", "text": "x"}),
    ("POST", "level", {"level": 1, "reason": "x"}),
    ("POST", "consents", {"given_by": "guardian", "services": ["hauge-skole"], "purpose": "x",
                          "valid_until": "2026-12-31", "form": "oral"}),
    ("POST", f"consents/{uuid4()}/withdraw", {"reason": "x"}),
    ("POST", "participants", {"service": "hauge-skole"}),
    ("DELETE", "participants/hauge-skole", None),
    ("POST", "handovers", {"to_user": "per", "to_service": "hauge-skole"}),
    ("POST", f"handovers/{uuid4()}/accept", None),
    ("POST", f"handovers/{uuid4()}/decline", {"reason": "x"}),
    ("POST", f"handovers/{uuid4()}/cancel", None),
    ("POST", "coordinator", {"user": "hanne", "service": "hs-lyngdal"}),
    ("DELETE", "coordinator", None),
    ("POST", "responsibility-group", {"services": ["hauge-skole"]}),
    ("DELETE", "responsibility-group", None),
    ("POST", "individual-plan", None),
    ("DELETE", "individual-plan", None),
    ("POST", "meetings", {"held_on": "2026-03-01", "services": ["hauge-skole"], "minutes": "x"}),
    ("POST", "actions", {"description": "x", "responsible_service": "hauge-skole",
                         "evaluate_by": "2026-04-01"}),
    ("POST", f"actions/{uuid4()}/evaluations", {"outcome": "continue", "text": "x"}),
    ("POST", "satisfaction", {"respondent": "guardian", "score": 3}),
    ("POST", "close", {"reason": "other"}),
]


async def test_every_case_endpoint_answers_404_for_a_case_that_does_not_exist(
    api: Api,
) -> None:
    for method, what, body in CASE_ENDPOINTS:
        path = case_path(str(uuid4()), what) if what else case_path(str(uuid4()))

        await api.refused("kim", method, path, body, status=404)


# --- The inbox -------------------------------------------------------------------


async def test_the_inbox_shows_what_waits_for_the_caller(api: Api, clock: Clock) -> None:
    case = await api.open_case()
    consent_id = await api.consent(case["id"], "hauge-skole", valid_until=day(10))
    far_consent = await api.consent(case["id"], "ppt-lister", valid_until=day(60))
    due = await api.post("kari", case["id"], "actions", {
        "description": "Fast voksen ved levering.", "responsible_service": "bhg-solsikken",
        "evaluate_by": day(0),
    })
    later = await api.post("kari", case["id"], "actions", {
        "description": "Samtale med far.", "responsible_service": "bhg-solsikken",
        "evaluate_by": day(20),
    })
    handover_id = await api.hand_over(case["id"])

    on_the_day = await api.call("kari", "GET", f"{API}/inbox", expect=200)
    assert on_the_day["actions_due"] == []  # evaluate_by is today: not yet overdue

    clock.advance(days=1)
    kari = await api.call("kari", "GET", f"{API}/inbox", expect=200)
    per = await api.call("per", "GET", f"{API}/inbox", expect=200)

    assert kari["handovers"] == []  # Kari asked; Per is the one to answer
    assert [(a["case"], a["id"], a["evaluate_by"]) for a in kari["actions_due"]] == [
        (case["id"], due["id"], day(0)),
    ]
    assert later["id"] not in {a["id"] for a in kari["actions_due"]}
    assert [(c["case"], c["id"], c["valid_until"]) for c in kari["consents_expiring"]] == [
        (case["id"], consent_id, day(10)),
    ]
    assert far_consent not in {c["id"] for c in kari["consents_expiring"]}
    assert [(h["case"], h["id"], h["to_user"], h["to_service"]) for h in per["handovers"]] == [
        (case["id"], handover_id, "per", "hauge-skole"),
    ]
    assert per["actions_due"] == []  # the action is the kindergarten's
    stranger = await api.call("ola", "GET", f"{API}/inbox", expect=200)
    assert stranger == {"handovers": [], "actions_due": [], "consents_expiring": []}


async def test_an_evaluator_has_no_inbox(api: Api) -> None:
    await api.refused("eva", "GET", f"{API}/inbox", status=403)
