"""The one unit of work: how every command loads, changes and saves aggregates.

A command is an *attempt*: it loads what it needs, lets the domain act, and says
what it changed. `UnitOfWork.retrying` runs it under the lock of the aggregate it
writes (writers in one process take turns, so races are left only between
processes) and saves everything it changed in one transaction. When another writer
got there first, the store refuses the whole save, and the attempt runs again on
the new state, its rules checked again, with a growing random pause between tries,
for at most `retry_seconds`; then it gives up with `ConcurrentModification`.
Nothing half-done is ever stored.

A save whose commit reached the store but whose answer was lost (the connection
broke) is retried by the store itself and then meets its own events: those are
recognised as saved, once, and not taken for another writer's.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from domain import errors
from domain.aggregate import Aggregate

A = TypeVar("A", bound=Aggregate)
T = TypeVar("T")

# A command that lost a race is run again on the new state for this long.
RETRY_SECONDS = 10.0
# Writers of one aggregate in one process take turns (striped locks).
LOCK_STRIPES = 64

# What an attempt gives back: its answer, and the aggregates it changed (to be
# saved together; none when it only found a remembered answer).
Attempt = tuple[T, Sequence[Aggregate]]


class UnitOfWork:
    """Loading, saving and retrying for one event-sourced application."""

    def __init__(
        self,
        app: Application[Any],
        *,
        retry_seconds: float = RETRY_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.retry_seconds = retry_seconds
        self._monotonic = monotonic
        self._sleep = sleep
        self._locks = [threading.RLock() for _ in range(LOCK_STRIPES)]

    # Loading -------------------------------------------------------------------------

    def load(self, cls: type[A], aggregate_id: Any) -> A:
        """The aggregate as stored; `AggregateNotFoundError` if there is none of `cls`."""
        aggregate = self.app.repository.get(aggregate_id, projector_func=cls.project)
        if not isinstance(aggregate, cls):
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def load_or_start(self, cls: type[A], aggregate_id: Any, start: Callable[[], A]) -> A:
        """The stored aggregate, or a new one from `start` when there is none yet."""
        try:
            return self.load(cls, aggregate_id)
        except AggregateNotFoundError:
            return start()

    # Saving --------------------------------------------------------------------------

    def save(self, *aggregates: Aggregate) -> None:
        """Save every pending event of the aggregates in one transaction, or none.

        Another writer's events at the same versions: `ConcurrentModification`."""
        pending = [e for a in aggregates for e in a.pending_events]
        try:
            self.app.save(*aggregates)
        except IntegrityError:
            if pending and self.stored_already(pending):
                # The store committed our events, the connection broke before it said
                # so, and the store's own retry found them there: saved, once.
                return
            raise errors.ConcurrentModification() from None

    def stored_already(self, events: Sequence[Any]) -> bool:
        """Whether these very events are what the store holds at their versions."""
        recorder, mapper = self.app.recorder, self.app.mapper
        for event in events:
            stored = list(recorder.select_events(
                event.originator_id,
                gt=event.originator_version - 1,
                lte=event.originator_version,
            ))
            if len(stored) != 1 or mapper.to_domain_event(stored[0]) != event:
                return False
        return True

    # Taking turns and trying again ---------------------------------------------------

    def lock(self, key: Any) -> threading.RLock:
        """The lock writers of this aggregate (a UUID) take turns on, in this process."""
        return self._locks[key.int % LOCK_STRIPES]

    def attempts(self) -> Iterator[int]:
        """Tries of a command that may lose a race: until it wins or time runs out."""
        deadline = self._monotonic() + self.retry_seconds
        pause = 0.001
        attempt = 0
        while True:
            yield attempt
            attempt += 1
            if self._monotonic() > deadline:
                raise errors.ConcurrentModification()
            self._sleep(random.uniform(0, pause))  # noqa: S311 - jitter, not secrecy
            pause = min(pause * 2, 0.05)

    def retrying(self, key: Any, attempt: Callable[[], Attempt[T]]) -> T:
        """Run `attempt` under `key`'s lock and save what it changed; again when it
        lost a race, until it wins or `retry_seconds` have passed.

        Domain errors raised by the attempt (a rule refused) end it at once."""
        with self.lock(key):
            for _ in self.attempts():
                answer, changed = attempt()
                if changed:
                    try:
                        self.save(*changed)
                    except errors.ConcurrentModification:
                        continue
                return answer
        raise AssertionError("unreachable: attempts() raises when time runs out")  # pragma: no cover
