from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts import views as account_views
from calendars import views as calendar_views
from conferencing import views as conferencing_views
from connect import enterprise_views, my_calendars
from connect import views as consent_views
from connect.api import oauth as oauth_api
from cronofy_site import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("invitations/<str:token>/", account_views.organization_invitation, name="organization-invitation"),
    # Email providers' inbound webhooks: attendees' replies to invitations (django-anymail)
    path("anymail/", include("anymail.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    # Cronofy-compatible OAuth server and API
    path("oauth/authorize", consent_views.oauth_authorize, name="oauth-authorize"),
    path("oauth/consent/<str:consent_id>/", consent_views.consent_page, name="consent"),
    path("oauth/consent/<str:consent_id>/complete", consent_views.consent_complete, name="consent-complete"),
    path("oauth/token", oauth_api.token, name="oauth-token"),
    path("enterprise_connect/oauth/authorize", enterprise_views.enterprise_authorize, name="enterprise-authorize"),
    path(
        "enterprise_connect/consent/<str:request_id>/", enterprise_views.enterprise_consent, name="enterprise-consent"
    ),
    path("oauth/token/revoke", oauth_api.revoke, name="oauth-revoke"),
    path("profiles/<str:profile_id>/relink", consent_views.profile_relink, name="profile-relink"),
    # A person's own page: their calendars, applications, working hours and week
    path("my/calendars/", my_calendars.my_calendars, name="my-calendars"),
    path("v1/", include("cronofy_site.api_urls")),
    # A person linking their own Zoom or Webex (conferencing service authorizations)
    path("conferencing/authorize", conferencing_views.authorize, name="conferencing-authorize"),
    path("conferencing/callback/<str:provider>", conferencing_views.callback, name="conferencing-callback"),
    # Push notifications from the calendar providers
    path("push/google", calendar_views.google_push, name="push-google"),
    path("push/microsoft", calendar_views.microsoft_push, name="push-microsoft"),
]

if settings.SANDBOX_ENABLED:
    urlpatterns += [
        path("sandbox/", include("sandbox.urls")),
        path("demo-integrator/callback", views.demo_integrator_callback, name="demo-integrator-callback"),
    ]
