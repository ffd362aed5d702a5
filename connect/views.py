"""Consent pages: what a person sees between an integrator's `/oauth/authorize` and the redirect back
with a code (or `error=access_denied`). Thin: the flow's rules live in connect/consent.py."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts import api_scopes
from accounts.oauth import authorization_code_issue
from calendars.access_modes import policy_for
from calendars.choices import CalendarProvider
from calendars.models import CalendarProfile
from calendars.scopes import Flow, rows_for
from connect.consent import (
    ALLAUTH_PROVIDER,
    ConsentRequest,
    application_of,
    consent_begin,
    consent_end,
    consent_hosted_profile,
    consent_load,
    consent_save,
    mode_choices,
    provider_scopes,
)
from core.choices import AccessMode

PLATFORM_NAMES = {CalendarProvider.GOOGLE: "Google", CalendarProvider.MICROSOFT: "Microsoft 365"}


def _back_to_integrator(request: HttpRequest, consent: ConsentRequest, params: dict[str, str]) -> HttpResponse:
    consent_end(request, consent)
    return HttpResponseRedirect(consent.redirect(params))


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"consent/{template}", context, status=status)


@require_GET
def oauth_authorize(request: HttpRequest) -> HttpResponse:
    """Cronofy's `GET /oauth/authorize`: check the request, then walk the person through consent."""
    consent, error, refused = consent_begin(request, request.GET.dict())
    if error is not None:
        return _page(request, "error.html", {"error": error}, status=400)
    if refused is not None:
        error_code, _, description = refused.failure.partition(":")
        params = {"error": error_code, **({"error_description": description} if description else {})}
        return HttpResponseRedirect(refused.redirect(params))
    if consent.avoid_linking and request.user.is_authenticated:
        # Never link silently to whoever last signed in with this browser.
        logout(request)
        consent_save(request, consent)
    return HttpResponseRedirect(reverse("consent", args=[consent.id]))


@require_http_methods(["GET", "POST"])
def consent_page(request: HttpRequest, consent_id: str) -> HttpResponse:
    consent = consent_load(request, consent_id)
    if consent is None:
        return _page(request, "expired.html", {}, status=400)
    if request.method == "POST" and request.POST.get("action") == "decline":
        return _back_to_integrator(request, consent, {"error": "access_denied"})
    if not request.user.is_authenticated:
        login = reverse("account_login")
        return HttpResponseRedirect(f"{login}?next={request.path}")
    application = application_of(consent)
    context = {"consent": consent, "application": application, "permissions": api_scopes.describe(consent.scopes)}

    if not consent.provider_chosen:
        if request.method == "POST" and request.POST.get("provider") in ALLAUTH_PROVIDER:
            consent.platform = request.POST["provider"]
            consent.provider_chosen = True
            consent_save(request, consent)
            return HttpResponseRedirect(request.path)
        return _page(request, "provider.html", context)

    choices = mode_choices(consent, application)
    if request.method == "POST" and request.POST.get("action") == "continue":
        chosen = request.POST.get("access_mode") or (choices[0] if len(choices) == 1 else "")
        if chosen not in choices:
            context.update(_review_context(consent, choices), error="Choose how much access to give.")
            return _page(request, "review.html", context, status=400)
        consent.access_mode = chosen
        consent_save(request, consent)
        if chosen == AccessMode.NO_ACCESS:
            return _hosted(request, consent)
        return _to_provider(request, consent)
    context.update(_review_context(consent, choices))
    return _page(request, "review.html", context)


def _review_context(consent: ConsentRequest, choices: list[str]) -> dict:
    modes = []
    for mode in choices:
        policy = policy_for(mode)
        rows = (
            rows_for(Flow.INDIVIDUAL_CONSENT, provider=consent.platform, access_mode=mode) if consent.platform else ()
        )
        modes.append({"mode": mode, "label": AccessMode(mode).label, "policy": policy, "scopes": rows})
    return {
        "modes": modes,
        "choose": len(modes) > 1,
        "sees_events": api_scopes.READ_EVENTS in api_scopes.expand(consent.scopes),
        "provider_label": PLATFORM_NAMES.get(consent.platform, "your calendar"),
    }


def _to_provider(request: HttpRequest, consent: ConsentRequest) -> HttpResponse:
    """The provider's own consent, asking for exactly the chosen mode's scopes."""
    scopes = provider_scopes(consent.platform, consent.access_mode)
    consent.provider_scopes = scopes
    consent_save(request, consent)
    provider = get_social_adapter().get_provider(request, ALLAUTH_PROVIDER[consent.platform])
    auth_params = (
        {"access_type": "offline", "prompt": "consent"}
        if consent.platform == CalendarProvider.GOOGLE
        else {"prompt": "select_account"}
    )
    return provider.redirect(
        request,
        AuthProcess.CONNECT,
        next_url=reverse("consent-complete", args=[consent.id]),
        data={"consent": consent.id},
        scope=scopes,
        auth_params=auth_params,
    )


def _hosted(request: HttpRequest, consent: ConsentRequest) -> HttpResponse:
    """No Access: the email address is the identity, so it must be proven before the profile exists."""
    address = EmailAddress.objects.filter(user=request.user, email__iexact=request.user.email).first()
    if address is None or not address.verified:
        if not consent.verification_sent:
            if address is None:
                address = EmailAddress.objects.create(user=request.user, email=request.user.email, primary=True)
            address.send_confirmation(request)
            consent.verification_sent = True
            consent_save(request, consent)
        return _page(request, "verify_email.html", {"consent": consent, "email": request.user.email})
    consent_hosted_profile(request=request, consent=consent, user=request.user)
    return _issue_code(request, consent)


@require_GET
def consent_complete(request: HttpRequest, consent_id: str) -> HttpResponse:
    """Back from the provider (or from the email confirmation): hand the integrator its code."""
    consent = consent_load(request, consent_id)
    if consent is None:
        return _page(request, "expired.html", {}, status=400)
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('account_login')}?next={request.path}")
    if consent.access_mode == AccessMode.NO_ACCESS:
        return _hosted(request, consent)
    if consent.profile_id is None:
        # The provider refused or the person cancelled there, or the calendar account belongs to
        # someone else here: nothing was connected.
        return _page(
            request, "not_connected.html", {"consent": consent, "application": application_of(consent)}, status=400
        )
    return _issue_code(request, consent)


def _issue_code(request: HttpRequest, consent: ConsentRequest) -> HttpResponse:
    profile = CalendarProfile.objects.get(pk=consent.profile_id, user=request.user)
    code = authorization_code_issue(
        application=application_of(consent),
        user=request.user,
        scopes=consent.scopes,
        redirect_uri=consent.redirect_uri,
        profile_id=profile.pk,
    )
    return _back_to_integrator(request, consent, {"code": code})


@require_http_methods(["GET", "POST"])
def profile_relink(request: HttpRequest, profile_id: str) -> HttpResponse:
    """Cronofy's `profile_relink_url`: the owner signs in again at the provider, same mode, same scopes."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('account_login')}?next={request.path}")
    profile = CalendarProfile.objects.filter(public_id=profile_id, user=request.user).first()
    if profile is None or profile.platform is None:
        return _page(request, "expired.html", {}, status=404)
    if request.method == "GET":
        return _page(
            request, "relink.html", {"profile": profile, "provider_label": PLATFORM_NAMES.get(profile.platform, "")}
        )
    provider = get_social_adapter().get_provider(request, ALLAUTH_PROVIDER[profile.platform])
    auth_params = (
        {"access_type": "offline", "prompt": "consent"}
        if profile.platform == CalendarProvider.GOOGLE
        else {"prompt": "select_account"}
    )
    return provider.redirect(
        request,
        AuthProcess.CONNECT,
        next_url=reverse("profile-relink", args=[profile_id]),
        data={"relink": profile.public_id},
        scope=provider_scopes(profile.platform, profile.access_mode),
        auth_params=auth_params,
    )
