"""Google Admin SDK Directory API v1 (admin.googleapis.com/admin/directory/v1): `domains.list`, answered
only with the domain scope and only to an administrator of the customer (domain-wide delegation acts
as a named admin), as Google does."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from sandbox.models import Provider, Token
from sandbox.views.common import ApiError, access_token, endpoint, google_error

DOMAIN_SCOPES = {
    "https://www.googleapis.com/auth/admin.directory.domain.readonly",
    "https://www.googleapis.com/auth/admin.directory.domain",
}


def _administrator(request: HttpRequest) -> Token:
    token = access_token(request, Provider.GOOGLE)
    if not DOMAIN_SCOPES & set(token.scopes):
        raise ApiError(
            google_error(
                403,
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
                status_name="PERMISSION_DENIED",
            )
        )
    if token.person is None or not token.person.is_admin or token.person.tenant.provider != Provider.GOOGLE:
        raise ApiError(google_error(403, "forbidden", "Not Authorized to access this resource/api"))
    return token


@endpoint(Provider.GOOGLE, "directory.domains.list")
@require_GET
def domains_list(request: HttpRequest, customer: str) -> HttpResponse:
    token = _administrator(request)
    tenant = token.person.tenant
    if customer not in ("my_customer", tenant.external_id):
        raise ApiError(google_error(403, "forbidden", "Not Authorized to access this resource/api"))
    domains = [
        {
            "kind": "admin#directory#domain",
            "etag": '"sandbox"',
            "domainName": name,
            "isPrimary": index == 0,
            "verified": True,
            "creationTime": "1577836800000",
            "domainAliases": [],
        }
        for index, name in enumerate(tenant.domains)
    ]
    return JsonResponse({"kind": "admin#directory#domains", "etag": '"sandbox"', "domains": domains})
