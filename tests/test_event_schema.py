"""Evolving an event: one stored in an old shape is read in the new one.

The recipe (docs/architecture.md, "Evolving an event"): raise the class's
`schema_version`, and add `upcast_vN_vN1(state)` that rewrites a decoded dict of
version N into version N+1. Old events stay as they were stored; they are upcast
every time they are read, and then decoded as strictly as new ones.
"""

from __future__ import annotations

import zlib
from typing import Any, ClassVar
from uuid import uuid4

import msgspec
import pytest
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from domain.aggregate import DomainEvent
from stafettlogg.application import Stafettlogg
from stafettlogg.mapper import decode_event, encode_event, topic_of
from tests.conftest import T0


class FamilyMeetingNoted(DomainEvent, frozen=True, kw_only=True):
    """Version 1 had `participants` (a list of service ids) and no `online`.
    Version 2 calls them `services` and records whether the meeting was online."""

    schema_version: ClassVar[int] = 2
    services: tuple[str, ...]
    online: bool

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["services"] = state.pop("participants")
        state["online"] = False


def v1_bytes(**fields: Any) -> bytes:
    return msgspec.json.encode(fields)


def test_an_event_stored_in_version_1_is_read_in_version_2(app: Stafettlogg):
    originator = uuid4()
    old_state = v1_bytes(
        originator_id=str(originator),
        originator_version=1,
        timestamp=T0.isoformat(),
        participants=["ppt-lister", "hauge-skole"],
    )
    # Stored exactly as version-1 code stored it: compressed, then encrypted.
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=originator,
                originator_version=1,
                topic="FamilyMeetingNoted@1",
                state=app.mapper.cipher.encrypt(zlib.compress(old_state)),
            )
        ]
    )

    (event,) = app.events.get(originator)

    assert isinstance(event, FamilyMeetingNoted)
    assert event.services == ("ppt-lister", "hauge-skole")
    assert event.online is False
    assert event.timestamp == T0


def test_a_new_event_is_stored_in_the_current_version():
    event = FamilyMeetingNoted(
        originator_id=uuid4(), originator_version=1, timestamp=T0,
        services=("bup",), online=True,
    )
    assert topic_of(FamilyMeetingNoted) == "FamilyMeetingNoted@2"
    assert decode_event("FamilyMeetingNoted@2", encode_event(event)) == event


def test_an_upcast_event_is_still_checked_strictly():
    with pytest.raises(msgspec.ValidationError, match="services"):
        decode_event(
            "FamilyMeetingNoted@1",
            v1_bytes(
                originator_id=str(uuid4()), originator_version=1,
                timestamp=T0.isoformat(), participants="not a list",
            ),
        )


def test_an_event_from_newer_code_is_refused_rather_than_misread():
    with pytest.raises(MapperDeserialisationError, match="newer"):
        decode_event("FamilyMeetingNoted@3", b"{}")
