"""Services for attendees' iMIP replies (RFC 6047, METHOD:REPLY): stored as received, then screened
and applied.

A reply counts only when it is proven: it arrived at the reply address of the attendee it answers for
(each attendee's invitations name their own unguessable address as ORGANIZER), names that event (its
UID) and that attendee, comes `From:` that attendee, its sender is authenticated (a DKIM signature
aligned with the From domain, or delivery by a relay in INVITATIONS_REPLY_TRUSTED_NETWORKS that
checked it), and answers the event's current SEQUENCE, neither older nor newer. Anything else is kept
with the reason it was refused and changes nothing. An accepted reply updates the attendee's status,
sends the organizer a refreshed copy showing everyone's answers, and tells the integrator's channels.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import logging
from email.message import EmailMessage
from email.utils import getaddresses

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task
from icalendar import Calendar as ICalendar

from bookings.invitations import invitations_queue
from bookings.models import (
    AttendeeStatus,
    DeliveryMode,
    InboundReply,
    InvitationMethod,
    ManagedEvent,
    ManagedEventAttendee,
    ReplyOutcome,
)
from bookings.senders import dkim_aligned
from bookings.when import event_when
from calendars.notifications import profile_changes_notify

logger = logging.getLogger(__name__)

PARTSTATS = {
    "ACCEPTED": AttendeeStatus.ACCEPTED,
    "DECLINED": AttendeeStatus.DECLINED,
    "TENTATIVE": AttendeeStatus.TENTATIVE,
    "NEEDS-ACTION": AttendeeStatus.NEEDS_ACTION,
}
ANSWERED: dict[str, str] = {
    AttendeeStatus.ACCEPTED: "accepted",
    AttendeeStatus.DECLINED: "declined",
    AttendeeStatus.TENTATIVE: "tentatively accepted",
    AttendeeStatus.NEEDS_ACTION: "not answered yet",
}
MAX_RAW_BYTES = 5 * 1024 * 1024


class Refused(Exception):
    """Why a reply changes nothing."""


def reply_receive(
    *, raw: bytes, source: str, envelope_sender: str = "", envelope_recipient: str = "", client_address: str = ""
) -> InboundReply:
    """Keep a message that arrived for our reply addresses, then queue its processing."""
    reply = InboundReply.objects.create(
        source=source[:40],
        envelope_sender=envelope_sender[:254],
        envelope_recipient=envelope_recipient[:254],
        client_address=client_address or None,
        raw=raw[:MAX_RAW_BYTES].decode("utf-8", errors="replace"),
    )
    transaction.on_commit(lambda: async_task("bookings.tasks.reply_process", reply.pk))
    return reply


def reply_process(*, reply_id: int) -> InboundReply | None:
    """Screen and apply one stored reply; a reply already processed is left as it is."""
    with transaction.atomic():
        reply = InboundReply.objects.select_for_update().filter(pk=reply_id, processed_at__isnull=True).first()
        if reply is None:
            return None
        try:
            _apply(reply)
        except Refused as refusal:
            reply.outcome, reply.reason = ReplyOutcome.REJECTED, str(refusal)
            logger.info("Refused reply %s: %s", reply.pk, refusal)
        reply.processed_at = timezone.now()
        reply.save()
    return reply


def _apply(reply: InboundReply) -> None:
    message = email.message_from_string(reply.raw, policy=email.policy.default)
    ics = _calendar_text(message)
    try:
        calendar = ICalendar.from_ical(ics)
        vevent = calendar.walk("VEVENT")[0]
    except (ValueError, IndexError, KeyError) as error:
        raise Refused(f"The iCalendar object cannot be read: {error}") from None
    method = str(calendar.get("METHOD", "")).upper()
    if method != "REPLY":
        raise Refused(f"METHOD is {method or 'missing'}, not REPLY.")
    reply.uid = str(vevent.get("UID", ""))[:255]
    attendees = vevent.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees] if attendees is not None else []
    if len(attendees) != 1:
        raise Refused(f"A reply names exactly one attendee; this one names {len(attendees)}.")
    replier = attendees[0]
    reply.attendee_email = str(replier).removeprefix("mailto:").removeprefix("MAILTO:").strip()[:254]
    reply.partstat = str(replier.params.get("PARTSTAT", "")).upper()[:20]
    try:
        reply.sequence = int(vevent.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        raise Refused("SEQUENCE is not a number.") from None
    attendee = _attendee_addressed(reply, message)
    event = ManagedEvent.objects.select_for_update().select_related("calendar__profile__user").get(pk=attendee.event_id)
    reply.event = event
    if event.ical_uid != reply.uid:
        raise Refused(f"No event of ours has the UID {reply.uid!r} at this reply address.")
    if attendee.removed_at is not None or attendee.email.lower() != reply.attendee_email.lower():
        raise Refused(
            f"{reply.attendee_email} is not an attendee of this event at this reply address "
            f"(it belongs to {attendee.email})."
        )
    senders = {address.lower() for _, address in getaddresses(message.get_all("From", []))}
    if reply.attendee_email.lower() not in senders:
        raise Refused(
            f"The message comes from {', '.join(sorted(senders)) or 'nobody'}, not from {reply.attendee_email}."
        )
    reply.authentication = sender_authentication(reply, from_address=reply.attendee_email)
    if not reply.authentication.startswith("pass"):
        raise Refused(f"The sender is not authenticated: {reply.authentication}")
    if reply.sequence < event.sequence:
        raise Refused(f"It answers SEQUENCE {reply.sequence}; the event has changed since (SEQUENCE {event.sequence}).")
    if reply.sequence > event.sequence:
        raise Refused(f"It answers SEQUENCE {reply.sequence}, a version never sent (SEQUENCE {event.sequence}).")
    status = PARTSTATS.get(reply.partstat)
    if status is None:
        raise Refused(f"PARTSTAT {reply.partstat or 'missing'} is not an answer.")
    if attendee.status == status:
        reply.outcome = ReplyOutcome.UNCHANGED
        return
    attendee.status = status
    attendee.save(update_fields=["status"])
    ManagedEvent.objects.filter(pk=event.pk).update(updated_at=timezone.now())
    reply.outcome = ReplyOutcome.APPLIED
    reply.save()  # the organizer's refreshed copy is told apart by this reply's id
    current = list(event.attendees.filter(removed_at__isnull=True))
    invitations_queue(
        event=event,
        method=InvitationMethod.REQUEST,
        recipients=None,
        attendees=current,
        organizer_only=True,
        occasion=f"reply-{reply.pk}",
        subject=reply_notice_subject(attendee=attendee, event=event),
    )
    profile_changes_notify(profile=event.calendar.profile, calendar_ids=[event.calendar.public_id], managed=True)


def reply_notice_subject(*, attendee: ManagedEventAttendee, event: ManagedEvent) -> str:
    """The subject of the organizer's refreshed copy after a reply: who answered what, and when the
    event is, in its own time zone."""
    who = attendee.display_name or attendee.email
    return f"{who} has {ANSWERED[attendee.status]}: {event.summary} @ {event_when(event)}"


def _attendee_addressed(reply: InboundReply, message: EmailMessage) -> ManagedEventAttendee:
    """The attendee whose own reply address the message was delivered to (the envelope, or the
    headers when the path gives no envelope)."""
    recipients = [address for address in reply.envelope_recipient.split(",") if address.strip()]
    if not recipients:
        recipients = [address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]
    prefix = f"{settings.INVITATIONS_REPLY_LOCAL_PART}+".lower()
    tokens = [
        local.lower().removeprefix(prefix)
        for local, _, _ in (address.strip().rpartition("@") for address in recipients)
        if local.lower().startswith(prefix)
    ]
    attendee = (
        ManagedEventAttendee.objects.select_related("event")
        .filter(reply_token__in=tokens, event__delivery_mode=DeliveryMode.EMAIL)
        .first()
    )
    if attendee is None:
        raise Refused("It did not arrive at an attendee's own reply address.")
    return attendee


def sender_authentication(reply: InboundReply, *, from_address: str) -> str:
    """ "pass (...)" when the sender of `From:` is authenticated, else why not: a DKIM signature that
    verifies with a `d=` aligned with the From domain (checked on the raw message, on every path), or
    delivery by an SMTP client in INVITATIONS_REPLY_TRUSTED_NETWORKS (a relay that checked SPF and
    DKIM itself, or the demo's sandbox mailboxes on loopback)."""
    if reply.client_address:
        address = ipaddress.ip_address(reply.client_address)
        networks = [ipaddress.ip_network(n, strict=False) for n in settings.INVITATIONS_REPLY_TRUSTED_NETWORKS]
        if any(address in network for network in networks):
            return f"pass (delivered by trusted relay {reply.client_address})"
    domain = from_address.rsplit("@", 1)[-1].lower()
    verdict = dkim_aligned(reply.raw.encode("utf-8", errors="replace"), from_domain=domain)
    if verdict:
        return f"pass (dkim d={verdict})"
    return f"no DKIM signature aligned with {domain} verifies, and it was not delivered by a trusted relay."


def _calendar_text(message: EmailMessage) -> str:
    """The text/calendar part of the message, or its .ics attachment."""
    for part in message.walk():
        if part.get_content_type() in ("text/calendar", "application/ics"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:  # bytes for any non-multipart part
                return payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    raise Refused("The message holds no iCalendar object.")
