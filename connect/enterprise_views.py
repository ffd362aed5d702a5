"""Enterprise Connect's authorize page (`/enterprise_connect/oauth/authorize`): an organization's admin
signs in and decides, once for all its people, which delegated scope an application may ask for (and,
for free_busy_write, in which mode); the integrator gets a code that exchanges at `/oauth/token` for the
service account's token. Thin: the record is made by accounts.oauth.service_account_create."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import api_scopes
from accounts.oauth import redirect_uri_allowed, service_account_code_issue, service_account_create
from accounts.selectors import administered_organizations, application_by_client_id
from calendars.access_modes import policy_for

SESSION_PREFIX = "enterprise_connect:"
# The modes an admin chooses between for free_busy_write, as a person does on their consent page.
CHOOSABLE_MODES = api_scopes.FREE_BUSY_WRITE_MODES


def _back(request_data: dict[str, str], params: dict[str, str]) -> HttpResponse:
    if request_data.get("state"):
        params = {**params, "state": request_data["state"]}
    uri = request_data["redirect_uri"]
    return HttpResponseRedirect(f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}")


def _error_page(request: HttpRequest, description: str) -> HttpResponse:
    return render(
        request, "consent/error.html", {"error": {"error": "invalid_request", "description": description}}, status=400
    )


@require_GET
def enterprise_authorize(request: HttpRequest) -> HttpResponse:
    """Check the request; unknown clients and redirect URIs are shown here, never redirected to."""
    params = request.GET.dict()
    application = application_by_client_id(params.get("client_id", ""))
    if application is None:
        return _error_page(request, "This application is not registered.")
    if not redirect_uri_allowed(application, params.get("redirect_uri", "")):
        return _error_page(request, "The redirect_uri is not registered for this application.")
    data = {
        "client_id": application.client_id,
        "redirect_uri": params["redirect_uri"],
        "state": params.get("state", ""),
    }
    if params.get("response_type") != "code":
        return _back(data, {"error": "unsupported_response_type"})
    try:
        scopes = api_scopes.parse_service_account(params.get("scope", ""))
        delegated = api_scopes.parse_delegated(params.get("delegated_scope", ""))
    except api_scopes.UnknownScope as unknown:
        return _back(data, {"error": "invalid_scope", "error_description": str(unknown)})
    if not scopes or not delegated:
        return _back(data, {"error": "invalid_scope", "error_description": "scope and delegated_scope are required."})
    request_id = secrets.token_urlsafe(12)
    request.session[SESSION_PREFIX + request_id] = {**data, "scopes": scopes, "delegated_scopes": delegated}
    return HttpResponseRedirect(reverse("enterprise-consent", args=[request_id]))


@require_http_methods(["GET", "POST"])
def enterprise_consent(request: HttpRequest, request_id: str) -> HttpResponse:
    data = request.session.get(SESSION_PREFIX + request_id)
    if data is None:
        return render(request, "consent/expired.html", {}, status=400)
    if request.method == "POST" and request.POST.get("action") == "decline":
        del request.session[SESSION_PREFIX + request_id]
        return _back(data, {"error": "access_denied"})
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('account_login')}?next={request.path}")
    application = application_by_client_id(data["client_id"])
    if application is None:  # deleted since the request began
        del request.session[SESSION_PREFIX + request_id]
        return _error_page(request, "This application is not registered.")
    organizations = administered_organizations(user=request.user)
    offers_mode_choice = api_scopes.FREE_BUSY_WRITE in data["delegated_scopes"]
    context = {
        "application": application,
        "organizations": organizations,
        "scope_lines": [api_scopes.SERVICE_ACCOUNT_SCOPES[scope] for scope in data["scopes"]],
        "delegated_scope": " ".join(data["delegated_scopes"]),
        "delegated_lines": api_scopes.describe(data["delegated_scopes"]),
        "modes": [
            {
                "mode": mode,
                "label": policy_for(mode).label,
                "lines": policy_for(mode).describe_api_scopes(data["delegated_scopes"]),
            }
            for mode in CHOOSABLE_MODES
        ]
        if offers_mode_choice
        else [],
    }
    if not organizations:
        return render(request, "consent/enterprise_unavailable.html", context, status=403)
    if request.method == "POST" and request.POST.get("action") == "allow":
        chosen = next((o for o in organizations if o.public_id == request.POST.get("organization")), None)
        if chosen is None and len(organizations) == 1 and "organization" not in request.POST:
            chosen = organizations[0]
        mode = request.POST.get("access_mode", "")
        if chosen is None or (offers_mode_choice and mode not in CHOOSABLE_MODES):
            context["error"] = "Choose the organization and the access mode."
            return render(request, "consent/enterprise.html", context, status=400)
        service_account = service_account_create(
            organization=chosen,
            application=application,
            scopes=data["scopes"],
            delegated_scopes=data["delegated_scopes"],
            access_mode=mode if offers_mode_choice else "",
            actor=request.user,
        )
        code = service_account_code_issue(
            service_account=service_account, redirect_uri=data["redirect_uri"], user=request.user
        )
        del request.session[SESSION_PREFIX + request_id]
        return _back(data, {"code": code})
    return render(request, "consent/enterprise.html", context)
