"""The outcome indicators, counted from the statistics view and published safely.

Every indicator is a table over the fixed grid municipality (and all) x sector (and
all) x level (and all), for every period of a year. Stocks are counted as at the end
of a period, flows during it; a child is counted once per cell (a child has at most
one open case). Counts go through disclosure control (`projections/disclosure.py`)
as one system per indicator and year, so that no hidden count can be worked out
from the published cells, their totals or the other periods of the year. Medians
and means are published only over enough answers.

See `docs/indicators.md` for each indicator's definition and Norwegian label.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.values import CLOSE_REASONS, SECTORS
from projections.disclosure import CellKey, Policy, grid_relations, suppress
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
Row = tuple[str, str, str, str, int, float | None, str | None]  # kind, month, m, s, l, value, detail
FLOW_RULES: dict[str, tuple[str, Callable[[Row], bool]]] = {
    "cases_opened": ("case_opened", lambda r: True),
    "interdisciplinary_meetings": ("meeting", lambda r: True),
    "handovers_completed": ("handover_completed", lambda r: True),
    "satisfaction_answers": ("satisfaction", lambda r: True),
    "level_transitions": ("level_transition", lambda r: True),
    "level0_decisions": ("level0_decision", lambda r: True),
    "level0_decisions_within_14_days": ("level0_decision", lambda r: (r[5] or 0) <= 14),
    "actions_evaluated": ("action_evaluated", lambda r: True),
    "actions_evaluated_by_date": ("action_evaluated", lambda r: r[5] == 1.0),
    **{
        f"cases_closed_{reason.replace('-', '_')}": (
            "case_closed", lambda r, reason=reason: r[6] == reason
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


@dataclass(frozen=True)
class PublishedCell:
    indicator: str
    period: str
    municipality: str
    sector: str
    level: str
    value: float | int | None
    suppressed: bool


def grid(periods: Sequence[Period], municipalities: Sequence[str]) -> list[CellKey]:
    return [
        CellKey(p.label, m, s, lvl)
        for p in periods
        for m in (*municipalities, ALL)
        for s in (*SECTORS, ALL)
        for lvl in (*LEVELS, ALL)
    ]


def _spread(period_labels: Iterable[str], m: str, s: str, lvl: str) -> Iterable[CellKey]:
    """Every cell (with its margins) one happening or child is counted in."""
    for label in period_labels:
        for mm in (m, ALL):
            for ss in (s, ALL):
                for ll in (lvl, ALL):
                    yield CellKey(label, mm, ss, ll)


def _containing(month: str, periods: Sequence[Period]) -> list[str]:
    return [p.label for p in periods if month in p.month_labels]


def count_year(
    views: ViewStore, year: int, municipalities: Sequence[str]
) -> tuple[dict[str, dict[CellKey, int]], dict[str, dict[CellKey, list[float]]]]:
    """Unpublished counts and measure samples of every indicator for a year."""
    periods = periods_of_year(year)
    keys = grid(periods, municipalities)
    counts: dict[str, dict[CellKey, int]] = {
        i.key: dict.fromkeys(keys, 0) for i in INDICATORS if i.kind != "measure"
    }
    samples: dict[str, dict[CellKey, list[float]]] = {
        i.key: defaultdict(list) for i in INDICATORS if i.kind == "measure"
    }
    scope = list(municipalities)
    marks = ",".join("?" * len(scope))
    if not scope:
        return counts, samples

    # Flows: every happening during the year, counted in each period that contains it.
    rows = views.read(
        f"SELECT kind, substr(at, 1, 7), municipality, sector, level, value, detail FROM stat_flows"  # noqa: S608
        f" WHERE at >= ? AND at < ? AND municipality IN ({marks})",
        (f"{year}-01-01", f"{year + 1}-01-01", *scope),
    )
    containing = {f"{year}-{m:02d}": _containing(f"{year}-{m:02d}", periods) for m in range(1, 13)}
    for row in rows:
        kind, month, m, s, lvl = row[0], row[1], row[2], row[3], str(row[4])
        cells = list(_spread(containing[month], m, s, lvl))
        for indicator, (wanted, condition) in FLOW_RULES.items():
            if kind == wanted and condition(row):
                table = counts[indicator]
                for cell in cells:
                    table[cell] += 1
        for indicator, (wanted, _) in MEASURE_RULES.items():
            if kind == wanted and row[5] is not None:
                for cell in cells:
                    samples[indicator][cell].append(row[5])

    # Stocks: the state of open cases as at the end of each month (quarters, halves
    # and the year end with one of them). A child has at most one open case.
    for month in range(1, 13):
        label = f"{year}-{month:02d}"
        end = f"{year + month // 12}-{month % 12 + 1:02d}-01T00:00:00.000000"
        ending_here = [p.label for p in periods if p.end.isoformat() + "T00:00:00.000000" == end]
        state = views.read(
            f'SELECT municipality, sector, level, coordinator, grp, plan, child_id FROM stat_intervals'  # noqa: S608
            f' WHERE start < ? AND ("end" IS NULL OR "end" >= ?) AND municipality IN ({marks})',
            (end, end, *scope),
        )
        seen: dict[str, set[str]] = defaultdict(set)
        for m, s, lvl, *flags, child in state:
            for indicator, flag in STOCK_FLAGS.items():
                if flag is not None and not flags[flag]:
                    continue
                for cell in _spread(ending_here or [label], m, s, str(lvl)):
                    marker = f"{indicator}|{cell}"
                    if child not in seen[marker]:
                        seen[marker].add(child)
                        counts[indicator][cell] += 1
    return counts, samples


def publish_year(
    views: ViewStore, year: int, municipalities: Sequence[str], policy: Policy
) -> list[PublishedCell]:
    """Every indicator of a year as published: suppressed counts hidden, thin measures too."""
    counts, samples = count_year(views, year, municipalities)
    keys = grid(periods_of_year(year), municipalities)
    # Every count table of the year has the same grid, so the same relations.
    relations = {
        kind: grid_relations(keys, additive_over_time=kind == "flow") for kind in ("stock", "flow")
    }
    published: list[PublishedCell] = []
    for indicator in INDICATORS:
        if indicator.kind == "measure":
            for cell in keys:
                values = samples[indicator.key].get(cell, [])
                enough = len(values) >= policy.min_answers_for_mean
                published.append(
                    _cell(indicator.key, cell,
                          round(MEASURE_RULES[indicator.key][1](values), 1) if enough else None,
                          not enough)
                )
            continue
        values = counts[indicator.key]
        hidden = suppress(values, relations[indicator.kind], policy)
        published.extend(
            _cell(indicator.key, cell, None if cell in hidden else value, cell in hidden)
            for cell, value in values.items()
        )
    return published


def _cell(indicator: str, cell: CellKey, value: Any, suppressed: bool) -> PublishedCell:
    return PublishedCell(
        indicator=indicator,
        period=cell.period,
        municipality=cell.municipality,
        sector=cell.sector,
        level=cell.level,
        value=value,
        suppressed=suppressed,
    )
