"""Services (tjenester) and the directory that registers them.

A service belongs to a sector and serves one or more municipalities; one that
serves several (often PPT and barnevern) is inter-municipal. The directory is one
aggregate, so that registering the same id twice is refused even under concurrency.

An admin may rename a service and close it (legge ned). A closed service stays in the
directory and in the cases it is already part of, but can no longer be brought into
a case (`ServiceInfo.require_open`, applied by `ServiceDirectory.usable`) nor have
staff registered to it. A closed service is not reopened.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import ClassVar
from uuid import UUID, uuid5

import msgspec

from domain.aggregate import Aggregate, Snapshot
from domain.errors import InvalidValue, NotAuthorised, ServiceExists, UnknownService
from domain.events import ServiceClosed, ServiceRegistered, ServiceRenamed
from domain.values import MUNICIPALITY_PATTERN, SECTORS, Actor, Sector

DIRECTORY_ID = uuid5(UUID("6f1b7a52-3a43-4a8e-9f0e-2b5a6c1d9e10"), "service-directory")
SERVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


class ServiceInfo(msgspec.Struct, frozen=True):
    """What the case needs to know of a service to apply the sharing rules."""

    id: str
    name: str
    sector: Sector
    municipalities: tuple[str, ...]
    inter_municipal: bool
    # False once closed. A default, so that snapshots taken before services could be
    # closed still load (every service in them is open).
    active: bool = True

    def serves(self, municipality: str) -> bool:
        return municipality in self.municipalities

    def require_open(self, field: str) -> ServiceInfo:
        """The rule for bringing a service into a case (or staff into a service): it
        must not be closed. `field` is the request field that named it."""
        if not self.active:
            raise InvalidValue(field, "Tjenesten er lagt ned.")
        return self


class DirectoryState(msgspec.Struct):
    services: dict[str, ServiceInfo] = {}


class DirectorySnapshot(Snapshot, frozen=True, kw_only=True):
    state: DirectoryState


class ServiceDirectory(Aggregate):
    created_by = ServiceRegistered
    Snapshot = DirectorySnapshot
    ID: ClassVar[UUID] = DIRECTORY_ID

    def __init__(self, id: UUID = DIRECTORY_ID) -> None:  # noqa: A002
        super().__init__(id)
        self.state = DirectoryState()

    @classmethod
    def empty(cls) -> ServiceDirectory:
        return cls(DIRECTORY_ID)

    def register(
        self,
        actor: Actor,
        *,
        service_id: str,
        name: str,
        sector: str,
        municipalities: list[str] | tuple[str, ...],
        at: datetime,
    ) -> ServiceInfo:
        """Register a service. Only an admin may; an id is registered once."""
        if "admin" not in actor.roles:
            raise NotAuthorised("Bare en administrator kan registrere tjenester.")
        if not re.match(SERVICE_ID_PATTERN, service_id):
            raise InvalidValue(
                "id", "Tjeneste-id kan bare ha små bokstaver, sifre og bindestrek (2-63 tegn)."
            )
        if not name.strip():
            raise InvalidValue("name", "Tjenesten må ha et navn.")
        if sector not in SECTORS:
            raise InvalidValue("sector", f"Sektor må være en av: {', '.join(SECTORS)}.")
        cleaned = tuple(dict.fromkeys(municipalities))
        if not cleaned:
            raise InvalidValue("municipalities", "Tjenesten må betjene minst én kommune.")
        for number in cleaned:
            if not re.match(MUNICIPALITY_PATTERN, number):
                raise InvalidValue("municipalities", "Et kommunenummer har fire sifre.")
        if service_id in self.state.services:
            raise ServiceExists()
        self._trigger(
            ServiceRegistered,
            at,
            service_id=service_id,
            name=name.strip(),
            sector=sector,
            municipalities=cleaned,
            inter_municipal=len(cleaned) > 1,
            registered_by=actor.user,
        )
        return self.state.services[service_id]

    def rename(self, actor: Actor, *, service_id: str, name: str, at: datetime) -> ServiceInfo:
        """Give a service a new name; the same name again records nothing."""
        self._admin_only(actor, "endre tjenester")
        info = self.get(service_id)
        clean = name.strip()
        if not clean:
            raise InvalidValue("name", "Tjenesten må ha et navn.")
        if len(clean) > 200:
            raise InvalidValue("name", "Navnet kan ha høyst 200 tegn.")
        if clean != info.name:
            self._trigger(ServiceRenamed, at, service_id=service_id, name=clean,
                          renamed_by=actor.user)
        return self.state.services[service_id]

    def close(self, actor: Actor, *, service_id: str, at: datetime) -> ServiceInfo:
        """Close (legge ned) a service; closing a closed one records nothing."""
        self._admin_only(actor, "legge ned tjenester")
        if self.get(service_id).active:
            self._trigger(ServiceClosed, at, service_id=service_id, closed_by=actor.user)
        return self.state.services[service_id]

    @staticmethod
    def _admin_only(actor: Actor, what: str) -> None:
        if "admin" not in actor.roles:
            raise NotAuthorised(f"Bare en administrator kan {what}.")

    def usable(self, service_id: str, field: str) -> ServiceInfo:
        """A service named in a case command: registered and not closed, or
        InvalidValue naming `field`. The one place case commands look a service up."""
        info = self.state.services.get(service_id)
        if info is None:
            raise InvalidValue(field, "Tjenesten er ikke registrert.")
        return info.require_open(field)

    def get(self, service_id: str) -> ServiceInfo:
        try:
            return self.state.services[service_id]
        except KeyError:
            raise UnknownService() from None

    def all(self) -> list[ServiceInfo]:
        return sorted(self.state.services.values(), key=lambda s: s.id)

    def _on_ServiceRegistered(self, event: ServiceRegistered) -> None:
        self.state.services[event.service_id] = ServiceInfo(
            id=event.service_id,
            name=event.name,
            sector=event.sector,
            municipalities=event.municipalities,
            inter_municipal=event.inter_municipal,
        )

    def _on_ServiceRenamed(self, event: ServiceRenamed) -> None:
        info = self.state.services[event.service_id]
        self.state.services[event.service_id] = msgspec.structs.replace(info, name=event.name)

    def _on_ServiceClosed(self, event: ServiceClosed) -> None:
        info = self.state.services[event.service_id]
        self.state.services[event.service_id] = msgspec.structs.replace(info, active=False)
