"""`stafettlogg serve` as a real process on 127.0.0.1, for the page tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from tests.api.test_server_process import PROJECT, READY_DEADLINE, free_port, server_env
from tests.conftest import ADMIN, register_services
from tests.stores import MUNICIPALITY_NAMES

# Who signs in with which subject at the test provider (the staff of tests/conftest.py).
LOGINS = {"kari": "kari-sub", "per": "per-sub", "pia": "pia-sub", "kim": "kim-sub"}


@dataclass
class Server:
    base_url: str
    host: str  # "127.0.0.1:port", as a request's URL names it
    process: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def app(self) -> Stafettlogg:
        """The store, opened beside the server (SQLite: both may write)."""
        return Stafettlogg(Settings.from_env(self.env))


def environment(root: Path, port: int, **extra: str) -> dict[str, str]:
    env = server_env(root / "var")
    env["STAFETTLOGG_MUNICIPALITY_NAMES"] = MUNICIPALITY_NAMES
    env["STAFETTLOGG_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    env.update(extra)
    return env


@contextmanager
def serving(root: Path, *args: str, port: int | None = None,
            env: dict[str, str] | None = None) -> Iterator[Server]:
    """Serve until the block ends; `args` go to `stafettlogg serve` (e.g. `--demo`)."""
    port = port or free_port()
    env = env or environment(root, port)
    log = root / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "stafettlogg", "serve", "--port", str(port), *args],
            cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", f"127.0.0.1:{port}", process, log, env)
    try:
        deadline = time.monotonic() + READY_DEADLINE + (120 if "--demo" in args else 0)
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}:\n{server.output()}")
            try:
                if httpx.get(f"{server.base_url}/ready", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready in time:\n{server.output()}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def signing_in_with(root: Path, issuer: str, logins: dict[str, str] | None = None,
                    prepare: Callable[[Stafettlogg], object] | None = None,
                    **extra: str) -> Iterator[Server]:
    """A server that signs staff in with the provider at `issuer`, on a store with the
    test services and staff (and what `prepare` adds), each staff member of `logins`
    with that login subject; `extra` are more settings."""
    port = free_port()
    env = environment(root, port, STAFETTLOGG_OIDC_ISSUER=issuer,
                      STAFETTLOGG_OIDC_CLIENT_ID="stafettlogg",
                      STAFETTLOGG_OIDC_CLIENT_SECRET="hemmelig", **extra)
    app = Stafettlogg(Settings.from_env(env))
    try:
        register_services(app)
        if prepare is not None:
            prepare(app)
        for staff_id, subject in (LOGINS if logins is None else logins).items():
            app.change_staff(ADMIN, staff_id, login_subject=subject)
    finally:
        app.close()
    with serving(root, port=port, env=env) as running:
        yield running
