"""Sending invitations from the outbox (bookings/invitations.py writes the rows): the worker side.

A sweep claims due rows in batches (SKIP LOCKED on PostgreSQL, so several workers sweeping at once
share the backlog), builds each message once (rendered, serialised to the bytes that are sent, DKIM
signed over those bytes), hands them over one SMTP connection kept for the whole sweep, and records
each batch in one statement. Every row is claimed, with a lease, before its message leaves, so a
worker that dies mid-batch loses nothing: once the lease runs out the rows are sent again with the
same Message-ID, which receivers recognise as the same message.

A failure to hand a message over closes the connection and tries that message once more on a fresh
one (a server that drops long sessions); a server that cannot be reached fails the rest of the
sweep's claims at once, to be retried with backoff, rather than waiting for a timeout per message.
"""

from __future__ import annotations

import base64
import contextlib
import email
import functools
import io
import logging
import queue
import random
import re
import threading
from email.generator import BytesGenerator
from email.message import Message
from email.utils import formatdate

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import forbid_multi_line_headers

from bookings import imip
from bookings.dkim_signing import signature_header
from bookings.invitations import INVITATIONS, invitation_email
from bookings.models import Invitation
from bookings.senders import Sender, sender_for

logger = logging.getLogger(__name__)

# Rows claimed, sent and recorded together: few round trips, and at most this many messages sent again
# (same Message-ID) should a worker die between handing them over and recording them.
BATCH = 100
# Messages built ahead of the SMTP thread.
PIPELINE = 16
# What building a message reads, fetched with the rows.
SEND_RELATIONS = (
    "event__calendar__profile__user",
    "event__calendar__profile__organization",
    "event__conferencing_meeting",
)


class SerialisedMessage:
    """A message as the bytes that are sent (CRLF line endings): SMTP backends get these bytes without
    serialising again; anything else (the locmem backend's readers) sees them parsed back."""

    def __init__(self, wire: bytes) -> None:
        self.wire = wire

    @functools.cached_property
    def mime(self) -> Message:
        return email.message_from_bytes(self.wire)

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if linesep == "\r\n" and not unixfrom:
            return self.wire
        # The email package's Message.as_bytes takes no linesep (Django's MIME classes do): generate directly.
        buffer = io.BytesIO()
        BytesGenerator(buffer, mangle_from_=False).flatten(self.mime, unixfrom=unixfrom, linesep=linesep)
        return buffer.getvalue()

    def __getattr__(self, name: str) -> object:
        # Only what the parsed message has (not while copy/pickle build an empty instance).
        if name.startswith("__") or "wire" not in vars(self):
            raise AttributeError(name)
        return getattr(self.mime, name)


_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_MAX_LINE = 998  # RFC 5322


def _lines_fit(data: bytes) -> bool:
    return all(len(line) <= _MAX_LINE for line in data.split(b"\r\n"))


def _text_part(subtype: str, text: str, params: str = "") -> bytes | None:
    data = (_LINE_ENDS.sub("\r\n", text) if "\r" in text else text.replace("\n", "\r\n")).encode()
    if not _lines_fit(data):
        return None  # Django would quoted-printable encode it: left to the general path
    encoding = "7bit" if data.isascii() else "8bit"
    head = f'Content-Type: text/{subtype}; charset="utf-8"{params}\r\nMIME-Version: 1.0\r\n'
    return f"{head}Content-Transfer-Encoding: {encoding}\r\n\r\n".encode() + data


def invitation_wire(message: imip.InvitationEmail) -> bytes | None:
    """The bytes of `message` as InvitationEmail.message() builds them (the same parts, headers and
    encodings; test_invitation_delivery compares the two), written directly instead of through the
    email package's generator, which costs more than signing; None for what only the general path
    handles (a line longer than 998 octets)."""
    plain = _text_part("plain", str(message.body))
    html = _text_part("html", message.html)
    calendar = _text_part("calendar", message.ics, f'; method="{message.method}"')
    headers = [
        ("Subject", message.subject),
        ("From", message.extra_headers.get("From", message.from_email)),
        ("To", ", ".join(message.to)),
        *([("Reply-To", ", ".join(message.reply_to))] if message.reply_to else []),
        ("Date", formatdate()),
        *[(k, v) for k, v in message.extra_headers.items() if k.lower() not in {"from", "to", "reply-to"}],
    ]
    # Django's encoding of each header (RFC 2047 for non-ASCII text), its folds made CRLF.
    encoded = "".join(
        f"{name}: {forbid_multi_line_headers(name, value, 'utf-8')[1]}\r\n".replace("\n ", "\r\n ")
        for name, value in headers
    ).encode()
    if plain is None or html is None or calendar is None or not _lines_fit(encoded):
        return None
    parts = [plain, html, calendar]
    # Random like the email package's boundaries (unique, not secret: os.urandom is slow on some hosts).
    outer, inner = (f"==============={random.getrandbits(96):024x}==".encode() for _ in range(2))
    attachment = (
        f'MIME-Version: 1.0\r\nContent-Type: application/ics; name="invite.ics"; method="{message.method}"\r\n'
        'Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="invite.ics"\r\n\r\n'
    ).encode() + base64.encodebytes(message.ics.encode()).replace(b"\n", b"\r\n")
    return b"".join(
        [
            b'Content-Type: multipart/mixed; boundary="' + outer + b'"\r\nMIME-Version: 1.0\r\n' + encoded + b"\r\n",
            b"--" + outer + b"\r\n",
            b'Content-Type: multipart/alternative;\r\n boundary="' + inner + b'"\r\nMIME-Version: 1.0\r\n\r\n',
            *(b"--" + inner + b"\r\n" + part + b"\r\n" for part in parts),
            b"--" + inner + b"--\r\n\r\n",
            b"--" + outer + b"\r\n" + attachment + b"\r\n",
            b"--" + outer + b"--\r\n",
        ]
    )


class PreparedInvitation(imip.InvitationEmail):
    """An invitation built, serialised and signed once; `message()` gives the same bytes every time."""

    def __init__(self, message: imip.InvitationEmail) -> None:
        vars(self).update(vars(message))  # the message's fields, as the invitation built them
        key, self.dkim_key = self.dkim_key, None
        wire = invitation_wire(self) or super().message().as_bytes(linesep="\r\n")
        if key is not None:
            wire = signature_header(wire, key) + wire
        self.serialised = SerialisedMessage(wire)

    def message(self) -> SerialisedMessage:  # type: ignore[override]
        return self.serialised


def _describe(failure: BaseException) -> str:
    return f"{type(failure).__name__}: {failure}"


class InvitationSweep:
    """One worker's pass over due invitations: one SMTP connection and one sender lookup per calendar
    for the whole pass. Use as a context manager so the connection is closed.

    Messages are built in this thread and handed over by a second one that owns the SMTP connection:
    while it waits for the server's replies (most of an SMTP exchange), the next message is being
    rendered and signed. Only this thread touches the database."""

    def __init__(self) -> None:
        self.connection: BaseEmailBackend | None = None
        self.unreachable = ""
        self.senders: dict[int, Sender] = {}
        self.rendered: dict[tuple, tuple[str, str]] = {}
        self.sent = 0
        self._handover: queue.Queue[tuple[int, PreparedInvitation] | None] = queue.Queue(maxsize=PIPELINE)
        self._errors: dict[int, str] = {}
        self._smtp_thread: threading.Thread | None = None

    def __enter__(self) -> InvitationSweep:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._smtp_thread is None:
            self._close()
        else:
            self._handover.put(None)
            self._smtp_thread.join()
            self._smtp_thread = None

    def _hand_over_queued(self) -> None:
        """The SMTP thread: deliver what is queued until told to stop, then close the connection."""
        while (item := self._handover.get()) is not None:
            pk, message = item
            try:
                error = self._deliver(message)
                if error:
                    self._errors[pk] = error
                else:
                    self.sent += 1
            finally:
                self._handover.task_done()
        self._close()
        self._handover.task_done()

    def run(self, *, invitation_ids: list[int] | None = None, batch_size: int = BATCH) -> int:
        """Send the given invitations (those still due), or every due one, batch by batch; returns how
        many were handed over."""
        sent_before = self.sent
        remaining = None if invitation_ids is None else list(invitation_ids)
        while (remaining is None or remaining) and not self.unreachable:  # no server: the rest waits
            if remaining is None:
                claimed = INVITATIONS.claim_batch(limit=batch_size)
            else:
                claimed = INVITATIONS.claim_batch(limit=batch_size, pks=remaining[:batch_size])
                remaining = remaining[batch_size:]
            if claimed:
                self._send_batch(claimed)
            elif remaining is None:
                break
        return self.sent - sent_before

    def sender(self, row: Invitation) -> Sender:
        calendar = row.event.calendar
        if calendar.pk not in self.senders:
            self.senders[calendar.pk] = sender_for(calendar)
        return self.senders[calendar.pk]

    def prepare(self, row: Invitation) -> PreparedInvitation:
        return PreparedInvitation(invitation_email(row, identity=self.sender(row), rendered=self.rendered))

    def _send_batch(self, claimed: list[int]) -> None:
        rows = list(Invitation.objects.select_related(*SEND_RELATIONS).filter(pk__in=claimed).order_by("pk"))
        if self._smtp_thread is None:
            self._smtp_thread = threading.Thread(target=self._hand_over_queued, name="invitations-smtp", daemon=True)
            self._smtp_thread.start()
        self._errors = errors = {}
        self.rendered = {}  # bodies shared by one version's recipients, within one batch
        for row in rows:
            try:
                message = self.prepare(row)
            except Exception as failure:  # noqa: BLE001  # a message that cannot be built is retried, then given up
                errors[row.pk] = _describe(failure)
                continue
            self._handover.put((row.pk, message))
        self._handover.join()  # every message of the batch handed over (or failed) before recording
        given_up = INVITATIONS.record_batch(rows, errors=errors, max_attempts=settings.INVITATIONS_MAX_ATTEMPTS)
        for row in given_up:
            logger.error("Gave up sending invitation %s after %s attempts: %s", row.pk, row.attempts, row.last_error)

    def _deliver(self, message: PreparedInvitation) -> str:
        """Hand one message over; "" when the server took it, else why not."""
        error = ""
        for _ in range(2):  # the open connection, then once more on a fresh one
            if self.unreachable:
                return self.unreachable
            if self.connection is None:
                connection = get_connection(fail_silently=False)
                try:
                    connection.open()
                except Exception as failure:  # noqa: BLE001  # no server: the rest of the sweep waits for a retry
                    self.unreachable = _describe(failure)
                    return self.unreachable
                self.connection = connection
            try:
                smtp = getattr(self.connection, "connection", None)
                addresses = [message.from_email, *message.recipients()]
                if isinstance(self.connection, SmtpBackend) and smtp is not None and all(map(str.isascii, addresses)):
                    # Django's SMTP backend opened it (TLS, login, timeout); plain addresses need none of
                    # its per-message sanitising, which costs more than the SMTP exchange.
                    smtp.sendmail(addresses[0], addresses[1:], message.serialised.wire)
                else:
                    self.connection.send_messages([message])
                return ""
            except Exception as failure:  # noqa: BLE001  # any failure to hand the message over is retried
                error = _describe(failure)
                self._close()
        return error

    def _close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):  # a broken connection has nothing left to close
                self.connection.close()
            self.connection = None


def invitations_send(*, invitation_ids: list[int] | None = None) -> int:
    """Send these invitations (the ones a change just queued), or every due one (the periodic sweep);
    returns how many were handed over."""
    with InvitationSweep() as sweep:
        return sweep.run(invitation_ids=invitation_ids)
