"""A real SMTP server for tests (aiosmtpd on 127.0.0.1), as a pytest fixture: `smtp_server`.

Use it with `from tests.smtp import smtp_server_fixture  # noqa: F401` in a test module or conftest (the
fixture's name is `smtp_server`; the function's differs so that test parameters do not shadow an import).
It points the app's SMTP settings at the server for the test and restores them afterwards (the
suite's default is a closed port, so a stray send fails). The server can be stopped and started again on
the same port within a test ("SMTP down, then back"), and told to refuse recipients or messages.

    def test_x(app, smtp_server):
        ...
        assert smtp_server.messages[0]["Subject"] == "..."
"""

from __future__ import annotations

import asyncio
import email.policy
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask

HOST = "127.0.0.1"
_SETTINGS = ("SMTP_HOST", "SMTP_PORT", "SMTP_TLS", "SMTP_USER", "SMTP_PASSWORD")


@dataclass(frozen=True)
class Envelope:
    mail_from: str
    rcpt_tos: list[str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.server.reject_recipient:
            return self.server.reject_recipient
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.server.delay:
            await asyncio.sleep(self.server.delay)
        if self.server.reject_data:
            return self.server.reject_data
        raw = envelope.original_content or envelope.content
        # Lines end in CRLF on the wire; parsed as a mail client would, with \n.
        message = BytesParser(policy=email.policy.default).parsebytes(raw.replace(b"\r\n", b"\n"))
        assert isinstance(message, EmailMessage)
        self.server._received(message, Envelope(envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server in a thread. `messages` holds what it accepted, parsed, in order."""

    def __init__(self) -> None:
        self.host = HOST
        self.port = _free_port()  # kept across stop() / start()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []
        # An SMTP reply such as "550 5.1.1 No such user" makes the server refuse every recipient
        # (reject_recipient) or every message (reject_data) until set back to None.
        self.reject_recipient: str | None = None
        self.reject_data: str | None = None
        self.delay = 0.0  # seconds before answering DATA (to make concurrent senders overlap)
        # When set, AUTH must present these credentials (AUTH is offered without TLS, for the test).
        self.credentials: tuple[str, str] | None = None
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            server_hostname="smtp.test",
            ready_timeout=5.0,
            authenticator=self._authenticate,
            auth_require_tls=False,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.envelopes.clear()

    def message_ids(self) -> Counter[str]:
        """How many times each Message-ID was received."""
        with self._lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def _received(self, message: EmailMessage, envelope: Envelope) -> None:
        with self._lock:
            self.messages.append(message)
            self.envelopes.append(envelope)

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if self.credentials is not None and isinstance(auth_data, LoginPassword):
            given = (auth_data.login.decode(), auth_data.password.decode())
            if given == self.credentials:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(app: Flask) -> Iterator[SmtpServer]:
    """A running SMTP server that the app sends to, for this test only."""
    server = SmtpServer()
    saved = {key: app.config.get(key) for key in _SETTINGS}
    server.start()
    app.config.update(
        SMTP_HOST=server.host, SMTP_PORT=server.port, SMTP_TLS=False, SMTP_USER=None, SMTP_PASSWORD=None
    )
    try:
        yield server
    finally:
        server.stop()
        app.config.update(saved)
