"""Sending mail: a small port (:class:`Mailer`) with an SMTP adapter and a log-only stand-in.

calsync mails one-time set-password links today (invitations, "forgot password"), and later the notifications of
a broken or fixed calendar connection and the admin digest: every sender takes a :class:`Mailer` and builds a
:class:`Message`, so none of them knows about SMTP. :func:`build_mailer` picks the implementation from the
settings' values (``CALSYNC_SMTP_URL``, ``CALSYNC_MAIL_FROM``); without an SMTP URL, :class:`LogMailer` writes each
message to the log, which is what a fresh installation or a laptop needs (the operator reads the link there).

``CALSYNC_SMTP_URL`` forms (RFC 8314 wording: "implicit TLS" is smtps, STARTTLS upgrades a plain connection):

- ``smtp://host:587`` — STARTTLS when the server offers it (``?starttls=require`` refuses to send without it,
  ``?starttls=never`` never upgrades, e.g. a local relay); port 25 when none is given.
- ``smtps://host:465`` — TLS from the first byte; port 465 when none is given.
- ``user:password@`` before the host logs in (percent-encode special characters); ``?ca_file=/path.pem`` trusts
  that certificate authority instead of the system's (a private relay); ``?timeout=`` seconds (default 20).

Certificates are always verified (host name included): a relay with a self-signed certificate needs ``ca_file``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from typing import Protocol

from calsync.errors import ConfigurationError, ProviderTransient

log = logging.getLogger("calsync.mail")

STARTTLS_MODES = ("auto", "require", "never")


@dataclass(frozen=True)
class Message:
    """One plain-text mail to one person."""

    to: str
    subject: str
    text: str


class MailError(ProviderTransient):
    """The mail server could not be reached or refused the message (worth trying again later)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, provider="smtp")


class Mailer(Protocol):
    """Something that delivers a :class:`Message`, or raises :class:`MailError`."""

    @property
    def delivers(self) -> bool:
        """True when messages reach the recipient (SMTP); False when they are only written to the log."""
        ...

    def send(self, message: Message) -> None: ...


class LogMailer:
    """No mail server configured: each message is written to the log (logger ``calsync.mail``) instead.

    Like Django's console e-mail backend: fine on a laptop or a first installation, where the operator reads the
    set-password link from the log; configure ``CALSYNC_SMTP_URL`` before inviting real people.
    """

    delivers = False

    def __init__(self, sender: str) -> None:
        self.sender = sender

    def send(self, message: Message) -> None:
        """Log the message. The record is built directly, not through ``logging``'s record factory: calsync's
        log redaction (a record factory, calsync.web.errors) masks every ``token=…``, and here the log *is* the
        delivery, so masking the link would make it useless. This is the one record that carries a secret on
        purpose, and only when no mail server is configured."""
        if not log.isEnabledFor(logging.INFO):
            return
        text = f"mail not sent (CALSYNC_SMTP_URL is not set); to {message.to}, subject {message.subject!r}:\n"
        record = logging.LogRecord(log.name, logging.INFO, __file__, 0, text + message.text, None, None, "send")
        log.handle(record)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool
    starttls: str
    username: str | None
    password: str | None
    ca_file: str | None
    timeout: float


def parse_smtp_url(url: str) -> SmtpSettings:
    """``smtp[s]://[user[:password]@]host[:port][?starttls=auto|require|never&ca_file=…&timeout=…]``."""
    problem = "CALSYNC_SMTP_URL must look like smtp://host:587 or smtps://user:password@host:465"
    try:
        parts = urllib.parse.urlsplit(url)
        port_value = parts.port
    except ValueError as exc:
        raise ConfigurationError(f"{problem} ({exc})") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ConfigurationError(problem)
    query = dict(urllib.parse.parse_qsl(parts.query))
    unknown = set(query) - {"starttls", "ca_file", "timeout"}
    if unknown:
        first = sorted(unknown)[0]
        raise ConfigurationError(f"CALSYNC_SMTP_URL: unknown option {first!r} (known: starttls, ca_file, timeout)")
    starttls = query.get("starttls", "auto")
    if starttls not in STARTTLS_MODES:
        raise ConfigurationError(f"CALSYNC_SMTP_URL: starttls must be one of {', '.join(STARTTLS_MODES)}")
    try:
        timeout = float(query.get("timeout", "20"))
    except ValueError:
        raise ConfigurationError("CALSYNC_SMTP_URL: timeout must be a number of seconds") from None
    implicit = parts.scheme == "smtps"
    return SmtpSettings(
        host=parts.hostname,
        port=port_value or (465 if implicit else 25),
        implicit_tls=implicit,
        starttls="never" if implicit else starttls,
        username=urllib.parse.unquote(parts.username) if parts.username else None,
        password=urllib.parse.unquote(parts.password) if parts.password else None,
        ca_file=query.get("ca_file"),
        timeout=timeout,
    )


class SmtpMailer:
    """Delivers through an SMTP server with the standard library's :mod:`smtplib` (one connection per message:
    calsync sends a handful of mails an hour, so a pool would only add failure modes)."""

    delivers = True

    def __init__(self, settings: SmtpSettings, sender: str) -> None:
        self.settings = settings
        self.sender = sender
        self._tls = ssl.create_default_context(cafile=settings.ca_file)

    def send(self, message: Message) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Message-ID"] = make_msgid(domain=parseaddr(self.sender)[1].rpartition("@")[2] or None)
        mail.set_content(message.text)
        where = f"{s.host}:{s.port}"
        try:
            if s.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=self._tls)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                client.ehlo()
                if s.starttls != "never" and not s.implicit_tls:
                    if client.has_extn("starttls"):
                        client.starttls(context=self._tls)
                        client.ehlo()
                    elif s.starttls == "require":
                        raise MailError(f"the mail server {where} does not offer STARTTLS (starttls=require)")
                if s.username is not None:
                    client.login(s.username, s.password or "")
                client.send_message(mail)
        except MailError:
            raise
        except smtplib.SMTPAuthenticationError:
            raise MailError(f"the mail server {where} refused the user name or password") from None
        except smtplib.SMTPRecipientsRefused:
            raise MailError(f"the mail server {where} refused the recipient {message.to}") from None
        except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
            raise MailError(f"cannot send mail through {where}: {exc}") from None


def build_mailer(smtp_url: str | None, mail_from: str) -> Mailer:
    """The mailer the settings ask for: SMTP when a URL is set, else the log."""
    name, address = parseaddr(mail_from)
    if "@" not in address:
        raise ConfigurationError("CALSYNC_MAIL_FROM must be an email address, e.g. 'calsync <calsync@example.org>'")
    sender = formataddr((name, address)) if name else address
    if not smtp_url:
        return LogMailer(sender)
    return SmtpMailer(parse_smtp_url(smtp_url), sender)
