"""The outcome indicators, counted from the statistics view and published safely.

Every indicator is a table over the fixed grid municipality (and all) x sector (and
all) x level (and all), for every period of a year. Stocks are counted as at the end
of a period, flows during it; a child is counted once per cell (a child has at most
one open case). Counting is done a month at a time (`count_month`); a quarter, a
half-year and a year are the sums of their months for flows and the state at their
last month's end for stocks. What is published, and what is hidden, is worked out
in `projections/publication.py`.

See `docs/indicators.md` for each indicator's definition and Norwegian label.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.values import CLOSE_REASONS, SECTORS
from projections.system import CellKey
from projections.periods import Period, periods_of_year
from projections.runner import ViewStore

LEVELS = ("0", "1", "2", "3")
ALL = "all"


@dataclass(frozen=True)
class Indicator:
    key: str
    label: str  # Norwegian bokmål, for people
    kind: str  # "stock", "flow" or "measure"
    definition: str


def _stock(key: str, label: str, definition: str) -> Indicator:
    return Indicator(key, label, "stock", definition)


def _flow(key: str, label: str, definition: str) -> Indicator:
    return Indicator(key, label, "flow", definition)


def _measure(key: str, label: str, definition: str) -> Indicator:
    return Indicator(key, label, "measure", definition)


INDICATORS: tuple[Indicator, ...] = (
    _stock("children_with_holder", "Barn med stafettholder",
           "Barn med en åpen sak (og dermed en stafettholder) ved periodens slutt."),
    _stock("children_with_coordinator", "Barn med koordinator",
           "Barn med åpen sak og oppnevnt koordinator ved periodens slutt."),
    _stock("children_with_responsibility_group", "Barn med ansvarsgruppe",
           "Barn med åpen sak og etablert ansvarsgruppe ved periodens slutt."),
    _stock("children_with_individual_plan", "Barn med individuell plan",
           "Barn med åpen sak og påbegynt individuell plan ved periodens slutt."),
    _flow("cases_opened", "Saker opprettet", "Saker opprettet i perioden (alltid på nivå 0)."),
    _flow("interdisciplinary_meetings", "Tverrfaglige møter",
          "Møter holdt i perioden (etter møtedato)."),
    _flow("handovers_completed", "Fullførte overføringer",
          "Overføringer av stafetten som ble godtatt i perioden; sektor er mottakerens."),
    _flow("satisfaction_answers", "Svar om brukertilfredshet",
          "Svar om tilfredshet registrert i perioden."),
    _flow("level_transitions", "Nivåskifter",
          "Endringer av nivå i perioden; nivå er nivået saken gikk til."),
    _flow("level0_decisions", "Beslutninger på nivå 0",
          "Registrerte beslutninger (steget «beslutning») på nivå 0 i perioden."),
    _flow("level0_decisions_within_14_days", "Beslutninger på nivå 0 innen 14 dager",
          "Beslutninger på nivå 0 i perioden tatt innen 14 dager etter at saken kom på nivå 0."),
    _flow("services_brought_in_by_law", "Tjenester koblet inn uten samtykke (lovhjemmel)",
          "Tjenester som ble koblet inn i en sak uten samtykke, med lovhjemmel, i perioden; "
          "sektor er tjenestens, nivå er sakens."),
    _flow("actions_evaluated", "Tiltak evaluert",
          "Tiltak som ble evaluert for første gang i perioden."),
    _flow("actions_evaluated_by_date", "Tiltak evaluert innen fristen",
          "Tiltak evaluert for første gang i perioden, senest på evalueringsdatoen."),
    *(
        _flow(f"cases_closed_{reason.replace('-', '_')}", f"Saker avsluttet: {label}",
              f"Saker avsluttet i perioden med årsak «{reason}»; nivå og sektor ved avslutning.")
        for reason, label in (
            ("concern-resolved", "bekymringen er løst"),
            ("moved-away", "flyttet"),
            ("transferred-to-other-service", "overført til annen tjeneste"),
            ("family-declined", "familien takket nei"),
            ("other", "annen årsak"),
        )
        if reason in CLOSE_REASONS
    ),
    _measure("handover_days_median", "Dager fra forespørsel til godtatt overføring (median)",
             "Median antall dager fra overføringen ble bedt om til den ble godtatt, "
             "for overføringer fullført i perioden."),
    _measure("case_duration_days_median", "Sakens varighet i dager (median)",
             "Median antall dager fra en sak ble opprettet til den ble avsluttet, "
             "for saker avsluttet i perioden."),
    _measure("satisfaction_mean", "Brukertilfredshet (gjennomsnitt 1-5)",
             "Gjennomsnittlig tilfredshet (1-5) i svar registrert i perioden."),
)
BY_KEY = {i.key: i for i in INDICATORS}

# flow indicator -> (kind of happening in stat_flows, extra condition on a row)
Row = tuple[str, str, str, int, float | None, str | None]  # kind, m, s, l, value, detail
FLOW_RULES: dict[str, tuple[str, Callable[[Row], bool]]] = {
    "cases_opened": ("case_opened", lambda r: True),
    "interdisciplinary_meetings": ("meeting", lambda r: True),
    "handovers_completed": ("handover_completed", lambda r: True),
    "satisfaction_answers": ("satisfaction", lambda r: True),
    "level_transitions": ("level_transition", lambda r: True),
    "level0_decisions": ("level0_decision", lambda r: True),
    # Calendar days, as the domain counts the deadline (Case.level0_decision_overdue).
    "level0_decisions_within_14_days": ("level0_decision", lambda r: (r[4] or 0) <= 14),
    "services_brought_in_by_law": ("statutory_sharing", lambda r: True),
    "actions_evaluated": ("action_evaluated", lambda r: True),
    "actions_evaluated_by_date": ("action_evaluated", lambda r: r[4] == 1.0),
    **{
        f"cases_closed_{reason.replace('-', '_')}": (
            "case_closed", lambda r, reason=reason: r[5] == reason
        )
        for reason in CLOSE_REASONS
    },
}
MEASURE_RULES: dict[str, tuple[str, Callable[[list[float]], float]]] = {
    "handover_days_median": ("handover_completed", statistics.median),
    "case_duration_days_median": ("case_closed", statistics.median),
    "satisfaction_mean": ("satisfaction", statistics.fmean),
}
STOCK_FLAGS = {
    "children_with_holder": None,
    "children_with_coordinator": 0,
    "children_with_responsibility_group": 1,
    "children_with_individual_plan": 2,
}
CLOSED = tuple(f"cases_closed_{reason.replace('-', '_')}" for reason in CLOSE_REASONS)

# Never published; the protection (projections/system.py) needs them to know what
# an attacker can reason: the handovers that left a sector (by the sector left, at
# the case's level) and the level changes that left a level (by the holder's sector
# and the level left), per month and (municipality, sector, level), without margins.
HANDOVERS_OUT = "_handovers_out"
TRANSITIONS_OUT = "_transitions_out"
UNPUBLISHED = (HANDOVERS_OUT, TRANSITIONS_OUT)

COUNTED = tuple(i.key for i in INDICATORS if i.kind != "measure")
MEASURED = tuple(i.key for i in INDICATORS if i.kind == "measure")


@dataclass(frozen=True)
class PublishedCell:
    indicator: str
    period: str
    municipality: str
    sector: str
    level: str
    value: float | int | None
    suppressed: bool


@dataclass
class Counts:
    """The counts (non-zero ones only, margins included) and measure samples of some
    periods; keys carry the indicator."""

    counts: dict[CellKey, int]
    samples: dict[CellKey, list[float]]


def grid(periods: Sequence[Period], municipalities: Sequence[str]) -> list[CellKey]:
    return [
        CellKey(p.label, m, s, lvl)
        for p in periods
        for m in (*municipalities, ALL)
        for s in (*SECTORS, ALL)
        for lvl in (*LEVELS, ALL)
    ]


def _spread(label: str, m: str, s: str, lvl: str) -> list[CellKey]:
    """Every cell (with its margins) one happening or child is counted in."""
    return [
        CellKey(label, mm, ss, ll)
        for mm in (m, ALL)
        for ss in (s, ALL)
        for ll in (lvl, ALL)
    ]


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def count_month(
    views: ViewStore, year: int, month: int, municipalities: Sequence[str] | None = None
) -> Counts:
    """The counts of one month: flows during it, stocks as at its end.

    `municipalities`: count only these, and `all` is their sum; None: every one.
    """
    label = f"{year}-{month:02d}"
    ny, nm = _next_month(year, month)
    end = f"{ny}-{nm:02d}-01T00:00:00.000000"
    where, scope = "", ()
    if municipalities is not None:
        if not municipalities:
            return Counts({}, {})
        scope = tuple(municipalities)
        where = f" AND municipality IN ({','.join('?' * len(scope))})"
    counts: dict[CellKey, int] = defaultdict(int)
    samples: dict[CellKey, list[float]] = defaultdict(list)

    rows = views.read(
        "SELECT kind, municipality, sector, level, value, detail FROM stat_flows"  # noqa: S608
        f" WHERE at >= ? AND at < ?{where}",
        (f"{label}-01", end, *scope),
    )
    flow_rules = [(ind, kind, cond) for ind, (kind, cond) in FLOW_RULES.items()]
    measure_rules = [(ind, kind) for ind, (kind, _) in MEASURE_RULES.items()]
    for row in rows:
        kind, m, s, lvl = row[0], row[1], row[2], str(row[3])
        cells = _spread(label, m, s, lvl)
        for indicator, wanted, condition in flow_rules:
            if kind == wanted and condition(row):
                for cell in cells:
                    counts[cell._replace(indicator=indicator)] += 1
        for indicator, wanted in measure_rules:
            if kind == wanted and row[4] is not None:
                for cell in cells:
                    samples[cell._replace(indicator=indicator)].append(row[4])
        if kind == "handover_completed" and row[5]:
            counts[CellKey(label, m, row[5], lvl, HANDOVERS_OUT)] += 1
        elif kind == "level_transition" and row[5]:
            counts[CellKey(label, m, s, row[5].partition("-")[0], TRANSITIONS_OUT)] += 1

    # Stocks: the open cases as at the end of the month. A child has at most one open
    # case, and is counted once per cell.
    state = views.read(
        "SELECT municipality, sector, level, coordinator, grp, plan, child_id FROM stat_intervals"  # noqa: S608
        f' WHERE start < ? AND ("end" IS NULL OR "end" >= ?){where}',
        (end, end, *scope),
    )
    seen: set[tuple[str, CellKey]] = set()
    for m, s, lvl, *flags, child in state:
        cells = _spread(label, m, s, str(lvl))
        for indicator, flag in STOCK_FLAGS.items():
            if flag is not None and not flags[flag]:
                continue
            for cell in cells:
                key = cell._replace(indicator=indicator)
                if (child, key) not in seen:
                    seen.add((child, key))
                    counts[key] += 1
    return Counts(dict(counts), dict(samples))


def combine(period: Period, months: Sequence[Counts]) -> Counts:
    """A quarter, half-year or year from its months, in order: flows and samples add
    up, stocks are those at the end of the last month."""
    label = period.label
    counts: dict[CellKey, int] = defaultdict(int)
    samples: dict[CellKey, list[float]] = defaultdict(list)
    kinds = {i.key: i.kind for i in INDICATORS}
    for n, month in enumerate(months):
        last = n == len(months) - 1
        for key, value in month.counts.items():
            kind = kinds.get(key.indicator)
            if kind == "flow" or (kind == "stock" and last):
                counts[key._replace(period=label)] += value
        for key, values in month.samples.items():
            samples[key._replace(period=label)].extend(values)
    return Counts(dict(counts), dict(samples))


def count_year(
    views: ViewStore, year: int, municipalities: Sequence[str]
) -> tuple[dict[str, dict[CellKey, int]], dict[str, dict[CellKey, list[float]]]]:
    """Unpublished counts and measure samples of every indicator for a year, over the
    full grid of the given municipalities (`all` is their sum), by indicator."""
    periods = periods_of_year(year)
    keys = grid(periods, municipalities)
    counts: dict[str, dict[CellKey, int]] = {key: dict.fromkeys(keys, 0) for key in COUNTED}
    samples: dict[str, dict[CellKey, list[float]]] = {key: defaultdict(list) for key in MEASURED}
    months = [count_month(views, year, m, municipalities) for m in range(1, 13)]
    for period in periods:
        part = combine(period, months[period.first_month - 1: period.first_month - 1 + period.months])
        for key, value in part.counts.items():
            if key.indicator in counts:
                counts[key.indicator][key._replace(indicator="")] = value
        for key, values in part.samples.items():
            samples[key.indicator][key._replace(indicator="")] = values
    return counts, samples
