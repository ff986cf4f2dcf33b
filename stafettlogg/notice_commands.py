"""How people choose their notices, and the expiry of consents on schedule.

A mixin of `Stafettlogg` (`stafettlogg/application.py`). A choice is a
`NoticeSettings` aggregate per person (`domain/notices.py`); a guardian's e-mail
address is sealed under a data key of that aggregate (the same key store and sealing
as a child's data), so that it is never in the events in clear and can be shredded.
The outbox and the sender are `projections/outbox.py` and `stafettlogg/notices.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import msgspec
from eventsourcing.application import AggregateNotFoundError

from domain.aggregate import Aggregate
from domain.case import SYSTEM, Case
from domain.notices import NoticeSettings, checked_email, notice_settings_id
from domain.values import Actor

if TYPE_CHECKING:
    from stafettlogg.family_reads import FamilyPerson


class NoticeChoiceView(msgspec.Struct, frozen=True):
    """A person's choice as a page shows it. `email` only for the guardian themself."""

    choice: str
    chosen: bool  # whether the person ever chose (a guardian is asked at first sign-in)
    email: str | None = None


class NoticeCommands:
    if TYPE_CHECKING:
        uow: Any
        sealer: Any

        def _now(self, at: datetime | None) -> datetime: ...
        def get_case(self, case_id: UUID) -> Case: ...
        def _change_case(self, actor: Actor, case_id: UUID, action: str, command: Any,
                         **options: Any) -> Any: ...

    def _notice_settings(self, kind: str, person: str) -> NoticeSettings:
        return self.uow.load_or_start(NoticeSettings, notice_settings_id(kind, person),
                                      lambda: NoticeSettings.start(kind, person))

    # Staff ---------------------------------------------------------------------------

    def staff_notices(self, actor: Actor) -> NoticeChoiceView:
        settings = self._notice_settings("staff", actor.user)
        return NoticeChoiceView(choice=settings.state.choice, chosen=settings.version > 0)

    def choose_staff_notices(self, actor: Actor, choice: str,
                             at: datetime | None = None) -> NoticeChoiceView:
        """A staff member's own choice (the address is the staff directory's)."""
        now = self._now(at)
        key = notice_settings_id("staff", actor.user)

        def attempt() -> tuple[NoticeChoiceView, list[Aggregate]]:
            settings = self._notice_settings("staff", actor.user)
            changed = settings.choose(choice, at=now)
            return (NoticeChoiceView(choice=settings.state.choice, chosen=True),
                    [settings] if changed else [])

        return self.uow.retrying(key, attempt)  # type: ignore[no-any-return]

    # Guardians -----------------------------------------------------------------------

    def _guardian_email(self, settings: NoticeSettings) -> str | None:
        if settings.state.email is None:
            return None
        try:
            return self.sealer.open(settings.id, settings.state.email)  # type: ignore[no-any-return]
        except Exception:  # noqa: BLE001 - a shredded key: no address
            return None

    def guardian_notices(self, person: FamilyPerson) -> NoticeChoiceView:
        """A guardian's own choice and address, for their own page."""
        settings = self._notice_settings("guardian", person.guardian_login)
        return NoticeChoiceView(choice=settings.state.choice, chosen=settings.version > 0,
                                email=self._guardian_email(settings))

    def choose_guardian_notices(self, person: FamilyPerson, choice: str, email: str | None,
                                at: datetime | None = None) -> NoticeChoiceView:
        """A guardian opts in (with their address) or out. The address is sealed."""
        now = self._now(at)
        key = notice_settings_id("guardian", person.guardian_login)
        clean = checked_email(email) if choice in ("now", "digest") else None

        def attempt() -> tuple[NoticeChoiceView, list[Aggregate]]:
            settings = self._notice_settings("guardian", person.guardian_login)
            same = clean is not None and clean == self._guardian_email(settings)
            sealed = None if clean is None or same else self.sealer.seal(settings.id, clean)
            changed = settings.choose(choice, at=now, email=sealed, same_email=same)
            return (NoticeChoiceView(choice=settings.state.choice, chosen=True, email=clean),
                    [settings] if changed else [])

        return self.uow.retrying(key, attempt)  # type: ignore[no-any-return]

    def should_ask_about_notices(self, person: FamilyPerson) -> bool:
        """Whether a family member signing in is asked about notices first: a guardian
        on a case who has never chosen, while the service sends notices."""
        if not self.settings.smtp.enabled:  # type: ignore[attr-defined]
            return False
        if self.guardian_notices(person).chosen:
            return False
        return any(c.role == "guardian"
                   for c in self.family_cases(person))  # type: ignore[attr-defined]

    def notice_address(self, person: str) -> str | None:
        """Where a notice to `staff:<id>` or `guardian:<index>` goes now, or None: a
        staff member's address in the directory (if active), a guardian's own."""
        kind, _, who = person.partition(":")
        if kind == "staff":
            member = self.find_staff(who)  # type: ignore[attr-defined]
            return member.email if member is not None and member.active else None
        try:
            settings = self.uow.load(NoticeSettings, notice_settings_id("guardian", who))
        except AggregateNotFoundError:
            return None
        return self._guardian_email(settings) if settings.state.choice != "off" else None

    # Consents that ran out ----------------------------------------------------------

    def record_expired_consents(self, case_id: UUID, at: datetime | None = None) -> list[UUID]:
        """Record the consents of a case whose last day has passed (the same path every
        case command takes first: `Case.expire_consents`), as the system, so that the
        access they gave ends on time without anyone touching the case. Nothing is
        recorded (not even in the access log) when nothing has run out."""
        now = self._now(at)
        case = self.get_case(case_id)
        if not case.lapsed_consents(now):
            return []
        outcome = self._change_case(SYSTEM, case_id, "expire-consents",
                                    lambda c, when: None, at=now, visible=lambda c: None)
        return [c.id for c in outcome.case.state.consents.values() if c.status == "expired"]
