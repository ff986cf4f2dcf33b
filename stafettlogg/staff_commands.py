"""The staff directory in the application: register, change, look up, and the check
that a person named in a case command is an active member of the named service.

A mixin of `Stafettlogg` (`stafettlogg/application.py`). Login subjects are turned
into their keyed hash (the blind index) here, before the domain sees them, so that
neither an event nor an answer ever holds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain import errors
from domain.staff import STAFF_DIRECTORY_ID, StaffDetails, StaffDirectory, StaffMember
from domain.access import may_manage_services
from domain.values import Actor
from stafettlogg.idempotency import Idempotency, IdempotencyRecord
from stafettlogg.views import StaffListView, StaffView, staff_view

if TYPE_CHECKING:
    from domain.aggregate import Aggregate
    from domain.services import ServiceInfo
    from stafettlogg.keys import BlindIndex
    from stafettlogg.unit_of_work import UnitOfWork

# `login` of a change: leave as it is (None would remove the login).
UNCHANGED: Any = object()


class StaffCommands:
    """The staff directory's commands and queries."""

    if TYPE_CHECKING:
        uow: UnitOfWork
        blind_index: BlindIndex

        def _now(self, at: datetime | None) -> datetime: ...
        def _replay(self, actor: Actor, idempotency: Idempotency | None
                    ) -> IdempotencyRecord | None: ...
        def _known_service(self, service_id: str, field: str) -> ServiceInfo: ...

    def _staff(self) -> StaffDirectory:
        return self.uow.load_or_start(StaffDirectory, STAFF_DIRECTORY_ID, StaffDirectory.empty)

    def _staff_details(
        self, *, name: str, email: str | None, service: str | None, roles: Sequence[str],
        municipalities: Sequence[str], login: str | None,
    ) -> StaffDetails:
        return StaffDetails(
            name=name, email=email,
            service=None if service is None else self._known_service(service, "service"),
            roles=tuple(roles), municipalities=tuple(municipalities), login=login,
        )

    def register_staff(
        self, actor: Actor, *, staff_id: str, name: str, service: str | None,
        roles: Sequence[str], municipalities: Sequence[str] = (), email: str | None = None,
        login_subject: str | None = None, at: datetime | None = None,
        idempotency: Idempotency | None = None,
    ) -> tuple[StaffMember, bool]:
        """Register a staff member (admins only); the flag says whether this is a
        remembered answer."""
        self._require_admin(actor)
        now = self._now(at)
        login = self._login_hash(login_subject)

        def attempt() -> tuple[tuple[StaffMember, bool], list[Aggregate]]:
            record = self._replay(actor, idempotency)
            if record is not None:
                return (self.staff_member(record.state.target), True), []
            directory = self._staff()
            member = directory.register(
                actor, staff_id=staff_id, at=now, details=self._staff_details(
                    name=name, email=email, service=service, roles=roles,
                    municipalities=municipalities, login=login),
            )
            changed: list[Aggregate] = [directory]
            if idempotency is not None:
                changed.append(IdempotencyRecord.create(
                    actor.user, idempotency, target=member.id, version=directory.version,
                    result=None, at=now,
                ))
            return (member, False), changed

        return self.uow.retrying(STAFF_DIRECTORY_ID, attempt)

    def change_staff(
        self, actor: Actor, staff_id: str, *, active: bool | None = None,
        login_subject: Any = UNCHANGED, at: datetime | None = None, **changes: Any,
    ) -> StaffMember:
        """Change any of name, email, service, roles, municipalities, the login
        (`login_subject`, None to remove it) and `active`; the rest stays as it is."""
        self._require_admin(actor)
        now = self._now(at)
        unknown = set(changes) - {"name", "email", "service", "roles", "municipalities"}
        if unknown:
            raise TypeError(f"unknown staff fields: {sorted(unknown)}")

        def attempt() -> tuple[StaffMember, list[Aggregate]]:
            directory = self._staff()
            member = directory.member(staff_id)
            details = None
            if changes or login_subject is not UNCHANGED:
                login = (member.login if login_subject is UNCHANGED
                         else self._login_hash(login_subject))
                current = {"name": member.name, "email": member.email,
                           "service": member.service, "roles": member.roles,
                           "municipalities": member.municipalities}
                details = self._staff_details(**{**current, **changes}, login=login)
            changed = directory.change(actor, staff_id=staff_id, details=details,
                                       active=active, at=now)
            return changed, [directory]

        return self.uow.retrying(STAFF_DIRECTORY_ID, attempt)

    def staff_member(self, staff_id: str) -> StaffMember:
        return self._staff().member(staff_id)

    # Reads with the policy applied (stafettlogg/views.py) --------------------------

    def staff_list(
        self, actor: Actor, *, service: str | None = None, active: bool | None = None,
        limit: int = 50, after: int = 0,
    ) -> StaffListView:
        """A page of the directory in id order; `after` is the cursor of the last page."""
        self._require_staff(actor)
        members = self.list_staff(service=service, active=active)
        page = members[after:after + limit]
        more = after + limit < len(members)
        return StaffListView(
            items=[staff_view(m, full=may_manage_services(actor)) for m in page],
            next=after + limit if more else None,
        )

    def read_staff(self, actor: Actor, staff_id: str) -> StaffView:
        self._require_staff(actor)
        return staff_view(self.staff_member(staff_id), full=may_manage_services(actor))

    def staff_view_of(self, actor: Actor, member: StaffMember) -> StaffView:
        return staff_view(member, full=may_manage_services(actor))

    @staticmethod
    def _require_admin(actor: Actor) -> None:
        if not may_manage_services(actor):
            raise errors.Forbidden("Bare en administrator kan endre ansattlisten.")

    @staticmethod
    def _require_staff(actor: Actor) -> None:
        if not actor.roles:
            raise errors.Forbidden("Bare ansatte kan se ansattlisten.")

    def find_staff(self, staff_id: str) -> StaffMember | None:
        return self._staff().find(staff_id)

    def list_staff(self, *, service: str | None = None, active: bool | None = None
                   ) -> list[StaffMember]:
        return self._staff().members(service=service, active=active)

    def may_sign_in(self, staff_id: str) -> bool:
        """False for a deactivated staff member (their tokens and sessions end); an id
        the directory does not know is an operator's token for a script: allowed."""
        member = self.find_staff(staff_id)
        return member is None or member.active

    def staff_by_login(self, subject: str) -> StaffMember | None:
        """The staff member who signs in with this subject (active or not)."""
        directory = self._staff()
        for index in self.blind_index.variants():  # older keys after `keys rotate index`
            member = directory.by_login(index.of_login(subject))
            if member is not None:
                return member
        return None

    def require_active_member(self, user: str, service_id: str, field: str) -> StaffMember:
        return self._staff().require_active_member(user, service_id, field)

    def _login_hash(self, subject: str | None) -> str | None:
        if subject is None:
            return None
        if not subject.strip() or len(subject) > 255:
            raise errors.InvalidValue("login.subject", "Påloggings-id-en må ha 1-255 tegn.")
        variants = self.blind_index.variants()
        if len(variants) > 1:  # after `keys rotate index`: one login keeps one hash
            directory = self._staff()
            for index in variants:
                known = index.of_login(subject.strip())
                if directory.by_login(known) is not None:
                    return known
        return variants[0].of_login(subject.strip())
