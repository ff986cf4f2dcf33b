"""The end-to-end story (`story.py`) through the ASGI app, in process."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import NOW, Users
from tests.api.story import STORY_USERS, run_story


def asgi_call(client: AsyncTestClient):
    async def call(method: str, url: str, token: str | None, json: Any = None,
                   headers: dict[str, str] | None = None):
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        response = await client.request(method, url, json=json, headers=all_headers)
        body = response.json() if response.content else None
        return response.status_code, body, response.headers

    return call


async def test_story_from_barnehage_to_closing(client: AsyncTestClient, users: Users) -> None:
    tokens = {name: users.token(name) for name in STORY_USERS}
    result = await run_story(asgi_call(client), tokens, NOW.date())
    assert result["case"]["status"] == "closed"
    assert len(result["access_log"]) == len(result["trail"])


async def test_handover_request_answers_status_pending(client: AsyncTestClient,
                                                       users: Users) -> None:
    call = asgi_call(client)
    kari, per = users.token("kari"), users.token("per")
    status, case, _ = await call("POST", "/api/v1/cases", kari, json={
        "child": {"name": "Ola Overgang"}, "concern": "Overgang til skolen.",
    })
    assert status == 201
    url = f"/api/v1/cases/{case['id']}"
    status, _, _ = await call("POST", f"{url}/consents", kari, json={
        "given_by": "guardian", "services": ["hauge-skole"], "purpose": "Skolestart.",
        "valid_until": "2026-12-31", "form": "oral",
    })
    assert status == 201
    status, handover, _ = await call("POST", f"{url}/handovers", kari, json={
        "to_user": "per", "to_service": "hauge-skole",
    })
    assert status == 201
    assert handover["id"]
    assert handover["status"] == "pending"
    # and it is the pending handover of the case, for per
    status, inbox, _ = await call("GET", "/api/v1/inbox", per)
    assert [h["id"] for h in inbox["handovers"]] == [handover["id"]]
