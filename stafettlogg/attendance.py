"""Attendance lists for the training register: a CSV or Excel file, read into lines.

An attendance list is what a course leaves behind: one row per person, with a header
row naming the columns (docs/implementation.md, "Importing an attendance list"):

* `ansatt` (the staff id) or `e-post` (the address in the staff directory): who;
* `opplæring` (a training's code or its name): what, unless the import names one
  training for the whole list;
* `dato` (DD.MM.ÅÅÅÅ or ÅÅÅÅ-MM-DD, or an Excel date): when, unless the import names
  one day for the whole list;
* any other column (`navn`, say) is ignored.

A CSV may be separated by semicolons (as Excel in Norway writes it), commas or tabs,
in UTF-8 (with or without a byte order mark) or Windows-1252. An Excel file is read
from its first sheet (openpyxl). Nothing here knows the directory or the rules: the
lines go to `TrainingCommands.preview_attendance`, which matches and checks them.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

import msgspec
from openpyxl import load_workbook

from domain.errors import InvalidValue

MAX_BYTES = 2_000_000
MAX_LINES = 5_000

_HEADERS = {
    "ansatt": "staff", "ansatt-id": "staff", "ansattid": "staff", "id": "staff",
    "e-post": "email", "epost": "email", "e-postadresse": "email", "email": "email",
    "opplæring": "training", "opplaering": "training", "kurs": "training",
    "dato": "day", "date": "day",
}


class AttendanceLine(msgspec.Struct, frozen=True):
    """One row of the list, as written (the day already read if it was a date cell)."""

    line: int  # the row's number in the file (the header is 1)
    staff: str = ""
    email: str = ""
    training: str = ""
    day: str = ""


def read_attendance(data: bytes, filename: str) -> list[AttendanceLine]:
    """The lines of an attendance list, or InvalidValue naming the field `file`."""
    if not data:
        raise InvalidValue("file", "Velg en fil med deltakerlisten (CSV eller Excel).")
    if len(data) > MAX_BYTES:
        raise InvalidValue("file", "Filen er for stor (høyst 2 MB).")
    rows = _xlsx_rows(data) if _is_xlsx(data, filename) else _csv_rows(data)
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InvalidValue("file", "Filen er tom.")
    columns = [_HEADERS.get(cell.strip().lower()) for cell in rows[0]]
    if "staff" not in columns and "email" not in columns:
        raise InvalidValue(
            "file", "Første rad må navngi kolonnene, med «ansatt» (ansatt-id) eller "
                    "«e-post», og gjerne «opplæring» og «dato».")
    if len(rows) - 1 > MAX_LINES:
        raise InvalidValue("file", f"Filen har mer enn {MAX_LINES} rader.")
    lines = []
    for number, row in enumerate(rows[1:], start=2):
        fields = {}
        for column, cell in zip(columns, row, strict=False):
            if column is not None and column not in fields:
                fields[column] = cell.strip()
        lines.append(AttendanceLine(line=number, **fields))
    return lines


def _is_xlsx(data: bytes, filename: str) -> bool:
    return data[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm"))


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidValue("file", "Filen kan ikke leses som en Excel-fil (.xlsx).") from exc
    try:
        sheet = book.worksheets[0]
        return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise InvalidValue("file", "Filen er verken CSV eller Excel.")
    first = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def read_day(text: str) -> date | None:
    """A day written DD.MM.ÅÅÅÅ, D.M.ÅÅÅÅ or ÅÅÅÅ-MM-DD; None if it is none of those."""
    text = text.strip()
    for form in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, form).date()  # noqa: DTZ007 - a day, no time
        except ValueError:
            continue
    return None
