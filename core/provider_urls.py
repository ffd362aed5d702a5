"""Where the providers are: their real hosts, or the sandbox's stand-ins at the same paths.

Free of Django so settings.py can use it too (allauth reads some provider URLs at import).
"""

from __future__ import annotations

REAL = {
    "GOOGLE_AUTHORIZE_URL": "https://accounts.google.com/o/oauth2/v2/auth",
    "GOOGLE_TOKEN_URL": "https://oauth2.googleapis.com/token",
    "GOOGLE_REVOKE_URL": "https://oauth2.googleapis.com/revoke",
    "GOOGLE_USERINFO_URL": "https://www.googleapis.com/oauth2/v2/userinfo",
    "GOOGLE_CERTS_URL": "https://www.googleapis.com/oauth2/v1/certs",
    "GOOGLE_CALENDAR_API_URL": "https://www.googleapis.com/calendar/v3/",
    "GOOGLE_ADMIN_API_URL": "https://admin.googleapis.com/",
    # SuccessFactors has one API server per data center (api4.successfactors.com, api2.successfactors.eu…):
    # each directory service names its own; this is only the default offered.
    "SUCCESSFACTORS_API_URL": "",
    "MICROSOFT_LOGIN_URL": "https://login.microsoftonline.com",
    "MICROSOFT_GRAPH_URL": "https://graph.microsoft.com",
    "GOOGLE_MEET_API_URL": "https://meet.googleapis.com/",
    "ZOOM_OAUTH_URL": "https://zoom.us/oauth",
    "ZOOM_API_URL": "https://api.zoom.us/v2",
    "WEBEX_API_URL": "https://webexapis.com/v1",
    # The consoles an IT admin opens to make a service account key and grant it domain-wide delegation.
    "GOOGLE_CLOUD_SERVICE_ACCOUNTS_URL": "https://console.cloud.google.com/iam-admin/serviceaccounts",
    "GOOGLE_ADMIN_DELEGATION_URL": "https://admin.google.com/ac/owl/domainwidedelegation",
}
SANDBOX_PATHS = {
    "GOOGLE_AUTHORIZE_URL": "/google/o/oauth2/v2/auth",
    "GOOGLE_TOKEN_URL": "/google/oauth2/token",
    "GOOGLE_REVOKE_URL": "/google/oauth2/revoke",
    "GOOGLE_USERINFO_URL": "/google/oauth2/v2/userinfo",
    "GOOGLE_CERTS_URL": "/google/oauth2/v3/certs",
    "GOOGLE_CALENDAR_API_URL": "/google/calendar/v3/",
    "GOOGLE_ADMIN_API_URL": "/google/admin/",
    "SUCCESSFACTORS_API_URL": "/successfactors",
    "MICROSOFT_LOGIN_URL": "/microsoft/login",
    "MICROSOFT_GRAPH_URL": "/microsoft/graph",
    "GOOGLE_MEET_API_URL": "/google/meetapi/",
    "ZOOM_OAUTH_URL": "/zoom/oauth",
    "ZOOM_API_URL": "/zoom/api/v2",
    "WEBEX_API_URL": "/webex/v1",
    "GOOGLE_CLOUD_SERVICE_ACCOUNTS_URL": "/google/cloud/iam-admin/serviceaccounts",
    "GOOGLE_ADMIN_DELEGATION_URL": "/google/admin-console/ac/owl/domainwidedelegation",
}


def provider_url(name: str, *, sandbox_enabled: bool, sandbox_url: str, overrides: dict[str, str]) -> str:
    if overrides.get(name):
        return overrides[name]
    if sandbox_enabled:
        return sandbox_url.rstrip("/") + SANDBOX_PATHS[name]
    return REAL[name]
