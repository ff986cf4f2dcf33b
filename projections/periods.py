"""The fixed grid of periods statistics are published for: month, quarter, half-year, year.

A period is written `2026`, `2026-H1`, `2026-Q3` or `2026-03`. Stocks are counted
as at the end of a period (the instant its last day ends, UTC), flows during it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

MIN_YEAR, MAX_YEAR = 1900, 2999


class InvalidPeriod(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Period:
    year: int
    first_month: int
    months: int

    @property
    def label(self) -> str:
        if self.months == 12:
            return f"{self.year}"
        if self.months == 6:
            return f"{self.year}-H{1 if self.first_month == 1 else 2}"
        if self.months == 3:
            return f"{self.year}-Q{(self.first_month - 1) // 3 + 1}"
        return f"{self.year}-{self.first_month:02d}"

    @property
    def start(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        month = self.first_month + self.months
        return date(self.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)

    @property
    def month_labels(self) -> list[str]:
        return [f"{self.year}-{m:02d}" for m in range(self.first_month, self.first_month + self.months)]


def parse_period(text: str) -> Period:
    """A period as evaluators write it; a Norwegian message that says what is wrong."""
    shapes = ("skriv et år (2026), et halvår (2026-H1 eller 2026-H2), et kvartal "
              "(2026-Q1 til 2026-Q4) eller en måned (2026-01 til 2026-12)")
    found = re.fullmatch(r"([0-9]{4})(?:-(.*))?", text.strip())
    if not found:
        raise InvalidPeriod(f"Perioden er ikke skrevet riktig: {shapes}.")
    year, rest = int(found[1]), found[2]
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidPeriod(f"Året må være mellom {MIN_YEAR} og {MAX_YEAR}.")
    if rest is None:
        return Period(year, 1, 12)
    upper = rest.upper()
    if upper[:1] == "H" and upper[1:] in ("1", "2"):
        return Period(year, 1 if upper == "H1" else 7, 6)
    if upper[:1] == "H":
        raise InvalidPeriod("Et halvår skrives H1 eller H2, for eksempel 2026-H1.")
    if upper[:1] in ("Q", "K") and upper[1:] in ("1", "2", "3", "4"):
        return Period(year, 3 * (int(upper[1]) - 1) + 1, 3)
    if upper[:1] in ("Q", "K"):
        raise InvalidPeriod("Et kvartal skrives Q1, Q2, Q3 eller Q4, for eksempel 2026-Q3.")
    if rest.isdigit() and len(rest) == 2:
        if 1 <= int(rest) <= 12:
            return Period(year, int(rest), 1)
        raise InvalidPeriod("Måneden må være fra 01 til 12, for eksempel 2026-03.")
    raise InvalidPeriod(f"Perioden er ikke skrevet riktig: {shapes}.")


def parse_municipality(text: str) -> str:
    """A municipality number (kommunenummer): four digits."""
    if not re.fullmatch(r"[0-9]{4}", text.strip()):
        raise ValueError(
            "Kommunen oppgis med kommunenummeret, fire sifre, for eksempel 4225."
        )
    return text.strip()


def periods_of_year(year: int) -> list[Period]:
    """Every published period of a year: the year, its halves, quarters and months."""
    return (
        [Period(year, 1, 12)]
        + [Period(year, m, 6) for m in (1, 7)]
        + [Period(year, m, 3) for m in (1, 4, 7, 10)]
        + [Period(year, m, 1) for m in range(1, 13)]
    )
