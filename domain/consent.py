"""Consent rules of the brief's section 2, in one place.

* Consent is given to a service, for a purpose and a period, orally or in writing,
  and can be withdrawn at any time.
* Below the youth-consent age (configurable per municipality, default 16) the
  guardians consent; from it, the young person. An unknown age means the guardians.
* Sharing with another service needs an active consent that covers that service;
  the service that opened the case keeps its own access.
"""

from __future__ import annotations

from datetime import date

from domain.values import Consenter

DEFAULT_YOUTH_CONSENT_AGE = 16
# Municipalities choose 15 or 16 in practice; anything outside 12-18 is a typo.
YOUTH_CONSENT_AGE_RANGE = range(12, 19)
# From this age the child's own view is recorded with the consent (barneloven § 31).
CHILD_VIEW_AGE = 12


def required_consenter(child_age: int | None, youth_consent_age: int) -> Consenter:
    """Who must give consent for a child of this age: the guardians or the child."""
    if child_age is None or child_age < youth_consent_age:
        return "guardian"
    return "child"


def is_consent_active(*, withdrawn: bool, valid_until: date, on: date) -> bool:
    """A consent reaches as long as it is not withdrawn and its last day has not passed."""
    return not withdrawn and on <= valid_until


def consent_status(recorded: str, valid_until: date, on: date) -> str:
    """`active`, `expired` or `withdrawn` as of a day. A consent whose last day has
    passed is expired that very day, whether or not its expiry has been recorded."""
    if recorded == "withdrawn":
        return "withdrawn"
    if recorded == "expired" or valid_until < on:
        return "expired"
    return "active"
