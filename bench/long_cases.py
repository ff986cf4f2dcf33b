"""5. Loading a long case, with and without snapshots, against a short one.

Two stores hold the same two cases, one of `long` events and one of `short`
(`stores.long_and_short_case`): one store snapshots every 50 events (the default),
the other never (interval 100,000). A load is `case_at(id, version)`: the case
rebuilt from the store (the newest snapshot at or before the version, then the
events after it), as on a cache miss; the cached `get_case` is shown beside it.
"""

from __future__ import annotations

from uuid import UUID

from bench.measure import Row, median, ms, repeat
from bench.stores import Store

LOADS = 30  # loads per figure; the median is taken


def load_times(store: Store, case_key: str, loads: int) -> tuple[float, float]:
    """Median seconds of a load from the store, and of a cached `get_case`."""
    app = store.open()
    try:
        case_id = UUID(store.meta[case_key])
        version = app.get_case(case_id).version
        from_store = median(repeat(lambda: app.case_at(case_id, version), loads))
        cached = median(repeat(lambda: app.get_case(case_id), loads))
    finally:
        app.close()
    return from_store, cached


def measure(snapshots: Store, no_snapshots: Store, loads: int = LOADS) -> list[Row]:
    long_events = snapshots.meta["long_events"]
    short_events = snapshots.meta["short_events"]
    short, short_cached = load_times(snapshots, "short_case", loads)
    long_snap, long_snap_cached = load_times(snapshots, "long_case", loads)
    long_full, long_full_cached = load_times(no_snapshots, "long_case", loads)
    reference = f"{short_events}-event case: {ms(short)} (cached {ms(short_cached)})"
    return [
        Row("5", f"load a {long_events:,}-event case, snapshots every 50",
            f"{ms(long_snap)} (cached {ms(long_snap_cached)})", reference,
            long_snap / short, "≤ 2× the short case", long_snap / short <= 2,
            [f"median of {loads} loads from the store (case_at), as on a cache miss"]),
        Row("5", f"load a {long_events:,}-event case, no snapshots",
            f"{ms(long_full)} (cached {ms(long_full_cached)})", reference,
            long_full / short),
    ]
