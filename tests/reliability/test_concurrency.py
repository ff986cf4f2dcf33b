"""32 clients at once over HTTP, against one case and against many cases.

The clients are threads, each with its own connection pool, speaking as eight
workers of four services (four clients per worker, so a worker also races itself).
Sixteen of them pass the baton around: the holder asks for a handover (sometimes
with `If-Match`), the named recipient accepts or declines, the asker sometimes
cancels. The other sixteen mostly add log entries, register and withdraw consents
and hold meetings.

Afterwards, for every case (see `harness.check_case`): every acknowledged write is in
the log exactly once and every refused one not at all; the baton's history is valid
(one holder; a handover asked only when none is pending, answered only while
pending); the case as served matches its log; the access log has one line per
acknowledged write. Refusals are 409 (a rule that no longer held) or 412 (a stale
`If-Match`), never anything else, and there is no 5xx and no lost answer.

On PostgreSQL the one-case load also runs through two server processes at once.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.backends import Backend, PostgresBackend
from tests.reliability.checks import check_all
from tests.reliability.harness import (
    WORKERS,
    Api,
    ClientState,
    Ledger,
    Server,
    Write,
    child_of,
    open_shared_case,
    run_threads,
    send_write,
    serving,
    share_case,
    step,
    text_for,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

CLIENTS = 32
STEPS = 20  # per client
DEADLINE = 40.0  # seconds for all steps; a client stops early after it
# Two clients per worker pass the baton and nothing else (so two race to answer each
# handover); the other 16 mostly write.
BATON = {"handover": 1.0}
WEIGHTS = {"entry": 0.5, "handover": 0.2, "consent": 0.25, "meeting": 0.05}


def clients_for(seed: int) -> list[ClientState]:
    """32 clients: four per worker."""
    return [
        ClientState(number=i, user=WORKERS[i % len(WORKERS)], rng=random.Random(seed * 1000 + i))
        for i in range(CLIENTS)
    ]


def weights_of(client: ClientState) -> dict[str, float]:
    return BATON if client.number < 2 * len(WORKERS) else WEIGHTS


def run_load(apis: Api | list[Api], ledger: Ledger, clients: list[ClientState],
             cases: list[str]) -> float:
    """Every client takes STEPS steps on cases chosen at random; returns the seconds taken.
    With several servers (`apis`), client i speaks to server i modulo their number."""
    apis = apis if isinstance(apis, list) else [apis]
    start = threading.Barrier(len(clients))
    deadline = time.monotonic() + DEADLINE
    writers = [c for c in clients if weights_of(c) is not BATON]
    writers_done = threading.Semaphore(0)

    def work(i: int) -> None:
        client = clients[i]
        api = apis[i % len(apis)]
        start.wait()
        if weights_of(client) is BATON:
            # The baton moves for as long as the others write (and at least STEPS times).
            steps = 0
            while steps < STEPS or not done.is_set():
                if time.monotonic() > deadline or steps >= 10 * STEPS:
                    return
                step(api, ledger, client, client.rng.choice(cases), BATON)
                steps += 1
            return
        for _ in range(STEPS):
            if time.monotonic() > deadline:
                break
            step(api, ledger, client, client.rng.choice(cases), weights_of(client))
        writers_done.release()

    done = threading.Event()

    def watch() -> None:
        for _ in writers:
            writers_done.acquire()
        done.set()

    threading.Thread(target=watch, daemon=True, name="writers-done").start()

    began = time.monotonic()
    run_threads(len(clients), work, timeout=DEADLINE + 60)
    return time.monotonic() - began


def assert_load_happened(ledger: Ledger, *, min_writes: int) -> None:
    """The test must have raced for real: many writes, handovers answered, some refusals."""
    outcomes = Counter((w.kind, w.outcome) for w in ledger.writes)
    summary = ledger.summary()
    assert sum(n for (k, o), n in outcomes.items() if o == "acked") >= min_writes, summary
    assert outcomes[("handover", "acked")] >= 2, summary
    answered = sum(outcomes[(k, "acked")] for k in ("accept", "decline", "cancel"))
    assert answered >= 1, summary
    assert outcomes[("entry", "acked")] >= 1, summary
    assert outcomes[("consent", "acked")] >= 1, summary
    assert not [w for w in ledger.writes if w.outcome not in ("acked", "refused")], summary


def test_32_clients_on_one_case(api: Api, server: Server, backend: Backend) -> None:
    ledger = Ledger()
    case_id = open_shared_case(api, "kari", 1)
    ledger.mark_baseline(api, [case_id])
    clients = clients_for(seed=1)

    seconds = run_load(api, ledger, clients, [case_id])

    print(f"\n[{backend.name}] one case, {CLIENTS} clients: {seconds:.1f} s; {ledger.summary()}")
    check_all(api, ledger, [case_id])
    # One case, 32 writers: the refusals show that they really met.
    assert_load_happened(ledger, min_writes=CLIENTS * STEPS // 3)
    assert any(w.outcome == "refused" for w in ledger.writes), ledger.summary()


def test_32_clients_open_and_work_on_many_cases(
    api: Api, server: Server, backend: Backend
) -> None:
    """Two workers of different services open a case for each of 16 children at the same
    moment (one case per child: the other gets `open-case-exists`); then 32 clients work
    on the 16 cases at random."""
    ledger = Ledger()
    children = 16
    openers = [("kari", "hanne"), ("per", "pia"), ("ida", "liv"), ("siri", "tor")]
    start = threading.Barrier(children * 2)
    opened: dict[int, list[Write]] = {n: [] for n in range(children)}

    def open_case(i: int) -> None:
        number, side = divmod(i, 2)
        user = openers[number % len(openers)][side]
        write = ledger.add(Write(
            tag=ledger.tag(f"open{i}"), kind="open", user=user, method="POST", path="/cases",
            body=None, case=None, child=str(number),
        ))
        write.body = {"child": child_of(100 + number), "concern": text_for("open", write.tag),
                      "municipality": "4225"}
        opened[number].append(write)
        start.wait()
        send_write(api, ledger, write)
        if write.outcome == "acked":
            write.case = write.answer["id"]

    run_threads(children * 2, open_case)
    cases: list[str] = []
    problems: list[str] = []
    for number, writes in opened.items():
        acked = [w for w in writes if w.outcome == "acked"]
        refused = [w for w in writes if w.outcome == "refused"]
        if len(acked) != 1 or len(refused) != 1 or refused[0].code != "open-case-exists":
            problems.append(f"child {number}: {[w.describe() for w in writes]}")
            continue
        cases.append(acked[0].case)
    assert not problems, "one open case per child, the other refused:\n" + "\n".join(problems)
    # The coordinator sees every case of the municipality: one per child, no more.
    listed = api.ok("kim", "GET", "/cases?limit=200")["items"]
    assert sorted(c["id"] for c in listed) == sorted(cases), listed

    holders = {w.case: w.user for ws in opened.values() for w in ws if w.outcome == "acked"}
    for case_id in cases:
        share_case(api, holders[case_id], case_id)
    ledger.mark_baseline(api, cases, reader="kim")
    clients = clients_for(seed=2)

    seconds = run_load(api, ledger, clients, cases)

    print(f"\n[{backend.name}] {children} cases, {CLIENTS} clients: {seconds:.1f} s; "
          f"{ledger.summary()}")
    check_all(api, ledger, cases, reader="kim")
    assert_load_happened(ledger, min_writes=CLIENTS * STEPS // 3)
    # Each case's opening is in its log exactly once, with its concern.
    for case_id in cases:
        log = api.ok("kim", "GET", f"/cases/{case_id}/log")["entries"]
        opening = next(w for ws in opened.values() for w in ws if w.case == case_id)
        assert [e["text"] for e in log if e["kind"] == "case-opened"] == [opening.text], case_id


def test_32_clients_on_one_case_through_two_server_processes(
    pg: PostgresBackend, tmp_path: Path
) -> None:
    """Two `serve` processes on one PostgreSQL, 16 clients each, one case: the processes
    race for real (their in-process case locks do not see each other), and the losers
    are run again on the new state or refused, never stored twice."""
    with serving(pg, tmp_path / "logs-1") as (first, api_1), \
            serving(pg, tmp_path / "logs-2", register=False) as (second, api_2):
        ledger = Ledger()
        case_id = open_shared_case(api_1, "kari", 1)
        ledger.mark_baseline(api_1, [case_id])
        clients = clients_for(seed=3)

        seconds = run_load([api_1, api_2], ledger, clients, [case_id])

        print(f"\n[postgres, 2 processes] one case, {CLIENTS} clients: {seconds:.1f} s; "
              f"{ledger.summary()}")
        check_all(api_2, ledger, [case_id])
        assert_load_happened(ledger, min_writes=CLIENTS * STEPS // 3)
        assert first.process is not None and first.process.poll() is None
        assert second.process is not None and second.process.poll() is None
