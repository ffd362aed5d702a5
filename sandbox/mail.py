"""The world's mailboxes, in the sandbox: an SMTP server that takes any mail and keeps it, and the
replies a recipient's mail client sends when they answer an invitation (METHOD:REPLY, to the
ORGANIZER, by SMTP)."""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib
from datetime import UTC, datetime
from email.message import EmailMessage, Message

from aiosmtpd.controller import Controller
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from icalendar import Calendar as ICalendar
from icalendar import Event as IEvent
from icalendar import vCalAddress

from sandbox.models import MailMessage

logger = logging.getLogger(__name__)
ANSWERS = {"accepted": "ACCEPTED", "tentative": "TENTATIVE", "declined": "DECLINED"}


def calendar_part(message: Message) -> tuple[str, str] | None:
    """(method, iCalendar text) of the message's text/calendar part, if it has one."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            # A decoded non-multipart payload is bytes (or None when empty).
            payload = part.get_payload(decode=True)
            text = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
            return str(part.get_param("method") or "").upper(), text
    return None


def mail_store(*, raw: bytes, mail_from: str, recipients: list[str]) -> list[MailMessage]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    found = calendar_part(message)
    return [
        MailMessage.objects.create(
            mail_from=mail_from,
            recipient=recipient.lower(),
            # A folded non-ASCII subject unfolds with a leading space.
            subject=str(message.get("Subject", "")).strip()[:500],
            raw=raw.decode("utf-8", errors="replace"),
            method=found[0] if found else "",
        )
        for recipient in recipients
    ]


class MailboxHandler:
    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook
        def store() -> None:
            try:
                mail_store(
                    raw=envelope.original_content, mail_from=envelope.mail_from or "", recipients=envelope.rcpt_tos
                )
            finally:
                connections.close_all()

        # Not asgiref's single shared thread: the message may come from another server of this process
        # that is itself waiting in that thread.
        await sync_to_async(store, thread_sensitive=False)()
        return "250 Delivered to the sandbox's mailboxes"


def mail_server(host: str, port: int) -> Controller:
    return Controller(MailboxHandler(), hostname=host, port=port)


def reply_build(message: MailMessage, answer: str) -> EmailMessage:
    """What the recipient's mail client sends when they click Yes, Maybe or No."""
    parsed = email.message_from_string(message.raw, policy=email.policy.default)
    found = calendar_part(parsed)
    if found is None or found[0] != "REQUEST":
        raise ValueError("Only invitations can be answered.")
    invitation = ICalendar.from_ical(found[1]).walk("VEVENT")[0]
    calendar = ICalendar()
    calendar.add("prodid", "-//Sandbox Mail//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "REPLY")
    vevent = IEvent()
    for name in ("UID", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "ORGANIZER"):
        if name in invitation:
            vevent.add(name, invitation[name])
    vevent.add("dtstamp", datetime.now(UTC))
    attendee = vCalAddress(f"mailto:{message.recipient}")
    attendee.params["PARTSTAT"] = ANSWERS[answer]
    vevent.add("attendee", attendee)
    calendar.add_component(vevent)
    organizer = str(invitation["ORGANIZER"]).split(":", 1)[-1]
    reply = EmailMessage()
    reply["From"] = message.recipient
    reply["To"] = organizer
    reply["Subject"] = f"{answer.title()}: {invitation.get('SUMMARY', '')}"
    reply.set_content(f"{message.recipient} has {answer} this invitation.")
    reply.add_alternative(calendar.to_ical().decode(), subtype="calendar", params={"method": "REPLY"})
    return reply


def reply_send(message: MailMessage, answer: str) -> None:
    """Send the answer by SMTP to the server that takes mail for the organizer's address."""
    reply = reply_build(message, answer)
    with smtplib.SMTP(settings.SANDBOX_REPLY_SMTP_HOST, settings.SANDBOX_REPLY_SMTP_PORT, timeout=10) as smtp:
        smtp.send_message(reply)
    MailMessage.objects.filter(pk=message.pk).update(answered=answer)
