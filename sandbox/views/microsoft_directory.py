"""Microsoft Graph's directory: `GET /organization` with the tenant's `verifiedDomains`, for tokens with
Organization.Read.All (or a broader directory permission)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.models import Token
from sandbox.views.common import ApiError, graph_error

ORGANIZATION_READERS = {"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All"}


def organization(request: HttpRequest, token: Token) -> HttpResponse:
    if not ORGANIZATION_READERS & set(token.scopes):
        raise ApiError(
            graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        )
    tenant = token.person.tenant if token.person else token.tenant
    if tenant is None:
        raise ApiError(graph_error(401, "InvalidAuthenticationToken", "Access token validation failure."))
    domains = [
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": index == 0,
            "isInitial": False,
            "name": name,
            "type": "Managed",
        }
        for index, name in enumerate(tenant.domains)
    ]
    domains.append(
        {
            "capabilities": "Email, OfficeCommunicationsOnline",
            "isDefault": False,
            "isInitial": True,
            "name": tenant.name.lower().replace(" ", "") + ".onmicrosoft.com",
            "type": "Managed",
        }
    )
    base = request.build_absolute_uri(request.path.split("/v1.0/")[0] + "/v1.0/")
    return JsonResponse(
        {
            "@odata.context": f"{base}$metadata#organization",
            "value": [
                {"id": tenant.external_id, "displayName": tenant.name, "tenantType": "AAD", "verifiedDomains": domains}
            ],
        }
    )
