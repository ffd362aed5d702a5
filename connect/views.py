"""Consent pages: what a person sees between an integrator's `/oauth/authorize` and the redirect back
with a code (or `error=access_denied`). Thin: the flow's rules live in connect/consent.py, what each
mode means in calendars/access_modes.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from allauth.account.models import EmailAddress
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.providers.base.constants import AuthProcess
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Application, User
from accounts.oauth import authorization_code_issue
from calendars.access_modes import modes_allowed_under, policy_for
from calendars.models import CalendarProfile, CalendarService
from calendars.scopes import Flow, ScopeRow, rows_for
from calendars.selectors import calendar_ceiling_for
from connect.consent import (
    APP_SESSION_PREFIX,
    MODES_BY_RANK,
    NO_ACCESS_CHOICE,
    PROVIDER_LOGINS,
    ConsentOptions,
    ConsentRequest,
    ProviderLogin,
    application_of,
    consent_begin,
    consent_end,
    consent_governed_profile,
    consent_hosted_profile,
    consent_load,
    consent_options,
    consent_save,
    identity_proven,
    mode_choices,
    provider_scopes,
)
from core.choices import AccessMode


def _back_to_integrator(request: HttpRequest, consent: ConsentRequest, params: dict[str, str]) -> HttpResponse:
    consent_end(request, consent)
    return HttpResponseRedirect(consent.redirect(params))


def _signed_in(request: HttpRequest) -> User:
    """The person consenting. The helpers below run only after consent_page or consent_complete sent
    anybody not signed in to the login page, so `request.user` is a User there."""
    return cast(User, request.user)


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, f"consent/{template}", context, status=status)


def _provider_label(platform: str | None) -> str:
    login = PROVIDER_LOGINS.get(platform or "")
    return login.label if login else "your calendar"


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
    if consent is None:
        raise ValueError("consent_begin returned neither a consent, an error nor a refusal.")
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
    options = consent_options(consent, application, request.user)
    context = {
        "consent": consent,
        "application": application,
        "options": options,
        "permissions": options.permissions(consent.scopes),
    }
    if options.refusal:
        return _page(request, "unavailable.html", context)

    if options.governed is None and not consent.provider_chosen:
        if not options.platforms:
            consent.platform, consent.provider_chosen = None, True  # only No Access: nothing to choose
        elif request.method == "POST" and request.POST.get("provider") in (*options.platforms, NO_ACCESS_CHOICE):
            chosen = request.POST["provider"]
            consent.platform = None if chosen == NO_ACCESS_CHOICE else chosen
            consent.provider_chosen = True
            consent_save(request, consent)
            return HttpResponseRedirect(request.path)
        else:
            context["platforms"] = [(platform, PROVIDER_LOGINS[platform]) for platform in options.platforms]
            return _page(request, "provider.html", context)

    choices = mode_choices(options, consent)
    if not choices:
        # The calendar platform chosen earlier offers nothing under the ceiling: choose again.
        consent.provider_chosen, consent.platform = False, consent.forced_platform
        consent_save(request, consent)
        return HttpResponseRedirect(request.path)
    if request.method == "POST" and request.POST.get("action") == "continue":
        chosen = request.POST.get("access_mode") or (choices[0] if len(choices) == 1 else "")
        if chosen not in choices:
            context.update(_review_context(consent, application, options, choices), error="Choose how much access.")
            return _page(request, "review.html", context, status=400)
        consent.access_mode = chosen
        consent_save(request, consent)
        if options.governed is not None:
            return _governed(request, consent, options.governed)
        if not policy_for(chosen).needs_provider_authorization:
            return _hosted(request, consent)
        return _to_provider(request, consent)
    context.update(_review_context(consent, application, options, choices))
    return _page(request, "review.html", context)


def _review_context(
    consent: ConsentRequest, application: Application, options: ConsentOptions, choices: list[str]
) -> dict:
    provider_label = _provider_label(options.governed.provider if options.governed else consent.platform)
    modes = []
    for mode in choices:
        policy = policy_for(mode)
        scopes: Sequence[ScopeRow] = ()
        if consent.platform and options.governed is None and policy.needs_provider_authorization:
            scopes = rows_for(Flow.INDIVIDUAL_CONSENT, provider=consent.platform, access_mode=mode)
        modes.append(
            {
                "mode": mode,
                "label": policy.label,
                "policy": policy,
                "facts": policy.facts_for(application=application.name, provider=provider_label),
                "permissions": policy.describe_api_scopes(consent.scopes),
                "withheld": policy.describe_withheld(consent.scopes),
                "scopes": scopes,
            }
        )
    goes_to_provider = options.governed is None and any(
        policy_for(mode).needs_provider_authorization for mode in choices
    )
    return {"modes": modes, "choose": len(modes) > 1, "provider_label": provider_label, "to_provider": goes_to_provider}


def _to_provider(request: HttpRequest, consent: ConsentRequest) -> HttpResponse:
    """The provider's own consent, asking for exactly the chosen mode's scopes, with the app registration
    the mode uses."""
    platform, access_mode = consent.platform, consent.access_mode
    if platform is None or access_mode is None:
        # consent_page comes here only once the person has chosen both.
        raise ValueError("The consent has no calendar platform or access mode to ask the provider for.")
    login = PROVIDER_LOGINS[platform]
    scopes = provider_scopes(platform, access_mode)
    consent.provider_scopes = scopes
    consent.provider_client_id = login.client_id(access_mode)
    consent_save(request, consent)
    return _provider_redirect(
        request,
        login=login,
        client_id=consent.provider_client_id,
        next_url=reverse("consent-complete", args=[consent.id]),
        data={"consent": consent.id},
        scopes=scopes,
    )


def _provider_redirect(
    request: HttpRequest,
    *,
    login: ProviderLogin,
    client_id: str,
    next_url: str,
    data: dict[str, str],
    scopes: list[str],
) -> HttpResponse:
    request.session[APP_SESSION_PREFIX + login.allauth_id] = client_id
    provider = get_social_adapter().get_provider(request, login.allauth_id, client_id=client_id)
    return provider.redirect(
        request, AuthProcess.CONNECT, next_url=next_url, data=data, scope=scopes, auth_params=login.auth_params
    )


def _prove_identity(
    request: HttpRequest, consent: ConsentRequest, service: CalendarService | None
) -> HttpResponse | None:
    """Without a provider's sign-in, the person's identity: the organization's word, or a confirmed email
    address (a confirmation link is sent once; it brings them back here)."""
    user = _signed_in(request)
    if identity_proven(user, service=service):
        return None
    if not consent.verification_sent:
        address = EmailAddress.objects.filter(user=user, email__iexact=user.email).first()
        if address is None:
            address = EmailAddress.objects.create(user=user, email=user.email, primary=True)
        address.send_confirmation(request)
        consent.verification_sent = True
        consent_save(request, consent)
    return _page(request, "verify_email.html", {"consent": consent, "email": user.email})


def _hosted(request: HttpRequest, consent: ConsentRequest) -> HttpResponse:
    """No Access: a hosted calendar, once the person's identity is proven."""
    user = _signed_in(request)
    waiting = _prove_identity(request, consent, calendar_ceiling_for(emails=[user.email]))
    if waiting is not None:
        return waiting
    consent_hosted_profile(request=request, consent=consent, user=user)
    return _issue_code(request, consent)


def _governed(request: HttpRequest, consent: ConsentRequest, service: CalendarService) -> HttpResponse:
    """The organization holds the grant: the person consents only to the application."""
    consent.governed = True
    consent_save(request, consent)
    waiting = _prove_identity(request, consent, service)
    if waiting is not None:
        return waiting
    try:
        consent_governed_profile(request=request, consent=consent, user=_signed_in(request), service=service)
    except ValidationError as error:
        # Nobody at the provider by that address (or the provider cannot say now): no profile is made,
        # and the person learns why rather than finding a calendar that waits for a relink forever.
        return _page(
            request,
            "not_connected.html",
            {"consent": consent, "application": application_of(consent), "reason": " ".join(error.messages)},
            status=400,
        )
    return _issue_code(request, consent)


@require_GET
def consent_complete(request: HttpRequest, consent_id: str) -> HttpResponse:
    """Back from the provider (or from the email confirmation): hand the integrator its code."""
    consent = consent_load(request, consent_id)
    if consent is None:
        return _page(request, "expired.html", {}, status=400)
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('account_login')}?next={request.path}")
    application = application_of(consent)
    if consent.governed:
        options = consent_options(consent, application, request.user)
        if options.governed is None:
            return HttpResponseRedirect(reverse("consent", args=[consent.id]))  # things changed meanwhile
        return _governed(request, consent, options.governed)
    if consent.access_mode and not policy_for(consent.access_mode).needs_provider_authorization:
        return _hosted(request, consent)
    if consent.profile_id is None:
        # The provider refused or the person cancelled there, or the connection is not one they may
        # make here: nothing was connected.
        return _page(
            request,
            "not_connected.html",
            {"consent": consent, "application": application, "reason": consent.not_connected_reason},
            status=400,
        )
    return _issue_code(request, consent)


def _issue_code(request: HttpRequest, consent: ConsentRequest) -> HttpResponse:
    user = _signed_in(request)
    if consent.profile_id is None:
        # What .get(pk=None) raised before the check: the consent never got a profile.
        raise CalendarProfile.DoesNotExist("The consent has no calendar profile to issue a code for.")
    profile = CalendarProfile.objects.get(pk=consent.profile_id, user=user)
    code = authorization_code_issue(
        application=application_of(consent),
        user=user,
        scopes=consent.scopes,
        redirect_uri=consent.redirect_uri,
        profile_id=profile.pk,
    )
    return _back_to_integrator(request, consent, {"code": code})


#
# Relinking a profile, or changing its mode through the provider's consent
#


def relink_mode(profile: CalendarProfile, user: User, wanted: str | None) -> str | None:
    """The mode a relink asks the provider for: the one wanted (or the profile's), never above the
    organization's ceiling; None when no provider mode is left (the organization allows No Access only)."""
    ceiling = calendar_ceiling_for(emails=[user.email, profile.profile_name])
    mode = wanted if wanted in AccessMode.values else profile.access_mode
    at_most = [m for m in (mode, *MODES_BY_RANK) if policy_for(m).rank <= policy_for(mode).rank]
    allowed = modes_allowed_under(ceiling.access_mode if ceiling else None, at_most)
    return next((m for m in allowed if policy_for(m).needs_provider_authorization), None)


def _after_relink(request: HttpRequest, profile_id: str) -> str:
    """Back to the person's own page when they came from it, otherwise to the relink page."""
    own_page = reverse("my-calendars")
    return own_page if request.POST.get("next") == own_page else reverse("profile-relink", args=[profile_id])


@require_http_methods(["GET", "POST"])
def profile_relink(request: HttpRequest, profile_id: str) -> HttpResponse:
    """Cronofy's `profile_relink_url`: the owner signs in again at the provider, in the same mode (or the
    one asked for with `mode`), never above what their organization allows."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect(f"{reverse('account_login')}?next={request.path}")
    profile = CalendarProfile.objects.filter(public_id=profile_id, user=request.user).first()
    if profile is None or profile.platform is None:
        return _page(request, "expired.html", {}, status=404)
    provider_label = _provider_label(profile.platform)
    if profile.calendar_service_id is not None:
        return _page(request, "relink.html", {"profile": profile, "managed_by": profile.organization})
    mode = relink_mode(profile, request.user, request.POST.get("mode") or request.GET.get("mode"))
    context = {"profile": profile, "provider_label": provider_label, "mode": mode}
    if mode is not None:
        context["mode_label"] = policy_for(mode).label
    if request.method == "GET" or mode is None:
        return _page(request, "relink.html", context)
    login = PROVIDER_LOGINS[profile.platform]
    client_id = login.client_id(mode)
    return _provider_redirect(
        request,
        login=login,
        client_id=client_id,
        next_url=_after_relink(request, profile_id),
        data={"relink": profile.public_id, "mode": mode, "client_id": client_id},
        scopes=provider_scopes(profile.platform, mode),
    )
