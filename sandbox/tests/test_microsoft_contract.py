"""The Microsoft sandbox through the real client libraries (MSAL over our HTTP seam, requests for
Graph), and the product's MicrosoftCalendarClient on top of them."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.conf import settings

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
from calendars.providers.microsoft import GRAPH_DEFAULT_SCOPE, MicrosoftCalendarClient, msal_application
from sandbox import services
from sandbox.models import AdminConsent, Event, Fault, Provider
from sandbox.testing import mint, mint_refresh

pytestmark = pytest.mark.django_db(transaction=True)

READ_BASIC = ["Calendars.ReadBasic", "User.Read", "offline_access"]
READ_WRITE = ["Calendars.ReadWrite", "User.Read", "offline_access"]
REDIRECT = f"{settings.SITE_URL}/connect/microsoft/callback"  # registered by sandbox_clients()


def delegated(world, person: str, scopes: list[str], **options) -> MicrosoftCalendarClient:
    credentials = {
        "kind": "microsoft_delegated",
        "access_token": mint(world, person, scopes),
        "scopes": scopes,
        "tenant_id": world.tenants["contoso"].external_id,
        "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    return MicrosoftCalendarClient(credentials, **options)


def graph(world, person: str, scopes: list[str], method: str, path: str, **kwargs) -> requests.Response:
    token = mint(world, person, scopes)
    headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    url = path if path.startswith("http") else f"{endpoints.microsoft_graph_url()}/v1.0/{path}"
    return requests.request(method, url, headers=headers, timeout=10, **kwargs)


def consent(world, client: str = "microsoft") -> None:
    app = world.clients[client]
    AdminConsent.objects.create(tenant=world.tenants["contoso"], client=app, permissions=app.application_permissions)


def window(world) -> tuple[datetime, datetime]:
    return world.monday - timedelta(days=7), world.monday + timedelta(days=14)


#
# Identity: MSAL against the sandbox through the HTTP seam
#


def _walk_consent(auth_uri: str, *, account: str, decision: str = "accept") -> requests.Response:
    """What a person does in the browser: pick the account, then accept or cancel."""
    browser = requests.Session()
    page = browser.get(endpoints.browser_url(auth_uri), timeout=10)
    assert page.status_code == 200, page.text
    form_url = page.url
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields["account"] = account
    page = browser.post(form_url, data=fields, timeout=10)
    assert "Permissions requested" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields["decision"] = decision
    return browser.post(form_url, data=fields, timeout=10, allow_redirects=False)


def test_msal_runs_the_authorization_code_flow_with_pkce(world):
    app = msal_application(
        world.clients["microsoft"].client_id, world.clients["microsoft"].client_secret, "organizations"
    )
    flow = app.initiate_auth_code_flow(["Calendars.ReadBasic", "User.Read"], redirect_uri=REDIRECT)
    assert flow["auth_uri"].startswith("https://login.microsoftonline.com/organizations/oauth2/v2.0/authorize")
    answer = _walk_consent(flow["auth_uri"], account="erin@contoso.example")
    assert answer.status_code == 302
    callback = parse_qs(urlparse(answer.headers["Location"]).query)
    result = app.acquire_token_by_auth_code_flow(flow, {key: value[0] for key, value in callback.items()})
    assert "access_token" in result, result
    assert result["refresh_token"]
    assert result["id_token_claims"]["preferred_username"] == "erin@contoso.example"
    assert result["id_token_claims"]["tid"] == world.tenants["contoso"].external_id
    assert set(result["scope"].split()) >= {"Calendars.ReadBasic", "User.Read"}
    # The code is single-use.
    again = app.acquire_token_by_authorization_code(callback["code"][0], ["Calendars.ReadBasic"], redirect_uri=REDIRECT)
    assert again["error"] == "invalid_grant"
    assert 54005 in again["error_codes"]


def test_the_user_can_cancel_consent(world):
    app = msal_application(
        world.clients["microsoft"].client_id, world.clients["microsoft"].client_secret, "organizations"
    )
    flow = app.initiate_auth_code_flow(["Calendars.ReadBasic"], redirect_uri=REDIRECT)
    answer = _walk_consent(flow["auth_uri"], account="erin@contoso.example", decision="cancel")
    callback = parse_qs(urlparse(answer.headers["Location"]).query)
    assert callback["error"] == ["access_denied"]
    assert callback["state"] == [flow["state"]]


def test_form_post_answers_with_a_self_submitting_form(world):
    app = msal_application(
        world.clients["microsoft"].client_id, world.clients["microsoft"].client_secret, "organizations"
    )
    flow = app.initiate_auth_code_flow(["Calendars.ReadBasic"], redirect_uri=REDIRECT, response_mode="form_post")
    answer = _walk_consent(flow["auth_uri"], account="erin@contoso.example")
    assert answer.status_code == 200
    assert f'action="{REDIRECT}"' in answer.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', answer.text))
    assert fields["state"] == flow["state"]
    assert fields["code"]


def test_a_permission_entra_does_not_have_is_refused_at_sign_in(world):
    app = msal_application(
        world.clients["microsoft"].client_id, world.clients["microsoft"].client_secret, "organizations"
    )
    flow = app.initiate_auth_code_flow(["Calendars.ReadWrite.All"], redirect_uri=REDIRECT)
    answer = requests.get(endpoints.browser_url(flow["auth_uri"]), timeout=10, allow_redirects=False)
    callback = parse_qs(urlparse(answer.headers["Location"]).query)
    assert callback["error"] == ["invalid_client"]
    assert "AADSTS650053" in callback["error_description"][0]


def test_admin_consent_refuses_a_registration_holding_an_app_role_entra_does_not_have(world):
    app = world.clients["microsoft"]
    app.application_permissions = ["Calendars.ReadWrite.All", "User.Read.All"]
    app.save()
    page = requests.get(
        f"{endpoints.url('MICROSOFT_LOGIN_URL')}/organizations/v2.0/adminconsent",
        params={"client_id": app.client_id, "redirect_uri": REDIRECT, "scope": GRAPH_DEFAULT_SCOPE},
        timeout=10,
    )
    assert page.status_code == 400
    assert "AADSTS650053" in page.text
    assert "Calendars.ReadWrite.All" in page.text
    assert not AdminConsent.objects.exists()


def test_the_read_write_registration_consents_to_calendars_read_write(world):
    assert "Calendars.ReadWrite" in world.clients["microsoft"].application_permissions
    assert "Calendars.ReadWrite.All" not in world.clients["microsoft"].application_permissions


def test_an_unknown_redirect_uri_never_leaves_microsoft(world):
    app = msal_application(
        world.clients["microsoft"].client_id, world.clients["microsoft"].client_secret, "organizations"
    )
    flow = app.initiate_auth_code_flow(["Calendars.ReadBasic"], redirect_uri="https://evil.example/steal")
    page = requests.get(endpoints.browser_url(flow["auth_uri"]), timeout=10)
    assert page.status_code == 400
    assert "AADSTS50011" in page.text


def test_client_credentials_need_admin_consent_and_dot_default(world):
    app = msal_application(
        world.clients["microsoft"].client_id,
        world.clients["microsoft"].client_secret,
        world.tenants["contoso"].external_id,
    )
    refused = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
    assert refused["error"] == "unauthorized_client"
    assert 7000229 in refused["error_codes"]
    consent(world)
    # A new application object, as a later job would have: MSAL throttles repeats of a refused request.
    app = msal_application(
        world.clients["microsoft"].client_id,
        world.clients["microsoft"].client_secret,
        world.tenants["contoso"].external_id,
    )
    granted = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
    assert granted["token_type"] == "Bearer"
    assert granted["access_token"]
    wrong = requests.post(
        f"{endpoints.url('MICROSOFT_LOGIN_URL')}/{world.tenants['contoso'].external_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world.clients["microsoft"].client_id,
            "client_secret": world.clients["microsoft"].client_secret,
            "scope": "Calendars.Read",
        },
        timeout=10,
    )
    assert wrong.status_code == 400
    assert wrong.json()["error_codes"] == [1002012]


def test_a_wrong_client_secret_is_refused_with_its_aadsts_code(world):
    app = msal_application(world.clients["microsoft"].client_id, "not-the-secret", world.tenants["contoso"].external_id)
    result = app.acquire_token_for_client(scopes=[GRAPH_DEFAULT_SCOPE])
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]


def test_admin_consent_redirects_back_with_the_tenant(world):
    browser = requests.Session()
    base = f"{endpoints.url('MICROSOFT_LOGIN_URL')}/organizations/v2.0/adminconsent"
    page = browser.get(
        base,
        params={
            "client_id": world.clients["microsoft_free_busy"].client_id,
            "redirect_uri": REDIRECT,
            "state": "s1",
            "scope": GRAPH_DEFAULT_SCOPE,
        },
        timeout=10,
    )
    assert "olga@contoso.example" in page.text
    assert "erin@contoso.example" not in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    page = browser.post(page.url, data={**fields, "account": "olga@contoso.example"}, timeout=10)
    assert "Calendars.ReadBasic.All" in page.text
    assert "Calendars.ReadWrite" not in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    answer = browser.post(page.url, data={**fields, "decision": "accept"}, timeout=10, allow_redirects=False)
    callback = parse_qs(urlparse(answer.headers["Location"]).query)
    assert callback == {
        "admin_consent": ["True"],
        "tenant": [world.tenants["contoso"].external_id],
        "scope": [GRAPH_DEFAULT_SCOPE],
        "state": ["s1"],
    }
    assert AdminConsent.objects.get().permissions == world.clients["microsoft_free_busy"].application_permissions


def test_openid_configuration_lists_https_endpoints_for_msal(world):
    tenant = world.tenants["contoso"].external_id
    document = requests.get(
        f"{endpoints.url('MICROSOFT_LOGIN_URL')}/{tenant}/v2.0/.well-known/openid-configuration", timeout=10
    ).json()
    assert document["token_endpoint"] == f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
    assert document["issuer"] == f"https://login.microsoftonline.com/{tenant}/v2.0"
    assert "form_post" in document["response_modes_supported"]


#
# Graph: reading
#


def test_delegated_reading_of_calendars_and_a_full_delta(world):
    erin = delegated(world, "erin", READ_BASIC)
    assert [c.provider_id for c in erin.list_calendars()] == ["AAMkCalerinAAA="]
    start, end = window(world)
    changes = erin.busy_changes("AAMkCalerinAAA=", cursor=None, start=start, end=end)
    assert changes.full
    assert changes.cursor.startswith(endpoints.microsoft_graph_url())
    statuses = {e.start: e.status for e in changes.events}
    assert statuses[world.monday + timedelta(hours=10)] == BusyStatus.BUSY
    assert statuses[world.monday + timedelta(hours=12)] == BusyStatus.TENTATIVE
    assert all(e.details is None for e in changes.events)


def test_read_basic_sees_subjects_but_never_bodies_and_the_client_drops_subjects(world):
    start, end = window(world)
    query = {"startDateTime": start.isoformat(), "endDateTime": end.isoformat()}
    basic = graph(world, "erin", READ_BASIC, "GET", "me/calendarView", params=query).json()["value"]
    meeting = next(item for item in basic if item["subject"].startswith("Board prep"))
    assert "body" not in meeting
    assert "bodyPreview" not in meeting
    assert meeting["attendees"]  # ...but the attendee list and subject, as the seed warns
    full = graph(world, "erin", ["Calendars.Read"], "GET", "me/calendarView", params=query).json()["value"]
    assert next(item for item in full if item["subject"].startswith("Board prep"))["body"]["content"] == "Numbers"
    # The product's client never passes the subject on without include_details.
    result = delegated(world, "erin", READ_BASIC).free_busy(
        ["erin@contoso.example"], start=world.monday, end=world.monday + timedelta(days=1)
    )
    assert "Board" not in repr(result)
    assert result.periods["erin@contoso.example"][0].start == world.monday + timedelta(hours=10)


def test_calendar_view_pages_with_next_links_and_needs_a_window(world):
    start, end = window(world)
    page = graph(
        world,
        "erin",
        READ_BASIC,
        "GET",
        "me/calendarView",
        params={"startDateTime": start.isoformat(), "endDateTime": end.isoformat(), "$top": "1"},
    ).json()
    assert len(page["value"]) == 1
    assert "@odata.nextLink" in page
    following = graph(world, "erin", READ_BASIC, "GET", page["@odata.nextLink"]).json()
    assert following["value"][0]["id"] != page["value"][0]["id"]
    missing = graph(world, "erin", READ_BASIC, "GET", "me/calendarView")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "ErrorInvalidParameter"


def test_delta_pages_then_reports_changes_with_removals(world):
    start, end = window(world)
    prefer = {"Prefer": "odata.maxpagesize=1"}
    url = f"me/calendarView/delta?startDateTime={start.isoformat()}&endDateTime={end.isoformat()}"
    seen, pages = [], 0
    while True:
        page = graph(world, "erin", READ_BASIC, "GET", url.replace("+", "%2B"), headers=prefer).json()
        pages += 1
        seen += [item["id"] for item in page["value"]]
        assert ("@odata.nextLink" in page) != ("@odata.deltaLink" in page)
        if "@odata.deltaLink" in page:
            delta_link = page["@odata.deltaLink"]
            break
        url = page["@odata.nextLink"]
    assert pages == 2
    assert len(seen) == 2
    erin = delegated(world, "erin", READ_BASIC)
    services.event_cancel(event=world.events["erin_tentative"])
    added = services.event_create(
        calendar=world.calendar("erin"),
        values={
            "summary": "New",
            "start": world.monday + timedelta(days=1, hours=9),
            "end": world.monday + timedelta(days=1, hours=10),
        },
    )
    changes = erin.busy_changes("AAMkCalerinAAA=", cursor=delta_link, start=start, end=end)
    assert changes.removed_ids == (world.events["erin_tentative"].event_id,)
    assert [e.provider_event_id for e in changes.events] == [added.event_id]
    raw = graph(world, "erin", READ_BASIC, "GET", delta_link).json()["value"]
    assert {
        "@odata.type": "#microsoft.graph.event",
        "id": world.events["erin_tentative"].event_id,
        "@removed": {"reason": "deleted"},
    } in raw


def test_an_expired_delta_link_is_410(world):
    start, end = window(world)
    erin = delegated(world, "erin", READ_BASIC)
    first = erin.busy_changes("AAMkCalerinAAA=", cursor=None, start=start, end=end)
    services.calendar_expire_sync_tokens(calendar=world.calendar("erin"))
    with pytest.raises(SyncCursorExpired):
        erin.busy_changes("AAMkCalerinAAA=", cursor=first.cursor, start=start, end=end)


def test_get_schedule_reports_status_and_availability_view_and_limits(world):
    body = {
        "schedules": ["erin@contoso.example", "thames@contoso.example", "ghost@contoso.example"],
        "startTime": {"dateTime": (world.monday + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "endTime": {"dateTime": (world.monday + timedelta(hours=13)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
        "availabilityViewInterval": 60,
    }
    schedules = graph(world, "erin", READ_BASIC, "POST", "me/calendar/getSchedule", json=body).json()["value"]
    erin, room, ghost = schedules
    assert erin["availabilityView"] == "0201"  # 09:00 free, 10:00 busy, 11:00 free, 12:00 tentative
    assert [item["status"] for item in erin["scheduleItems"]] == ["busy", "tentative"]
    assert room["availabilityView"] == "0000"
    assert ghost["error"]["responseCode"] == "ErrorMailRecipientNotFound"
    too_many = {**body, "schedules": [f"p{i}@contoso.example" for i in range(101)]}
    refused = graph(world, "erin", READ_BASIC, "POST", "me/calendar/getSchedule", json=too_many)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "ErrorMailboxDataArrayTooBig"
    too_long = {
        **body,
        "endTime": {"dateTime": (world.monday + timedelta(days=63)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
    }
    refused = graph(world, "erin", READ_BASIC, "POST", "me/calendar/getSchedule", json=too_long)
    assert refused.json()["error"]["code"] == "ErrorTimeIntervalTooBig"


def test_application_permissions_reach_any_mailbox_of_the_tenant_only(world):
    consent(world)
    client = MicrosoftCalendarClient(
        {"kind": "microsoft_app", "tenant_id": world.tenants["contoso"].external_id}, mailbox="erin@contoso.example"
    )
    assert client.list_calendars()[0].provider_id == "AAMkCalerinAAA="
    outsider = MicrosoftCalendarClient(
        {"kind": "microsoft_app", "tenant_id": world.tenants["contoso"].external_id}, mailbox="alice@acme.example"
    )
    with pytest.raises(ProviderError) as error:
        outsider.list_calendars()
    assert error.value.status == 404


def test_a_delegated_token_reaches_only_its_own_mailbox(world):
    response = graph(world, "erin", READ_BASIC, "GET", "users/max@contoso.example/calendars")
    assert response.status_code == 403


#
# Graph: writing
#


def test_read_basic_cannot_write(world):
    spec = EventSpec(key="k", summary="x", start=world.monday, end=world.monday + timedelta(hours=1))
    with pytest.raises(ProviderPermissionError):
        delegated(world, "erin", READ_BASIC).write_event("AAMkCalerinAAA=", spec)


def test_an_event_with_teams_and_a_room_is_created_once_per_key(world):
    erin = delegated(world, "erin", READ_WRITE)
    spec = EventSpec(
        key="booking-9",
        summary="Kick-off",
        start=world.monday + timedelta(days=2, hours=9),
        end=world.monday + timedelta(days=2, hours=10),
        attendees=(
            Attendee("max@contoso.example", "Max"),
            Attendee("thames@contoso.example", "Thames", is_resource=True),
        ),
        native_conferencing=True,
    )
    written = erin.write_event("AAMkCalerinAAA=", spec)
    assert written.join_url.startswith("https://teams.microsoft.com/l/meetup-join/")
    again = erin.write_event("AAMkCalerinAAA=", spec)
    assert again.provider_event_id == written.provider_event_id
    event = Event.objects.get(event_id=written.provider_event_id)
    assert {a["email"]: a["response"] for a in event.attendees}["thames@contoso.example"] == "accepted"
    moved = EventSpec(
        key="booking-9",
        summary="Kick-off",
        start=spec.start + timedelta(hours=1),
        end=spec.end + timedelta(hours=1),
        native_conferencing=True,
    )
    erin.write_event("AAMkCalerinAAA=", moved, provider_event_id=written.provider_event_id)
    event.refresh_from_db()
    assert event.start == moved.start
    erin.delete_event("AAMkCalerinAAA=", written.provider_event_id)
    erin.delete_event("AAMkCalerinAAA=", written.provider_event_id)
    assert Event.objects.get(event_id=written.provider_event_id).is_cancelled


def test_only_the_organizer_cancels_and_attendees_answer(world):
    max_copy = Event.objects.get(calendar=world.calendar("max"), ical_uid=world.events["erin_meeting"].ical_uid)
    refused = graph(world, "max", READ_WRITE, "POST", f"me/events/{max_copy.event_id}/cancel", json={"comment": "x"})
    assert refused.status_code == 400
    accepted = graph(world, "max", READ_WRITE, "POST", f"me/events/{max_copy.event_id}/accept", json={})
    assert accepted.status_code == 202
    world.events["erin_meeting"].refresh_from_db()
    assert world.events["erin_meeting"].response_of("max@contoso.example") == "accepted"
    cancelled = graph(
        world,
        "erin",
        READ_WRITE,
        "POST",
        f"me/events/{world.events['erin_meeting'].event_id}/cancel",
        json={"comment": "Sorry"},
    )
    assert cancelled.status_code == 202
    max_copy.refresh_from_db()
    assert max_copy.is_cancelled


#
# Subscriptions
#


def test_a_subscription_is_validated_then_notifies_with_client_state(world, receiver):
    erin = delegated(world, "erin", READ_BASIC)
    channel = erin.watch(
        "AAMkCalerinAAA=", address=receiver.url, token="secret-state", expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    validation = receiver.requests[0]
    assert "validationToken" in validation.query
    assert validation.headers["Content-Type"].startswith("text/plain")
    services.event_update(event=world.events["erin_tentative"], values={"summary": "Lunch, confirmed"})
    notification = receiver.json_bodies()[-1]["value"][0]
    assert notification["clientState"] == "secret-state"
    assert notification["subscriptionId"] == channel.channel_id
    assert notification["changeType"] == "updated"
    assert notification["resourceData"]["id"] == world.events["erin_tentative"].event_id
    assert "Lunch" not in str(notification)  # notifications carry ids, never content
    renewed = erin.renew(channel, expires_at=datetime.now(UTC) + timedelta(days=2))
    assert renewed.expires_at > channel.expires_at
    erin.unwatch(channel)
    erin.unwatch(channel)
    count = len(receiver.notifications())
    services.event_update(event=world.events["erin_tentative"], values={"summary": "Again"})
    assert len(receiver.notifications()) == count


def test_a_subscription_whose_endpoint_fails_validation_is_not_created(world, receiver):
    receiver.refuse_validation = True
    with pytest.raises(ProviderError) as error:
        delegated(world, "erin", READ_BASIC).watch(
            "AAMkCalerinAAA=", address=receiver.url, token="s", expires_at=datetime.now(UTC) + timedelta(days=1)
        )
    assert error.value.status == 400
    assert not error.value.retryable


def test_a_subscription_cannot_outlive_the_outlook_limit(world, receiver):
    response = graph(
        world,
        "erin",
        READ_BASIC,
        "POST",
        "subscriptions",
        json={
            "changeType": "updated",
            "notificationUrl": receiver.url,
            "resource": "me/events",
            "expirationDateTime": (datetime.now(UTC) + timedelta(days=5)).isoformat().replace("+00:00", "Z"),
        },
    )
    assert response.status_code == 400


#
# Faults and tokens
#


def test_graph_throttling_is_retried_after_retry_after(world):
    Fault.objects.create(
        provider=Provider.MICROSOFT,
        operation="graph.calendars",
        kind=Fault.Kind.RATE_LIMITED,
        times=1,
        retry_after=1,
    )
    started = time.monotonic()
    assert delegated(world, "erin", READ_BASIC).list_calendars()
    assert time.monotonic() - started >= 1
    raw = graph(world, "erin", READ_BASIC, "GET", "me/calendars")
    assert raw.status_code == 200
    Fault.objects.create(
        provider=Provider.MICROSOFT,
        operation="graph.calendars",
        kind=Fault.Kind.RATE_LIMITED,
        times=1,
        retry_after=7,
    )
    throttled = graph(world, "erin", READ_BASIC, "GET", "me/calendars")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "7"
    assert throttled.json()["error"]["code"] == "TooManyRequests"


def test_an_expired_access_token_is_refreshed_through_msal_and_stored(world):
    stored: list[dict] = []
    credentials = {
        "kind": "microsoft_delegated",
        "access_token": mint(world, "erin", READ_BASIC, expired=True),
        "refresh_token": mint_refresh(world, "erin", READ_BASIC),
        "scopes": READ_BASIC,
        "tenant_id": world.tenants["contoso"].external_id,
        "expires_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
    }
    assert MicrosoftCalendarClient(credentials, on_credentials_changed=stored.append).list_calendars()
    assert stored
    assert stored[-1]["access_token"] != credentials["access_token"]
    assert datetime.fromisoformat(stored[-1]["expires_at"]) > datetime.now(UTC)


def test_a_revoked_refresh_token_asks_for_a_relink(world):
    credentials = {
        "kind": "microsoft_delegated",
        "access_token": "",
        "refresh_token": mint_refresh(world, "erin", READ_BASIC),
        "scopes": READ_BASIC,
        "tenant_id": world.tenants["contoso"].external_id,
    }
    Fault.objects.create(provider=Provider.MICROSOFT, operation="token", kind=Fault.Kind.INVALID_GRANT)
    with pytest.raises(ProviderAuthError):
        MicrosoftCalendarClient(credentials).list_calendars()


@pytest.mark.parametrize(
    ("scopes", "path", "method"),
    [
        (["User.Read"], "me/calendars", "GET"),
        (["User.Read", "offline_access"], "me/calendar/getSchedule", "POST"),
        (["Calendars.ReadBasic"], "me/calendars/AAMkCalerinAAA=/events", "POST"),
        (["Calendars.ReadBasic"], "me", "GET"),
    ],
)
def test_each_free_busy_permission_reaches_only_what_it_allows(world, scopes, path, method):
    body = (
        {
            "subject": "x",
            "start": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-01-01T11:00:00", "timeZone": "UTC"},
        }
        if method == "POST"
        else None
    )
    response = graph(world, "erin", scopes, method, path, json=body)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ErrorAccessDenied"


def test_application_read_basic_cannot_write(world):
    consent(world, "microsoft_free_busy")
    client = MicrosoftCalendarClient(
        {"kind": "microsoft_app", "tenant_id": world.tenants["contoso"].external_id},
        mailbox="erin@contoso.example",
        client_id=world.clients["microsoft_free_busy"].client_id,
        client_secret=world.clients["microsoft_free_busy"].client_secret,
    )
    assert client.free_busy(["erin@contoso.example"], start=world.monday, end=world.monday + timedelta(days=1))
    spec = EventSpec(key="k2", summary="x", start=world.monday, end=world.monday + timedelta(hours=1))
    with pytest.raises(ProviderPermissionError):
        client.write_event("AAMkCalerinAAA=", spec)
