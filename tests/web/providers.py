"""OpenID Connect providers on 127.0.0.1 for the sign-in tests, both real HTTP servers:

* `mock_provider()`: PyPI's `oidc-provider-mock`, a working provider (authlib's server):
  its sign-in page takes the person's subject in a form.
* `HostileProvider`: a provider that answers the token request with an ID token that
  must be refused (signed by another key, expired, for another audience, with another
  nonce), built with joserfc, so that the callback's checks are tried one by one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import RSAKey
from oidc_provider_mock import run_server_in_thread


@contextmanager
def mock_provider() -> Iterator[str]:
    """A working provider; yields its issuer URL."""
    with run_server_in_thread(port=0) as server:
        yield f"http://127.0.0.1:{server.server_port}"


class HostileProvider:
    """Discovery, JWKS and an authorization endpoint that signs anyone in at once; the
    token endpoint's ID token is spoiled as `mode` says ("good" spoils nothing)."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "the-key"})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": "the-key"})
        self.mode = "good"
        self.subject = "kari-sub"
        self.client_id = "stafettlogg"
        self.nonces: dict[str, str] = {}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(provider.metadata())
                elif url.path == "/jwks":
                    self._json({"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = f"code-{len(provider.nonces)}"
                    provider.nonces[code] = query.get("nonce", "")
                    back = query["redirect_uri"] + "?" + urlencode(
                        {"code": code, "state": query.get("state", "")})
                    self.send_response(302)
                    self.send_header("Location", back)
                    self.end_headers()
                else:
                    self.send_error(404)

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if urlsplit(self.path).path != "/token":
                    self.send_error(404)
                    return
                self._json({"access_token": "x", "token_type": "Bearer", "expires_in": 60,
                            "id_token": provider.id_token(provider.nonces.get(form["code"], ""))})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer, "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token", "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def id_token(self, nonce: str) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "sub": self.subject, "aud": self.client_id,
            "iat": now, "exp": now + 300, "nonce": nonce,
        }
        key = self.key
        if self.mode == "other-key":
            key = self.other_key
        elif self.mode == "expired":
            claims.update(iat=now - 3600, exp=now - 1800)
        elif self.mode == "wrong-audience":
            claims["aud"] = "another-client"
        elif self.mode == "wrong-nonce":
            claims["nonce"] = "not-the-one-sent"
        elif self.mode == "wrong-issuer":
            claims["iss"] = "https://elsewhere.example"
        return jwt.encode({"alg": "RS256", "kid": "the-key"}, claims, key)

    def __enter__(self) -> HostileProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
