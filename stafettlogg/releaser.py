"""The statistics releaser as a process of its own, at a lower priority than the service.

When the service owns a store that another process can open (a file or
PostgreSQL), the months are released here, so that the solver never competes with
case work for the interpreter. The process opens the store itself, is stopped with
SIGTERM (every release is one transaction: one cut short is worked out again
later), and stops by itself when the service's process is gone.
"""

from __future__ import annotations

import logging
import os
import signal
import threading

from stafettlogg.application import Stafettlogg
from stafettlogg.observability import configure_logging
from stafettlogg.settings import Settings
from stafettlogg.statistics import PREPARE_INTERVAL, release_failed, release_loop, today_of


def main(settings: Settings, parent: int) -> None:
    """Release ended months until told to stop or the parent `parent` is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the service's to handle
    configure_logging(settings)  # the service's format (JSON or plain), on stderr
    logging.getLogger("stafettlogg").setLevel(max(logging.WARNING, logging.getLevelName(
        settings.log_level)))
    os.nice(10)
    orphaned = threading.Event()

    def watch() -> None:
        while os.getppid() == parent and not orphaned.wait(1.0):
            pass
        orphaned.set()

    threading.Thread(target=watch, name="parent", daemon=True).start()
    while True:  # the database may not answer yet
        try:
            app = Stafettlogg(settings)
        except Exception as exc:  # noqa: BLE001 - report and try again
            release_failed(exc)
            if orphaned.wait(PREPARE_INTERVAL):
                return
            continue
        break
    try:
        release_loop(app.statistics.publisher, lambda: today_of(app), orphaned, None)
    finally:
        app.close()
