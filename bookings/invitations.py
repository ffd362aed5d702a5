"""The invitation outbox of Free/Busy and No Access calendars: one row per recipient and version,
written before anything is sent, then sent by the workers with a lease and retried with backoff."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial

from django.db import models, transaction
from django.utils import timezone
from django_q.tasks import async_task

from bookings import imip
from bookings.models import Invitation, InvitationMethod, ManagedEvent, ManagedEventAttendee
from bookings.senders import Sender, sender_for
from bookings.when import event_when
from calendars.models import Calendar
from core.outbox import Outbox

logger = logging.getLogger(__name__)

# How long a worker may take to hand an invitation to the SMTP server before another may try.
SEND_LEASE = timedelta(minutes=5)


def _subject_length() -> int:
    """The subject column's width, read from the model so that the two never drift apart."""
    field = Invitation._meta.get_field("subject")
    if not isinstance(field, models.CharField) or field.max_length is None:
        raise TypeError("Invitation.subject must be a CharField with a max_length.")
    return field.max_length


SUBJECT_LENGTH = _subject_length()
INVITATIONS = Outbox(Invitation, lease=SEND_LEASE)


def _organizer(calendar: Calendar) -> imip.Party:
    profile = calendar.profile
    return imip.Party(email=profile.profile_name, name=profile.user.name)


def invitations_queue(
    *,
    event: ManagedEvent,
    method: str,
    recipients: list[ManagedEventAttendee] | None,
    attendees: list[ManagedEventAttendee],
    cancelled: bool = False,
    organizer_only: bool = False,
    occasion: str = "",
    subject: str = "",
) -> list[Invitation]:
    """Write one outbox row per recipient (the organizer and every attendee when `recipients` is None,
    the organizer alone with `organizer_only`) with the rendered iCalendar object, and queue their
    sending once the transaction commits. `occasion` tells apart messages about one version, such as
    the organizer's refreshed copy after each reply."""
    organizer = _organizer(event.calendar)
    parties = [imip.Party(email=a.email, name=a.display_name, status=a.status) for a in attendees]
    dtstamp = timezone.now()
    subject = subject or _subject(event, method=method, cancelled=cancelled or method == InvitationMethod.CANCEL)
    if len(subject) > SUBJECT_LENGTH:  # a summary may be 1024 characters long; the column holds 500
        subject = subject[: SUBJECT_LENGTH - 1] + "…"
    targets: list[tuple[str, str, ManagedEventAttendee | None]]
    if organizer_only:
        targets = [(organizer.email, organizer.name, None)]
    elif recipients is None:
        targets = [(organizer.email, organizer.name, None)] + [(a.email, a.display_name, a) for a in attendees]
    else:
        targets = [(a.email, a.display_name, a) for a in recipients]
    rows = []
    for email, name, attendee in targets:
        # Each attendee's copy names their own reply address as ORGANIZER; the organizer's names the event.
        reply_address = imip.attendee_reply_address(event, attendee.reply_token) if attendee is not None else None
        ics = imip.invitation_ics(
            event,
            method=method,
            organizer=organizer,
            attendees=parties,
            dtstamp=dtstamp,
            cancelled=cancelled,
            reply_address=reply_address,
        )
        key = f"{event.event_uid}:{event.version}:{method}:{email.lower()}:{occasion}"
        row, created = Invitation.objects.get_or_create(
            idempotency_key=key,
            defaults={
                "event": event,
                "recipient": email,
                "recipient_name": name,
                "method": method,
                "sequence": event.sequence,
                "version": event.version,
                "message_id": imip.message_id(event, method=method, recipient=email, occasion=occasion),
                "subject": subject,
                "ics": ics,
                "next_attempt_at": timezone.now(),
            },
        )
        if created:
            rows.append(row)
    if rows:  # one task sends them all over one SMTP connection
        transaction.on_commit(partial(async_task, "bookings.tasks.invitations_send", [r.pk for r in rows]))
    return rows


def _subject(event: ManagedEvent, *, method: str, cancelled: bool) -> str:
    when = event_when(event)
    if method == InvitationMethod.CANCEL:
        return f"Cancelled: {event.summary} @ {when}"
    prefix = "Updated invitation" if event.version > 1 else "Invitation"
    return f"{prefix}: {event.summary} @ {when}"


def invitation_email(
    row: Invitation, *, identity: Sender | None = None, rendered: dict[tuple, tuple[str, str]] | None = None
) -> imip.InvitationEmail:
    """The message for one outbox row; `identity` is the calendar's sender when the caller knows it
    (a sweep looks it up once per calendar), and `rendered` keeps the text and HTML bodies of a sweep,
    which every recipient of one version shares. bookings/invitation_delivery.py sends it."""
    event = row.event
    organizer = _organizer(event.calendar)
    identity = identity or sender_for(event.calendar)
    cancelled = row.method == InvitationMethod.CANCEL
    key = (event.pk, event.version, row.method, cancelled, organizer)
    texts = None if rendered is None else rendered.get(key)
    if texts is None:
        texts = imip.invitation_text(event, method=row.method, cancelled=cancelled, organizer=organizer)
        if rendered is not None:
            rendered[key] = texts
    text, html = texts
    return imip.InvitationEmail(
        ics=row.ics,
        method=row.method,
        html=html,
        subject=row.subject,
        body=text,
        from_email=identity.from_email,
        to=[row.recipient],
        reply_to=[organizer.email],
        headers={"From": imip.sender(organizer, identity.from_email), "Message-ID": row.message_id},
        dkim_key=identity.dkim,
    )


def invitations_due(*, limit: int = 500) -> list[int]:
    return INVITATIONS.due(limit=limit)


def invitation_resend(*, invitation: Invitation) -> Invitation:
    """An admin's resend of a failed invitation: the same message (same Message-ID), tried afresh."""
    invitation.failed_at, invitation.attempts, invitation.next_attempt_at = None, 0, timezone.now()
    invitation.save(update_fields=["failed_at", "attempts", "next_attempt_at"])
    transaction.on_commit(lambda: async_task("bookings.tasks.invitations_send", [invitation.pk]))
    return invitation
