"""The sandbox's mailboxes: what each address received, and invitations answered as a mail client
would (a real METHOD:REPLY email to the organizer's address)."""

from __future__ import annotations

import email
import email.policy
import smtplib

from django.contrib import messages
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from icalendar import Calendar as ICalendar

from sandbox.mail import ANSWERS, calendar_part, reply_send
from sandbox.models import MailMessage

ANSWER_LABELS = [("accepted", "Yes"), ("tentative", "Maybe"), ("declined", "No")]


@require_GET
def mailboxes(request: HttpRequest) -> HttpResponse:
    boxes = (
        MailMessage.objects.values("recipient")
        .annotate(count=Count("pk"), latest=Max("received_at"))
        .order_by("recipient")
    )
    return render(request, "sandbox/mailboxes.html", {"boxes": boxes, "provider_name": "Mail"})


@require_GET
def mailbox(request: HttpRequest, address: str) -> HttpResponse:
    shown = []
    for message in MailMessage.objects.filter(recipient=address.lower()):
        parsed = email.message_from_string(message.raw, policy=email.policy.default)
        found = calendar_part(parsed)
        invitation = None
        if found is not None:
            try:
                invitation = ICalendar.from_ical(found[1]).walk("VEVENT")[0]
            except (ValueError, IndexError):
                invitation = None
        body = parsed.get_body(preferencelist=("plain",))
        shown.append(
            {
                "message": message,
                "sender": parsed.get("From", message.mail_from),
                "text": body.get_content() if body is not None else "",
                "summary": str(invitation.get("SUMMARY", "")) if invitation is not None else "",
                "start": invitation.decoded("DTSTART") if invitation is not None and "DTSTART" in invitation else None,
                "can_answer": message.method == "REQUEST",
            }
        )
    return render(
        request,
        "sandbox/mailbox.html",
        {"address": address.lower(), "shown": shown, "answers": ANSWER_LABELS, "provider_name": "Mail"},
    )


@require_POST
def answer(request: HttpRequest, message_id: int) -> HttpResponse:
    message = get_object_or_404(MailMessage, pk=message_id)
    choice = request.POST.get("answer", "")
    back = reverse("sandbox:mailbox", args=[message.recipient])
    if choice not in ANSWERS or message.method != "REQUEST":
        messages.error(request, "Only invitations can be answered, with accepted, tentative or declined.")
        return HttpResponseRedirect(back)
    try:
        reply_send(message, choice)
    except (OSError, smtplib.SMTPException) as error:
        messages.error(request, f"The reply could not be sent ({type(error).__name__}); is the reply receiver running?")
    else:
        messages.success(request, f"Replied: {choice}.")
    return HttpResponseRedirect(back)
