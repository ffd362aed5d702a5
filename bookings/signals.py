"""Signal receivers: replies that arrive through an email provider's inbound webhook (django-anymail
verified its signature before this runs), and an offboarded person's future bookings."""

from __future__ import annotations

from typing import Any

from anymail.signals import inbound
from django.dispatch import receiver

from accounts.lifecycle import person_offboarded
from accounts.models import User
from bookings.offboarding import managed_events_after_offboarding
from bookings.replies import reply_receive


@receiver(person_offboarded, dispatch_uid="bookings.offboarded_organizer")
def offboarded_organizers_bookings(
    sender: Any, user: User, reason: str, bookings_policy: str, handover_to: User | None, **kwargs: Any
) -> None:
    managed_events_after_offboarding(organizer=user, policy=bookings_policy, handover_to=handover_to, reason=reason)


@receiver(inbound, dispatch_uid="bookings.inbound_reply")
def inbound_reply(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    message = event.message
    reply_receive(
        raw=message.as_bytes(),
        source=f"webhook:{esp_name}".lower(),
        envelope_sender=getattr(message, "envelope_sender", None) or "",
        envelope_recipient=getattr(message, "envelope_recipient", None) or "",
    )
