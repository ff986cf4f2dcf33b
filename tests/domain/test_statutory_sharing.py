"""Sharing without consent (brief, section 2): lawful only on a statutory basis.

Bringing a service into a case without the family's consent is an explicit act of the
stafettholder or a koordinator that names the statutory basis (the duty to report to
barnevernet, the duty to avert a crime, or another basis named in the reason) and a
reason. It is its own event, never a default: a service that consent or its part in
the case lets in already is not brought in by law. The service then takes part as long
as it does not leave, whatever becomes of the consents.
"""

from __future__ import annotations

import pytest

from domain import errors
from domain.events import ServiceBroughtInByLaw, ServiceJoined
from domain.values import STATUTORY_BASES, Sealed

REASON = Sealed(b"forseglet begrunnelse")


def bring_in(case, by, service, *, basis="opplysningsplikt-barnevern", at=None):
    case.bring_in_by_law(by, service=service, basis=basis, reason=REASON,
                         at=at or case.state.opened_at)


def test_the_holder_brings_a_service_in_without_consent_naming_the_basis_and_a_reason(
        case, people, services):
    bring_in(case, people.opener, services.helsestasjon)
    law, joined = case.pending_events[-2:]
    assert isinstance(law, ServiceBroughtInByLaw) and isinstance(joined, ServiceJoined)
    assert (law.brought_in_service, law.sector, law.basis, law.reason) == (
        services.helsestasjon.id, "helsestasjon", "opplysningsplikt-barnevern", REASON)
    assert joined.joined_service == services.helsestasjon.id
    assert case.has_access(services.helsestasjon.id, case.state.opened_at.date())
    assert case.state.consents == {}  # no consent was made up for it


def test_a_coordinator_of_the_municipality_may_do_it_too(case, people, services):
    bring_in(case, people.coordinator, services.skole, basis="avvergeplikt")
    assert case.state.by_law[services.skole.id].basis == "avvergeplikt"


def test_nobody_else_on_the_case_may(case, people, services, given, refused):
    given.taking_part(case, services.skole)
    with refused(case, errors.NotHolder, "not-holder"):
        bring_in(case, people.teacher, services.helsestasjon)
    with refused(case, errors.NotHolder, "not-holder"):
        bring_in(case, people.neighbour_coordinator, services.helsestasjon)


@pytest.mark.parametrize("basis", ["", "fordi", "samtykke"])
def test_the_basis_is_one_of_the_statutory_bases(case, people, services, refused, basis):
    assert basis not in STATUTORY_BASES
    with refused(case, errors.InvalidValue, "invalid-value"):
        bring_in(case, people.opener, services.helsestasjon, basis=basis)


def test_it_is_never_a_default_a_service_with_consent_needs_no_law(
        case, people, services, given, refused):
    given.consent(case, services.skole)
    with refused(case, errors.AccessWithoutLaw, "access-without-law"):
        bring_in(case, people.opener, services.skole)
    with refused(case, errors.AccessWithoutLaw, "access-without-law"):
        bring_in(case, people.opener, services.barnehage)  # the service that opened it
    bring_in(case, people.opener, services.helsestasjon)
    with refused(case, errors.AccessWithoutLaw, "access-without-law"):
        bring_in(case, people.opener, services.helsestasjon)  # once is enough


def test_a_service_outside_the_municipality_cannot_be_brought_in(case, people, services, refused):
    with refused(case, errors.ServiceNotInMunicipality, "service-not-in-municipality"):
        bring_in(case, people.opener, services.neighbour_school)


def test_withdrawing_a_consent_does_not_end_access_given_by_law(case, people, services, given, days):
    consent_id = given.taking_part(case, services.skole)
    bring_in(case, people.opener, services.helsestasjon)
    case.withdraw_consent(people.opener, consent_id=consent_id, reason=None, at=days(5))
    on = days(5).date()
    assert not case.is_taking_part(services.skole.id, on)
    assert case.is_taking_part(services.helsestasjon.id, on)
    # and a handover to the service brought in by law needs no consent either
    case.request_handover(people.opener, to_user=people.nurse.user,
                          to_service=services.helsestasjon, at=days(6))


def test_access_by_law_ends_when_the_service_leaves(case, people, services, days):
    bring_in(case, people.opener, services.helsestasjon)
    case.remove_participant(people.opener, service_id=services.helsestasjon.id, at=days(3))
    assert not case.has_access(services.helsestasjon.id, days(3).date())
    assert services.helsestasjon.id not in case.state.by_law


def test_a_closed_case_brings_nobody_in(case, people, services, given, refused):
    given.closed(case)
    with refused(case, errors.CaseClosed, "case-closed"):
        bring_in(case, people.opener, services.helsestasjon)
