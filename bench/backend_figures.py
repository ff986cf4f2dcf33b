"""Figures for docs/scaling.md: SQLite against PostgreSQL, and one API process against two.

    .venv/bin/python -m bench.backend_figures [--seconds 15] [--threads 1,8]

1. Writes in-process: threads that each open a case and add log entries to it, one
   command at a time (every command is one transaction with its access-log line),
   for a fixed time; figure: events stored per second.
2. The projections: a rebuild of every view from the first event; figure: events
   read and projected per second.
3. Writes over HTTP: 16 clients adding entries to cases of their own, against one
   `stafettlogg serve` process and against two on one PostgreSQL; figure: requests
   acknowledged per second.

PostgreSQL is the machine's (`STAFETTLOGG_TEST_DATABASE_URL`, default
postgresql://postgres@127.0.0.1:5432/test), in a schema of its own, dropped after.
Everything runs on this machine: the database, the servers and the clients share
its cores, so the figures are a floor, not a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from domain.values import Actor
from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings
from stafettlogg.tokens import issue_token

PROJECT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("STAFETTLOGG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN = Actor(user="admin", roles=frozenset({"admin"}))
SERVICES = [("bhg-a", "Barnehage A", "barnehage", ["4225"]), ("skole-a", "Skole A", "skole", ["4225"])]


def worker(n: int) -> Actor:
    return Actor(user=f"w{n}", service="bhg-a", roles=frozenset({"worker"}),
                 municipalities=frozenset({"4225"}))


class Backend:
    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self.schema = f"bench_{uuid.uuid4().hex[:12]}" if name == "postgres" else None
        if self.schema:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {self.schema}")

    def env(self, data_dir: Path) -> dict[str, str]:
        env = {"STAFETTLOGG_DATA_DIR": str(data_dir), "STAFETTLOGG_RATE_LIMIT_PER_MINUTE": "1000000"}
        if self.schema:
            env |= {"STAFETTLOGG_DATABASE_URL": PG_URL, "STAFETTLOGG_POSTGRES_SCHEMA": self.schema,
                    "STAFETTLOGG_POSTGRES_POOL_SIZE": "10"}
        return env

    def app(self) -> Stafettlogg:
        return Stafettlogg(Settings.from_env(self.env(self.root / "a")))

    def drop(self) -> None:
        if self.schema:
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {self.schema} CASCADE")


def write_in_process(app: Stafettlogg, threads: int, seconds: float) -> float:
    """Events stored per second by `threads` writers, each on cases of its own."""
    before = app.recorder.max_notification_id() or 0
    stop = time.monotonic() + seconds
    failures: list[BaseException] = []

    def run(n: int) -> None:
        actor = worker(n)
        try:
            while time.monotonic() < stop:
                case = app.open_case(actor, child_name=f"Barn {n} {uuid.uuid4().hex[:6]}",
                                     concern="Uro")
                for i in range(9):
                    app.add_entry(actor, case.id, kind="note", text=f"notat {i}")
        except BaseException as exc:  # noqa: BLE001 - reported
            failures.append(exc)

    started = time.monotonic()
    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - started
    if failures:
        raise failures[0]
    return ((app.recorder.max_notification_id() or 0) - before) / elapsed


def rebuild(app: Stafettlogg) -> tuple[int, float]:
    started = time.monotonic()
    read = app.read_models.rebuild()
    elapsed = time.monotonic() - started
    events = app.recorder.max_notification_id() or 0
    return events, events / elapsed if read else 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("STAFETTLOGG_")} | env
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "stafettlogg", "serve", "--port", str(port)],
            cwd=PROJECT, env=full, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server not ready: {log.read_text()[-2000:]}")


async def http_load(ports: list[int], tokens: list[str], clients: int, seconds: float) -> float:
    """Acknowledged writes per second: each client opens a case, then adds entries."""
    done = 0
    stop = time.monotonic() + seconds

    async def client(n: int) -> None:
        nonlocal done
        base = f"http://127.0.0.1:{ports[n % len(ports)]}"
        headers = {"Authorization": f"Bearer {tokens[n]}"}
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            opened = await http.post("/api/v1/cases", headers=headers, json={
                "child": {"name": f"Barn {n} {uuid.uuid4().hex[:6]}", "birth_date": "2020-01-01"},
                "concern": "Uro"})
            assert opened.status_code == 201, opened.text
            case = opened.json()["id"]
            while time.monotonic() < stop:
                added = await http.post(f"/api/v1/cases/{case}/entries", headers=headers,
                                        json={"kind": "note", "text": "notat"})
                assert added.status_code == 201, added.text
                done += 1

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return done / (time.monotonic() - started)


def http_figures(backend: Backend, processes: int, seconds: float, clients: int = 16) -> float:
    dirs = [backend.root / f"http{processes}-{i}" for i in range(processes)]
    for d in dirs:  # one key file for every process (as the database demands)
        d.mkdir(parents=True)
        shutil.copy2(backend.root / "a" / "keys.json", d / "keys.json")
    setup = Stafettlogg(Settings.from_env(backend.env(dirs[0])))
    try:
        for sid, name, sector, munis in SERVICES:
            if sid not in {s.id for s in setup.list_services()}:
                setup.register_service(ADMIN, service_id=sid, name=name, sector=sector,
                                       municipalities=munis)
        tokens = [
            issue_token(setup.settings, setup.keys, sub=f"h{n}", name=f"H{n}", roles=["worker"],
                        service="bhg-a", municipalities=["4225"], now=datetime.now(UTC))
            for n in range(clients)
        ]
    finally:
        setup.close()
    servers = []
    try:
        for d in dirs:
            port = free_port()
            servers.append((start_server(backend.env(d), port, d / "server.log"), port))
        return asyncio.run(http_load([p for _, p in servers], tokens, clients, seconds))
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--threads", default="1,8")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--http", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    for name in args.backends.split(","):
        root = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        backend = Backend(name, root)
        try:
            app = backend.app()
            try:
                for sid, sname, sector, munis in SERVICES:
                    app.register_service(ADMIN, service_id=sid, name=sname, sector=sector,
                                         municipalities=munis)
                for threads in (int(t) for t in args.threads.split(",")):
                    rate = write_in_process(app, threads, args.seconds)
                    rows.append((name, f"writes in-process, {threads} thread(s)",
                                 f"{rate:,.0f} events/s"))
                    print(rows[-1], flush=True)
                events, rate = rebuild(app)
                rows.append((name, f"rebuild of all views ({events:,} events)", f"{rate:,.0f} events/s"))
                print(rows[-1], flush=True)
            finally:
                app.close()
            if args.http:
                for processes in (1, 2) if name == "postgres" else (1,):
                    rate = http_figures(backend, processes, args.seconds)
                    rows.append((name, f"HTTP writes, 16 clients, {processes} process(es)",
                                 f"{rate:,.0f} requests/s"))
                    print(rows[-1], flush=True)
        finally:
            backend.drop()
            shutil.rmtree(root, ignore_errors=True)
    print("\n| backend | what | figure |\n|---|---|---|")
    for row in rows:
        print(f"| {' | '.join(row)} |")


if __name__ == "__main__":
    main()
