"""What a family member reads and does in their own case: the guardians and the young
person, signed in through ID-porten (docs/pages.md, "The family's pages").

A person is known only by keyed hashes of their fødselsnummer (`FamilyPerson`): as a
guardian (the index the holder recorded with them) and as a child (the child's id is
derived from the number, as when the case was opened). Which cases they may read and
what they see of them is decided by `domain/access.py` (`family_role`,
`family_sees_entry`); every read is a line in the case's access log, as the family
member (role `guardian` or `child`), and what they see of the access log is the same
lines the staff see.

A mixin of `Stafettlogg` (`stafettlogg/application.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError

from domain.calendar import day_of
from domain import errors
from domain.access import family_role, family_sees_access, family_sees_entry, family_sees_step
from domain.case import Case
from domain.child import Child
from domain.values import Actor
from projections.case_queries import AccessLine, access_lines, cases_of_guardian
from stafettlogg.views import ConsentView, LogEntryView, StatutoryAccessView, case_view

__all__ = ["FamilyCase", "FamilyCaseSummary", "FamilyPerson", "FamilyReads"]


class FamilyPerson(msgspec.Struct, frozen=True):
    """A family member as the service knows them: hashes only, never the number."""

    guardian_login: str
    child_id: UUID | None


class FamilyCaseSummary(msgspec.Struct, frozen=True):
    id: UUID
    role: str  # guardian or child
    child_name: str | None
    status: str
    level: int
    opened_at: datetime


class FamilyCase(msgspec.Struct, frozen=True):
    """A case as a guardian or the young person may see it."""

    id: UUID
    role: str
    child_name: str | None
    status: str
    level: int
    municipality: str
    opened_at: datetime
    closed_at: datetime | None
    holder_service: str
    services: list[str]
    consents: list[ConsentView]
    log: list[LogEntryView]
    access: list[AccessLine]
    # Services brought in without consent, on a statutory basis.
    statutory_access: list[StatutoryAccessView] = []


class FamilyReads:
    if TYPE_CHECKING:
        blind_index: Any
        settings: Any
        read_models: Any
        uow: Any

        def clock(self) -> datetime: ...
        def get_case(self, case_id: UUID) -> Case: ...
        def _child_age(self, case: Case, on: Any) -> int | None: ...
        def _log_read(self, actor: Actor, case_id: UUID, action: str, at: datetime) -> None: ...
        def child_details(self, case_id: UUID) -> Any: ...
        def known_child_id(self, *, national_id: str | None, name: str,
                           birth_date: Any) -> UUID | None: ...
        def case_log(self, case_id: UUID) -> list[LogEntryView]: ...
        def _change_case(self, actor: Actor, case_id: UUID, action: str, command: Any,
                         **options: Any) -> Any: ...
        def _services(self, ids: list[str], field: str) -> Any: ...
        def _seal(self, case: Case, text: str | None, field: str, *,
                  required: bool = True) -> Any: ...

    def family_person(self, national_id: str) -> FamilyPerson:
        """The hashes a family member is known by, from the `pid` of their sign-in."""
        return FamilyPerson(
            guardian_login=self.guardian_login(national_id),
            child_id=self.known_child_id(national_id=national_id, name="", birth_date=None),
        )

    def guardian_login(self, national_id: str) -> str:
        """A guardian's blind index: after `keys rotate index`, the one under an older
        key when the guardian is recorded by it, so that a guardian keeps one login."""
        variants = self.blind_index.variants()
        if len(variants) > 1:
            self.read_models.catch_up()
            for index in variants:
                login = index.of_guardian(national_id)
                if cases_of_guardian(self.read_models.views, login):
                    return login
        return variants[0].of_guardian(national_id)

    def _family_role(self, person: FamilyPerson, case: Case) -> tuple[str | None, Actor]:
        guardian = case.guardian_of(person.guardian_login)
        is_the_child = person.child_id is not None and case.state.child_id == person.child_id
        role = family_role(
            is_guardian=guardian is not None, is_the_child=is_the_child,
            # (read from the sealed birth date only when it can matter)
            child_age=self._child_age(case, day_of(self.clock())) if is_the_child else None,
            youth_consent_age=self.settings.youth_consent_age_for(case.state.municipality),
        )
        user = f"foresatt-{guardian.id}" if role == "guardian" and guardian else "barnet"
        return role, Actor(user=user, roles=frozenset({role or "none"}))

    def _family_candidates(self, person: FamilyPerson) -> list[UUID]:
        self.read_models.catch_up()
        found = list(cases_of_guardian(self.read_models.views, person.guardian_login))
        if person.child_id is not None:
            try:
                child = self.uow.load(Child, person.child_id)
            except AggregateNotFoundError:
                pass
            else:
                found += [c for c in child.state.cases if c not in found]
        return found

    def family_cases(self, person: FamilyPerson) -> list[FamilyCaseSummary]:
        """The cases this person may read, oldest first (not recorded: a list shows only
        the child's name, to the family)."""
        out = []
        for case_id in self._family_candidates(person):
            case = self.get_case(case_id)
            role, _ = self._family_role(person, case)
            if role is None:
                continue
            out.append(FamilyCaseSummary(
                id=case.id, role=role, child_name=self.child_details(case.id).name,
                status=case.state.status, level=case.state.level,
                opened_at=case.state.opened_at))
        return out

    def family_case(self, person: FamilyPerson, case_id: UUID) -> FamilyCase:
        """One case as this person may read it; the read is a line in its access log.
        A case that is not theirs is not found."""
        case = self.get_case(case_id)  # NotFound when there is none
        role, actor = self._family_role(person, case)
        if role is None:
            raise errors.NotFound("Saken finnes ikke.")
        now = self.clock()
        self._log_read(actor, case_id, "family-read-case", now)
        view = case_view(case, day_of(now))
        whole = self.case_log(case_id)
        log = [e for e in whole
               if family_sees_entry(role, e.withheld) and family_sees_step(role, e.kind)]
        # An entry and its access-log line are saved together, at one moment, by one user.
        withheld = {(e.at, e.user) for e in whole if e.withheld}
        self.read_models.catch_up()
        access = [a for a in access_lines(self.read_models.views, case_id)
                  if family_sees_access(role, a.action, writes_withheld_entry=(
                      a.action == "add-entry" and (a.at, a.user) in withheld))]
        return FamilyCase(
            id=case.id, role=role, child_name=self.child_details(case.id).name,
            status=case.state.status, level=case.state.level,
            municipality=case.state.municipality, opened_at=case.state.opened_at,
            closed_at=case.state.closed_at, holder_service=case.state.holder_service,
            services=[p.service for p in view.participants], consents=view.consents,
            log=log, access=access, statutory_access=view.statutory_access,
        )

    # The family's own steps --------------------------------------------------------

    def _as_family(self, person: FamilyPerson, case_id: UUID, action: str,
                   command: Any, **options: Any) -> Any:
        """Run a family member's command on a case that is theirs (NotFound otherwise),
        as them: the access log says guardian or young person."""
        actor_of: dict[str, Actor] = {}

        def visible(case: Case) -> None:
            role, actor = self._family_role(person, case)
            if role is None:
                raise errors.NotFound("Saken finnes ikke.")
            actor_of["actor"] = actor

        case = self.get_case(case_id)
        visible(case)
        return self._change_case(actor_of["actor"], case_id, action,
                                 lambda c, now: command(c, actor_of["actor"], now),
                                 visible=visible, **options)

    def family_give_consent(self, person: FamilyPerson, case_id: UUID, *, services: list[str],
                            purpose: str, valid_until: Any, **options: Any) -> Any:
        infos = self._services(services, "services")
        return self._as_family(person, case_id, "family-give-consent", lambda c, actor, now:
                               c.give_consent(
                                   actor, services=infos,
                                   purpose=self._seal(c, purpose, "purpose"),
                                   valid_until=valid_until,
                                   child_age=self._child_age(c, day_of(now)),
                                   youth_consent_age=self.settings.youth_consent_age_for(
                                       c.state.municipality),
                                   at=now), **options)

    def family_withdraw_consent(self, person: FamilyPerson, case_id: UUID, consent_id: UUID,
                                **options: Any) -> Any:
        return self._as_family(person, case_id, "family-withdraw-consent",
                               lambda c, actor, now: c.withdraw_own_consent(
                                   actor, consent_id=consent_id, at=now), **options)

    def family_note(self, person: FamilyPerson, case_id: UUID, *, text: str,
                    **options: Any) -> Any:
        return self._as_family(person, case_id, "family-note", lambda c, actor, now:
                               c.add_family_note(actor, text=self._seal(c, text, "text"),
                                                 at=now), **options)

    def family_satisfaction(self, person: FamilyPerson, case_id: UUID, *, score: int,
                            **options: Any) -> Any:
        return self._as_family(person, case_id, "family-satisfaction", lambda c, actor, now:
                               c.answer_satisfaction(actor, score=score, at=now), **options)
