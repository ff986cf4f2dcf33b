"""Errors as RFC 9457 problem details, and which HTTP status each refusal gets.

No answer carries a traceback, a query, a key, a token or personal data: domain
messages are written without them, validation messages name a field and a rule,
and anything unexpected is a bare 500 whose details go only to the server log.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from eventsourcing.persistence import InterfaceError as StoreInterfaceError
from eventsourcing.persistence import OperationalError as StoreOperationalError

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from domain import errors
from stafettlogg.protocol import IdempotencyKeyReused, VersionMismatch
from stafettlogg.statistics import NotReleased
from stafettlogg.web.api.schemas import FieldError, Problem, ReadyCheck
from stafettlogg.web.messages import UNKNOWN, norwegian

log = logging.getLogger("stafettlogg.api")

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Ugyldig forespørsel",
    401: "Ikke autentisert",
    403: "Ingen tilgang",
    404: "Finnes ikke",
    405: "Metoden er ikke tillatt",
    409: "Avvist av en regel",
    412: "Saken er endret",
    413: "Forespørselen er for stor",
    415: "Feil innholdstype",
    422: "Kan ikke behandles",
    429: "For mange forespørsler",
    500: "Intern feil",
    503: "Ikke klar",
}

# Status of each kind of refusal; every other DomainError is a 409 with its code.
STATUS_OF: dict[type[errors.DomainError], int] = {
    errors.InvalidValue: 400,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    VersionMismatch: 412,
    IdempotencyKeyReused: 422,
}


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    field_errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    body = Problem(
        type=f"urn:stafettlogg:problem:{code}" if code else "about:blank",
        title=TITLES.get(status, "Feil"),
        status=status,
        detail=detail,
        code=code,
        errors=field_errors,
    )
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 409


def on_domain_error(_: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Problem]:
    status = status_of(exc)
    if isinstance(exc, errors.InvalidValue):
        return problem(
            400,
            f"Feltet «{exc.field}»: {exc.message}",
            code=exc.code,
            field_errors=[FieldError(field=exc.field, message=exc.message)],
        )
    return problem(status, exc.message, code=exc.code)


_AT = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '(?P<name>[^']+)'")
_NAMED = re.compile(r"(?:missing required|unknown) field `(?P<name>[^`]+)`")


def field_error(message: str, key: str | None = None, schema: Any = None) -> FieldError:
    """A msgspec message ("Expected `int` <= 3 - at `$.level`") as field and rule, the
    rule in Norwegian ("må være høyst 3"; see `web/messages.py`).

    `schema` is the type that was decoded (a request Struct, or the handler's
    parameters by name): with it a vocabulary's message lists the values it allows."""
    path = ""
    found = _AT.search(message)
    if found:
        path = found["path"]
        message = message[: found.start()]
    # Litestar names the object that holds a missing or unknown field as `key`.
    if not path and key and key not in ("data", "body"):
        path = key
    named = _NAMED.search(message)
    if named and path.rpartition(".")[2] != named["name"]:
        path = f"{path}.{named['name']}" if path else named["name"]
    if message.strip("'") == "data":  # Litestar's words for a request with no body
        return FieldError(field="body", message="Innholdet mangler: send et JSON-objekt.")
    return FieldError(field=path or "body", message=norwegian(message, schema, path))


def handler_types(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The types of the handler's parameters by name (its body is `data`), or nothing."""
    handler = request.scope.get("route_handler")
    signature = getattr(handler, "parsed_fn_signature", None)
    parameters = getattr(signature, "parameters", None) or {}
    return {name: getattr(field, "annotation", None) for name, field in parameters.items()}


def on_validation_error(request: Request[Any, Any, Any], exc: ValidationException
                        ) -> Response[Problem]:
    types = handler_types(request)
    found = [
        field_error(str(item.get("message", "ugyldig verdi")), item.get("key"),
                    types.get("data") if item.get("source") == "body" else types)
        for item in exc.extra or []
        if isinstance(item, dict)
    ]
    missing = _MISSING_PARAMETER.search(str(exc.detail or ""))
    if not found and missing:
        found = [FieldError(field=missing["name"], message=norwegian(missing[0]))]
    if not found:
        found = [FieldError(field="body", message="Innholdet er ikke gyldig JSON for denne ressursen.")]
    return invalid_input(found)


def on_msgspec_error(request: Request[Any, Any, Any], exc: msgspec.MsgspecError
                     ) -> Response[Problem]:
    """Bodies are decoded strictly a second time (see `web/deps.strictly`)."""
    if isinstance(exc, msgspec.ValidationError):
        return invalid_input([field_error(str(exc), schema=handler_types(request).get("data"))])
    return invalid_input([FieldError(field="body", message="Innholdet er ikke gyldig JSON.")])


TOO_DEEP = "Innholdet er nestet for dypt til å være en gyldig forespørsel."


def invalid_input(found: list[FieldError]) -> Response[Problem]:
    detail = "; ".join(f"Feltet «{e.field}»: {e.message}" for e in found)
    return problem(400, detail, code="invalid-input", field_errors=found)


HTTP_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    429: "rate-limited",
}


def body_error(detail: str) -> str:
    """Why a body could not be read at all, in Norwegian ("Input data was truncated")."""
    rule = norwegian(detail)
    return "er ikke gyldig JSON" if rule == UNKNOWN else rule


def on_http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if status == 400:  # e.g. a body that is not JSON at all
        return invalid_input([FieldError(field="body", message=body_error(str(exc.detail or "")))])
    detail = exc.detail if status < 500 and exc.detail else TITLES.get(status, "Feil")
    headers = {"WWW-Authenticate": 'Bearer realm="stafettlogg"'} if status == 401 else None
    if exc.headers:
        headers = {**(headers or {}), **exc.headers}
    return problem(status, detail, code=HTTP_CODES.get(status), headers=headers)


# How long a client is asked to wait before it tries again when the database is down.
RETRY_AFTER_SECONDS = 5
STORE_UNAVAILABLE_DETAIL = "Databasen svarer ikke akkurat nå. Prøv igjen om litt."


class ServiceStarting(Exception):
    """The application is not started yet (its database has not answered yet)."""


def store_unavailable() -> Response[Problem]:
    return problem(
        503, STORE_UNAVAILABLE_DETAIL, code="store-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


NOT_READY_DETAIL = "Tjenesten er ikke klar: {}."
PART_NAMES = {"store": "hendelseslageret", "key_store": "nøkkellageret", "views": "visningene"}


def not_ready(checks: dict[str, ReadyCheck]) -> Response[Problem]:
    """/ready's 503: `store-unavailable` when the event store does not answer,
    `not-ready` for another part; `checks` names each part."""
    failing = [name for name, check in checks.items() if check.status == "not-ready"]
    detail = NOT_READY_DETAIL.format("; ".join(
        f"{PART_NAMES.get(name, name)} {checks[name].detail}" for name in failing))
    store = checks.get("store")
    if store is not None and store.cause in ("unavailable", "starting"):
        detail = f"{STORE_UNAVAILABLE_DETAIL} {detail}"
    response = problem(
        503, detail,
        code="store-unavailable" if "store" in failing else "not-ready",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
    response.content.checks = checks
    return response


def _route(request: Request[Any, Any, Any]) -> str:
    """The route's template, never the path (which may hold ids)."""
    return request.scope.get("path_template") or "-"


def on_store_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    # The database is down or unreachable: 503, and nothing but the kind of error logged
    # (the message names hosts, never personal data, but says nothing the log needs).
    log.warning("store unavailable on %s %s: %s", request.method, _route(request),
                type(exc).__name__)
    metrics = request.app.state.get("metrics")
    if metrics is not None:
        metrics.store_error("request")
    return store_unavailable()


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    if isinstance(exc, RecursionError) and "deserializing" in str(exc):
        # A body nested deeper than the decoder goes (`[[[[...]]]]`): the caller's
        # mistake, not the server's.
        return invalid_input([FieldError(field="body", message=TOO_DEEP)])
    # The traceback goes to the server log (without the body), never to the client.
    log.error("unexpected error on %s %s", request.method, _route(request), exc_info=exc)
    return problem(500, "Noe gikk galt på tjeneren. Feilen er logget.")


def on_not_released(_: Request[Any, Any, Any], exc: NotReleased) -> Response[Problem]:
    """A statistics period not released yet: at once, with when to ask again."""
    return problem(503, exc.message, code="not-released",
                   headers={"Retry-After": str(exc.retry_after)})


EXCEPTION_HANDLERS: dict[Any, Any] = {
    NotReleased: on_not_released,
    errors.DomainError: on_domain_error,
    ValidationException: on_validation_error,
    msgspec.MsgspecError: on_msgspec_error,
    HTTPException: on_http_error,
    StoreOperationalError: on_store_unavailable,
    StoreInterfaceError: on_store_unavailable,
    ServiceStarting: on_store_unavailable,
    Exception: on_unexpected,
}

def documented(*statuses: int) -> dict[int, Any]:
    """Documented error answers, for the OpenAPI document."""
    return {
        status: ResponseSpec(data_container=Problem, description=TITLES[status], media_type=PROBLEM_JSON)
        for status in statuses
    }
