"""Identity: every `/api/v1` request carries `Authorization: Bearer <JWT>`.

The token is verified as the contract says (signature with the configured secret,
only the configured algorithm, `exp`, `aud` = stafettlogg) before routing; a
missing, forged, expired or wrong-audience token is a 401 and nothing else happens; so
is a token of a staff member who has been deactivated in the staff directory.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from domain.values import Actor
from stafettlogg.web.api.problems import ServiceStarting
from stafettlogg.web.deps import off_loop
from stafettlogg.tokens import InvalidClaims, InvalidToken, actor_from_claims, verify_token

STATE_KEY = "stafettlogg"


class BearerTokenAuth(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException(detail="Mangler token (Authorization: Bearer …).")
        app = connection.app.state.get(STATE_KEY)
        if app is None:  # not started yet: its database has not answered yet
            raise ServiceStarting()
        try:
            claims = verify_token(app.settings, app.keys, token.strip())
            actor = actor_from_claims(claims)
        except (InvalidToken, InvalidClaims) as exc:
            raise NotAuthorizedException(detail=f"Ugyldig token: {exc}") from None
        if not await off_loop(app.may_sign_in, actor.user):
            raise NotAuthorizedException(detail="Ugyldig token: brukeren er deaktivert.")
        return AuthenticationResult(user=actor, auth=claims)


def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    """The caller, as the token says; a dependency for handlers."""
    return request.user  # type: ignore[no-any-return]
