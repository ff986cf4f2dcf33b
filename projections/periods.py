"""The fixed grid of periods statistics are published for: month, quarter, half-year, year.

A period is written `2026`, `2026-H1`, `2026-Q3` or `2026-03`. Stocks are counted
as at the end of a period (the instant its last day ends, UTC), flows during it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

PERIOD_PATTERN = r"^[0-9]{4}(-H[12]|-Q[1-4]|-(0[1-9]|1[0-2]))?$"
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
    if not re.match(PERIOD_PATTERN, text):
        msg = "Perioden skrives 2026, 2026-H1, 2026-Q3 eller 2026-03."
        raise InvalidPeriod(msg)
    year = int(text[:4])
    if not MIN_YEAR <= year <= MAX_YEAR:
        msg = f"Statistikk finnes for årene {MIN_YEAR}-{MAX_YEAR}."
        raise InvalidPeriod(msg)
    rest = text[5:]
    if not rest:
        return Period(year, 1, 12)
    if rest.startswith("H"):
        return Period(year, 1 if rest == "H1" else 7, 6)
    if rest.startswith("Q"):
        return Period(year, 3 * (int(rest[1]) - 1) + 1, 3)
    return Period(year, int(rest), 1)


def periods_of_year(year: int) -> list[Period]:
    """Every published period of a year: the year, its halves, quarters and months."""
    return (
        [Period(year, 1, 12)]
        + [Period(year, m, 6) for m in (1, 7)]
        + [Period(year, m, 3) for m in (1, 4, 7, 10)]
        + [Period(year, m, 1) for m in range(1, 13)]
    )
