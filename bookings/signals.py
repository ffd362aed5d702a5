"""Replies that arrive through an email provider's inbound webhook (django-anymail verified its
signature before this runs)."""

from __future__ import annotations

from typing import Any

from anymail.signals import inbound
from django.dispatch import receiver

from bookings.replies import reply_receive


@receiver(inbound, dispatch_uid="bookings.inbound_reply")
def inbound_reply(sender: Any, event: Any, esp_name: str, **kwargs: Any) -> None:
    message = event.message
    reply_receive(
        raw=message.as_bytes(),
        source=f"webhook:{esp_name}".lower(),
        envelope_sender=getattr(message, "envelope_sender", None) or "",
        envelope_recipient=getattr(message, "envelope_recipient", None) or "",
    )
