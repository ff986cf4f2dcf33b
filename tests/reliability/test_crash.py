"""`kill -9` during a write load, again and again, and restart on the same data.

16 clients write (log entries, consents and withdrawals, meetings, handovers, new
cases), most of them with an `Idempotency-Key`. The server is killed with SIGKILL at
a random moment, KILLS times, and started again at once on the same data and port.
A client whose answer was lost (the connection broke under it) asks again with the
same key until it gets an answer, which then decides; a write without a key whose
answer was lost stays unknown (it may be stored, once, or not at all).

Afterwards: every acknowledged write is in its case's log exactly once (and nothing
else broke, see `checks.py`); every case that was acknowledged as opened is listed,
and no more; and the views the service built while being killed (case list, inbox,
access log listing, statistics facts, tracking positions) are row for row what
`stafettlogg projections rebuild` makes from zero on a copy of the store.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.backends import Backend, compare_views
from tests.reliability.checks import check_all
from tests.reliability.harness import (
    WORKERS,
    Api,
    ClientState,
    Ledger,
    Server,
    open_shared_case,
    run_cli,
    run_threads,
    step,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

KILLS = 5
CLIENTS = 16
WEIGHTS = {"entry": 0.4, "handover": 0.2, "consent": 0.2, "meeting": 0.1, "open": 0.1}


def listed_cases(api: Api, user: str = "kim") -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page = api.ok(user, "GET", "/cases?limit=200" + (f"&cursor={cursor}" if cursor else ""))
        ids += [c["id"] for c in page["items"]]
        cursor = page["next"]
        if cursor is None:
            return ids


def test_kill_9_during_write_load(
    api: Api, server: Server, backend: Backend, tmp_path: Path
) -> None:
    rng = random.Random(5)
    ledger = Ledger()
    holders = ["kari", "per", "pia", "hanne"]
    cases = [open_shared_case(api, holder, n) for n, holder in enumerate(holders)]
    ledger.mark_baseline(api, cases)
    clients = [
        ClientState(number=i, user=WORKERS[i % len(WORKERS)], rng=random.Random(500 + i),
                    idempotent=0.7, retry_lost=True)
        for i in range(CLIENTS)
    ]
    stop = threading.Event()

    def work(i: int) -> None:
        while not stop.is_set():
            step(api, ledger, clients[i], clients[i].rng.choice(cases), WEIGHTS)

    load = threading.Thread(target=run_threads, args=(CLIENTS, work), name="load")
    began = time.monotonic()
    load.start()
    restarts: list[float] = []
    acked_before_kill: list[int] = []
    try:
        for _ in range(KILLS):
            # Kill while writes are being acknowledged: after at least 20 more, and then
            # at a random moment.
            floor = ledger.outcomes()["acked"] + 20
            deadline = time.monotonic() + 30
            while ledger.outcomes()["acked"] < floor:
                assert time.monotonic() < deadline, f"the load stalled: {ledger.summary()}"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.1, 0.8))
            acked_before_kill.append(ledger.outcomes()["acked"])
            server.kill9()
            server.start()
            restarts.append(server.wait_ready())
        time.sleep(1.0)
    finally:
        stop.set()
        load.join(timeout=120)
    assert not load.is_alive(), "the clients did not stop"
    seconds = time.monotonic() - began

    assert server.kills == KILLS
    lost = [w for w in ledger.writes if any("answer lost" in h for h in w.history)]
    replayed_after_loss = [w for w in lost if w.outcome == "acked" and w.replayed]
    print(
        f"\n[{backend.name}] {KILLS} kills in {seconds:.1f} s (restarts ready after "
        f"{', '.join(f'{r:.1f}' for r in restarts)} s); acked before each kill "
        f"{acked_before_kill}; {len(lost)} answers lost, of which "
        f"{len(replayed_after_loss)} were stored and replayed on retry; {ledger.summary()}"
    )
    # Every kill fell during the load: acknowledged writes before and after each.
    assert all(b > a for a, b in itertools.pairwise(acked_before_kill)), acked_before_kill
    assert lost, "no answer was ever lost: the kills missed the load"
    # A keyed write whose answer was lost was asked again until answered.
    unresolved = [w.describe() for w in lost if w.key and w.outcome != "acked"
                  and w.outcome != "refused"]
    assert not unresolved, unresolved

    opened = [w.case for w in ledger.writes if w.kind == "open" and w.outcome == "acked"]
    assert opened, ledger.summary()
    check_all(api, ledger, cases + opened)
    # Every acknowledged opening is listed once; an unknown one at most once more.
    listed = listed_cases(api)
    unknown_openings = sum(1 for w in ledger.writes if w.kind == "open" and w.outcome == "unknown")
    assert sorted(set(listed)) == sorted(listed), "a case is listed twice"
    assert set(cases + opened) <= set(listed), set(cases + opened) - set(listed)
    assert len(listed) - len(cases + opened) <= unknown_openings, (listed, ledger.summary())

    # The views built across the kills equal a rebuild from zero.
    api.ok("kari", "GET", "/inbox")  # the views catch up with the last writes
    server.stop()
    live = backend.view_rows()
    copy = backend.clone(tmp_path / "copy")
    try:
        out = run_cli(copy.env(), "projections", "rebuild")
        rebuilt = copy.view_rows()
    finally:
        copy.drop()
    assert "Gjenoppbygget" in out, out
    differences = compare_views(live, rebuilt)
    assert not differences, "views after kills differ from a rebuild:\n" + "\n".join(differences)
    assert sum(len(rows) for rows in live.values()) > 0
    print(f"[{backend.name}] views equal the rebuild: "
          + ", ".join(f"{t} {sum(r.values())}" for t, r in sorted(live.items())))
