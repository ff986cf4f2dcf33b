"""Backup and restore of the store: one archive file, the key file never in it.

`backup` writes a tar archive (gzip) with a manifest (`manifest.json`: the format,
the time, the key file's fingerprint, what each store held) and a consistent copy
of the store, taken while the service runs and writes:

* **SQLite** (the default): every database file of the installation, copied with
  SQLite's online backup API (`sqlite3.Connection.backup`, all pages in one step,
  so each copy is one moment of its file) in this order: the views, the event
  store, the children's keys. A later copy is never older than an earlier one, so
  the views are never ahead of the events (a restore catches them up), and every
  event has its child's key (a key is stored before the first event sealed with
  it; a key deleted in between stays deleted, as it should).
* **PostgreSQL**: `pg_dump --format=custom` of the installation's schema, under a
  snapshot exported from a transaction in which the manifest's positions are read:
  events, views and keys are one moment of the database.

`restore` puts such an archive back into an empty data directory (or an empty
schema), after checking that the key file beside it is the one the backup was made
with (by fingerprint, never a key), then opens the store once and catches up the
views, so that the service starts on it.

The session files (`<data dir>/sessions`) are not backed up: after a restore
everyone signs in again. Messages are in Norwegian and name the file or setting,
never a key or any personal data.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from stafettlogg.keys import KeyFile
from stafettlogg.settings import Settings

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP_MEMBER = "database.dump"
EVENTS_TABLE_SQLITE = "stored_events"  # eventsourcing's SQLite recorder
EVENTS_TABLE_POSTGRES = "stafettlogg_events"  # eventsourcing's PostgreSQL recorder, by app name
# SQLite's own files beside a database in WAL mode.
SIDE_FILES = ("-wal", "-shm", "-journal")


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why, in Norwegian."""


@dataclass(frozen=True)
class StoreFile:
    """One SQLite database of the installation, as the archive names it."""

    role: str  # views | events | child_keys
    path: Path
    member: str


@dataclass
class BackupReport:
    path: Path
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    manifest: dict[str, Any]
    events: int
    caught_up: int
    rebuilt: list[str] = field(default_factory=list)


# --- what belongs in a backup -------------------------------------------------------


def _file_path(location: str) -> Path | None:
    """A SQLite location that is a file (not memory or a shared-cache URI)."""
    if not location or location == ":memory:" or location.startswith("file:"):
        return None
    return Path(location)


def sqlite_files(settings: Settings) -> list[StoreFile]:
    """The installation's SQLite databases, in the order they are copied: the views,
    the event store, the children's keys (see the module's docstring for why)."""
    found: list[StoreFile] = []
    views = _file_path(settings.views_path)
    if views is not None:
        found.append(StoreFile("views", views, "views.sqlite3"))
    events = _file_path(settings.sqlite_path)
    if events is not None:
        found.append(StoreFile("events", events, "events.sqlite3"))
    if settings.key_store_address is None:
        keys = _file_path(settings.key_store)
        if keys is not None:
            found.append(StoreFile("child_keys", keys, "child-keys.sqlite3"))
    return found


def _key_file(settings: Settings) -> KeyFile:
    """The installation's key file; never made here (a new one would read nothing)."""
    if not settings.key_file.is_file():
        msg = (
            f"nøkkelfilen {settings.key_file} finnes ikke; legg den riktige nøkkelfilen der"
            " (STAFETTLOGG_KEY_FILE) før du tar eller henter inn en sikkerhetskopi"
        )
        raise BackupError(msg)
    return KeyFile.load_or_create(settings.key_file)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _program_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("stafettlogg")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


# --- backup ----------------------------------------------------------------------


def backup(settings: Settings, out: Path, *, now: datetime) -> BackupReport:
    """Write the archive to `out` (replacing it only once the new one is complete)."""
    keys = _key_file(settings)
    if settings.backend == "postgres":
        return _backup_postgres(settings, keys, out, now)
    return _backup_sqlite(settings, keys, out, now)


def _copy_sqlite(source: Path, target: Path) -> None:
    """One consistent copy of a live SQLite database (the online backup API)."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # pages=-1: the whole database in one step, one moment
            (result,) = dst.execute("PRAGMA integrity_check").fetchone()
            if result != "ok":
                msg = f"kopien av {source} besto ikke integritetssjekken ({result})"
                raise BackupError(msg)
        finally:
            dst.close()
    finally:
        src.close()


def _sqlite_positions(role: str, path: Path) -> Any:
    """What a copied database held: the last event, each view's position, the number
    of child keys (counts and positions only, nothing about anyone)."""
    db = sqlite3.connect(path)
    try:
        if role == "events":
            return db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {EVENTS_TABLE_SQLITE}").fetchone()[0]  # noqa: S608
        if role == "views":
            has = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tracking'").fetchone()
            return dict(db.execute("SELECT projection, position FROM tracking").fetchall()) if has else {}
        return db.execute("SELECT COUNT(*) FROM child_keys").fetchone()[0]
    finally:
        db.close()


def _manifest(settings: Settings, keys: KeyFile, now: datetime, backend: str) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "program": "stafettlogg",
        "version": _program_version(),
        "created_at": now.isoformat(),
        "backend": backend,
        "key_file_fingerprint": keys.fingerprint,
        "files": [],
        "positions": {},
    }


def _write_archive(out: Path, manifest: dict[str, Any], members: list[tuple[str, Path]]) -> None:
    """The tar archive, written beside `out` and moved into place when complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            body = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(body), 0o600, int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(body))
            for name, path in members:
                info = tar.gettarinfo(str(path), arcname=name)
                info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(partial, 0o600)
        os.replace(partial, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
        raise


def _backup_sqlite(settings: Settings, keys: KeyFile, out: Path, now: datetime) -> BackupReport:
    files = sqlite_files(settings)
    events = next((f for f in files if f.role == "events"), None)
    if events is None or not events.path.is_file():
        where = events.path if events is not None else settings.sqlite_path
        msg = (f"finner ikke hendelseslageret {where}; er STAFETTLOGG_DATA_DIR og"
               " STAFETTLOGG_DATABASE_URL riktige?")
        raise BackupError(msg)
    manifest = _manifest(settings, keys, now, "sqlite")
    notes: list[str] = []
    if settings.key_store_address is not None:
        notes.append("barnas nøkler ligger i PostgreSQL (STAFETTLOGG_KEY_STORE) og er ikke med;"
                     " ta sikkerhetskopi av den databasen for seg, etter denne")
    with tempfile.TemporaryDirectory(prefix="stafettlogg-backup-") as tmp:
        members: list[tuple[str, Path]] = []
        for store in files:  # views, events, keys: in this order
            if not store.path.is_file():
                notes.append(f"{store.path} finnes ikke og er ikke med")
                continue
            copy = Path(tmp) / store.member
            _copy_sqlite(store.path, copy)
            manifest["positions"][store.role] = _sqlite_positions(store.role, copy)
            manifest["files"].append({
                "role": store.role, "name": store.member, "bytes": copy.stat().st_size,
                "sha256": _sha256(copy),
            })
            members.append((store.member, copy))
        _write_archive(out, manifest, members)
    return BackupReport(out, manifest, notes)


# --- PostgreSQL ----------------------------------------------------------------------

PG_RECIPE = (
    "på PostgreSQL tas sikkerhetskopien med pg_dump: pg_dump --format=custom"
    " --schema=SKJEMA --file=FIL DATABASE, og hentes inn med pg_restore --no-owner"
    " --exit-on-error --single-transaction --dbname=DATABASE FIL"
    " (docs/operations.md, «Backup and restore»)"
)


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        msg = (f"{name} finnes ikke på PATH; installer PostgreSQLs klientprogrammer"
               f" (for eksempel postgresql-client), eller: {PG_RECIPE}")
        raise BackupError(msg)
    return found


def _pg_env(settings: Settings) -> dict[str, str]:
    """The tools' environment: the password through PGPASSWORD, never on a command line
    (the other PG* variables, such as PGSSLMODE or PGPASSFILE, are left as they are)."""
    env = dict(os.environ)
    password = settings.postgres_address.password
    if password:
        env["PGPASSWORD"] = password
    return env


def _pg_connection_args(settings: Settings) -> list[str]:
    address = settings.postgres_address
    return ["--host", address.host, "--port", str(address.port), "--username", address.user,
            "--no-password"]


def _pg_connect(settings: Settings) -> Any:
    import psycopg

    address = settings.postgres_address
    return psycopg.connect(
        host=address.host, port=address.port, user=address.user, password=address.password,
        dbname=address.dbname, connect_timeout=settings.postgres.connect_timeout,
        application_name="stafettlogg-backup",
    )


def _run_tool(command: list[str], settings: Settings, what: str) -> str:
    result = subprocess.run(command, env=_pg_env(settings), capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        msg = f"{what} feilet: {lines[-1] if lines else f'avslutningskode {result.returncode}'}"
        raise BackupError(msg)
    return result.stdout


def _pg_table_exists(conn: Any, schema: str, table: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
        (schema, table),
    ).fetchone()
    return row is not None


def _pg_positions(conn: Any, schema: str, keys_here: bool) -> dict[str, Any]:
    from psycopg import sql

    positions: dict[str, Any] = {"events": 0, "views": {}}
    if _pg_table_exists(conn, schema, EVENTS_TABLE_POSTGRES):
        positions["events"] = conn.execute(sql.SQL(
            "SELECT COALESCE(MAX(notification_id), 0) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(EVENTS_TABLE_POSTGRES))).fetchone()[0]
    if _pg_table_exists(conn, schema, "tracking"):
        positions["views"] = dict(conn.execute(sql.SQL(
            "SELECT projection, position FROM {}.tracking").format(
            sql.Identifier(schema))).fetchall())
    if keys_here and _pg_table_exists(conn, schema, "child_keys"):
        positions["child_keys"] = conn.execute(sql.SQL(
            "SELECT COUNT(*) FROM {}.child_keys").format(sql.Identifier(schema))).fetchone()[0]
    return positions


def _backup_postgres(settings: Settings, keys: KeyFile, out: Path, now: datetime) -> BackupReport:
    pg_dump = _pg_tool("pg_dump")
    schema = settings.postgres.schema
    keys_here = settings.key_store_address == settings.postgres_address
    manifest = _manifest(settings, keys, now, "postgres")
    manifest["schema"] = schema
    notes: list[str] = []
    if not keys_here:
        notes.append("barnas nøkler ligger i en annen database (STAFETTLOGG_KEY_STORE) og er"
                     " ikke med; ta sikkerhetskopi av den for seg, etter denne")
    with tempfile.TemporaryDirectory(prefix="stafettlogg-backup-") as tmp:
        dump = Path(tmp) / PG_DUMP_MEMBER
        with _pg_connect(settings) as conn:
            # One snapshot for the positions and the dump: the same moment. (Autocommit,
            # so that this BEGIN is the transaction's own, not psycopg's implicit one.)
            conn.autocommit = True
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            (snapshot,) = conn.execute("SELECT pg_export_snapshot()").fetchone()
            manifest["positions"] = _pg_positions(conn, schema, keys_here)
            _run_tool([pg_dump, *_pg_connection_args(settings), "--format=custom",
                       f"--schema={schema}", f"--snapshot={snapshot}", f"--file={dump}",
                       settings.postgres_address.dbname], settings, "pg_dump")
            conn.execute("COMMIT")
        manifest["files"].append({"role": "database", "name": PG_DUMP_MEMBER,
                                  "bytes": dump.stat().st_size, "sha256": _sha256(dump)})
        _write_archive(out, manifest, [(PG_DUMP_MEMBER, dump)])
    return BackupReport(out, manifest, notes)


# --- restore ---------------------------------------------------------------------


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[tuple[tarfile.TarFile, dict[str, Any]]]:
    if not path.is_file():
        msg = f"finner ikke sikkerhetskopien {path}"
        raise BackupError(msg)
    try:
        tar = tarfile.open(path, mode="r:*")
    except tarfile.TarError:
        msg = f"{path} er ikke en sikkerhetskopi fra stafettlogg (ikke et tar-arkiv)"
        raise BackupError(msg) from None
    with tar:
        try:
            member = tar.extractfile(MANIFEST)
            manifest = json.loads(member.read()) if member is not None else None
        except (KeyError, ValueError, tarfile.TarError):
            manifest = None
        if not isinstance(manifest, dict) or manifest.get("program") != "stafettlogg":
            msg = f"{path} er ikke en sikkerhetskopi fra stafettlogg (mangler {MANIFEST})"
            raise BackupError(msg)
        if manifest.get("format") != FORMAT:
            msg = (f"sikkerhetskopien {path} har format {manifest.get('format')!r}; denne"
                   f" versjonen av stafettlogg leser format {FORMAT}")
            raise BackupError(msg)
        yield tar, manifest


def _extract(tar: tarfile.TarFile, entry: dict[str, Any], target: Path) -> None:
    """One member, by the name the manifest gives (never a path from the archive),
    checked against its SHA-256."""
    try:
        source = tar.extractfile(entry["name"])
    except KeyError:
        source = None
    if source is None:
        msg = f"sikkerhetskopien mangler {entry['name']}"
        raise BackupError(msg)
    digest = hashlib.sha256()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
            handle.write(block)
    if digest.hexdigest() != entry["sha256"]:
        msg = f"{entry['name']} i sikkerhetskopien er skadet (sjekksummen stemmer ikke)"
        raise BackupError(msg)


def _check_key_file(settings: Settings, manifest: dict[str, Any], archive: Path) -> None:
    keys = _key_file(settings)
    expected = str(manifest.get("key_file_fingerprint", ""))
    if keys.fingerprint != expected:
        msg = (
            f"nøkkelfilen {settings.key_file} er ikke den sikkerhetskopien {archive} ble tatt"
            f" med (fingeravtrykk {keys.fingerprint[:12]}… her, {expected[:12]}… i kopien);"
            " legg den nøkkelfilen som hørte til lageret da kopien ble tatt, der"
        )
        raise BackupError(msg)


def _check_backend(settings: Settings, manifest: dict[str, Any]) -> None:
    names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
    if manifest.get("backend") != settings.backend:
        msg = (f"sikkerhetskopien er av et {names.get(manifest.get('backend'), '?')}-lager, men"
               f" STAFETTLOGG_DATABASE_URL peker på {names[settings.backend]}")
        raise BackupError(msg)


def restore(settings: Settings, archive: Path, *, force: bool = False) -> RestoreReport:
    """Put the archive back, check it, and catch the views up on the restored events."""
    with _open_archive(archive) as (tar, manifest):
        _check_backend(settings, manifest)
        _check_key_file(settings, manifest, archive)
        if settings.backend == "postgres":
            _restore_postgres(settings, tar, manifest, force=force)
        else:
            _restore_sqlite(settings, tar, manifest, force=force)
    return _open_and_catch_up(settings, manifest)


def _occupied(settings: Settings, targets: list[Path]) -> list[Path]:
    """What is already there: anything in the data directory but the key file, and
    any of the databases (they may live outside it)."""
    found: list[Path] = []
    if settings.data_dir.is_dir():
        key_file = settings.key_file.resolve()
        found += [p for p in sorted(settings.data_dir.iterdir()) if p.resolve() != key_file]
    for target in targets:
        for path in (target, *(Path(f"{target}{side}") for side in SIDE_FILES)):
            if path.exists() and path not in found:
                found.append(path)
    return found


def _restore_sqlite(settings: Settings, tar: tarfile.TarFile, manifest: dict[str, Any], *,
                    force: bool) -> None:
    by_role = {store.role: store for store in sqlite_files(settings)}
    entries = [e for e in manifest.get("files", []) if e.get("role") in by_role]
    if not any(e["role"] == "events" for e in entries):
        msg = "sikkerhetskopien har ikke noe hendelseslager"
        raise BackupError(msg)
    targets = [by_role[e["role"]].path for e in entries]
    occupied = _occupied(settings, targets)
    if occupied and not force:
        msg = (
            f"datamappen {settings.data_dir} er ikke tom ({len(occupied)} ting, blant dem"
            f" {occupied[0].name}); gjenoppretting skriver bare inn i en tom datamappe."
            " Stopp tjenesten og bruk --force for å erstatte lageret som er der"
        )
        raise BackupError(msg)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for entry in entries:
            target = by_role[entry["role"]].path
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.restoring")
            staged.append((partial, target))
            _extract(tar, entry, partial)
            db = sqlite3.connect(partial)
            try:
                (result,) = db.execute("PRAGMA integrity_check").fetchone()
            finally:
                db.close()
            if result != "ok":
                msg = f"{entry['name']} i sikkerhetskopien besto ikke integritetssjekken"
                raise BackupError(msg)
        for partial, target in staged:  # every file checked: now replace
            for side in SIDE_FILES:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{target}{side}")
            os.replace(partial, target)
    finally:
        for partial, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)


def _restore_postgres(settings: Settings, tar: tarfile.TarFile, manifest: dict[str, Any], *,
                      force: bool) -> None:
    from psycopg import sql

    pg_restore = _pg_tool("pg_restore")
    schema = settings.postgres.schema
    if manifest.get("schema") != schema:
        msg = (f"sikkerhetskopien er av skjemaet {manifest.get('schema')!r}, men"
               f" STAFETTLOGG_POSTGRES_SCHEMA er {schema!r}; sett det til skjemaet i kopien")
        raise BackupError(msg)
    entry = next((e for e in manifest.get("files", []) if e.get("name") == PG_DUMP_MEMBER), None)
    if entry is None:
        msg = f"sikkerhetskopien mangler {PG_DUMP_MEMBER}"
        raise BackupError(msg)
    with _pg_connect(settings) as conn:
        conn.autocommit = True
        tables = conn.execute(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchone()[0]
        if tables and not force:
            msg = (
                f"skjemaet {schema} i databasen {settings.postgres_address.dbname} er ikke tomt"
                f" ({tables} tabeller); gjenoppretting skriver bare inn i et tomt skjema."
                " Stopp tjenesten og bruk --force for å erstatte lageret som er der"
            )
            raise BackupError(msg)
        if tables:  # --force: the schema and everything in it go
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None
    with tempfile.TemporaryDirectory(prefix="stafettlogg-restore-") as tmp:
        dump = Path(tmp) / PG_DUMP_MEMBER
        _extract(tar, entry, dump)
        listing = _run_tool([pg_restore, "--list", str(dump)], settings, "pg_restore --list")
        if exists:  # an empty schema is there already: do not create it again
            entry_line = re.compile(  # the schema, and its comment (public has one)
                rf"^\d+;\s+\d+\s+\d+\s+(SCHEMA\s+-|COMMENT\s+-\s+SCHEMA)\s+{re.escape(schema)}(\s|$)")
            listing = "\n".join(
                line for line in listing.splitlines() if not entry_line.match(line))
        contents = Path(tmp) / "contents.list"
        contents.write_text(listing + "\n")
        _run_tool([pg_restore, *_pg_connection_args(settings), "--no-owner", "--no-privileges",
                   "--exit-on-error", "--single-transaction", f"--use-list={contents}",
                   f"--dbname={settings.postgres_address.dbname}", str(dump)],
                  settings, "pg_restore")


def _open_and_catch_up(settings: Settings, manifest: dict[str, Any]) -> RestoreReport:
    """Open the restored store as the service does (the key file is checked against
    it), rebuild any view that is ahead of the events, catch up the others."""
    from stafettlogg.application import Stafettlogg

    app = Stafettlogg(settings)
    try:
        models = app.read_models
        last = models.source.last_position()
        rebuilt = []
        for projection in models.projections:
            if models.views.position(projection.name) > last:
                models.views.rebuild(projection, models.source)
                rebuilt.append(projection.name)
        caught_up = models.catch_up()
    finally:
        app.close()
    return RestoreReport(manifest, last, caught_up, rebuilt)
