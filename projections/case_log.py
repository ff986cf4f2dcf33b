"""The case log as people read it: every recorded step of a case, in order.

A projection of a case's events (never of the aggregate). Free text stays sealed
here; whoever shows the log to a person who may see the case opens it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from domain import events as ev
from domain.aggregate import DomainEvent


class LogItem(msgspec.Struct, frozen=True):
    """One step of the log. `sealed_text` is the step's free text, if it has one."""

    seq: int
    at: datetime
    kind: str
    user: str
    service: str | None
    sealed_text: bytes | None
    details: dict[str, Any]


# event class -> (kind in the log, name of its free-text field or None)
_KINDS: dict[type[ev.CaseEvent], tuple[str, str | None]] = {
    ev.CaseOpened: ("case-opened", "concern"),
    ev.Level0StepRecorded: ("level0-step", "text"),
    ev.LevelChanged: ("level-changed", "reason"),
    ev.EntryAdded: ("entry", "text"),
    ev.ConsentGiven: ("consent-given", "purpose"),
    ev.ConsentWithdrawn: ("consent-withdrawn", "reason"),
    ev.ConsentExpired: ("consent-expired", None),
    ev.ServiceJoined: ("service-joined", None),
    ev.ServiceLeft: ("service-left", None),
    ev.ServiceBroughtInByLaw: ("service-brought-in-by-law", "reason"),
    ev.HandoverRequested: ("handover-requested", "note"),
    ev.HandoverAccepted: ("handover-accepted", None),
    ev.HandoverDeclined: ("handover-declined", "reason"),
    ev.HandoverCancelled: ("handover-cancelled", None),
    ev.CoordinatorAppointed: ("coordinator-appointed", None),
    ev.CoordinatorReleased: ("coordinator-released", None),
    ev.ResponsibilityGroupEstablished: ("responsibility-group-established", None),
    ev.ResponsibilityGroupDissolved: ("responsibility-group-dissolved", None),
    ev.IndividualPlanStarted: ("individual-plan-started", None),
    ev.IndividualPlanEnded: ("individual-plan-ended", None),
    ev.MeetingHeld: ("meeting", "minutes"),
    ev.ActionAgreed: ("action", "description"),
    ev.ActionEvaluated: ("evaluation", "text"),
    ev.SatisfactionAnswered: ("satisfaction", None),
    ev.CaseClosed: ("case-closed", "note"),
    ev.GuardianRecorded: ("guardian-recorded", None),
    ev.GuardianRemoved: ("guardian-removed", None),
    ev.EntryWithheld: ("entry-withheld", "reason"),
    ev.ChildDataErased: ("child-data-erased", None),
}

# Fields that are never shown as details: the envelope, and every sealed field.
_HIDDEN = {
    "originator_id",
    "originator_version",
    "timestamp",
    "user",
    "service",
    "child_id",
    "child_name",
    "birth_date",
    "national_id",
    "child_view",
    "name",  # a guardian's name (sealed)
    "login",  # a guardian's blind index: never shown
}


def log_item(event: DomainEvent) -> LogItem | None:
    """The log line of one case event (None for events that are not steps)."""
    known = _KINDS.get(type(event))  # type: ignore[arg-type]
    if known is None:
        return None
    kind, text_field = known
    assert isinstance(event, ev.CaseEvent)
    if isinstance(event, ev.EntryAdded):
        kind = event.kind  # observation, conversation, note, positive, decision
    details = {
        name: getattr(event, name)
        for name in event.__struct_fields__
        if name not in _HIDDEN and name not in (text_field, "kind")
    }
    return LogItem(
        seq=event.originator_version,
        at=event.timestamp,
        kind=kind,
        user=event.user,
        service=event.service,
        sealed_text=getattr(event, text_field) if text_field else None,
        details=details,
    )


def case_log(events: Iterable[DomainEvent]) -> list[LogItem]:
    return [item for item in map(log_item, events) if item is not None]
