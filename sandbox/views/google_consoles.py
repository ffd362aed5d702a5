"""What a Workspace administrator does in Google's own consoles, for the demo: the Cloud console's
service accounts and their JSON keys (console.cloud.google.com, IAM & Admin, Service accounts) and the
Admin console's domain-wide delegation (admin.google.com, Security, API controls, Domain-wide
delegation), where a client id is allowed OAuth scopes for the Workspace's users.

Like every sandbox page a person acts on (the account chooser, Microsoft's admin consent), they open to
a person of the sandbox world, picked on a sign-in page: here an administrator of a Google Workspace,
remembered in the browser's session. The delegation page acts only on that administrator's Workspace.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sandbox.models import DelegationGrant, Person, Provider, ServiceAccount
from sandbox.services import DelegationRefused, delegation_grant, delegation_remove

SESSION_KEY = "sandbox:google-console-admin"


def _workspace_admins():
    return Person.objects.filter(
        tenant__provider=Provider.GOOGLE, kind=Person.Kind.USER, is_admin=True, suspended=False, deleted_at=None
    ).select_related("tenant")


def _signed_in(request: HttpRequest) -> Person | None:
    person_id = request.session.get(SESSION_KEY)
    return _workspace_admins().filter(pk=person_id).first() if person_id else None


def _sign_in_first(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{reverse('sandbox:google-console-signin')}?{urlencode({'next': request.path})}")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    """Google's account chooser for the consoles: only a Workspace administrator gets in."""
    target = request.POST.get("next") or request.GET.get("next") or reverse("sandbox:google-cloud-service-accounts")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("sandbox:google-cloud-service-accounts")
    if request.method == "POST":
        if request.POST.get("account") == "":
            request.session.pop(SESSION_KEY, None)
        chosen = _workspace_admins().filter(email__iexact=request.POST.get("account", "")).first()
        if chosen is not None:
            request.session[SESSION_KEY] = chosen.pk
            return HttpResponseRedirect(target)
    return render(
        request,
        "sandbox/google_console_signin.html",
        {"admins": _workspace_admins(), "next": target, "provider_name": "Google"},
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return HttpResponseRedirect(reverse("sandbox:google-console-signin"))


@require_GET
def service_accounts(request: HttpRequest) -> HttpResponse:
    """IAM & Admin, Service accounts: each account's email, its OAuth 2 client id (what the Admin
    console's delegation asks for) and its key."""
    admin = _signed_in(request)
    if admin is None:
        return _sign_in_first(request)
    accounts = ServiceAccount.objects.select_related("client").order_by("client_email")
    return render(
        request,
        "sandbox/google_cloud_service_accounts.html",
        {"admin": admin, "accounts": accounts, "provider_name": "Google Cloud"},
    )


@require_GET
def service_account_key(request: HttpRequest, unique_id: str) -> HttpResponse:
    """Keys, Add key, JSON: the key file, as the Cloud console downloads it (`<project>-<key id>.json`)."""
    if _signed_in(request) is None:
        return _sign_in_first(request)
    account = get_object_or_404(ServiceAccount, unique_id=unique_id)
    key = account.key
    response = HttpResponse(json.dumps(key, indent=2) + "\n", content_type="application/json")
    filename = f"{key.get('project_id', 'project')}-{account.private_key_id[:12]}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
def domain_wide_delegation(request: HttpRequest) -> HttpResponse:
    """Security, API controls, Domain-wide delegation: the API clients allowed to act for this
    Workspace's users, and with which scopes. Adding a client id that is there already overwrites its
    scopes, as Google's "Overwrite existing client ID" does."""
    admin = _signed_in(request)
    if admin is None:
        return _sign_in_first(request)
    tenant = admin.tenant
    form = {"client_id": "", "scopes": ""}
    editing = DelegationGrant.objects.filter(
        tenant=tenant, service_account__unique_id=request.GET.get("edit", "")
    ).first()
    if editing is not None:
        form = {"client_id": editing.service_account.unique_id, "scopes": ",".join(editing.scopes)}
    if request.method == "POST":
        action = request.POST.get("action", "authorize")
        if action == "delete":
            delegation_remove(tenant=tenant, client_id=request.POST.get("client_id", ""))
            messages.success(request, "The client's domain-wide delegation was deleted.")
            return HttpResponseRedirect(request.path)
        form = {"client_id": request.POST.get("client_id", "").strip(), "scopes": request.POST.get("scopes", "")}
        try:
            grant = delegation_grant(tenant=tenant, client_id=form["client_id"], scopes=form["scopes"])
        except DelegationRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, f"Client {grant.service_account.unique_id} authorized.")
            return HttpResponseRedirect(request.path)
    grants = DelegationGrant.objects.filter(tenant=tenant).select_related("service_account__client")
    return render(
        request,
        "sandbox/google_admin_delegation.html",
        {"admin": admin, "tenant": tenant, "grants": grants, "form": form, "provider_name": "Google Admin"},
    )
