"""OpenID Connect sign-in: the authorization code flow with PKCE (S256), `state` and
`nonce`, against the provider `STAFETTLOGG_OIDC_ISSUER` names (ID-porten, or a
municipality's own such as Entra ID).

The protocol is authlib's (the authorization URL with its PKCE challenge, the token
request) and joserfc's (the ID token): nothing of JOSE is written here. The provider's
metadata comes from its discovery document, and its keys from its JWKS, fetched
again once when a token names a key not seen yet (the provider rotated its keys).

The ID token is accepted only when its signature verifies with one of the provider's
keys under an asymmetric algorithm the provider announces, `iss` is the issuer, `aud`
holds the client id, `exp` has not passed, `iat` is there, and `nonce` is the one this
sign-in sent. Every refusal is `SignInRefused`, whose message says why in a few words
and never holds the token or a claim.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import warnings

import httpx
from authlib.deprecate import AuthlibDeprecationWarning
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from stafettlogg.settings import Settings

# Never a shared-secret algorithm nor `none`: the ID token must be signed by the provider.
ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")
CALLBACK_PATH = "/logg-inn/oidc/svar"
FAMILY_CALLBACK_PATH = "/familie/logg-inn/svar"
LEEWAY_SECONDS = 60
METADATA_SECONDS = 3600


with warnings.catch_warnings():
    # authlib 1.9 would rather use the `httpx2` fork; httpx is what we pin and use.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client


class SignInRefused(Exception):
    """The provider's answer cannot be trusted; the message says why, without content."""


class OidcClient:
    """One OpenID Connect client: the staff's (`for_staff`) or the families' (`for_family`,
    ID-porten)."""

    def __init__(self, *, issuer: str, client_id: str, client_secret: str, scope: str,
                 acr_values: str, subject_claim: str, redirect_uri: str) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret or None
        self.scope = scope
        self.acr_values = acr_values or None
        self.subject_claim = subject_claim
        self.redirect_uri = redirect_uri
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    @classmethod
    def for_staff(cls, settings: Settings) -> OidcClient:
        return cls(issuer=settings.oidc_issuer, client_id=settings.oidc_client_id,
                   client_secret=settings.oidc_client_secret, scope=settings.oidc_scopes,
                   acr_values=settings.oidc_acr_values,
                   subject_claim=settings.oidc_subject_claim,
                   redirect_uri=settings.public_url + CALLBACK_PATH)

    @classmethod
    def for_family(cls, settings: Settings) -> OidcClient:
        return cls(issuer=settings.family_oidc_issuer,
                   client_id=settings.family_oidc_client_id,
                   client_secret=settings.family_oidc_client_secret, scope="openid profile",
                   acr_values=settings.family_oidc_acr_values,
                   subject_claim=settings.family_oidc_subject_claim,
                   redirect_uri=settings.public_url + FAMILY_CALLBACK_PATH)

    def _client(self) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.client_id, client_secret=self.client_secret, scope=self.scope,
            redirect_uri=self.redirect_uri, code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if self.client_secret else "none",
            timeout=10.0,
        )

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached for an hour)."""
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_SECONDS:
            async with httpx.AsyncClient(timeout=10.0) as http:
                answer = await http.get(f"{self.issuer}/.well-known/openid-configuration")
                answer.raise_for_status()
                metadata = answer.json()
            if metadata.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInRefused("utstederen i oppdagelsesdokumentet er en annen")
            self._metadata, self._metadata_at = metadata, time.monotonic()
            self._keys = None
        return self._metadata

    async def _key_set(self, *, again: bool = False) -> KeySet:
        if self._keys is None or again:
            metadata = await self.metadata()
            async with httpx.AsyncClient(timeout=10.0) as http:
                answer = await http.get(metadata["jwks_uri"])
                answer.raise_for_status()
                self._keys = KeySet.import_key_set(answer.json())
        return self._keys

    async def authorization_url(self) -> tuple[str, str, str, str]:
        """Where to send the browser: (url, state, nonce, PKCE verifier)."""
        metadata = await self.metadata()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        extra = {"acr_values": self.acr_values} if self.acr_values else {}
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"], state=state, nonce=nonce,
                code_verifier=verifier, **extra,
            )
        return url, state, nonce, verifier

    async def finish(self, code: str, verifier: str, nonce: str) -> str:
        """Exchange the code for tokens; the person's subject from a checked ID token."""
        metadata = await self.metadata()
        try:
            async with self._client() as client:
                tokens = await client.fetch_token(
                    metadata["token_endpoint"], code=code, code_verifier=verifier,
                    grant_type="authorization_code",
                )
        except Exception as exc:  # noqa: BLE001 - any failure of the exchange is a refusal
            raise SignInRefused(f"koden ble ikke godtatt ({type(exc).__name__})") from None
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("svaret hadde ingen ID-token")
        claims = await self.verify(id_token, nonce)
        subject = claims.get(self.subject_claim)
        if not isinstance(subject, str) or not subject:
            raise SignInRefused(f"ID-tokenet mangler {self.subject_claim}")
        return subject

    async def verify(self, id_token: str, nonce: str) -> dict[str, Any]:
        metadata = await self.metadata()
        announced = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in announced if a in ASYMMETRIC]
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=algorithms)
            except (JoseError, ValueError):
                # Perhaps a key the provider has added since: fetch the keys once more.
                token = jwt.decode(id_token, await self._key_set(again=True),
                                   algorithms=algorithms)
        except (JoseError, ValueError):
            raise SignInRefused("ID-tokenet er ikke signert av leverandøren") from None
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(token.claims)
        except JoseError as exc:
            claim = getattr(exc, "claim", None) or "?"
            raise SignInRefused(f"ID-tokenet ble avvist ({claim})") from None
        return token.claims
