"""Headers that every answer of the web app carries, whoever it is for.

* `X-Content-Type-Options: nosniff` on every answer: a browser takes a JSON or CSV
  answer for what it says it is, never for a page or a script.
* `Content-Security-Policy` (`CSP` below) on every answer: scripts, styles, fonts,
  images and requests from this origin only (images also as `data:` URLs, which
  Designsystemet's icons are), no inline script or style (not even a `style`
  attribute), no plugins, no `<base>`, forms sent only here, and no framing. The
  pages take nothing from outside (the front-end assets are vendored, see
  docs/frontend-assets.md), and the API documentation page is Swagger UI served
  from here and started from a file (web/pages/apidocs.py), so the same strict policy
  holds on `/schema` too.
* `X-Frame-Options: DENY` (for browsers older than `frame-ancestors`) and
  `Referrer-Policy: no-referrer`: no page can be shown inside another site's frame,
  and no address of ours is sent to anyone on a link.
* `Cache-Control`: `no-store` on every answer outside `/static/`: the API's answers
  and the pages hold personal data (cases, logs, access logs, the inbox), which no
  browser or proxy may keep. Under `/static/vendor/` the paths carry the package's
  version (web/assets.py), so those files are cached for a year as immutable; the
  pages' own static files (`site.css`, ...) are revalidated on every use (`no-cache`);
  an error answer is never kept, wherever it is.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
])

STATIC_PREFIX = "/static/"
VENDOR_PREFIX = "/static/vendor/"
NO_STORE = "no-store"
VENDOR_CACHE = "public, max-age=31536000, immutable"
STATIC_CACHE = "no-cache"


def cache_control(path: str, status: int = 200) -> str:
    if status >= 400:  # an error page is a page (and a missing file may come later)
        return NO_STORE
    if path.startswith(VENDOR_PREFIX):
        return VENDOR_CACHE
    if path.startswith(STATIC_PREFIX):
        return STATIC_CACHE
    return NO_STORE


async def security_headers(message: Message, scope: Scope) -> None:
    """A `before_send` hook: add the headers to the start of every HTTP answer."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cache-Control"] = cache_control(scope.get("path", ""), message.get("status", 200))
