"""A real SMTP server for tests (aiosmtpd on a free port), and Django pointed at it."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

import dkim
import pytest
from aiosmtpd.controller import Controller

from bookings.dkim_signing import DkimKey, generate_private_key


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> Message:
        # The modern policy unfolds long headers, as mail clients read them.
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class MailServer:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.rcpt_tos]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()


class _Collector:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # aiosmtpd's hook name
        with self.server.lock:
            self.server.received.append(
                Received(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), data=envelope.original_content)
            )
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(port: int | None = None) -> tuple[MailServer, Controller]:
    server = MailServer(host="127.0.0.1", port=port or free_port())
    controller = Controller(_Collector(server), hostname=server.host, port=server.port)
    controller.start()
    return server, controller


@pytest.fixture
def smtp_server(settings) -> Iterator[MailServer]:
    """Django's SMTP backend talking to a real SMTP server that keeps what it accepts."""
    server, controller = start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = server.host, server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    controller.stop()


_TEST_KEYS: dict[str, str] = {}


def dkim_signed(message: Message, domain: str, zone, selector: str = "mail") -> str:
    """The message as its domain's mail server would send it: DKIM-signed with a key published in the
    test DNS zone (tests/dnsserver.py)."""
    pem = _TEST_KEYS.get(domain) or _TEST_KEYS.setdefault(domain, generate_private_key())
    key = DkimKey(domain=domain, selector=selector, private_pem=pem)
    name, value = key.dns_record()
    zone.add("TXT", name, value)
    raw = message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    signature = dkim.sign(
        raw,
        selector.encode(),
        domain.encode(),
        pem.encode(),
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[b"From", b"To", b"Subject"],
    )
    return (signature + raw).decode()
