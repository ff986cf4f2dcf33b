"""6. Memory and start-up of the serving process, with many cases and with none.

A real `stafettlogg serve` on a copy of the store: the time from starting the
process until `/ready` answers 200, the resident memory then (VmRSS), and the
highest resident memory (VmHWM) after a worker's first requests (the case list,
a case, the inbox) and, on the first start, an evaluator's first statistics
request. The reference is the same on the small demo store (a few hundred cases).
Each is started `starts` times, in turn; the peak is the highest of the starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from bench.measure import Row, median, ms, timed
from bench.server import ServerProcess, token
from bench.statistics_scale import PERIOD, SCOPE
from bench.stores import OPENERS, Store, discard, work_copy, worker


@dataclass
class Start:
    ready_s: list[float] = field(default_factory=list)
    rss_ready_mb: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)
    requests: dict[str, list[float]] = field(default_factory=dict)


def first_requests(base_url: str, store: Store, statistics: bool = True) -> dict[str, float]:
    """What a worker and an evaluator ask first; seconds of each."""
    actor = worker(OPENERS[0])
    work = token(store, actor.user, "worker", sorted(actor.municipalities), actor.service)
    evaluate = token(store, "eva.bench", "evaluator", SCOPE)
    seconds: dict[str, float] = {}
    with httpx.Client(base_url=base_url, timeout=600.0) as client:

        def get(name: str, url: str, bearer: str, **params: str) -> httpx.Response:
            took, response = timed(lambda: client.get(
                url, params=params, headers={"Authorization": f"Bearer {bearer}"}))
            # A fresh server may not have released the period yet: 503 at once.
            if response.status_code != 200 and not (
                    "statistics" in url and response.status_code == 503):
                msg = f"{url}: {response.status_code} {response.text[:200]}"
                raise RuntimeError(msg)
            seconds[name] = took
            return response

        items = get("case list", "/api/v1/cases", work, limit="50").json()["items"]
        if items:
            get("a case", f"/api/v1/cases/{items[0]['id']}", work)
        get("inbox", "/api/v1/inbox", work)
        if statistics:
            get("statistics", "/api/v1/statistics/indicators", evaluate, period=PERIOD)
    return seconds


def start(store: Store, name: str, into: Start, statistics: bool) -> None:
    with ServerProcess(store, name) as server:
        into.ready_s.append(server.wait_ready())
        into.rss_ready_mb.append(server.memory_mb("VmRSS"))
        for request, took in first_requests(server.base_url, store, statistics).items():
            into.requests.setdefault(request, []).append(took)
        into.peak_mb.append(server.memory_mb("VmHWM"))


def measure(store: Store, reference: Store, starts: int, *, statistics: bool = True) -> list[Row]:
    copy = work_copy(store, "serve")
    few = work_copy(reference, "serve-reference")
    full, bare = Start(), Start()
    try:
        for n in range(starts):
            # The statistics request (seconds of work) only on the first start of each.
            start(few, f"serve-reference-{n}", bare, statistics and n == 0)
            start(copy, f"serve-{n}", full, statistics and n == 0)
    finally:
        discard(copy)
        discard(few)
    cases, few_cases = store.meta["cases"], reference.meta["cases"]
    ready, ready_ref = median(full.ready_s), median(bare.ready_s)
    peak, peak_ref = max(full.peak_mb), max(bare.peak_mb)
    requests = ", ".join(f"{k} {ms(median(v))}" for k, v in full.requests.items())
    return [
        Row("6", f"resident memory, serving {cases:,} cases",
            f"{median(full.rss_ready_mb):.0f} MB at ready; {peak:.0f} MB peak after first requests",
            f"{few_cases:,} cases: {median(bare.rss_ready_mb):.0f} MB; peak {peak_ref:.0f} MB",
            peak / peak_ref, "< 300 MB", peak < 300,
            [f"first requests ({cases:,} cases): {requests}"]),
        Row("6", f"start-up to /ready, {cases:,} cases",
            ms(ready), f"{few_cases:,} cases: {ms(ready_ref)}", ready / ready_ref, "< 2 s",
            ready < 2,
            [f"median of {starts} starts; from starting the process (Python, imports, "
             "opening the store, catching the views up) to the first 200"]),
    ]
