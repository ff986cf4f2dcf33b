"""After `stafettlogg demo`, the files on disk hold none of the children's personal data.

Runs the real CLI into a fresh data directory, then reads every byte SQLite wrote
(database, WAL and key store) and looks for every name, identity number, birth date
and free text the demo recorded, as the application itself reads them back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from stafettlogg.application import Stafettlogg
from stafettlogg.settings import Settings


def test_the_raw_files_after_demo_hold_no_names_identity_numbers_or_free_text(
    tmp_path: Path,
):
    data_dir = tmp_path / "var"
    result = subprocess.run(
        [sys.executable, "-m", "stafettlogg", "demo", "--seed", "3", "--children", "80"],
        env={**os.environ, "STAFETTLOGG_DATA_DIR": str(data_dir)},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr

    app = Stafettlogg(Settings.from_env({"STAFETTLOGG_DATA_DIR": str(data_dir)}))
    secrets: set[str] = set()
    try:
        for case_id in app.case_ids():
            child = app.child_details(case_id)
            secrets.update(
                v for v in (child.name, child.birth_date, child.national_id, child.concern) if v
            )
            secrets.update(e.text for e in app.case_log(case_id) if e.text)
    finally:
        app.close()

    names = {s for s in secrets if " " in s and len(s) < 60}
    numbers = {s for s in secrets if s.isdigit() and len(s) == 11}
    assert len(numbers) >= 20 and len(names) >= 80 and len(secrets) > 500

    files = [p for p in data_dir.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"stafettlogg.sqlite3", "child-keys.sqlite3", "keys.json"}
    everything = b"".join(p.read_bytes() for p in files)
    found = sorted(s for s in secrets if s.encode() in everything)
    assert found == []
