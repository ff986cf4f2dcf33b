"""4. Rebuilding the views, against reading and decoding the same notifications.

On a copy of a store: `app.read_models.rebuild()` (every view, what `stafettlogg
projections rebuild` runs) and `rebuild("statistics")` alone, each in events of
the store per second, against a pass that reads every notification
(`recorder.select_notifications`) and decodes it (`mapper.to_domain_event`) and
does nothing else. The three run in turn, `rounds` times.
"""

from __future__ import annotations

from bench.measure import Row, interleave, median, timed
from bench.stores import Store, discard, work_copy
from stafettlogg.application import Stafettlogg

BATCH = 500


def read_and_decode(app: Stafettlogg) -> int:
    done, start = 0, 1
    while batch := app.recorder.select_notifications(start, BATCH):
        for notification in batch:
            app.mapper.to_domain_event(notification)
        done += len(batch)
        start = batch[-1].id + 1
    return done


def measure(store: Store, rounds: int) -> list[Row]:
    copy = work_copy(store, "rebuild")
    app = copy.open()
    events = store.meta["events"]
    try:
        per_second = interleave(
            rounds,
            raw=lambda: events / timed(lambda: read_and_decode(app))[0],
            every_view=lambda: events / timed(app.read_models.rebuild)[0],
            statistics=lambda: events / timed(lambda: app.read_models.rebuild("statistics"))[0],
        )
    finally:
        app.close()
        discard(copy)
    raw = median(per_second["raw"])
    rows = []
    for key, what in (("every_view", "every view"), ("statistics", "the statistics view")):
        rate = median(per_second[key])
        rows.append(Row(
            "4", f"rebuild {what}, {events:,} events",
            f"{rate:,.0f} events/s", f"read + decode only: {raw:,.0f} events/s",
            rate / raw, "≥ 0.5× the raw rate", rate / raw >= 0.5,
        ))
    rows[0].notes.append(f"median of {rounds} rounds; events/s counts every stored event once")
    return rows
