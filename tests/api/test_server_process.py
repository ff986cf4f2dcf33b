"""The real thing: `python -m stafettlogg serve` as a process, spoken to over a socket.

The services are registered with the application on the same data directory before
the server starts; the tokens come from the real `stafettlogg token` command; the
story of `story.py` then runs over HTTP with httpx against the running server (whose
clock is the real one), and the server is stopped with SIGTERM and must shut down
cleanly, leaving the story's case on disk.
"""

from __future__ import annotations

import json

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from tests.api.story import STORY_SERVICES, STORY_USERS, run_story
from tests.conftest import ADMIN

pytestmark = pytest.mark.slow

PROJECT = Path(__file__).resolve().parents[2]
READY_DEADLINE = 20.0
STOP_DEADLINE = 15.0
JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(data_dir: Path) -> dict[str, str]:
    """The process environment, with this test's data dir and no stray STAFETTLOGG_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAFETTLOGG_")}
    env.update({
        "STAFETTLOGG_DATA_DIR": str(data_dir),
        "STAFETTLOGG_RATE_LIMIT_PER_MINUTE": "100000",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def register_story_services(env: dict[str, str]) -> None:
    app = Stafettlogg(Settings.from_env(env))
    try:
        for service_id, name, sector, municipalities in STORY_SERVICES:
            app.register_service(
                ADMIN, service_id=service_id, name=name, sector=sector,
                municipalities=municipalities,
            )
        for user, claims in STORY_USERS.items():  # a handover names a member of the staff
            app.register_staff(
                ADMIN, staff_id=user, name=user.title(), service=claims["service"],
                roles=claims["roles"], municipalities=claims["municipalities"],
            )
    finally:
        app.close()


def cli_token(env: dict[str, str], user: str) -> str:
    claims = STORY_USERS[user]
    argv = [sys.executable, "-m", "stafettlogg", "token", "--sub", user, "--name", user.title()]
    for role in claims["roles"]:
        argv += ["--role", role]
    if claims.get("service"):
        argv += ["--service", claims["service"]]
    for number in claims["municipalities"]:
        argv += ["--municipality", number]
    done = subprocess.run(argv, cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    # The token and nothing else on stdout.
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, done.stdout
    token = done.stdout.strip()
    assert JWT.match(token), done.stdout
    return token


class Server:
    def __init__(self, env: dict[str, str], port: int, logs: Path) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.stdout_path = logs / "server.out"
        self.stderr_path = logs / "server.err"
        self._stdout = self.stdout_path.open("wb")
        self._stderr = self.stderr_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "stafettlogg", "serve", "--port", str(port)],
            cwd=PROJECT, env=env, stdout=self._stdout, stderr=self._stderr,
        )

    def output(self) -> str:
        self._stdout.flush()
        self._stderr.flush()
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(
            errors="replace")

    async def wait_ready(self, client: httpx.AsyncClient) -> None:
        deadline = time.monotonic() + READY_DEADLINE
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"server exited with {self.process.returncode}:\n{self.output()}")
            try:
                response = await client.get("/ready", timeout=2.0)
                if response.status_code == 200 and response.json()["status"] == "ready":
                    return
                last = f"{response.status_code} {response.text}"
            except httpx.TransportError as exc:
                last = type(exc).__name__
            await asyncio.sleep(0.1)
        pytest.fail(f"server not ready within {READY_DEADLINE} s ({last}):\n{self.output()}")

    def stop(self) -> int:
        """SIGTERM, then wait; kill (and fail) if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
                pytest.fail(f"server ignored SIGTERM for {STOP_DEADLINE} s:\n{self.output()}")
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:  # only after a failure: never leave it running
            self.process.kill()
            self.process.wait(timeout=5)
        self._stdout.close()
        self._stderr.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def env(data_dir: Path) -> dict[str, str]:
    env = server_env(data_dir)
    register_story_services(env)
    return env


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    running = Server(env, free_port(), tmp_path)
    try:
        yield running
    finally:
        running.close()


def http_call(client: httpx.AsyncClient):
    async def call(method: str, url: str, token: str | None, json: Any = None,
                   headers: dict[str, str] | None = None):
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        response = await client.request(method, url, json=json, headers=all_headers)
        body = response.json() if response.content else None
        return response.status_code, body, response.headers

    return call


async def test_story_against_the_real_server_process(
    server: Server, env: dict[str, str], data_dir: Path
) -> None:
    started = time.monotonic()
    tokens = {user: cli_token(env, user) for user in STORY_USERS}

    async with httpx.AsyncClient(base_url=server.base_url, timeout=10.0) as client:
        await server.wait_ready(client)
        ready_after = time.monotonic() - started

        health = await client.get("/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        # Over the socket as in process: no token, or a forged one, is a 401 problem.
        for headers in ({}, {"Authorization": f"Bearer {tokens['kari'][:-4]}AAAA"}):
            refused = await client.get("/api/v1/cases", headers=headers)
            assert refused.status_code == 401, refused.text
            assert refused.headers["content-type"].startswith("application/problem+json")
        services = await client.get("/api/v1/services",
                                    headers={"Authorization": f"Bearer {tokens['kari']}"})
        assert services.status_code == 200
        assert sorted(s["id"] for s in services.json()["items"]) == sorted(
            s[0] for s in STORY_SERVICES)

        result = await run_story(http_call(client), tokens, datetime.now(UTC).date())

    returncode = server.stop()
    output = server.output()
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught, so the
    # process ends by that signal (or, with other versions, exits 0).
    assert returncode in (0, -signal.SIGTERM), (returncode, output)
    assert "Application shutdown complete" in output, output
    assert "Finished server process" in output, output
    assert "Traceback" not in output, output
    assert result["national_id"] not in output  # never in a log line
    # One JSON line per request, with the route template, never the path with its ids.
    requests = [json.loads(line) for line in output.splitlines()
                if line.startswith("{") and '"stafettlogg.requests"' in line]
    assert any(r["route"] == "/api/v1/cases/{case_id}" and r["user"] for r in requests)
    assert result["case_id"] not in output
    assert tokens["kari"] not in output

    # The store was closed cleanly and holds the story.
    app = Stafettlogg(Settings.from_env(env))
    try:
        case = app.get_case(UUID(result["case_id"]))
        assert case.state.status == "closed"
        assert case.state.holder_user == "per"
        assert len(app.case_log(case.id)) == len(result["log"])
    finally:
        app.close()
    print(f"ready after {ready_after:.1f} s; whole run {time.monotonic() - started:.1f} s")
