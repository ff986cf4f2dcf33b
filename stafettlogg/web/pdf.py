"""PDF/A files made from the pages' printable templates (WeasyPrint): the evaluators'
report (web/pages/statistics.py) and the archive package of a closed case
(stafettlogg/archive/).

The stylesheets and fonts are read from `/static` on disk; nothing else is fetched,
so a template that asks for anything else fails instead of leaving the machine.
"""

from __future__ import annotations

import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"


def html_to_pdf(html: str, *, variant: str = "pdf/a-3a", created: datetime | None = None,
                identifier: bytes | None = None) -> bytes:
    """A tagged PDF of the variant (`pdf/a-3a`, `pdf/a-2a`, ...) of a printable page.

    With `created` and `identifier` the same page gives the same bytes every time
    (WeasyPrint otherwise stamps the time of rendering and a random file id)."""
    import weasyprint
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class OwnFiles(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            prefix = "file:///static/"
            path = (STATIC / url[len(prefix):]).resolve() if url.startswith(prefix) else None
            if path is None or STATIC not in path.parents:
                raise ValueError("only the pages' own files")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    document = weasyprint.HTML(string=html, base_url="file:///", url_fetcher=OwnFiles())
    options: dict[str, Any] = {"pdf_variant": variant, "pdf_tags": True}
    if identifier is not None:
        options["pdf_identifier"] = identifier
    rendered = document.render(**options)
    if created is not None:
        stamp = created.isoformat(timespec="seconds")
        rendered.metadata.created = stamp
        rendered.metadata.modified = stamp
    return rendered.write_pdf(**options)
