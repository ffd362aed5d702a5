"""A person linking their own Zoom or Webex (Cronofy's conferencing service authorizations): the
request an integrator makes, carried in a signed link, and its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

from accounts.models import Application, User

LINK_SALT = "conferencing.linking"
STATE_SALT = "conferencing.linking.state"
LINK_MAX_AGE = 24 * 3600
STATE_MAX_AGE = 3600


@dataclass(frozen=True)
class LinkRequest:
    user_id: int
    application_id: int
    redirect_uri: str
    provider: str  # empty: the person chooses

    def back(self, params: dict[str, str]) -> str:
        separator = "&" if "?" in self.redirect_uri else "?"
        return f"{self.redirect_uri}{separator}{urlencode(params)}"


def link_request_url(*, user: User, application: Application, redirect_uri: str, provider: str) -> str:
    """Where the integrator sends the person: this system's page, which sends them on to the provider."""
    token = signing.dumps(
        {"u": user.pk, "a": application.pk, "r": redirect_uri, "p": provider}, salt=LINK_SALT, compress=True
    )
    return f"{settings.SITE_URL}{reverse('conferencing-authorize')}?{urlencode({'token': token})}"


def link_request_load(token: str, *, salt: str = LINK_SALT, max_age: int = LINK_MAX_AGE) -> LinkRequest | None:
    try:
        data: dict[str, Any] = signing.loads(token, salt=salt, max_age=max_age)
    except signing.BadSignature:
        return None
    return LinkRequest(user_id=data["u"], application_id=data["a"], redirect_uri=data["r"], provider=data["p"])


def state_for(request: LinkRequest, provider: str) -> str:
    return signing.dumps(
        {"u": request.user_id, "a": request.application_id, "r": request.redirect_uri, "p": provider},
        salt=STATE_SALT,
        compress=True,
    )


def state_load(state: str) -> LinkRequest | None:
    return link_request_load(state, salt=STATE_SALT, max_age=STATE_MAX_AGE)


def callback_url(provider: str) -> str:
    """Registered at the provider, exactly: the canonical address, not the request's host."""
    return f"{settings.SITE_URL}{reverse('conferencing-callback', args=[provider])}"
