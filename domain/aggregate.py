"""A small base for event-sourced aggregates whose events are msgspec Structs.

eventsourcing 9.5 stores and loads any object with `originator_id` and
`originator_version`; its `Repository` rebuilds an aggregate with a projector
function. This module gives the BTI aggregates exactly that and nothing more:

* `DomainEvent`, the msgspec base of every event, with a `schema_version` and
  upcasters for reading events stored in an older shape (see `docs/architecture.md`);
* `Aggregate`, which records events it triggers, applies them through `_on_<EventName>`
  methods and rebuilds itself from history or from a snapshot;
* `Aggregate.project`, the projector function the application hands to the repository.

Time always comes in as an argument: nothing here reads the clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, ClassVar, Self
from uuid import UUID

import msgspec


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every stored event.

    `schema_version` is the shape a subclass has now. When a field is added, renamed
    or changed, raise it by one and add a static method `upcast_vN_vN1(state: dict)`
    that turns a decoded event of version N into version N+1 (in place).
    """

    originator_id: UUID
    originator_version: int
    timestamp: datetime

    schema_version: ClassVar[int] = 1
    registry: ClassVar[dict[str, type[DomainEvent]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__name__
        known = DomainEvent.registry.get(name)
        if known is not None and (known.__module__, known.__qualname__) != (
            cls.__module__,
            cls.__qualname__,
        ):
            msg = f"two event classes are called {name!r}; event names must be unique"
            raise TypeError(msg)
        DomainEvent.registry[name] = cls

    @classmethod
    def upcast(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Bring the decoded state of a stored event up to `schema_version`."""
        for version in range(from_version, cls.schema_version):
            upcaster = getattr(cls, f"upcast_v{version}_v{version + 1}", None)
            if upcaster is None:
                msg = f"{cls.__name__} has no upcaster from version {version}"
                raise TypeError(msg)
            upcaster(state)
        return state


class Snapshot(DomainEvent, frozen=True, kw_only=True):
    """Base of snapshot events: the whole state of an aggregate at one version."""

    @classmethod
    def take(cls, aggregate: Aggregate) -> Snapshot:
        return cls(
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=aggregate.modified_on,
            state=copy.deepcopy(aggregate.state),  # type: ignore[call-arg]
        )


class Aggregate:
    """An aggregate rebuilt from its events.

    Subclasses name their first event in `created_by`, hold their state in a
    msgspec Struct (so a snapshot is just that Struct) and implement
    `_on_<EventName>(event)` for every event they apply.
    """

    created_by: ClassVar[type[DomainEvent]]
    Snapshot: ClassVar[type[Snapshot]]
    state: Any

    def __init__(self, id: UUID) -> None:  # noqa: A002 - eventsourcing's name
        self.id = id
        self.version = 0
        self.modified_on: datetime | None = None
        self._new_events: list[DomainEvent] = []

    # Recording -------------------------------------------------------------------

    def _trigger(self, event_class: type[DomainEvent], at: datetime, **fields: Any) -> None:
        event = event_class(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=at,
            **fields,
        )
        self._apply(event)
        self._new_events.append(event)

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the new events to be saved (eventsourcing's protocol)."""
        events, self._new_events = self._new_events, []
        return events

    @property
    def pending_events(self) -> list[DomainEvent]:
        return list(self._new_events)

    # Applying --------------------------------------------------------------------

    def _apply(self, event: DomainEvent) -> None:
        if event.originator_version != self.version + 1:
            msg = (
                f"event version {event.originator_version} does not follow "
                f"aggregate version {self.version}"
            )
            raise ValueError(msg)
        handler: Callable[[DomainEvent], None] = getattr(self, f"_on_{type(event).__name__}")
        handler(event)
        self.version = event.originator_version
        self.modified_on = event.timestamp

    @classmethod
    def _from_snapshot(cls, snapshot: Snapshot) -> Self:
        aggregate = cls(snapshot.originator_id)
        aggregate.state = copy.deepcopy(snapshot.state)  # type: ignore[attr-defined]
        aggregate.version = snapshot.originator_version
        aggregate.modified_on = snapshot.timestamp
        return aggregate

    @classmethod
    def replay(cls, events: Iterable[DomainEvent], aggregate: Self | None = None) -> Self | None:
        """Rebuild from a snapshot and/or events, continuing from `aggregate` if given."""
        for event in events:
            if isinstance(event, Snapshot):
                aggregate = cls._from_snapshot(event)
                continue
            if aggregate is None:
                if not isinstance(event, cls.created_by):
                    msg = f"{cls.__name__} history must start with {cls.created_by.__name__}"
                    raise ValueError(msg)
                aggregate = cls(event.originator_id)
            aggregate._apply(event)
        return aggregate

    @classmethod
    def project(cls, aggregate: Self | None, events: Iterable[DomainEvent]) -> Self | None:
        """Projector function for eventsourcing's repository and snapshotting."""
        return cls.replay(events, aggregate)
