"""The `stafettlogg` command (token, demo), the tokens it issues, and /health and /ready."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from litestar.testing import AsyncTestClient

from domain.values import Actor
from tests.conftest import ADMIN, register_services
from stafettlogg.web.app import create_app
from stafettlogg.application import Stafettlogg
from stafettlogg.keys import KeyFile
from stafettlogg.settings import Settings
from stafettlogg.tokens import (
    InvalidClaims,
    InvalidToken,
    actor_from_claims,
    issue_token,
    verify_token,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFETTLOGG_")}
    env["STAFETTLOGG_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_cli(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stafettlogg", *args],
        env=_env(data_dir, **extra),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"STAFETTLOGG_DATA_DIR": str(tmp_path / "var")})


@pytest.fixture
def keys(settings: Settings) -> KeyFile:
    return KeyFile.load_or_create(settings.key_file)


def _token(settings: Settings, keys: KeyFile, **overrides: object) -> str:
    claims: dict[str, object] = {
        "sub": "kari.nordmann",
        "name": "Kari Nordmann",
        "roles": ["worker"],
        "service": "lyngdal-bhg-solsikken",
        "municipalities": ["4225"],
        "now": NOW,
    }
    claims.update(overrides)
    return issue_token(settings, keys, **claims)  # type: ignore[arg-type]


# --- the token command ----------------------------------------------------------------


def test_token_prints_exactly_one_jwt_that_verifies(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    result = run_cli(
        data_dir,
        "token",
        "--sub",
        "kari.nordmann",
        "--name",
        "Kari Nordmann",
        "--role",
        "worker",
        "--role",
        "coordinator",
        "--service",
        "lyngdal-familiens-hus",
        "--municipality",
        "4225",
        "--municipality",
        "4227",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    token = lines[0]
    assert result.stdout == token + "\n"
    assert token.count(".") == 2

    settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir)})
    claims = verify_token(settings, KeyFile.load_or_create(settings.key_file), token)
    assert claims["sub"] == "kari.nordmann"
    assert claims["name"] == "Kari Nordmann"
    assert claims["roles"] == ["worker", "coordinator"]
    assert claims["service"] == "lyngdal-familiens-hus"
    assert claims["municipalities"] == ["4225", "4227"]
    assert claims["aud"] == "stafettlogg"
    assert claims["exp"] - claims["iat"] == settings.token_ttl_minutes * 60
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_token_is_refused_for_a_deactivated_staff_member(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    app = Stafettlogg(Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir)}))
    try:
        register_services(app)  # with their people: per works at Hauge skole
        app.change_staff(ADMIN, "per", active=False)
    finally:
        app.close()
    args = ("token", "--sub", "per", "--name", "Per Hansen", "--role", "worker",
            "--service", "hauge-skole", "--municipality", "4225")
    result = run_cli(data_dir, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == "stafettlogg: token: per er deaktivert i ansattlisten"
    # Someone the directory does not know (a script's id) still gets a token.
    other = run_cli(data_dir, *args[:2], "import-job", *args[3:])
    assert other.returncode == 0, other.stderr


def test_token_ttl_comes_from_the_configuration(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    result = run_cli(
        data_dir,
        "token",
        "--sub",
        "eva",
        "--name",
        "Eva Evaluator",
        "--role",
        "evaluator",
        "--municipality",
        "4206",
        STAFETTLOGG_TOKEN_TTL_MINUTES="15",
    )
    assert result.returncode == 0, result.stderr
    settings = Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir)})
    claims = verify_token(
        settings, KeyFile.load_or_create(settings.key_file), result.stdout.strip()
    )
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert "service" not in claims


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "worker", "--municipality", "4225"], "krever service"),
        (["--role", "boss", "--service", "x-y", "--municipality", "4225"], "invalid choice"),
        (["--role", "worker", "--service", "skole-a", "--municipality", "42"], "fire sifre"),
        (["--role", "worker", "--service", "Skole A", "--municipality", "4225"], "tjeneste-id"),
        (["--role", "coordinator", "--service", "skole-a"], "kommunenummer"),
        (["--service", "skole-a", "--municipality", "4225"], "--role"),
    ],
)
def test_token_refuses_bad_arguments_with_exit_2(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli(tmp_path / "var", "token", "--sub", "kari", "--name", "Kari", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_one_line_on_stderr(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path / "var",
        "token",
        "--sub",
        "a",
        "--name",
        "Admin",
        "--role",
        "admin",
        STAFETTLOGG_TOKEN_TTL_MINUTES="0",
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "STAFETTLOGG_TOKEN_TTL_MINUTES" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_postgresql_without_its_driver_is_one_line_that_says_what_to_install(
    tmp_path: Path,
) -> None:
    """A machine set up without the postgres extra: psycopg cannot be imported."""
    missing = tmp_path / "without-psycopg"
    for name in ("psycopg", "psycopg_pool"):
        (missing / name).mkdir(parents=True)
        (missing / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{name}'\", name={name!r})\n"
        )
    result = run_cli(
        tmp_path / "var", "serve", "--port", "18997",
        STAFETTLOGG_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test",
        PYTHONPATH=str(missing),
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "psycopg" in result.stderr and "stafettlogg[postgres]" in result.stderr


def test_no_command_is_a_usage_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "var")
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


# --- issuing and verifying ------------------------------------------------------------------


def test_an_issued_token_verifies_and_names_the_actor(settings: Settings, keys: KeyFile) -> None:
    token = _token(settings, keys, roles=["worker", "worker"], municipalities=["4225", "4225"])
    claims = verify_token(settings, keys, token, now=NOW + timedelta(minutes=5))
    assert claims["roles"] == ["worker"]
    assert claims["municipalities"] == ["4225"]
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] == int((NOW + timedelta(minutes=settings.token_ttl_minutes)).timestamp())
    assert actor_from_claims(claims) == Actor(
        user="kari.nordmann",
        service="lyngdal-bhg-solsikken",
        roles=frozenset({"worker"}),
        municipalities=frozenset({"4225"}),
    )


def test_an_admin_needs_neither_service_nor_municipality(settings: Settings, keys: KeyFile) -> None:
    token = _token(settings, keys, roles=["admin"], service=None, municipalities=[])
    actor = actor_from_claims(verify_token(settings, keys, token, now=NOW))
    assert actor == Actor(user="kari.nordmann", roles=frozenset({"admin"}))


@pytest.mark.parametrize(
    "overrides",
    [
        {"roles": []},
        {"roles": ["superuser"]},
        {"roles": "worker"},
        {"service": None},
        {"municipalities": ["42250"]},
        {"municipalities": []},
        {"sub": " "},
        {"name": ""},
    ],
)
def test_issue_refuses_bad_claims(settings: Settings, keys: KeyFile, overrides: dict) -> None:
    with pytest.raises(InvalidClaims):
        _token(settings, keys, **overrides)


def test_a_token_signed_with_another_secret_is_rejected(settings: Settings, keys: KeyFile) -> None:
    forged = _token(settings, KeyFile.generate())
    with pytest.raises(InvalidToken, match="signatur"):
        verify_token(settings, keys, forged, now=NOW)


def test_a_tampered_token_is_rejected(settings: Settings, keys: KeyFile) -> None:
    token = _token(settings, keys)
    evaluator = _token(settings, keys, roles=["admin"])
    header, _, signature = token.split(".")
    tampered = ".".join([header, evaluator.split(".")[1], signature])
    with pytest.raises(InvalidToken):
        verify_token(settings, keys, tampered, now=NOW)


def test_an_expired_token_is_rejected(settings: Settings, keys: KeyFile) -> None:
    token = _token(settings, keys)
    after = NOW + timedelta(minutes=settings.token_ttl_minutes, seconds=1)
    with pytest.raises(InvalidToken, match="utløpt"):
        verify_token(settings, keys, token, now=after)
    # and against the real clock (PyJWT's own check)
    with pytest.raises(InvalidToken, match="utløpt"):
        verify_token(settings, keys, token)


def test_a_token_from_the_future_is_rejected(settings: Settings, keys: KeyFile) -> None:
    token = _token(settings, keys)
    with pytest.raises(InvalidToken, match="fram i tid"):
        verify_token(settings, keys, token, now=NOW - timedelta(minutes=5))


def _signed(keys: KeyFile, payload: dict, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, keys.token_secret, algorithm=algorithm)


def _payload(**overrides: object) -> dict:
    payload = {
        "sub": "kari",
        "name": "Kari",
        "roles": ["worker"],
        "service": "skole-a",
        "municipalities": ["4225"],
        "aud": "stafettlogg",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def test_a_token_for_another_audience_is_rejected(settings: Settings, keys: KeyFile) -> None:
    assert verify_token(settings, keys, _signed(keys, _payload()), now=NOW)["sub"] == "kari"
    with pytest.raises(InvalidToken, match="aud"):
        verify_token(settings, keys, _signed(keys, _payload(aud="annen-tjeneste")), now=NOW)
    without = _payload()
    del without["aud"]
    with pytest.raises(InvalidToken):
        verify_token(settings, keys, _signed(keys, without), now=NOW)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_only_the_configured_algorithm_is_accepted(settings: Settings, keys: KeyFile) -> None:
    with pytest.raises(InvalidToken, match="algoritme"):
        verify_token(settings, keys, _signed(keys, _payload(), "HS512"), now=NOW)
    unsigned = jwt.encode(_payload(), None, algorithm="none")
    with pytest.raises(InvalidToken):
        verify_token(settings, keys, unsigned, now=NOW)


@pytest.mark.parametrize(
    "overrides",
    [
        {"roles": ["root"]},
        {"service": None},
        {"municipalities": ["Lyngdal"]},
        {"exp": None},
        {"sub": None},
    ],
)
def test_a_signed_token_with_bad_claims_is_rejected(
    settings: Settings, keys: KeyFile, overrides: dict
) -> None:
    with pytest.raises(InvalidToken):
        verify_token(settings, keys, _signed(keys, _payload(**overrides)), now=NOW)


def test_garbage_is_rejected(settings: Settings, keys: KeyFile) -> None:
    for garbage in ("", "abc", "a.b.c"):
        with pytest.raises(InvalidToken):
            verify_token(settings, keys, garbage, now=NOW)


# --- /health and /ready ---------------------------------------------------------------------


async def test_health_and_ready(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        health = await client.get("/health")
        assert health.status_code == 200
        assert health.json() == {"status": "ok"}
        ready = await client.get("/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "ready"
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            "store": "ok", "key_store": "ok", "views": "ok", "releaser": "ok"}
        schema = await client.get("/schema/openapi.json")
        assert schema.status_code == 200
        assert {"/health", "/ready"} <= set(schema.json()["paths"])
        missing = await client.get("/api/no-such-thing")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
        assert missing.json()["status"] == 404
        # Outside the machine paths an unknown path is a page (tests/web).
        page = await client.get("/no-such-thing")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")


async def test_ready_is_503_problem_details_when_the_store_fails(settings: Settings) -> None:
    app = Stafettlogg(settings)

    def broken() -> int:
        raise RuntimeError("database is locked: secret detail")

    app.recorder.max_notification_id = broken  # type: ignore[method-assign]
    try:
        async with AsyncTestClient(app=create_app(settings, app=app)) as client:
            assert (await client.get("/health")).status_code == 200
            ready = await client.get("/ready")
    finally:
        app.close()
    assert ready.status_code == 503
    assert ready.headers["content-type"].startswith("application/problem+json")
    body = ready.json()
    assert body["status"] == 503
    assert {"type", "title", "detail"} <= set(body)
    assert "secret detail" not in ready.text
    assert "Traceback" not in ready.text


async def test_the_app_is_made_on_startup_and_closed_on_shutdown(settings: Settings) -> None:
    litestar = create_app(settings)
    assert "stafettlogg" not in litestar.state
    async with AsyncTestClient(app=litestar):
        instance = litestar.state["stafettlogg"]
        assert isinstance(instance, Stafettlogg)
    assert "stafettlogg" not in litestar.state
    assert settings.data_dir.joinpath("keys.json").exists()


# --- the demo command ------------------------------------------------------------------------


def test_demo_loads_once_and_then_refuses(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    first = run_cli(data_dir, "demo", "--seed", "3", "--children", "12")
    assert first.returncode == 0, first.stderr
    assert "barn: 12" in first.stdout
    assert "saker per nivå" in first.stdout
    again = run_cli(data_dir, "demo", "--seed", "3", "--children", "12")
    assert again.returncode == 1
    assert again.stdout == ""
    assert "STAFETTLOGG_DATA_DIR" in again.stderr
    assert "Traceback" not in again.stderr


def test_a_damaged_key_file_stops_the_cli_with_a_clear_message(tmp_path):
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    (data_dir / "keys.json").write_text('{"master_key": "not base64!"}')
    result = subprocess.run(
        [sys.executable, "-m", "stafettlogg", "token", "--sub", "u1", "--name", "Kari",
         "--role", "worker", "--service", "bhg", "--municipality", "4225"],
        env={**os.environ, "STAFETTLOGG_DATA_DIR": str(data_dir)},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "nøkkelfilen" in result.stderr and "Traceback" not in result.stderr


def test_erase_erases_a_closed_case_s_child_and_refuses_an_open_case(tmp_path: Path) -> None:
    from stafettlogg.application import SHREDDED
    from tests.conftest import KARI

    data_dir = tmp_path / "var"
    app = Stafettlogg(Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir)}))
    try:
        register_services(app)
        closed = app.open_case(KARI, child_name="Ingrid Aasen", concern="Stille i timene.")
        app.record_level0_step(KARI, closed.id, step="beslutning", text="Avslutter.")
        app.close_case(KARI, closed.id, reason="concern-resolved", note=None)
        still_open = app.open_case(KARI, child_name="Jonas Bakke", concern="Sliten.")
    finally:
        app.close()

    refused = run_cli(data_dir, "erase", "--case", str(still_open.id), "--reason",
                      "Krav om sletting, journalpost 2026/7")
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "stafettlogg: ikke slettet: Saken er åpen: barnets opplysninger kan ikke slettes"
        " før saken er avsluttet.")
    named = run_cli(data_dir, "erase", "--case", str(closed.id), "--reason", "Krav fra Ingrid")
    assert named.returncode == 2
    assert named.stderr.startswith("stafettlogg: --reason: Begrunnelsen blir stående")
    bad = run_cli(data_dir, "erase", "--case", "sak-7", "--reason", "Krav")
    assert (bad.returncode, bad.stdout) == (2, "")
    assert "--case: ikke et saksnummer" in bad.stderr

    done = run_cli(data_dir, "erase", "--case", str(closed.id), "--reason",
                   "Krav om sletting, journalpost 2026/7")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"Slettet: barnets opplysninger i saken {closed.id} kan ikke lenger leses.")
    app = Stafettlogg(Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir)}))
    try:
        assert app.child_details(closed.id).name == SHREDDED
        assert app.child_details(still_open.id).name == "Jonas Bakke"
        assert app.case_log(closed.id)[-1].details["note"] == (
            "Krav om sletting, journalpost 2026/7")
    finally:
        app.close()
    again = run_cli(data_dir, "erase", "--case", str(closed.id), "--reason", "Krav")
    assert again.returncode == 1
    assert "allerede slettet" in again.stderr
