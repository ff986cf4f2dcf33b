"""Two `stafettlogg serve` processes on one PostgreSQL: each sees the other's writes,
and the views count every event exactly once.

Both processes start at the same time on a fresh, empty schema (so they create the
tables together), each with its own data directory holding a copy of one key file,
as two machines would. Requests go to both at once; the projections are followed by
both processes, one writer at a time (an advisory lock per projection). At the end
the views, as the two processes left them, must equal a rebuild from the first event.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from tests.api.story import STORY_SERVICES
from tests.api.test_server_process import Server, cli_token, free_port, server_env
from tests.stores import Backend, postgres_schema, require_postgres

pytestmark = pytest.mark.slow

ENTRIES_PER_PROCESS = 15
USERS = {
    "adam": {"roles": ["admin"], "municipalities": []},
    "kari": {"roles": ["worker"], "service": "bhg-solsikken", "municipalities": ["4225"]},
    "per": {"roles": ["worker"], "service": "hauge-skole", "municipalities": ["4225"]},
}


def token(env: dict[str, str], user: str) -> str:
    import tests.api.test_server_process as server_process

    claims = USERS[user]
    saved = server_process.STORY_USERS
    server_process.STORY_USERS = {user: claims}  # cli_token reads the claims from there
    try:
        return cli_token(env, user)
    finally:
        server_process.STORY_USERS = saved


def view_rows(schema_backend: Backend) -> dict[str, Counter[tuple[Any, ...]]]:
    """Every view table and the tracking positions, each as a multiset of rows."""
    with schema_backend.connect() as conn:
        names = [
            r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema_backend.schema,),
            )
            if r[0].startswith(("cv_", "stat_")) or r[0] == "tracking"
        ]
        return {
            name: Counter(tuple(r) for r in conn.execute(f'SELECT * FROM "{name}"'))  # noqa: S608
            for name in names
        }


@pytest.fixture
def pg() -> Any:
    require_postgres("tests/api/test_several_processes.py")
    with postgres_schema() as chosen:
        yield chosen


async def test_two_server_processes_share_one_postgresql(pg: Backend, tmp_path: Path) -> None:
    # Two machines: two data dirs, one key file copied to both.
    dirs = [tmp_path / "a" / "var", tmp_path / "b" / "var"]
    envs = [{**server_env(d), **pg.env} for d in dirs]
    tokens = {user: token(envs[0], user) for user in USERS}
    dirs[1].mkdir(parents=True)
    shutil.copy2(dirs[0] / "keys.json", dirs[1] / "keys.json")

    servers = []
    for env, d in zip(envs, dirs, strict=True):
        servers.append(Server(env, free_port(), d.parent))
    try:
        a, b = (httpx.AsyncClient(base_url=s.base_url, timeout=30.0) for s in servers)
        async with a, b:
            await asyncio.gather(servers[0].wait_ready(a), servers[1].wait_ready(b))
            await check_each_sees_the_others_writes(a, b, tokens)
        for server in servers:
            assert server.stop() in (0, -signal.SIGTERM), server.output()
            assert "Traceback" not in server.output(), server.output()
    finally:
        for server in servers:
            server.close()

    # Exactly once: the views the two processes kept equal a rebuild from zero.
    live = view_rows(pg)
    app = Stafettlogg(Settings.from_env(envs[0]))
    try:
        app.read_models.catch_up()
        assert view_rows(pg) == live, "the servers left events unprojected"
        app.read_models.rebuild()
        rebuilt = view_rows(pg)
    finally:
        app.close()
    assert set(live) >= {"cv_cases", "cv_access", "stat_flows", "tracking"}
    for table in sorted(set(live) | set(rebuilt)):
        assert live.get(table) == rebuilt.get(table), f"{table} differs from a rebuild"


def auth(tokens: dict[str, str], user: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[user]}", **extra}


async def check_each_sees_the_others_writes(
    a: httpx.AsyncClient, b: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    # The admin registers the services through A; B lists them.
    for service_id, name, sector, municipalities in STORY_SERVICES:
        made = await a.post("/api/v1/services", headers=auth(tokens, "adam"), json={
            "id": service_id, "name": name, "sector": sector, "municipalities": municipalities,
        })
        assert made.status_code == 201, made.text
    listed = await b.get("/api/v1/services", headers=auth(tokens, "kari"))
    assert {s["id"] for s in listed.json()["items"]} == {s[0] for s in STORY_SERVICES}
    # ... and their people, through B (a handover names a member of the staff directory).
    for user, claims in USERS.items():
        if "service" not in claims:
            continue
        made = await b.post("/api/v1/staff", headers=auth(tokens, "adam"), json={
            "id": user, "name": user.title(), "service": claims["service"],
            "roles": claims["roles"], "municipalities": claims["municipalities"],
        })
        assert made.status_code == 201, made.text

    # Kari opens one case through each process; each lists both at once.
    birth = (datetime.now(UTC).date() - timedelta(days=5 * 365)).isoformat()
    cases = []
    for client, name in ((a, "Ola Nordmann"), (b, "Kari Nordmann")):
        opened = await client.post("/api/v1/cases", headers=auth(tokens, "kari"), json={
            "child": {"name": name, "birth_date": birth}, "concern": "Virker trist.",
        })
        assert opened.status_code == 201, opened.text
        cases.append(opened.json()["id"])
    for client in (a, b):
        page = await client.get("/api/v1/cases", headers=auth(tokens, "kari"))
        assert page.status_code == 200, page.text
        assert {c["id"] for c in page.json()["items"]} == set(cases)

    # Both processes write to the same case at the same time: every acknowledged
    # entry is in the log exactly once, whichever process took it.
    case = cases[0]

    async def add(client: httpx.AsyncClient, n: int) -> tuple[int, str]:
        text = f"innføring {n} via {'A' if client is a else 'B'}"
        response = await client.post(f"/api/v1/cases/{case}/entries",
                                     headers=auth(tokens, "kari"),
                                     json={"kind": "note", "text": text})
        return response.status_code, text

    results = await asyncio.gather(*(
        add(client, n) for n in range(ENTRIES_PER_PROCESS) for client in (a, b)
    ))
    assert {status for status, _ in results} <= {201, 409}, results
    acknowledged = sorted(text for status, text in results if status == 201)
    assert len(acknowledged) >= ENTRIES_PER_PROCESS
    for client in (a, b):
        log = await client.get(f"/api/v1/cases/{case}/log", headers=auth(tokens, "kari"))
        assert log.status_code == 200, log.text
        texts = sorted(e["text"] for e in log.json()["entries"] if e["kind"] == "note")
        assert texts == acknowledged

    # A hands over through A; Per sees it in his inbox through B at once, accepts it
    # there, and A shows him as the holder.
    decided = await a.post(f"/api/v1/cases/{case}/level0-steps", headers=auth(tokens, "kari"),
                           json={"step": "beslutning", "text": "Vi følger opp."})
    assert decided.status_code == 201, decided.text
    consent = await a.post(f"/api/v1/cases/{case}/consents", headers=auth(tokens, "kari"), json={
        "given_by": "guardian", "services": ["hauge-skole"], "purpose": "Overgang til skole",
        "valid_until": (datetime.now(UTC).date() + timedelta(days=200)).isoformat(),
        "form": "written",
    })
    assert consent.status_code == 201, consent.text
    asked = await a.post(f"/api/v1/cases/{case}/handovers", headers=auth(tokens, "kari"),
                         json={"to_user": "per", "to_service": "hauge-skole"})
    assert asked.status_code == 201, asked.text
    inbox = await b.get("/api/v1/inbox", headers=auth(tokens, "per"))
    assert [h["case"] for h in inbox.json()["handovers"]] == [case], inbox.text
    handover = asked.json()["id"]
    accepted = await b.post(f"/api/v1/cases/{case}/handovers/{handover}/accept",
                            headers=auth(tokens, "per"))
    assert accepted.status_code == 200, accepted.text
    seen = await a.get(f"/api/v1/cases/{case}", headers=auth(tokens, "per"))
    assert seen.json()["holder"]["user"] == "per", seen.text

    # The access-log listing through B has every write made through A and B.
    lines = await b.get(f"/api/v1/cases/{case}/access-log", headers=auth(tokens, "per"))
    actions = Counter(line["action"] for line in lines.json()["items"])
    assert actions["add-entry"] == len(acknowledged), actions
    assert actions["open-case"] == 1 and actions["accept-handover"] == 1, actions
    UUID(case)  # a real id
