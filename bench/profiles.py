"""Profiles of the measurements, for what limits them (`python -m bench --profile`).

A server is profiled from outside with py-spy once it is ready (200 samples a
second of the thread holding the GIL: a process has one core's worth of Python);
work in the bench's own process with pyinstrument. Both come with
the `bench` extra and are used by nothing else. Each profile is summarised as
text under `var/bench/profiles/`: the functions that were on the stack in the
largest share of samples (inclusive), and those that were running (own).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import write_path
from bench.server import ServerProcess, token
from bench.statistics_scale import SCOPE, client_for, ok
from bench.stores import Backend, Store, bench_dir, discard, empty_store, log, work_copy

TOP = 45


RATE = 200  # samples a second


def summarise_collapsed(path: Path, top: int = TOP, seconds: float | None = None) -> str:
    """A py-spy raw profile (`frame;frame;... count` lines) as two rankings."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples = int(count)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"{total} samples"]
    if seconds:
        lines[0] += (f" in {seconds:.1f} s: the GIL was held {total / (RATE * seconds):.0%}"
                     " of the time")
    lines += ["", "on the stack (inclusive):"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    lines += ["", "running (own):"]
    lines += [f"{100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top // 2)]
    return "\n".join(lines) + "\n"


def of_server(store: Store, name: str, action: Callable[[ServerProcess], Any]) -> str:
    """A server started and ready, profiled while `action` runs against it."""
    with ServerProcess(store, f"profile-{name}") as server:
        server.wait_ready()
        return attached(server.pid, name, lambda: action(server))


def attached(pid: int, name: str, load: Callable[[], Any]) -> str:
    """Profile a running process while `load` runs: the stacks of the thread holding
    the GIL, which is the one core's worth of Python a process has."""
    raw = bench_dir() / "profiles" / f"{name}.raw"
    raw.parent.mkdir(parents=True, exist_ok=True)
    py_spy = str(Path(sys.executable).parent / "py-spy")
    spy = subprocess.Popen([py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate",
                            str(RATE), "--gil", "--output", str(raw)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # attached
    started = time.perf_counter()
    try:
        load()
    finally:
        seconds = time.perf_counter() - started
        spy.send_signal(signal.SIGINT)  # py-spy writes what it has on ^C
        spy.wait(timeout=60)
    return summarise_collapsed(raw, seconds=seconds)


def in_process(fn: Callable[[], Any]) -> str:
    from pyinstrument import Profiler  # the `bench` extra

    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        fn()
    finally:
        profiler.stop()
    return profiler.output_text(unicode=False, color=False, show_all=False)


def write(backend: Backend, seconds: float) -> str:
    store = empty_store(backend, "profile-write")
    bearers = [token(store, a.user, "worker", sorted(a.municipalities), a.service)
               for a in write_path.actors(8)]
    try:
        return of_server(store, "write-http-8-clients",
                         lambda s: write_path.over_http(s.base_url, bearers, seconds, "p"))
    finally:
        discard(store)


def statistics(store: Store, warm_requests: int) -> str:
    """The cold release of every ended month (in process: the releaser's work), and
    the repeated requests of a server after it (warm)."""
    copy = work_copy(store, "profile-statistics")
    bearer = token(copy, "eva.bench", "evaluator", SCOPE)
    app = copy.open()
    try:
        cold = in_process(app.statistics.release)
    finally:
        app.close()

    def requests(server: ServerProcess, times: int = 1) -> None:
        with client_for(server, bearer) as client:
            for _ in range(times):
                ok(client)

    try:
        with ServerProcess(copy, "profile-statistics-warm") as server:
            server.wait_ready()
            requests(server)
            warm = attached(server.pid, "statistics-warm", lambda: requests(server, warm_requests))
    finally:
        discard(copy)
    return (f"# the cold release of every ended month\n\n{cold}\n"
            f"# {warm_requests} repeated requests (warm)\n\n{warm}")


def rebuild(store: Store) -> str:
    copy = work_copy(store, "profile-rebuild")
    app = copy.open()
    try:
        return in_process(app.read_models.rebuild)
    finally:
        app.close()
        discard(copy)


def long_case(store: Store, loads: int = 30) -> str:
    """Loads of the long case from the store (as on a cache miss), then cached."""
    from uuid import UUID

    app = store.open()
    try:
        case_id = UUID(store.meta["long_case"])
        version = app.get_case(case_id).version

        def from_store() -> None:
            for _ in range(loads):
                app.case_at(case_id, version)

        def cached() -> None:
            for _ in range(loads):
                app.get_case(case_id)

        return (f"# {loads} loads from the store\n\n{in_process(from_store)}\n"
                f"# {loads} cached loads\n\n{in_process(cached)}")
    finally:
        app.close()


def start_up(store: Store) -> str:
    """From the start of the process until /ready (py-spy starts the server)."""
    copy = work_copy(store, "profile-serve")
    raw = bench_dir() / "profiles" / "start-up.raw"
    raw.parent.mkdir(parents=True, exist_ok=True)
    try:
        with ServerProcess(copy, "profile-start-up", profile=raw) as server:
            server.wait_ready()
    finally:
        discard(copy)
    return summarise_collapsed(raw)


def save(name: str, text: str) -> Path:
    path = bench_dir() / "profiles" / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    log(f"profile: {path}")
    return path
