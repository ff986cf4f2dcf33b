"""Erasure of a child's data: on request (an admin's page, `stafettlogg erase`) and on
schedule, when the municipality's archive period after closure has run out (the
nightly sweep, `stafettlogg/sweep.py`). docs/operations.md, "Retention and erasure".

Erasure is crypto-shredding: the child's data key is deleted from the key store (and
from every cache), and every field sealed under it, in every event, snapshot and copy
of the store, can no longer be read. What is recorded first, in one transaction:
`ChildErased` on the child and, on each of the child's cases (the key is the child's,
so all of them), `ChildDataErased` with the reason and no personal data, and a line in
each case's access log. The domain decides whether it is allowed (`Child.erase`,
`Case.erase_child_data`: never while a case of the child is open).

A mixin of `Stafettlogg` (`stafettlogg/application.py`); the queries over the views
are `projections/case_queries.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError

from domain.calendar import day_of
from domain import errors
from domain.access import may_erase_child_data
from domain.aggregate import Aggregate
from domain.case import SYSTEM, Case
from domain.child import Child
from domain.retention import archive_period_ends, check_erasure_note, child_erasure_due
from domain.values import Actor
from projections.case_queries import closed_unerased_cases, erased_since
from stafettlogg.keys import KeyShredded

if TYPE_CHECKING:
    from domain.access_log import AccessLog
    from stafettlogg.keys import ChildKeyStore, Sealer
    from stafettlogg.read_models import ReadModels
    from stafettlogg.settings import Settings
    from stafettlogg.unit_of_work import UnitOfWork

log = logging.getLogger("stafettlogg.erasure")

# The nightly sweep deletes again the key of a child erased this recently, in case the
# process that recorded the erasure stopped before it deleted the key.
REPAIR_WINDOW = timedelta(days=7)


class ErasurePreview(msgspec.Struct, frozen=True, kw_only=True):
    """What an admin sees before erasing: nothing personal, only whether and what."""

    case: UUID
    municipality: str
    status: str  # open, closed
    opened_on: date
    closed_on: date | None
    erased_on: date | None
    # The child's cases the erasure covers (the key is the child's), and how many are open.
    cases: int
    open_cases: int
    archive_years: int | None
    archive_ends: date | None

    @property
    def may_erase(self) -> bool:
        return self.open_cases == 0 and self.erased_on is None


class ErasureCommands:
    """Erasing a child's data, on request and on schedule."""

    if TYPE_CHECKING:
        settings: Settings
        uow: UnitOfWork
        sealer: Sealer
        key_store: ChildKeyStore
        read_models: ReadModels
        events: Any
        clock: Callable[[], datetime]

        def get_case(self, case_id: UUID) -> Case: ...
        def _now(self, at: datetime | None) -> datetime: ...
        def _access_log(self, case_id: UUID, at: datetime) -> AccessLog: ...

    # What an admin sees first ------------------------------------------------------------

    def erasure_preview(self, actor: Actor, case_id: UUID,
                        reason: str | None = None) -> ErasurePreview:
        """Whether the case's child may be erased, and what it covers (admins only).
        With `reason`, it is checked as the erasure would check it (`invalid-value`
        naming `reason`), so that the confirmation is not asked for in vain."""
        self._require_eraser(actor)
        case = self.get_case(case_id)
        cases = self._cases_of(self._child(case))
        if reason is not None:
            check_erasure_note(reason, self._personal_values(cases))
        years = self.settings.archive_years_for(case.state.municipality)
        closed_on = day_of(case.state.closed_at) if case.state.closed_at else None
        return ErasurePreview(
            case=case.id, municipality=case.state.municipality, status=case.state.status,
            opened_on=day_of(case.state.opened_at), closed_on=closed_on,
            erased_on=day_of(case.state.erased_at) if case.state.erased_at else None,
            cases=len(cases), open_cases=sum(1 for c in cases if c.is_open),
            archive_years=years,
            archive_ends=archive_period_ends(closed_on, years) if closed_on and years else None,
        )

    # On request ----------------------------------------------------------------------

    def erase_child_data(self, actor: Actor, case_id: UUID, *, reason: str,
                         at: datetime | None = None) -> list[UUID]:
        """Erase the data of the case's child on request (admins; the CLI as an admin).
        `reason` is kept, checked to hold none of the personal data it erases. Refused
        while a case of the child is open. Returns the cases erased."""
        self._require_eraser(actor)
        case = self.get_case(case_id)
        if case.is_open:
            raise errors.CaseStillOpen()
        return self._erase(actor, case.state.child_id, "request", self._now(at), note=reason)

    # On schedule ---------------------------------------------------------------------

    def erase_due_children(self, at: datetime | None = None) -> int:
        """Erase every child whose cases' archive periods have all run out; the number
        of children erased. Without any archive period set, nothing is looked at."""
        now = self._now(at)
        self._repair_recent(now)
        if not self.settings.archive_years:
            return 0
        today = day_of(now)
        wildcard = "*" in self.settings.archive_years
        places = None if wildcard else set(self.settings.archive_years)
        seen: set[UUID] = set()
        erased = 0
        for row in closed_unerased_cases(self.read_models.views, places):
            years = self.settings.archive_years_for(row.municipality)
            if years is None or not child_erasure_due([(day_of(row.closed_at), years)], today):
                continue
            child_id = self.get_case(row.case).state.child_id
            if child_id in seen:
                continue
            seen.add(child_id)
            cases = self._cases_of(self.uow.load(Child, child_id))
            periods = [(day_of(c.state.closed_at) if c.state.closed_at else None,
                        self.settings.archive_years_for(c.state.municipality)) for c in cases]
            if not child_erasure_due(periods, today):
                continue  # another case of the child is open, or its period runs on
            try:
                self._erase(SYSTEM, child_id, "archive-period-ended", now)
            except (errors.CaseStillOpen, errors.AlreadyErased):
                continue  # someone opened a case meanwhile, or erased it first
            erased += 1
        return erased

    def _repair_recent(self, now: datetime) -> None:
        """Delete again the keys of children erased lately whose cases are all erased
        (a process that stopped between recording an erasure and deleting the key)."""
        for case_id in erased_since(self.read_models.views, now - REPAIR_WINDOW):
            child = self._child(self.get_case(case_id))
            cases = self._cases_of(child)
            if child.open_case is None and all(c.is_erased for c in cases):
                self.key_store.shred(child.id)

    # The one way ---------------------------------------------------------------------

    @staticmethod
    def _require_eraser(actor: Actor) -> None:
        if not may_erase_child_data(actor):
            raise errors.Forbidden("Bare en administrator kan slette barnets opplysninger.")

    def _child(self, case: Case) -> Child:
        try:
            return self.uow.load(Child, case.state.child_id)
        except AggregateNotFoundError:
            raise errors.NotFound("Saken finnes ikke.") from None

    def _cases_of(self, child: Child) -> list[Case]:
        return [self.get_case(i) for i in child.state.cases]

    def _personal_values(self, cases: list[Case]) -> list[str | None]:
        """The personal data an erasure's note must not hold, opened while it still can
        be: the child's name, birth date and identity number, the guardians' names."""
        found: list[str | None] = []
        for case in cases:
            if case.is_erased:
                continue
            opened = next(iter(self.events.get(case.id, lte=1)))
            sealed = [opened.child_name, opened.birth_date, opened.national_id,
                      *(g.name for g in case.state.guardians.values() if g.name)]
            for value in sealed:
                try:
                    found.append(self.sealer.open(case.state.child_id, value))
                except KeyShredded:
                    continue
        return found

    def _erase(self, actor: Actor, child_id: UUID, reason: str, now: datetime, *,
               note: str | None = None) -> list[UUID]:
        """Record the erasure on the child and on every case of the child, then delete
        the child's key. Refused (nothing recorded, nothing deleted) while a case of the
        child is open, or when it is erased already."""

        def attempt() -> tuple[list[UUID], list[Aggregate]]:
            child = self.uow.load(Child, child_id)
            cases = self._cases_of(child)
            for case in cases:  # the open one says so first
                if case.is_open:
                    raise errors.CaseStillOpen(
                        None if len(cases) == 1 else
                        "Barnet har en åpen sak: opplysningene kan ikke slettes før alle "
                        "barnets saker er avsluttet.")
            pending = [c for c in cases if not c.is_erased]
            if not pending:
                raise errors.AlreadyErased()
            kept = None if note is None else check_erasure_note(note, self._personal_values(pending))
            child.erase(reason, now)
            changed: list[Aggregate] = [child]
            for case in pending:
                case.erase_child_data(
                    actor, reason=reason, at=now, note=kept,
                    archive_years=(self.settings.archive_years_for(case.state.municipality)
                                   if reason == "archive-period-ended" else None))
                access = self._access_log(case.id, now)
                access.record(actor, "erase-child-data", now)
                changed += [case, access]
            return [c.id for c in pending], changed

        # Under the child's lock, as opening a case for the child is: no case of the child
        # starts here between the record and the deletion.
        with self.uow.lock(child_id):
            erased = self.uow.retrying(child_id, attempt)
            self.key_store.shred(child_id)
        log.info("erasure: the data key of a child of %d case(s) deleted (%s)",
                 len(erased), reason)
        return erased
