"""The benchmark suite (`bench/`) at a tiny size, so that it does not rot.

Nothing here is about speed: no timing is asserted. What is checked is that every
section runs end to end and reports its rows, and that the bulk loader the stores
are generated with stores exactly what the application stores command by command.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import history_length, memory_startup, release_months, statistics_scale, stores
from bench.measure import markdown_table
from bench.suite import SMOKE, Stores, run
from stafettlogg.application import Stafettlogg
from stafettlogg.demo import demo_id_factory, load_demo
from stafettlogg.settings import Settings


@pytest.fixture
def bench_dir(tmp_path: Path) -> Iterator[Path]:
    before = stores.bench_dir()
    stores.use_directory(tmp_path / "bench")
    yield tmp_path / "bench"
    stores.use_directory(before)


def stored(app: Stafettlogg) -> dict[tuple[str, int], str]:
    """Every stored event: (aggregate, version) -> topic."""
    return {
        (str(n.originator_id), n.originator_version): n.topic
        for n in app.recorder.select_notifications(1, 1_000_000)
    }


def settings(data_dir: Path, key_file: Path) -> Settings:
    # One key file: children's ids come from a keyed blind index.
    return Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir),
                              "STAFETTLOGG_KEY_FILE": str(key_file)})


def test_the_bulk_loader_stores_what_the_application_stores(tmp_path: Path) -> None:
    keys = tmp_path / "keys.json"
    one_by_one = Stafettlogg(settings(tmp_path / "a", keys), new_id=demo_id_factory(7))
    bulk = stores.BulkLoader(settings(tmp_path / "b", keys), new_id=demo_id_factory(7))
    try:
        want = load_demo(one_by_one, seed=7, children=25)
        got = load_demo(bulk, seed=7, children=25)
        bulk.flush()
        assert got == want
        assert stored(bulk) == stored(one_by_one)
        for case_id in one_by_one.case_ids():
            assert bulk.case_log(case_id) == one_by_one.case_log(case_id)
    finally:
        one_by_one.close()
        bulk.close()


def check(rows: list, sections: int) -> None:
    assert len({r.number for r in rows}) == sections
    for row in rows:
        assert row.figure and row.reference
        assert row.ratio is None or math.isfinite(row.ratio)
    assert markdown_table(rows).count("\n| ") == len(rows)


def test_the_in_process_sections_run_at_a_tiny_size(bench_dir: Path) -> None:
    report = run(stores.Backend(), SMOKE, ("write", "naive", "rebuild", "long"))
    check(report.rows, 4)
    assert "| 1 | write path, 2 clients: HTTP |" in report.markdown()
    assert not list((bench_dir / "work").iterdir())  # every copy was discarded


@pytest.mark.slow
def test_the_server_sections_run_at_a_tiny_size(bench_dir: Path) -> None:
    # A fresh server releases every ended month in the background; meanwhile the
    # statistics answer 503 at once and the case list is asked for.
    kept = Stores(stores.Backend(), SMOKE)
    latency = statistics_scale.query_latency(kept["small"], "tiny", servers=1, warm_requests=1)
    assert len(latency.release) == len(latency.warm) == len(latency.restarted) == 1
    assert latency.idle and latency.hidden[1] > 0
    check(release_months.measure(kept["small"]), 1)
    check(history_length.measure([kept[k] for k in kept.needs("history")]), 1)
    check(memory_startup.measure(kept["serve"], kept["small"], 1, statistics=False), 1)
