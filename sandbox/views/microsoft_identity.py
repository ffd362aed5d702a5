"""The Microsoft identity platform (v2.0): OpenID configuration, authorize (query and form_post),
token (authorization code with PKCE, refresh token, client credentials with .default), admin consent
and signing keys, with AADSTS error codes."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_http_methods

from sandbox import tokens
from sandbox.models import AdminConsent, OAuthClient, Person, Provider, Tenant, Token
from sandbox.scopes import GRAPH_RESOURCE_ID, entra_unknown_permissions, graph_normalize
from sandbox.views.common import (
    client_credentials,
    endpoint,
    oauth_error,
    secret_matches,
    take_fault,
    token_person,
)

MULTI_TENANT = {"common", "organizations"}
GRAPH_DEFAULT = "https://graph.microsoft.com/.default"
RESERVED = {"openid", "profile", "offline_access", "email"}
AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "response_mode",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "login_hint",
    "domain_hint",
)


def published_login_url() -> str:
    """The base the discovery document advertises: Microsoft's real host, which the product's MSAL seam
    maps back to the sandbox (MSAL insists on an https authority)."""
    return settings.SANDBOX_MICROSOFT_PUBLISHED_LOGIN_URL.rstrip("/")


def find_tenant(value: str) -> Tenant | None:
    tenants = Tenant.objects.filter(provider=Provider.MICROSOFT)
    found = tenants.filter(external_id__iexact=value).first()
    if found is None:
        found = next((tenant for tenant in tenants if value.lower() in (d.lower() for d in tenant.domains)), None)
    return found


def openid_configuration(request: HttpRequest, tenant: str) -> HttpResponse:
    found = find_tenant(tenant)
    if found is None and tenant not in MULTI_TENANT:
        return oauth_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.", codes=[90002])
    base = published_login_url()
    tid = found.external_id if found else "{tenantid}"
    path = found.external_id if found else tenant
    return JsonResponse(
        {
            "token_endpoint": f"{base}/{path}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{base}/{path}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/{tid}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{base}/{path}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/{path}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/{path}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "oid",
                "email",
            ],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
    )


def keys(request: HttpRequest, tenant: str) -> JsonResponse:
    return JsonResponse(tokens.jwks())


def _error_page(request: HttpRequest, code: int, message: str, status: int = 400) -> HttpResponse:
    return render(
        request,
        "sandbox/oauth_error.html",
        {"provider": "Microsoft", "error": f"AADSTS{code}", "detail": message},
        status=status,
    )


def _answer(redirect_uri: str, mode: str, params: dict[str, str]) -> HttpResponse:
    if mode == "form_post":
        return HttpResponse(
            '<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="'
            + _escape(redirect_uri)
            + '">'
            + "".join(f'<input type="hidden" name="{_escape(k)}" value="{_escape(v)}">' for k, v in params.items())
            + "<noscript><button>Continue</button></noscript></form></body></html>"
        )
    separator = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


def _escape(value: str) -> str:
    return escape(value)


def _no_such_scope(client: OAuthClient, scope: str) -> str:
    return (
        f"AADSTS650053: The application '{client.name}' asked for scope '{scope}' that doesn't exist on the "
        f"resource '{GRAPH_RESOURCE_ID}'."
    )


def _requested_scopes(scope: str) -> list[str]:
    return [graph_normalize(item) for item in scope.split()]


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest, tenant: str) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    params = {name: source.get(name, "") for name in AUTHORIZE_PARAMS}
    client = OAuthClient.objects.filter(provider=Provider.MICROSOFT, client_id=params["client_id"]).first()
    if client is None:
        return _error_page(
            request, 700016, f"Application with identifier '{params['client_id']}' was not found in the directory."
        )
    if not client.redirect_uri_allowed(params["redirect_uri"]):
        return _error_page(
            request,
            50011,
            f"The redirect URI '{params['redirect_uri']}' specified in the request "
            f"does not match the redirect URIs configured for the application "
            f"'{client.client_id}'.",
        )
    mode = params["response_mode"] or "query"
    answer = {"state": params["state"]} if params["state"] else {}
    if params["response_type"] != "code":
        return _answer(params["redirect_uri"], mode, {"error": "unsupported_response_type", **answer})
    requested = _requested_scopes(params["scope"])
    unknown = entra_unknown_permissions(requested, application=False)
    if unknown:
        return _answer(
            params["redirect_uri"],
            mode,
            {"error": "invalid_client", "error_description": _no_such_scope(client, unknown[0]), **answer},
        )
    found_tenant = find_tenant(tenant)
    if found_tenant is None and tenant not in MULTI_TENANT:
        return _error_page(request, 90002, f"Tenant '{tenant}' not found.")
    accounts = Person.objects.filter(tenant__provider=Provider.MICROSOFT, kind=Person.Kind.USER, suspended=False)
    if found_tenant is not None:
        accounts = accounts.filter(tenant=found_tenant)
    chosen = accounts.filter(email__iexact=source.get("account", "")).first()
    if chosen is None:
        return render(
            request,
            "sandbox/microsoft_choose_account.html",
            {"client": client, "params": params, "accounts": accounts.select_related("tenant"), "tenant": tenant},
        )
    if "decision" not in request.POST:
        return render(
            request,
            "sandbox/microsoft_consent.html",
            {
                "client": client,
                "params": params,
                "account": chosen,
                "tenant": tenant,
                "permissions": [scope for scope in requested if scope not in RESERVED],
            },
        )
    if request.POST["decision"] != "accept":
        return _answer(
            params["redirect_uri"],
            mode,
            {
                "error": "access_denied",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
                **answer,
            },
        )
    code = tokens.issue_code(
        provider=Provider.MICROSOFT,
        client=client,
        person=chosen,
        scopes=requested,
        params=params,
        offline="offline_access" in requested,
    )
    return _answer(params["redirect_uri"], mode, {"code": code, **answer})


def _client(request: HttpRequest) -> OAuthClient | HttpResponse:
    """The calling client, or Microsoft's refusal to answer with."""
    client_id, secret = client_credentials(request)
    client = OAuthClient.objects.filter(provider=Provider.MICROSOFT, client_id=client_id).first()
    if client is None:
        return oauth_error(
            400,
            "unauthorized_client",
            f"AADSTS700016: Application with identifier '{client_id}' was not found in the directory.",
            codes=[700016],
        )
    if not secret_matches(client.client_secret, secret):
        return oauth_error(
            401,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided. Ensure the "
            "secret being sent in the request is the client secret value.",
            codes=[7000215],
        )
    return client


def _client_info(person: Person) -> str:
    raw = json.dumps({"uid": person.external_id, "utid": person.tenant.external_id}).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _delegated_response(
    request: HttpRequest, *, client: OAuthClient, person: Person, scopes: list[str], nonce: str, refresh: Token | None
) -> JsonResponse:
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(scopes),
        "expires_in": tokens.ACCESS_TOKEN_SECONDS,
        "ext_expires_in": tokens.ACCESS_TOKEN_SECONDS,
    }
    if "offline_access" in scopes:
        body["refresh_token"], refresh = tokens.issue(
            kind=Token.Kind.REFRESH, provider=Provider.MICROSOFT, client=client, person=person, scopes=scopes
        )
    body["access_token"], _ = tokens.issue(
        kind=Token.Kind.ACCESS,
        provider=Provider.MICROSOFT,
        client=client,
        person=person,
        scopes=scopes,
        refresh=refresh,
    )
    if "openid" in scopes:
        tid = person.tenant.external_id
        body["id_token"] = tokens.id_token(
            issuer=f"{published_login_url()}/{tid}/v2.0",
            audience=client.client_id,
            person=person,
            nonce=nonce,
            extra={"tid": tid, "oid": person.external_id, "preferred_username": person.email, "ver": "2.0"},
        )
    if request.POST.get("client_info") == "1":
        body["client_info"] = _client_info(person)
    return JsonResponse(body)


@endpoint(Provider.MICROSOFT, "token")
@require_http_methods(["POST"])
def token(request: HttpRequest, tenant: str) -> HttpResponse:
    client = _client(request)
    if isinstance(client, HttpResponse):
        return client
    grant_type = request.POST.get("grant_type", "")
    if grant_type == "authorization_code":
        code = tokens.find(request.POST.get("code", ""), kind=Token.Kind.CODE, provider=Provider.MICROSOFT)
        if code is None or code.client_id != client.pk or not code.is_usable():
            return oauth_error(
                400,
                "invalid_grant",
                "AADSTS70000: The provided value for the 'code' parameter is not valid.",
                codes=[70000],
            )
        if code.used_at is not None:
            return oauth_error(
                400,
                "invalid_grant",
                "AADSTS54005: OAuth2 Authorization code was already redeemed, "
                "please retry with a new valid code or use an existing refresh token.",
                codes=[54005],
            )
        if request.POST.get("redirect_uri", "") != code.redirect_uri:
            return oauth_error(
                400,
                "invalid_grant",
                "AADSTS500112: The reply address does not match the reply "
                "address provided when requesting the authorization code.",
                codes=[500112],
            )
        if not tokens.pkce_matches(
            challenge=code.code_challenge,
            method=code.code_challenge_method,
            verifier=request.POST.get("code_verifier", ""),
        ):
            return oauth_error(
                400,
                "invalid_grant",
                "AADSTS501481: The Code_Verifier does not match the "
                "code_challenge supplied in the authorization request.",
                codes=[501481],
            )
        if not Token.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=timezone.now()):
            return oauth_error(
                400, "invalid_grant", "AADSTS54005: OAuth2 Authorization code was already redeemed.", codes=[54005]
            )
        return _delegated_response(
            request, client=client, person=token_person(code), scopes=code.scopes, nonce=code.nonce, refresh=None
        )
    if grant_type == "refresh_token":
        refresh = tokens.find(
            request.POST.get("refresh_token", ""), kind=Token.Kind.REFRESH, provider=Provider.MICROSOFT
        )
        if take_fault(Provider.MICROSOFT, "token", ["invalid_grant"]) is not None or (
            refresh is not None and refresh.expires_at <= timezone.now()
        ):
            return oauth_error(
                400, "invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity.", codes=[700082]
            )
        if refresh is None or refresh.client_id != client.pk or refresh.revoked_at is not None:
            return oauth_error(
                400,
                "invalid_grant",
                "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.",
                codes=[50173],
            )
        wanted = [scope for scope in _requested_scopes(request.POST.get("scope", "")) if scope not in RESERVED]
        if not set(wanted) <= set(refresh.scopes):
            return oauth_error(
                400,
                "invalid_grant",
                "AADSTS65001: The user or administrator has not consented to use the application.",
                codes=[65001],
            )
        return _delegated_response(
            request, client=client, person=token_person(refresh), scopes=refresh.scopes, nonce="", refresh=refresh
        )
    if grant_type == "client_credentials":
        if tenant in MULTI_TENANT:
            return oauth_error(
                400,
                "invalid_request",
                f"AADSTS700016: the '{tenant}' endpoint cannot be used for client credentials; use a tenant id.",
                codes=[700016],
            )
        if request.POST.get("scope", "").strip() != GRAPH_DEFAULT:
            return oauth_error(
                400,
                "invalid_scope",
                "AADSTS1002012: The provided value for scope is not valid. "
                "Client credential flows must have a scope value with /.default suffixed to the "
                "resource identifier.",
                codes=[1002012],
            )
        found = find_tenant(tenant)
        consent = AdminConsent.objects.filter(tenant=found, client=client).first() if found else None
        if consent is None:
            return oauth_error(
                400,
                "unauthorized_client",
                "AADSTS7000229: The client application is missing service "
                "principal in the tenant. An administrator has to consent first.",
                codes=[7000229],
            )
        value, _ = tokens.issue(
            kind=Token.Kind.ACCESS, provider=Provider.MICROSOFT, client=client, tenant=found, scopes=consent.permissions
        )
        return JsonResponse(
            {
                "token_type": "Bearer",
                "expires_in": tokens.ACCESS_TOKEN_SECONDS,
                "ext_expires_in": tokens.ACCESS_TOKEN_SECONDS,
                "access_token": value,
            }
        )
    return oauth_error(
        400,
        "unsupported_grant_type",
        f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'.",
        codes=[70003],
    )


@require_http_methods(["GET", "POST"])
def admin_consent(request: HttpRequest, tenant: str) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    client_id, redirect_uri, state = (
        source.get("client_id", ""),
        source.get("redirect_uri", ""),
        source.get("state", ""),
    )
    client = OAuthClient.objects.filter(provider=Provider.MICROSOFT, client_id=client_id).first()
    if client is None:
        return _error_page(request, 700016, f"Application with identifier '{client_id}' was not found.")
    if not client.redirect_uri_allowed(redirect_uri):
        return _error_page(
            request,
            50011,
            f"The redirect URI '{redirect_uri}' does not match the redirect URIs configured for the application.",
        )
    unknown = entra_unknown_permissions(client.application_permissions, application=True)
    if unknown:
        return _error_page(request, 650053, _no_such_scope(client, unknown[0]))
    found = find_tenant(tenant)
    admins = Person.objects.filter(tenant__provider=Provider.MICROSOFT, is_admin=True, suspended=False)
    if found is not None:
        admins = admins.filter(tenant=found)
    chosen = admins.filter(email__iexact=source.get("account", "")).select_related("tenant").first()
    answer = {"state": state} if state else {}
    if chosen is None:
        return render(
            request,
            "sandbox/microsoft_admin_consent.html",
            {
                "client": client,
                "admins": admins.select_related("tenant"),
                "step": "choose",
                "fields": {
                    "client_id": client_id,
                    "redirect_uri": redirect_uri,
                    "state": state,
                    "scope": source.get("scope", ""),
                },
            },
        )
    if "decision" not in request.POST:
        return render(
            request,
            "sandbox/microsoft_admin_consent.html",
            {
                "client": client,
                "account": chosen,
                "step": "consent",
                "permissions": client.application_permissions,
                "fields": {
                    "client_id": client_id,
                    "redirect_uri": redirect_uri,
                    "state": state,
                    "scope": source.get("scope", ""),
                    "account": chosen.email,
                },
            },
        )
    if request.POST["decision"] != "accept":
        return _answer(
            redirect_uri,
            "query",
            {
                "admin_consent": "True",
                "error": "consent_required",
                "error_description": "AADSTS65004: User declined to consent to access the app.",
                **answer,
            },
        )
    AdminConsent.objects.update_or_create(
        tenant=chosen.tenant,
        client=client,
        defaults={"permissions": list(client.application_permissions), "granted_at": timezone.now()},
    )
    return _answer(
        redirect_uri,
        "query",
        {"admin_consent": "True", "tenant": chosen.tenant.external_id, "scope": GRAPH_DEFAULT, **answer},
    )
