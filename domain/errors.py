"""Domain errors: every refusal of a BTI rule has its own class and a stable code.

The codes are the ones of the HTTP contract (`409` problem details carry them as
`code`). Messages are Norwegian bokmål, meant for the case worker, and never carry
personal data: no names, no identity numbers, no free text from the case.
"""

from __future__ import annotations


class DomainError(Exception):
    """A command was refused by a rule of the BTI domain or by the case's state."""

    code: str = "domain-rule"
    default_message: str = "Handlingen er ikke tillatt."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NotFound(DomainError):
    """Something the command refers to (a handover, consent, action) does not exist."""

    code = "not-found"
    default_message = "Finnes ikke i saken."


class CaseClosed(DomainError):
    code = "case-closed"
    default_message = "Saken er avsluttet og kan ikke endres."


class OpenCaseExists(DomainError):
    code = "open-case-exists"
    default_message = "Barnet har allerede en åpen sak."


class NotHolder(DomainError):
    code = "not-holder"
    default_message = "Bare stafettholderen (eller en koordinator) kan gjøre dette."


class NotRecipient(DomainError):
    code = "not-recipient"
    default_message = "Bare mottakeren av overføringen kan godta eller avslå den."


class NotRequester(DomainError):
    code = "not-requester"
    default_message = "Bare den som ba om overføringen (eller en koordinator) kan trekke den."


class HandoverPending(DomainError):
    code = "handover-pending"
    default_message = "Saken har allerede en overføring som venter på svar."


class NoPendingHandover(DomainError):
    code = "no-pending-handover"
    default_message = "Overføringen venter ikke lenger på svar."


class ConsentRequired(DomainError):
    code = "consent-required"
    default_message = "Deling med tjenesten krever et gyldig samtykke som omfatter den."


class WrongConsenter(DomainError):
    code = "wrong-consenter"
    default_message = "Samtykket må gis av den som har samtykkekompetanse etter barnets alder."


class ConsentNotActive(DomainError):
    code = "consent-not-active"
    default_message = "Samtykket er allerede trukket tilbake eller utløpt."


class InvalidConsent(DomainError):
    code = "invalid-consent"
    default_message = "Samtykket er ikke gyldig slik det er registrert."


class DecisionRequired(DomainError):
    code = "decision-required"
    default_message = "Saken kan ikke forlate nivå 0 før beslutningen er registrert."


class TooFewServices(DomainError):
    code = "too-few-services"
    default_message = "Nivået krever flere tjenester med i saken."


class NotParticipant(DomainError):
    code = "not-participant"
    default_message = "Tjenesten din er ikke med i saken."


class Forbidden(DomainError):
    """The role may not use this at all (an evaluator on a case, an admin reading content)."""

    code = "forbidden"
    default_message = "Rollen din gir ikke tilgang til saker."


class NotAuthorised(DomainError):
    code = "not-authorised"
    default_message = "Rollen din gir ikke lov til dette."


class AlreadyParticipant(DomainError):
    code = "already-participant"
    default_message = "Tjenesten er allerede med i saken."


class HolderServiceCannotLeave(DomainError):
    code = "holder-service-cannot-leave"
    default_message = "Stafettholderens tjeneste kan ikke gå ut av saken før stafetten er overført."


class AlreadyInState(DomainError):
    code = "already-in-state"
    default_message = "Saken er allerede i denne tilstanden."


class ActionClosed(DomainError):
    code = "action-closed"
    default_message = "Tiltaket er avsluttet og kan ikke evalueres på nytt."


class UnknownService(DomainError):
    code = "unknown-service"
    default_message = "Tjenesten er ikke registrert."


class ServiceNotInMunicipality(DomainError):
    code = "service-not-in-municipality"
    default_message = "Tjenesten betjener ikke barnets kommune."


class ServiceExists(DomainError):
    code = "service-exists"
    default_message = "En tjeneste med denne id-en er allerede registrert."


class WrongLevel(DomainError):
    code = "wrong-level"
    default_message = "Dette steget hører til nivå 0."


class InvalidValue(DomainError):
    """A value is outside what the domain allows (a level of 7, a score of 0)."""

    code = "invalid-value"
    default_message = "Ugyldig verdi."

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class ConcurrentModification(DomainError):
    """Someone else changed the case since it was read; nothing of this command was saved."""

    code = "concurrent-modification"
    default_message = "Saken ble endret av noen andre samtidig. Les saken på nytt og prøv igjen."


class UnknownStaff(NotFound):
    code = "unknown-staff"
    default_message = "Ingen ansatt med denne id-en er registrert."


class StaffExists(DomainError):
    code = "staff-exists"
    default_message = "En ansatt med denne id-en er allerede registrert."


class GuardianExists(DomainError):
    code = "guardian-exists"
    default_message = "Denne foresatte er allerede registrert i saken."


class ChildTooYoung(DomainError):
    code = "child-too-young"

    def __init__(self, age: int) -> None:
        super().__init__(
            f"Barnet må være minst {age} år for å be om at noe holdes skjult for de foresatte "
            "(og fødselsdatoen må være registrert).")


class AccessWithoutLaw(DomainError):
    """A service that the family's consent (or its own part in the case) already lets in
    needs no statutory basis: sharing without consent is never a default."""

    code = "access-without-law"
    default_message = ("Tjenesten har allerede tilgang til saken gjennom samtykke eller sin "
                       "rolle i saken; det trengs ingen lovhjemmel.")


class ArchiveNotReady(DomainError):
    """The archive package of a case is made from the case as it was closed: an open
    case has none yet."""

    code = "case-not-closed"
    default_message = "Arkivpakken lages når saken er avsluttet. Saken er fortsatt åpen."


class CaseStillOpen(DomainError):
    """The child's data is erased only when every case of the child is closed (the data
    key is the child's, shared by all its cases)."""

    code = "case-open"
    default_message = ("Saken er åpen: barnets opplysninger kan ikke slettes før saken "
                       "er avsluttet.")


class AlreadyErased(DomainError):
    code = "already-erased"
    default_message = "Barnets opplysninger er allerede slettet."


class ErasureSettling(DomainError):
    """A new case for a child whose data was erased a moment ago waits a minute, so that
    nothing new is sealed under the key that is being destroyed."""

    code = "erasure-settling"
    default_message = ("Barnets opplysninger ble slettet for et øyeblikk siden. "
                       "Prøv igjen om et minutt.")
