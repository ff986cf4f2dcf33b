"""`GET /metrics`: the service's metrics in the Prometheus text format
(`stafettlogg/observability.py` says which).

Who may read them: with `STAFETTLOGG_METRICS_TOKEN` set, whoever sends it as
`Authorization: Bearer <token>` (compared in constant time); without it, only a
client on this machine (a loopback address) whose request came through no proxy
(no `Forwarded` or `X-Forwarded-For` header), so that a reverse proxy on the same
machine does not open them to the world by accident. Anyone else gets 404, as if
there were nothing there. The metrics hold no personal data, no label that names a
case, a child, a person or a municipality, and no statistics.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException
from prometheus_client import generate_latest

from stafettlogg.observability import Metrics
from stafettlogg.settings import Settings
from stafettlogg.web.api.problems import documented

# The text format every Prometheus reads (Litestar adds `; charset=utf-8`).
CONTENT_TYPE = "text/plain; version=0.0.4"
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ip_address(host).is_loopback
    except ValueError:
        return False


def may_read_metrics(settings: Settings, client_host: str | None, headers: Any) -> bool:
    if settings.metrics_token:
        scheme, _, given = (headers.get("authorization") or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode(), settings.metrics_token.encode())
    return _loopback(client_host) and not any(name in headers for name in PROXY_HEADERS)


def _render(metrics: Metrics) -> bytes:
    return generate_latest(metrics.registry)


@get("/metrics", tags=["drift"], summary="Metrics (Prometheus)", include_in_schema=True,
     media_type=CONTENT_TYPE, responses=documented(404))
async def metrics_endpoint(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    """The metrics in the Prometheus text format; 404 for a client that may not read them."""
    settings: Settings = state["settings"]
    client = request.client.host if request.client else None
    if not may_read_metrics(settings, client, request.headers):
        raise NotFoundException()
    from anyio import to_thread

    body = await to_thread.run_sync(_render, state["metrics"])
    return Response(body, media_type=CONTENT_TYPE)
