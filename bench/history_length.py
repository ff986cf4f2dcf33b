"""8. The history-length curve: one more month, after 6, 12, 24 or 48 months.

Stores of the same monthly volume (`stores.steady_cases`: the same number of cases
opened every month, the same mix of levels, handovers and closures) whose histories
are 6, 12, 24 and 48 months long and all end in June 2026. Each is released from
nothing, in process, as the service's releaser does it; the figure is the release
of the last month (June 2026, with its quarter and half-year), which should cost the
same whatever came before it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date

from bench.measure import Row
from bench.stores import STEADY_LAST, Store, discard, months_back, work_copy

# The day the releases are made: the first of the month after STEADY_LAST.
RELEASED_ON = date(*months_back(STEADY_LAST, -1), 1)


def release_all(store: Store) -> list[tuple[str, float]]:
    """Every month of a copy of `store` released from nothing: (month, seconds)."""
    copy = work_copy(store, f"history-{store.meta['months']}")
    app = copy.open()
    months: list[tuple[str, float]] = []
    try:
        app.read_models.catch_up()
        app.statistics.publisher.release(
            RELEASED_ON, progress=lambda month, seconds: months.append((month, seconds)))
    finally:
        app.close()
        discard(copy)
    return months


def measure(stores: Sequence[Store]) -> list[Row]:
    rows: list[Row] = []
    last: dict[int, float] = {}
    for store in stores:
        began = time.perf_counter()
        months = release_all(store)
        total = time.perf_counter() - began
        length = int(store.meta["months"])
        label, seconds = months[-1]
        last[length] = seconds
        rows.append(Row(
            "8", f"release of {label} after {length} months ({store.meta['per_month']} cases"
                 f" a month, {store.meta['events']:,} events)",
            f"{seconds:.1f} s", f"all {len(months)} months {total:.0f} s", None,
            "the same whatever the length", None,
            ["per month, seconds: " + ", ".join(f"{m} {s:.1f}" for m, s in months)]))
    shortest, longest = min(last), max(last)
    ratio = last[longest] / max(last[shortest], 1e-9)
    rows.append(Row(
        "8", f"the last month after {longest} months against after {shortest}",
        f"{last[longest]:.1f} s", f"{last[shortest]:.1f} s", ratio, "<= 1.5x (flat)",
        ratio <= 1.5))
    return rows
