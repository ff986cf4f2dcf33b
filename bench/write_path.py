"""1. The write path: case commands through HTTP, against the same commands in-process.

Each client (an HTTP client with its own connection, or a thread calling the
application) is a worker who runs one case after another through the same ten
commands: open, the four level-0 steps, level 1, three log entries, close. The
HTTP side is a real `stafettlogg serve` process (uvicorn, one worker, the
projection follower running); the in-process side calls `Stafettlogg`'s command
methods on a store of its own. Both stores start empty but for the services.
Throughput is commands finished per second of wall time; latency is per command,
as the client sees it. The HTTP clients are a minimal keep-alive client
(`bench/http.py`), all in the benchmark's process, beside the server on the same
two cores.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID

from bench.http import Connection
from bench.measure import Row, median, ms, percentile
from bench.server import ServerProcess, token
from bench.stores import OPENERS, Backend, discard, empty_store, worker
from domain.values import LEVEL0_STEPS, Actor
from stafettlogg.application import Stafettlogg

TEXT = "Observasjon fra hverdagen."
BIRTH = date(2019, 5, 1)


@dataclass(frozen=True)
class Command:
    """One case command, as an HTTP request and as an application call."""

    name: str
    path: str  # after /api/v1/cases/{id}; "" opens a case (POST /api/v1/cases)
    body: dict[str, Any]
    call: Callable[[Stafettlogg, Actor, Any], Any]


def story(child: str) -> list[Command]:
    """The ten commands of one client's case."""
    opening = Command(
        "open", "", {"child": {"name": child, "birth_date": BIRTH.isoformat()}, "concern": TEXT},
        lambda app, actor, _: app.open_case(actor, child_name=child, birth_date=BIRTH,
                                            concern=TEXT).id,
    )
    steps = [
        Command("level0-step", "/level0-steps", {"step": step, "text": TEXT},
                lambda app, actor, case, step=step: app.record_level0_step(
                    actor, case, step=step, text=TEXT))
        for step in LEVEL0_STEPS
    ]
    level = Command("level", "/level", {"level": 1, "reason": TEXT},
                    lambda app, actor, case: app.change_level(actor, case, level=1, reason=TEXT))
    entry = Command("entry", "/entries", {"kind": "observation", "text": TEXT},
                    lambda app, actor, case: app.add_entry(actor, case, kind="observation",
                                                           text=TEXT))
    close = Command("close", "/close", {"reason": "concern-resolved"},
                    lambda app, actor, case: app.close_case(actor, case,
                                                            reason="concern-resolved"))
    return [opening, *steps, level, entry, entry, entry, close]


@dataclass
class Sample:
    """Latencies of the commands finished in one window, and the window's length."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def actors(clients: int) -> list[Actor]:
    return [worker(OPENERS[i % len(OPENERS)], i + 1) for i in range(clients)]


# --- in-process --------------------------------------------------------------------------


def in_process(app: Stafettlogg, clients: int, seconds: float, label: str) -> Sample:
    sample = Sample()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(number: int, actor: Actor) -> None:
        mine: list[float] = []
        cases = 0
        while time.perf_counter() < deadline:
            cases += 1
            case: UUID | None = None
            for command in story(f"Barn {label} {number} {cases}"):
                if time.perf_counter() >= deadline:
                    break
                started = time.perf_counter()
                result = command.call(app, actor, case)
                mine.append(time.perf_counter() - started)
                case = result if command.name == "open" else case
        with lock:
            sample.latencies += mine

    threads = [threading.Thread(target=client, args=(i, a)) for i, a in enumerate(actors(clients))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sample.seconds = time.perf_counter() - started
    return sample


# --- over HTTP -----------------------------------------------------------------------------


async def _http_client(base_url: str, bearer: str, label: str, deadline: float) -> list[float]:
    mine: list[float] = []
    cases = 0
    async with Connection(base_url, {"Authorization": f"Bearer {bearer}"}) as connection:
        while time.perf_counter() < deadline:
            cases += 1
            case = ""
            for command in story(f"Barn {label} {cases}"):
                if time.perf_counter() >= deadline:
                    break
                started = time.perf_counter()
                url = "/api/v1/cases" + (f"/{case}{command.path}" if case else "")
                status, answer = await connection.request("POST", url, command.body)
                mine.append(time.perf_counter() - started)
                if status >= 300:
                    msg = f"{command.name}: {status} {answer}"
                    raise RuntimeError(msg)
                case = answer["id"] if command.name == "open" else case
    return mine


def over_http(base_url: str, bearers: list[str], seconds: float, label: str) -> Sample:
    async def run() -> Sample:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()
        results = await asyncio.gather(*(
            _http_client(base_url, bearer, f"{label} {i}", deadline)
            for i, bearer in enumerate(bearers)
        ))
        return Sample([x for r in results for x in r], time.perf_counter() - started)

    return asyncio.run(run())


# --- the measurement ----------------------------------------------------------------------


def measure(backend: Backend, clients: tuple[int, ...], seconds: float, rounds: int) -> list[Row]:
    http_store = empty_store(backend, "write-http")
    local_store = empty_store(backend, "write-in-process")
    app = local_store.open()
    most = actors(max(clients))
    bearers = [token(http_store, a.user, "worker", sorted(a.municipalities), a.service)
               for a in most]
    http: dict[int, list[Sample]] = {n: [] for n in clients}
    local: dict[int, list[Sample]] = {n: [] for n in clients}
    try:
        with ServerProcess(http_store, "write-path") as server:
            server.wait_ready()
            # Warm up both sides (imports, caches, first SQLite pages) before timing.
            over_http(server.base_url, bearers[:2], min(seconds, 1.0), "warm")
            in_process(app, 2, min(seconds, 1.0), "warm")
            for r in range(rounds):
                for n in clients:  # in turn, so that noise falls on both alike
                    local[n].append(in_process(app, n, seconds, f"r{r}n{n}"))
                    http[n].append(over_http(server.base_url, bearers[:n], seconds, f"r{r}n{n}"))
    finally:
        app.close()
        discard(http_store)
        discard(local_store)
    return [_row(n, http[n], local[n]) for n in clients]


def _summary(samples: list[Sample]) -> tuple[float, float, float]:
    pooled = [x for s in samples for x in s.latencies]
    return (median([s.per_second for s in samples]), percentile(pooled, 50),
            percentile(pooled, 99))


def _row(n: int, http: list[Sample], local: list[Sample]) -> Row:
    rate, p50, p99 = _summary(http)
    ref_rate, ref_p50, ref_p99 = _summary(local)
    ratio = rate / ref_rate if ref_rate else None
    row = Row(
        "1", f"write path, {n} client{'s' if n > 1 else ''}: HTTP",
        f"{rate:,.0f} cmd/s; p50 {ms(p50)}, p99 {ms(p99)}",
        f"in-process {ref_rate:,.0f} cmd/s; p50 {ms(ref_p50)}, p99 {ms(ref_p99)}",
        ratio,
    )
    if n == 8:
        row.target = "≥ 0.6× in-process; p99 < 50 ms"
        row.met = ratio is not None and ratio >= 0.6 and p99 < 0.050
    return row
