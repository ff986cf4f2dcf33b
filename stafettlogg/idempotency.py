"""Remembered answers for `Idempotency-Key`: a repeated request records nothing new.

A record is an aggregate saved in the same transaction as the command it answers,
so a command and its record are stored together or not at all, and survive restarts.
It holds no answer body (that could carry personal data): only a fingerprint of the
request and where the answer can be read again: the case (or service) and the
version it had right after the command. Replaying rebuilds the first answer from
that version.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

import msgspec

from domain.aggregate import Aggregate, DomainEvent, Snapshot

NAMESPACE = UUID("3c0e3b55-0f7e-4d0b-8d2b-6a3c7f5e9a41")


@dataclass(frozen=True)
class Idempotency:
    """What the client sent: its key, and a fingerprint of the request it sent it with."""

    key: str
    fingerprint: str

    @classmethod
    def of(cls, key: str, method: str, path: str, body: bytes) -> Idempotency:
        digest = hashlib.sha256(b"\x00".join([method.encode(), path.encode(), body])).hexdigest()
        return cls(key=key, fingerprint=digest)


def record_id(user: str, key: str) -> UUID:
    """Keys are per user: two users may pick the same key without meeting."""
    return uuid5(NAMESPACE, f"{user}\x00{key}")


class RequestCompleted(DomainEvent, frozen=True, kw_only=True):
    fingerprint: str
    target: str
    version: int
    result: str | None


class RecordState(msgspec.Struct):
    fingerprint: str
    target: str
    version: int
    result: str | None


class RecordSnapshot(Snapshot, frozen=True, kw_only=True):
    state: RecordState


class IdempotencyRecord(Aggregate):
    created_by = RequestCompleted
    Snapshot = RecordSnapshot
    state: RecordState

    @classmethod
    def create(
        cls,
        user: str,
        idempotency: Idempotency,
        *,
        target: str,
        version: int,
        result: str | None,
        at: datetime,
    ) -> IdempotencyRecord:
        record = cls(record_id(user, idempotency.key))
        record._trigger(
            RequestCompleted,
            at,
            fingerprint=idempotency.fingerprint,
            target=target,
            version=version,
            result=result,
        )
        return record

    def _on_RequestCompleted(self, event: RequestCompleted) -> None:
        self.state = RecordState(
            fingerprint=event.fingerprint,
            target=event.target,
            version=event.version,
            result=event.result,
        )
