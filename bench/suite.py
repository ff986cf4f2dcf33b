"""The suite: which stores, which measurements, at which size, and the report."""

from __future__ import annotations

import functools
import os
import platform
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    history_length,
    long_cases,
    memory_startup,
    profiles,
    rebuild,
    release_months,
    statistics_scale,
    write_path,
)
from bench.measure import Row, markdown_table
from bench.stores import (
    Backend,
    Spec,
    Store,
    bench_dir,
    demo_cases,
    kept_store,
    log,
    long_and_short_case,
    prepare,
    small_cases,
    steady_cases,
)

SECTIONS = ("write", "statistics", "naive", "rebuild", "long", "serve", "release", "history")


@dataclass(frozen=True)
class Scale:
    name: str
    seed: int = 1
    small_events: int = 10_000  # demo-shaped stores, in stored events
    large_events: int = 1_000_000
    serve_cases: int = 100_000  # small cases, for memory and start-up
    long_events: int = 2_000  # against a case of 10 (stores.SHORT_CASE_EVENTS)
    write_clients: tuple[int, ...] = (1, 8, 32)
    write_seconds: float = 4.0  # per window
    rounds: int = 3  # write-path rounds, server starts
    statistics_servers: int = 1  # fresh copies and servers per store: one cold request each
    warm_requests: int = 150  # per server, after the cold one
    naive_repeats: int = 1  # at the large size (five times as many at the small)
    serve_statistics: bool = True  # the first requests of a server include statistics
    rebuild_rounds: int = 1  # at the large size (five times as many at the small)
    history_months: tuple[int, ...] = (6, 12, 24, 48)  # steady stores of these lengths
    history_per_month: int = 15  # cases opened a month in them (the demo's volume)


FULL = Scale("full")
# Tiny stores, for the tests (nothing is asserted on time). A few seconds a section,
# but the cold release of the statistics takes a minute or more at any size.
SMOKE = Scale("smoke", small_events=600, large_events=1_800, serve_cases=60, long_events=120,
              write_clients=(1, 2), write_seconds=0.3, rounds=1, statistics_servers=1,
              warm_requests=2, serve_statistics=False, history_months=(2, 4),
              history_per_month=3)


class Stores:
    """The kept stores of a run, made (or found) when first needed."""

    def __init__(self, backend: Backend, scale: Scale) -> None:
        self.backend, self.scale = backend, scale
        s = scale
        self.specs = {
            "small": Spec("demo", s.small_events, s.seed, demo_cases),
            "large": Spec("demo", s.large_events, s.seed, demo_cases),
            "serve": Spec("small-cases", s.serve_cases, s.seed, small_cases),
            "long": Spec("long-every-50", s.long_events, s.seed, long_and_short_case,
                         (("STAFETTLOGG_SNAPSHOT_INTERVAL", "50"),)),
            "long-no-snapshots": Spec("long-never", s.long_events, s.seed, long_and_short_case,
                                      (("STAFETTLOGG_SNAPSHOT_INTERVAL", "100000"),)),
            **{f"history-{n}": Spec(f"steady{s.history_per_month}", n, s.seed,
                                    functools.partial(steady_cases,
                                                      per_month=s.history_per_month))
               for n in s.history_months},
        }
        self._made: dict[str, Store] = {}

    def prepare(self, sections: tuple[str, ...]) -> None:
        wanted = {k for section in sections for k in self.needs(section)}
        prepare(self.backend, [self.specs[k] for k in sorted(wanted)])

    def needs(self, section: str) -> tuple[str, ...]:
        if section == "history":
            return tuple(f"history-{n}" for n in self.scale.history_months)
        return NEEDS[section]

    def __getitem__(self, key: str) -> Store:
        if key not in self._made:
            self._made[key] = kept_store(self.backend, self.specs[key])
        return self._made[key]


# The stores each section reads.
NEEDS: dict[str, tuple[str, ...]] = {
    "write": (), "statistics": ("small", "large"), "naive": ("small", "large"),
    "rebuild": ("small", "large"), "long": ("long", "long-no-snapshots"),
    "serve": ("serve", "small"),
    "release": ("small",),
}


def measure(section: str, stores: Stores) -> list[Row]:
    s = stores.scale
    if section == "write":
        return write_path.measure(stores.backend, s.write_clients, s.write_seconds, s.rounds)
    if section == "statistics":
        return statistics_scale.latency_rows(stores["small"], stores["large"],
                                             s.statistics_servers, s.warm_requests)
    if section == "naive":
        return [statistics_scale.naive_row(stores["small"], s.naive_repeats * 5),
                statistics_scale.naive_row(stores["large"], s.naive_repeats)]
    if section == "rebuild":
        return rebuild.measure(stores["small"], s.rebuild_rounds * 5) + rebuild.measure(
            stores["large"], s.rebuild_rounds)
    if section == "long":
        return long_cases.measure(stores["long"], stores["long-no-snapshots"])
    if section == "serve":
        return memory_startup.measure(stores["serve"], stores["small"], s.rounds,
                                      statistics=s.serve_statistics)
    if section == "release":
        # The 1,000,000-event store's cold release is in "statistics" (time-limited).
        return release_months.measure(stores["small"])
    if section == "history":
        return history_length.measure([stores[k] for k in stores.needs("history")])
    msg = f"unknown section {section!r}; known: {', '.join(SECTIONS)}"
    raise ValueError(msg)


def profile(section: str, stores: Stores) -> None:
    s = stores.scale
    made = {
        "write": lambda: profiles.write(stores.backend, max(s.write_seconds, 3.0)),
        # On the small store: the same release work (the grid does not grow with the
        # events), sooner; counting is in "naive".
        "statistics": lambda: profiles.statistics(stores["small"], s.warm_requests),
        "rebuild": lambda: profiles.rebuild(stores["large"]),
        "long": lambda: profiles.long_case(stores["long"]),
        "serve": lambda: profiles.start_up(stores["serve"]),
    }.get(section)
    if made is not None:
        profiles.save(f"{section}-{stores.backend.name}", made())


@dataclass
class Report:
    backend: str
    scale: Scale
    rows: list[Row]
    seconds: dict[str, float]
    started: datetime
    load: tuple[tuple[float, ...], tuple[float, ...]]

    def markdown(self) -> str:
        timings = ", ".join(f"{k} {v:.0f} s" for k, v in self.seconds.items())
        before, after = (" ".join(f"{x:.1f}" for x in load) for load in self.load)
        head = [
            f"## Results: {self.backend}, {self.scale.name} scale",
            "",
            f"Run {self.started:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; load average {before} before, {after} after. "
            f"Seconds per part (stores: generated, or found kept): {timings}; "
            f"total {sum(self.seconds.values()):.0f} s.",
            "",
            f"Scale: {', '.join(f'{k}={v}' for k, v in asdict(self.scale).items())}.",
            "",
        ]
        return "\n".join(head) + markdown_table(self.rows)


def run(backend: Backend, scale: Scale, sections: tuple[str, ...], *,
        with_profiles: bool = False) -> Report:
    stores = Stores(backend, scale)
    report = Report(backend.name, scale, [], {}, datetime.now(UTC), (os.getloadavg(), ()))
    started = time.perf_counter()
    stores.prepare(sections)
    report.seconds["stores"] = time.perf_counter() - started
    for section in sections:
        log(f"{section} ({backend.name}) ...")
        started = time.perf_counter()
        rows = measure(section, stores)
        report.rows += rows
        if with_profiles and any(r.met is False for r in rows):
            profile(section, stores)
        report.seconds[section] = time.perf_counter() - started
    report.load = (report.load[0], os.getloadavg())
    return report


def profile_only(backend: Backend, scale: Scale, sections: tuple[str, ...]) -> None:
    """Profile the sections without measuring them first."""
    stores = Stores(backend, scale)
    stores.prepare(sections)
    for section in sections:
        profile(section, stores)


def write_report(report: Report) -> Path:
    path = bench_dir() / f"results-{report.backend}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.markdown())
    return path
