"""Bearer tokens (JWT) of the HTTP API: issuing, verifying, and the actor they name.

The API (`docs/api.md`, "Authentication"): tokens are signed with HS256 and
the installation's token secret (in the key file), carry `aud` = `stafettlogg` and an
`exp`, and name the user (`sub`, `name`), the user's `roles`, the user's `service`
(workers and coordinators) and the `municipalities` the user acts for. Only the
configured algorithm is accepted, so neither `none` nor an algorithm swap gets in.

`verify_token` returns the claims only when the signature, the audience, the times
and every claim check out; otherwise it raises `InvalidToken`, whose message is a
short reason (never the token or anything from it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from domain.services import SERVICE_ID_PATTERN
from domain.staff import ROLES_WITH_MUNICIPALITIES, ROLES_WITH_SERVICE
from domain.values import MUNICIPALITY_PATTERN, ROLES, Actor
from stafettlogg.keys import KeyFile
from stafettlogg.settings import Settings, SettingsError

AUDIENCE = "stafettlogg"
# Symmetric algorithms only: the secret in the key file is a shared secret.
SUPPORTED_ALGORITHMS = ("HS256", "HS384", "HS512")
REQUIRED_CLAIMS = ("sub", "name", "roles", "municipalities", "aud", "iat", "exp")


class InvalidToken(ValueError):
    """A token that must not be accepted; the message says why, without its content."""


class InvalidClaims(ValueError):
    """Claims that a token must not carry (an unknown role, a worker without service, ...)."""


def _algorithm(settings: Settings) -> str:
    if settings.token_algorithm not in SUPPORTED_ALGORITHMS:
        msg = (
            f"token_algorithm må være en av {', '.join(SUPPORTED_ALGORITHMS)} "
            f"(nøkkelen er en delt hemmelighet)"
        )
        raise SettingsError(msg)
    return settings.token_algorithm


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        msg = "now must be timezone-aware"
        raise ValueError(msg)
    return moment.astimezone(UTC)


def validate_claims(
    *,
    sub: Any,
    name: Any,
    roles: Any,
    service: Any,
    municipalities: Any,
) -> tuple[str, str, list[str], str | None, list[str]]:
    """Check the identity claims; return them cleaned (roles and municipalities de-duplicated)."""
    if not isinstance(sub, str) or not sub.strip():
        raise InvalidClaims("sub (bruker-id) må være en ikke-tom tekst")
    if not isinstance(name, str) or not name.strip():
        raise InvalidClaims("name (navn) må være en ikke-tom tekst")
    if isinstance(roles, str) or not isinstance(roles, Iterable):
        raise InvalidClaims("roles må være en liste")
    roles = list(dict.fromkeys(roles))
    if not roles:
        raise InvalidClaims(f"minst én rolle kreves: {', '.join(ROLES)}")
    for role in roles:
        if role not in ROLES:
            raise InvalidClaims(f"ukjent rolle {role!r}; gyldige roller: {', '.join(ROLES)}")
    if service is not None and (
        not isinstance(service, str) or not re.match(SERVICE_ID_PATTERN, service)
    ):
        raise InvalidClaims(
            "service må være en tjeneste-id (små bokstaver, sifre og bindestrek, 2-63 tegn)"
        )
    needs_service = ROLES_WITH_SERVICE.intersection(roles)
    if needs_service and service is None:
        raise InvalidClaims(f"rollen {min(needs_service)} krever service (tjeneste-id)")
    if isinstance(municipalities, str) or not isinstance(municipalities, Iterable):
        raise InvalidClaims("municipalities må være en liste med kommunenummer")
    municipalities = list(dict.fromkeys(municipalities))
    for number in municipalities:
        if not isinstance(number, str) or not re.match(MUNICIPALITY_PATTERN, number):
            raise InvalidClaims("et kommunenummer har fire sifre, f.eks. 4225")
    needs_municipality = ROLES_WITH_MUNICIPALITIES.intersection(roles)
    if needs_municipality and not municipalities:
        raise InvalidClaims(f"rollen {min(needs_municipality)} krever minst ett kommunenummer")
    return sub, name.strip(), roles, service, municipalities


def issue_token(
    settings: Settings,
    keys: KeyFile,
    *,
    sub: str,
    name: str,
    roles: Iterable[str],
    service: str | None,
    municipalities: Iterable[str],
    now: datetime,
) -> str:
    """A signed token for one user, valid for `settings.token_ttl_minutes` from `now`."""
    algorithm = _algorithm(settings)
    sub, name, role_list, service, numbers = validate_claims(
        sub=sub, name=name, roles=roles, service=service, municipalities=municipalities
    )
    issued = _as_utc(now).replace(microsecond=0)
    payload: dict[str, Any] = {
        "sub": sub,
        "name": name,
        "roles": role_list,
        "municipalities": numbers,
        "aud": AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=settings.token_ttl_minutes)).timestamp()),
    }
    if service is not None:
        payload["service"] = service
    return jwt.encode(payload, keys.token_secret, algorithm=algorithm)


def verify_token(
    settings: Settings, keys: KeyFile, token: str, now: datetime | None = None
) -> dict[str, Any]:
    """The claims of a valid token, or `InvalidToken`.

    Checks the signature with the configured algorithm only, the audience, `exp`
    (and that `iat` is not in the future), and the identity claims. `now` is for
    tests and replays; without it the current time is used (by PyJWT itself).
    """
    algorithm = _algorithm(settings)
    if not isinstance(token, str) or not token:
        raise InvalidToken("mangler token")
    options: dict[str, Any] = {"require": list(REQUIRED_CLAIMS)}
    if now is not None:
        # PyJWT compares times with the real clock; with a given `now`, do it below.
        options.update(verify_exp=False, verify_iat=False, verify_nbf=False)
    try:
        claims = _decode(token, keys.token_secrets(now or datetime.now(UTC)), algorithm, options)
    except jwt.ExpiredSignatureError:
        raise InvalidToken("tokenet er utløpt") from None
    except jwt.InvalidAudienceError:
        raise InvalidToken("tokenet er ikke utstedt for stafettlogg (aud)") from None
    except jwt.InvalidAlgorithmError:
        raise InvalidToken("tokenet er signert med en algoritme som ikke godtas") from None
    except jwt.InvalidSignatureError:
        raise InvalidToken("signaturen er ugyldig") from None
    except jwt.MissingRequiredClaimError as exc:
        raise InvalidToken(f"tokenet mangler claim {exc.claim!r}") from None
    except jwt.ImmatureSignatureError:
        raise InvalidToken("tokenet er utstedt fram i tid") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("tokenet kan ikke leses") from None
    if now is not None:
        _check_times(claims, _as_utc(now))
    try:
        validate_claims(
            sub=claims["sub"],
            name=claims["name"],
            roles=claims["roles"],
            service=claims.get("service"),
            municipalities=claims["municipalities"],
        )
    except InvalidClaims as exc:
        raise InvalidToken(f"ugyldige claims: {exc}") from None
    return claims


def _decode(
    token: str, secrets: list[bytes], algorithm: str, options: dict[str, Any]
) -> dict[str, Any]:
    """The claims, with the signature checked against the current token secret, or
    the previous one during its grace period after `keys rotate token`."""
    for secret in secrets[:-1]:
        try:
            return jwt.decode(token, secret, algorithms=[algorithm], audience=AUDIENCE,
                              options=options)
        except jwt.InvalidSignatureError:
            continue
    return jwt.decode(token, secrets[-1], algorithms=[algorithm], audience=AUDIENCE,
                      options=options)


def _check_times(claims: Mapping[str, Any], now: datetime) -> None:
    moment = now.timestamp()
    for claim in ("exp", "iat"):
        if not isinstance(claims[claim], int | float) or isinstance(claims[claim], bool):
            raise InvalidToken(f"{claim} må være et tidspunkt (sekunder)")
    if claims["exp"] <= moment:
        raise InvalidToken("tokenet er utløpt")
    if claims["iat"] > moment:
        raise InvalidToken("tokenet er utstedt fram i tid")
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, int | float) or nbf > moment):
        raise InvalidToken("tokenet er ikke gyldig ennå")


def actor_from_claims(claims: Mapping[str, Any]) -> Actor:
    """The domain's actor for verified claims."""
    return Actor(
        user=claims["sub"],
        service=claims.get("service"),
        roles=frozenset(claims.get("roles", ())),
        municipalities=frozenset(claims.get("municipalities", ())),
    )
