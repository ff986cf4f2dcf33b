"""Validation messages in Norwegian, for people: the rule a value broke, in plain bokmål.

msgspec and Litestar explain a refused value in English and in their own terms
("Expected `int` <= 3 - at `$.level`", "Expected `str` matching regex '^[0-9]{4}$'").
`norwegian` turns each such message that the API's request bodies
(`web/api/schemas.py`) and query parameters (`web/api/*.py`) can produce into a
sentence that goes after a field's name ("Feltet «level»: må være høyst 3"). It
never shows a regular expression (a pattern is described in words, from the table
`PATTERNS`) and never repeats the value that was sent: a message may be read by
someone other than the one who typed it, and the value may be personal. What it
does not recognise becomes `UNKNOWN`. Nothing here logs anything.

Which values a vocabulary (a `Literal`) allows is not in msgspec's message; give
`norwegian` the type that was decoded (a request Struct, or a mapping from parameter
name to type) and the field's path, and `allowed_values` finds them. Without a type
the request bodies of the API are searched for a field of that path.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Union, get_args, get_origin

import msgspec

from stafettlogg.web.api import schemas

UNKNOWN = "har en ugyldig verdi"
NOT_ALLOWED = "har en verdi som ikke er tillatt"
MISSING = "mangler (påkrevd)"
UNKNOWN_FIELD = "er ikke et kjent felt"
FILL_IN = "må fylles ut"


def _pattern(annotated: Any) -> str:
    return next(m.pattern for m in get_args(annotated)[1:] if isinstance(m, msgspec.Meta))


# Each pattern of the schemas and controllers, in words. A new pattern needs a line
# here; until it has one its message is FALLBACK_PATTERN (never the pattern itself).
CURSOR = "må være verdien av «next» fra forrige side (bare sifre)"
PATTERNS: dict[str, str] = {
    _pattern(schemas.ServiceId):
        "må være en tjeneste-id: små bokstaver (a-z), sifre og bindestrek, 2-63 tegn, "
        "og ikke begynne med bindestrek",
    _pattern(schemas.Municipality): "må være et kommunenummer med fire sifre",
    _pattern(schemas.StaffId):
        "må være en ansatt-id: bokstaver (A-Z, a-z), sifre og tegnene . _ @ -, 2-100 tegn, "
        "og begynne med en bokstav eller et siffer",
    r"^[0-9]{1,18}$": CURSOR,  # GET /cases?cursor=
    r"^[0-9]{1,9}$": CURSOR,  # GET /staff?cursor=
}
FALLBACK_PATTERN = "har feil form"

# msgspec's names of JSON types, as what a value "må være".
TYPES: dict[str, str] = {
    "int": "et heltall",
    "float": "et tall",
    "str": "tekst",
    "bool": "true eller false",
    "null": "null",
    "array": "en liste",
    "object": "et objekt",
    "date": "en dato (åååå-mm-dd)",
    "datetime": "et tidspunkt (ISO 8601)",
    "time": "et klokkeslett (tt:mm:ss)",
    "uuid": "en UUID",
    "bytes": "base64-kodede data",
    "decimal": "et desimaltall",
    "duration": "en varighet (ISO 8601)",
}

# The messages msgspec writes without a type name.
INVALID: dict[str, str] = {
    "Invalid RFC3339 encoded date": "må være en dato (åååå-mm-dd)",
    "Invalid RFC3339 encoded datetime": "må være et tidspunkt (ISO 8601)",
    "Invalid RFC3339 encoded time": "må være et klokkeslett (tt:mm:ss)",
    "Invalid ISO8601 duration": "må være en varighet (ISO 8601)",
    "Invalid UUID": "må være en UUID",
    "Invalid base64 encoded string": "må være base64-kodede data",
    "Invalid decimal string": "må være et desimaltall",
    "Number out of range": "er et tall utenfor det som kan tas imot",
    "Input data was truncated": "er ufullstendig: JSON-teksten slutter for tidlig",
}

_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_TYPE = r"`(?P<type>[^`]+)`"
_GOT = re.compile(rf"^Expected {_TYPE}, got `(?P<got>[^`]+)`$")
_BOUND = re.compile(rf"^Expected {_TYPE} (?P<op>[<>]=?) (?P<n>-?[0-9.e+]+)$")
_LENGTH = re.compile(rf"^Expected {_TYPE} of length (?P<op>[<>]=?) (?P<n>[0-9]+)$")
_MULTIPLE = re.compile(rf"^Expected {_TYPE} that's a multiple of (?P<n>[0-9.e+-]+)$")
_REGEX = re.compile(rf"^Expected {_TYPE} matching regex '(?P<regex>.*)'$")
_TZ = re.compile(rf"^Expected {_TYPE} with(?P<no>out)? a timezone component$")
_ENUM = re.compile(r"^Invalid enum value ")
_MISSING_FIELD = re.compile(r"^Object missing required field `[^`]+`$")
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `[^`]+`$")
# Litestar: "Missing required query parameter 'period' for path /api/v1/...".
_MISSING_PARAMETER = re.compile(r"^Missing required \w+ parameter '[^']+'")


def norwegian(message: str, schema: Any = None, path: str | None = None) -> str:
    """A msgspec or Litestar validation message as a rule in bokmål, e.g.
    "Expected `int` <= 3 - at `$.level`" -> "må være høyst 3".

    `schema` is what was decoded (a Struct type, or a mapping of parameter names to
    their types) and `path` the field's path in it ("child.name", "roles[0]"); with
    them a vocabulary's message lists the values it allows. The path is taken from the
    message when it names one.
    """
    message = message.strip()
    at = _AT.search(message)
    if at:
        message = message[: at.start()]
        if path is None:
            path = at["path"]
    return _rule(message, schema, path or "")


def _rule(message: str, schema: Any, path: str) -> str:
    if message in INVALID:
        return INVALID[message]
    if message.startswith("JSON is malformed"):
        return "er ikke gyldig JSON"
    if _MISSING_FIELD.match(message) or _MISSING_PARAMETER.match(message):
        return MISSING
    if _UNKNOWN_FIELD.match(message):
        return UNKNOWN_FIELD
    if _ENUM.match(message):
        return one_of(allowed_values(schema, path))
    if found := _GOT.match(message):
        return _wrong_type(found["type"], found["got"], schema, path)
    if found := _LENGTH.match(message):
        return _length(found["type"], found["op"], int(found["n"]))
    if found := _BOUND.match(message):
        return _bound(found["op"], found["n"])
    if found := _REGEX.match(message):
        return PATTERNS.get(found["regex"], FALLBACK_PATTERN)
    if found := _MULTIPLE.match(message):
        return f"må gå opp i {_number(found['n'])}"
    if found := _TZ.match(message):
        return "må være et tidspunkt uten tidssone" if found["no"] else (
            "må være et tidspunkt med tidssone (ISO 8601, for eksempel 2026-03-02T09:00:00Z)")
    return UNKNOWN


def one_of(values: Sequence[Any] | None) -> str:
    if not values:
        return NOT_ALLOWED
    return "må være en av: " + ", ".join(_json(v) for v in values)


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _wrong_type(expected: str, got: str, schema: Any, path: str) -> str:
    allowed = allowed_values(schema, path)
    if allowed:
        return one_of(allowed)
    names = [n.strip() for n in expected.split("|")]
    # An optional field may be left out; say what it takes when it is sent.
    if len(names) > 1 and "null" in names:
        names.remove("null")
    words = [TYPES.get(n) for n in names]
    if not all(words):
        return UNKNOWN
    rule = "må være " + " eller ".join(typing.cast(list[str], words))
    if got == "null" and "null" not in names:
        rule += ", ikke null"
    return rule


def _length(kind: str, op: str, n: int) -> str:
    at_least = op.startswith(">")
    if op in (">", "<"):  # msgspec writes >= and <=, but who knows
        n = n + 1 if at_least else n - 1
    if kind == "str":
        if at_least:
            return FILL_IN if n == 1 else f"må ha minst {_number(n)} tegn"
        return f"kan ha høyst {_number(n)} tegn"
    if kind == "array":
        unit = "element" if n == 1 else "elementer"
    elif kind == "object":
        unit = "felt"
    else:
        unit = "deler" if n != 1 else "del"
    return f"må ha minst {_number(n)} {unit}" if at_least else (
        f"kan ha høyst {_number(n)} {unit}")


def _bound(op: str, n: str) -> str:
    word = {">=": "minst", "<=": "høyst", ">": "større enn", "<": "mindre enn"}[op]
    return f"må være {word} {_number(n)}"


def _number(n: int | str) -> str:
    """20000 -> "20 000" (as numbers are written in Norwegian); 0.5 -> "0,5"."""
    text = str(n)
    if re.fullmatch(r"-?[0-9]+", text):
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        return sign + (f"{int(digits):,}".replace(",", " ") if len(digits) > 4 else digits)
    return text.replace(".", ",")


# --- which values a vocabulary allows ---------------------------------------------------


_SEGMENT = re.compile(r"([^.\[\]]+)|\[([^\]]*)\]")


def allowed_values(schema: Any, path: str) -> tuple[Any, ...] | None:
    """The values a `Literal` at `path` in `schema` allows, or None when there is none.

    `schema` is a Struct type, a mapping of names to types (a handler's query
    parameters), or None: then every request body of the API (`web/api/schemas.py`)
    is tried, and the values are given only when all that have such a field agree.
    """
    if schema is None:
        found = {v for body in _BODIES if (v := allowed_values(body, path))}
        return found.pop() if len(found) == 1 else None
    node: Any = schema
    for name, index in _SEGMENT.findall(path):
        node = _field(node, name) if name else _item(node)
        if node is None:
            return None
    return _literal(node)


def _strip(tp: Any) -> list[Any]:
    """The types a type may be: without Annotated, None, UNSET; unions spread out."""
    while get_origin(tp) is typing.Annotated:
        tp = get_args(tp)[0]
    if get_origin(tp) in (Union, types.UnionType):
        return [t for arg in get_args(tp) for t in _strip(arg)]
    if tp is type(None) or tp is msgspec.UnsetType:
        return []
    return [tp]


def _field(node: Any, name: str) -> Any:
    if isinstance(node, Mapping):
        return node.get(name)
    for tp in _strip(node):
        if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
            hints = typing.get_type_hints(tp, include_extras=True)
            encoded = {f.encode_name: f.name for f in msgspec.structs.fields(tp)}
            if name in encoded:
                return hints[encoded[name]]
    return None


def _item(node: Any) -> Any:
    for tp in _strip(node):
        if get_origin(tp) in (list, tuple, set, frozenset, Sequence):
            return get_args(tp)[0] if get_args(tp) else None
    return None


def _literal(node: Any) -> tuple[Any, ...] | None:
    values: list[Any] = []
    for tp in _strip(node):
        if get_origin(tp) is not Literal:
            return None
        values += [v for v in get_args(tp) if v not in values]
    return tuple(values) or None


_BODIES: tuple[type[msgspec.Struct], ...] = tuple(
    cls for cls in vars(schemas).values()
    if isinstance(cls, type) and issubclass(cls, schemas.Body) and cls is not schemas.Body
)
