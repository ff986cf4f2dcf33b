"""The msgspec mapper: domain events (msgspec Structs) to stored events and back.

eventsourcing 9.5's default mapper turns an event's `__dict__` into a dict for a
transcoder; msgspec Structs have no `__dict__` and deserve typed, strict decoding.
This mapper therefore encodes a Struct with msgspec and decodes it straight into its
class, which checks every field's type and every `Literal` vocabulary.

The stored topic is `EventName@schema_version`, not a module path, so that code can
move without rewriting history. An event stored in an older shape is decoded to a
plain dict, brought up to date by its class's `upcast_vN_vN1` methods, and then
decoded strictly like a new one (see `docs/architecture.md`, "Evolving an event").

After encoding, the bytes are compressed and then encrypted with eventsourcing's
`cryptography` cipher (AES-GCM), exactly as the default mapper would.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import msgspec
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent

from domain.aggregate import DomainEvent

_encoder = msgspec.json.Encoder()


@lru_cache(maxsize=None)
def _decoder(cls: type[DomainEvent]) -> msgspec.json.Decoder:
    return msgspec.json.Decoder(cls)


def topic_of(cls: type[DomainEvent]) -> str:
    return f"{cls.__name__}@{cls.schema_version}"


def parse_topic(topic: str) -> tuple[type[DomainEvent], int]:
    name, _, version = topic.partition("@")
    try:
        cls = DomainEvent.registry[name]
    except KeyError:
        msg = f"unknown event type {name!r}"
        raise MapperDeserialisationError(msg) from None
    return cls, int(version or 1)


def encode_event(event: DomainEvent) -> bytes:
    return _encoder.encode(event)


def decode_event(topic: str, data: bytes) -> DomainEvent:
    """Decode event bytes stored under `topic`, upcasting an older shape first."""
    cls, stored_version = parse_topic(topic)
    if stored_version == cls.schema_version:
        return _decoder(cls).decode(data)
    if stored_version > cls.schema_version:
        msg = f"{cls.__name__} was stored in version {stored_version}, newer than this code"
        raise MapperDeserialisationError(msg)
    state: dict[str, Any] = msgspec.json.decode(data)
    cls.upcast(state, stored_version)
    return _decoder(cls).decode(_encoder.encode(state))


class MsgspecMapper(Mapper):
    """Mapper for msgspec Struct events, with eventsourcing's cipher and compressor."""

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = encode_event(domain_event)
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=topic_of(type(domain_event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        state = stored_event.state
        try:
            if self.cipher:
                state = self.cipher.decrypt(state)
            if self.compressor:
                state = self.compressor.decompress(state)
            return decode_event(stored_event.topic, state)
        except MapperDeserialisationError:
            raise
        except Exception as exc:
            msg = (
                f"could not read stored event {stored_event.topic} "
                f"version {stored_event.originator_version}: {type(exc).__name__}"
            )
            raise MapperDeserialisationError(msg) from exc
