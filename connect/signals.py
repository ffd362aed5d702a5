"""Signal receivers: allauth's, handed straight to the consent service, and a person's offboarding,
which ends every application's access."""

from __future__ import annotations

from typing import Any

from allauth.socialaccount.signals import social_account_added, social_account_updated
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.lifecycle import person_offboarded
from accounts.models import User
from accounts.oauth import grants_revoke_all_of_user
from connect.consent import consent_load, consent_profile_from_provider, profile_relink_from_provider


@receiver(person_offboarded)
def applications_lose_access(sender: Any, user: User, reason: str, **kwargs: Any) -> None:
    """Every integrator's grant and token of an offboarded person ends (their API calls answer 401)."""
    grants_revoke_all_of_user(user=user, reason=reason)


@receiver(social_account_added)
@receiver(social_account_updated)
def profile_from_provider_consent(request: HttpRequest, sociallogin: Any, **kwargs: Any) -> None:
    """A provider consent that belongs to one of our consent flows becomes a calendar profile."""
    data = (sociallogin.state or {}).get("data") or {}
    if data.get("relink") and request.user.is_authenticated:
        _relink(request, request.user, sociallogin, data["relink"])
        return
    consent = consent_load(request, data.get("consent", "")) if data.get("consent") else None
    if consent is None or not request.user.is_authenticated:
        return
    if sociallogin.user is not None and sociallogin.user.pk and sociallogin.user.pk != request.user.pk:
        return  # this calendar account is someone else's here; allauth refuses the connection
    token = sociallogin.token
    if token is None:
        return
    account = sociallogin.account
    extra = account.extra_data or {}
    email = extra.get("email") or extra.get("mail") or extra.get("userPrincipalName") or request.user.email
    # Google reports the scopes the person actually granted on the callback (they may untick some);
    # Microsoft's consent is all or nothing.
    granted = request.GET.get("scope", "").split() or list(consent.provider_scopes or [])
    consent_profile_from_provider(
        request=request,
        consent=consent,
        user=request.user,
        provider=account.provider,
        uid=str(account.uid),
        email=email,
        extra_data=extra,
        access_token=token.token,
        refresh_token=token.token_secret or "",
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
        granted_scopes=granted,
    )


def _relink(request: HttpRequest, user: User, sociallogin: Any, profile_id: str) -> None:
    if sociallogin.user is not None and sociallogin.user.pk and sociallogin.user.pk != user.pk:
        return
    token = sociallogin.token
    if token is None:
        return
    data = (sociallogin.state or {}).get("data") or {}
    profile_relink_from_provider(
        user=user,
        profile_id=profile_id,
        uid=str(sociallogin.account.uid),
        access_token=token.token,
        refresh_token=token.token_secret or "",
        expires_at=token.expires_at.isoformat() if token.expires_at else None,
        granted_scopes=request.GET.get("scope", "").split(),
        access_mode=data.get("mode"),
        client_id=data.get("client_id", ""),
    )
