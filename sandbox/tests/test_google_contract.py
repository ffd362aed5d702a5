"""The Google sandbox through the real client libraries (google-api-python-client, google-auth), and
the product's GoogleCalendarClient on top of them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httplib2
import pytest
import requests
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from calendars.providers import endpoints
from calendars.providers.base import (
    Attendee,
    BusyStatus,
    EventSpec,
    ProviderAuthError,
    ProviderError,
    ProviderPermissionError,
    SyncCursorExpired,
)
from calendars.providers.google import GoogleCalendarClient
from sandbox import services
from sandbox.models import DelegationGrant, Event, Fault, Provider
from sandbox.testing import G, mint, mint_refresh

pytestmark = pytest.mark.django_db(transaction=True)

FULL = [f"{G}calendar"]
FREE_BUSY = ["email", "profile", f"{G}calendar.calendarlist.readonly", f"{G}calendar.events.freebusy"]


def raw_service(token: str):
    """google-api-python-client itself, on a bare access token."""
    credentials = Credentials(token=token)
    http = AuthorizedHttp(credentials, http=httplib2.Http(timeout=10))
    return build(
        "calendar",
        "v3",
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": endpoints.google_calendar_api_url()},
    )


def client(world, person: str, scopes: list[str], **options) -> GoogleCalendarClient:
    return GoogleCalendarClient(
        {
            "kind": "google_user",
            "access_token": mint(world, person, scopes),
            "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "scopes": scopes,
        },
        **options,
    )


def window(world) -> tuple[datetime, datetime]:
    return world.monday - timedelta(days=7), world.monday + timedelta(days=14)


#
# Reading
#


def test_calendar_list_lists_the_users_calendars(world):
    calendars = client(world, "alice", FULL).list_calendars()
    assert [(c.provider_id, c.is_primary, c.is_readonly, c.integrated_conferencing) for c in calendars] == [
        ("alice@acme.example", True, False, True)
    ]


def test_a_full_sync_expands_recurring_events_and_reports_busy_states(world):
    start, end = window(world)
    changes = client(world, "alice", FULL).busy_changes("primary", cursor=None, start=start, end=end)
    assert changes.full
    assert changes.cursor
    by_start = {event.start: event for event in changes.events}
    standups = [e for e in changes.events if e.series_id == world.events["standup"].event_id]
    assert len(standups) == 5
    assert {e.end - e.start for e in standups} == {timedelta(minutes=15)}
    assert by_start[world.monday + timedelta(hours=14)].status == BusyStatus.BUSY
    assert by_start[world.monday + timedelta(hours=16)].status == BusyStatus.FREE  # transparent
    assert by_start[world.monday + timedelta(days=1, hours=11)].status == BusyStatus.FREE  # declined by Alice
    assert all(event.details is None for event in changes.events)


def test_details_come_out_only_when_asked_for(world):
    start, end = window(world)
    changes = client(world, "alice", FULL, include_details=True).busy_changes(
        "primary", cursor=None, start=start, end=end
    )
    review = next(e for e in changes.events if e.start == world.monday + timedelta(hours=14))
    assert review.details.summary == "Design review"
    assert review.details.location == "Everest"


def test_pages_follow_page_tokens_then_end_with_a_sync_token(world):
    service = raw_service(mint(world, "alice", FULL))
    start, end = window(world)
    ids, page, pages = [], None, 0
    while True:
        response = (
            service.events()
            .list(
                calendarId="primary",
                singleEvents=True,
                maxResults=2,
                pageToken=page,
                timeMin=start.isoformat(),
                timeMax=end.isoformat(),
            )
            .execute()
        )
        pages += 1
        ids += [item["id"] for item in response["items"]]
        assert ("nextPageToken" in response) != ("nextSyncToken" in response)
        page = response.get("nextPageToken")
        if not page:
            break
    assert len(ids) == len(set(ids)) == 8  # 5 stand-ups, review, focus, the declined talk
    assert pages == 4


def test_an_incremental_sync_returns_changes_and_removals(world):
    start, end = window(world)
    google = client(world, "alice", FULL)
    first = google.busy_changes("primary", cursor=None, start=start, end=end)
    added = services.event_create(
        calendar=world.calendar("alice"),
        values={
            "summary": "New",
            "start": world.monday + timedelta(days=2, hours=10),
            "end": world.monday + timedelta(days=2, hours=11),
        },
    )
    services.event_cancel(event=world.events["review"])
    services.occurrence_change(
        series=world.events["standup"],
        original_start=world.monday + timedelta(days=1, hours=9, minutes=30),
        values={"status": Event.Status.CANCELLED},
    )
    second = google.busy_changes("primary", cursor=first.cursor, start=start, end=end)
    assert not second.full
    assert [e.provider_event_id for e in second.events] == [added.event_id]
    assert world.events["review"].event_id in second.removed_ids
    assert (
        f"{world.events['standup'].event_id}_{(world.monday + timedelta(days=1, hours=9, minutes=30)):%Y%m%dT%H%M%SZ}"
        in second.removed_ids
    )
    third = google.busy_changes("primary", cursor=second.cursor, start=start, end=end)
    assert third.events == ()
    assert third.removed_ids == ()


def test_an_expired_sync_token_answers_410_and_asks_for_a_full_sync(world):
    start, end = window(world)
    google = client(world, "alice", FULL)
    first = google.busy_changes("primary", cursor=None, start=start, end=end)
    services.calendar_expire_sync_tokens(calendar=world.calendar("alice"))
    with pytest.raises(SyncCursorExpired):
        google.busy_changes("primary", cursor=first.cursor, start=start, end=end)
    with pytest.raises(HttpError) as error:
        raw_service(mint(world, "alice", FULL)).events().list(calendarId="primary", syncToken=first.cursor).execute()
    assert error.value.resp.status == 410
    assert error.value.error_details[0]["reason"] == "fullSyncRequired"


def test_a_sync_token_refuses_other_restrictions(world):
    start, end = window(world)
    first = client(world, "alice", FULL).busy_changes("primary", cursor=None, start=start, end=end)
    with pytest.raises(HttpError) as error:
        raw_service(mint(world, "alice", FULL)).events().list(
            calendarId="primary", syncToken=first.cursor, timeMin=start.isoformat()
        ).execute()
    assert error.value.resp.status == 400


def test_free_busy_query_reports_busy_times_and_per_calendar_errors(world):
    google = client(world, "alice", FREE_BUSY)
    result = google.free_busy(
        ["alice@acme.example", "bob@acme.example", "ivan@initech.example"],
        start=world.monday,
        end=world.monday + timedelta(days=2),
    )
    assert result.errors == {"ivan@initech.example": "notFound"}  # another organization
    alice = [(p.start, p.end) for p in result.periods["alice@acme.example"]]
    assert (world.monday + timedelta(hours=14), world.monday + timedelta(hours=15)) in alice
    assert all(p.start != world.monday + timedelta(hours=16) for p in result.periods["alice@acme.example"])
    bob = [(p.start, p.end) for p in result.periods["bob@acme.example"]]
    assert (world.monday + timedelta(days=1, hours=11), world.monday + timedelta(days=1, hours=12)) in bob


@pytest.mark.parametrize(
    ("length", "reason"), [(timedelta(days=91), "timeRangeTooLong"), (timedelta(0), "timeRangeEmpty")]
)
def test_free_busy_refuses_bad_ranges(world, length, reason):
    service = raw_service(mint(world, "alice", FREE_BUSY))
    body = {
        "timeMin": world.monday.isoformat(),
        "timeMax": (world.monday + length).isoformat(),
        "items": [{"id": "alice@acme.example"}],
    }
    with pytest.raises(HttpError) as error:
        service.freebusy().query(body=body).execute()
    assert error.value.resp.status == 400
    assert error.value.error_details[0]["reason"] == reason


def test_free_busy_caps_the_number_of_calendars(world):
    service = raw_service(mint(world, "alice", FREE_BUSY))
    items = [{"id": f"person{i}@acme.example"} for i in range(51)]
    response = (
        service.freebusy()
        .query(
            body={
                "timeMin": world.monday.isoformat(),
                "timeMax": (world.monday + timedelta(days=1)).isoformat(),
                "items": items,
            }
        )
        .execute()
    )
    assert response["calendars"]["person50@acme.example"]["errors"][0]["reason"] == "tooManyCalendarsRequested"


#
# Scopes, as Google enforces them
#


def test_the_free_busy_scopes_reach_only_what_they_allow(world):
    freebusy_only = raw_service(mint(world, "alice", [f"{G}calendar.events.freebusy"]))
    listing_only = raw_service(mint(world, "alice", [f"{G}calendar.calendarlist.readonly"]))
    day = {"timeMin": world.monday.isoformat(), "timeMax": (world.monday + timedelta(days=1)).isoformat()}
    assert freebusy_only.freebusy().query(body={**day, "items": [{"id": "primary"}]}).execute()["calendars"]
    assert listing_only.calendarList().list().execute()["items"]
    denied = [
        lambda: freebusy_only.calendarList().list().execute(),
        lambda: (
            freebusy_only.events()
            .insert(
                calendarId="primary",
                body={"summary": "x", "start": {"dateTime": day["timeMin"]}, "end": {"dateTime": day["timeMax"]}},
            )
            .execute()
        ),
        lambda: freebusy_only.events().delete(calendarId="primary", eventId=world.events["review"].event_id).execute(),
        lambda: listing_only.freebusy().query(body={**day, "items": [{"id": "primary"}]}).execute(),
        lambda: listing_only.events().list(calendarId="primary").execute(),
    ]
    for call in denied:
        with pytest.raises(HttpError) as error:
            call()
        assert error.value.resp.status == 403
        assert error.value.error_details[0]["reason"] == "insufficientPermissions"


def test_the_free_busy_scope_lists_events_without_details(world):
    service = raw_service(mint(world, "alice", [f"{G}calendar.events.freebusy"]))
    items = (
        service.events()
        .list(
            calendarId="primary",
            singleEvents=True,
            timeMin=world.monday.isoformat(),
            timeMax=(world.monday + timedelta(days=2)).isoformat(),
        )
        .execute()["items"]
    )
    assert items
    for item in items:
        assert set(item) <= {
            "kind",
            "etag",
            "id",
            "status",
            "updated",
            "start",
            "end",
            "transparency",
            "eventType",
            "recurringEventId",
            "originalStartTime",
            "attendees",
        }
        assert all(set(a) == {"self", "responseStatus"} for a in item.get("attendees", []))


def test_the_product_client_turns_a_403_into_a_permission_error(world):
    google = client(world, "alice", FREE_BUSY)
    spec = EventSpec(key="evt-1", summary="Nope", start=world.monday, end=world.monday + timedelta(hours=1))
    with pytest.raises(ProviderPermissionError):
        google.write_event("primary", spec)


def test_a_wrong_or_expired_token_is_a_401(world):
    url = f"{endpoints.google_calendar_api_url()}users/me/calendarList"
    for token in (mint(world, "alice", FULL, expired=True), "ya29.not-a-token"):
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 401
        assert response.json()["error"]["errors"][0]["reason"] == "authError"


#
# Writing
#


def test_an_event_is_written_with_a_meet_link_and_a_room_that_answers(world):
    google = client(world, "alice", FULL)
    spec = EventSpec(
        key="booking-42",
        summary="Intro call",
        start=world.monday + timedelta(days=3, hours=10),
        end=world.monday + timedelta(days=3, hours=11),
        time_zone="Europe/London",
        attendees=(
            Attendee("bob@acme.example", "Bob"),
            Attendee("c_room1@resource.calendar.google.com", "Everest", is_resource=True),
        ),
        native_conferencing=True,
    )
    written = google.write_event("primary", spec)
    assert written.join_url.startswith("https://meet.google.com/")
    event = Event.objects.get(calendar=world.calendar("alice"), event_id=written.provider_event_id)
    assert {a["email"]: a["response"] for a in event.attendees}["c_room1@resource.calendar.google.com"] == "accepted"
    assert Event.objects.filter(calendar=world.calendar("bob"), ical_uid=event.ical_uid).exists()  # invitation
    again = google.write_event("primary", spec)  # a retry: same id, still one event, same Meet link
    assert again.provider_event_id == written.provider_event_id
    assert again.join_url == written.join_url
    assert Event.objects.filter(calendar=world.calendar("alice"), summary="Intro call").count() == 1


def test_an_event_is_moved_then_deleted_idempotently(world):
    google = client(world, "alice", FULL)
    spec = EventSpec(
        key="booking-7",
        summary="Sync",
        start=world.monday + timedelta(days=4, hours=9),
        end=world.monday + timedelta(days=4, hours=10),
    )
    written = google.write_event("primary", spec)
    moved = EventSpec(
        key="booking-7", summary="Sync", start=spec.start + timedelta(hours=2), end=spec.end + timedelta(hours=2)
    )
    google.write_event("primary", moved, provider_event_id=written.provider_event_id)
    event = Event.objects.get(event_id=written.provider_event_id)
    assert event.start == moved.start
    assert event.sequence == 1
    google.delete_event("primary", written.provider_event_id)
    google.delete_event("primary", written.provider_event_id)  # already gone: no error
    assert Event.objects.get(event_id=written.provider_event_id).is_cancelled


def test_insert_validates_times(world):
    service = raw_service(mint(world, "alice", FULL))
    with pytest.raises(HttpError) as error:
        service.events().insert(
            calendarId="primary",
            body={
                "summary": "Backwards",
                "start": {"dateTime": (world.monday + timedelta(hours=2)).isoformat()},
                "end": {"dateTime": world.monday.isoformat()},
            },
        ).execute()
    assert error.value.resp.status == 400
    assert error.value.error_details[0]["reason"] == "timeRangeEmpty"


def test_an_attendee_answers_by_patching_their_own_response(world):
    bob_copy = Event.objects.get(calendar=world.calendar("bob"), ical_uid=world.events["standup"].ical_uid)
    service = raw_service(mint(world, "bob", FULL))
    service.events().patch(
        calendarId="primary",
        eventId=bob_copy.event_id,
        body={"attendees": [{"email": "bob@acme.example", "responseStatus": "declined"}]},
    ).execute()
    world.events["standup"].refresh_from_db()
    assert world.events["standup"].response_of("bob@acme.example") == "declined"
    with pytest.raises(HttpError) as error:
        service.events().patch(calendarId="primary", eventId=bob_copy.event_id, body={"summary": "Mine"}).execute()
    assert error.value.resp.status == 403


#
# Push notifications
#


def test_watch_sends_sync_then_a_notification_per_change_until_stopped(world, receiver):
    google = client(world, "alice", FULL)
    channel = google.watch(
        "primary", address=receiver.url, token="target=42", expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    assert [r.headers["X-Goog-Resource-State"] for r in receiver.notifications()] == ["sync"]
    services.event_update(event=world.events["review"], values={"summary": "Design review v2"})
    pushes = receiver.notifications()
    assert [r.headers["X-Goog-Resource-State"] for r in pushes] == ["sync", "exists"]
    latest = pushes[-1]
    assert latest.body == b""
    assert latest.headers["X-Goog-Channel-ID"] == channel.channel_id
    assert latest.headers["X-Goog-Channel-Token"] == "target=42"
    assert latest.headers["X-Goog-Resource-ID"] == channel.resource_id
    assert latest.headers["X-Goog-Message-Number"] == "2"
    assert "/calendars/alice@acme.example/events" in latest.headers["X-Goog-Resource-URI"]
    google.unwatch(channel)
    google.unwatch(channel)  # stopping twice is harmless
    services.event_update(event=world.events["review"], values={"summary": "Design review v3"})
    assert len(receiver.notifications()) == 2


def test_dropped_push_notifications_are_lost(world, receiver):
    google = client(world, "alice", FULL)
    google.watch("primary", address=receiver.url, token="", expires_at=datetime.now(UTC) + timedelta(days=1))
    Fault.objects.create(provider=Provider.GOOGLE, operation="push", kind=Fault.Kind.DROP_PUSH, times=1)
    services.event_update(event=world.events["review"], values={"summary": "Lost"})
    services.event_update(event=world.events["review"], values={"summary": "Delivered"})
    assert [r.headers["X-Goog-Message-Number"] for r in receiver.notifications()] == ["1", "3"]


#
# Faults and retries
#


def test_a_429_is_retried_after_retry_after(world):
    Fault.objects.create(
        provider=Provider.GOOGLE,
        operation="calendar.calendarList.list",
        kind=Fault.Kind.RATE_LIMITED,
        times=1,
        retry_after=1,
    )
    started = time.monotonic()
    assert client(world, "alice", FULL).list_calendars()
    assert time.monotonic() - started >= 1
    assert Fault.objects.get().hits == 1


def test_a_lasting_outage_ends_in_a_retryable_error(world, settings):
    settings.PROVIDER_MAX_ATTEMPTS = 2
    Fault.objects.create(provider=Provider.GOOGLE, operation="*", kind=Fault.Kind.UNAVAILABLE, times=0, retry_after=0)
    with pytest.raises(ProviderError) as error:
        client(world, "alice", FULL).list_calendars()
    assert error.value.retryable
    assert error.value.status == 503
    assert Fault.objects.get().hits == 2


def test_a_500_once_is_survived(world):
    Fault.objects.create(provider=Provider.GOOGLE, operation="calendar.freebusy.query", kind=Fault.Kind.SERVER_ERROR)
    result = client(world, "alice", FREE_BUSY).free_busy(
        ["alice@acme.example"], start=world.monday, end=world.monday + timedelta(days=1)
    )
    assert result.periods["alice@acme.example"]


def test_a_slow_answer_past_the_timeout_is_retryable(world, settings):
    settings.PROVIDER_HTTP_TIMEOUT = 1
    settings.PROVIDER_MAX_ATTEMPTS = 1
    Fault.objects.create(
        provider=Provider.GOOGLE, operation="calendar.calendarList.list", kind=Fault.Kind.SLOW, delay_ms=2500
    )
    with pytest.raises(ProviderError) as error:
        client(world, "alice", FULL).list_calendars()
    assert error.value.retryable


#
# Tokens
#


def test_an_expired_access_token_is_refreshed_and_stored_again(world):
    stored: list[dict] = []
    credentials = {
        "kind": "google_user",
        "access_token": mint(world, "alice", FULL, expired=True),
        "refresh_token": mint_refresh(world, "alice", FULL),
        "scopes": FULL,
        "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    google = GoogleCalendarClient(credentials, on_credentials_changed=stored.append)
    assert google.list_calendars()
    assert len(stored) == 1
    assert stored[0]["access_token"] != credentials["access_token"]
    assert stored[0]["refresh_token"] == credentials["refresh_token"]
    assert datetime.fromisoformat(stored[0]["expires_at"]) > datetime.now(UTC)


def test_a_revoked_grant_asks_for_a_relink(world):
    credentials = {
        "kind": "google_user",
        "access_token": mint(world, "alice", FULL, expired=True),
        "refresh_token": mint_refresh(world, "alice", FULL),
        "scopes": FULL,
        "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    Fault.objects.create(provider=Provider.GOOGLE, operation="token", kind=Fault.Kind.INVALID_GRANT)
    with pytest.raises(ProviderAuthError):
        GoogleCalendarClient(credentials).list_calendars()


def test_a_service_account_acts_for_a_user_with_the_delegated_scopes(world, google_service_account):
    DelegationGrant.objects.create(tenant=world.tenants["acme"], service_account=google_service_account, scopes=FULL)
    credentials = {"kind": "google_service_account", "key": google_service_account.key, "scopes": FULL}
    calendars = GoogleCalendarClient(credentials, subject="alice@acme.example").list_calendars()
    assert calendars[0].provider_id == "alice@acme.example"


def test_a_delegation_missing_a_scope_is_refused(world, google_service_account):
    DelegationGrant.objects.create(
        tenant=world.tenants["acme"], service_account=google_service_account, scopes=[f"{G}calendar.events.freebusy"]
    )
    credentials = {"kind": "google_service_account", "key": google_service_account.key, "scopes": FULL}
    with pytest.raises(ProviderAuthError):
        GoogleCalendarClient(credentials, subject="alice@acme.example").list_calendars()


def test_a_service_account_cannot_act_outside_the_delegating_organization(world, google_service_account):
    DelegationGrant.objects.create(tenant=world.tenants["acme"], service_account=google_service_account, scopes=FULL)
    credentials = {"kind": "google_service_account", "key": google_service_account.key, "scopes": FULL}
    with pytest.raises(ProviderAuthError):
        GoogleCalendarClient(credentials, subject="ivan@initech.example").list_calendars()


def test_events_get_returns_one_event_and_404_for_another_calendars(world):
    service = raw_service(mint(world, "alice", FULL))
    event = service.events().get(calendarId="primary", eventId=world.events["review"].event_id).execute()
    assert event["summary"] == "Design review"
    assert event["organizer"] == {"email": "alice@acme.example", "displayName": "Alice Able", "self": True}
    with pytest.raises(HttpError) as error:
        service.events().get(calendarId="bob@acme.example", eventId=world.events["declined"].event_id).execute()
    assert error.value.resp.status == 404


def test_no_token_or_event_detail_reaches_the_logs(world, caplog):
    refresh = mint_refresh(world, "alice", FULL)
    access = mint(world, "alice", FULL, expired=True)
    credentials = {
        "kind": "google_user",
        "access_token": access,
        "refresh_token": refresh,
        "scopes": FULL,
        "expires_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    caplog.set_level("DEBUG")
    start, end = window(world)
    GoogleCalendarClient(credentials, include_details=True).busy_changes("primary", cursor=None, start=start, end=end)
    Fault.objects.create(provider=Provider.GOOGLE, operation="token", kind=Fault.Kind.INVALID_GRANT)
    with pytest.raises(ProviderAuthError) as error:
        GoogleCalendarClient({**credentials, "access_token": access}).list_calendars()
    logged = caplog.text + str(error.value)
    for secret in (refresh, access, "Design review", "Secret agenda"):
        assert secret not in logged
