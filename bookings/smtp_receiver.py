"""The SMTP server that takes attendees' replies (aiosmtpd): mail for our reply addresses is stored
and queued for processing before the sending server is told 250, so nothing accepted can be lost;
anything else is refused at RCPT time."""

from __future__ import annotations

import logging

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.db import connections

from bookings.replies import MAX_RAW_BYTES, reply_receive
from bookings.senders import reply_domains

logger = logging.getLogger(__name__)


def _store(raw: bytes, sender: str, recipient: str, client_address: str) -> None:
    # Runs in a worker thread of its own (not asgiref's single shared one: storing may send mail to
    # another SMTP server of this process), with a connection opened and closed for the message.
    try:
        reply_receive(
            raw=raw,
            source="smtp",
            envelope_sender=sender,
            envelope_recipient=recipient,
            client_address=client_address,
        )
    finally:
        connections.close_all()


def _reply_domains() -> set[str]:
    try:
        return reply_domains()
    finally:
        connections.close_all()


class ReplyHandler:
    """aiosmtpd hooks (their names are aiosmtpd's)."""

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options: list) -> str:
        domain = address.rsplit("@", 1)[-1].lower()
        if domain not in await sync_to_async(_reply_domains, thread_sensitive=False)():
            return "550 5.1.1 This server only takes replies to invitations"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        try:
            peer = session.peer[0] if isinstance(session.peer, tuple) else ""
            await sync_to_async(_store, thread_sensitive=False)(
                envelope.original_content, envelope.mail_from or "", ",".join(envelope.rcpt_tos), peer
            )
        except Exception:  # the sending server keeps the message and tries again
            logger.exception("Could not store a reply; asked the sender to retry.")
            return "451 4.3.0 Temporary failure, please try again"
        return "250 Message accepted"


def receiver(host: str, port: int) -> Controller:
    return Controller(ReplyHandler(), hostname=host, port=port, data_size_limit=MAX_RAW_BYTES)
