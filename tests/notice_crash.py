"""A process that sends the notices due and dies (SIGKILL, nothing flushed or closed)
right after the SMTP server took the first message and before the row is marked
sent: `python -m tests.notice_crash SETTINGS_JSON CLOCK_ISO` (tests/test_notices.py)."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import datetime

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings


def main() -> None:
    env = json.loads(sys.argv[1])
    now = datetime.fromisoformat(sys.argv[2])
    app = Stafettlogg(Settings.from_env(env), clock=lambda: now)
    app.notices._after_send = lambda: os.kill(os.getpid(), signal.SIGKILL)
    app.notices.run_once()
    sys.exit("the process was not killed: nothing was sent")


if __name__ == "__main__":
    main()
