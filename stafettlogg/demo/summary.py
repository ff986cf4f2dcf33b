"""What a loaded demo holds, counted back from the stored events.

`summarise` reads every case's events through the application (not what the
generator meant to do), so the summary `load_demo` returns, and `stafettlogg demo`
prints, says what is really in the store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain import events as ev
from stafettlogg.application import Stafettlogg


@dataclass
class DemoSummary:
    seed: int
    municipalities: int = 0
    services: int = 0
    inter_municipal_services: int = 0
    children: int = 0
    cases: int = 0
    open: int = 0
    closed: int = 0
    cases_per_level: dict[int, int] = field(default_factory=dict)
    open_per_level: dict[int, int] = field(default_factory=dict)
    closed_by_reason: dict[str, int] = field(default_factory=dict)
    events: int = 0
    level0_steps: int = 0
    entries: int = 0
    handovers_requested: int = 0
    handovers_accepted: int = 0
    handovers_declined: int = 0
    handovers_cancelled: int = 0
    barnehage_to_skole_accepted: int = 0
    consents_given: int = 0
    consents_by_child: int = 0
    consents_withdrawn: int = 0
    consents_expired: int = 0
    services_joined: int = 0
    services_left: int = 0
    meetings: int = 0
    actions: int = 0
    evaluations: int = 0
    evaluations_late: int = 0
    responsibility_groups: int = 0
    coordinators_appointed: int = 0
    individual_plans: int = 0
    satisfaction_answers: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def summarise(app: Stafettlogg, seed: int) -> DemoSummary:
    """Count what is in the store (read back from the events, not from the generator)."""
    services = app.list_services()
    summary = DemoSummary(
        seed=seed,
        municipalities=len({m for s in services for m in s.municipalities}),
        services=len(services),
        inter_municipal_services=sum(s.inter_municipal for s in services),
    )
    sector_of = {s.id: s.sector for s in services}
    children: set[UUID] = set()
    per_level: Counter[int] = Counter()
    open_per_level: Counter[int] = Counter()
    reasons: Counter[str] = Counter()
    counts: Counter[type] = Counter()
    for case_id in app.case_ids():
        level = 0
        closed = False
        for event in app.events.get(case_id):
            counts[type(event)] += 1
            summary.events += 1
            if isinstance(event, ev.CaseOpened):
                children.add(event.child_id)
            elif isinstance(event, ev.LevelChanged):
                level = event.to_level
            elif isinstance(event, ev.CaseClosed):
                closed = True
                reasons[event.reason] += 1
            elif isinstance(event, ev.ConsentGiven) and event.given_by == "child":
                summary.consents_by_child += 1
            elif isinstance(event, ev.ActionEvaluated) and not event.evaluated_by_date:
                summary.evaluations_late += 1
            elif (
                isinstance(event, ev.HandoverAccepted)
                and sector_of.get(event.from_service) == "barnehage"
                and event.to_sector == "skole"
            ):
                summary.barnehage_to_skole_accepted += 1
        summary.cases += 1
        per_level[level] += 1
        if closed:
            summary.closed += 1
        else:
            summary.open += 1
            open_per_level[level] += 1
    summary.children = len(children)
    summary.cases_per_level = {lv: per_level[lv] for lv in range(4)}
    summary.open_per_level = {lv: open_per_level[lv] for lv in range(4)}
    summary.closed_by_reason = dict(sorted(reasons.items()))
    summary.level0_steps = counts[ev.Level0StepRecorded]
    summary.entries = counts[ev.EntryAdded]
    summary.handovers_requested = counts[ev.HandoverRequested]
    summary.handovers_accepted = counts[ev.HandoverAccepted]
    summary.handovers_declined = counts[ev.HandoverDeclined]
    summary.handovers_cancelled = counts[ev.HandoverCancelled]
    summary.consents_given = counts[ev.ConsentGiven]
    summary.consents_withdrawn = counts[ev.ConsentWithdrawn]
    summary.consents_expired = counts[ev.ConsentExpired]
    summary.services_joined = counts[ev.ServiceJoined]
    summary.services_left = counts[ev.ServiceLeft]
    summary.meetings = counts[ev.MeetingHeld]
    summary.actions = counts[ev.ActionAgreed]
    summary.evaluations = counts[ev.ActionEvaluated]
    summary.responsibility_groups = counts[ev.ResponsibilityGroupEstablished]
    summary.coordinators_appointed = counts[ev.CoordinatorAppointed]
    summary.individual_plans = counts[ev.IndividualPlanStarted]
    summary.satisfaction_answers = counts[ev.SatisfactionAnswered]
    return summary
