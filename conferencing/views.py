"""The pages a person sees linking their own Zoom or Webex: thin; the rules are in `conferencing.linking`
and `conferencing.services`."""

from __future__ import annotations

import logging
from typing import cast

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Application, User
from calendars.providers.base import ProviderError
from conferencing.linking import LinkRequest, callback_url, link_request_load, state_for, state_load
from conferencing.models import PERSONAL_PROVIDERS, ConferencingProvider
from conferencing.providers import personal_authorize_url
from conferencing.services import conferencing_profile_link_from_code

logger = logging.getLogger(__name__)


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"conferencing/{template}", context, status=status)


def _wrong_person(request: HttpRequest, link: LinkRequest) -> HttpResponse | None:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.pk != link.user_id:
        return _page(request, "wrong_account.html", {}, status=403)
    return None


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    link = link_request_load(request.GET.get("token", ""))
    if link is None:
        return _page(request, "expired.html", {}, status=400)
    refused = _wrong_person(request, link)
    if refused is not None:
        return refused
    if request.method == "POST" and request.POST.get("action") == "decline":
        return HttpResponseRedirect(link.back({"error": "access_denied"}))
    provider = link.provider or (request.POST.get("provider", "") if request.method == "POST" else "")
    if provider not in PERSONAL_PROVIDERS:
        application = Application.objects.filter(pk=link.application_id).first()
        choices = [(value, ConferencingProvider(value).label) for value in PERSONAL_PROVIDERS]
        return _page(request, "choose.html", {"application": application, "choices": choices})
    return HttpResponseRedirect(
        personal_authorize_url(provider, redirect_uri=callback_url(provider), state=state_for(link, provider))
    )


@require_GET
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    link = state_load(request.GET.get("state", ""))
    if link is None or provider not in PERSONAL_PROVIDERS:
        return _page(request, "expired.html", {}, status=400)
    refused = _wrong_person(request, link)
    if refused is not None:
        return refused
    user = cast(User, request.user)  # _wrong_person sent anybody not signed in as the link's person away
    code = request.GET.get("code", "")
    if request.GET.get("error") or not code:
        return HttpResponseRedirect(link.back({"error": "access_denied"}))
    try:
        profile = conferencing_profile_link_from_code(
            user=user, provider=provider, code=code, redirect_uri=callback_url(provider)
        )
    except (ValidationError, ProviderError) as error:
        logger.warning("Linking %s for account %s failed: %s", provider, user.public_id, error)
        return HttpResponseRedirect(link.back({"error": "access_denied"}))
    return HttpResponseRedirect(link.back({"last_linked_profile_id": profile.public_id}))
