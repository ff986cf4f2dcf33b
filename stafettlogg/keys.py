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
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.values import Sealed

SEAL_FORMAT = b"\x01"  # version byte of the sealed-field format
NONCE_BYTES = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class KeyFileError(ValueError):
    """The key file cannot be used; the message names the file, never a key."""


@dataclass(frozen=True)
class KeyFile:
    """The installation's secrets. Keep the file out of git and out of backups of the events."""

    master_key: bytes
    store_cipher_key: bytes
    index_key: bytes
    token_secret: bytes

    @property
    def store_cipher_key_b64(self) -> str:
        return _b64(self.store_cipher_key)

    @property
    def fingerprint(self) -> str:
        """Names this key file without revealing any key (an HMAC under the master key)."""
        material = self.store_cipher_key + self.index_key
        return hmac.new(self.master_key, b"key-file\x00" + material, hashlib.sha256).hexdigest()

    @classmethod
    def generate(cls) -> KeyFile:
        return cls(
            master_key=AESGCM.generate_key(256),
            store_cipher_key=AESGCM.generate_key(256),
            index_key=os.urandom(32),
            token_secret=os.urandom(32),
        )

    @classmethod
    def load_or_create(cls, path: Path) -> KeyFile:
        """Read the key file, or write a new one with mode 0600 if there is none."""
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            keys = cls.generate()
            payload = json.dumps(
                {
                    "format": 1,
                    "master_key": _b64(keys.master_key),
                    "store_cipher_key": _b64(keys.store_cipher_key),
                    "index_key": _b64(keys.index_key),
                    "token_secret": _b64(keys.token_secret),
                },
                indent=2,
            ).encode()
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first: read theirs
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(payload)
                return keys
        try:
            data = json.loads(path.read_text())
            keys = cls(
                master_key=base64.b64decode(data["master_key"], validate=True),
                store_cipher_key=base64.b64decode(data["store_cipher_key"], validate=True),
                index_key=base64.b64decode(data["index_key"], validate=True),
                token_secret=base64.b64decode(data["token_secret"], validate=True),
            )
        except (ValueError, KeyError, TypeError) as exc:
            msg = f"nøkkelfilen {path} er skadet eller har feil format ({type(exc).__name__})"
            raise KeyFileError(msg) from None
        if len(keys.master_key) != 32 or len(keys.store_cipher_key) != 32:
            msg = f"nøkkelfilen {path} har nøkler med feil lengde"
            raise KeyFileError(msg)
        return keys


class BlindIndex:
    """Keyed hashes (HMAC-SHA256) for looking up a child, or a staff member by their
    login, without storing who it is."""

    def __init__(self, key: bytes) -> None:
        self._key = key

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


class KeyTable(Protocol):
    """Where the wrapped child keys are kept: a SQLite file or a PostgreSQL table."""

    def insert(self, child_id: str, wrapped: bytes) -> None:
        """Store the key unless the child has one already."""
        ...

    def get(self, child_id: str) -> bytes | None: ...

    def delete(self, child_id: str) -> None: ...

    def close(self) -> None: ...


class SqliteKeyTable:
    """The wrapped keys in their own SQLite file, one connection per thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._uri = path.startswith("file:")
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connect().execute(
            "CREATE TABLE IF NOT EXISTS child_keys ("
            " child_id TEXT PRIMARY KEY, wrapped BLOB NOT NULL)"
        )

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

    def insert(self, child_id: str, wrapped: bytes) -> None:
        self._connect().execute(
            "INSERT OR IGNORE INTO child_keys (child_id, wrapped) VALUES (?, ?)",
            (child_id, wrapped),
        )

    def get(self, child_id: str) -> bytes | None:
        row = self._connect().execute(
            "SELECT wrapped FROM child_keys WHERE child_id = ?", (child_id,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def delete(self, child_id: str) -> None:
        self._connect().execute("DELETE FROM child_keys WHERE child_id = ?", (child_id,))

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
    """

    def __init__(
        self,
        table: str | KeyTable,
        master_key: bytes,
        cache_size: int = 4096,
        cache_seconds: float | None = None,
    ) -> None:
        self._table: KeyTable = SqliteKeyTable(table) if isinstance(table, str) else table
        self._master = AESGCM(master_key)
        self._cache: OrderedDict[UUID, tuple[AESGCM, float]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()

    def _unwrap(self, child_id: UUID, wrapped: bytes) -> AESGCM:
        key = self._master.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], child_id.bytes)
        return AESGCM(key)

    def key_for(self, child_id: UUID, *, create: bool) -> AESGCM:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(child_id)
            if cached is not None and (self._cache_seconds is None or cached[1] > now):
                self._cache.move_to_end(child_id)
                return cached[0]
        if create:
            nonce = os.urandom(NONCE_BYTES)
            wrapped = nonce + self._master.encrypt(nonce, AESGCM.generate_key(256), child_id.bytes)
            self._table.insert(str(child_id), wrapped)
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
