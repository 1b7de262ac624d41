"""SMTP delivery with smtplib: settings read from the app config, messages built with the email package,
one connection reused for a batch, and every failure turned into a sentence without personal data."""

from __future__ import annotations

import email.message
import email.utils
import re
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from types import TracebackType
from typing import Any

from vigie.config import ConfigurationError
from vigie.mail.models import Attachment
from vigie.timeutil import to_paris

DEFAULT_TIMEOUT = 10.0
_ADDRESS = re.compile(r"[^\s<>@\"'(),;:]+@[^\s<>@\"'(),;:]+")
_MAX_ERROR = 1000


class MailConfigurationError(ConfigurationError):
    """The SMTP settings cannot work: the message names the setting to fix."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    starttls: bool
    mail_from: str  # the From header, e.g. "Vigie <vigie@departement.example>"
    envelope_from: str  # its bare address, for MAIL FROM
    timeout: float


def smtp_settings(config: Mapping[str, Any], timeout: float | None = None) -> SmtpSettings:
    """The SMTP settings of the app config, checked; raises MailConfigurationError with a sentence."""
    host = config.get("SMTP_HOST")
    if not host or not isinstance(host, str):
        raise MailConfigurationError("SMTP_HOST is empty: set VIGIE_SMTP_HOST to the mail server's name.")
    try:
        port = int(config.get("SMTP_PORT", 25))
    except (TypeError, ValueError) as exc:
        raise MailConfigurationError("SMTP_PORT must be a port number (VIGIE_SMTP_PORT).") from exc
    if not 0 < port < 65536:
        raise MailConfigurationError("SMTP_PORT must be between 1 and 65535 (VIGIE_SMTP_PORT).")
    user = config.get("SMTP_USER") or None
    password = config.get("SMTP_PASSWORD") or None
    if user and not password:
        raise MailConfigurationError(
            "SMTP_USER is set without SMTP_PASSWORD: set both (VIGIE_SMTP_USER, VIGIE_SMTP_PASSWORD) "
            "or neither."
        )
    mail_from = str(config.get("MAIL_FROM") or "")
    _name, envelope_from = email.utils.parseaddr(mail_from)
    if "@" not in envelope_from or any(c in mail_from for c in "\r\n"):
        raise MailConfigurationError(
            f"MAIL_FROM ({mail_from!r}) is not an e-mail address: set VIGIE_MAIL_FROM, "
            "e.g. 'Vigie <vigie@departement.example>'."
        )
    if timeout is None:
        try:
            timeout = float(config.get("SMTP_TIMEOUT", DEFAULT_TIMEOUT))
        except (TypeError, ValueError) as exc:
            raise MailConfigurationError("SMTP_TIMEOUT must be a number of seconds.") from exc
    if timeout <= 0:
        raise MailConfigurationError("SMTP_TIMEOUT must be a positive number of seconds.")
    return SmtpSettings(
        host=host,
        port=port,
        user=user,
        password=password,
        starttls=bool(config.get("SMTP_TLS", False)),
        mail_from=mail_from,
        envelope_from=envelope_from,
        timeout=timeout,
    )


def message_id_domain(mail_from: str | None) -> str:
    """The domain of the sender address, for Message-IDs (never fails: a bad MAIL_FROM is reported when
    sending, not when an action queues an e-mail)."""
    _name, address = email.utils.parseaddr(mail_from or "")
    domain = address.rpartition("@")[2].strip()
    return domain if domain and re.fullmatch(r"[A-Za-z0-9.-]+", domain) else "vigie.invalid"


def _split_content_type(value: str) -> tuple[str, str, dict[str, str]]:
    header = email.message.Message()
    header["Content-Type"] = value
    params = {str(k): str(v) for k, v in (header.get_params() or [])[1:]}
    return header.get_content_maintype(), header.get_content_subtype(), params


def build_message(
    settings: SmtpSettings,
    *,
    recipient: str,
    subject: str,
    body: str,
    message_id: str,
    date: datetime,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = email.utils.format_datetime(to_paris(date))
    message["Message-ID"] = message_id
    # RFC 3834: no auto-replies (out-of-office) to an automatic message.
    message["Auto-Submitted"] = "auto-generated"
    # Quoted-printable: 7-bit safe whatever the server supports, still readable.
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    for attachment in attachments:
        maintype, subtype, params = _split_content_type(attachment.content_type)
        message.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype,
            filename=attachment.filename,
            params=params,
        )
    return message


class SmtpConnection:
    """One SMTP session, opened explicitly, reused for several messages, closed with QUIT.

    A reused connection is checked with NOOP before each message and reopened if the server dropped it
    (servers close idle sessions); nothing is ever sent twice by this check.
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._used = False

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def is_open(self) -> bool:
        return self._smtp is not None

    def open(self) -> None:
        if self._smtp is not None:
            return
        s = self.settings
        smtp = smtplib.SMTP(timeout=s.timeout)
        try:
            code, reply = smtp.connect(s.host, s.port)
            if code != 220:
                raise smtplib.SMTPConnectError(code, reply)
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user and s.password:
                smtp.login(s.user, s.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        self._used = False

    def _alive(self, smtp: smtplib.SMTP) -> bool:
        try:
            code, _reply = smtp.noop()
        except (smtplib.SMTPException, OSError):
            return False
        return code == 250

    def send(self, message: EmailMessage, recipient: str) -> None:
        """Send one message to one recipient; raises smtplib's exceptions (or OSError)."""
        if self._smtp is not None and self._used and not self._alive(self._smtp):
            self._discard()
        self.open()
        smtp = self._smtp
        if smtp is None:  # pragma: no cover (open() sets it or raises)
            raise smtplib.SMTPServerDisconnected("not connected")
        try:
            smtp.send_message(message, from_addr=self.settings.envelope_from, to_addrs=[recipient])
        except OSError as exc:  # smtplib's exceptions are OSErrors too
            if isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException):
                self._discard()  # the session is gone; a refusal (4xx/5xx) leaves it usable
            raise
        self._used = True

    def _discard(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()


@dataclass(frozen=True)
class DeliveryFailure:
    error: str  # a sentence for last_error: no address, no content
    permanent: bool = False  # retrying cannot help: the message goes to `failed` at once
    unreachable: bool = False  # the server cannot be reached or dropped the session: stop the batch
    configuration: bool = False  # credentials, STARTTLS or the sender address refused: stop, tell the admin


def redact(text: str, *addresses: str) -> str:
    for address in addresses:
        if address:
            text = re.sub(re.escape(address), "<address>", text, flags=re.IGNORECASE)
    text = _ADDRESS.sub("<address>", text)
    return text[:_MAX_ERROR]


def _reply_text(reply: bytes | str) -> str:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", "replace")
    return str(reply)


def describe_failure(exc: BaseException, recipient: str = "", opening: bool = False) -> DeliveryFailure:
    """Classify an exception raised while opening the session or sending one message."""
    name = type(exc).__name__

    def text(detail: str) -> str:
        return redact(f"{name}: {detail}".strip(), recipient)

    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = list(exc.recipients.values())
        detail = "; ".join(f"{code} {_reply_text(reply)}" for code, reply in replies)
        permanent = bool(replies) and all(code >= 500 for code, _reply in replies)
        return DeliveryFailure(text(detail), permanent=permanent)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        detail = f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
        return DeliveryFailure(text(detail), configuration=True)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # While opening: STARTTLS or AUTH not offered. While sending: SMTPUTF8 needed for this address.
        return DeliveryFailure(text(str(exc)), configuration=opening)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        detail = f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
        return DeliveryFailure(text(detail), configuration=exc.smtp_code >= 500)
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        detail = f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
        return DeliveryFailure(text(detail), unreachable=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = f"{exc.smtp_code} {_reply_text(exc.smtp_error)}"
        return DeliveryFailure(text(detail))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return DeliveryFailure(text(str(exc)), unreachable=True)
    if isinstance(exc, smtplib.SMTPException):
        return DeliveryFailure(text(str(exc)))
    if isinstance(exc, OSError):  # refused, timed out, TLS handshake, name resolution
        return DeliveryFailure(text(str(exc)), unreachable=True)
    # The message itself cannot be built or encoded (an address smtplib refuses, ...): never will be.
    return DeliveryFailure(text(str(exc)), permanent=True)
