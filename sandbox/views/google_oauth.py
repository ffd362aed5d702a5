"""Google's OAuth 2.0 server: authorize (account chooser and consent screen), token (authorization
code with PKCE, refresh token, service-account JWT bearer with domain-wide delegation), revoke,
userinfo and signing keys."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jwt
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from sandbox import tokens
from sandbox.models import DelegationGrant, OAuthClient, Person, Provider, ServiceAccount, Token
from sandbox.scopes import GOOGLE_IDENTITY_SCOPES, google_scope_description
from sandbox.views.common import (
    access_token,
    client_credentials,
    endpoint,
    oauth_error,
    secret_matches,
    take_fault,
    token_person,
)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs service-account assertions for this audience whatever token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # noqa: S105  # a URL, not a secret
ISSUER = "https://accounts.google.com"
AUTHORIZE_PARAMS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "include_granted_scopes",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "hd",
    "nonce",
)


def _redirect(redirect_uri: str, params: dict[str, str]) -> HttpResponseRedirect:
    separator = "&" if "?" in redirect_uri else "?"
    return HttpResponseRedirect(f"{redirect_uri}{separator}{urlencode(params)}")


def _error_page(request: HttpRequest, status: int, error: str, detail: str) -> HttpResponse:
    return render(
        request, "sandbox/oauth_error.html", {"provider": "Google", "error": error, "detail": detail}, status=status
    )


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """The account chooser, then the consent screen with one checkbox per scope (granular consent)."""
    params = {
        name: (request.POST if request.method == "POST" else request.GET).get(name, "") for name in AUTHORIZE_PARAMS
    }
    client = OAuthClient.objects.filter(provider=Provider.GOOGLE, client_id=params["client_id"]).first()
    if client is None:
        return _error_page(request, 401, "invalid_client", "The OAuth client was not found.")
    if not client.redirect_uri_allowed(params["redirect_uri"]):
        return _error_page(
            request,
            400,
            "redirect_uri_mismatch",
            f"You can't sign in because {client.name} sent an invalid request: the redirect URI "
            f"{params['redirect_uri']} is not registered for this client.",
        )
    answer = {"state": params["state"]} if params["state"] else {}
    if params["response_type"] != "code":
        return _redirect(params["redirect_uri"], {"error": "unsupported_response_type", **answer})
    requested = params["scope"].split()
    if not requested:
        return _redirect(
            params["redirect_uri"], {"error": "invalid_request", "error_description": "Missing scope", **answer}
        )

    accounts = Person.objects.filter(tenant__provider=Provider.GOOGLE, kind=Person.Kind.USER, suspended=False)
    chosen = accounts.filter(email__iexact=request.POST.get("account") or request.GET.get("account", "")).first()
    if chosen is None:
        hinted = params["login_hint"].lower()
        return render(
            request,
            "sandbox/google_choose_account.html",
            {
                "client": client,
                "params": params,
                "accounts": sorted(
                    accounts.select_related("tenant"), key=lambda p: (p.email.lower() != hinted, p.email)
                ),
            },
        )
    if request.method == "GET" or "decision" not in request.POST:
        return render(
            request,
            "sandbox/google_consent.html",
            {
                "client": client,
                "params": params,
                "account": chosen,
                "identity": [
                    (scope, google_scope_description(scope)) for scope in requested if scope in GOOGLE_IDENTITY_SCOPES
                ],
                "scopes": [
                    (scope, google_scope_description(scope))
                    for scope in requested
                    if scope not in GOOGLE_IDENTITY_SCOPES
                ],
            },
        )
    if request.POST["decision"] != "allow":
        return _redirect(params["redirect_uri"], {"error": "access_denied", **answer})

    ticked = set(request.POST.getlist("granted"))
    granted = [scope for scope in requested if scope in GOOGLE_IDENTITY_SCOPES or scope in ticked]
    if params["include_granted_scopes"] == "true":
        previous = Token.objects.filter(kind=Token.Kind.REFRESH, client=client, person=chosen, revoked_at__isnull=True)
        for token in previous:
            granted += [scope for scope in token.scopes if scope not in granted]
    code = tokens.issue_code(
        provider=Provider.GOOGLE,
        client=client,
        person=chosen,
        scopes=granted,
        params=params,
        offline=params["access_type"] == "offline",
    )
    return _redirect(
        params["redirect_uri"],
        {"code": code, "scope": " ".join(granted), "authuser": "0", "prompt": "consent", **answer},
    )


def _client_from_request(request: HttpRequest) -> OAuthClient | None:
    client_id, secret = client_credentials(request)
    client = OAuthClient.objects.filter(provider=Provider.GOOGLE, client_id=client_id).first()
    if client is None or not secret_matches(client.client_secret, secret):
        return None
    return client


def _token_response(
    *,
    client: OAuthClient,
    person: Person,
    scopes: list[str],
    refresh: Token | None = None,
    with_refresh: bool = False,
    nonce: str = "",
) -> JsonResponse:
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "expires_in": tokens.ACCESS_TOKEN_SECONDS,
        "scope": " ".join(scopes),
    }
    if with_refresh:
        refresh_value, refresh = tokens.issue(
            kind=Token.Kind.REFRESH, provider=Provider.GOOGLE, client=client, person=person, scopes=scopes
        )
        body["refresh_token"] = refresh_value
    body["access_token"], _ = tokens.issue(
        kind=Token.Kind.ACCESS, provider=Provider.GOOGLE, client=client, person=person, scopes=scopes, refresh=refresh
    )
    if "openid" in scopes:
        domain = person.email.rsplit("@", 1)[-1]
        body["id_token"] = tokens.id_token(
            issuer=ISSUER,
            audience=client.client_id,
            person=person,
            nonce=nonce,
            extra={"email_verified": True, "hd": domain},
        )
    return JsonResponse(body)


def _service_account_grant(assertion: str) -> JsonResponse:
    unauthorized = oauth_error(
        401,
        "unauthorized_client",
        "Client is unauthorized to retrieve access tokens using this method, or client "
        "not authorized for any of the scopes requested.",
    )
    try:
        header = jwt.get_unverified_header(assertion)
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
    account = (
        ServiceAccount.objects.select_related("client").filter(private_key_id=header.get("kid", "")).first()
        or ServiceAccount.objects.select_related("client").filter(client_email=unverified.get("iss")).first()
    )
    if account is None:
        return oauth_error(400, "invalid_grant", "Invalid grant: account not found")
    try:
        claims = jwt.decode(
            assertion,
            account.public_key_pem,
            algorithms=["RS256"],
            audience=[GOOGLE_TOKEN_AUDIENCE, *account.client.redirect_uris],
            options={"require": ["exp", "iat", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        return oauth_error(
            400, "invalid_grant", "Invalid JWT: Token must be a short-lived token and in a reasonable timeframe."
        )
    except jwt.PyJWTError:
        return oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
    scopes = claims.get("scope", "").split()
    subject = Person.objects.filter(email__iexact=claims.get("sub", ""), tenant__provider=Provider.GOOGLE).first()
    if subject is None or subject.suspended or subject.deleted_at is not None:
        return oauth_error(400, "invalid_grant", "Invalid email or User ID")
    grant = DelegationGrant.objects.filter(tenant=subject.tenant, service_account=account).first()
    if not scopes or grant is None or not set(scopes) <= set(grant.scopes):
        return unauthorized
    value, _ = tokens.issue(
        kind=Token.Kind.ACCESS, provider=Provider.GOOGLE, client=account.client, person=subject, scopes=scopes
    )
    return JsonResponse({"access_token": value, "expires_in": tokens.ACCESS_TOKEN_SECONDS, "token_type": "Bearer"})


@endpoint(Provider.GOOGLE, "token")
@require_http_methods(["POST"])
def token(request: HttpRequest) -> HttpResponse:
    grant_type = request.POST.get("grant_type", "")
    if grant_type == JWT_BEARER:
        return _service_account_grant(request.POST.get("assertion", ""))
    client = _client_from_request(request)
    if client is None:
        return oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if grant_type == "authorization_code":
        code = tokens.find(request.POST.get("code", ""), kind=Token.Kind.CODE, provider=Provider.GOOGLE)
        if code is None or code.client_id != client.pk or not code.is_usable() or code.used_at is not None:
            if code is not None and code.used_at is not None:
                tokens.revoke(code)
            return oauth_error(400, "invalid_grant", "Malformed auth code.")
        if request.POST.get("redirect_uri", "") != code.redirect_uri:
            return oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        if not tokens.pkce_matches(
            challenge=code.code_challenge,
            method=code.code_challenge_method,
            verifier=request.POST.get("code_verifier", ""),
        ):
            return oauth_error(400, "invalid_grant", "Invalid code verifier.")
        if not Token.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=timezone.now()):
            return oauth_error(400, "invalid_grant", "Malformed auth code.")  # used by a concurrent request
        return _token_response(
            client=client, person=token_person(code), scopes=code.scopes, with_refresh=code.offline, nonce=code.nonce
        )
    if grant_type == "refresh_token":
        refresh = tokens.find(request.POST.get("refresh_token", ""), kind=Token.Kind.REFRESH, provider=Provider.GOOGLE)
        expired = take_fault(Provider.GOOGLE, "token", ["invalid_grant"]) is not None
        if expired or refresh is None or refresh.client_id != client.pk or not refresh.is_usable():
            return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        scopes = request.POST.get("scope", "").split() or refresh.scopes
        if not set(scopes) <= set(refresh.scopes):
            return oauth_error(400, "invalid_scope", "Some requested scopes were invalid.")
        return _token_response(client=client, person=token_person(refresh), scopes=scopes, refresh=refresh)
    return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: " + grant_type)


@endpoint(Provider.GOOGLE, "revoke")
@require_http_methods(["POST", "GET"])
def revoke(request: HttpRequest) -> HttpResponse:
    value = request.POST.get("token") or request.GET.get("token", "")
    found = tokens.find(value, kind=Token.Kind.REFRESH, provider=Provider.GOOGLE) or tokens.find(
        value, kind=Token.Kind.ACCESS, provider=Provider.GOOGLE
    )
    if found is None or found.revoked_at is not None:
        return oauth_error(400, "invalid_token", "Token expired or revoked")
    tokens.revoke(found.refresh if found.kind == Token.Kind.ACCESS and found.refresh else found)
    return JsonResponse({})


@endpoint(Provider.GOOGLE, "userinfo")
@require_http_methods(["GET"])
def userinfo(request: HttpRequest, version: str) -> HttpResponse:
    grant = access_token(request, Provider.GOOGLE)
    if not set(grant.scopes) & GOOGLE_IDENTITY_SCOPES or grant.person is None:
        return JsonResponse(
            {
                "error": {
                    "code": 401,
                    "message": "Request is missing required authentication credential.",
                    "status": "UNAUTHENTICATED",
                }
            },
            status=401,
        )
    person = grant.person
    given, _, family = person.name.partition(" ")
    common = {
        "email": person.email,
        "name": person.name,
        "given_name": given,
        "family_name": family,
        "picture": "",
        "hd": person.email.rsplit("@", 1)[-1],
        "locale": "en",
    }
    if version == "v3":
        return JsonResponse({"sub": person.external_id, "email_verified": True, **common})
    return JsonResponse({"id": person.external_id, "verified_email": True, **common})


@require_http_methods(["GET"])
def certs(request: HttpRequest) -> JsonResponse:
    return JsonResponse(tokens.jwks())
