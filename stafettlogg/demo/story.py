"""The demo's case story: one child's case played from the first undring to its end.

`_CaseRun.run` follows the case's plan through its phases: level 0 (the four
steps), level 1 (actions in the holder's own service), the partners at levels 2-3
(consents, services joining, meetings, actions and evaluations, responsibility
group, koordinator, individual plan, a withdrawn or lapsing consent), the
barnehage-to-skole transition, a colleague taking over, winding down and closing.
`nightly_expiry` records the consents that ran out, and `reopen` starts a later
case for the same child. Every choice comes from the case's own random stream, in a
fixed order: the same seed plays the same story.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta
from uuid import UUID

from domain.case import Case
from domain.values import Actor
from stafettlogg.demo.children import _Plan, _workday
from stafettlogg.demo.commands import _CaseCommands
from stafettlogg.demo.texts import (
    DECISIONS,
    FIRST_OBSERVATIONS,
    GROUP_MINUTES,
    HANDOVER_NOTES,
    HANDOVER_PURPOSE,
    LEVEL_REASONS,
    MEETING_MINUTES,
    PARTNER_ENTRIES,
    WITHDRAW_REASONS,
)
from stafettlogg.demo.world import END, SWEEP

LEVEL_OF_KIND = {"l0-open": 0, "l0-closed": 0, "l1": 1, "l2": 2, "l3": 3}
# Which services are asked to join a case, by the child's age group.
PARTNERS = {
    "small": ("ppt", "helsestasjon", "barnehage", "barnevern", "fastlege", "annet", "bup"),
    "school": ("ppt", "helsestasjon", "skole", "barnevern", "bup", "annet", "fastlege"),
    "youth": ("helsestasjon", "bup", "psykisk-helse", "skole", "nav", "barnevern", "fastlege"),
}


class _CaseRun(_CaseCommands):
    """Plays one child's case, command by command, on a simulated clock."""

    # phases ----------------------------------------------------------------------

    def level0(self, decision: str | int | None) -> None:
        """The four steps; `decision` None stops before the decision (still at level 0)."""
        self.advance(0, 3)
        self.entry("observation", texts=FIRST_OBSERVATIONS)
        overdue = self.rng.random() < 0.15
        steps = ["vurdering", "konkretisering", "deling"]
        if decision is None:
            steps = steps[: self.rng.randint(0, 3)]
        for step in steps:
            self.advance(1, 6 if overdue else 3)
            self.step(step)
            if step == "deling" and self.rng.random() < 0.5:
                self.advance(0, 1)
                self.entry("conversation")
        if decision is None:
            return
        self.advance(1, 12 if overdue else 4)
        self.step("beslutning", self.text(DECISIONS[decision]))

    def level1(self) -> None:
        self.advance(0, 2)
        self.level(1)
        self.advance(1, 7)
        self.entry("conversation")
        actions = [self.action(self.holder_service) for _ in range(self.rng.randint(1, 2))]
        self.advance(3, 20)
        self.entry(self.rng.choice(("observation", "positive")))
        for action_id, evaluate_by in sorted(actions, key=lambda a: a[1]):
            self.evaluate(action_id, evaluate_by, self.holder_service, final=True)

    def choose_partners(self, count: int) -> list[str]:
        own_sector = self.world.services[self.holder_service].sector
        sectors = [s for s in PARTNERS[self.group] if s != own_sector]
        self.rng.shuffle(sectors)
        sectors.sort(key=lambda s: self.world.sectors_asked[s] > 0)  # stable: unasked first
        chosen: list[str] = []
        for sector in sectors:
            service = self.pick(sector)
            if service and service.id not in chosen and service.id != self.holder_service:
                chosen.append(service.id)
                self.world.sectors_asked[sector] += 1
            if len(chosen) == count:
                break
        return chosen

    def transition(self) -> None:
        """Barnehage to skole: the school is asked in May-June and takes over the baton."""
        assert self.child.birth is not None  # transition children have a birth date
        year = self.child.birth.year + 6
        may = datetime(year, 5, 5, tzinfo=UTC)
        window = _workday(may + timedelta(days=self.rng.randint(0, 40)), self.rng)
        if window > self.t:
            self.move_to(window)
        schools = self.world.in_municipality(self.child.municipality, "skole", "barneskole")
        first, second = self.rng.sample(schools, 2)
        self.ensure([first.id, second.id], join=False, purpose=HANDOVER_PURPOSE)
        outcome = self.plan.transition or "accepted"
        self.advance(0, 0.5)
        accepted = self.handover(self.contact(first.id), HANDOVER_NOTES["school"], outcome)
        if not accepted:
            if outcome == "declined":
                self.advance(1, 5)
                target = second
            else:  # cancelled: the parents wanted to wait; asked again in August
                self.move_to(_workday(datetime(year, 8, 10, tzinfo=UTC), self.rng))
                target = first
            self.ensure([target.id], join=False, purpose=HANDOVER_PURPOSE)
            self.advance(0, 0.5)
            self.handover(self.contact(target.id), HANDOVER_NOTES["school"])
        # School starts; the barnehage leaves the case when the baton is safely over.
        self.move_to(_workday(datetime(year, 8, 18, tzinfo=UTC), self.rng))
        self.entry("observation")
        assert self.opener is not None
        self.advance(7, 30)
        self.app.remove_participant(
            self.contact(self.opener.id), self.case_id, service=self.opener.id, at=self.t
        )
        self.advance(3, 20)
        self.entry("positive")
        case = self.case()
        if case.state.level >= 2:
            self.advance(10, 40)
            self.meeting(self.present(self.case()), MEETING_MINUTES)

    def partners_phase(self, target: int) -> None:
        """Level 2 or 3: consent, services join, meetings, actions, group, koordinator, IP."""
        count = 1 if target == 2 else self.rng.randint(2, 3)
        partners = self.choose_partners(count + (1 if self.plan.withdraw and target == 3 else 0))
        main, extra = partners[:count], partners[count:]
        withdrawn: str | None = (extra or main)[-1] if self.plan.withdraw else None
        if withdrawn:
            self.separate.add(withdrawn)
        self.advance(0, 3)
        # One consent for the collaboration (short when it is going to run out), and
        # one of its own for the service the family will later say no to.
        lapsing: UUID | None = None
        shared = [s for s in main if s != withdrawn]
        if shared:
            days = self.rng.randint(55, 70) if self.plan.lapse else None
            lapsing = self.consent(shared, days=days)
        if withdrawn:
            self.consent([withdrawn])
        first = main[0]
        self.ensure([first])
        if target == 3 and self.case().state.level < 2 and self.rng.random() < 0.5:
            self.advance(0, 1)
            self.level(2)
            self.advance(5, 20)
            self.meeting([self.holder_service, first], MEETING_MINUTES)
        self.ensure(main + extra)
        self.advance(0, 1)
        self.level(target)
        self.advance(2, 10)
        self.meeting([self.holder_service, *main, *extra], MEETING_MINUTES)
        if self.plan.lapse and lapsing is not None:
            # A holiday passes; the consent runs out, the services it let in leave,
            # and after a new consent they join again.
            until = self.case().state.consents[lapsing].valid_until
            pause = datetime.combine(until, time(9), tzinfo=UTC)
            holiday = timedelta(days=self.rng.randint(3, 20))
            self.move_to(_workday(pause + holiday, self.rng))
            self.entry("note", texts=["Samtykket har løpt ut; nytt samtykke hentes inn."])
            self.advance(1, 7)
            self.ensure(main)
        if target == 3:
            self.advance(0, 3)
            self.app.establish_responsibility_group(
                self.holder, self.case_id, services=[self.holder_service, *main], at=self.t
            )
            self.appoint_coordinator()
        actions = []
        for responsible in [*main, self.holder_service][: self.rng.randint(1, len(main) + 1)]:
            self.advance(0, 3)
            actions.append((*self.action(responsible), responsible))
        self.advance(3, 14)
        partner = self.rng.choice(main)
        self.ensure([partner])
        self.entry(
            self.rng.choice(("observation", "conversation")), self.contact(partner), PARTNER_ENTRIES
        )
        if target == 3 and self.rng.random() < 0.65:
            self.advance(1, 10)
            self.app.start_individual_plan(
                self.coordinator_actor() or self.holder, self.case_id, at=self.t
            )
            self.advance(5, 20)
            self.meeting([self.holder_service, *main], GROUP_MINUTES)
        for action_id, evaluate_by, responsible in sorted(actions, key=lambda a: a[1]):
            self.evaluate(action_id, evaluate_by, responsible, final=self.rng.random() < 0.6)
        if self.plan.partner_handover and target == 3:
            self.advance(2, 14)
            self.ensure([main[0]])
            self.handover(self.contact(main[0]), HANDOVER_NOTES["partner"])
        if withdrawn:
            self.advance(5, 40)
            reason = self.text(WITHDRAW_REASONS[self.consenter()[0]])
            for consent in list(self.case().state.consents.values()):
                if consent.is_active(self.t.date()) and withdrawn in consent.services:
                    self.app.withdraw_consent(
                        self.holder, self.case_id, consent.id, reason=reason, at=self.t
                    )
            self.excluded.add(withdrawn)
            if target == 2:
                self.advance(1, 10)
                self.level(1, self.text(LEVEL_REASONS["withdrawn"]))
                return
        rounds = 0 if self.plan.transition else self.rng.randint(0, 3)
        for _ in range(rounds):  # follow-up
            self.advance(20, 60)
            active = [s for s in self.present(self.case()) if s not in self.excluded]
            self.meeting(active, GROUP_MINUTES if target == 3 else MEETING_MINUTES)
            if self.rng.random() < 0.5:
                self.advance(0, 3)
                self.entry("decision")
            if self.rng.random() < 0.5:
                responsible = self.rng.choice(active)
                action_id, evaluate_by = self.action(responsible)
                self.evaluate(action_id, evaluate_by, responsible, final=True)
            if self.rng.random() < 0.4:
                self.advance(1, 10)
                self.entry("positive")

    def coordinator_actor(self) -> Actor | None:
        """The appointed koordinator, who may act on plans and groups like the holder."""
        case = self.case()
        coordinator = case.state.coordinator
        if coordinator is None or not case.has_access(coordinator.service, self.t.date()):
            return None
        actor = self.contacts.get(coordinator.service)
        return actor if actor is not None and actor.user == coordinator.user else None

    def appoint_coordinator(self) -> None:
        """The municipality's coordinator appoints a koordinator from a service in the case."""
        self.advance(1, 10)
        municipality = self.child.municipality
        candidates = [
            s.id for s in self.world.in_municipality(municipality, "annet", "koordinerende")
        ]
        candidates += [
            s
            for s in self.case().state.participants
            if s != self.holder_service and s not in self.separate
        ]
        service_id = self.rng.choice(candidates)
        self.ensure([service_id], join=False)
        appointee = self.contact(service_id)
        self.app.appoint_coordinator(
            self.world.coordinators[self.child.municipality],
            self.case_id,
            user=appointee.user,
            service=service_id,
            at=self.t,
        )

    def wind_down(self) -> None:
        """Towards closing: plans ended, group dissolved, a level down, a service leaves."""
        level = self.case().state.level
        if level == 3:
            if self.case().state.individual_plan and self.rng.random() < 0.5:
                self.advance(1, 10)
                actor = self.coordinator_actor() or self.holder
                self.app.end_individual_plan(actor, self.case_id, at=self.t)
            if self.case().state.responsibility_group is not None and self.rng.random() < 0.6:
                self.advance(1, 10)
                self.app.dissolve_responsibility_group(self.holder, self.case_id, at=self.t)
        if level >= 2 and self.rng.random() < 0.5:
            self.advance(1, 10)
            case = self.case()
            present = self.present(case)
            own = (case.state.holder_service, case.state.opened_by_service)
            others = [s for s in present if s not in own]
            if not others:
                return
            leaving = self.rng.choice(others)
            # Lower the level first when too few services would remain.
            new_level = min(case.state.level, len(present) - 1)
            if new_level < case.state.level:
                self.level(new_level, self.text(LEVEL_REASONS["down"]))
                self.advance(0, 2)
            if leaving in self.present(self.case()):
                self.app.remove_participant(
                    self.contact(leaving), self.case_id, service=leaving, at=self.t
                )

    def nightly_expiry(self) -> None:
        """What the nightly job records after the last command: consents that ran out."""
        if self.case_id is None or self.closed:
            return
        while True:
            case = self.case()
            ending = sorted(
                c.valid_until
                for c in case.state.consents.values()
                if c.status == "active" and c.valid_until < SWEEP.date() - timedelta(days=1)
            )
            if not ending:
                return
            night = datetime.combine(ending[0] + timedelta(days=1), time(1), tzinfo=UTC)
            self.app.expire_consents(self.case_id, at=max(night, self.t + timedelta(minutes=1)))
            self.t = max(night, self.t)

    def present(self, case: Case) -> list[str]:
        """The services taking part as of now (a consent that has run out counts as ended)."""
        on = self.t.date()
        return [s for s in case.state.participants if case.has_access(s, on)]

    def run(self) -> None:
        self.open()
        kind = self.plan.kind
        if kind == "l0-open":
            self.level0(None)
            return
        target = LEVEL_OF_KIND[kind]
        first_level = "close" if target == 0 else 1 if self.plan.via_level1 else target
        self.level0(first_level)
        if target == 0:
            self.advance(0, 3)
            if self.rng.random() < 0.5:
                self.entry("conversation")
            if self.rng.random() < 0.4:
                self.satisfaction()
            reasons = ("concern-resolved", "family-declined", "other")
            self.close(self.rng.choices(reasons, (8, 1, 1))[0])
            return
        if target == 1 or self.plan.via_level1:
            self.level1()
        if self.plan.colleague:
            self.advance(5, 30)
            colleagues = [a for a in self.world.workers[self.holder_service] if a != self.holder]
            self.handover(self.rng.choice(colleagues), HANDOVER_NOTES["colleague"])
        if target >= 2:
            self.partners_phase(target)
        if self.plan.transition:
            self.transition()
        if self.plan.close:
            self.advance(10, 60)
            self.wind_down()
            self.advance(1, 14)
            self.satisfaction()
            self.advance(0, 2)
            self.close()

    def reopen(self, rng: random.Random) -> _CaseRun | None:
        """Some time after a closed case, a new worry about the same child: a new case."""
        if self.child.birth is None or not self.closed:
            return None
        later = _workday(self.t + timedelta(days=rng.randint(60, 240)), rng)
        if later > END - timedelta(days=30) or (self.child.age_on(later.date()) or 0) >= 18:
            return None
        plan = _Plan(kind="l1", close=rng.random() < 0.3, start=later)
        return _CaseRun(self.app, self.world, rng, self.child, plan)
