"""A real SMTP server for tests: aiosmtpd on a free port of 127.0.0.1, optionally with STARTTLS, implicit TLS and
AUTH, and a self-signed certificate made per test. What it receives lands in ``inbox``."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Received:
    message: EmailMessage
    mail_from: str
    rcpt_tos: list[str]
    tls: bool
    authenticated_as: str | None


@dataclass
class Inbox:
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data  # what the authenticator returned as auth_data: the user name
        with self.arrived:
            self.received.append(
                Received(
                    message=message,
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    # session.ssl: after STARTTLS; the transport's ssl_object: implicit TLS
                    tls=session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
                    authenticated_as=login.decode() if isinstance(login, bytes) else login,
                )
            )
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        with self.arrived:
            if not self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout):
                raise AssertionError(f"expected {count} mail(s) within {timeout}s, got {len(self.received)}")
            return list(self.received)


class _FreePortController(Controller):
    """aiosmtpd's controller, bound to port 0: the port the kernel picked is read back before the first connect."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (its own issuer): clients trust exactly this file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calsync test smtp")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    cert: Path | None

    def url(self, scheme: str = "smtp", userinfo: str = "", **query: str) -> str:
        options = dict(query)
        if self.cert is not None and "ca_file" not in options:
            options["ca_file"] = str(self.cert)
        q = "&".join(f"{k}={v}" for k, v in options.items())
        return f"{scheme}://{userinfo}127.0.0.1:{self.port}" + (f"?{q}" if q else "")


def _authenticator(users: dict[str, str]) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            user, password = auth_data.login.decode(), auth_data.password.decode()
            if users.get(user) == password:
                return AuthResult(success=True, auth_data=user)
        return AuthResult(success=False, handled=False)

    return check


@contextmanager
def smtp_server(
    directory: Path,
    *,
    starttls: bool = False,
    implicit_tls: bool = False,
    users: dict[str, str] | None = None,
) -> Iterator[SmtpServer]:
    """Run an SMTP server until the block ends. ``starttls`` offers (and requires) STARTTLS; ``implicit_tls``
    speaks TLS from the first byte; ``users`` turns on AUTH (only over TLS)."""
    inbox = Inbox()
    cert = key = None
    tls_context = None
    if starttls or implicit_tls:
        cert, key = self_signed_cert(directory)
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(cert, key)
    kwargs: dict[str, Any] = {}
    if starttls:
        kwargs.update(tls_context=tls_context, require_starttls=True)
    if users is not None:
        kwargs.update(authenticator=_authenticator(users), auth_require_tls=True)
    controller = _FreePortController(
        inbox,
        hostname="127.0.0.1",
        port=0,
        ssl_context=tls_context if implicit_tls else None,
        **kwargs,
    )
    controller.start()
    try:
        yield SmtpServer(inbox, controller.port, cert)
    finally:
        controller.stop()
