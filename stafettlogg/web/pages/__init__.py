"""The pages for people (server-rendered HTML, Jinja templates in `web/templates/`),
beside the JSON API: the landing page at `/`, the error pages (`errors.py`), the API
documentation page (`apidocs.py`), and the static files under `/static/`.

Every page is plain HTML that works without JavaScript (htmx only enhances), in
bokmål, and takes nothing from outside the origin; the headers on its answer
(Content-Security-Policy, no-store) are set in web/security.py.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.response import Template
from litestar.static_files import create_static_files_router

from stafettlogg.web.pages.apidocs import SwaggerPage
from stafettlogg.web.pages.errors import page_or_problem
from stafettlogg.web.pages.templating import template_config

STATIC = Path(__file__).resolve().parents[1] / "static"

__all__ = ["SwaggerPage", "page_or_problem", "pages_router", "template_config"]


@get("/", include_in_schema=False, sync_to_thread=False)
def landing() -> Template:
    """What Stafettlogg is, and the way in."""
    return Template(template_name="forside.html")


def static_files() -> Router:
    """`/static/`: the pages' own files and the vendored assets (`static/vendor/`)."""
    return create_static_files_router(path="/static", directories=[STATIC], name="static")


def pages_router() -> Router:
    return Router(path="/", route_handlers=[landing, static_files()])
