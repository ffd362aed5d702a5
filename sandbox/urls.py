"""The sandbox's URLs, laid out like the real hosts: Google's under google/, Microsoft's under
microsoft/login (login.microsoftonline.com) and microsoft/graph (graph.microsoft.com), a SuccessFactors
API server under successfactors/, Zoom's under zoom/ (zoom.us, and api.zoom.us at zoom/api/), Webex's
under webex/ (webexapis.com)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path, re_path

from sandbox.views import (
    control,
    google_calendar,
    google_consoles,
    google_directory,
    google_meet,
    google_oauth,
    mailbox,
    microsoft_graph,
    microsoft_identity,
    microsoft_online_meetings,
    successfactors,
    webex,
    zoom,
)

app_name = "sandbox"


def _events_collection(request: HttpRequest, calendar_id: str) -> HttpResponse:
    if request.method == "POST":
        return google_calendar.events_insert(request, calendar_id)
    return google_calendar.events_list(request, calendar_id)


def _events_item(request: HttpRequest, calendar_id: str, event_id: str) -> HttpResponse:
    if request.method in ("PATCH", "PUT"):
        return google_calendar.events_patch(request, calendar_id, event_id)
    if request.method == "DELETE":
        return google_calendar.events_delete(request, calendar_id, event_id)
    return google_calendar.events_get(request, calendar_id, event_id)


_events_collection.csrf_exempt = True  # type: ignore[attr-defined]
_events_item.csrf_exempt = True  # type: ignore[attr-defined]

urlpatterns = [
    # Google OAuth (accounts.google.com, oauth2.googleapis.com, www.googleapis.com/oauth2)
    path("google/o/oauth2/v2/auth", google_oauth.authorize, name="google-authorize"),
    path("google/oauth2/token", google_oauth.token, name="google-token"),
    path("google/oauth2/revoke", google_oauth.revoke, name="google-revoke"),
    re_path(r"^google/oauth2/(?P<version>v1|v2|v3)/userinfo$", google_oauth.userinfo, name="google-userinfo"),
    path("google/oauth2/v3/certs", google_oauth.certs, name="google-certs"),
    # Google Calendar API v3 (www.googleapis.com/calendar/v3)
    path("google/calendar/v3/users/me/calendarList", google_calendar.calendar_list),
    path("google/calendar/v3/freeBusy", google_calendar.freebusy),
    path("google/calendar/v3/calendars", google_calendar.calendars_insert),
    path("google/calendar/v3/channels/stop", google_calendar.channels_stop),
    path("google/calendar/v3/calendars/<str:calendar_id>/events/watch", google_calendar.events_watch),
    path("google/calendar/v3/calendars/<str:calendar_id>/events", _events_collection),
    path("google/calendar/v3/calendars/<str:calendar_id>/events/<str:event_id>", _events_item),
    # Google Admin SDK Directory API (admin.googleapis.com/admin/directory/v1)
    path("google/admin/admin/directory/v1/users", google_directory.users_list),
    path("google/admin/admin/directory/v1/users/<str:user_key>", google_directory.users_get),
    path("google/admin/admin/directory/v1/customer/<str:customer>/domains", google_directory.domains_list),
    path(
        "google/admin/admin/directory/v1/customer/<str:customer>/resources/calendars",
        google_directory.resources_list,
    ),
    # Microsoft identity platform (login.microsoftonline.com)
    path(
        "microsoft/login/<str:tenant>/v2.0/.well-known/openid-configuration",
        microsoft_identity.openid_configuration,
        name="microsoft-openid-configuration",
    ),
    path(
        "microsoft/login/<str:tenant>/oauth2/v2.0/authorize", microsoft_identity.authorize, name="microsoft-authorize"
    ),
    path("microsoft/login/<str:tenant>/oauth2/v2.0/token", microsoft_identity.token, name="microsoft-token"),
    path(
        "microsoft/login/<str:tenant>/v2.0/adminconsent",
        microsoft_identity.admin_consent,
        name="microsoft-admin-consent",
    ),
    path("microsoft/login/<str:tenant>/adminconsent", microsoft_identity.admin_consent),
    path("microsoft/login/<str:tenant>/discovery/v2.0/keys", microsoft_identity.keys),
    # Microsoft Graph (graph.microsoft.com)
    re_path(r"^microsoft/graph/v1\.0/(?P<path>.+)$", microsoft_graph.dispatch),
    # Google Meet REST v2 (meet.googleapis.com) and its join links (meet.google.com)
    path("google/meetapi/v2/spaces", google_meet.spaces),
    re_path(r"^google/meetapi/v2/spaces/(?P<space>[^/:]+)(?P<action>:endActiveConference)?$", google_meet.space_item),
    path("google/meet/<str:code>", google_meet.join, name="meet-join"),
    # Teams meeting links (teams.microsoft.com)
    path("microsoft/teams/l/meetup-join/<str:code>", microsoft_online_meetings.join, name="teams-join"),
    # Zoom (zoom.us OAuth, api.zoom.us/v2, zoom.us/j)
    path("zoom/oauth/authorize", zoom.authorize, name="zoom-authorize"),
    path("zoom/oauth/token", zoom.token, name="zoom-token"),
    path("zoom/api/v2/", zoom.api_root, name="zoom-api-root"),
    path("zoom/api/v2/users", zoom.users),
    path("zoom/api/v2/users/<str:user_id>", zoom.user),
    path("zoom/api/v2/users/<str:user_id>/meetings", zoom.user_meetings),
    path("zoom/api/v2/meetings/<str:meeting_id>", zoom.meeting),
    path("zoom/j/<str:meeting_id>", zoom.join, name="zoom-join"),
    # Webex (webexapis.com/v1, and the meeting site's join page)
    path("webex/v1/authorize", webex.authorize, name="webex-authorize"),
    path("webex/v1/access_token", webex.access_token, name="webex-token"),
    path("webex/v1/people", webex.people),
    path("webex/v1/people/me", webex.person_me),
    path("webex/v1/meetings", webex.meetings),
    path("webex/v1/meetings/<str:meeting_id>", webex.meeting),
    path("webex/meet/j.php", webex.join, name="webex-join"),
    # SAP SuccessFactors (an API server of the customer's data center, e.g. api4.successfactors.com)
    path("successfactors/oauth/token", successfactors.token, name="successfactors-token"),
    path("successfactors/odata/v2/User", successfactors.users, name="successfactors-users"),
    # The consoles a Workspace administrator uses (console.cloud.google.com, admin.google.com)
    path("google/console/signin", google_consoles.sign_in, name="google-console-signin"),
    path("google/console/signout", google_consoles.sign_out, name="google-console-signout"),
    path(
        "google/cloud/iam-admin/serviceaccounts",
        google_consoles.service_accounts,
        name="google-cloud-service-accounts",
    ),
    path(
        "google/cloud/iam-admin/serviceaccounts/<str:unique_id>/key.json",
        google_consoles.service_account_key,
        name="google-cloud-service-account-key",
    ),
    path(
        "google/admin-console/ac/owl/domainwidedelegation",
        google_consoles.domain_wide_delegation,
        name="google-admin-delegation",
    ),
    # Everybody's mailboxes
    path("mail/", mailbox.mailboxes, name="mailboxes"),
    path("mail/message/<int:message_id>/answer", mailbox.answer, name="mail-answer"),
    path("mail/<str:address>/", mailbox.mailbox, name="mailbox"),
    # The test API
    path("_control/faults", control.faults, name="control-faults"),
    path("_control/calendars/<str:calendar_id>/expire-sync", control.expire_sync),
    path("_control/people/<str:email>/revoke", control.revoke_person),
]
