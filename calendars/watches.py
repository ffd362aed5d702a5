"""Provider push subscriptions that tell us when to sync: Google watch channels per calendar, Graph
subscriptions per mailbox. The token a provider echoes back is kept only as a digest."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from calendars.clients import calendar_client_for_profile
from calendars.models import Calendar, CalendarProfile, ProviderWatch
from calendars.providers import provider_traits
from calendars.providers.base import CalendarProvider as ProviderClient
from calendars.providers.base import ProviderError, WatchChannel

logger = logging.getLogger(__name__)

WATCH_LIFETIME = timedelta(days=7)
RENEW_BEFORE = timedelta(hours=24)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _push_address(provider: str) -> str:
    return settings.SITE_URL + reverse(provider_traits(provider).push_url_name)


def profile_watches_ensure(*, profile: CalendarProfile) -> list[ProviderWatch]:
    """Live push subscriptions for the profile: one per calendar at Google, one per mailbox at
    Microsoft. Ones close to expiry are replaced (Google) or renewed (Microsoft)."""
    platform = profile.platform
    if not profile.syncs_busy_periods or platform is None:  # (a profile that syncs has a platform)
        return []
    client = calendar_client_for_profile(profile)
    now = timezone.now()
    live = list(profile.watches.filter(stopped_at__isnull=True))
    kept: list[ProviderWatch] = []
    targets: list[Calendar | None]
    if provider_traits(platform).watches_each_calendar:
        targets = [c for c in profile.calendars.filter(is_deleted=False) if not c.is_hosted]
    else:
        primary = profile.calendars.filter(is_deleted=False).order_by("-is_primary", "pk").first()
        targets = [primary] if primary is not None else []
    for target in targets:
        current = next((w for w in live if w.calendar_id == (target.pk if target else None)), None)
        if current is not None and current.expires_at > now + RENEW_BEFORE:
            kept.append(current)
            continue
        renewed = _renew(client, current) if current is not None else None
        kept.append(renewed or _watch(client, profile=profile, calendar=target))
        if current is not None and renewed is None:
            watch_stop(watch=current, client=client)
    for stale in live:
        if stale not in kept and stale.stopped_at is None:
            watch_stop(watch=stale, client=client)
    return kept


def profile_watches_ensure_quietly(*, profile: CalendarProfile) -> None:
    """Push subscriptions make sync prompt; without them the poller still keeps it correct, so a
    provider refusing one now is logged and left to the hourly renewal."""
    try:
        profile_watches_ensure(profile=profile)
    except ProviderError as error:
        logger.warning("No push subscription for profile %s yet: %s", profile.public_id, error)


def _watch(client: ProviderClient, *, profile: CalendarProfile, calendar: Calendar | None) -> ProviderWatch:
    platform = profile.platform
    if platform is None:
        raise ValueError("A hosted (No Access) calendar has no provider to subscribe to.")
    token = secrets.token_urlsafe(32)
    provider_calendar_id = calendar.provider_calendar_id if calendar is not None else ""
    channel = client.watch(
        provider_calendar_id,
        address=_push_address(platform),
        token=token,
        expires_at=timezone.now() + WATCH_LIFETIME,
    )
    return ProviderWatch.objects.create(
        profile=profile,
        calendar=calendar if provider_traits(platform).watches_each_calendar else None,
        provider=platform,
        channel_id=channel.channel_id,
        resource_id=channel.resource_id,
        token_digest=_digest(token),
        expires_at=channel.expires_at,
    )


def _renew(client: ProviderClient, watch: ProviderWatch) -> ProviderWatch | None:
    """Graph subscriptions can be extended in place; Google channels cannot (None: replace it)."""
    renew = getattr(client, "renew", None)
    if renew is None:
        return None
    try:
        channel = renew(_channel(watch), expires_at=timezone.now() + WATCH_LIFETIME)
    except ProviderError:
        return None
    watch.expires_at, watch.renewed_at = channel.expires_at, timezone.now()
    watch.save(update_fields=["expires_at", "renewed_at"])
    return watch


def _channel(watch: ProviderWatch) -> WatchChannel:
    return WatchChannel(channel_id=watch.channel_id, resource_id=watch.resource_id, expires_at=watch.expires_at)


def watch_stop(*, watch: ProviderWatch, client: ProviderClient | None = None) -> None:
    """Stop a subscription here and, as far as it can be reached, at the provider."""
    ProviderWatch.objects.filter(pk=watch.pk).update(stopped_at=timezone.now())
    watch.stopped_at = timezone.now()
    try:
        (client or calendar_client_for_profile(watch.profile)).unwatch(_channel(watch))
    except (ProviderError, ValueError) as error:
        # It expires on its own; notifications for it are refused meanwhile.
        logger.info("Could not stop %s at the provider: %s", watch, error)


def profile_watches_stop(*, profile: CalendarProfile) -> None:
    for watch in profile.watches.filter(stopped_at__isnull=True):
        watch_stop(watch=watch)


def watch_for_notification(*, channel_id: str, token: str) -> ProviderWatch | None:
    """The live subscription a notification claims to come from, if its token proves it."""
    watch = (
        ProviderWatch.objects.filter(channel_id=channel_id, stopped_at__isnull=True)
        .select_related("profile", "calendar")
        .first()
    )
    if watch is None or not token or not secrets.compare_digest(watch.token_digest, _digest(token)):
        return None
    return watch
