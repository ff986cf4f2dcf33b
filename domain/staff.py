"""The staff directory: the people who may sign in, and the rules about naming them.

Admins register staff, change them and deactivate them. A staff member's `id` is the
user named in the case's events, in tokens and in sessions. The directory is one
aggregate, so that an id and a login are registered once, even under concurrency.

The rules (docs/domain.md, "Staff"):

* Only an admin manages the directory; every change is an event.
* A worker or coordinator acts for a registered service and only for municipalities
  that service serves; evaluators name municipalities; an admin needs neither.
* A login (the identity provider's subject for the person, with ID-porten the
  fødselsnummer) is kept only as a keyed hash, and belongs to one staff member.
* A handover's recipient, a coordinator and a participant's contact must be an
  active staff member of the service named beside them (`require_active_member`).
* A deactivated member keeps their history but can no longer sign in or be named.
* Nobody is registered to, or moved into, a closed service; the members it has keep
  it (`ServiceInfo.require_open`).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid5

import msgspec

from domain.aggregate import Aggregate, Snapshot
from domain.errors import InvalidValue, NotAuthorised, StaffExists, UnknownStaff
from domain.events import StaffChanged, StaffDeactivated, StaffReactivated, StaffRegistered
from domain.services import ServiceInfo
from domain.values import MUNICIPALITY_PATTERN, ROLES, Actor

STAFF_DIRECTORY_ID = uuid5(UUID("6f1b7a52-3a43-4a8e-9f0e-2b5a6c1d9e10"), "staff-directory")
# The same shape as a token's `sub`: letters, digits, dot, dash, underscore, @.
STAFF_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Roles that act for a service: inside cases, or as its unit leader (enhetsleder:
# the training register and the implementation reports of the own service).
ROLES_WITH_SERVICE = frozenset({"worker", "coordinator", "leader"})
# Roles that must name the municipalities they act for (an admin manages services only).
ROLES_WITH_MUNICIPALITIES = frozenset({"worker", "coordinator", "leader", "evaluator"})
ROLE_NAMES = {
    "worker": "ansatt", "coordinator": "koordinator", "leader": "enhetsleder",
    "evaluator": "evaluator", "admin": "administrator",
}


class StaffMember(msgspec.Struct, frozen=True):
    id: str
    name: str
    email: str | None
    service: str | None
    roles: tuple[str, ...]
    municipalities: tuple[str, ...]
    login: str | None  # the keyed hash of the login subject, never the subject
    active: bool = True


class StaffState(msgspec.Struct):
    members: dict[str, StaffMember] = {}
    logins: dict[str, str] = {}  # login hash -> staff id


class StaffSnapshot(Snapshot, frozen=True, kw_only=True):
    state: StaffState


class StaffDetails(msgspec.Struct, frozen=True):
    """What an admin types for a staff member (checked by `StaffDirectory`)."""

    name: str
    email: str | None
    service: ServiceInfo | None
    roles: tuple[str, ...]
    municipalities: tuple[str, ...]
    login: str | None


def _checked(details: StaffDetails) -> StaffDetails:
    """The details cleaned, or InvalidValue naming the field and the rule."""
    name = details.name.strip()
    if not name:
        raise InvalidValue("name", "Den ansatte må ha et navn.")
    if len(name) > 200:
        raise InvalidValue("name", "Navnet kan ha høyst 200 tegn.")
    email = (details.email or "").strip() or None
    if email is not None and (len(email) > 254 or not re.match(EMAIL_PATTERN, email)):
        raise InvalidValue("email", "E-postadressen må se ut som navn@eksempel.no.")
    roles = tuple(dict.fromkeys(details.roles))
    if not roles:
        raise InvalidValue("roles", "Den ansatte må ha minst én rolle.")
    for role in roles:
        if role not in ROLES:
            raise InvalidValue("roles", f"Ukjent rolle «{role}». Gyldige roller: "
                                        f"{', '.join(ROLES)}.")
    needs_service = ROLES_WITH_SERVICE.intersection(roles)
    if needs_service and details.service is None:
        role = ROLE_NAMES[min(needs_service)]
        raise InvalidValue("service", f"En {role} må høre til en tjeneste.")
    municipalities = tuple(dict.fromkeys(details.municipalities))
    for number in municipalities:
        if not re.match(MUNICIPALITY_PATTERN, number):
            raise InvalidValue("municipalities", "Et kommunenummer har fire sifre.")
    needs_municipality = ROLES_WITH_MUNICIPALITIES.intersection(roles)
    if needs_municipality and not municipalities:
        role = ROLE_NAMES[min(needs_municipality)]
        raise InvalidValue("municipalities", f"En {role} må ha minst én kommune.")
    if details.service is not None:
        outside = [m for m in municipalities if not details.service.serves(m)]
        if outside:
            raise InvalidValue(
                "municipalities",
                f"Tjenesten {details.service.name} betjener ikke kommune {outside[0]}.",
            )
    return StaffDetails(name=name, email=email, service=details.service, roles=roles,
                        municipalities=municipalities, login=details.login)


class StaffDirectory(Aggregate):
    created_by = StaffRegistered
    Snapshot = StaffSnapshot
    ID: ClassVar[UUID] = STAFF_DIRECTORY_ID

    def __init__(self, id: UUID = STAFF_DIRECTORY_ID) -> None:  # noqa: A002
        super().__init__(id)
        self.state = StaffState()

    @classmethod
    def empty(cls) -> StaffDirectory:
        return cls(STAFF_DIRECTORY_ID)

    # Commands ----------------------------------------------------------------------

    def register(self, actor: Actor, *, staff_id: str,
                 details: StaffDetails, at: datetime) -> StaffMember:
        """Register a staff member. Only an admin may; an id and a login once."""
        self._admin_only(actor)
        if not re.match(STAFF_ID_PATTERN, staff_id):
            raise InvalidValue(
                "id", "En ansatt-id har 2-100 tegn: bokstaver, sifre, punktum, "
                      "bindestrek, understrek eller @.")
        clean = _checked(details)
        if clean.service is not None:
            clean.service.require_open("service")
        if staff_id in self.state.members:
            raise StaffExists()
        self._login_free(clean.login, staff_id)
        self._trigger(StaffRegistered, at, staff_id=staff_id, registered_by=actor.user,
                      **self._fields(clean))
        return self.state.members[staff_id]

    def change(self, actor: Actor, *, staff_id: str,
               details: StaffDetails | None, active: bool | None, at: datetime) -> StaffMember:
        """Change a member's details and/or whether they are active; no-op when nothing
        changes (so that a repeated change records nothing)."""
        self._admin_only(actor)
        member = self.member(staff_id)
        if details is not None:
            clean = _checked(details)
            if clean.service is not None and clean.service.id != member.service:
                clean.service.require_open("service")
            self._login_free(clean.login, staff_id)
            fields = self._fields(clean)
            if any(getattr(member, k) != v for k, v in fields.items()):
                self._trigger(StaffChanged, at, staff_id=staff_id, changed_by=actor.user, **fields)
        if active is not None and active != self.member(staff_id).active:
            event = StaffReactivated if active else StaffDeactivated
            self._trigger(event, at, staff_id=staff_id, changed_by=actor.user)
        return self.member(staff_id)

    # Queries -----------------------------------------------------------------------

    def member(self, staff_id: str) -> StaffMember:
        try:
            return self.state.members[staff_id]
        except KeyError:
            raise UnknownStaff() from None

    def find(self, staff_id: str) -> StaffMember | None:
        return self.state.members.get(staff_id)

    def by_login(self, login: str) -> StaffMember | None:
        """The member with this login hash, active or not."""
        staff_id = self.state.logins.get(login)
        return None if staff_id is None else self.state.members[staff_id]

    def members(self, *, service: str | None = None, active: bool | None = None
                ) -> list[StaffMember]:
        return [m for _, m in sorted(self.state.members.items())
                if (service is None or m.service == service)
                and (active is None or m.active == active)]

    def require_active_member(self, user: str, service_id: str, field: str) -> StaffMember:
        """The rule for naming a person in a case: an active member of that service."""
        member = self.state.members.get(user)
        if member is None:
            raise InvalidValue(field, f"Ingen ansatt med id «{user}» er registrert.")
        if not member.active:
            raise InvalidValue(field, f"{member.name} er ikke lenger aktiv.")
        if member.service != service_id:
            raise InvalidValue(field, f"{member.name} hører ikke til den valgte tjenesten.")
        return member

    # Helpers -----------------------------------------------------------------------

    @staticmethod
    def _admin_only(actor: Actor) -> None:
        if "admin" not in actor.roles:
            raise NotAuthorised("Bare en administrator kan endre ansattlisten.")

    def _login_free(self, login: str | None, staff_id: str) -> None:
        if login is None:
            return
        holder = self.state.logins.get(login)
        if holder is not None and holder != staff_id:
            raise InvalidValue("login", "Denne påloggingen hører allerede til en annen ansatt.")

    @staticmethod
    def _fields(details: StaffDetails) -> dict[str, object]:
        return {
            "name": details.name, "email": details.email,
            "service": details.service.id if details.service else None,
            "roles": details.roles, "municipalities": details.municipalities,
            "login": details.login,
        }

    # Applying ----------------------------------------------------------------------

    def _put(self, member: StaffMember) -> None:
        old = self.state.members.get(member.id)
        if old is not None and old.login is not None:
            self.state.logins.pop(old.login, None)
        self.state.members[member.id] = member
        if member.login is not None:
            self.state.logins[member.login] = member.id

    def _on_StaffRegistered(self, e: StaffRegistered) -> None:
        self._put(StaffMember(id=e.staff_id, name=e.name, email=e.email, service=e.service,
                              roles=e.roles, municipalities=e.municipalities, login=e.login))

    def _on_StaffChanged(self, e: StaffChanged) -> None:
        self._put(msgspec.structs.replace(
            self.state.members[e.staff_id], name=e.name, email=e.email, service=e.service,
            roles=e.roles, municipalities=e.municipalities, login=e.login))

    def _on_StaffDeactivated(self, e: StaffDeactivated) -> None:
        self._put(msgspec.structs.replace(self.state.members[e.staff_id], active=False))

    def _on_StaffReactivated(self, e: StaffReactivated) -> None:
        self._put(msgspec.structs.replace(self.state.members[e.staff_id], active=True))
