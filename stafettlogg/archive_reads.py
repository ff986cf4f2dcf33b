"""What the application answers for the archive of closed cases: the record an
archive package is made of (`stafettlogg/archive/`), and the cases closed in a period.

The record is the case *as it was closed*, read from its events up to the closing
(`CaseClosed`), so the same case gives the same record whenever it is asked for: the
log's steps up to the closing, the consents as they stood that day, and the access
log up to and including the line of the closing. (Reads after the closing, such as
the downloads of the package, are in the case's access log, not in the package.)
Nothing is stored: the package is made again from the sealed events each time, so
crypto-shredding the child's key (`forget_child`) reaches it too.

Who may take it: `domain.access.may_take_archive` (the holder at closure and the
case's coordinator); each download is a line `download-archive` in the access log,
each export by the operator's command a line `archive-export`.

A mixin of `Stafettlogg` (`stafettlogg/application.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.calendar import day_of
from domain import errors
from domain import events as ev
from domain.access import may_take_archive
from domain.access_log import access_log_id
from domain.case import SYSTEM, Case
from domain.values import ENTRY_KINDS, Actor
from projections.case_log import case_log
from projections.case_queries import AccessLine, closed_between
from projections.periods import Period
from stafettlogg.views import (
    ArchiveConsent,
    ArchiveRecord,
    ChildDetails,
    LogEntryView,
    case_view,
)

if TYPE_CHECKING:
    from stafettlogg.read_models import ReadModels
    from stafettlogg.settings import Settings

# The access log's actions of the archive (web/pages/words.py says them in Norwegian).
DOWNLOAD_ACTION = "download-archive"
EXPORT_ACTION = "archive-export"
CLOSE_ACTION = "close-case"  # the access log's line of the closing (case_commands.py)


class ArchiveReads:
    """The archive queries of the application."""

    if TYPE_CHECKING:
        clock: Callable[[], datetime]
        settings: Settings
        read_models: ReadModels
        events: Any

        def _visible_case(self, actor: Actor, case_id: UUID, on: date) -> Case: ...
        def _log_read(self, actor: Actor, case_id: UUID, action: str, at: datetime) -> None: ...
        def _open(self, case: Case, sealed: bytes | None) -> str | None: ...
        def get_case(self, case_id: UUID) -> Case: ...
        def case_at(self, case_id: UUID, version: int) -> Case: ...

    def archive_record(self, actor: Actor, case_id: UUID) -> ArchiveRecord:
        """The record of a closed case for its archive package, for the holder at closure
        and the case's coordinator; the download is recorded in the access log first.

        404 for a case the reader may not see, 409 `case-not-closed` for an open one,
        403 for anyone else who sees it."""
        now = self.clock()
        case = self._visible_case(actor, case_id, day_of(now))
        if case.is_open:
            raise errors.ArchiveNotReady()
        if not may_take_archive(case, actor, day_of(now)):
            raise errors.Forbidden(
                "Arkivpakken kan bare lastes ned av den som hadde stafettpinnen da saken "
                "ble avsluttet, og av sakens koordinator.")
        self._log_read(actor, case_id, DOWNLOAD_ACTION, now)
        return self._archive_record(case_id)

    def export_archive_record(self, case_id: UUID) -> ArchiveRecord:
        """The record of a closed case for the operator's export (`stafettlogg archive
        export`), recorded in the access log as the system's `archive-export`."""
        case = self.get_case(case_id)
        if case.is_open:
            raise errors.ArchiveNotReady()
        self._log_read(SYSTEM, case_id, EXPORT_ACTION, self.clock())
        return self._archive_record(case_id)

    def closed_in(self, period: Period) -> list[UUID]:
        """The cases closed in a period (by the UTC date of the closing, as the
        statistics count it), in the order they were closed."""
        self.read_models.catch_up()
        return closed_between(self.read_models.views, period.start, period.end)

    def _archive_record(self, case_id: UUID) -> ArchiveRecord:
        events = list(self.events.get(case_id))
        closing = next(e for e in events if isinstance(e, ev.CaseClosed))
        events = [e for e in events if e.originator_version <= closing.originator_version]
        case = self.case_at(case_id, closing.originator_version)
        # Sealed fields are opened as the case is now: `[slettet]` once the child's
        # data is erased, which happens after the closing.
        now_case = self.get_case(case_id)
        opened = events[0]
        assert isinstance(opened, ev.CaseOpened)

        def open_(sealed: bytes | None) -> str | None:
            return self._open(now_case, sealed)

        closed_on = closing.timestamp.date()
        child = ChildDetails(
            name=open_(opened.child_name), birth_date=open_(opened.birth_date),
            national_id=open_(opened.national_id), concern=open_(opened.concern),
        )
        withheld = set(case.state.withheld)
        log = [
            LogEntryView(
                seq=item.seq, at=item.at, kind=item.kind, user=item.user, service=item.service,
                text=open_(item.sealed_text), details=item.details,
                withheld=item.kind in ENTRY_KINDS and item.details.get("entry_id") in withheld,
            )
            for item in case_log(events)
        ]
        consents = [
            ArchiveConsent(
                id=e.consent_id, given_by=e.given_by, services=list(e.services),
                given_at=e.timestamp, valid_until=e.valid_until, form=e.form,
                status=case.consent_status(case.state.consents[e.consent_id], closed_on),
                purpose=open_(e.purpose), child_view=open_(e.child_view),
            )
            for e in events if isinstance(e, ev.ConsentGiven)
            and e.consent_id in case.state.consents
        ]
        access: list[AccessLine] = []
        for e in self.events.get(access_log_id(case_id)):
            if not isinstance(e, ev.AccessRecorded):
                continue
            access.append(AccessLine(at=e.timestamp, user=e.user, role=e.role,
                                     service=e.service, action=e.action))
            if e.action == CLOSE_ACTION:  # written with the closing, in its transaction
                break
        return ArchiveRecord(
            case=case_view(case, closed_on, child, open_),
            log=log, consents=consents, access=access,
            closed_at=closing.timestamp, closed_by=closing.user, close_reason=closing.reason,
            opened_by=opened.user,
            municipality_name=self.settings.municipality_name(case.state.municipality),
        )
