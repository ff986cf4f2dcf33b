"""Keys and the sealing of personal data.

Three layers, all with the `cryptography` package:

* the **key file** (mode 0600, made on first start, never committed) holds the
  master key, the event-store cipher key, the blind-index key and the token secret;
* every **child** has its own AES-256-GCM data key, kept wrapped by the master key in
  a key store apart from the events: deleting it ("crypto-shredding") makes every
  sealed field of that child unreadable wherever a copy of the events lives;
* identity numbers are looked up only through an HMAC **blind index**.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.cryptography import AESCipher

from domain.values import Sealed

if TYPE_CHECKING:
    from eventsourcing.utils import Environment

SEAL_FORMAT = b"\x01"  # version byte of the sealed-field format
NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("a key is a base64 text")
    return base64.b64decode(text, validate=True)


KEY_FILE_FORMAT = 2  # format 1 (no key rings) is still read


class KeyFileError(ValueError):
    """The key file cannot be used; the message names the file, never a key."""


@dataclass(frozen=True)
class KeyFile:
    """The installation's secrets. Keep the file out of git and out of backups of the events.

    Besides the four current keys, a key file rotated with `stafettlogg keys rotate`
    (`stafettlogg/key_rotation.py`) may hold what the rotation keeps: the next master
    key while a master rotation is under way, the event-store keys of older events,
    the blind-index keys of values indexed before, the previous token secret during
    its grace period, and the fingerprint of the key file this one replaced (so that
    a PostgreSQL database's `key_check` moves on to the new file, and only to it).
    """

    master_key: bytes
    store_cipher_key: bytes
    index_key: bytes
    token_secret: bytes
    next_master_key: bytes | None = None
    old_store_cipher_keys: tuple[bytes, ...] = ()
    old_index_keys: tuple[bytes, ...] = ()
    old_token_secret: bytes | None = None
    old_token_secret_until: datetime | None = None
    replaces: str | None = None

    @property
    def store_cipher_key_b64(self) -> str:
        return _b64(self.store_cipher_key)

    @property
    def old_store_cipher_keys_b64(self) -> str:
        """The older event-store keys, comma-separated (for `KeyRingCipher`)."""
        return ",".join(_b64(key) for key in self.old_store_cipher_keys)

    @property
    def fingerprint(self) -> str:
        """Names this key file without revealing any key (an HMAC under the master key)."""
        material = self.store_cipher_key + self.index_key
        return hmac.new(self.master_key, b"key-file\x00" + material, hashlib.sha256).hexdigest()

    def master_keys(self) -> list[bytes]:
        """The master keys that may have wrapped a child key: the current one, and
        the next one while a rotation is under way."""
        return [self.master_key] + ([self.next_master_key] if self.next_master_key else [])

    def token_secrets(self, now: datetime) -> list[bytes]:
        """The secrets a token may be signed with at `now`: the current one, and the
        previous one until its grace period ends."""
        old = self.old_token_secret
        until = self.old_token_secret_until
        if old is not None and until is not None and now < until:
            return [self.token_secret, old]
        return [self.token_secret]

    @classmethod
    def generate(cls) -> KeyFile:
        return cls(
            master_key=AESGCM.generate_key(256),
            store_cipher_key=AESGCM.generate_key(256),
            index_key=os.urandom(32),
            token_secret=os.urandom(32),
        )

    def to_json(self) -> bytes:
        data: dict[str, object] = {
            "format": KEY_FILE_FORMAT,
            "master_key": _b64(self.master_key),
            "store_cipher_key": _b64(self.store_cipher_key),
            "index_key": _b64(self.index_key),
            "token_secret": _b64(self.token_secret),
        }
        if self.next_master_key is not None:
            data["next_master_key"] = _b64(self.next_master_key)
        if self.old_store_cipher_keys:
            data["old_store_cipher_keys"] = [_b64(k) for k in self.old_store_cipher_keys]
        if self.old_index_keys:
            data["old_index_keys"] = [_b64(k) for k in self.old_index_keys]
        if self.old_token_secret is not None and self.old_token_secret_until is not None:
            data["old_token_secret"] = _b64(self.old_token_secret)
            data["old_token_secret_until"] = self.old_token_secret_until.isoformat()
        if self.replaces is not None:
            data["replaces"] = self.replaces
        return json.dumps(data, indent=2).encode() + b"\n"

    @classmethod
    def from_json(cls, raw: str, path: Path) -> KeyFile:
        try:
            data = json.loads(raw)
            if data.get("format", 1) not in (1, KEY_FILE_FORMAT):
                raise ValueError("format")
            until = data.get("old_token_secret_until")
            keys = cls(
                master_key=_unb64(data["master_key"]),
                store_cipher_key=_unb64(data["store_cipher_key"]),
                index_key=_unb64(data["index_key"]),
                token_secret=_unb64(data["token_secret"]),
                next_master_key=(
                    _unb64(data["next_master_key"]) if "next_master_key" in data else None
                ),
                old_store_cipher_keys=tuple(
                    _unb64(k) for k in data.get("old_store_cipher_keys", ())
                ),
                old_index_keys=tuple(_unb64(k) for k in data.get("old_index_keys", ())),
                old_token_secret=(
                    _unb64(data["old_token_secret"]) if "old_token_secret" in data else None
                ),
                old_token_secret_until=None if until is None else datetime.fromisoformat(until),
                replaces=data.get("replaces"),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            msg = f"nøkkelfilen {path} er skadet eller har feil format ({type(exc).__name__})"
            raise KeyFileError(msg) from None
        aes_keys = [keys.master_key, keys.store_cipher_key, *keys.old_store_cipher_keys]
        if keys.next_master_key is not None:
            aes_keys.append(keys.next_master_key)
        if any(len(key) != 32 for key in aes_keys):
            msg = f"nøkkelfilen {path} har nøkler med feil lengde"
            raise KeyFileError(msg)
        if keys.old_token_secret_until is not None and keys.old_token_secret_until.tzinfo is None:
            msg = f"nøkkelfilen {path}: old_token_secret_until mangler tidssone"
            raise KeyFileError(msg)
        return keys

    @classmethod
    def load(cls, path: Path) -> KeyFile:
        """Read the key file (it must exist)."""
        try:
            raw = path.read_text()
        except FileNotFoundError:
            msg = f"nøkkelfilen {path} finnes ikke"
            raise KeyFileError(msg) from None
        return cls.from_json(raw, path)

    @classmethod
    def load_or_create(cls, path: Path) -> KeyFile:
        """Read the key file, or write a new one with mode 0600 if there is none."""
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            keys = cls.generate()
            if keys._write_new(path):
                return keys
            # another process made it first: read theirs
        return cls.load(path)

    def _temporary(self, path: Path) -> Path:
        """The whole file written and fsynced beside `path`, mode 0600."""
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.to_json())
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return temporary

    def _write_new(self, path: Path) -> bool:
        """Write the file unless one exists (then False): whole or not at all."""
        temporary = self._temporary(path)
        try:
            os.link(temporary, path)  # fails if another process made one first
        except FileExistsError:
            return False
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_directory(path.parent)
        return True

    def replace_file(self, path: Path, *, keep_old: bool = False) -> Path | None:
        """Put this key file in place of the one at `path` atomically (write a new
        file, fsync, rename over). With `keep_old`, the old file is first kept beside
        it as `<name>.<UTC time>.old` (mode 0600), whose path is returned."""
        kept = None
        if keep_old and path.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            kept = path.with_name(f"{path.name}.{stamp}.old")
            os.link(path, kept)
        temporary = self._temporary(path)
        try:
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)
        return kept


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KeyFileWatch:
    """The key file as it is now: read again when it has changed on disk (a cheap
    `stat`), so that a rotation reaches a running process without a restart where
    that is safe (the master key, the token secret; see docs/operations.md)."""

    def __init__(self, path: Path, keys: KeyFile) -> None:
        self._path = path
        self._keys = keys
        self._stamp = self._stat()
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self._path)
        except FileNotFoundError:
            return None
        return (info.st_ino, info.st_mtime_ns, info.st_size)

    def current(self) -> KeyFile:
        stamp = self._stat()
        if stamp is None or stamp == self._stamp:
            return self._keys
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._keys = KeyFile.load(self._path)
                except KeyFileError:
                    return self._keys  # half a copy by hand: keep what works, look again
                self._stamp = stamp
            return self._keys


class KeyRingCipher(AESCipher):
    """eventsourcing's AES-GCM cipher with a key ring: new events are encrypted with
    `CIPHER_KEY`, and an event is opened with that key or any of `CIPHER_OLD_KEYS`
    (the keys before a `keys rotate store`). When none opens it, the key file
    (`CIPHER_KEY_FILE`) is read again, so that a process still running with the old
    file reads the events of a process already restarted with the new one."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        old = environment.get("CIPHER_OLD_KEYS") or ""
        self._ring = [self.key, *(base64.b64decode(k) for k in old.split(",") if k)]
        key_file = environment.get("CIPHER_KEY_FILE")
        self._key_file = Path(key_file) if key_file else None

    def decrypt(self, ciphertext: bytes) -> bytes:
        nonce, tag, encrypted = ciphertext[:12], ciphertext[12:28], ciphertext[28:]
        if len(nonce) != 12 or len(tag) != 16:
            msg = "Damaged cipher text"
            raise ValueError(msg)
        for attempt in range(2):
            for key in self._ring:
                try:
                    return AESGCM(key).decrypt(nonce, encrypted + tag, None)
                except InvalidTag:
                    continue
            if attempt == 0 and self._key_file is not None:
                keys = KeyFile.load(self._key_file)
                ring = [keys.store_cipher_key, *keys.old_store_cipher_keys]
                self._ring = [*self._ring, *(k for k in ring if k not in self._ring)]
        msg = "Invalid cipher tag"
        raise ValueError(msg)


class BlindIndex:
    """Keyed hashes (HMAC-SHA256) for looking up a child, or a staff member by their
    login, without storing who it is."""

    def __init__(self, key: bytes, old_keys: tuple[bytes, ...] = ()) -> None:
        self._key = key
        self._old_keys = old_keys

    def variants(self) -> list[BlindIndex]:
        """The index under the current key, then under each older key (after `keys
        rotate index`): a lookup tries each, since what was indexed before a rotation
        stays indexed with the key of its time."""
        return [self, *(BlindIndex(key) for key in self._old_keys)]

    def _digest(self, purpose: bytes, value: str) -> bytes:
        return hmac.new(self._key, purpose + b"\x00" + value.encode(), hashlib.sha256).digest()

    def of_national_id(self, number: str) -> str:
        return self._digest(b"national-id", number).hex()

    def of_guardian(self, number: str) -> str:
        """A guardian's fødselsnummer as kept on a case: found again when they sign in
        with ID-porten (its `pid`), and linkable to nothing else."""
        return self._digest(b"guardian", number).hex()

    def of_survey_code(self, code: str) -> str:
        """A survey's one-time code as the round keeps it (the code itself is never
        stored)."""
        return self._digest(b"survey-code", code).hex()

    def of_login(self, subject: str) -> str:
        """A staff member's login subject (with ID-porten the fødselsnummer), as kept."""
        return self._digest(b"staff-login", subject).hex()

    def child_id(self, *, national_id: str | None, name: str, birth_date: date | None) -> UUID | None:
        """The child's stable id: from the identity number, else name and birth date.

        With neither a number nor a birth date, a child cannot be recognised again
        and the caller gives it a fresh id.
        """
        if national_id:
            digest = self._digest(b"child-by-national-id", national_id)
        elif birth_date is not None:
            normalised = " ".join(name.casefold().split())
            digest = self._digest(b"child-by-name-birth", f"{normalised}|{birth_date.isoformat()}")
        else:
            return None
        return UUID(bytes=digest[:16], version=4)


class KeyShredded(Exception):
    """The child's data key was deleted: its sealed data can no longer be read."""


def master_verifier(master_key: bytes) -> str:
    """Names a master key in the key store without revealing it (an HMAC under it)."""
    return hmac.new(master_key, b"child-key-store\x00master", hashlib.sha256).hexdigest()


class KeyTable(Protocol):
    """Where the wrapped child keys are kept: a SQLite file or a PostgreSQL table.

    Beside the keys, the table keeps which master key wraps them (`master_state`: the
    verifier of the current one, and of the next one while a rotation is under way),
    so that a key file with a retired master key is refused."""

    def insert(self, child_id: str, wrapped: bytes, target: str) -> bool:
        """Store the key unless the child has one already, if `target` is still the
        master keys are wrapped under (else False and nothing stored)."""
        ...

    def get(self, child_id: str) -> bytes | None: ...

    def ping(self, timeout: float) -> None:
        """Raise unless the table answers within `timeout` seconds (/ready)."""
        ...

    def delete(self, child_id: str) -> None: ...

    def master_state(self) -> tuple[str, str | None] | None: ...

    def start_master_state(self, current: str) -> None:
        """Record the master key of a key store that has no record yet."""
        ...

    def begin_master_rotation(self, current: str, following: str) -> bool:
        """From now on new keys are wrapped under `following`; False unless the
        state was (`current`, none or `following`)."""
        ...

    def finish_master_rotation(self, current: str, following: str) -> bool: ...

    def first_key(self) -> tuple[str, bytes] | None: ...

    def keys_after(self, child_id: str, limit: int) -> list[tuple[str, bytes]]: ...

    def rewrap(self, changes: list[tuple[str, bytes, bytes]]) -> int:
        """Replace each (child, old, new) whose key is still `old`, in one transaction."""
        ...

    def close(self) -> None: ...


_MASTER_TABLE = (
    "CREATE TABLE IF NOT EXISTS child_key_master ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), current TEXT NOT NULL, following TEXT)"
)


class SqliteKeyTable:
    """The wrapped keys in their own SQLite file, one connection per thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._uri = path.startswith("file:")
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        db = self._connect()
        db.execute(
            "CREATE TABLE IF NOT EXISTS child_keys ("
            " child_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL)"
        )
        db.execute(_MASTER_TABLE)

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                self._path, uri=self._uri, timeout=30, isolation_level=None,
                check_same_thread=False,  # each thread has its own; close() may run elsewhere
            )
            if not self._uri:
                db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
            with self._lock:
                self._connections.append(db)
        return db

    def _target(self, db: sqlite3.Connection) -> str | None:
        row = db.execute("SELECT COALESCE(following, current) FROM child_key_master").fetchone()
        return None if row is None else str(row[0])

    def insert(self, child_id: str, wrapped: bytes, target: str) -> bool:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            if self._target(db) != target:
                return False
            db.execute(
                "INSERT OR IGNORE INTO child_keys (child_id, wrapped) VALUES (?, ?)",
                (child_id, wrapped),
            )
            return True
        finally:
            db.execute("COMMIT")

    def get(self, child_id: str) -> bytes | None:
        row = self._connect().execute(
            "SELECT wrapped FROM child_keys WHERE child_id = ?", (child_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def ping(self, timeout: float) -> None:
        self.get("ready-check")  # a local file: it answers or raises at once

    def delete(self, child_id: str) -> None:
        self._connect().execute("DELETE FROM child_keys WHERE child_id = ?", (child_id,))

    def master_state(self) -> tuple[str, str | None] | None:
        row = self._connect().execute(
            "SELECT current, following FROM child_key_master"
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def start_master_state(self, current: str) -> None:
        self._connect().execute(
            "INSERT OR IGNORE INTO child_key_master (id, current) VALUES (1, ?)", (current,)
        )

    def begin_master_rotation(self, current: str, following: str) -> bool:
        changed = self._connect().execute(
            "UPDATE child_key_master SET following = ?"
            " WHERE current = ? AND (following IS NULL OR following = ?)",
            (following, current, following),
        ).rowcount
        return changed == 1

    def finish_master_rotation(self, current: str, following: str) -> bool:
        changed = self._connect().execute(
            "UPDATE child_key_master SET current = following, following = NULL"
            " WHERE current = ? AND following = ?",
            (current, following),
        ).rowcount
        return changed == 1

    def first_key(self) -> tuple[str, bytes] | None:
        row = self._connect().execute(
            "SELECT child_id, wrapped FROM child_keys ORDER BY child_id LIMIT 1"
        ).fetchone()
        return None if row is None else (row[0], bytes(row[1]))

    def keys_after(self, child_id: str, limit: int) -> list[tuple[str, bytes]]:
        rows = self._connect().execute(
            "SELECT child_id, wrapped FROM child_keys WHERE child_id > ?"
            " ORDER BY child_id LIMIT ?",
            (child_id, limit),
        ).fetchall()
        return [(row[0], bytes(row[1])) for row in rows]

    def rewrap(self, changes: list[tuple[str, bytes, bytes]]) -> int:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        try:
            done = sum(
                db.execute(
                    "UPDATE child_keys SET wrapped = ? WHERE child_id = ? AND wrapped = ?",
                    (new, child_id, old),
                ).rowcount
                for child_id, old, new in changes
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return done

    def close(self) -> None:
        """Close the connections of every thread that used the store."""
        with self._lock:
            connections, self._connections = self._connections, []
        for db in connections:
            db.close()
        self._local = threading.local()


class ChildKeyStore:
    """Per-child data keys, wrapped by the master key, kept apart from the events.

    `table` is a SQLite path or a `KeyTable` (PostgreSQL). Unwrapped keys are cached;
    with `cache_seconds`, a cached key is looked up again after that long, so that a
    key deleted by another process stops working here too.

    `masters` are the key file's master keys (the current one, and the next one
    during a rotation). The store refuses a key file none of whose master keys is
    the one its keys are wrapped under (an old key file after `keys rotate master`).
    With `reload`, a process that meets a key wrapped under a master key it does not
    have reads the key file again (a rotation done by another process).
    """

    def __init__(
        self,
        table: str | KeyTable,
        masters: bytes | list[bytes],
        cache_size: int = 4096,
        cache_seconds: float | None = None,
        reload: Callable[[], list[bytes]] | None = None,
        key_file: Path | None = None,
    ) -> None:
        self._table: KeyTable = SqliteKeyTable(table) if isinstance(table, str) else table
        self._masters: dict[str, AESGCM] = {}
        self._learn([masters] if isinstance(masters, bytes) else masters)
        self._reload = reload
        self._key_file = key_file
        self._cache: OrderedDict[UUID, tuple[AESGCM, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._check_masters(masters if isinstance(masters, bytes) else masters[0])

    @property
    def table(self) -> KeyTable:
        return self._table

    def _learn(self, masters: list[bytes]) -> None:
        for key in masters:
            self._masters.setdefault(master_verifier(key), AESGCM(key))

    def _check_masters(self, current: bytes) -> None:
        state = self._table.master_state()
        if state is None:
            first = self._table.first_key()
            if first is not None and not self._opens(UUID(first[0]), first[1]):
                self._refuse()
            self._table.start_master_state(master_verifier(current))
            state = self._table.master_state()
        assert state is not None
        if not any(name in self._masters for name in state if name is not None):
            self._refuse()

    def _refuse(self) -> None:
        where = f"nøkkelfilen {self._key_file}" if self._key_file else "nøkkelfilen"
        msg = (
            f"{where} har ikke hovednøkkelen barnas nøkler er pakket inn med"
            " (en gammel nøkkelfil etter at hovednøkkelen er byttet?)"
        )
        raise KeyFileError(msg)

    def _opens(self, child_id: UUID, wrapped: bytes) -> bool:
        try:
            self.unwrap_with(list(self._masters.values()), child_id, wrapped)
        except InvalidTag:
            return False
        return True

    @staticmethod
    def unwrap_with(masters: list[AESGCM], child_id: UUID, wrapped: bytes) -> bytes:
        """The child's key, opened with the first of `masters` that opens it."""
        for master in masters:
            try:
                return master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], child_id.bytes)
            except InvalidTag:
                continue
        raise InvalidTag()

    @staticmethod
    def wrap_with(master: AESGCM, child_id: UUID, key: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + master.encrypt(nonce, key, child_id.bytes)

    def _read_key_file_again(self) -> bool:
        if self._reload is None:
            return False
        before = len(self._masters)
        self._learn(self._reload())
        return len(self._masters) > before

    def _unwrap(self, child_id: UUID, wrapped: bytes) -> AESGCM:
        for _ in range(2):
            try:
                return AESGCM(self.unwrap_with(list(self._masters.values()), child_id, wrapped))
            except InvalidTag:
                if not self._read_key_file_again():
                    break
        self._refuse()
        raise AssertionError("unreachable")  # pragma: no cover

    def _insert(self, child_id: UUID) -> None:
        """A new key for the child, wrapped under the master key the store now wraps
        under (the next one as soon as a rotation has begun)."""
        key = AESGCM.generate_key(256)
        for _ in range(5):
            state = self._table.master_state()
            assert state is not None
            target = state[1] or state[0]
            master = self._masters.get(target)
            if master is None and self._read_key_file_again():
                master = self._masters.get(target)
            if master is None:
                self._refuse()
            if self._table.insert(str(child_id), self.wrap_with(master, child_id, key), target):
                return
        msg = "the child key store's master key changed five times in a row"
        raise RuntimeError(msg)

    def key_for(self, child_id: UUID, *, create: bool) -> AESGCM:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(child_id)
            if cached is not None and (self._cache_seconds is None or cached[1] > now):
                self._cache.move_to_end(child_id)
                return cached[0]
        stored = self._table.get(str(child_id))
        if stored is None and create:
            self._insert(child_id)
            stored = self._table.get(str(child_id))
        if stored is None:
            with self._lock:
                self._cache.pop(child_id, None)
            raise KeyShredded()
        aead = self._unwrap(child_id, stored)
        expires = now + self._cache_seconds if self._cache_seconds is not None else 0.0
        with self._lock:
            self._cache[child_id] = (aead, expires)
            self._cache.move_to_end(child_id)
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return aead

    def shred(self, child_id: UUID) -> None:
        """Delete the child's key: everything sealed under it becomes unreadable."""
        self._table.delete(str(child_id))
        with self._lock:
            self._cache.pop(child_id, None)

    def drop_cached(self, child_id: UUID) -> None:
        """Forget this process's copy of the child's key, so that the next use looks in
        the key store: after an erasure (possibly by another process), a new case of the
        child gets a new key, never the deleted one."""
        with self._lock:
            self._cache.pop(child_id, None)

    def close(self) -> None:
        """Close the connections of every thread that used the store."""
        self._table.close()

    def ping(self, timeout: float) -> None:
        """Raise unless the key store answers within `timeout` seconds (/ready)."""
        self._table.ping(timeout)


class Sealer:
    """Seals and opens the personal fields of one child's case (AES-256-GCM)."""

    def __init__(self, keys: ChildKeyStore) -> None:
        self._keys = keys

    def seal(self, child_id: UUID, text: str) -> Sealed:
        aead = self._keys.key_for(child_id, create=True)
        nonce = os.urandom(NONCE_BYTES)
        return Sealed(SEAL_FORMAT + nonce + aead.encrypt(nonce, text.encode(), child_id.bytes))

    def seal_optional(self, child_id: UUID, text: str | None) -> Sealed | None:
        return None if text is None else self.seal(child_id, text)

    def open(self, child_id: UUID, sealed: bytes | None) -> str | None:
        """The plaintext, or None when there is none; raises KeyShredded after deletion."""
        if sealed is None:
            return None
        if sealed[:1] != SEAL_FORMAT:
            msg = "unknown sealed-field format"
            raise ValueError(msg)
        aead = self._keys.key_for(child_id, create=False)
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        try:
            return aead.decrypt(nonce, body, child_id.bytes).decode()
        except InvalidTag as exc:
            msg = "a sealed field failed its integrity check"
            raise ValueError(msg) from exc
