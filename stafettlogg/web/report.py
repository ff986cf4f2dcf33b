"""The statistics as an evaluator reads them: one released table laid out for people.

The view model of the dashboard page, its printable page and PDF, and the Excel
workbook (`web/pages/statistics.py`, `web/downloads.py`): each indicator as a table
by sector x level with its totals, in Norwegian, with the municipalities by name. A
hidden cell is `:` (the symbol Statistics Norway uses), never 0 or a blank. Nothing
is decided here about what may be shown: the cells are those of a released table
(`StatisticsService.indicators`), already cut to the evaluator's municipalities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.values import SECTORS
from projections.indicators import ALL, BY_KEY, LEVELS, PublishedCell
from projections.periods import parse_period
from projections.protection import Policy
from stafettlogg.web.pages import words

HIDDEN = ":"
HIDDEN_NOTE = "Skjult for å beskytte personvernet."
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
          "september", "oktober", "november", "desember")
ALL_SECTORS = "Alle sektorer"
ALL_LEVELS = "Alle nivåer"
LEVEL_NAMES = {**{level: f"Nivå {level}" for level in LEVELS}, ALL: ALL_LEVELS}

# The sections of the dashboard, in order: (key, heading, what it shows, indicators).
SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("oppfolging", "Barn som følges opp",
     "Barn med åpen sak ved periodens slutt, etter sektoren til stafettholderen og sakens nivå.",
     ("children_with_holder", "children_with_coordinator",
      "children_with_responsibility_group", "children_with_individual_plan")),
    ("aktivitet", "Aktivitet i perioden",
     "Det som skjedde i løpet av perioden.",
     ("cases_opened", "interdisciplinary_meetings", "handovers_completed",
      "services_brought_in_by_law", "level_transitions", "satisfaction_answers",
      "satisfaction_mean")),
    ("prosess", "Prosessindikatorer",
     "Hvor raskt og hvor godt arbeidet går: overføringer, beslutninger på nivå 0 og "
     "evaluering av tiltak.",
     ("handover_days_median", "level0_decisions", "level0_decisions_within_14_days",
      "actions_evaluated", "actions_evaluated_by_date")),
    ("avslutning", "Avsluttede saker",
     "Saker avsluttet i perioden, etter årsak, og hvor lenge sakene varte.",
     ("cases_closed_concern_resolved", "cases_closed_moved_away",
      "cases_closed_transferred_to_other_service", "cases_closed_family_declined",
      "cases_closed_other", "case_duration_days_median")),
)
# The indicators a month-by-month trend shows (counts that say most about a year).
TREND = ("children_with_holder", "cases_opened", "interdisciplinary_meetings",
         "handovers_completed", "level0_decisions", "actions_evaluated")


def period_name(label: str) -> str:
    """A period as people say it: "2026", "1. halvår 2026", "3. kvartal 2026", "mars 2026"."""
    period = parse_period(label)
    if period.months == 12:
        return str(period.year)
    if period.months == 6:
        return f"{1 if period.first_month == 1 else 2}. halvår {period.year}"
    if period.months == 3:
        return f"{(period.first_month - 1) // 3 + 1}. kvartal {period.year}"
    return f"{MONTHS[period.first_month - 1]} {period.year}"


def number_text(value: float | int) -> str:
    """A number as Norwegian readers write it: 12, 2,5, 1 234 (a no-break space)."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", "\u00a0").replace(".", ",")
    return f"{int(value):,}".replace(",", "\u00a0")


@dataclass(frozen=True)
class Figure:
    """One cell as shown: a number, or hidden."""

    value: float | int | None
    hidden: bool

    @property
    def text(self) -> str:
        if self.hidden or self.value is None:
            return HIDDEN
        return number_text(self.value)


@dataclass(frozen=True)
class GridRow:
    sector: str  # a sector code, or "all"
    name: str
    figures: tuple[Figure, ...]  # levels 0-3, then all levels

    @property
    def total(self) -> Figure:
        return self.figures[-1]


@dataclass(frozen=True)
class IndicatorGrid:
    """One indicator for one municipality (or all of the evaluator's) and period."""

    key: str
    label: str
    kind: str  # stock, flow or measure
    definition: str
    rows: tuple[GridRow, ...]  # every sector, then all sectors

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(LEVEL_NAMES[level] for level in (*LEVELS, ALL))

    @property
    def total(self) -> Figure:
        return self.rows[-1].total

    @property
    def by_sector(self) -> tuple[GridRow, ...]:
        """The sectors, without the total row: what the chart shows."""
        return self.rows[:-1]

    @property
    def has_hidden(self) -> bool:
        return any(f.hidden for row in self.rows for f in row.figures)

    @property
    def largest(self) -> float:
        """The largest shown sector total (the chart's scale); 0 if none."""
        shown = [r.total.value for r in self.by_sector if not r.total.hidden and r.total.value]
        return float(max(shown, default=0))


@dataclass(frozen=True)
class Section:
    key: str
    heading: str
    intro: str
    indicators: tuple[IndicatorGrid, ...]


@dataclass(frozen=True)
class Place:
    """A municipality as the pages name it ("all" is every one of the evaluator's)."""

    key: str
    name: str


@dataclass(frozen=True)
class TrendRow:
    key: str
    label: str
    figures: tuple[Figure, ...]  # one per month of the trend

    @property
    def largest(self) -> float:
        return float(max((f.value for f in self.figures if not f.hidden and f.value), default=0))


@dataclass(frozen=True)
class Trend:
    """The released months of a year, month by month, for the same place."""

    year: int
    months: tuple[str, ...]  # labels, 2026-01 ...
    rows: tuple[TrendRow, ...]

    @property
    def month_names(self) -> tuple[str, ...]:
        return tuple(MONTHS[int(m[5:7]) - 1] for m in self.months)

    @property
    def short_names(self) -> tuple[str, ...]:
        return tuple(name[:3] for name in self.month_names)


@dataclass(frozen=True)
class Report:
    period: str
    period_name: str
    place: Place
    released_at: str
    policy: Policy
    sections: tuple[Section, ...]
    trend: Trend | None = None

    @property
    def indicators(self) -> tuple[IndicatorGrid, ...]:
        return tuple(i for s in self.sections for i in s.indicators)

    @property
    def has_hidden(self) -> bool:
        return any(i.has_hidden for i in self.indicators) or bool(
            self.trend and any(f.hidden for r in self.trend.rows for f in r.figures))


def _index(cells: Sequence[PublishedCell], municipality: str) -> dict[tuple[str, str, str], Figure]:
    return {
        (c.indicator, c.sector, c.level): Figure(c.value, c.suppressed)
        for c in cells if c.municipality == municipality
    }


def grid_of(key: str, figures: dict[tuple[str, str, str], Figure]) -> IndicatorGrid:
    indicator = BY_KEY[key]
    rows = tuple(
        GridRow(sector, words.SECTORS[sector] if sector != ALL else ALL_SECTORS,
                tuple(figures[key, sector, level] for level in (*LEVELS, ALL)))
        for sector in (*SECTORS, ALL)
    )
    return IndicatorGrid(key, indicator.label, indicator.kind, indicator.definition, rows)


def report_of(
    *, period: str, place: Place, cells: Sequence[PublishedCell], policy: Policy,
    released_at: str, trend: Trend | None = None,
) -> Report:
    """The report of one released table (`cells`, cut for the evaluator) for `place`."""
    figures = _index(cells, place.key)
    sections = tuple(
        Section(key, heading, intro, tuple(grid_of(i, figures) for i in indicators))
        for key, heading, intro, indicators in SECTIONS
    )
    return Report(period, period_name(period), place, released_at, policy, sections, trend)


def trend_of(year: int, place: Place,
             months: Sequence[tuple[str, Sequence[PublishedCell]]]) -> Trend:
    """The trend over released months (label, cells of that month's table)."""
    by_month = [_index(cells, place.key) for _, cells in months]
    rows = tuple(
        TrendRow(key, BY_KEY[key].label, tuple(f[key, ALL, ALL] for f in by_month))
        for key in TREND
    )
    return Trend(year, tuple(label for label, _ in months), rows)


def places_of(municipalities: Sequence[str], name: Callable[[str], str]) -> list[Place]:
    """The places an evaluator can choose: each municipality, and all of them together
    when there are several (for one, "all" is the same numbers again)."""
    own = sorted((Place(m, name(m)) for m in municipalities), key=lambda p: (p.name, p.key))
    if len(own) > 1:
        own.append(Place(ALL, "Alle mine kommuner"))
    return own


__all__ = [
    "ALL_LEVELS", "ALL_SECTORS", "HIDDEN", "HIDDEN_NOTE", "SECTIONS", "Figure", "GridRow",
    "IndicatorGrid", "Place", "Report", "Section", "Trend", "TrendRow",
    "grid_of", "number_text", "period_name", "places_of", "report_of",
    "trend_of",
]
