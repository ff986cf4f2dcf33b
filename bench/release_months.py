"""7. The release of the statistics, month by month.

The releaser's work on a copy of a store, in process and with nothing released
yet: every ended month in order, as the service's releaser does it. Per month:
its seconds and the certificates it carries into the next release (what the next
one must extend). The cost of one more month should not grow with the length of
the history; the figures say whether it does: the first month, the last, and the
last against the median of the first year's months. The share of cells hidden is
read from the releases, and compared with the first rule's share where the store's
kept meta data has it.
"""

from __future__ import annotations

import json
import time

from bench.measure import Row, median
from bench.stores import Store, discard, work_copy


def measure(store: Store) -> list[Row]:
    copy = work_copy(store, "release-months")
    app = copy.open()
    months: list[tuple[str, float]] = []
    try:
        app.read_models.catch_up()
        began = time.perf_counter()
        app.statistics.release(progress=lambda month, seconds: months.append((month, seconds)))
        total = time.perf_counter() - began
        carried = {month: sum(len(group) for group in json.loads(carry))
                   for month, carry in app.read_models.views.read(
                       "SELECT month, carry FROM stat_release")}
        hidden, cells = app.statistics.publisher.hidden_share()
    finally:
        app.close()
        discard(copy)
    if not months:
        return []
    n = store.meta["events"]
    first_year = [s for m, s in months if m[:4] == months[0][0][:4]]
    last_month, last_seconds = months[-1]
    curve = ", ".join(f"{m} {s:.1f} s ({carried.get(m, 0)})" for m, s in months)
    return [
        Row("7", f"release of {len(months)} months from nothing, {n:,} events", f"{total:.1f} s",
            f"first month {months[0][1]:.1f} s", None, "< 5 s for the demo, < 30 s at 1M",
            total < 5.0, [f"{hidden:,} of {cells:,} released cells hidden "
                          f"({100 * hidden / max(cells, 1):.1f} %)"]),
        Row("7", f"release of one more month ({last_month}), {n:,} events",
            f"{last_seconds:.1f} s", f"median month of the first year {median(first_year):.1f} s",
            last_seconds / max(median(first_year), 1e-9),
            "flat: the same whatever the history", None,
            [f"per month, seconds (certificates carried): {curve}"]),
    ]
