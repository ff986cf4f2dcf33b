"""Retention and erasure: how long a closed case is kept, and what an erasure may say.

* A municipality may set an archive period, a whole number of years after closure
  (`ARCHIVE_YEARS_RANGE`). Without one, nothing is erased on schedule.
* A child's data key is per child, shared by all its cases: erasing it erases the data
  of every case of the child at once, so it is allowed only when every case of the
  child is closed (`Child.erase`, `Case.erase_child_data`), and on schedule only when
  the archive period of every one of them has run out (`child_erasure_due`).
* The reference kept with an erasure on request must not hold the personal data that
  is being erased (`check_erasure_note`).

Time comes in as an argument; nothing here reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta

from domain import errors

# Years after closure; a municipality sets one or none.
ARCHIVE_YEARS_RANGE = range(1, 101)
# A new case for a child waits this long after the child's data was erased, so that a
# process that still holds the destroyed key (a cache) seals nothing new under it.
ERASURE_SETTLES = timedelta(minutes=1)
NOTE_MAX_LENGTH = 200
# Eleven digits, perhaps with a space after the sixth: a fødselsnummer or D-nummer.
_NATIONAL_ID_LIKE = re.compile(r"(?<!\d)\d{6}\s?\d{5}(?!\d)")


def archive_period_ends(closed_on: date, years: int) -> date:
    """The first day after the archive period of a case closed on `closed_on`
    (29 February counts from 28 February in a year without one)."""
    try:
        return closed_on.replace(year=closed_on.year + years)
    except ValueError:  # 29 February
        return closed_on.replace(year=closed_on.year + years, day=28)


def erasure_due(closed_on: date | None, years: int | None, today: date) -> bool:
    """Whether a case's archive period has run out on `today` (never without a period,
    never for an open case)."""
    if closed_on is None or years is None:
        return False
    return today >= archive_period_ends(closed_on, years)


def child_erasure_due(cases: Iterable[tuple[date | None, int | None]], today: date) -> bool:
    """A child's data is erased on schedule when the period of every one of its cases
    (closed on, the years of its municipality) has run out."""
    found = list(cases)
    return bool(found) and all(erasure_due(closed, years, today) for closed, years in found)


def check_erasure_note(note: str | None, personal: Iterable[str | None]) -> str | None:
    """The reference of an erasure on request, cleaned: short, and without the personal
    data that is being erased (the child's name or any part of it, birth date, identity
    number, a guardian's name, or anything that looks like a fødselsnummer).
    Refused with `invalid-value` naming `reason`."""
    if note is None or not note.strip():
        raise errors.InvalidValue(
            "reason", "Skriv hvorfor opplysningene slettes, for eksempel «krav om sletting, "
                      "journalpost 2026/1234».")
    clean = " ".join(note.split())
    if len(clean) > NOTE_MAX_LENGTH:
        raise errors.InvalidValue(
            "reason", f"Begrunnelsen kan være høyst {NOTE_MAX_LENGTH} tegn.")
    folded = clean.casefold()
    words = set(re.findall(r"\w+", folded))
    for value in filter(None, personal):
        value_folded = " ".join(value.casefold().split())
        parts = [p for p in re.findall(r"\w+", value_folded) if len(p) >= 2]
        if value_folded in folded or any(p in words for p in parts if not p.isdigit()) \
                or any(p in folded for p in parts if p.isdigit() and len(p) >= 6):
            raise errors.InvalidValue("reason", _PERSONAL_IN_NOTE)
    for iso in filter(None, personal):  # a birth date written as people write it
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso):
            y, m, d = iso.split("-")
            if any(form in clean for form in (f"{d}.{m}.{y}", f"{d}{m}{y[2:]}",
                                              f"{int(d)}.{int(m)}.{y}")):
                raise errors.InvalidValue("reason", _PERSONAL_IN_NOTE)
    if _NATIONAL_ID_LIKE.search(clean):
        raise errors.InvalidValue("reason", _PERSONAL_IN_NOTE)
    return clean


_PERSONAL_IN_NOTE = (
    "Begrunnelsen blir stående etter slettingen og kan ikke inneholde barnets navn, "
    "fødselsdato eller fødselsnummer, eller navnet på en foresatt. Skriv hjemmelen og "
    "journalnummeret for kravet i stedet.")
