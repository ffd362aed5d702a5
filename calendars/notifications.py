"""Services for integrators' push notification channels (Cronofy's `/v1/channels`).

Every notification is a row before it is a request: the sync that noticed a change only writes rows
and queues their delivery, so a slow or failing integrator never holds up a sync. Delivery signs the
raw body with the application's client secret (`Cronofy-HMAC-SHA256`, base64 HMAC-SHA256) and tries
again with growing pauses until a 2xx or the last attempt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta

import requests
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import Grant
from calendars.models import CalendarProfile, Channel, ChannelNotification, NotificationKind
from core.outbound import OutboundRefused, outbound_post
from core.outbox import Outbox

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
DELIVERY_LEASE = timedelta(minutes=2)
NOTIFICATIONS = Outbox(ChannelNotification, lease=DELIVERY_LEASE)
SIGNATURE_HEADER = "Cronofy-HMAC-SHA256"


@transaction.atomic(durable=True)
def channel_create(*, grant: Grant, callback_url: str, calendar_ids: list[str], only_managed: bool) -> Channel:
    """Open a channel for the grant's account and send it the `verification` notification."""
    channel = Channel.objects.create(
        grant=grant, callback_url=callback_url, calendar_ids=calendar_ids, only_managed=only_managed
    )
    _queue(channel, NotificationKind.VERIFICATION)
    return channel


def channel_close(*, channel: Channel) -> Channel:
    """No more notifications; pending ones are dropped with it."""
    if channel.closed_at is None:
        channel.closed_at = timezone.now()
        channel.save(update_fields=["closed_at"])
        channel.notifications.filter(delivered_at__isnull=True, failed_at__isnull=True).update(
            failed_at=channel.closed_at, last_error="The channel was closed."
        )
    return channel


def _open_channels_of(user_id: int, *, profile_id: int | None = None) -> list[Channel]:
    """Open channels of the account's live grants; about a profile, only of grants that still reach it."""
    channels = (
        Channel.objects.filter(grant__user_id=user_id, grant__revoked_at__isnull=True, closed_at__isnull=True)
        .select_related("grant")
        .order_by("pk")
    )
    return [channel for channel in channels if profile_id is None or channel.grant.covers_profile(profile_id)]


def _queue(channel: Channel, kind: str, **notification: object) -> ChannelNotification:
    body = {"notification": {"type": kind, **notification}, "channel": channel.as_cronofy()}
    row = ChannelNotification.objects.create(channel=channel, kind=kind, body=body, next_attempt_at=timezone.now())
    transaction.on_commit(lambda: async_task("calendars.tasks.channel_notification_deliver", row.pk))
    return row


def _changes_since(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@transaction.atomic
def profile_changes_notify(
    *, profile: CalendarProfile, calendar_ids: list[str], managed: bool = False, since: datetime | None = None
) -> list[ChannelNotification]:
    """A `change` for each open channel of the account that watches one of these calendars.

    Channels with `only_managed` hear only about events created through this system.
    """
    since = since or timezone.now() - timedelta(minutes=1)
    queued = []
    for channel in _open_channels_of(profile.user_id, profile_id=profile.pk):
        if channel.only_managed and not managed:
            continue
        if channel.calendar_ids and not set(channel.calendar_ids) & set(calendar_ids):
            continue
        queued.append(_queue(channel, NotificationKind.CHANGE, changes_since=_changes_since(since)))
    return queued


@transaction.atomic
def profile_disconnected_notify(*, profile: CalendarProfile) -> list[ChannelNotification]:
    return [
        _queue(channel, NotificationKind.PROFILE_DISCONNECTED)
        for channel in _open_channels_of(profile.user_id, profile_id=profile.pk)
    ]


@transaction.atomic
def profile_initial_sync_completed_notify(*, profile: CalendarProfile) -> list[ChannelNotification]:
    return [
        _queue(channel, NotificationKind.PROFILE_INITIAL_SYNC_COMPLETED)
        for channel in _open_channels_of(profile.user_id, profile_id=profile.pk)
    ]


def signature(*, body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def channel_notification_deliver(*, notification_id: int) -> ChannelNotification | None:
    """Post one due notification through the outbox: claimed with a lease (no lock held while the
    integrator's server answers), then recorded; a failure books the next attempt with backoff."""
    claimed = NOTIFICATIONS.claim(notification_id)
    if claimed is None:
        return None  # delivered, given up, not yet due, or being sent by another worker
    row = ChannelNotification.objects.select_related("channel__grant__application").get(pk=claimed.pk)
    body = json.dumps(row.body, separators=(",", ":")).encode()
    secret = row.channel.grant.application.signing_secret or ""
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SIGNATURE_HEADER] = signature(body=body, secret=secret)
    max_attempts = MAX_ATTEMPTS
    try:
        response = outbound_post(row.channel.callback_url, body=body, headers=headers)
        error = "" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
    except OutboundRefused as refusal:
        # Trying again cannot make the address public: given up at once, the reason kept.
        error, max_attempts = f"Refused: {refusal}", row.attempts
    except requests.RequestException as failure:
        error = type(failure).__name__
    if NOTIFICATIONS.record(row, error=error, max_attempts=max_attempts):
        logger.warning("Gave up notifying channel %s after %s attempts: %s", row.channel, row.attempts, error)
    return row


def channel_notifications_due(*, limit: int = 500) -> list[int]:
    return NOTIFICATIONS.due(limit=limit)


@transaction.atomic(savepoint=False)
def profile_access_changed_notify(*, profile: CalendarProfile) -> list[ChannelNotification]:
    """The profile's access mode changed (what integrators may read and how events are delivered): every
    open channel of the account hears a `change`, so integrators re-read what they hold."""
    return [
        _queue(channel, NotificationKind.CHANGE, changes_since=_changes_since(timezone.now() - timedelta(minutes=1)))
        for channel in _open_channels_of(profile.user_id)
    ]
