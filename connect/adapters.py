"""allauth adapters: sign-in and email confirmation lead back into a consent flow in progress; a
provider's refusal ends the flow with `error=access_denied` at the integrator; provider accounts only
connect calendars (they never create accounts by themselves)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from connect.consent import APP_SESSION_PREFIX, consent_end, consent_last_ended, pending_consent

# allauth's notices that a consent flow makes redundant: the consent pages say what is happening, and
# the notices would otherwise surface later on whatever page of ours the person opens next.
NOTICES_SILENT_DURING_CONSENT = ("socialaccount/messages/", "account/messages/logged_in", "account/messages/logged_out")


class AccountAdapter(DefaultAccountAdapter):
    def add_message(
        self,
        request: HttpRequest,
        level: int,
        message_template: str | None = None,
        message_context: dict[str, Any] | None = None,
        extra_tags: str = "",
        message: str | None = None,
    ) -> None:
        if (
            message_template
            and message_template.startswith(NOTICES_SILENT_DURING_CONSENT)
            and pending_consent(request) is not None
        ):
            return
        super().add_message(request, level, message_template, message_context, extra_tags, message)

    def get_email_verification_redirect_url(self, email_address: Any) -> str | None:
        consent = pending_consent(self.request)
        if consent is not None:
            return reverse("consent-complete", args=[consent.id])
        return super().get_email_verification_redirect_url(email_address)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        return False

    def get_app(self, request: HttpRequest, provider: str, client_id: str | None = None) -> Any:
        # A provider with several app registrations (Microsoft's Read-Write and least-privileged
        # Free/Busy ones): the callback exchanges the code with the registration the login started with.
        if client_id is None and request is not None and hasattr(request, "session"):
            client_id = request.session.get(APP_SESSION_PREFIX + provider) or None
        return super().get_app(request, provider, client_id=client_id)

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: str | None = None,
        exception: Exception | None = None,
        extra_context: dict | None = None,
    ) -> None:
        consent = pending_consent(request)
        if consent is not None:
            consent_end(request, consent)
            raise ImmediateHttpResponse(HttpResponseRedirect(consent.redirect({"error": "access_denied"})))
        # No flow in progress: typically the person cancelled at the provider (the flow ended and the
        # application was told), pressed Back and answered the provider's page again. The provider's
        # answer belongs to nothing now; say so, and offer to start again or to return.
        ended = consent_last_ended(request)
        if ended is not None:
            raise ImmediateHttpResponse(
                render(
                    request,
                    "consent/provider_answer_unexpected.html",
                    {
                        "application": ended.application,
                        "restart_url": f"{reverse('oauth-authorize')}?{ended.authorize_query}",
                        "back_url": ended.back_url,
                    },
                    status=400,
                )
            )
        super().on_authentication_error(
            request, provider, error=error, exception=exception, extra_context=extra_context
        )
