"""Helpers for end-to-end tests: a person's browser as a requests session that follows redirects
across this system and the sandbox providers, stopping at the integrator."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlparse

import requests

from accounts.models import Organization, User
from calendars.choices import CalendarProvider, profile_provider_name
from calendars.models import CalendarService
from calendars.scopes import Flow, requested_scopes
from calendars.services import calendar_profile_connect, calendar_service_authorize_google, calendar_service_connect
from conftest import PASSWORD, vouched
from sandbox.models import DelegationGrant, Provider, ServiceAccount
from sandbox.testing import World, mint, mint_refresh

INTEGRATOR_REDIRECT = "https://integrator.example/callback"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    return dict(HIDDEN.findall(html))


@dataclass
class Browser:
    base: str
    session: requests.Session = field(default_factory=requests.Session)
    visited: list[str] = field(default_factory=list)

    def go(self, method: str, url: str, **kwargs: object) -> requests.Response:
        """One request, then redirects followed by hand until a page, or the integrator's callback."""
        url = urljoin(self.base, url)
        response = self.session.request(method, url, allow_redirects=False, timeout=20, **kwargs)
        self.visited.append(url)
        while response.is_redirect:
            location = urljoin(response.url, response.headers["Location"])
            self.visited.append(location)
            if location.startswith(INTEGRATOR_REDIRECT):
                return response
            response = self.session.get(location, allow_redirects=False, timeout=20)
        return response

    def submit(self, page: requests.Response, data: dict[str, object], action: str | None = None) -> requests.Response:
        """Post a page's form: its hidden fields (CSRF token included) plus `data`."""
        match = re.search(r'<form[^>]*method="post"(?:[^>]*action="([^"]*)")?', page.text)
        target = action or (match.group(1) if match and match.group(1) else page.url)
        return self.go(
            "POST", urljoin(page.url, target), data={**hidden_fields(page.text), **data}, headers={"Referer": page.url}
        )

    def sign_in(self, page: requests.Response, email: str) -> requests.Response:
        assert "/accounts/login/" in page.url, page.url
        return self.submit(page, {"login": email, "password": PASSWORD})


def callback_params(response: requests.Response) -> dict[str, str]:
    location = response.headers["Location"]
    assert location.startswith(INTEGRATOR_REDIRECT), location
    return {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}


def sandbox_authorize_query(browser: Browser) -> dict[str, list[str]]:
    """What this system asked the provider for: the query of its redirect to the provider's authorize URL."""
    for url in browser.visited:
        if "/sandbox/google/o/oauth2/v2/auth" in url or "/oauth2/v2.0/authorize" in url:
            query = parse_qs(urlparse(url).query)
            if "client_id" in query:
                return query
    raise AssertionError("No provider authorization request was made.")


def connected_profile(world, user, person: str, mode: str = "read_write"):
    """A profile connected as Individual Connect leaves it (tokens minted at the sandbox for the mode's
    exact scopes), before its first sync."""
    who = world.people[person]
    platform = "google" if who.tenant.provider == Provider.GOOGLE else "microsoft"
    scopes = requested_scopes(Flow.INDIVIDUAL_CONSENT, provider=platform, access_mode=mode)
    credentials = {
        "kind": "google_user" if platform == "google" else "microsoft_delegated",
        "access_token": mint(world, person, scopes),
        "refresh_token": mint_refresh(world, person, scopes),
        "scopes": scopes,
        "expires_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
    }
    return calendar_profile_connect(
        user=user,
        provider_name=profile_provider_name(platform=platform, access_mode=mode),
        profile_name=who.email,
        provider_account_id=who.external_id,
        credentials=credentials,
        granted_scopes=scopes,
    )


#
# Acme's Google Workspace, as its IT admin Bob connects it
#


def acme_workspace(acme: Organization, bob: User, mode: str) -> CalendarService:
    """Acme's Google Workspace (acme.example) in this mode, its domain proven: Acme's mode counts from
    the proof on."""
    return vouched(
        calendar_service_connect(
            organization=acme,
            provider=CalendarProvider.GOOGLE,
            access_mode=mode,
            domains=["acme.example"],
            connected_by=bob,
        )
    )


def delegate_acme_workspace(
    world: World, service: CalendarService, service_account: ServiceAccount, *, test_subject: str, actor: User
) -> None:
    """What Acme's admin does in Google's Admin console (delegates the scopes of the service's mode to
    the product's service account), then the product's check of the key and the provisioning."""
    DelegationGrant.objects.create(
        tenant=world.tenants["acme"],
        service_account=service_account,
        scopes=requested_scopes(Flow.ORGANIZATION_CALENDAR, provider="google", access_mode=service.access_mode),
    )
    calendar_service_authorize_google(service=service, key=service_account.key, test_subject=test_subject, actor=actor)
