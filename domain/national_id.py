"""Validation of Norwegian national identity numbers (fødselsnummer, D-nummer, H-nummer).

The rules, as given in the product brief (after Skatteetaten's specification):

* A number has eleven digits: ``DDMMYY``, a three-digit individual number,
  and the two check digits K1 and K2.
* K1 is computed from digits 1-9 with the weights 3 7 6 1 8 9 4 5 2.
  K2 is computed from digits 1-9 and K1 with the weights 5 4 3 2 7 6 5 4 3 2.
* Classic rule: ``K = 11 - (S mod 11)``, where 11 means 0 and 10 means the
  number is invalid. Equivalently, ``(S + K) mod 11 == 0``.
* From 1 January 2032 numbers are also issued where K1 may leave remainder
  0, 1, 2 or 3, i.e. ``(S1 + K1) mod 11`` is one of 0, 1, 2, 3. K2 keeps the
  classic rule. Both rules are accepted, so every classic number is also
  valid under the 2032 rule. The new numbers carry neither sex nor century,
  so this module deliberately derives neither, for any number.
* D-nummer: the first digit is raised by 4 (day 41-71).
  H-nummer: the third digit is raised by 4 (month 41-52).
* After removing the D/H offset, day and month must form a real calendar date
  in 1900+YY or 2000+YY (so 29 February is accepted only when YY is a
  multiple of 4).

Error messages are Norwegian bokmål and never contain the number or any
digit, since the number is personal data.
"""

from __future__ import annotations

import datetime
from typing import Literal

__all__ = [
    "InvalidNationalId",
    "normalise_national_id",
    "is_valid_national_id",
    "national_id_kind",
    "with_check_digits",
]

_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

# Accepted values of (S1 + K1) mod 11: 0 is the classic rule, 1-3 the 2032 rule.
_K1_ACCEPTED_REMAINDERS = frozenset({0, 1, 2, 3})

_DIGITS = frozenset("0123456789")

_MESSAGES = {
    "length": "Fødselsnummeret må ha elleve sifre.",
    "digits": "Fødselsnummeret kan bare inneholde sifre.",
    "date": "Fødselsnummeret inneholder ingen gyldig dato.",
    "checksum": "Fødselsnummeret har ugyldige kontrollsifre.",
}


class InvalidNationalId(ValueError):
    """Raised with a Norwegian-language, non-identifying message.

    The message never includes the number itself. ``rule`` is a short
    machine-readable name of the broken rule: ``"length"``, ``"digits"``,
    ``"date"`` or ``"checksum"``.
    """

    rule: str

    def __init__(self, rule: str) -> None:
        super().__init__(_MESSAGES[rule])
        self.rule = rule


def _weighted_sum(weights: tuple[int, ...], digits: list[int]) -> int:
    return sum(w * d for w, d in zip(weights, digits))


def _classic_check_digit(weights: tuple[int, ...], digits: list[int]) -> int | None:
    """``K = 11 - (S mod 11)``: 11 means 0, 10 means there is no valid digit (None)."""
    k = 11 - _weighted_sum(weights, digits) % 11
    return None if k == 10 else 0 if k == 11 else k


def _kind_and_date(number: str) -> tuple[Literal["fnr", "dnr", "hnr"], int, int, int]:
    """Return the kind and the (day, month, two-digit year) with offsets removed."""
    day, month, year = int(number[0:2]), int(number[2:4]), int(number[4:6])
    if day > 40 and month > 40:
        raise InvalidNationalId("date")  # cannot be both a D- and an H-nummer
    if day > 40:
        return "dnr", day - 40, month, year
    if month > 40:
        return "hnr", day, month - 40, year
    return "fnr", day, month, year


def _is_calendar_date(day: int, month: int, year: int) -> bool:
    for century in (2000, 1900):
        try:
            datetime.date(century + year, month, day)
        except ValueError:
            continue
        return True
    return False


def _validate(number: str) -> Literal["fnr", "dnr", "hnr"]:
    """Validate a string that should be exactly eleven digits; return its kind."""
    if not all(c in _DIGITS for c in number):
        raise InvalidNationalId("digits")
    if len(number) != 11:
        raise InvalidNationalId("length")

    kind, day, month, year = _kind_and_date(number)
    if not _is_calendar_date(day, month, year):
        raise InvalidNationalId("date")

    digits = [int(c) for c in number]
    k1_remainder = (_weighted_sum(_K1_WEIGHTS, digits[:9]) + digits[9]) % 11
    k2_remainder = (_weighted_sum(_K2_WEIGHTS, digits[:10]) + digits[10]) % 11
    if k1_remainder not in _K1_ACCEPTED_REMAINDERS or k2_remainder != 0:
        raise InvalidNationalId("checksum")
    return kind


def normalise_national_id(raw: str) -> str:
    """Return the eleven digits of ``raw`` or raise :class:`InvalidNationalId`.

    Whitespace is removed (so ``"020132 99997"`` is accepted), and a single dot
    between the date and the personal number (``"020132.99997"``) is allowed.
    """
    if not isinstance(raw, str):
        raise InvalidNationalId("digits")
    compact = "".join(raw.split())
    if len(compact) == 12 and compact[6] == ".":
        compact = compact[:6] + compact[7:]
    _validate(compact)
    return compact


def is_valid_national_id(number: str) -> bool:
    """True if ``number`` is exactly eleven digits forming a valid number.

    This expects the canonical form; use :func:`normalise_national_id` for
    user input that may contain spaces or a separator.
    """
    if not isinstance(number, str):
        return False
    try:
        _validate(number)
    except InvalidNationalId:
        return False
    return True


def national_id_kind(number: str) -> Literal["fnr", "dnr", "hnr"]:
    """Return ``"fnr"``, ``"dnr"`` or ``"hnr"`` for a valid number.

    Raises :class:`InvalidNationalId` if the number is not valid.
    """
    if not isinstance(number, str):
        raise InvalidNationalId("digits")
    return _validate(number)


def with_check_digits(first_nine: str) -> str | None:
    """Complete nine digits (``DDMMYY`` and the individual number) with K1 and K2.

    Both check digits follow the classic rule (``K = 11 - (S mod 11)``, 11 means
    0); when K1 or K2 would be 10 no classic number starts with these nine digits
    and None is returned (this function never uses the 2032 rule's other
    remainders). The date is not checked: the result is valid (for
    :func:`is_valid_national_id`) only if the first six digits, with any D/H
    offset removed, form a real date. For making synthetic numbers (demo data,
    tests); raises ``ValueError`` unless ``first_nine`` is exactly nine digits.
    """
    if len(first_nine) != 9 or not all(c in _DIGITS for c in first_nine):
        msg = "expected exactly nine digits"
        raise ValueError(msg)
    digits = [int(c) for c in first_nine]
    k1 = _classic_check_digit(_K1_WEIGHTS, digits)
    if k1 is None:
        return None
    k2 = _classic_check_digit(_K2_WEIGHTS, [*digits, k1])
    if k2 is None:
        return None
    return f"{first_nine}{k1}{k2}"


def checked_national_id(raw: str | None, field: str) -> str | None:
    """A typed number, checked and normalised (None when left empty); a refusal that
    names the field otherwise."""
    from domain.errors import InvalidValue

    if raw is None or not raw.strip():
        return None
    try:
        return normalise_national_id(raw)
    except InvalidNationalId as exc:
        raise InvalidValue(field, str(exc)) from None
