"""Headers that every answer of the web app carries, whoever it is for.

* `X-Content-Type-Options: nosniff` on every answer: a browser takes a JSON or CSV
  answer for what it says it is, never for a page or a script.
* `Cache-Control: no-store` on every answer of the API: its answers hold personal
  data (cases, logs, access logs, the inbox), which no browser or proxy may keep.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

NO_STORE_PREFIX = "/api/"


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook: add the headers to the start of every HTTP answer."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    if scope.get("path", "").startswith(NO_STORE_PREFIX):
        headers["Cache-Control"] = "no-store"
