"""The child: the rule that a child has at most one open case.

The child aggregate's id is derived from a keyed blind index of the child's
identity (never the identity itself), so that two cases for one child meet on the
same aggregate and the second is refused, even when two workers open them at once.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from domain.aggregate import Aggregate, Snapshot
from domain.errors import OpenCaseExists
from domain.events import ChildCaseEnded, ChildCaseStarted, ChildRegistered


class ChildState(msgspec.Struct):
    open_case: UUID | None = None
    cases: list[UUID] = []


class ChildSnapshot(Snapshot, frozen=True, kw_only=True):
    state: ChildState


class Child(Aggregate):
    created_by = ChildRegistered
    Snapshot = ChildSnapshot

    def __init__(self, id: UUID) -> None:  # noqa: A002
        super().__init__(id)
        self.state = ChildState()

    @classmethod
    def register(cls, child_id: UUID, at: datetime) -> Child:
        child = cls(child_id)
        child._trigger(ChildRegistered, at)
        return child

    @property
    def open_case(self) -> UUID | None:
        return self.state.open_case

    def start_case(self, case_id: UUID, at: datetime) -> None:
        """A child has at most one open case."""
        if self.state.open_case is not None:
            raise OpenCaseExists()
        self._trigger(ChildCaseStarted, at, case_id=case_id)

    def end_case(self, case_id: UUID, at: datetime) -> None:
        if self.state.open_case == case_id:
            self._trigger(ChildCaseEnded, at, case_id=case_id)

    def _on_ChildRegistered(self, event: ChildRegistered) -> None:
        pass

    def _on_ChildCaseStarted(self, event: ChildCaseStarted) -> None:
        self.state.open_case = event.case_id
        self.state.cases.append(event.case_id)

    def _on_ChildCaseEnded(self, event: ChildCaseEnded) -> None:
        self.state.open_case = None
