"""Rotating the keys of the key file: `stafettlogg keys rotate master|store|index|token`.

What each rotation does, what must be restarted and what an old key still opens is
told in docs/operations.md ("Keys and their rotation"). In short:

* **master**: every child key is wrapped again under a new master key, one
  transaction per batch. The new key is in the key file (as `next_master_key`)
  before the first child key is wrapped under it, and the key store records the
  rotation (`child_key_master`), so an interrupted rotation is finished by running
  the command again. Afterwards the old master key opens nothing, and a key file
  with it is refused by the key store.
* **store**: new events are encrypted under a new event-store key; the old key
  stays in the key file's ring (`old_store_cipher_keys`) to open the events stored
  before (stored events are never rewritten).
* **index**: a new blind-index key for values indexed from now on; the old keys
  stay (`old_index_keys`), because what was indexed with them (the children's ids,
  the logins, the guardians, the survey codes) cannot be indexed again without the
  clear values, most of which are never stored.
* **token**: a new token secret; tokens signed with the old one are refused at
  once, or, with a grace period, until it ends.

Every rotation writes the new key file atomically (a new file, fsync, rename) and
names the one it replaces, so that a PostgreSQL database's `key_check` moves on to
the new file (and refuses the old one) when the next process starts with it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from stafettlogg.keys import ChildKeyStore, KeyFile, KeyFileError, master_verifier
from stafettlogg.settings import Settings

BATCH_SIZE = 500


class RotationError(Exception):
    """A rotation that cannot go on; the message says why, never a key."""


@dataclass(frozen=True)
class Rotation:
    """What a rotation did, for the command's one line on stdout."""

    what: str
    rewrapped: int = 0
    kept_old_file: Path | None = None


def _open(settings: Settings):  # type: ignore[no-untyped-def]
    from stafettlogg.application import Stafettlogg

    return Stafettlogg(settings)


def _settle(settings: Settings) -> None:
    """Open the store once with the new key file: on PostgreSQL this moves the
    database's key check on to it (the old file is refused from then on)."""
    _open(settings).close()


def rotate_master(
    settings: Settings,
    *,
    keep_old: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    stop_after_batches: int | None = None,
) -> Rotation:
    """Wrap every child key again under a new master key (or the one an interrupted
    rotation left in the key file). `stop_after_batches` is for the tests of an
    interrupted rotation."""
    path = settings.key_file
    keys = KeyFile.load(path)
    kept = None
    if keys.next_master_key is None:
        # The new key is on disk before anything is wrapped under it (the file as it
        # was kept aside first, if asked).
        keys = dataclasses.replace(keys, next_master_key=AESGCM.generate_key(256))
        kept = keys.replace_file(path, keep_old=keep_old)
    assert keys.next_master_key is not None
    old, new = keys.master_key, keys.next_master_key
    old_name, new_name = master_verifier(old), master_verifier(new)
    app = _open(settings)
    rewrapped = 0
    try:
        table = app.key_store.table
        state = table.master_state()
        if state != (new_name, None):
            if not table.begin_master_rotation(old_name, new_name):
                msg = "barnas nøkkellager er ikke pakket inn med hovednøkkelen i nøkkelfilen"
                raise RotationError(msg)
            # From here on new child keys are wrapped under the new key; now the
            # ones before, batch by batch.
            old_aead, new_aead = AESGCM(old), AESGCM(new)
            after, batches = "", 0
            while True:
                rows = table.keys_after(after, batch_size)
                if not rows:
                    break
                changes = []
                for child_id, wrapped in rows:
                    try:
                        key = ChildKeyStore.unwrap_with([old_aead], UUID(child_id), wrapped)
                    except InvalidTag:
                        try:  # done before an interruption
                            ChildKeyStore.unwrap_with([new_aead], UUID(child_id), wrapped)
                        except InvalidTag:
                            msg = (
                                f"en barnenøkkel ({child_id}) kan ikke åpnes med noen av"
                                " hovednøklene; rotasjonen stopper, ingenting er tapt"
                            )
                            raise RotationError(msg) from None
                        continue
                    new_wrapped = ChildKeyStore.wrap_with(new_aead, UUID(child_id), key)
                    changes.append((child_id, wrapped, new_wrapped))
                rewrapped += table.rewrap(changes) if changes else 0
                after = rows[-1][0]
                batches += 1
                if progress is not None:
                    progress(rewrapped)
                if stop_after_batches is not None and batches >= stop_after_batches:
                    return Rotation("master", rewrapped)
            if not table.finish_master_rotation(old_name, new_name):
                msg = "barnas nøkkellager ble endret under rotasjonen; kjør kommandoen igjen"
                raise RotationError(msg)
    finally:
        app.close()
    final = dataclasses.replace(
        keys, master_key=new, next_master_key=None, replaces=keys.fingerprint
    )
    kept = final.replace_file(path, keep_old=keep_old and kept is None) or kept
    _settle(settings)
    return Rotation("master", rewrapped, kept)


def _replace(settings: Settings, keep_old: bool, change: Callable[[KeyFile], KeyFile]) -> Path | None:
    # Open first: finishes the key check of an earlier rotation, and refuses a key
    # file that is not the store's before anything is changed.
    _settle(settings)
    keys = KeyFile.load(settings.key_file)
    if keys.next_master_key is not None:
        msg = "en rotasjon av hovednøkkelen er ikke fullført; kjør keys rotate master først"
        raise RotationError(msg)
    kept = dataclasses.replace(change(keys), replaces=keys.fingerprint).replace_file(
        settings.key_file, keep_old=keep_old
    )
    _settle(settings)
    return kept


def rotate_store(settings: Settings, *, keep_old: bool = False) -> Rotation:
    """A new event-store key for new events; the old ones stay to open older events."""

    def change(keys: KeyFile) -> KeyFile:
        return dataclasses.replace(
            keys,
            store_cipher_key=AESGCM.generate_key(256),
            old_store_cipher_keys=(keys.store_cipher_key, *keys.old_store_cipher_keys),
        )

    return Rotation("store", kept_old_file=_replace(settings, keep_old, change))


def rotate_index(settings: Settings, *, keep_old: bool = False) -> Rotation:
    """A new blind-index key for values indexed from now on; the old ones stay for
    looking up what was indexed with them."""

    def change(keys: KeyFile) -> KeyFile:
        return dataclasses.replace(
            keys, index_key=os.urandom(32), old_index_keys=(keys.index_key, *keys.old_index_keys)
        )

    return Rotation("index", kept_old_file=_replace(settings, keep_old, change))


def rotate_token(
    settings: Settings, *, grace: timedelta = timedelta(0), keep_old: bool = False,
    now: datetime | None = None,
) -> Rotation:
    """A new token secret. Tokens signed with the old one are refused at once, or
    accepted until `grace` has passed."""
    moment = now or datetime.now(UTC)
    if grace < timedelta(0):
        msg = "grace må være null eller mer"
        raise ValueError(msg)

    def change(keys: KeyFile) -> KeyFile:
        if grace:
            return dataclasses.replace(
                keys, token_secret=os.urandom(32), old_token_secret=keys.token_secret,
                old_token_secret_until=moment + grace,
            )
        return dataclasses.replace(
            keys, token_secret=os.urandom(32), old_token_secret=None, old_token_secret_until=None
        )

    return Rotation("token", kept_old_file=_replace(settings, keep_old, change))


__all__ = [
    "KeyFileError", "Rotation", "RotationError", "rotate_index", "rotate_master",
    "rotate_store", "rotate_token",
]
