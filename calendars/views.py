"""Push notifications from the providers: each one only marks calendars as wanting a sync and queues
it. They are authenticated by the token we gave the provider when subscribing, never by anything
else in the request."""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_q.tasks import async_task

from calendars.models import Calendar
from calendars.sync import calendars_mark_sync_pending
from calendars.watches import watch_for_notification

logger = logging.getLogger(__name__)

MAX_VALIDATION_TOKEN = 1024


def _queue_syncs(calendars: list[Calendar]) -> None:
    for calendar_id in calendars_mark_sync_pending(calendars=calendars):
        async_task("calendars.tasks.calendar_sync", calendar_id)


@csrf_exempt
@require_POST
def google_push(request: HttpRequest) -> HttpResponse:
    """A Google watch channel's notification: headers only, no body."""
    channel_id = request.headers.get("X-Goog-Channel-ID", "")
    watch = watch_for_notification(channel_id=channel_id, token=request.headers.get("X-Goog-Channel-Token", ""))
    if watch is None:
        # Unknown, stopped, or a wrong token: nothing happens, and nothing tells which.
        return HttpResponse(status=200)
    if request.headers.get("X-Goog-Resource-State") == "sync":
        return HttpResponse(status=200)  # the channel's first message: it works
    if watch.calendar is not None and not watch.calendar.is_deleted:
        _queue_syncs([watch.calendar])
    return HttpResponse(status=200)


@csrf_exempt
@require_POST
def microsoft_push(request: HttpRequest) -> HttpResponse:
    """Graph change notifications, and the validation handshake of a new subscription."""
    validation = request.GET.get("validationToken")
    if validation is not None:
        # Graph waits for the token echoed back as plain text before it creates the subscription.
        return HttpResponse(validation[:MAX_VALIDATION_TOKEN], content_type="text/plain; charset=utf-8")
    try:
        items = json.loads(request.body or b"{}").get("value", [])
    except (ValueError, AttributeError):
        return HttpResponse(status=400)
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        watch = watch_for_notification(
            channel_id=str(item.get("subscriptionId") or ""), token=str(item.get("clientState") or "")
        )
        if watch is None:
            continue
        calendars = [c for c in watch.profile.calendars.filter(is_deleted=False) if not c.is_hosted]
        _queue_syncs(calendars)
    return HttpResponse(status=202)
