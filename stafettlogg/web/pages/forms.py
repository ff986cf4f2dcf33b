"""Forms of the pages: from what a browser posts to the API's request bodies, and back.

A page form posts `application/x-www-form-urlencoded` fields named as the API's body
fields (`stafettlogg/web/api/schemas.py`), so that the pages and the API check a
request by the same rules. `parse` turns the posted fields into that body (empty
fields left out, lists from repeated fields), or raises `FormInvalid` with a
Norwegian message per field. `FormState` is what a template needs to show a form again:
the values typed, the errors tied to their fields, and the form's idempotency key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date
import typing
from typing import Any, TypeVar

import msgspec

from stafettlogg.web.api.problems import field_error
from stafettlogg.web.pages.words import FIELD_LABELS

B = TypeVar("B")

REQUIRED = "Feltet må fylles ut."
NOT_A_DATE = "Skriv en dato som dd.mm.åååå, for eksempel 31.12.2026."
NORWEGIAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("invalid form")
        self.errors = errors


def _required(body: type[Any]) -> list[str]:
    return [f.name for f in msgspec.structs.fields(body) if f.required]


def _date_fields(body: type[Any]) -> set[str]:
    found = set()
    for f in msgspec.structs.fields(body):
        kinds = typing.get_args(f.type) or (f.type,)
        if date in kinds or f.type is date:
            found.add(f.name)
    return found


def as_iso_date(text: str) -> str | None:
    """`31.12.2026` (or `2026-12-31`) as `2026-12-31`; None when it is not a date."""
    text = text.strip()
    found = NORWEGIAN_DATE.match(text)
    if found:
        day, month, year = (int(g) for g in found.groups())
        try:
            return date(year, month, day).isoformat()
        except ValueError:
            return None
    if ISO_DATE.match(text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    return None


def parse(fields: Mapping[str, list[str]], body: type[B], *, lists: Iterable[str] = (),
          extra: Mapping[str, Any] | None = None) -> B:
    """The body the API would take, from the posted fields (`_`-fields are the form's own)."""
    lists = set(lists)
    data: dict[str, Any] = {}
    for name, values in fields.items():
        if name.startswith("_"):
            continue
        if name in lists:
            data[name] = [v for v in values if v.strip()]
        elif values and values[0].strip():
            data[name] = values[0].strip() if name not in ("text", "minutes", "concern",
                                                           "description") else values[0]
    for name in lists:
        data.setdefault(name, [])
    bad_dates = {}
    for name in _date_fields(body) & set(data):
        iso = as_iso_date(data[name])
        if iso is None:
            bad_dates[name] = NOT_A_DATE
        else:
            data[name] = iso
    if bad_dates:
        raise FormInvalid(bad_dates)
    data.update(extra or {})
    missing = {name: REQUIRED for name in _required(body)
               if name not in data or data[name] in ("", [])}
    if missing:
        raise FormInvalid(missing)
    try:
        return msgspec.convert(data, type=body, strict=False)
    except msgspec.ValidationError as exc:
        found = field_error(str(exc), schema=body)
        raise FormInvalid({found.field.split(".")[0]: found.message}) from None


class FormState:
    """A form as a template shows it: empty, or again with what was typed and why not."""

    def __init__(
        self, name: str, values: Mapping[str, list[str]] | None = None, *,
        errors: Mapping[str, str] | None = None, message: str = "", stale: bool = False,
        reload: str = "", groups: Iterable[str] = (),
    ) -> None:
        self.name = name
        self._values = dict(values or {})
        self.errors = dict(errors or {})
        self.message = message
        self.stale = stale
        self.reload = reload
        self.groups = set(groups)
        # A new key for every form shown: a double click posts the same key twice and
        # is recorded once; a form shown again after a refusal gets a fresh one.
        self.key = uuid.uuid4().hex

    @property
    def failed(self) -> bool:
        return bool(self.message)

    def id(self, field: str) -> str:
        return f"{self.name}-{field}".replace(".", "-").replace("_", "-")

    def value(self, field: str) -> str:
        values = self._values.get(field) or [""]
        return values[0]

    def values(self, field: str) -> list[str]:
        return list(self._values.get(field) or [])

    def error(self, field: str) -> str | None:
        return self.errors.get(field)

    def is_group(self, field: str) -> bool:
        return field in self.groups

    def label(self, field: str) -> str:
        """The field's name in the error summary ("Gjelder til og med")."""
        return FIELD_LABELS.get(field, "")
