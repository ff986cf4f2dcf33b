"""`stafettlogg keys rotate token`, seen through the API: a token signed with the old
secret is refused at once, or accepted until the grace period ends; the running
service learns the new secret without a restart (it reads the key file again)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from stafettlogg.application import Stafettlogg
from stafettlogg.key_rotation import rotate_token
from stafettlogg.tokens import InvalidToken, verify_token
from tests.api.conftest import Users


async def test_old_tokens_are_refused_after_a_token_rotation(
    stafettlogg: Stafettlogg, users: Users, client: AsyncTestClient
) -> None:
    old = users.headers("kari")
    assert (await client.get("/api/v1/cases", headers=old)).status_code == 200
    rotate_token(stafettlogg.settings)
    refused = await client.get("/api/v1/cases", headers=old)
    assert refused.status_code == 401
    new = users.headers("kari")  # issued with the new secret, as `stafettlogg token` does
    assert (await client.get("/api/v1/cases", headers=new)).status_code == 200


async def test_with_a_grace_period_old_tokens_work_until_it_ends(
    stafettlogg: Stafettlogg, users: Users, client: AsyncTestClient
) -> None:
    old = users.headers("kari")
    rotate_token(stafettlogg.settings, grace=timedelta(minutes=30))
    assert (await client.get("/api/v1/cases", headers=old)).status_code == 200
    assert (await client.get("/api/v1/cases", headers=users.headers("kari"))).status_code == 200
    # When the grace period is over (31 minutes on, the tokens still unexpired), the
    # old token is refused and the new one is not.
    later = datetime.now(UTC) + timedelta(minutes=31)
    token = old["Authorization"].removeprefix("Bearer ")
    with pytest.raises(InvalidToken, match="signaturen er ugyldig"):
        verify_token(stafettlogg.settings, stafettlogg.keys, token, now=later)
    fresh = users.token("kari")
    assert verify_token(stafettlogg.settings, stafettlogg.keys, fresh, now=later)["sub"] == "kari"
