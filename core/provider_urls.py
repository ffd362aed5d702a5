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
}


def provider_url(name: str, *, sandbox_enabled: bool, sandbox_url: str, overrides: dict[str, str]) -> str:
    if overrides.get(name):
        return overrides[name]
    if sandbox_enabled:
        return sandbox_url.rstrip("/") + SANDBOX_PATHS[name]
    return REAL[name]
