"""What the application answers about cases: the case list, a case, its log, its
access log, the inbox and the child's details, each as a view of the view model
(`stafettlogg/views.py`) with the access rules (`domain/access.py`) applied here,
once. Every read of a case's content is written to its access log first.

A mixin of `Stafettlogg` (`stafettlogg/application.py`); the queries over the
views are `projections/case_queries.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.calendar import day_of
from domain import errors
from domain.access import may_see_case, may_see_content, may_take_archive
from domain.case import Case
from domain.child import Child
from domain.values import ENTRY_KINDS, Actor
from projections.case_log import LogItem, case_log
from projections.case_queries import (
    AccessLine,
    access_lines,
    case_candidates,
    instant_of,
    overdue_actions,
)
from projections.case_views import CaseFacts
from stafettlogg.case_commands import SHREDDED
from stafettlogg.keys import KeyShredded
from stafettlogg.mapper import topic_of
from stafettlogg.views import (
    CaseListView,
    CoordinatorOverviewView,
    OverviewRow,
    CasePageView,
    CaseView,
    ChildDetails,
    ExpiringConsent,
    InboxHandover,
    InboxView,
    LogEntryView,
    LogView,
    WorklistView,
    case_summary_view,
    case_view,
)

if TYPE_CHECKING:
    from stafettlogg.keys import Sealer
    from stafettlogg.read_models import ReadModels
    from stafettlogg.unit_of_work import UnitOfWork

# The inbox shows consents that end within this many days.
CONSENT_WARNING_DAYS = 14


class CaseReads:
    """The case queries of the application."""

    if TYPE_CHECKING:
        clock: Callable[[], datetime]
        sealer: Sealer
        uow: UnitOfWork
        read_models: ReadModels
        events: Any
        recorder: Any

        def _require_case_work(self, actor: Actor) -> None: ...
        def _visible_case(self, actor: Actor, case_id: UUID, on: date) -> Case: ...
        def _log_read(self, actor: Actor, case_id: UUID, action: str, at: datetime) -> None: ...
        def get_case(self, case_id: UUID) -> Case: ...
        def list_staff(self, *, service: str | None = None, active: bool | None = None
                       ) -> list[Any]: ...

    def case_ids(self, after: int = 0) -> Iterator[UUID]:
        """Every case, oldest first (read from the notification log)."""
        for _, case_id in self._case_positions(after):
            yield case_id

    def _case_positions(self, after: int) -> Iterator[tuple[int, UUID]]:
        topic = topic_of(Case.created_by)
        start = after + 1
        while True:
            batch = self.recorder.select_notifications(start, 500, topics=[topic])
            if not batch:
                return
            for notification in batch:
                yield notification.id, UUID(str(notification.originator_id))
            start = batch[-1].id + 1

    def list_cases(
        self,
        actor: Actor,
        *,
        status: str | None = None,
        level: int | None = None,
        holder_me: bool = False,
        limit: int = 50,
        after: int = 0,
    ) -> tuple[list[CaseFacts], int | None]:
        """The cases the actor may see, oldest first, a page at a time (from the case list).

        Returns the page and the position to continue after (None on the last page).
        A listing shows no personal data, so it is not an access to a case's content.
        """
        self._require_case_work(actor)
        today = day_of(self.clock())
        page: list[CaseFacts] = []
        position = after
        while True:
            candidates = self._case_rows(
                actor, status=status, level=level, holder_me=holder_me, after=position,
                limit=max(limit * 2, 100),
            )
            if not candidates:
                return page, None
            for facts in candidates:
                position = facts.position
                if not may_see_case(facts, actor, today):
                    continue
                if len(page) == limit:
                    return page, page[-1].position
                page.append(facts)

    def _case_rows(
        self, actor: Actor, *, status: str | None = None, level: int | None = None,
        holder_me: bool = False, after: int = 0, limit: int = 100,
    ) -> list[CaseFacts]:
        """Rows of the case list that may be visible to the actor (the rules decide)."""
        self.read_models.catch_up()  # read your own writes
        return case_candidates(
            self.read_models.views, actor, status=status, level=level, holder_me=holder_me,
            after=after, limit=limit,
        )

    def case_list(
        self, actor: Actor, *, status: str | None = None, level: int | None = None,
        holder_me: bool = False, limit: int = 50, after: int = 0,
    ) -> CaseListView:
        """A page of the case list as its reader sees it today."""
        page, last = self.list_cases(
            actor, status=status, level=level, holder_me=holder_me, limit=limit, after=after,
        )
        today = day_of(self.clock())
        return CaseListView(items=[case_summary_view(f, today) for f in page], next=last)

    def read_case(self, actor: Actor, case_id: UUID, *, action: str = "read-case") -> Case:
        """A case as its reader may see it; the read is recorded in its access log."""
        now = self.clock()
        case = self._visible_case(actor, case_id, day_of(now))
        self._log_read(actor, case_id, action, now)
        return case

    def read_case_view(self, actor: Actor, case_id: UUID) -> CaseView:
        """The case as its reader may see it today, the child's personal data only
        for the services taking part; the read is recorded in its access log."""
        case = self.read_case(actor, case_id)
        today = day_of(self.clock())
        if not may_see_content(case, actor, today):
            return case_view(case, today)
        return case_view(case, today, self.child_details(case_id), self._opener(case))

    def case_page(self, actor: Actor, case_id: UUID) -> CasePageView:
        """The case page: the case and, for the services taking part, the child and the
        log. One page view is one line in the access log (`read-case-page`)."""
        now = self.clock()
        today = day_of(now)
        case = self._visible_case(actor, case_id, today)
        self._log_read(actor, case_id, "read-case-page", now)
        content = may_see_content(case, actor, today)
        return CasePageView(
            case=(case_view(case, today, self.child_details(case_id), self._opener(case))
                  if content else case_view(case, today)),
            log=self.case_log(case_id) if content else None,
            archive=not case.is_open and may_take_archive(case, actor, today),
        )

    def worklist(self, actor: Actor) -> WorklistView:
        """"Mine saker": the open cases the reader holds, those their service takes part
        in, and the inbox; the child's name only where the reader may see it."""
        today = day_of(self.clock())
        inbox = self.inbox(actor)
        rows = [f for f in self._case_rows(actor, status="open", limit=1_000_000)
                if may_see_case(f, actor, today)]
        holding = [f for f in rows if (f.holder_user, f.holder_service)
                   == (actor.user, actor.service)]
        taking_part = [f for f in rows if f not in holding
                       and f.is_taking_part(actor.service or "", today)]
        readable = {f.id for f in rows if may_see_content(f, actor, today)}
        wanted = ({f.id for f in holding + taking_part}
                  | {h.case for h in inbox.handovers} | {a.case for a in inbox.actions_due}
                  | {c.case for c in inbox.consents_expiring})
        names = {case_id: self.child_details(case_id).name or "" for case_id in sorted(wanted)
                 if case_id in readable}
        return WorklistView(
            holding=[case_summary_view(f, today) for f in holding],
            taking_part=[case_summary_view(f, today) for f in taking_part],
            inbox=inbox, child_names=names,
        )

    def coordinator_overview(self, actor: Actor) -> CoordinatorOverviewView:
        """The open cases of the coordinator's municipalities, with what needs their
        attention (domain/case.py: a handover waiting too long, a level-0 decision
        overdue, a quiet case, overdue actions) and cases whose holder has been
        deactivated. Reads each case (not the case list) for its last activity."""
        if not actor.is_coordinator:
            raise errors.Forbidden("Oversikten er for koordinatorer.")
        today = day_of(self.clock())
        staff = {m.id: m for m in self.list_staff()}
        rows: list[OverviewRow] = []
        for facts in self._case_rows(actor, status="open", limit=1_000_000):
            if facts.municipality not in actor.municipalities:
                continue
            case = self.get_case(facts.id)
            holder = staff.get(case.state.holder_user)
            content = may_see_content(case, actor, today)
            rows.append(OverviewRow(
                case=case_summary_view(facts, today),
                child_name=self.child_details(case.id).name if content else None,
                last_activity=case.modified_on or case.state.opened_at,
                handover_waits=case.handover_waits_too_long(today),
                decision_overdue=case.level0_decision_overdue(today),
                quiet=case.quiet(today),
                holder_deactivated=holder is not None and not holder.active,
                overdue_actions=len(case.overdue_actions(today)),
            ))
        return CoordinatorOverviewView(
            rows=rows,
            by_level=dict(sorted(Counter(r.case.level for r in rows).items())),
            by_service=dict(Counter(r.case.holder_service for r in rows).most_common()),
        )

    def case_view(self, case: Case) -> CaseView:
        """A case as a command left it, for its answer: no personal data."""
        return case_view(case, day_of(self.clock()))

    def may_see_content(self, actor: Actor, case: Case) -> bool:
        return may_see_content(case, actor, day_of(self.clock()))

    def read_log(self, actor: Actor, case_id: UUID) -> LogView:
        """The case log, for the services taking part; recorded in the access log."""
        now = self.clock()
        case = self._visible_case(actor, case_id, day_of(now))
        if not may_see_content(case, actor, day_of(now)):
            raise errors.Forbidden("Bare tjenester som er med i saken, kan lese loggen.")
        self._log_read(actor, case_id, "read-log", now)
        return LogView(entries=self.case_log(case_id))

    def read_access_log(self, actor: Actor, case_id: UUID) -> list[AccessLine]:
        """Who read or changed the case; reading it is itself recorded."""
        now = self.clock()
        self._visible_case(actor, case_id, day_of(now))
        self._log_read(actor, case_id, "read-access-log", now)
        self.read_models.catch_up()
        return access_lines(self.read_models.views, case_id)

    def inbox(self, actor: Actor) -> InboxView:
        """What waits for the caller: handovers to them, overdue actions, ending consents."""
        self._require_case_work(actor)
        today = day_of(self.clock())
        soon = today + timedelta(days=CONSENT_WARNING_DAYS)
        open_cases = [
            f for f in self._case_rows(actor, status="open", limit=1_000_000)
            if may_see_case(f, actor, today)
        ]
        handovers = [
            InboxHandover(
                case=f.id, id=UUID(f.pending_id), to_user=f.pending_to_user or "",
                to_service=f.pending_to_service or "", requested_by=f.pending_requested_by or "",
                requested_at=instant_of(f.pending_requested_at or ""),
            )
            for f in open_cases
            if f.pending_id is not None and f.pending_recipient == (actor.user, actor.service)
        ]
        readable = {f.id: f for f in open_cases if may_see_content(f, actor, today)}
        actions = [
            a for a in overdue_actions(self.read_models.views, actor.service, today)
            if a.case in readable
        ]
        consents = [
            ExpiringConsent(case=f.id, id=UUID(consent_id), services=sorted(services),
                            valid_until=until)
            for f in readable.values()
            for consent_id, (services, until, status) in sorted(f.consents.items())
            if status == "active" and today <= until <= soon
        ]
        return InboxView(handovers=handovers, actions_due=actions, consents_expiring=consents)

    def open_case_for_child(self, child_id: UUID) -> UUID | None:
        try:
            return self.uow.load(Child, child_id).open_case
        except AggregateNotFoundError:
            return None

    def _open(self, case: Case, sealed: bytes | None) -> str | None:
        """A sealed field of the case, opened; `[slettet]` once the child's data is
        erased (the key destroyed: a child who came back later has a new key, which
        does not open the old cases, so an erased case is not even tried)."""
        if sealed is None:
            return None
        if case.is_erased:
            return SHREDDED
        try:
            return self.sealer.open(case.state.child_id, sealed)
        except KeyShredded:
            return SHREDDED

    def child_details(self, case_id: UUID) -> ChildDetails:
        """The child's personal data, opened. Only for someone who may see the case."""
        case = self.get_case(case_id)
        opened = next(iter(self.events.get(case_id, lte=1)))
        return ChildDetails(
            name=self._open(case, opened.child_name),  # type: ignore[attr-defined]
            birth_date=self._open(case, opened.birth_date),  # type: ignore[attr-defined]
            national_id=self._open(case, opened.national_id),  # type: ignore[attr-defined]
            concern=self._open(case, opened.concern),  # type: ignore[attr-defined]
        )

    def case_log(self, case_id: UUID) -> list[LogEntryView]:
        """Every recorded step, in order, with its free text opened; an entry kept from
        the guardians says so."""
        case = self.get_case(case_id)
        items: list[LogItem] = case_log(self.events.get(case_id))
        withheld = set(case.state.withheld)
        return [
            LogEntryView(
                seq=item.seq, at=item.at, kind=item.kind, user=item.user, service=item.service,
                text=self._open(case, item.sealed_text), details=item.details,
                withheld=item.kind in ENTRY_KINDS and item.details.get("entry_id") in withheld,
            )
            for item in items
        ]

    def _opener(self, case: Case) -> Callable[[bytes], str | None]:
        """Opens a field sealed with this case's child's key."""
        return lambda sealed: self._open(case, sealed)
