"""The Cronofy-compatible `/v1` API."""

from django.urls import path

from bookings.api.availability import AvailabilityApi
from bookings.api.events import EventsApi, EventsPageApi
from bookings.api.free_busy import FreeBusyApi, FreeBusyPageApi
from bookings.api.views import CalendarEventsApi
from calendars.api.channels import ChannelApi, ChannelsApi
from calendars.api.managed_availability import (
    AvailabilityRuleApi,
    AvailabilityRulesApi,
    AvailablePeriodsApi,
    AvailablePeriodsPageApi,
)
from calendars.api.views import CalendarsApi
from conferencing.api.views import ConferencingServiceAuthorizationsApi
from connect.api.enterprise import ServiceAccountAuthorizationsApi
from connect.api.identity import AccountApi, ProfileRevokeApi, ProfilesApi, UserinfoApi
from directory.api.views import ResourcesApi

urlpatterns = [
    path("account", AccountApi.as_view(), name="api-account"),
    path("userinfo", UserinfoApi.as_view(), name="api-userinfo"),
    path("profiles", ProfilesApi.as_view(), name="api-profiles"),
    path("profiles/<str:profile_id>/revoke", ProfileRevokeApi.as_view(), name="api-profile-revoke"),
    path("calendars", CalendarsApi.as_view(), name="api-calendars"),
    path("calendars/<str:calendar_id>/events", CalendarEventsApi.as_view(), name="api-calendar-events"),
    path("free_busy", FreeBusyApi.as_view(), name="api-free-busy"),
    path("availability", AvailabilityApi.as_view(), name="api-availability"),
    path("events", EventsApi.as_view(), name="api-events"),
    path("events/pages/<str:token>", EventsPageApi.as_view(), name="api-events-page"),
    path("channels", ChannelsApi.as_view(), name="api-channels"),
    path("availability_rules", AvailabilityRulesApi.as_view(), name="api-availability-rules"),
    path("availability_rules/<str:rule_id>", AvailabilityRuleApi.as_view(), name="api-availability-rule"),
    path("available_periods", AvailablePeriodsApi.as_view(), name="api-available-periods"),
    path("available_periods/pages/<str:token>", AvailablePeriodsPageApi.as_view(), name="api-available-periods-page"),
    path("channels/<str:channel_id>", ChannelApi.as_view(), name="api-channel"),
    path("free_busy/pages/<str:token>", FreeBusyPageApi.as_view(), name="api-free-busy-page"),
    path("resources", ResourcesApi.as_view(), name="api-resources"),
    path(
        "service_account_authorizations",
        ServiceAccountAuthorizationsApi.as_view(),
        name="api-service-account-authorizations",
    ),
    path(
        "conferencing_service_authorizations",
        ConferencingServiceAuthorizationsApi.as_view(),
        name="api-conferencing-service-authorizations",
    ),
]
