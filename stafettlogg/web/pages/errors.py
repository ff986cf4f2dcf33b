"""Error answers for people: outside the machine paths, an error is an HTML page.

The app-level exception handlers of `create_app` are the API's (RFC 9457 problem
details, web/api/problems.py), each wrapped here: on `/api`, `/schema`, `/health`
and `/ready` the API's handler answers as before; on every other path it still
decides the status, the logging and headers such as `Retry-After` (an unexpected
error is logged there, with its traceback, and only there), and the person is shown
a page with that status: 404 "Siden finnes ikke", 500 "Noe gikk galt", and a short
page for the rest. A page says nothing of what was asked for or of what failed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from litestar import Request, Response
from litestar.response import Template

from stafettlogg.web.api.problems import TITLES

# Paths whose answers are for programs: problem details, never a page.
MACHINE_PATHS = ("/api", "/schema", "/health", "/ready", "/metrics")
# Headers of the API's answer a page keeps.
KEPT_HEADERS = ("retry-after", "allow")

PAGES: dict[int, tuple[str, list[str]]] = {
    404: ("Siden finnes ikke", [
        "Vi finner ikke siden du ba om. Kanskje adressen er skrevet feil, "
        "eller siden er flyttet.",
    ]),
    500: ("Noe gikk galt", [
        "Det oppstod en feil hos oss, og feilen er logget. Prøv igjen om litt.",
    ]),
    503: ("Tjenesten er ikke tilgjengelig", [
        "Stafettlogg kan ikke svare akkurat nå. Prøv igjen om litt.",
    ]),
}

Handler = Callable[[Request[Any, Any, Any], Exception], Response[Any]]


def is_machine_path(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in MACHINE_PATHS)


def error_page(status: int, headers: Mapping[str, str] | None = None) -> Template:
    if status in PAGES:
        heading, text = PAGES[status]
    elif status >= 500:
        heading, text = PAGES[500]
    else:
        heading = TITLES.get(status, "Forespørselen kan ikke behandles")
        text = ["Forespørselen kunne ikke behandles. Gå tilbake og prøv igjen."]
    return Template(
        template_name="feil.html",
        context={"heading": heading, "text": text},
        status_code=status if status >= 400 else 500,
        headers=dict(headers or {}),
    )


def _page_or_problem(api_handler: Handler) -> Handler:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        answer = api_handler(request, exc)
        if is_machine_path(request.url.path):
            return answer
        kept = {k: v for k, v in answer.headers.items() if k.lower() in KEPT_HEADERS}
        return error_page(answer.status_code, kept)

    handle.__name__ = getattr(api_handler, "__name__", "handle")
    return handle


def page_or_problem(api_handlers: Mapping[Any, Handler]) -> dict[Any, Handler]:
    """The API's exception handlers, answering with pages outside the machine paths."""
    return {kind: _page_or_problem(handler) for kind, handler in api_handlers.items()}
