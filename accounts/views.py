"""The page where a person accepts an emailed invitation to join an organization."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from accounts.models import User
from accounts.services import organization_invitation_accept, organization_invitation_for


@login_required
def organization_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = organization_invitation_for(token=token)
    if invitation is None:
        raise Http404("This invitation does not exist, has been used or has expired.")
    error = ""
    if request.method == "POST":
        try:
            # login_required above: the caller is a signed-in User.
            organization_invitation_accept(invitation=invitation, user=cast(User, request.user))
        except ValidationError as refusal:
            error = " ".join(refusal.messages)
        else:
            messages.success(request, f"You joined {invitation.organization.name}.")
            return HttpResponseRedirect("/")
    return render(
        request, "accounts/invitation.html", {"invitation": invitation, "error": error}, status=400 if error else 200
    )
