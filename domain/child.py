"""The child: the rule that a child has at most one open case, and when the child's
data may be erased (every case closed; docs/domain.md, "Erasure").

The child aggregate's id is derived from a keyed blind index of the child's
identity (never the identity itself), so that two cases for one child meet on the
same aggregate and the second is refused, even when two workers open them at once.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from domain.aggregate import Aggregate, Snapshot
from domain.errors import CaseStillOpen, ErasureSettling, OpenCaseExists
from domain.events import ChildCaseEnded, ChildCaseStarted, ChildErased, ChildRegistered
from domain.retention import ERASURE_SETTLES


class ChildState(msgspec.Struct):
    open_case: UUID | None = None
    cases: list[UUID] = []
    # When the child's data key was last destroyed.
    erased_at: datetime | None = None


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
        if self.state.erased_at is not None and at < self.state.erased_at + ERASURE_SETTLES:
            raise ErasureSettling()
        self._trigger(ChildCaseStarted, at, case_id=case_id)

    def erase(self, reason: str, at: datetime) -> list[UUID]:
        """Destroying the child's key erases the data of every case of the child, so only
        when none of them is open. Returns those cases."""
        if self.state.open_case is not None:
            raise CaseStillOpen(
                "Barnet har en åpen sak: opplysningene kan ikke slettes før alle barnets "
                "saker er avsluttet.")
        cases = list(self.state.cases)
        self._trigger(ChildErased, at, cases=tuple(cases), reason=reason)
        return cases

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

    def _on_ChildErased(self, event: ChildErased) -> None:
        self.state.erased_at = event.timestamp
