"""2. Statistics at scale, and 3. against the naive way.

2. An evaluator of the four municipalities asks `GET /api/v1/statistics/indicators`
   for an ended quarter, over HTTP, from a real server on a copy of the store. The
   first request on a fresh copy works out the disclosure control (cold); the
   requests after it are answered from what that computed (warm); then a new
   server on the same copy answers its first request (after a restart: what is
   kept in the view database is used again).

3. The indicator grid of a year (counts before suppression, every period, cell and
   margin) from the statistics view (`count_year`), against the naive way: load
   every case from the event store and count its events on request (the same
   counting, fed with each case's decoded events one case after the other, into a
   view in memory). The two grids must be equal.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from bench.measure import Row, median, ms, percentile, ratio_text, timed
from bench.server import ServerProcess, token
from bench.stores import Store, discard, work_copy
from projections.indicators import count_year
from projections.runner import ViewStore
from projections.statistics import StatisticsProjection
from stafettlogg import demo
from stafettlogg.application import Stafettlogg

PERIOD = "2026-Q3"  # ended; the year 2026 holds most of the stores' events
YEAR = 2026
SCOPE = sorted(demo.MUNICIPALITIES)


@dataclass
class Latency:
    cold: list[float]  # the first request on a store nothing was published from yet
    warm: list[float]  # the requests after it, on the same server
    restarted: list[float]  # the first request of a new server on the same store


def evaluator(server: ServerProcess, bearer: str) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=600.0,
                        headers={"Authorization": f"Bearer {bearer}"})


def ask(client: httpx.Client) -> float:
    """Seconds of one indicator request."""
    seconds, response = timed(lambda: client.get("/api/v1/statistics/indicators",
                                                 params={"period": PERIOD}))
    if response.status_code != 200:
        msg = f"statistics: {response.status_code} {response.text[:300]}"
        raise RuntimeError(msg)
    return seconds


def query_latency(store: Store, label: str, servers: int, warm_requests: int) -> Latency:
    result = Latency([], [], [])
    for r in range(servers):
        copy = work_copy(store, f"stats-{label}")
        try:
            bearer = token(copy, "eva.bench", "evaluator", SCOPE)
            with ServerProcess(copy, f"stats-{label}-{r}") as server:
                server.wait_ready()
                with evaluator(server, bearer) as client:
                    result.cold.append(ask(client))
                    result.warm += [ask(client) for _ in range(warm_requests)]
            with ServerProcess(copy, f"stats-{label}-{r}-restart") as server:
                server.wait_ready()
                with evaluator(server, bearer) as client:
                    result.restarted.append(ask(client))
        finally:
            discard(copy)
    return result


def latency_rows(small: Store, large: Store, servers: int, warm_requests: int) -> list[Row]:
    at_small = query_latency(small, "small", servers, warm_requests)
    at_large = query_latency(large, "large", servers, warm_requests)
    n_small, n_large = small.meta["events"], large.meta["events"]
    p99_small, p99_large = percentile(at_small.warm, 99), percentile(at_large.warm, 99)
    warm = Row(
        "2", f"indicator query, warm (repeated), {n_large:,} events",
        f"p50 {ms(percentile(at_large.warm, 50))}, p99 {ms(p99_large)}",
        f"{n_small:,} events: p50 {ms(percentile(at_small.warm, 50))}, p99 {ms(p99_small)}",
        p99_large / p99_small, "p99 < 20 ms; ≤ 1.5× the small store",
        p99_large < 0.020 and p99_large / p99_small <= 1.5,
        [f"{len(at_large.warm)} and {len(at_small.warm)} requests; the target is read as "
         "the repeated (warm) request"],
    )
    rows = [warm]
    for what, large_times, small_times, note in (
        ("cold (first on the store)", at_large.cold, at_small.cold,
         "works out the disclosure control of every released month; no target is set"),
        ("first after a restart", at_large.restarted, at_small.restarted,
         "a new server on the same store, after the cold request"),
    ):
        rows.append(Row(
            "2", f"indicator query, {what}, {n_large:,} events",
            f"median {ms(median(large_times))} (of {len(large_times)})",
            f"{n_small:,} events: median {ms(median(small_times))}",
            median(large_times) / median(small_times), "", None, [note],
        ))
    return rows


# --- 3. the naive way --------------------------------------------------------------------


class _Event:
    """A decoded event dressed as a notification, for the projection runner."""

    __slots__ = ("event", "id", "topic")

    def __init__(self, position: int, event: Any) -> None:
        self.id = position
        self.topic = type(event).__name__
        self.event = event


class CaseByCase:
    """A projection source that loads every case from the event store, one case after
    another, decoding all its events as loading an aggregate does."""

    def __init__(self, app: Stafettlogg) -> None:
        self.app = app
        self._events = self._all()

    def _all(self) -> Iterator[_Event]:
        position = 0
        for case_id in list(self.app.case_ids()):
            for event in self.app.events.get(case_id):
                position += 1
                yield _Event(position, event)

    def select(self, after: int, limit: int) -> list[_Event]:
        return [e for _, e in zip(range(limit), self._events)]

    def decode(self, notification: _Event) -> Any:
        return notification.event

    def last_position(self) -> int:
        return 0


def naive_counts(app: Stafettlogg) -> dict[str, Any]:
    views = ViewStore(":memory:")
    try:
        views.process(StatisticsProjection(), CaseByCase(app))
        return count_year(views, YEAR, SCOPE)[0]
    finally:
        views.close()


def projected_counts(app: Stafettlogg) -> dict[str, Any]:
    return count_year(app.statistics.views, YEAR, SCOPE)[0]


def naive_row(store: Store, repeats: int) -> Row:
    app = store.open()
    try:
        projected_seconds, projected = timed(lambda: projected_counts(app))
        naive_seconds, naive = timed(lambda: naive_counts(app))
        if naive != projected:
            msg = "the naive count and the projection disagree: a bug in one of them"
            raise AssertionError(msg)
        projected_times = [projected_seconds] + [timed(lambda: projected_counts(app))[0]
                                                 for _ in range(repeats)]
        naive_times = [naive_seconds] + [timed(lambda: naive_counts(app))[0]
                                         for _ in range(repeats - 1)]
    finally:
        app.close()
    slower = median(naive_times) / median(projected_times)
    return Row(
        "3", f"indicator grid of {YEAR} by replaying every case, {store.meta['events']:,} events",
        f"median {ms(median(naive_times))} (of {len(naive_times)})",
        f"from the statistics view (count_year): median {ms(median(projected_times))}",
        slower, "report the ratio", None,
        [f"the naive way takes {ratio_text(slower)} as long; both grids are equal"],
    )
