"""A real SMTP server for the tests (aiosmtpd), keeping every message it receives."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class MailSink:
    """The aiosmtpd handler: accepts (or, when ``refuse`` is set, refuses) each message."""

    refuse: bool = False
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return "554 5.7.1 Message refused by the test server"
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def smtp_server(*, refuse: bool = False) -> Iterator[tuple[int, MailSink]]:
    """Run a server on 127.0.0.1; yields its port and the sink holding what it received."""
    sink = MailSink(refuse=refuse)
    controller = Controller(sink, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, sink
    finally:
        controller.stop()


def attachments(message: EmailMessage) -> dict[str, bytes]:
    """File name -> content of every attachment of a received message."""
    return {
        part.get_filename(): part.get_payload(decode=True)
        for part in message.iter_attachments()
        if part.get_filename()
    }


def html_body(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html", "plain"))
    return "" if body is None else body.get_content()


@contextmanager
def smtp_server_at(port: int) -> Iterator[MailSink]:
    """Run a server on 127.0.0.1:``port``, a port chosen before: the mail server of a deployment
    that was down and comes back where its connection points. Yields the sink."""
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
