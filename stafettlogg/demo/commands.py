"""One case's single commands, as the people of the demo's scenario issue them.

`_CaseCommands` holds what a case run knows (the child, its plan, the simulated
clock, the workers in contact, the services the family said no to) and issues one
command at a time through the application: open the case, write an entry, record a
level-0 step, change the level, register consents and let services join, hold a
meeting, agree and evaluate actions, hand the baton over, record satisfaction,
close. Each picks its text and its choices from the case's own random stream. The
phases that string these together are in `stafettlogg.demo.story`.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from domain.case import Case
from domain.consent import CHILD_VIEW_AGE, required_consenter
from domain.values import Actor, age_on
from stafettlogg.application import Stafettlogg
from stafettlogg.demo.children import _Child, _Plan, _workday
from stafettlogg.demo.texts import (
    ACTIONS,
    CHILD_VIEWS,
    CLOSE_NOTES,
    CONCERNS,
    DECLINE_REASONS,
    ENTRIES,
    EVALUATIONS,
    LEVEL_REASONS,
    PURPOSES,
    STEP_TEXTS,
)
from stafettlogg.demo.world import END, ServiceDef, _World


class _OutOfTime(Exception):
    """The simulated clock reached the end of the period: the case stays as it is."""


# How often each closing reason (domain.values.CLOSE_REASONS) is chosen.
CLOSE_REASON_WEIGHTS = {
    "concern-resolved": 70,
    "moved-away": 10,
    "transferred-to-other-service": 8,
    "family-declined": 7,
    "other": 5,
}
# Who opens a case for a child of an age.
OPENERS = {
    "small": (("helsestasjon", 35), ("barnehage", 55), ("fastlege", 4), ("annet", 6)),
    "school": (
        ("skole", 62),
        ("helsestasjon", 16),
        ("annet", 6),
        ("fastlege", 5),
        ("ppt", 4),
        ("barnevern", 4),
        ("bup", 3),
    ),
    "youth": (
        ("skole", 45),
        ("helsestasjon", 18),
        ("psykisk-helse", 12),
        ("nav", 6),
        ("annet", 6),
        ("fastlege", 5),
        ("barnevern", 4),
        ("bup", 4),
    ),
}


def _age_group(age: int) -> str:
    return "small" if age <= 5 else "school" if age <= 12 else "youth"


def _school_kind(age: int) -> str:
    return "barneskole" if age <= 12 else "ungdomsskole" if age <= 15 else "vgs"


class _CaseCommands:
    """One child's case: its state on a simulated clock, and the commands issued in it."""

    def __init__(
        self, app: Stafettlogg, world: _World, rng: random.Random, child: _Child, plan: _Plan
    ) -> None:
        self.app = app
        self.world = world
        self.rng = rng
        self.child = child
        self.plan = plan
        self.t = plan.start
        self.age = child.age if child.birth is None else age_on(child.birth, plan.start.date()) or 0
        # A child about to start school is still a barnehage child.
        self.group = "small" if plan.transition else _age_group(self.age)
        self.contacts: dict[str, Actor] = {}
        self.excluded: set[str] = set()  # services the family said no to
        self.separate: set[str] = set()  # services with a consent of their own
        self.closed = False
        self.case_id: UUID | None = None
        self.holder: Actor | None = None
        self.opener: ServiceDef | None = None

    # helpers ---------------------------------------------------------------------

    def text(self, options: list[str]) -> str:
        return self.rng.choice(options).format(navn=self.child.first)

    def advance(self, low: float, high: float) -> datetime:
        """Move the clock on by low..high days (0: later the same day)."""
        days = self.rng.uniform(low, high)
        if days < 1:
            moment = self.t + timedelta(minutes=self.rng.randrange(10, 120))
            if moment.hour >= 15 or moment.date() != self.t.date():
                moment = _workday(self.t + timedelta(days=1), self.rng)  # tomorrow morning
        else:
            moment = _workday(self.t + timedelta(days=days), self.rng)
        return self.move_to(moment)

    def move_to(self, moment: datetime) -> datetime:
        moment = max(moment, self.t + timedelta(minutes=1))
        if moment > END:
            raise _OutOfTime
        self.t = moment
        return moment

    def contact(self, service_id: str) -> Actor:
        actor = self.contacts.get(service_id)
        if actor is None:
            actor = self.rng.choice(self.world.workers[service_id])
            self.contacts[service_id] = actor
        return actor

    def case(self) -> Case:
        assert self.case_id is not None
        return self.app.get_case(self.case_id)

    def pick(self, sector: str, age: int | None = None) -> ServiceDef | None:
        municipality = self.child.municipality
        kind = None
        if sector == "skole":
            kind = _school_kind(age if age is not None else self.age)
        options = self.world.in_municipality(municipality, sector, kind)
        return self.rng.choice(options) if options else None

    def consenter(self) -> tuple[str, str | None]:
        """Who consents now (by age and the municipality's rule), and the child's own view."""
        age = self.child.age_on(self.t.date())
        youth_age = self.app.settings.youth_consent_age_for(self.child.municipality)
        who = required_consenter(age, youth_age)
        view = self.text(CHILD_VIEWS) if age is not None and age >= CHILD_VIEW_AGE else None
        return who, view

    # commands ---------------------------------------------------------------------

    def open(self) -> None:
        if self.plan.transition:
            sector = "barnehage"
        else:
            sectors, weights = zip(*OPENERS[self.group], strict=True)
            sector = self.rng.choices(sectors, weights)[0]
            if sector == "barnehage" and self.age < 1:
                sector = "helsestasjon"
        service = self.pick(sector)
        assert service is not None, sector
        self.opener = service
        self.holder = self.contact(service.id)
        case = self.app.open_case(
            self.holder,
            child_name=self.child.name,
            concern=self.text(CONCERNS[self.group]),
            birth_date=self.child.birth,
            national_id=self.child.national_id,
            municipality=self.child.municipality,
            at=self.t,
        )
        self.case_id = case.id

    def entry(self, kind: str, actor: Actor | None = None, texts: list[str] | None = None) -> None:
        self.app.add_entry(
            actor or self.holder,
            self.case_id,
            kind=kind,
            text=self.text(texts or ENTRIES[kind]),
            at=self.t,
        )

    def step(self, step: str, text: str | None = None) -> None:
        self.app.record_level0_step(
            self.holder,
            self.case_id,
            step=step,
            text=text or self.text(STEP_TEXTS[step]),
            at=self.t,
        )

    def level(self, level: int, reason: str | None = None) -> None:
        self.app.change_level(
            self.holder,
            self.case_id,
            level=level,
            reason=reason or self.text(LEVEL_REASONS[level]),
            at=self.t,
        )

    def consent(
        self, services: list[str], purpose: str | None = None, days: int | None = None
    ) -> UUID:
        who, view = self.consenter()
        days = days if days is not None else self.rng.randint(180, 365)
        return self.app.register_consent(
            self.holder,
            self.case_id,
            given_by=who,
            services=services,
            purpose=purpose or self.text(PURPOSES),
            valid_until=self.t.date() + timedelta(days=days),
            form=self.rng.choices(("written", "oral"), (7, 3))[0],
            child_view=view,
            at=self.t,
        ).result

    def ensure(
        self, services: Iterable[str], *, join: bool = True, purpose: str | None = None
    ) -> None:
        """Before services act in the case: a consent that covers them, and that they take part.

        A consent that has run out, or will within two weeks, is renewed; the renewal
        also covers the other services taking part whose consent is running out.
        """
        case = self.case()
        on = self.t.date()
        margin = on + timedelta(days=14)
        own = {case.state.opened_by_service, case.state.holder_service}

        def covered(service_id: str) -> bool:
            return service_id in own or any(
                c.status == "active" and service_id in c.services and c.valid_until >= margin
                for c in case.state.consents.values()
            )

        wanted = list(dict.fromkeys(services))
        missing = [s for s in wanted if not covered(s)]
        if missing:
            renew = [
                s
                for s in case.state.participants
                if s not in own and s not in self.excluded and not covered(s)
            ]
            together = list(dict.fromkeys([*missing, *renew]))
            bundle = [s for s in together if s not in self.separate]
            if bundle:
                self.consent(bundle, purpose)
            for service_id in together:
                if service_id in self.separate:
                    self.consent([service_id], purpose)
            case = self.case()
        if join:
            for service_id in wanted:
                if service_id not in case.state.participants:
                    self.advance(0, 0.5)
                    case = self.app.add_participant(
                        self.holder,
                        self.case_id,
                        service=service_id,
                        user=self.contact(service_id).user,
                        at=self.t,
                    ).case

    def meeting(self, services: list[str], minutes: list[str]) -> None:
        self.ensure(services)
        held_on = self.t.date()
        self.advance(0, 2)
        self.app.hold_meeting(
            self.holder,
            self.case_id,
            held_on=held_on,
            services=services,
            minutes=self.text(minutes),
            at=self.t,
        )

    def action(self, responsible: str) -> tuple[UUID, date]:
        self.advance(0, 0.5)
        self.ensure([responsible])
        sector = self.world.services[responsible].sector
        evaluate_by = self.t.date() + timedelta(weeks=self.rng.randint(4, 10))
        action_id = self.app.agree_action(
            self.holder,
            self.case_id,
            description=self.text(ACTIONS[sector]),
            responsible_service=responsible,
            evaluate_by=evaluate_by,
            at=self.t,
        ).result
        return action_id, evaluate_by

    def evaluate(self, action_id: UUID, evaluate_by: date, responsible: str, final: bool) -> None:
        if self.rng.random() < 0.12:
            target = evaluate_by + timedelta(days=self.rng.randint(3, 35))  # late
        else:
            target = evaluate_by - timedelta(days=self.rng.randint(0, 10))
        self.move_to(_workday(datetime.combine(target, time(9), tzinfo=UTC), self.rng))
        if responsible != self.holder_service:
            self.ensure([responsible])
            actor = self.contact(responsible)
        else:
            actor = self.holder
        outcome = (
            self.rng.choices(("completed", "stopped"), (8, 2))[0]
            if final
            else self.rng.choice(("continue", "adjusted"))
        )
        self.app.evaluate_action(
            actor,
            self.case_id,
            action_id,
            outcome=outcome,
            text=self.text(EVALUATIONS[outcome]),
            at=self.t,
        )

    @property
    def holder_service(self) -> str:
        assert self.holder is not None and self.holder.service is not None
        return self.holder.service

    def handover(self, to: Actor, note: str, outcome: str = "accepted") -> bool:
        """Ask `to` to take the baton; True when it was accepted."""
        handover_id = self.app.request_handover(
            self.holder,
            self.case_id,
            to_user=to.user,
            to_service=to.service or "",
            note=note,
            at=self.t,
        ).result
        self.advance(1, 14)
        if outcome == "declined":
            self.app.decline_handover(
                to, self.case_id, handover_id, reason=self.text(DECLINE_REASONS), at=self.t
            )
            return False
        if outcome == "cancelled":
            self.app.cancel_handover(self.holder, self.case_id, handover_id, at=self.t)
            return False
        self.app.accept_handover(to, self.case_id, handover_id, at=self.t)
        self.holder = to
        self.contacts[to.service or ""] = to
        return True

    def satisfaction(self) -> None:
        age = self.child.age_on(self.t.date())
        respondents = ["guardian"]
        if age is not None and age >= 12 and self.rng.random() < 0.6:
            respondents.append("child")
        for respondent in respondents:
            self.app.record_satisfaction(
                self.holder,
                self.case_id,
                respondent=respondent,
                score=self.rng.choices((1, 2, 3, 4, 5), (3, 6, 18, 40, 33))[0],
                at=self.t,
            )

    def close(self, reason: str | None = None) -> None:
        reasons = list(CLOSE_REASON_WEIGHTS)
        reason = reason or self.rng.choices(reasons, list(CLOSE_REASON_WEIGHTS.values()))[0]
        note = self.text(CLOSE_NOTES[reason]) if self.rng.random() < 0.8 else None
        self.app.close_case(self.holder, self.case_id, reason=reason, note=note, at=self.t)
        self.closed = True
