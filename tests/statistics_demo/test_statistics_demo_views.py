"""Statistics on the demo: the same answer every time, and the views kept exactly once.

A request gives the same table again, afresh and in another process; releases are
read back after a restart; a projection that dies mid-batch counts nothing twice; a
rebuild (also through `stafettlogg projections rebuild`) equals the followed view.
The demo is built and released once per session (tests/demo_store.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from projections.protection import Policy
from projections.publication import Publisher, Released
from projections.runner import BATCH, ViewStore
from projections.statistics import StatisticsProjection
from stafettlogg.read_models import NotificationSource
from tests.demo_store import Demo
from tests.test_statistics import (
    EVALUATOR,
    ROOT,
    SCOPE,
    THRESHOLD,
    TODAY,
    Capped,
    env_for,
    rebuilt,
    snapshot,
)

pytestmark = pytest.mark.slow


DUMP = textwrap.dedent("""
    import json, sys
    from datetime import date
    from projections.protection import Policy
    from projections.publication import Publisher, Released
    from projections.runner import ViewStore
    views = ViewStore(sys.argv[1])
    Publisher(views, Policy(threshold=5)).release(date.fromisoformat(sys.argv[2]))
    table = Released(views, Policy(threshold=5)).table(sys.argv[3])
    print(json.dumps([[c.indicator, c.period, c.municipality, c.sector, c.level, c.value,
                       c.suppressed] for c in table.cells(sys.argv[4].split(","))]))
""")



def views_without_releases(demo: Demo, path: Path) -> ViewStore:
    """A copy of the demo's views with no release kept: everything is worked out again."""
    import sqlite3
    source = sqlite3.connect(demo.app.settings.views_path)
    target = sqlite3.connect(path)
    source.backup(target)
    target.execute("DELETE FROM stat_release")
    target.execute("DELETE FROM stat_table")
    target.commit()
    source.close()
    target.close()
    return ViewStore(str(path))



def test_the_same_request_gives_the_same_answer(demo: Demo, tmp_path: Path) -> None:
    ask = demo.app.statistics.indicators
    first = ask(EVALUATOR, period="2025-Q2", municipality=None, table="indicators")
    again = ask(EVALUATOR, period="2025-Q2", municipality=None, table="indicators")
    assert again == first
    # Worked out afresh, with nothing shared, as it was released in July 2025: the
    # same table, whatever was released after it.
    copy = views_without_releases(demo, tmp_path / "views.sqlite3")
    try:
        Publisher(copy, Policy(threshold=5)).release(date(2025, 7, 1))
        fresh = Released(copy, Policy(threshold=5)).table("2025-Q2")
    finally:
        copy.close()
    assert fresh is not None and fresh.cells(SCOPE) == first.cells
    # Another process, another hash seed: the same table, cell for cell.
    dumps = []
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", DUMP,
             str(views_without_releases(demo, tmp_path / f"views-{hash_seed}.sqlite3").path),
             "2025-07-01", "2025-Q2", ",".join(SCOPE)],
            cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True, text=True, timeout=300, check=False,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        dumps.append(json.loads(result.stdout))
    assert dumps[0] == dumps[1]
    assert dumps[0] == [
        [c.indicator, c.period, c.municipality, c.sector, c.level, c.value, c.suppressed]
        for c in first.cells
    ]
    assert any(c.suppressed for c in first.cells) and any(
        c.value for c in first.cells if not c.suppressed)



def test_a_restart_reads_the_releases_back_instead_of_working_them_out(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Releases are kept in the view database: a new service on the same views
    answers the same, without suppressing anything again."""
    views = demo.app.read_models.views
    before = {p: demo.app.statistics.released.table(p) for p in ("2025-Q2", "2026-03", "2025")}
    import projections.publication as publication

    def nothing_again(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("worked out again")

    monkeypatch.setattr(publication, "protect", nothing_again)
    assert Publisher(views, Policy(threshold=THRESHOLD)).release(TODAY) == 0
    again = Released(views, Policy(threshold=THRESHOLD))
    assert {p: again.table(p) for p in before} == before
    assert len(views.read("SELECT month FROM stat_release")) == 22



class Crash(Exception):
    """The projection dies here."""



def test_a_crash_between_rows_and_position_counts_nothing_twice(
    demo: Demo, tmp_path: Path
) -> None:
    source = NotificationSource(demo.app)
    total = source.last_position()
    assert total > 3 * BATCH  # several batches, so the crash is in the middle
    path = tmp_path / "views.sqlite3"
    store = ViewStore(str(path))
    batches = 0
    written: list[int] = []

    def die_on_the_third_batch() -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            # The third batch's rows are in the (uncommitted) transaction when it dies.
            written.append(store.read("SELECT count(*) FROM stat_flows")[0][0])
            raise Crash

    with pytest.raises(Crash):
        store.process(StatisticsProjection(), source, _before_tracking=die_on_the_third_batch)
    store.close()

    restarted = ViewStore(str(path))
    try:
        assert restarted.position("statistics") == 2 * BATCH
        # Exactly the first two batches are there: as if the log had ended at 2 * BATCH.
        reference = ViewStore(str(tmp_path / "reference.sqlite3"))
        reference.process(StatisticsProjection(), Capped(source, 2 * BATCH))
        assert snapshot(restarted) == snapshot(reference)
        reference.close()
        assert written and written[0] > snapshot(restarted)["stat_flows"].total()
        # After the restart it goes on from there and ends where a fresh rebuild ends.
        assert restarted.process(StatisticsProjection(), source) == total - 2 * BATCH
        assert snapshot(restarted) == rebuilt(demo.app, tmp_path / "fresh.sqlite3")
        assert restarted.process(StatisticsProjection(), source) == 0
    finally:
        restarted.close()



HARD_CRASH = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from projections.runner import ViewStore
    from projections.statistics import StatisticsProjection
    from stafettlogg.application import Stafettlogg
    from stafettlogg.settings import Settings
    from stafettlogg.read_models import NotificationSource, ReadModels

    app = Stafettlogg(Settings.from_env({"STAFETTLOGG_DATA_DIR": sys.argv[1]}))
    store = ViewStore(sys.argv[2])
    calls = 0

    def die():
        global calls
        calls += 1
        if calls == 3:
            print(store.read("SELECT count(*) FROM stat_flows")[0][0], flush=True)
            os._exit(17)  # no rollback, no close: the process is simply gone

    store.process(StatisticsProjection(), NotificationSource(app), _before_tracking=die)
""")



def test_a_process_killed_mid_transaction_counts_nothing_twice(
    demo: Demo, tmp_path: Path
) -> None:
    path = tmp_path / "views.sqlite3"
    result = subprocess.run(
        [sys.executable, "-c", HARD_CRASH, str(demo.data_dir), str(path)],
        cwd=ROOT, env=env_for(demo.data_dir), capture_output=True, text=True, timeout=300,
        check=False,
    )
    assert result.returncode == 17, result.stderr[-2000:]
    rows_when_killed = int(result.stdout)
    store = ViewStore(str(path))
    try:
        assert store.position("statistics") == 2 * BATCH
        assert snapshot(store)["stat_flows"].total() < rows_when_killed
        store.process(StatisticsProjection(), NotificationSource(demo.app))
        assert snapshot(store) == rebuilt(demo.app, tmp_path / "fresh.sqlite3")
    finally:
        store.close()



def test_the_application_rebuild_equals_the_followed_view(demo: Demo, tmp_path: Path) -> None:
    demo.app.read_models.catch_up()
    live = snapshot(demo.app.read_models.views)
    assert live == rebuilt(demo.app, tmp_path / "fresh.sqlite3")
    assert live["stat_flows"].total() > 500



def test_cli_rebuild_prints_a_summary_and_equals_the_live_view(demo: Demo) -> None:
    demo.app.read_models.catch_up()
    live = snapshot(demo.app.read_models.views)
    events = demo.app.recorder.max_notification_id()

    def rebuild(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "stafettlogg", "projections", "rebuild", *args],
            cwd=ROOT, env=env_for(demo.data_dir), capture_output=True, text=True, timeout=300,
            check=False,
        )

    result = rebuild("--view", "statistics")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = re.fullmatch(r"Gjenoppbygget: (\d+) hendelser lest på \d+\.\d s\.\n", result.stdout)
    assert summary, result.stdout
    assert int(summary.group(1)) == events
    after = ViewStore(demo.app.settings.views_path)
    try:
        assert snapshot(after) == live
    finally:
        after.close()

    everything = rebuild()
    assert everything.returncode == 0, everything.stderr[-2000:]
    assert re.fullmatch(r"Gjenoppbygget: \d+ hendelser lest på \d+\.\d s\.\n", everything.stdout)
    assert snapshot(demo.app.read_models.views) == live

    unknown = rebuild("--view", "nope")
    assert unknown.returncode == 2
    assert unknown.stdout == ""
    assert len(unknown.stderr.strip().splitlines()) == 1 and "statistics" in unknown.stderr


