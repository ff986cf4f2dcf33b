"""The API documentation page: Swagger UI from the vendored, pinned swagger-ui-dist
(web/assets.py), at `/schema` and `/schema/swagger`.

Litestar's own render plugins load their scripts from a CDN and start them with an
inline script; this one renders `apidokumentasjon.html` (the pages' layout), and
`/static/swagger-init.js` starts Swagger UI, so nothing leaves the origin and the
strict Content-Security-Policy holds. The OpenAPI document stays at
`/schema/openapi.json`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request
from litestar.openapi.plugins import OpenAPIRenderPlugin


class SwaggerPage(OpenAPIRenderPlugin):
    def __init__(self, *, path: str | Sequence[str] = ("/swagger", "/"), **kwargs: Any) -> None:
        super().__init__(path=path, **kwargs)

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        template = request.app.template_engine.get_template("apidokumentasjon.html")
        html = template.render(openapi_url=self.get_openapi_json_route(request))
        return html.encode("utf-8")
