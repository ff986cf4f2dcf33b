"""Backup and restore (`stafettlogg backup FILE`, `stafettlogg restore FILE`), as an
operator runs them: the real command in its own process, the real SQLite files and
the real PostgreSQL with pg_dump and pg_restore.

* the restore drill: a backup taken while cases are being written, restored into a
  fresh directory (or a fresh database) beside the same key file: every write
  acknowledged before the backup began is there, with its sealed text readable, and
  the views equal a rebuild from the events;
* the key file is never in the archive, and a restore beside another key file is
  refused naming the mismatch, never a key;
* a restore does not write over a store that is there, unless told to;
* a damaged archive is refused; without pg_dump the command says how to do it by hand.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from domain import errors
from stafettlogg.application import SHREDDED, Stafettlogg
from stafettlogg.keys import KeyFile
from tests.conftest import KARI, T0, register_services
from tests.stores import POSTGRES_URL, Backend, env_for, settings_for

WRITERS = 2

# Every view table (the runner's tracking rows too), compared as multisets. The
# outbox's and the releases' tables are not derived from the events alone.
VIEW_TABLES = (
    "tracking", "cv_cases", "cv_participants", "cv_consents", "cv_actions", "cv_access_logs",
    "cv_access", "cv_guardians", "cv_by_law", "stat_cases", "stat_intervals", "stat_flows",
    "stat_actions",
)


def view_rows(app: Stafettlogg) -> dict[str, Counter[tuple[Any, ...]]]:
    views = app.read_models.views
    return {t: Counter(views.read(f"SELECT * FROM {t}")) for t in VIEW_TABLES}  # noqa: S608


def cli(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The `stafettlogg` command in its own process, with only these STAFETTLOGG_* variables."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("STAFETTLOGG_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "stafettlogg", *args], env=full, cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


@dataclass(frozen=True)
class Written:
    """A write the application acknowledged (returned from), and when."""

    case_id: uuid.UUID
    version: int
    child_name: str
    entry: str | None
    at: float


def write_cases(app: Stafettlogg, writer: int, stop: threading.Event,
                acknowledged: list[Written], errors: list[BaseException]) -> None:
    """Open cases and add an entry to each, as a worker would, until told to stop."""
    n = 0
    try:
        while not stop.is_set():
            n += 1
            name = f"Barn {writer}-{n} Backupsen"
            case = app.open_case(KARI, child_name=name, concern=f"Bekymring {writer}-{n}",
                                 birth_date=date(2020, 1, 1 + n % 28), at=T0)
            acknowledged.append(Written(case.id, case.version, name, None, time.monotonic()))
            text = f"Notat {writer}-{n} om sikkerhetskopi"
            outcome = app.add_entry(KARI, case.id, kind="note", text=text, at=T0)
            acknowledged.append(
                Written(case.id, outcome.case.version, name, text, time.monotonic()))
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)



@contextmanager
def restore_target(backend: Backend) -> Iterator[Backend]:
    """Where a backup is restored: on SQLite a fresh directory (the test's choice), on
    PostgreSQL a fresh database with the same schema name, dropped afterwards."""
    if backend.name == "sqlite":
        yield backend
        return
    import psycopg

    name = f"t_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    parts = urlsplit(POSTGRES_URL)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield Backend("postgres", {"STAFETTLOGG_DATABASE_URL": url,
                                   "STAFETTLOGG_POSTGRES_SCHEMA": str(backend.schema)},
                      backend.schema)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def key_material(key_file: Path) -> list[str]:
    """Every key of a key file, as stored (base64) and as raw bytes in latin-1."""
    data = json.loads(key_file.read_text())
    keys = [data[k] for k in ("master_key", "store_cipher_key", "index_key", "token_secret")]
    return keys + [base64.b64decode(k).decode("latin-1") for k in keys]


# --- the restore drill ---------------------------------------------------------------


def test_a_backup_under_write_load_restores_every_acknowledged_write(
    backend: Backend, tmp_path: Path
) -> None:
    """Two workers open cases and write entries while `stafettlogg backup` runs in
    its own process. Restored into a fresh place beside the same key file, every write
    acknowledged before the backup began is there (its version, the child's name and
    the entry readable); the service opens the restored store, and its views, caught
    up by the restore, equal a rebuild from the events."""
    data_dir = tmp_path / "var"
    app = Stafettlogg(settings_for(data_dir), clock=lambda: T0)
    register_services(app)
    app.read_models.start_following(interval=0.05)  # the views move during the backup too
    stop = threading.Event()
    acknowledged: list[Written] = []
    errors: list[BaseException] = []
    writers = [threading.Thread(target=write_cases, args=(app, w, stop, acknowledged, errors))
               for w in range(WRITERS)]
    archive = tmp_path / "backup" / "stafettlogg.tar.gz"
    try:
        for thread in writers:
            thread.start()
        while len(acknowledged) < 20 and not errors:
            time.sleep(0.02)
        began = time.monotonic()
        before = len(acknowledged)
        made = cli(env_for(data_dir), "backup", str(archive), cwd=tmp_path)
        during = len(acknowledged) - before
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=60)
        app.close()
    assert not errors, errors
    assert made.returncode == 0, made.stderr
    assert "Sikkerhetskopi skrevet til" in made.stdout
    assert during > 0, "the workers wrote nothing while the backup ran"
    acknowledged_before = [w for w in acknowledged if w.at <= began]
    assert len(acknowledged_before) >= 20

    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest["key_file_fingerprint"] == KeyFile.load_or_create(
        data_dir / "keys.json").fingerprint
    # The views were copied no later than the events: never ahead of them.
    assert all(p <= manifest["positions"]["events"] for p in manifest["positions"]["views"].values())

    with restore_target(backend) as target:
        restored_dir = tmp_path / "restored"
        restored_dir.mkdir()
        (restored_dir / "keys.json").write_bytes((data_dir / "keys.json").read_bytes())
        done = cli(target.env_for(restored_dir), "restore", str(archive), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "Gjenopprettet fra" in done.stdout

        restored = Stafettlogg(target.settings(restored_dir), clock=lambda: T0)
        try:
            assert restored.read_models.source.last_position() == manifest["positions"]["events"]
            for write in acknowledged_before:
                case = restored.get_case(write.case_id)
                assert case.version >= write.version
                assert restored.child_details(write.case_id).name == write.child_name
                if write.entry is not None:
                    assert write.entry in [e.text for e in restored.case_log(write.case_id)]
            # The restore caught the views up: nothing left to read, and they are what
            # a rebuild from the first event gives.
            assert restored.read_models.catch_up() == 0
            caught_up = view_rows(restored)
            restored.read_models.rebuild()
            assert view_rows(restored) == caught_up
            # Every case in the copy (also those written while it was taken) has its
            # child's key: the keys were copied after the events.
            case_ids = [uuid.UUID(str(row[0])) for row in
                        restored.read_models.views.read("SELECT case_id FROM cv_cases")]
            assert len(case_ids) >= len({w.case_id for w in acknowledged_before})
            assert all(restored.child_details(c).name != SHREDDED for c in case_ids)
            # The restored store takes new writes.
            restored.open_case(KARI, child_name="Nytt Barn", concern="Etter gjenoppretting",
                               at=T0)
        finally:
            restored.close()

        # A second restore onto the restored store is refused: it is not empty.
        again = cli(target.env_for(restored_dir), "restore", str(archive), cwd=tmp_path)
        assert again.returncode == 1
        assert "ikke tom" in again.stderr and "--force" in again.stderr


# --- what a backup holds, and what a restore refuses -----------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A SQLite store with one case (the child's name sealed), and its data directory."""
    data_dir = tmp_path / "var"
    app = Stafettlogg(settings_for(data_dir), clock=lambda: T0)
    try:
        register_services(app)
        app.open_case(KARI, child_name="Ola Backupsen", concern="Trist i barnehagen", at=T0)
        app.read_models.catch_up()
    finally:
        app.close()
    return data_dir


def sqlite_env(data_dir: Path) -> dict[str, str]:
    return {"STAFETTLOGG_DATA_DIR": str(data_dir)}


def test_the_key_file_and_the_sessions_are_never_in_the_backup(store: Path, tmp_path: Path) -> None:
    """The archive holds the manifest and the three databases; no member is the key
    file or a session, and no key of the key file appears in any member."""
    (store / "sessions").mkdir()
    (store / "sessions" / "abc").write_text("a session")
    archive = tmp_path / "b.tar.gz"
    made = cli(sqlite_env(store), "backup", str(archive), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "Nøkkelfilen" in made.stdout and "er ikke med" in made.stdout
    with tarfile.open(archive) as tar:
        names = sorted(tar.getnames())
        bodies = [tar.extractfile(m).read().decode("latin-1") for m in tar.getmembers()]  # type: ignore[union-attr]
    assert names == ["child-keys.sqlite3", "events.sqlite3", "manifest.json", "views.sqlite3"]
    for key in key_material(store / "keys.json"):
        assert not any(key in body for body in bodies)
    assert oct(archive.stat().st_mode & 0o777) == "0o600"


def test_a_restore_beside_another_key_file_is_refused_naming_the_mismatch(
    store: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "b.tar.gz"
    assert cli(sqlite_env(store), "backup", str(archive), cwd=tmp_path).returncode == 0
    target = tmp_path / "other"
    target.mkdir()
    KeyFile.load_or_create(target / "keys.json")  # a key file of its own

    refused = cli(sqlite_env(target), "restore", str(archive), cwd=tmp_path)

    assert refused.returncode == 1
    assert "nøkkelfilen" in refused.stderr and "er ikke den sikkerhetskopien" in refused.stderr
    assert "fingeravtrykk" in refused.stderr
    for key in key_material(target / "keys.json") + key_material(store / "keys.json"):
        assert key not in refused.stderr
    assert sorted(p.name for p in target.iterdir()) == ["keys.json"]  # nothing written

    without = tmp_path / "without"
    refused = cli(sqlite_env(without), "restore", str(archive), cwd=tmp_path)
    assert refused.returncode == 1
    assert "finnes ikke" in refused.stderr
    assert not (without / "keys.json").exists()  # no new key file is made


def test_a_restore_does_not_overwrite_a_store_unless_forced(store: Path, tmp_path: Path) -> None:
    """A data directory with a store in it is left as it is; with --force the store is
    replaced by the backup's (the case written after the backup is gone)."""
    archive = tmp_path / "b.tar.gz"
    assert cli(sqlite_env(store), "backup", str(archive), cwd=tmp_path).returncode == 0
    app = Stafettlogg(settings_for(store), clock=lambda: T0)
    try:
        later = app.open_case(KARI, child_name="Kari Etterpå", concern="Ny sak", at=T0).id
        events = app.read_models.source.last_position()
    finally:
        app.close()

    refused = cli(sqlite_env(store), "restore", str(archive), cwd=tmp_path)
    assert refused.returncode == 1
    assert f"datamappen {store} er ikke tom" in refused.stderr
    app = Stafettlogg(settings_for(store), clock=lambda: T0)
    try:
        assert app.read_models.source.last_position() == events
    finally:
        app.close()

    forced = cli(sqlite_env(store), "restore", "--force", str(archive), cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    app = Stafettlogg(settings_for(store), clock=lambda: T0)
    try:
        assert app.read_models.source.last_position() < events
        with pytest.raises(errors.NotFound):
            app.get_case(later)
        # the views follow the restored events: the later case is not listed
        listed = {str(r[0]) for r in app.read_models.views.read("SELECT case_id FROM cv_cases")}
        assert str(later) not in listed and len(listed) == 1
    finally:
        app.close()


def test_a_damaged_backup_is_refused_and_nothing_is_written(store: Path, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar.gz"
    assert cli(sqlite_env(store), "backup", str(archive), cwd=tmp_path).returncode == 0
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as tar, tarfile.open(damaged, "w:gz") as out:
        for member in tar.getmembers():
            body = bytearray(tar.extractfile(member).read())  # type: ignore[union-attr]
            if member.name == "events.sqlite3":
                body[len(body) // 2] ^= 0xFF
            member.size = len(body)
            out.addfile(member, io.BytesIO(bytes(body)))
    target = tmp_path / "target"
    target.mkdir()
    (target / "keys.json").write_bytes((store / "keys.json").read_bytes())

    refused = cli(sqlite_env(target), "restore", str(damaged), cwd=tmp_path)
    assert refused.returncode == 1
    assert "events.sqlite3 i sikkerhetskopien er skadet" in refused.stderr
    assert sorted(p.name for p in target.iterdir()) == ["keys.json"]

    (tmp_path / "not-a-backup.tar.gz").write_bytes(b"hello")
    refused = cli(sqlite_env(target), "restore", str(tmp_path / "not-a-backup.tar.gz"),
                  cwd=tmp_path)
    assert refused.returncode == 1
    assert "er ikke en sikkerhetskopi fra stafettlogg" in refused.stderr


def test_backup_on_postgresql_without_pg_dump_says_how(tmp_path: Path) -> None:
    """No pg_dump on the PATH: one line that names it and gives the recipe."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    KeyFile.load_or_create(data_dir / "keys.json")
    env = {"STAFETTLOGG_DATA_DIR": str(data_dir),
           "STAFETTLOGG_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
           "PATH": str(tmp_path / "empty-bin")}
    refused = cli(env, "backup", str(tmp_path / "b.tar.gz"), cwd=tmp_path)
    assert refused.returncode == 1
    assert "pg_dump finnes ikke på PATH" in refused.stderr
    assert "pg_dump --format=custom" in refused.stderr and "pg_restore" in refused.stderr
    assert not (tmp_path / "b.tar.gz").exists()


def test_views_ahead_of_the_events_are_rebuilt_on_restore(store: Path, tmp_path: Path) -> None:
    """An archive whose views were copied after more events than its event store holds
    (as a hand-made copy of the files might be): the restore rebuilds those views from
    the restored events, so no view shows a case that is not there."""
    first, second = tmp_path / "first.tar.gz", tmp_path / "second.tar.gz"
    assert cli(sqlite_env(store), "backup", str(first), cwd=tmp_path).returncode == 0
    app = Stafettlogg(settings_for(store), clock=lambda: T0)
    try:
        later = app.open_case(KARI, child_name="Kari Etterpå", concern="Ny sak", at=T0).id
        app.read_models.catch_up()
    finally:
        app.close()
    assert cli(sqlite_env(store), "backup", str(second), cwd=tmp_path).returncode == 0
    mixed = tmp_path / "mixed.tar.gz"
    with tarfile.open(first) as old, tarfile.open(second) as new, \
            tarfile.open(mixed, "w:gz") as out:
        manifest = json.loads(old.extractfile("manifest.json").read())  # type: ignore[union-attr]
        views = new.extractfile("views.sqlite3").read()  # type: ignore[union-attr]
        for entry in manifest["files"]:
            if entry["name"] == "views.sqlite3":
                entry["sha256"] = hashlib.sha256(views).hexdigest()
        for member in old.getmembers():
            body = old.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "views.sqlite3":
                body = views
            if member.name == "manifest.json":
                body = json.dumps(manifest).encode()
            member.size = len(body)
            out.addfile(member, io.BytesIO(body))
    target = tmp_path / "target"
    target.mkdir()
    (target / "keys.json").write_bytes((store / "keys.json").read_bytes())

    done = cli(sqlite_env(target), "restore", str(mixed), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert "gjenoppbygget" in done.stdout
    app = Stafettlogg(settings_for(target), clock=lambda: T0)
    try:
        listed = {str(r[0]) for r in app.read_models.views.read("SELECT case_id FROM cv_cases")}
        assert str(later) not in listed and len(listed) == 1
        last = app.read_models.source.last_position()
        assert all(app.read_models.position(p.name) <= last for p in app.read_models.projections)
    finally:
        app.close()
