"""The indicator tables as files to hand on: CSV (two variants) and an Excel report.

* `to_csv(table)`: the API's CSV, one row per cell of the table in its order, comma
  separated, English column names, a hidden cell with an empty value and
  `suppressed` = ja (docs/api.md).
* `to_csv(table, excel=True)`: for Norwegian Excel: `;` between fields, a byte-order
  mark, decimal comma; with `norwegian=True` Norwegian headings. An evaluator of one
  municipality gets its rows once (its `all` is the same numbers again).
* `to_xlsx(table, name)`: a workbook written with XlsxWriter: an explanation sheet
  first (period, when released, the threshold, what `:` means, the rule's version),
  then a sheet per indicator laid out sector x level with totals, a block per
  municipality (by name), numbers as numbers and a hidden cell as `:` with a note;
  last, every cell as one long table with filters, for those who pivot.

The same table always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

import xlsxwriter

from projections.indicators import ALL, BY_KEY, INDICATORS
from stafettlogg.statistics import IndicatorTable
from stafettlogg.web.report import (
    HIDDEN,
    HIDDEN_NOTE,
    IndicatorGrid,
    Place,
    period_name,
    places_of,
    report_of,
)
from stafettlogg.web.pages import words

COLUMNS = ("indicator", "label", "period", "municipality", "sector", "level", "value", "suppressed")
NORWEGIAN_COLUMNS = ("indikator", "navn", "periode", "kommune", "sektor", "nivå", "verdi", "skjult")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel's sheet names: at most 31 characters, none of []:*?/\ .
SHEET_NAMES = {
    "children_with_holder": "Med stafettholder",
    "children_with_coordinator": "Med koordinator",
    "children_with_responsibility_group": "Med ansvarsgruppe",
    "children_with_individual_plan": "Med individuell plan",
    "cases_opened": "Saker opprettet",
    "interdisciplinary_meetings": "Tverrfaglige møter",
    "handovers_completed": "Fullførte overføringer",
    "services_brought_in_by_law": "Uten samtykke (lovhjemmel)",
    "satisfaction_answers": "Svar om tilfredshet",
    "level_transitions": "Nivåskifter",
    "level0_decisions": "Beslutninger nivå 0",
    "level0_decisions_within_14_days": "Beslutninger innen 14 dager",
    "actions_evaluated": "Tiltak evaluert",
    "actions_evaluated_by_date": "Tiltak evaluert innen fristen",
    "cases_closed_concern_resolved": "Avsluttet – løst",
    "cases_closed_moved_away": "Avsluttet – flyttet",
    "cases_closed_transferred_to_other_service": "Avsluttet – overført",
    "cases_closed_family_declined": "Avsluttet – takket nei",
    "cases_closed_other": "Avsluttet – annen årsak",
    "handover_days_median": "Dager til overføring",
    "case_duration_days_median": "Sakens varighet",
    "satisfaction_mean": "Tilfredshet (snitt)",
}


def _cells(table: IndicatorTable, *, once: bool) -> list[Any]:
    """The cells in the table's order; `once`: without the `all` rows of an evaluator
    of one municipality (the same numbers as the municipality's)."""
    if once and len(table.municipalities) == 1:
        return [c for c in table.cells if c.municipality != ALL]
    return list(table.cells)


def _level(level: str) -> int | str:
    return int(level) if level.isdigit() else level


def to_csv(table: IndicatorTable, *, excel: bool = False, norwegian: bool = False) -> str:
    """The table as CSV text (see the module docstring for the variants)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n")
    writer.writerow(NORWEGIAN_COLUMNS if norwegian else COLUMNS)
    for c in _cells(table, once=excel):
        if c.value is None:
            value: Any = ""
        elif excel and isinstance(c.value, float) and not c.value.is_integer():
            value = f"{c.value}".replace(".", ",")
        else:
            value = c.value
        writer.writerow([c.indicator, BY_KEY[c.indicator].label, c.period, c.municipality,
                         c.sector, c.level, value, "ja" if c.suppressed else "nei"])
    return ("\ufeff" if excel else "") + out.getvalue()


def _released(table: IndicatorTable) -> datetime | None:
    try:
        return datetime.fromisoformat(table.released_at)
    except ValueError:
        return None


class _Book:
    """The workbook's formats, and how one indicator is laid out on its sheet."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.heading = book.add_format({"bold": True, "bottom": 1, "text_wrap": True,
                                        "valign": "bottom"})
        self.bold = book.add_format({"bold": True})
        self.number = book.add_format({"num_format": "0"})
        self.bold_number = book.add_format({"num_format": "0", "bold": True})
        self.decimal = book.add_format({"num_format": "0.0"})
        self.hidden = book.add_format({"align": "right", "font_color": "#555555"})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})

    def figure(self, sheet: Any, row: int, col: int, value: float | int | None, hidden: bool,
               *, bold: bool = False) -> None:
        if hidden or value is None:
            sheet.write_string(row, col, HIDDEN, self.hidden)
            sheet.write_comment(row, col, HIDDEN_NOTE, {"author": "Stafettlogg"})
        elif isinstance(value, float) and not value.is_integer():
            sheet.write_number(row, col, value, self.decimal)
        else:
            sheet.write_number(row, col, value, self.bold_number if bold else self.number)

    def grid(self, sheet: Any, row: int, place: Place, grid: IndicatorGrid) -> int:
        """One municipality's block from `row`; the next free row."""
        sheet.write_string(row, 0, place.name, self.bold)
        row += 1
        sheet.write_string(row, 0, "Sektor", self.heading)
        for col, name in enumerate(grid.columns, start=1):
            sheet.write_string(row, col, name, self.heading)
        for line in grid.rows:
            row += 1
            last = line.sector == ALL
            sheet.write_string(row, 0, line.name, self.bold if last else None)
            for col, f in enumerate(line.figures, start=1):
                self.figure(sheet, row, col, f.value, f.hidden, bold=last or col == 5)
        return row + 2


def to_xlsx(table: IndicatorTable, name: Callable[[str], str]) -> bytes:
    """The table as an Excel report (see the module docstring); `name` names a
    municipality by its number."""
    places = places_of(table.municipalities, name)
    reports = [
        report_of(period=table.period, place=p, cells=table.cells, policy=table.policy,
                  released_at=table.released_at)
        for p in places
    ]
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    released = _released(table)
    book.set_properties({
        "title": f"Indikatorer for BTI, {period_name(table.period)}",
        "author": "Stafettlogg", "company": "", "created": released or datetime(2020, 1, 1),
    })
    formats = _Book(book)
    _explanation(book.add_worksheet("Om tallene"), formats, table, places)
    for indicator in INDICATORS:
        sheet = book.add_worksheet(SHEET_NAMES[indicator.key])
        sheet.write_string(0, 0, indicator.label, formats.title)
        sheet.write_string(1, 0, f"{period_name(table.period)}. {indicator.definition}")
        sheet.set_column(0, 0, 36)
        sheet.set_column(1, 5, 12)
        sheet.freeze_panes(3, 1)
        row = 3
        for place, report in zip(places, reports, strict=True):
            grid = next(i for i in report.indicators if i.key == indicator.key)
            row = formats.grid(sheet, row, place, grid)
        if any(g.has_hidden for r in reports for g in r.indicators if g.key == indicator.key):
            sheet.write_string(row, 0, f"{HIDDEN} {HIDDEN_NOTE}")
    _long_table(book.add_worksheet("Alle tall"), formats, table, name)
    book.close()
    return buffer.getvalue()


def _explanation(sheet: Any, f: _Book, table: IndicatorTable, places: list[Place]) -> None:
    policy = table.policy
    released = _released(table)
    lines = [
        ("Periode", f"{period_name(table.period)} ({table.period})"),
        ("Kommuner", ", ".join(f"{p.name} ({p.key})" for p in places if p.key != ALL)),
        ("Publisert", f"{released:%d.%m.%Y}" if released else "før første sak (alle tall er 0)"),
        ("Hva tallene er", "Antall barn (ved periodens slutt) eller hendelser (i perioden), "
                           "etter sektor og nivå. Dager og tilfredshet er median og gjennomsnitt."),
        (HIDDEN, f"Skjult tall. Alle tall fra 1 til {policy.threshold - 1} skjules, og noen "
                 "flere tall skjules så de ikke kan regnes ut fra det som er publisert. Et skjult "
                 "tall kan også være 0."),
        ("Terskel", f"{policy.threshold}: et skjult tall kan like gjerne være {policy.threshold} "
                    f"eller mer, og minst {policy.threshold} hele tall er mulige."),
        ("Gjennomsnitt og median", "Vises bare der tallene bak er publisert, og fra "
                                   f"{policy.min_answers_for_mean} registreringer."),
        ("Regelens versjon", str(policy.version)),
        ("Arkene", "Ett ark per indikator, sektor nedover og nivå bortover, med summer; "
                   "det siste arket («Alle tall») har alle tallene som én lang tabell med filter."),
    ]
    sheet.write_string(0, 0, f"Indikatorer for BTI, {period_name(table.period)}", f.title)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, 1, 100)
    for n, (what, text) in enumerate(lines, start=2):
        sheet.write_string(n, 0, what, f.bold)
        sheet.write_string(n, 1, text, f.wrap)


def _long_table(sheet: Any, f: _Book, table: IndicatorTable, name: Callable[[str], str]) -> None:
    headings = ("Indikator", "Navn", "Periode", "Kommunenummer", "Kommune", "Sektor", "Nivå",
                "Verdi", "Skjult")
    for col, heading in enumerate(headings):
        sheet.write_string(0, col, heading, f.heading)
    cells = _cells(table, once=True)
    for row, c in enumerate(cells, start=1):
        place = ("Alle mine kommuner" if c.municipality == ALL else name(c.municipality))
        sheet.write_string(row, 0, c.indicator)
        sheet.write_string(row, 1, BY_KEY[c.indicator].label)
        sheet.write_string(row, 2, c.period)
        sheet.write_string(row, 3, c.municipality)
        sheet.write_string(row, 4, place)
        sheet.write_string(row, 5, words.SECTORS.get(c.sector, "Alle sektorer"))
        level = _level(c.level)
        if isinstance(level, int):
            sheet.write_number(row, 6, level)
        else:
            sheet.write_string(row, 6, "alle")
        if c.suppressed or c.value is None:
            sheet.write_string(row, 7, HIDDEN, f.hidden)
        else:
            sheet.write_number(row, 7, c.value)
        sheet.write_string(row, 8, "ja" if c.suppressed else "nei")
    sheet.autofilter(0, 0, len(cells), len(headings) - 1)
    sheet.freeze_panes(1, 0)
    for col, width in enumerate((30, 40, 10, 14, 18, 30, 6, 8, 7)):
        sheet.set_column(col, col, width)


__all__ = ["COLUMNS", "XLSX", "to_csv", "to_xlsx"]
