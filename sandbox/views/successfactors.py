"""SAP SuccessFactors: the OAuth 2.0 SAML bearer grant (`/oauth/token`) and the OData v2 `User` entity
(`/odata/v2/User`) with `$select`, `$expand=manager`, `$filter` on status and `lastModifiedDateTime`,
and server-side paging by `__next`.

An OAuth client application is registered in a company with an X.509 certificate; the client signs a
SAML 2.0 assertion naming an API user, and the token it gets acts as that user. The user's role
decides what OData may read (here: `api_access`). As SuccessFactors does, a query without a status
filter returns active users only.
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from lxml import etree  # type: ignore[import-untyped]  # no stubs installed (lxml-stubs)
from signxml import XMLVerifier
from signxml.exceptions import InvalidInput, InvalidSignature

from sandbox import tokens
from sandbox.models import HrUser, OAuthClient, Provider, Tenant, Token
from sandbox.views.common import ApiError, access_token, endpoint, oauth_error, odata_error

SAML_BEARER = "urn:ietf:params:oauth:grant-type:saml2-bearer"
AUDIENCE = "www.successfactors.com"
TOKEN_SECONDS = 86399
PAGE_SALT = "sandbox.successfactors.page"
DEFAULT_PAGE, MAX_PAGE = 1000, 1000
NS = {"saml2": "urn:oasis:names:tc:SAML:2.0:assertion"}
FIELDS = (
    "userId",
    "username",
    "status",
    "email",
    "firstName",
    "lastName",
    "displayName",
    "department",
    "title",
    "lastModifiedDateTime",
    "manager",
)
STATUS_CODES = {
    "t": HrUser.Status.ACTIVE,
    "f": HrUser.Status.INACTIVE,
    "active": HrUser.Status.ACTIVE,
    "inactive": HrUser.Status.INACTIVE,
}


def _assertion_refused(description: str) -> JsonResponse:
    return oauth_error(401, "invalid_grant", description)


def _verified_assertion(raw: str, client: OAuthClient) -> etree._Element:
    try:
        document = base64.b64decode(raw, validate=True)
    except ValueError:
        raise ApiError(_assertion_refused("The assertion is not base64.")) from None
    try:
        verified = XMLVerifier().verify(document, x509_cert=client.x509_certificate)
    except InvalidSignature as error:  # the digest, the signature or the certificate does not match
        raise ApiError(
            _assertion_refused(f"The SAML assertion's signature is invalid ({type(error).__name__}).")
        ) from None
    except (InvalidInput, etree.XMLSyntaxError, ValueError) as error:
        raise ApiError(_assertion_refused(f"Unable to validate the SAML assertion: {error}")) from None
    if isinstance(verified, list):  # only when more than one signed reference is expected, never asked here
        raise ApiError(_assertion_refused("The SAML assertion has more than one signed reference."))
    return verified.signed_xml


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path, NS)
    return (found.text or "").strip() if found is not None else ""


def _saml_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@endpoint(Provider.SUCCESSFACTORS, "token")
@require_http_methods(["POST"])
def token(request: HttpRequest) -> HttpResponse:
    if request.POST.get("grant_type") != SAML_BEARER:
        return oauth_error(400, "unsupported_grant_type", "Only the SAML 2.0 bearer grant is supported.")
    company = Tenant.objects.filter(
        provider=Provider.SUCCESSFACTORS, external_id=request.POST.get("company_id", "")
    ).first()
    if company is None:
        return oauth_error(400, "invalid_request", "Invalid company ID.")
    client = OAuthClient.objects.filter(
        provider=Provider.SUCCESSFACTORS, tenant=company, client_id=request.POST.get("client_id", "")
    ).first()
    if client is None or not client.x509_certificate:
        return oauth_error(401, "invalid_client", "Invalid client ID (API key) for this company.")
    assertion = _verified_assertion(request.POST.get("assertion", ""), client)
    now = timezone.now()
    conditions = assertion.find("saml2:Conditions", NS)
    not_after = _saml_time(conditions.get("NotOnOrAfter", "")) if conditions is not None else None
    if not_after is None or not_after <= now:
        return _assertion_refused("The SAML assertion has expired.")
    if _text(assertion, "saml2:Conditions/saml2:AudienceRestriction/saml2:Audience") != AUDIENCE:
        return _assertion_refused(f"The SAML assertion's audience must be {AUDIENCE}.")
    api_keys = [
        (value.text or "").strip()
        for attribute in assertion.findall("saml2:AttributeStatement/saml2:Attribute", NS)
        if attribute.get("Name") == "api_key"
        for value in attribute.findall("saml2:AttributeValue", NS)
    ]
    if api_keys != [client.client_id]:
        return _assertion_refused("The SAML assertion's api_key does not name this client.")
    user = HrUser.objects.filter(tenant=company, user_id=_text(assertion, "saml2:Subject/saml2:NameID")).first()
    if user is None or user.status != HrUser.Status.ACTIVE:
        return _assertion_refused("The user the SAML assertion names is unknown or inactive.")
    value, _ = tokens.issue(
        kind=Token.Kind.ACCESS,
        provider=Provider.SUCCESSFACTORS,
        client=client,
        tenant=company,
        hr_user=user,
        scopes=[],
        seconds=TOKEN_SECONDS,
    )
    return JsonResponse({"access_token": value, "token_type": "Bearer", "expires_in": TOKEN_SECONDS})


def odata_date(moment: datetime) -> str:
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def _filter(expression: str) -> tuple[Q, bool]:
    """The supported `$filter`: clauses joined by `and` on status (`in`, `eq`) and
    lastModifiedDateTime (`gt`, `ge`). Returns the query and whether status was filtered."""
    query, on_status = Q(), False
    for clause in re.split(r"\s+and\s+", expression.strip()) if expression.strip() else []:
        status_in = re.fullmatch(r"status\s+(?:in\s+(.+)|eq\s+('[^']*'))", clause.strip(), re.IGNORECASE)
        modified = re.fullmatch(
            r"lastModifiedDateTime\s+(gt|ge)\s+datetime(?:offset)?'([^']+)'", clause.strip(), re.IGNORECASE
        )
        if status_in:
            codes = re.findall(r"'([^']*)'", status_in.group(1) or status_in.group(2))
            query &= Q(status__in={STATUS_CODES[code.lower()] for code in codes if code.lower() in STATUS_CODES})
            on_status = True
        elif modified:
            moment = _saml_time(modified.group(2))
            if moment is None:
                raise ApiError(odata_error(400, "COE_BAD_REQUEST", f"Invalid datetime literal: {modified.group(2)}"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            lookup = "last_modified__gt" if modified.group(1).lower() == "gt" else "last_modified__gte"
            query &= Q(**{lookup: moment})
        else:
            raise ApiError(odata_error(400, "COE_BAD_REQUEST", f"Unsupported $filter clause: {clause}"))
    return query, on_status


def _user_json(user: HrUser, base: str, select: set[str], expand_manager: bool) -> dict[str, Any]:
    everything: dict[str, Any] = {
        "userId": user.user_id,
        "username": user.username,
        "status": user.status,
        "email": user.email or None,
        "firstName": user.first_name or None,
        "lastName": user.last_name or None,
        "displayName": user.display_name or None,
        "department": user.department or None,
        "title": user.title or None,
        "lastModifiedDateTime": odata_date(user.last_modified),
    }
    uri = f"{base}User('{user.user_id}')"
    shaped: dict[str, Any] = {"__metadata": {"uri": uri, "type": "SFOData.User"}}
    for field, value in everything.items():
        if not select or field in select:
            shaped[field] = value
    if not select or "manager" in select:
        if expand_manager:
            manager = user.manager
            shaped["manager"] = (
                {
                    "__metadata": {"uri": f"{base}User('{manager.user_id}')", "type": "SFOData.User"},
                    "userId": manager.user_id,
                }
                if manager
                else None
            )
        else:
            shaped["manager"] = {"__deferred": {"uri": f"{uri}/manager"}}
    return shaped


@endpoint(Provider.SUCCESSFACTORS, "odata.User")
@require_GET
def users(request: HttpRequest) -> HttpResponse:
    caller = access_token(request, Provider.SUCCESSFACTORS)
    if caller.hr_user is None or not caller.hr_user.api_access:
        raise ApiError(
            odata_error(403, "COE_GENERAL_FORBIDDEN", "[COE0022]You do not have permission to query the entity User.")
        )
    select: set[str] = set()
    for item in filter(None, (part.strip() for part in request.GET.get("$select", "").split(","))):
        name = item.split("/")[0]
        if name not in FIELDS:
            raise ApiError(odata_error(400, "COE_PROPERTY_NOT_FOUND", f"Invalid property names: User/{item}."))
        select.add(name)
    expand_manager = "manager" in {part.strip() for part in request.GET.get("$expand", "").split(",")}
    query, on_status = _filter(request.GET.get("$filter", ""))
    people = HrUser.objects.filter(query, tenant=caller.tenant).select_related("manager")
    if not on_status:
        people = people.filter(status=HrUser.Status.ACTIVE)
    try:
        size = min(int(request.GET.get("customPageSize", DEFAULT_PAGE)), MAX_PAGE)
    except ValueError:
        size = DEFAULT_PAGE
    after = 0
    if request.GET.get("$skiptoken"):
        try:
            after = signing.loads(request.GET["$skiptoken"], salt=PAGE_SALT)["after"]
        except (signing.BadSignature, KeyError):
            raise ApiError(odata_error(400, "COE_BAD_REQUEST", "Invalid $skiptoken.")) from None
    page = list(people.filter(pk__gt=after).order_by("pk")[: size + 1])
    base = request.build_absolute_uri(request.path.rsplit("/", 1)[0] + "/")
    body: dict[str, Any] = {"results": [_user_json(user, base, select, expand_manager) for user in page[:size]]}
    if len(page) > size:
        params = {key: value for key, value in request.GET.items() if key != "$skiptoken"}
        params["$skiptoken"] = signing.dumps({"after": page[size - 1].pk}, salt=PAGE_SALT)
        body["__next"] = f"{base}User?{urlencode(params)}"
    return JsonResponse({"d": body})
