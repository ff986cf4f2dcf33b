"""A real SMTP server on 127.0.0.1 for the notices' tests (aiosmtpd, in this process).

`Mailbox.refuse` makes it answer every recipient with that code (451: try later; 550:
refused); `Mailbox.stop()` takes it down, so that a sender meets a closed port. With
`security` "starttls" or "tls" it speaks TLS with a certificate for 127.0.0.1 from a
certificate authority made for the test (`ca_file`, for SSL_CERT_FILE), and with
`login` it requires that user and password (only over TLS).
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tls_files(directory: Path) -> tuple[Path, Path, Path]:
    """A certificate authority and a server certificate for 127.0.0.1 signed by it:
    (ca.pem, server.pem, server-key.pem) in `directory`."""
    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    now = datetime.now(UTC)
    ca_key, server_key = key(), key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Testens CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(
              digital_signature=True, content_commitment=False, key_encipherment=False,
              data_encipherment=False, key_agreement=False, key_cert_sign=True,
              crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName(
                  [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                  ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = directory / "ca.pem", directory / "server.pem", directory / "server-key.pem"
    paths[0].write_bytes(ca.public_bytes(pem))
    paths[1].write_bytes(server.public_bytes(pem))
    paths[2].write_bytes(server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class Mailbox:
    """What the server received, as parsed messages; and how it answers."""

    def __init__(self, security: str = "none", tls_dir: Path | None = None,
                 login: tuple[str, str] | None = None) -> None:
        self.security = security
        self.login = login
        self.logged_in: list[str] = []
        self.ca_file: Path | None = None
        self._tls: ssl.SSLContext | None = None
        if security != "none":
            assert tls_dir is not None, "TLS needs a directory for its certificates"
            self.ca_file, cert, key = tls_files(tls_dir)
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(cert, key)
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.refuse: int | None = None
        self.tries = 0
        self.controller: Controller | None = None
        self.port = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        self.tries += 1
        if self.refuse == 451:
            return "451 4.3.0 Prøv igjen senere"
        if self.refuse == 550:
            return "550 5.1.1 Ukjent mottaker"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(envelope.content)
        self.messages.append(email.message_from_bytes(  # type: ignore[arg-type]
            envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = self.login is not None and isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()) == self.login
        if ok:
            self.logged_in.append(auth_data.login.decode())
        return AuthResult(success=ok)

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.security == "starttls":
            options.update(tls_context=self._tls, require_starttls=True)
        elif self.security == "tls":
            # aiosmtpd counts only STARTTLS as TLS for AUTH; here every byte is TLS.
            # (It warns that AUTH without STARTTLS is unsafe: not so here; the test
            # leaves the warning out.)
            options.update(ssl_context=self._tls, auth_require_tls=False)
        if self.login is not None:
            options.update(authenticator=self._authenticate, auth_required=True)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port or free_port(),
                                     **options)
        self.controller.start()
        self.port = self.controller.port

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def text(self, message: EmailMessage) -> str:
        """Every header and the body, as one text (for "is it anywhere in the mail")."""
        headers = "\n".join(f"{k}: {v}" for k, v in message.items())
        body = message.get_body(preferencelist=("plain",))
        return headers + "\n" + (body.get_content() if body is not None else "")

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server(security: str = "none", tls_dir: Path | None = None,
                login: tuple[str, str] | None = None) -> Iterator[Mailbox]:
    mailbox = Mailbox(security, tls_dir, login)
    mailbox.start()
    try:
        yield mailbox
    finally:
        mailbox.stop()


def smtp_env(mailbox: Mailbox) -> dict[str, str]:
    """The settings of a service that sends its notices to this server."""
    login = {} if mailbox.login is None else {
        "STAFETTLOGG_SMTP_USER": mailbox.login[0], "STAFETTLOGG_SMTP_PASSWORD": mailbox.login[1]}
    return {
        "STAFETTLOGG_SMTP_HOST": "127.0.0.1",
        "STAFETTLOGG_SMTP_PORT": str(mailbox.port),
        "STAFETTLOGG_SMTP_SECURITY": mailbox.security,
        "STAFETTLOGG_SMTP_FROM": "Stafettlogg <varsel@lyngdal.kommune.no>",
        "STAFETTLOGG_PUBLIC_URL": "https://stafettlogg.lyngdal.kommune.no",
        **login,
    }
