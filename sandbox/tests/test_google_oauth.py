"""Google's OAuth server in the sandbox, driven by google-auth-oauthlib's Flow (PKCE, code exchange)
and google-auth (refresh), with a person's clicks on the account chooser and consent screen."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.conf import settings
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow

from calendars.providers import endpoints
from sandbox.models import Token
from sandbox.testing import G

pytestmark = pytest.mark.django_db(transaction=True)

REDIRECT = f"{settings.SITE_URL}/connect/google/callback"  # registered by sandbox_clients()
SCOPES = ["openid", "email", "profile", f"{G}calendar.calendarlist.readonly", f"{G}calendar.events.freebusy"]


@pytest.fixture(autouse=True)
def _oauthlib_allows_http(monkeypatch):
    # oauthlib refuses http:// unless told; the live sandbox server speaks plain http.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    monkeypatch.setenv("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")


def flow_for(world, scopes: list[str] = SCOPES) -> Flow:
    client = world.clients["google"]
    config = {
        "web": {
            "client_id": client.client_id,
            "client_secret": client.client_secret,
            "auth_uri": endpoints.url("GOOGLE_AUTHORIZE_URL"),
            "token_uri": endpoints.google_token_url(),
            "redirect_uris": [REDIRECT],
        }
    }
    return Flow.from_client_config(config, scopes=scopes, redirect_uri=REDIRECT)


def consent(url: str, *, account: str, untick: tuple[str, ...] = (), decision: str = "allow") -> dict[str, list[str]]:
    browser = requests.Session()
    page = browser.get(url, timeout=10)
    assert "Choose an account" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    page = browser.post(page.url, data={**fields, "account": account}, timeout=10)
    assert "wants to access your Google Account" in page.text
    assert "See the availability on Google calendars you have access to" in page.text  # Google's own wording
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    ticked = [scope for scope in re.findall(r'name="granted" value="([^"]+)"', page.text) if scope not in untick]
    answer = browser.post(
        page.url, data={**fields, "granted": ticked, "decision": decision}, timeout=10, allow_redirects=False
    )
    assert answer.status_code == 302
    return parse_qs(urlparse(answer.headers["Location"]).query)


def test_the_code_flow_with_pkce_yields_tokens_for_the_granted_scopes(world):
    flow = flow_for(world)
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    callback = consent(url, account="alice@acme.example")
    assert callback["state"] == [state]
    flow.fetch_token(code=callback["code"][0])
    credentials = flow.credentials
    assert credentials.token.startswith("ya29.")
    assert credentials.refresh_token.startswith("1//")
    assert set(credentials.granted_scopes) == set(SCOPES)
    info = requests.get(
        endpoints.url("GOOGLE_USERINFO_URL"), headers={"Authorization": f"Bearer {credentials.token}"}, timeout=10
    ).json()
    assert info["email"] == "alice@acme.example"
    assert info["verified_email"] is True
    assert info["hd"] == "acme.example"


def test_a_user_who_unticks_a_scope_grants_less(world):
    flow = flow_for(world)
    url, _ = flow.authorization_url(access_type="offline")
    callback = consent(url, account="alice@acme.example", untick=(f"{G}calendar.calendarlist.readonly",))
    assert f"{G}calendar.calendarlist.readonly" not in callback["scope"][0].split()
    token = flow.fetch_token(code=callback["code"][0])
    assert f"{G}calendar.calendarlist.readonly" not in token["scope"]
    assert f"{G}calendar.events.freebusy" in token["scope"]


def test_declining_returns_access_denied(world):
    flow = flow_for(world)
    url, state = flow.authorization_url()
    callback = consent(url, account="alice@acme.example", decision="deny")
    assert callback == {"error": ["access_denied"], "state": [state]}


def test_a_code_works_once_and_only_with_its_verifier_and_redirect(world):
    flow = flow_for(world)
    url, _ = flow.authorization_url(access_type="offline")
    code = consent(url, account="alice@acme.example")["code"][0]
    client = world.clients["google"]
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "redirect_uri": REDIRECT,
    }
    wrong_verifier = requests.post(endpoints.google_token_url(), data={**base, "code_verifier": "x" * 50}, timeout=10)
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["error"] == "invalid_grant"
    wrong_redirect = requests.post(
        endpoints.google_token_url(),
        data={**base, "redirect_uri": "http://127.0.0.1:8000/elsewhere", "code_verifier": flow.code_verifier},
        timeout=10,
    )
    assert wrong_redirect.json()["error"] == "redirect_uri_mismatch"
    flow.fetch_token(code=code)
    reused = requests.post(endpoints.google_token_url(), data={**base, "code_verifier": flow.code_verifier}, timeout=10)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_an_unregistered_redirect_uri_stops_at_google(world):
    client = world.clients["google"]
    page = requests.get(
        endpoints.url("GOOGLE_AUTHORIZE_URL"),
        params={
            "client_id": client.client_id,
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
            "scope": "email",
        },
        timeout=10,
    )
    assert page.status_code == 400
    assert "redirect_uri_mismatch" in page.text


def test_refresh_through_google_auth_then_revoke(world):
    flow = flow_for(world)
    url, _ = flow.authorization_url(access_type="offline")
    flow.fetch_token(code=consent(url, account="alice@acme.example")["code"][0])
    first = flow.credentials
    credentials = Credentials(
        token=None,
        refresh_token=first.refresh_token,
        token_uri=endpoints.google_token_url(),
        client_id=first.client_id,
        client_secret=first.client_secret,
    )
    credentials.refresh(Request())
    assert credentials.token
    assert credentials.token != first.token
    revoked = requests.post(endpoints.url("GOOGLE_REVOKE_URL"), params={"token": first.refresh_token}, timeout=10)
    assert revoked.status_code == 200
    assert not Token.objects.filter(kind=Token.Kind.REFRESH, revoked_at__isnull=True).exists()
    again = requests.post(endpoints.url("GOOGLE_REVOKE_URL"), params={"token": first.refresh_token}, timeout=10)
    assert again.status_code == 400
    fresh = Credentials(
        token=None,
        refresh_token=first.refresh_token,
        token_uri=endpoints.google_token_url(),
        client_id=first.client_id,
        client_secret=first.client_secret,
    )
    with pytest.raises(Exception, match="invalid_grant"):
        fresh.refresh(Request())


def test_the_id_token_is_signed_with_a_published_key(world):
    import jwt

    flow = flow_for(world)
    url, _ = flow.authorization_url()
    token = flow.fetch_token(code=consent(url, account="bob@acme.example")["code"][0])
    keys = requests.get(f"{endpoints.url('GOOGLE_TOKEN_URL').rsplit('/', 1)[0]}/v3/certs", timeout=10).json()
    signing_key = jwt.PyJWKSet.from_dict(keys)[jwt.get_unverified_header(token["id_token"])["kid"]]
    claims = jwt.decode(
        token["id_token"], signing_key.key, algorithms=["RS256"], audience=world.clients["google"].client_id
    )
    assert claims["email"] == "bob@acme.example"
    assert claims["iss"] == "https://accounts.google.com"
