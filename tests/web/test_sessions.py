"""Sessions of the pages end when idle, and a new sign-in is a new session (in process,
on Litestar's file store as the service uses it, with an idle time of about a second)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from litestar.stores.file import FileStore

from stafettlogg.web.sessions import Sessions

IDLE_MINUTES = 1.5 / 60  # a second and a half


def sessions(tmp_path: Path) -> Sessions:
    return Sessions(FileStore(tmp_path / "sessions", create_directories=True),
                    idle_minutes=IDLE_MINUTES, secure=False)  # type: ignore[arg-type]


async def test_a_session_ends_after_the_idle_time_and_each_request_renews_it(tmp_path: Path):
    store = sessions(tmp_path)
    session_id, _ = await store.start(None, "kari", "oidc", datetime.now(UTC))
    for _ in range(3):  # requests a second apart keep it alive
        await asyncio.sleep(1.0)
        assert (await store.current(session_id)).staff_id == "kari"
    await asyncio.sleep(2.0)  # then nothing for longer than the idle time
    assert await store.current(session_id) is None


async def test_signing_in_again_ends_the_old_session(tmp_path: Path):
    store = sessions(tmp_path)
    first, _ = await store.start(None, "kari", "oidc", datetime.now(UTC))
    second, _ = await store.start(first, "kari", "oidc", datetime.now(UTC))
    assert second != first
    assert await store.current(first) is None
    assert (await store.current(second)).staff_id == "kari"


async def test_the_store_holds_no_session_id(tmp_path: Path):
    store = sessions(tmp_path)
    session_id, session = await store.start(None, "kari", "oidc", datetime.now(UTC))
    stored = b"".join(p.read_bytes() for p in (tmp_path / "sessions").iterdir())
    assert session_id.encode() not in stored
    assert not any(session_id in p.name for p in (tmp_path / "sessions").iterdir())


async def test_a_survey_visit_holds_its_token_under_a_hash_of_its_id(tmp_path: Path):
    store = sessions(tmp_path)
    visit_id, csrf = await store.begin_survey()
    assert await store.survey_csrf(visit_id) == csrf
    assert await store.survey_csrf("another") is None
    assert await store.survey_csrf(None) is None
    assert await store.current(visit_id) is None  # never a staff session
    assert not any(visit_id in p.name for p in (tmp_path / "sessions").iterdir())
    cookie = store.survey_cookie(visit_id)
    assert (cookie.path, cookie.httponly, cookie.samesite) == ("/undersokelse", True, "lax")


async def test_a_form_key_is_used_once(tmp_path: Path):
    store = sessions(tmp_path)
    assert await store.first_use("abc123")
    assert not await store.first_use("abc123")
    assert await store.first_use("def456")
    assert not await store.first_use("")  # a form without its key is never a first use
