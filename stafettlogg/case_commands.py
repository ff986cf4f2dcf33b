"""The commands on a case: one method each, sealing the free text it was given and
handing the domain's command to the application's `_change_case` (one unit of
work: the events, the access-log line and the idempotency record, saved together
or not at all).

A mixin of `Stafettlogg` (`stafettlogg/application.py`), kept apart so that each
file has one job: this one says which domain command each application command is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Unpack
from uuid import UUID

from domain.calendar import day_of
from domain import errors
from domain.case import Case
from domain.national_id import checked_national_id
from domain.values import Actor, age_on
from stafettlogg.protocol import CommandOptions, Outcome

if TYPE_CHECKING:
    from domain.services import ServiceInfo
    from stafettlogg.keys import BlindIndex, Sealer
    from stafettlogg.settings import Settings
    from stafettlogg.unit_of_work import UnitOfWork

SHREDDED = "[slettet]"  # what a sealed field reads as once the child is forgotten


class CaseCommands:
    """The case commands of the application."""

    if TYPE_CHECKING:
        settings: Settings
        sealer: Sealer
        blind_index: BlindIndex
        uow: UnitOfWork
        events: Any

        def _change_case(
            self, actor: Actor, case_id: UUID, action: str,
            command: Callable[[Case, datetime], Any], **options: Any,
        ) -> Outcome: ...
        def _service(self, service_id: str, field: str) -> ServiceInfo: ...
        def _services(self, ids: list[str], field: str) -> list[ServiceInfo]: ...
        def _now(self, at: datetime | None) -> datetime: ...
        def _open(self, case: Case, sealed: bytes | None) -> str | None: ...
        def get_case(self, case_id: UUID) -> Case: ...
        def require_active_member(self, user: str, service_id: str, field: str) -> Any: ...
        def guardian_login(self, national_id: str) -> str: ...

    def _seal(self, case: Case, text: str | None, field: str, *, required: bool = True) -> Any:
        if text is None or not text.strip():
            if required:
                raise errors.InvalidValue(field, "Teksten må fylles ut.")
            return None
        return self.sealer.seal(case.state.child_id, text)

    def _child_age(self, case: Case, on: date) -> int | None:
        """The child's age today, from the sealed birth date (None when unknown)."""
        opened = next(iter(self.events.get(case.id, lte=1)))
        raw = self._open(case, opened.birth_date)  # type: ignore[attr-defined]
        if raw is None or raw == SHREDDED:
            return None
        return age_on(date.fromisoformat(raw), on)

    def record_level0_step(
        self, actor: Actor, case_id: UUID, *, step: str, text: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "level0-step",
            lambda c, now: c.record_level0_step(
                actor, step=step, text=self._seal(c, text, "text"), at=now
            ),
            **options,
        )

    def change_level(
        self, actor: Actor, case_id: UUID, *, level: int, reason: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "change-level",
            lambda c, now: c.change_level(
                actor, level=level, reason=self._seal(c, reason, "reason"), at=now
            ),
            **options,
        )

    def add_entry(
        self, actor: Actor, case_id: UUID, *, kind: str, text: str,
        corrects: UUID | None = None, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "add-entry",
            lambda c, now: c.add_entry(
                actor, kind=kind, text=self._seal(c, text, "text"), corrects=corrects, at=now
            ),
            **options,
        )

    def record_guardian(
        self, actor: Actor, case_id: UUID, *, name: str, relation: str,
        national_id: str | None = None, **options: Unpack[CommandOptions],
    ) -> Outcome:
        """The holder records a guardian: the name and fødselsnummer sealed with the
        child's key, the number also as a blind index (to be found at sign-in)."""
        number = checked_national_id(national_id, "national_id")
        login = self.guardian_login(number) if number else None

        def command(c: Case, now: datetime) -> UUID:
            return c.record_guardian(
                actor, name=self._seal(c, name, "name"), relation=relation,
                national_id=self._seal(c, number, "national_id", required=False),
                login=login, at=now,
            )

        return self._change_case(actor, case_id, "record-guardian", command, **options)

    def remove_guardian(
        self, actor: Actor, case_id: UUID, guardian_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "remove-guardian",
            lambda c, now: c.remove_guardian(actor, guardian_id=guardian_id, at=now),
            **options,
        )

    def withhold_entry(
        self, actor: Actor, case_id: UUID, entry_id: UUID, *, reason: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        """At the child's request (from 12), keep an entry from the guardians."""
        return self._change_case(
            actor, case_id, "withhold-entry",
            lambda c, now: c.withhold_entry(
                actor, entry_id=entry_id, reason=self._seal(c, reason, "reason"),
                child_age=self._child_age(c, day_of(now)), at=now,
            ),
            **options,
        )

    def register_consent(
        self, actor: Actor, case_id: UUID, *, given_by: str, services: list[str],
        purpose: str, valid_until: date, form: str, child_view: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        infos = self._services(services, "services")

        def command(c: Case, now: datetime) -> UUID:
            return c.register_consent(
                actor,
                given_by=given_by,
                services=infos,
                purpose=self._seal(c, purpose, "purpose"),
                valid_until=valid_until,
                form=form,
                child_age=self._child_age(c, day_of(now)),
                youth_consent_age=self.settings.youth_consent_age_for(c.state.municipality),
                child_view=self._seal(c, child_view, "child_view", required=False),
                at=now,
            )

        return self._change_case(actor, case_id, "register-consent", command, **options)

    def withdraw_consent(
        self, actor: Actor, case_id: UUID, consent_id: UUID, *, reason: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "withdraw-consent",
            lambda c, now: c.withdraw_consent(
                actor, consent_id=consent_id,
                reason=self._seal(c, reason, "reason", required=False), at=now,
            ),
            **options,
        )

    def add_participant(
        self, actor: Actor, case_id: UUID, *, service: str, user: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(service, "service")
        if user is not None:
            self.require_active_member(user, info.id, "user")
        return self._change_case(
            actor, case_id, "add-participant",
            lambda c, now: c.add_participant(actor, service=info, contact_user=user, at=now),
            **options,
        )

    def remove_participant(
        self, actor: Actor, case_id: UUID, *, service: str, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "remove-participant",
            lambda c, now: c.remove_participant(actor, service_id=service, at=now),
            **options,
        )

    def bring_in_by_law(
        self, actor: Actor, case_id: UUID, *, service: str, basis: str, reason: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        """Bring a service in without consent, on a statutory basis, with a reason."""
        info = self._service(service, "service")
        return self._change_case(
            actor, case_id, "bring-in-by-law",
            lambda c, now: c.bring_in_by_law(
                actor, service=info, basis=basis, reason=self._seal(c, reason, "reason"), at=now
            ),
            **options,
        )

    def request_handover(
        self, actor: Actor, case_id: UUID, *, to_user: str, to_service: str,
        note: str | None = None, **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(to_service, "to_service")
        self.require_active_member(to_user, info.id, "to_user")
        return self._change_case(
            actor, case_id, "request-handover",
            lambda c, now: c.request_handover(
                actor, to_user=to_user, to_service=info,
                note=self._seal(c, note, "note", required=False), at=now,
            ),
            **options,
        )

    def accept_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "accept-handover",
            lambda c, now: c.accept_handover(actor, handover_id=handover_id, at=now),
            **options,
        )

    def decline_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, *, reason: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "decline-handover",
            lambda c, now: c.decline_handover(
                actor, handover_id=handover_id,
                reason=self._seal(c, reason, "reason", required=False), at=now,
            ),
            **options,
        )

    def cancel_handover(
        self, actor: Actor, case_id: UUID, handover_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "cancel-handover",
            lambda c, now: c.cancel_handover(actor, handover_id=handover_id, at=now),
            **options,
        )

    def appoint_coordinator(
        self, actor: Actor, case_id: UUID, *, user: str, service: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(service, "service")
        self.require_active_member(user, info.id, "user")
        return self._change_case(
            actor, case_id, "appoint-coordinator",
            lambda c, now: c.appoint_coordinator(actor, user=user, service=info, at=now),
            **options,
        )

    def release_coordinator(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "release-coordinator",
            lambda c, now: c.release_coordinator(actor, at=now),
            **options,
        )

    def establish_responsibility_group(
        self, actor: Actor, case_id: UUID, *, services: list[str],
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        infos = self._services(services, "services")
        return self._change_case(
            actor, case_id, "establish-responsibility-group",
            lambda c, now: c.establish_responsibility_group(actor, services=infos, at=now),
            **options,
        )

    def dissolve_responsibility_group(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "dissolve-responsibility-group",
            lambda c, now: c.dissolve_responsibility_group(actor, at=now),
            **options,
        )

    def start_individual_plan(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "start-individual-plan",
            lambda c, now: c.start_individual_plan(actor, at=now),
            **options,
        )

    def end_individual_plan(
        self, actor: Actor, case_id: UUID, **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "end-individual-plan",
            lambda c, now: c.end_individual_plan(actor, at=now),
            **options,
        )

    def hold_meeting(
        self, actor: Actor, case_id: UUID, *, held_on: date, services: list[str],
        minutes: str, **options: Unpack[CommandOptions],
    ) -> Outcome:
        infos = self._services(services, "services")
        return self._change_case(
            actor, case_id, "hold-meeting",
            lambda c, now: c.hold_meeting(
                actor, held_on=held_on, services=infos,
                minutes=self._seal(c, minutes, "minutes"), at=now,
            ),
            **options,
        )

    def agree_action(
        self, actor: Actor, case_id: UUID, *, description: str, responsible_service: str,
        evaluate_by: date, **options: Unpack[CommandOptions],
    ) -> Outcome:
        info = self._service(responsible_service, "responsible_service")
        return self._change_case(
            actor, case_id, "agree-action",
            lambda c, now: c.agree_action(
                actor, description=self._seal(c, description, "description"),
                responsible_service=info, evaluate_by=evaluate_by, at=now,
            ),
            **options,
        )

    def evaluate_action(
        self, actor: Actor, case_id: UUID, action_id: UUID, *, outcome: str, text: str,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "evaluate-action",
            lambda c, now: c.evaluate_action(
                actor, action_id=action_id, outcome=outcome,
                text=self._seal(c, text, "text"), at=now,
            ),
            **options,
        )

    def record_satisfaction(
        self, actor: Actor, case_id: UUID, *, respondent: str, score: int,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "record-satisfaction",
            lambda c, now: c.record_satisfaction(actor, respondent=respondent, score=score, at=now),
            **options,
        )

    def close_case(
        self, actor: Actor, case_id: UUID, *, reason: str, note: str | None = None,
        **options: Unpack[CommandOptions],
    ) -> Outcome:
        return self._change_case(
            actor, case_id, "close-case",
            lambda c, now: c.close(
                actor, reason=reason, note=self._seal(c, note, "note", required=False), at=now
            ),
            **options,
        )

    def expire_consents(self, case_id: UUID, *, at: datetime | None = None) -> list[UUID]:
        """Record consents whose period has ended (also done before every command)."""
        now = self._now(at)
        case = self.get_case(case_id)
        expired = case.expire_consents(now)
        if expired:
            self.uow.save(case)
        return expired
