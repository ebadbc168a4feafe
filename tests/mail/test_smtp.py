"""The SMTP mailer against a real aiosmtpd server on a free port: plain, STARTTLS with a self-signed certificate
and a login, implicit TLS, and the failures an operator meets (untrusted certificate, no STARTTLS offered, a
wrong password, nobody listening), each one :class:`MailError` with a message naming the server."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from calsync.errors import ConfigurationError
from calsync.mail import LogMailer, MailError, Message, SmtpMailer, build_mailer, parse_smtp_url
from tests.smtp_server import smtp_server

MESSAGE = Message(to="ada@example.org", subject="Hello Ada", text="A link: https://calsync.example/x?token=abc\n")


def test_plain_smtp_delivers_the_message_as_written(tmp_path: Path) -> None:
    """smtp:// with starttls=never hands the message over as is: sender, recipient, subject and text arrive."""
    with smtp_server(tmp_path) as server:
        build_mailer(server.url(starttls="never"), "calsync <calsync@example.org>").send(MESSAGE)
        [got] = server.inbox.wait_for(1)
    assert got.rcpt_tos == ["ada@example.org"] and got.mail_from == "calsync@example.org"
    assert got.message["Subject"] == "Hello Ada" and got.message["From"] == "calsync <calsync@example.org>"
    assert got.message.get_content().replace("\r\n", "\n") == MESSAGE.text  # SMTP lines end in CRLF
    assert got.tls is False


def test_starttls_with_a_self_signed_certificate_and_a_login(tmp_path: Path) -> None:
    """A server that requires STARTTLS (self-signed certificate, trusted through ca_file) and a login over TLS:
    the mailer upgrades the connection, logs in, and the message arrives encrypted and authenticated."""
    with smtp_server(tmp_path, starttls=True, users={"mailer": "s3cret pass"}) as server:
        mailer = build_mailer(server.url(userinfo="mailer:s3cret%20pass@"), "calsync@example.org")
        assert isinstance(mailer, SmtpMailer) and mailer.delivers
        mailer.send(MESSAGE)
        [got] = server.inbox.wait_for(1)
    assert got.tls is True and got.authenticated_as == "mailer"


def test_starttls_required_by_the_url_but_not_offered_sends_nothing(tmp_path: Path) -> None:
    """starttls=require refuses to send in the clear to a server that does not offer STARTTLS."""
    with smtp_server(tmp_path) as server:
        with pytest.raises(MailError, match="does not offer STARTTLS"):
            build_mailer(server.url(starttls="require"), "calsync@example.org").send(MESSAGE)
        assert server.inbox.received == []


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    """Without ca_file the self-signed certificate is not trusted (the system's CAs do not know it): no mail."""
    with smtp_server(tmp_path, starttls=True) as server:
        url = f"smtp://127.0.0.1:{server.port}"
        with pytest.raises(MailError, match=f"127.0.0.1:{server.port}.*certificate"):
            build_mailer(url, "calsync@example.org").send(MESSAGE)
        assert server.inbox.received == []


def test_implicit_tls(tmp_path: Path) -> None:
    """smtps:// speaks TLS from the first byte."""
    with smtp_server(tmp_path, implicit_tls=True) as server:
        build_mailer(server.url("smtps"), "calsync@example.org").send(MESSAGE)
        [got] = server.inbox.wait_for(1)
    assert got.tls is True


def test_a_wrong_password_says_so(tmp_path: Path) -> None:
    with smtp_server(tmp_path, starttls=True, users={"mailer": "right"}) as server:
        with pytest.raises(MailError, match="refused the user name or password"):
            build_mailer(server.url(userinfo="mailer:wrong@"), "calsync@example.org").send(MESSAGE)
        assert server.inbox.received == []


def test_nobody_listening_is_a_mail_error_naming_the_server() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MailError, match=f"cannot send mail through 127.0.0.1:{port}"):
        build_mailer(f"smtp://127.0.0.1:{port}?timeout=5", "calsync@example.org").send(MESSAGE)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example.org", "must look like"),
        ("smtp://", "must look like"),
        ("smtp://mail.example.org:notaport", "must look like"),
        ("smtp://mail.example.org?starttls=maybe", "starttls must be one of"),
        ("smtp://mail.example.org?tls=1", "unknown option 'tls'"),
        ("smtp://mail.example.org?timeout=soon", "timeout must be a number"),
    ],
)
def test_a_bad_smtp_url_is_a_configuration_error_saying_what_to_fix(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        parse_smtp_url(url)


def test_url_defaults() -> None:
    """Ports default to 25 (smtp) and 465 (smtps); STARTTLS is used when offered unless told otherwise."""
    plain, implicit = parse_smtp_url("smtp://mail.example.org"), parse_smtp_url("smtps://u:p%40x@mail.example.org")
    assert (plain.port, plain.starttls, plain.implicit_tls, plain.username) == (25, "auto", False, None)
    assert (implicit.port, implicit.implicit_tls, implicit.username, implicit.password) == (465, True, "u", "p@x")


def test_a_bad_sender_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="CALSYNC_MAIL_FROM"):
        build_mailer(None, "not an address")


def test_without_a_server_the_message_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """No CALSYNC_SMTP_URL: the log-only mailer writes the whole message (the operator reads the link there)."""
    mailer = build_mailer(None, "calsync@example.org")
    assert isinstance(mailer, LogMailer) and not mailer.delivers
    with caplog.at_level(logging.INFO, logger="calsync.mail"):
        mailer.send(MESSAGE)
    assert "ada@example.org" in caplog.text and "https://calsync.example/x?token=abc" in caplog.text
