"""The database goes away during a write load and comes back: 503 meanwhile, then
recovery without a restart.

PostgreSQL only: an embedded SQLite file does not go away while its process lives.
The machine's PostgreSQL is never stopped (other tests use it). Three ways to lose it:

* `refuse`: a TCP proxy between the service and PostgreSQL resets every connection
  and refuses new ones (as a PostgreSQL that went down);
* `blackhole`: the proxy stops forwarding and holds new connections without an answer
  (as a network that fails silently); after it heals the held bytes flow on;
* `terminate`: the test's own database refuses new connections
  (`ALTER DATABASE ... ALLOW_CONNECTIONS false`) and its backends are terminated
  (`pg_terminate_backend`).

Eight clients write (keyed entries, consents, meetings; handovers) before, during and
after. Meanwhile `/ready` and the writes answer 503 (problem details, quickly: no
request hangs), never 500; a client that got a 503 asks again with its key until the
service answers. After the database is back the same server process (same pid, never
restarted) is ready again and takes writes; every acknowledged write is in the log
exactly once (`checks.py`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import httpx
import pytest

from tests.reliability.backends import PG_HOST, PG_PORT, PostgresBackend, admin_connection
from tests.reliability.checks import check_all
from tests.reliability.harness import (
    ALLOWED,
    WORKERS,
    Api,
    ClientState,
    Ledger,
    Server,
    open_shared_case,
    run_threads,
    serving,
    step,
)
from tests.reliability.proxy import TcpProxy

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

CLIENTS = 8
# How long the database is away; a silent network failure needs longer to be noticed.
OUTAGE_SECONDS = {"refuse": 5.0, "blackhole": 8.0, "terminate": 5.0}
# After this long without the database, /ready must say 503 on every poll.
NOTICE_SECONDS = 3.0
# No answer, 503 or not, may take longer than this: a request must never hang.
MAX_ANSWER_SECONDS = 15.0
# The service is ready again this soon after the database is back.
RECOVERY_SECONDS = 20.0
WEIGHTS = {"entry": 0.5, "consent": 0.2, "meeting": 0.1, "handover": 0.2}


@dataclass(frozen=True)
class Poll:
    began: float
    ended: float
    status: int | str


class ReadyMonitor:
    """Polls `/ready` five times a second, from its own connection."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.polls: list[Poll] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ready-monitor", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=60.0) as client:
            while not self._stop.is_set():
                began = time.monotonic()
                try:
                    answer = client.get("/ready")
                    status: int | str = answer.status_code
                    if status == 503:
                        assert answer.headers["content-type"].startswith(
                            "application/problem+json"), answer.headers
                except httpx.TransportError as exc:
                    status = type(exc).__name__
                self.polls.append(Poll(began, time.monotonic(), status))
                self._stop.wait(0.2)

    def ready_since(self, moment: float) -> float | None:
        """When `/ready` first said 200 for a poll begun after `moment`."""
        for poll in self.polls:
            if poll.began >= moment and poll.status == 200:
                return poll.ended
        return None


class Outage:
    """One way of taking the test's database away from the service, and back."""

    def __init__(self, mode: str, backend: PostgresBackend) -> None:
        self.mode = mode
        self.backend = backend
        self.proxy: TcpProxy | None = None
        if mode in ("refuse", "blackhole"):
            self.proxy = TcpProxy((PG_HOST, PG_PORT))
            backend.host, backend.port = self.proxy.address

    def cut(self) -> None:
        if self.proxy is not None:
            self.proxy.cut(self.mode)  # type: ignore[arg-type]
            return
        with admin_connection() as conn:
            db = self.backend.database
            conn.execute(f'ALTER DATABASE "{db}" ALLOW_CONNECTIONS false')
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()", (db,),
            )

    def restore(self) -> None:
        if self.proxy is not None:
            self.proxy.restore()
            return
        with admin_connection() as conn:
            conn.execute(f'ALTER DATABASE "{self.backend.database}" ALLOW_CONNECTIONS true')

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
        else:
            self.restore()


def wait_for(condition: Callable[[], bool], deadline: float, what: str) -> float:
    began = time.monotonic()
    while not condition():
        assert time.monotonic() - began < deadline, f"not within {deadline} s: {what}"
        time.sleep(0.05)
    return time.monotonic() - began


@pytest.mark.parametrize("mode", ["refuse", "blackhole", "terminate"])
def test_database_goes_away_during_load_and_comes_back(
    pg: PostgresBackend, mode: str, tmp_path: Path
) -> None:
    outage = Outage(mode, pg)
    try:
        with serving(pg, tmp_path / "logs") as (server, api):
            run_outage(outage, server, api, mode)
    finally:
        outage.close()


def run_outage(outage: Outage, server: Server, api: Api, mode: str) -> None:
    pid = server.pid
    ledger = Ledger()
    cases = [open_shared_case(api, "kari", 1), open_shared_case(api, "per", 2)]
    ledger.mark_baseline(api, cases)
    clients = [
        ClientState(number=i, user=WORKERS[i % len(WORKERS)], rng=random.Random(900 + i),
                    idempotent=1.0, retry_lost=True, allowed=ALLOWED | {503})
        for i in range(CLIENTS)
    ]
    stop = threading.Event()

    def work(i: int) -> None:
        while not stop.is_set():
            step(api, ledger, clients[i], clients[i].rng.choice(cases), WEIGHTS)

    def acked() -> int:
        return ledger.outcomes()["acked"]

    load = threading.Thread(target=run_threads, args=(CLIENTS, work), name="load")
    with ReadyMonitor(server.base_url) as monitor:
        load.start()
        try:
            wait_for(lambda: acked() >= 30, 30, "30 writes before the outage")
            before = acked()
            cut_at = time.monotonic()
            outage.cut()
            time.sleep(OUTAGE_SECONDS[mode])
            during = acked() - before
            restored_at = time.monotonic()
            outage.restore()
            wait_for(lambda: monitor.ready_since(restored_at) is not None, RECOVERY_SECONDS,
                     f"/ready 200 after the database came back:\n{server.output()}")
            ready_at = monitor.ready_since(restored_at) or 0.0
            after_ready = acked()
            wait_for(lambda: acked() >= after_ready + 30, RECOVERY_SECONDS,
                     f"30 writes after the recovery ({ledger.summary()})")
        finally:
            stop.set()
            load.join(timeout=120)
    assert not load.is_alive(), "the clients did not stop"

    statuses_503 = ledger.statuses["503 store-unavailable"] + ledger.statuses["503"]
    cut_polls = [p for p in monitor.polls
                 if p.began > cut_at + NOTICE_SECONDS and p.ended < restored_at]
    longest = max(monitor.polls, key=lambda p: p.ended - p.began)
    print(
        f"\n[postgres/{mode}] {OUTAGE_SECONDS[mode]:.0f} s without the database; writes acked "
        f"before {before}, during {during}; /ready: {len(cut_polls)} polls while cut, "
        f"statuses {sorted({str(p.status) for p in cut_polls})}; ready again "
        f"{ready_at - restored_at:.1f} s after the database came back; "
        f"{statuses_503} writes answered 503 (in {sorted(round(x, 1) for x in ledger.seconds[503])}"
        f" s); longest /ready {longest.ended - longest.began:.1f} s "
        f"(begun {longest.began - cut_at:+.1f} s from the cut); {ledger.summary()}"
    )
    # Meanwhile: 503, never a hang, never 500.
    assert len(cut_polls) >= 2, (
        f"/ready did not answer while the database was away: its longest poll took "
        f"{longest.ended - longest.began:.1f} s, begun {longest.began - cut_at:+.1f} s from the "
        f"cut (restored at {restored_at - cut_at:+.1f} s)"
    )
    assert all(p.status == 503 for p in cut_polls), [
        (round(p.began - cut_at, 2), p.status) for p in cut_polls]
    assert statuses_503 > 0, f"no write was answered 503 during the outage: {ledger.summary()}"
    slow_polls = [p for p in monitor.polls if p.ended - p.began > MAX_ANSWER_SECONDS]
    assert not slow_polls, f"/ready hung: {slow_polls}"
    assert ledger.slowest[0] <= MAX_ANSWER_SECONDS, f"a request hung: {ledger.summary()}"
    assert not [p for p in monitor.polls if p.status not in (200, 503)], monitor.polls
    # The same process, never restarted, serves again.
    assert server.process is not None and server.process.poll() is None, server.output()
    assert server.pid == pid and server.starts == 1
    # Every keyed write that met the outage was asked again until answered.
    unresolved = [w.describe() for w in ledger.writes if w.outcome not in ("acked", "refused")]
    assert not unresolved, unresolved[:10]
    check_all(api, ledger, cases)
    output = server.output(tail=200_000)
    assert "Traceback" not in output, output[-4000:]
