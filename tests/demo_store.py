"""The statistics tests' demo store: built and released once per test session.

Loading the demo (`stafettlogg.demo.load_demo`) and releasing every ended month of it
under the protection rule takes minutes, and the same store is what every demo test
of the statistics (tests/statistics_demo/) looks at. So it is built once per session,
in a process of its own that starts as soon as those tests are collected
(tests/statistics_demo/conftest.py), while the workers run the rest of the suite;
each test module then waits for it and gets a copy of the files of its own: a module
may change its store (a rebuild of the views, a new release) without another module
seeing it, as when each module built its own.

The files live in the session's temp directory, which pytest-xdist's workers share.
Nothing is kept between sessions: a session always tests the code it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time as walltime
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, time
from functools import cached_property
from pathlib import Path

import pytest

from stafettlogg.application import Stafettlogg
from stafettlogg.demo import demo_id_factory, load_demo
from tests.stores import settings_for
from tests.test_statistics import CHILDREN, SEED, TODAY, Replay, replay

ROOT = Path(__file__).resolve().parents[1]


def demo_clock() -> datetime:
    return datetime.combine(TODAY, time(12), UTC)


def build(data_dir: Path) -> None:
    """The demo, loaded and with every ended month released, in `data_dir`."""
    app = Stafettlogg(settings_for(data_dir), new_id=demo_id_factory(SEED), clock=demo_clock)
    try:
        load_demo(app, seed=SEED, children=CHILDREN)
        app.statistics.release()
    finally:
        app.close()  # every file complete on disk before it is copied


def _place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's directory for the demo, which every xdist worker shares."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    place = shared / "released-demo"
    place.mkdir(exist_ok=True)
    return place


def start(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Start building the session's demo in a process of its own, unless a worker has."""
    place = _place(tmp_path_factory)
    try:
        (place / "claimed").mkdir()  # one claim per session, whichever worker is first
    except FileExistsError:
        return
    with open(place / "build.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.demo_store import main; main()",
             str(place), str(os.getppid() if os.environ.get("PYTEST_XDIST_WORKER")
                             else os.getpid())],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    (place / "pid").write_text(str(process.pid))


def main() -> None:
    """The builder process: the demo in PLACE/var, or PLACE/failed saying why."""
    place, session = Path(sys.argv[1]), int(sys.argv[2])
    import threading

    def watch() -> None:  # the session's process is gone (interrupted): stop too
        while _alive(session):
            walltime.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()
    building = place / "building"
    try:
        build(building / "var")
        os.rename(building / "var", place / "var")
    except BaseException:
        (place / "failed").write_text(traceback.format_exc())
        raise


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (Linux: a zombie has ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def released_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data directory of the session's released demo (started if it was not).
    Never open it: copy it (`demo_copy`)."""
    start(tmp_path_factory)
    place = _place(tmp_path_factory)
    done = place / "var"
    while not done.exists():
        if (place / "failed").exists():
            raise RuntimeError("building the demo failed:\n" + (place / "failed").read_text())
        pid = place / "pid"
        if pid.exists() and not _alive(int(pid.read_text())) and not done.exists():
            log = (place / "build.log").read_text(errors="replace")[-4000:]
            raise RuntimeError(f"the demo's builder process is gone:\n{log}")
        walltime.sleep(0.5)
    return done


def demo_copy(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of the released demo's files, for one module to open."""
    target = tmp_path_factory.mktemp(name) / "var"
    shutil.copytree(released_demo(tmp_path_factory), target)
    return target


class Demo:
    def __init__(self, app: Stafettlogg, data_dir: Path) -> None:
        self.app = app
        self.data_dir = data_dir

    @cached_property
    def replay(self) -> Replay:
        """The independent replay of the demo's events (tests/test_statistics.py)."""
        return replay(self.app)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The released demo, on a copy of the module's own."""
    data_dir = demo_copy(tmp_path_factory, "statistics-demo")
    app = Stafettlogg(settings_for(data_dir), clock=demo_clock)
    try:
        yield Demo(app, data_dir)
    finally:
        app.close()
