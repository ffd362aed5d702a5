"""Push notifications the sandbox sends, as Google and Microsoft do: after the change, to the
registered address, over real HTTP. A DROP_PUSH fault loses them on purpose."""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.db.models import F
from django.utils import timezone

from sandbox.models import Calendar, Fault, Provider, Subscription, WatchChannel
from sandbox.views.common import take_fault
from sandbox.views.google_calendar import resource_uri

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10


def notify_calendar_changed(calendar_pk: int, event_id: str) -> None:
    """Fan a change out to the calendar's Google channels and its owner's Graph subscriptions."""
    calendar = Calendar.objects.select_related("owner").filter(pk=calendar_pk).first()
    if calendar is None:
        return
    now = timezone.now()
    for channel in WatchChannel.objects.filter(calendar=calendar, stopped_at__isnull=True, expiration__gt=now):
        deliver_google_push(channel.pk, "exists")
    for subscription in Subscription.objects.filter(person=calendar.owner, deleted_at__isnull=True, expiration__gt=now):
        deliver_graph_notification(subscription.pk, "updated", event_id)


def deliver_google_push(channel_pk: int, state: str) -> None:
    """POST an empty body with Google's X-Goog-* headers to the channel's address."""
    WatchChannel.objects.filter(pk=channel_pk).update(message_number=F("message_number") + 1)
    channel = WatchChannel.objects.select_related("calendar").get(pk=channel_pk)
    if take_fault(Provider.GOOGLE, "push", [Fault.Kind.DROP_PUSH]) is not None:
        return
    headers = {
        "X-Goog-Channel-ID": channel.channel_id,
        "X-Goog-Channel-Expiration": channel.expiration.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        "X-Goog-Resource-ID": channel.resource_id,
        "X-Goog-Resource-URI": resource_uri(None, channel.calendar),
        "X-Goog-Resource-State": state,
        "X-Goog-Message-Number": str(channel.message_number),
        "Content-Length": "0",
    }
    if channel.token:
        headers["X-Goog-Channel-Token"] = channel.token
    _post(channel.address, data=b"", headers=headers)


def deliver_graph_notification(subscription_pk: int, change_type: str, event_id: str) -> None:
    subscription = Subscription.objects.select_related("person__tenant").get(pk=subscription_pk)
    if change_type not in subscription.change_types:
        return
    if take_fault(Provider.MICROSOFT, "push", [Fault.Kind.DROP_PUSH]) is not None:
        return
    person = subscription.person
    resource = f"Users/{person.external_id}/Events/{event_id}"
    payload = {
        "value": [
            {
                "id": event_id,
                "subscriptionId": str(subscription.subscription_id),
                "subscriptionExpirationDateTime": subscription.expiration.isoformat().replace("+00:00", "Z"),
                "clientState": subscription.client_state or None,
                "changeType": change_type,
                "resource": resource,
                "tenantId": person.tenant.external_id,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": resource,
                    "@odata.etag": 'W/"sandbox"',
                    "id": event_id,
                },
            }
        ]
    }
    _post(subscription.notification_url, json=payload)


def _post(
    url: str, *, data: bytes | None = None, json: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> None:
    try:
        response = requests.post(url, timeout=TIMEOUT_SECONDS, data=data, json=json, headers=headers)
    except requests.RequestException as error:
        # A receiver that is down loses the notification, as with the real providers; the product's
        # polling fallback has to cope.
        logger.warning("Sandbox push to %s failed: %s", url, type(error).__name__)
        return
    if response.status_code >= 300:
        logger.warning("Sandbox push to %s answered %s", url, response.status_code)
